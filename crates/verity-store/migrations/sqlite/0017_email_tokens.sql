-- Email confirmation and password reset (SPEC 12 "an account created by an operator counts as
-- having a confirmed sign-in email"; issue 23).
--
-- When the sign-in email was shown to reach its owner: a confirmation link followed, a reset
-- link used, or an operator created the account. NULL: not confirmed. Accounts that exist
-- before this migration stay NULL: nothing proved their address, so they confirm it like a new
-- sign-up (the account page sends the link); the sandbox's personas are confirmed again by the
-- seeding code at boot.
ALTER TABLE users ADD COLUMN email_confirmed_at INTEGER;

-- Single-use links mailed to a person (verity_core::email_link): 'reset' (a new password) or
-- 'confirm' (the sign-in email). Only the SHA-256 digest of the link's token is kept; a link
-- is taken once by a conditional UPDATE (used_at IS NULL AND expires_at > now), so two tabs
-- cannot both use it. Rows are purged once expired; deleting the account deletes them.
CREATE TABLE email_tokens (
    token_hash  TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,            -- 'reset' | 'confirm'
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    email       TEXT NOT NULL,            -- the address mailed (a link confirms only that one)
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX email_tokens_uuid ON email_tokens(uuid);
CREATE INDEX email_tokens_expires_at ON email_tokens(expires_at);
