-- Deployment-wide roles (SPEC 12 "Review"): an account with the `reviewer` role works the
-- verification queue at /review. Not an RP organization's role (those are console_members').
-- Granted and taken back by an operator (`verity admin`, the admin API), each change audited.
CREATE TABLE user_roles (
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('reviewer')),
    granted_by  TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    -- The holder's own admin-API token for the verification-case routes (SPEC 12), created at
    -- /review and shown once: its SHA-256, never the token. Gone with the role.
    token_hash  TEXT UNIQUE,
    token_created_at BIGINT,
    PRIMARY KEY (uuid, role)
);
