-- What the person saved on the profile form: the same table as
-- migrations/sqlite/0003_saved_profiles.sql, kept beside (never over) `verifications` and
-- `raw_responses`. `fields` is a JSON object of handle to typed text, only for fields that differ
-- from the verified value.
CREATE TABLE saved_profiles (
    uuid TEXT PRIMARY KEY NOT NULL REFERENCES verifications (uuid),
    fields TEXT NOT NULL,
    saved_at BIGINT NOT NULL
);
