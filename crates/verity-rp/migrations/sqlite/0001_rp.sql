-- The reference relying party's own data (SPEC section 10).

-- One row per person (the provider's `uuid`), updated each time they come back verified.
-- `groups` and `attributes` are JSON as verity-client's Identity holds them: attributes by handle,
-- values typed (null kept: released, but the person has none).
CREATE TABLE verifications (
    uuid TEXT PRIMARY KEY NOT NULL,
    issuer TEXT NOT NULL,
    groups TEXT NOT NULL,
    attributes TEXT NOT NULL,
    first_verified_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every body received from the provider, as received (bearer tokens in token answers excepted:
-- they are replaced by "[redacted]" so the audit table holds no live credential). `uuid` is NULL
-- when the flow failed before a subject could be trusted. Append-only: the triggers refuse
-- updates and deletes.
CREATE TABLE raw_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX raw_responses_uuid ON raw_responses (uuid);
CREATE TRIGGER raw_responses_no_update BEFORE UPDATE ON raw_responses
BEGIN SELECT RAISE(ABORT, 'raw_responses is append-only'); END;
CREATE TRIGGER raw_responses_no_delete BEFORE DELETE ON raw_responses
BEGIN SELECT RAISE(ABORT, 'raw_responses is append-only'); END;

-- The app's own events about a person.
CREATE TABLE user_activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL REFERENCES verifications (uuid),
    event TEXT NOT NULL,
    detail TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX user_activity_uuid ON user_activity (uuid);
