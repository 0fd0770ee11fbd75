-- Deployment-wide roles (SPEC 12 "Review"): an account with the `reviewer` role works the
-- verification queue at /review. Not an RP organization's role (those are console_members').
-- Granted and taken back by an operator (`verity admin`, the admin API), each change audited.
CREATE TABLE user_roles (
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('reviewer')),
    granted_by  TEXT NOT NULL,
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (uuid, role)
);
