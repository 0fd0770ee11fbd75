-- What the person saved on the profile form, kept beside (never over) the verified values in
-- `verifications` and the raw bodies in `raw_responses`: one row per person, `fields` a JSON
-- object of the form's handles to the text the person typed. Only fields whose text differs from
-- the verified value are kept, so the page can tell a typed value from a verified one; a field
-- set back to the verified value leaves the object. Each save replaces the row (`saved_at` is the
-- latest save); the `profile_saved` events in `user_activity` keep the history of saves.
CREATE TABLE saved_profiles (
    uuid TEXT PRIMARY KEY NOT NULL REFERENCES verifications (uuid),
    fields TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);
