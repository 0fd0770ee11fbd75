-- Verity's schema, PostgreSQL flavour. The SQLite flavour keeps the same numbers and shapes.
-- Times are Unix seconds (BIGINT). Tokens, codes and session ids are random 128-bit values:
-- only their SHA-256 hex digests are stored, so a copy of the database grants nothing.
-- Lists and typed values are JSON text.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE apps (
    client_id                    TEXT PRIMARY KEY,
    org_id                       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                         TEXT NOT NULL,
    logo_url                     TEXT,
    redirect_uris                TEXT NOT NULL,              -- JSON array, matched exactly
    post_logout_redirect_uris    TEXT NOT NULL DEFAULT '[]', -- JSON array
    policies                     TEXT NOT NULL,              -- JSON array of policy handles
    profile                      TEXT NOT NULL DEFAULT 'idme' CHECK (profile IN ('idme', 'oidc')),
    public                       BOOLEAN NOT NULL,           -- no secret, PKCE required
    refresh_tokens               BOOLEAN NOT NULL,
    id_token_alg                 TEXT NOT NULL DEFAULT 'RS256',
    userinfo_signed_response_alg TEXT,
    code_ttl                     BIGINT NOT NULL DEFAULT 300,
    access_ttl                   BIGINT NOT NULL DEFAULT 300,
    refresh_ttl                  BIGINT NOT NULL DEFAULT 604800,
    userinfo_ttl                 BIGINT NOT NULL DEFAULT 18000,
    jwks                         TEXT,
    jwks_uri                     TEXT,
    backchannel_logout_uri       TEXT,
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL
);
CREATE INDEX apps_org ON apps(org_id);

-- Several secrets may be valid at once, so that rotation never breaks a running client.
CREATE TABLE app_secrets (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX app_secrets_client ON app_secrets(client_id);

CREATE TABLE users (
    uuid            TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,  -- stored lower-cased
    password_hash   TEXT NOT NULL,         -- argon2id PHC string
    totp_secret     BYTEA,                  -- encrypted under the master key
    totp_last_step  BIGINT,               -- last accepted TOTP step: each code is usable once
    created_at      BIGINT NOT NULL
);

CREATE TABLE user_attributes (
    uuid    TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    handle  TEXT NOT NULL,
    value   TEXT NOT NULL,                 -- JSON: string, number, boolean, array, object or null
    PRIMARY KEY (uuid, handle)
);

CREATE TABLE verifications (
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    grp         TEXT NOT NULL,             -- a group handle, or 'identity' for IAL2
    verified    BOOLEAN NOT NULL,
    subgroups   TEXT NOT NULL DEFAULT '[]',
    method      TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    decided_at  BIGINT NOT NULL,
    PRIMARY KEY (uuid, grp)
);

-- Browser sessions at the provider (server-side; the cookie holds only the random id).
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    auth_time   BIGINT NOT NULL,
    mfa         BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- One authorization request in progress, bound to the browser that started it.
CREATE TABLE interactions (
    id                      TEXT PRIMARY KEY,
    client_id               TEXT NOT NULL,
    request                 TEXT NOT NULL,     -- the validated request, JSON
    browser_hash            TEXT NOT NULL,
    csrf_token              TEXT NOT NULL,
    uuid                    TEXT,              -- set once the password step succeeded
    signed_in_here          BOOLEAN NOT NULL DEFAULT FALSE,
    verification_answered   BOOLEAN NOT NULL DEFAULT FALSE,
    consented               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at              BIGINT NOT NULL,
    expires_at              BIGINT NOT NULL
);
CREATE INDEX interactions_expiry ON interactions(expires_at);

-- Remembered 'allow' decisions: per user, app and (canonical, sorted) scope set.
CREATE TABLE consents (
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (uuid, client_id, scopes)
);

-- Authorization codes: single use through a conditional UPDATE of used_at.
CREATE TABLE codes (
    code_hash       TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    uuid            TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    nonce           TEXT,
    code_challenge  TEXT,
    auth_time       BIGINT NOT NULL,
    mfa             BOOLEAN NOT NULL,
    eid             TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX codes_expiry ON codes(expires_at);

-- Access and refresh tokens. grant_id groups every token descended from one code, so a code
-- replay or a refresh-token reuse can revoke the whole family.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    uuid        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    mfa         BOOLEAN NOT NULL,
    eid         TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,                   -- refresh tokens: rotated away
    revoked_at  BIGINT
);
CREATE INDEX tokens_grant ON tokens(grant_id);
CREATE INDEX tokens_expiry ON tokens(expires_at);

-- Signing keys; the private part is AES-256-GCM under the master key, bound to the kid.
CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_key   BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    activates_at  BIGINT NOT NULL,        -- published at once, signs from here on
    retires_at    BIGINT                  -- removed from the JWKS after this
);
