-- Passkeys (WebAuthn Level 2; SPEC 13).
--
-- One row a registered credential. `credential_id` is the authenticator's credential id in
-- base64url (unique across accounts: a second registration of the same credential is refused);
-- `credential` is the verified credential as webauthn-rs keeps it (public key, signature
-- counter, flags) in JSON: no secret. `hardware` says whether the key cannot leave its device
-- (not backup eligible): the ID token's amr then says hwk, else swk.
CREATE TABLE passkeys (
    credential_id   TEXT PRIMARY KEY,
    uuid            TEXT NOT NULL,
    name            TEXT NOT NULL,
    credential      TEXT NOT NULL,
    hardware        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE INDEX passkeys_uuid ON passkeys(uuid);

-- A WebAuthn ceremony between its two requests: the challenge state webauthn-rs must find again
-- (single use: taken by DELETE ... RETURNING), bound to what started it (`binding`: the digest
-- of the account session, or the sign-in interaction's id) and short-lived.
CREATE TABLE passkey_challenges (
    binding         TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    uuid            TEXT,
    state           TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (binding, purpose)
);
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges(expires_at);

-- How a sign-in used a passkey (its amr values: "pwd hwk user mfa", "swk user mfa"); NULL for a
-- password with or without a TOTP code. Carried from the session to its codes and tokens.
ALTER TABLE sessions ADD COLUMN passkey TEXT;
ALTER TABLE codes ADD COLUMN passkey TEXT;
ALTER TABLE tokens ADD COLUMN passkey TEXT;

-- Per app: every sign-in must be phishing resistant (a passkey), whatever acr_values says.
ALTER TABLE apps ADD COLUMN require_phishing_resistant INTEGER NOT NULL DEFAULT 0;
