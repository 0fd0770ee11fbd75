-- Token lifecycle, logout, MFA enrolment, brute-force protection and the audit trail.

-- The public session id (`sid` of OIDC Back-Channel Logout); the cookie id stays secret.
ALTER TABLE sessions ADD COLUMN sid TEXT;
ALTER TABLE codes ADD COLUMN sid TEXT;
ALTER TABLE tokens ADD COLUMN sid TEXT;
-- A refresh token points at the token it replaced, so a family can be walked and audited.
ALTER TABLE tokens ADD COLUMN parent_hash TEXT;
CREATE INDEX tokens_sid ON tokens(sid);

-- One-time recovery codes for the second factor, stored as SHA-256 digests.
CREATE TABLE recovery_codes (
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (uuid, code_hash)
);

-- Failed attempts per key ('account:<uuid-or-email digest>' or 'address:<ip>'), in a sliding window.
CREATE TABLE auth_failures (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    locked_until  BIGINT NOT NULL DEFAULT 0
);

-- Used client-assertion ids (RFC 7523 replay protection), kept until the assertion expires.
CREATE TABLE used_jtis (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- The audit trail: who did what, when, from where. Never a secret or a token.
CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    event       TEXT NOT NULL,
    uuid        TEXT,
    client_id   TEXT,
    address     TEXT,
    request_id  TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_client ON audit_events(client_id, at);
CREATE INDEX audit_uuid ON audit_events(uuid, at);
