-- The reference relying party's own data (SPEC section 10), PostgreSQL flavour: the same tables,
-- columns and rules as migrations/sqlite/0001_rp.sql.

-- One row per person (the provider's `uuid`), updated each time they come back verified.
CREATE TABLE verifications (
    uuid TEXT PRIMARY KEY NOT NULL,
    issuer TEXT NOT NULL,
    groups TEXT NOT NULL,
    attributes TEXT NOT NULL,
    first_verified_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every body received from the provider (bearer tokens in token answers replaced by
-- "[redacted]"). Append-only: the trigger refuses updates and deletes.
CREATE TABLE raw_responses (
    id BIGSERIAL PRIMARY KEY,
    uuid TEXT,
    endpoint TEXT NOT NULL,
    status BIGINT NOT NULL,
    content_type TEXT,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX raw_responses_uuid ON raw_responses (uuid);
CREATE FUNCTION raw_responses_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'raw_responses is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER raw_responses_no_change BEFORE UPDATE OR DELETE ON raw_responses
    FOR EACH ROW EXECUTE FUNCTION raw_responses_append_only();

-- The app's own events about a person.
CREATE TABLE user_activity (
    id BIGSERIAL PRIMARY KEY,
    uuid TEXT NOT NULL REFERENCES verifications (uuid),
    event TEXT NOT NULL,
    detail TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX user_activity_uuid ON user_activity (uuid);
