-- What each app received (SPEC 14): one row per authorization code issued, written with the
-- code in one transaction. The attribute handles the granted policies release, never their
-- values. `policies` are the granted scopes that name policies.
CREATE TABLE releases (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    uuid       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    policies   TEXT NOT NULL DEFAULT '[]',
    handles    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX releases_uuid ON releases(uuid, client_id, id);
