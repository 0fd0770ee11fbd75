-- High-assurance clients (RFC 9126 PAR, RFC 9101 JAR, RFC 9449 DPoP).
--
-- A pushed authorization request, kept until it is used once at the authorization endpoint or
-- expires (60 seconds). Only the SHA-256 of its request_uri reference is stored; `params` is the
-- request's parameters as a JSON object, already validated against the app when pushed.
CREATE TABLE pushed_requests (
    reference_hash  TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
    params          TEXT NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests(expires_at);

-- Per app: authorization requests only through PAR; request objects required (signed with the
-- app's registered keys); access and refresh tokens bound to a DPoP key.
ALTER TABLE apps ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN require_signed_request_object INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;

-- The RFC 7638 thumbprint of the DPoP key a token is bound to (`cnf.jkt`); NULL for a bearer token.
ALTER TABLE tokens ADD COLUMN dpop_jkt TEXT;
-- RFC 9449 10 `dpop_jkt`: the DPoP key a code is bound to; its redemption needs a proof by it.
ALTER TABLE codes ADD COLUMN dpop_jkt TEXT;
