-- The developer console: who belongs to which organization, and invitations by email.

CREATE TABLE memberships (
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    uuid        TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, uuid)
);
CREATE INDEX memberships_user ON memberships(uuid);

-- An invitation is accepted by the account with that email, through a link whose token is
-- stored only as a digest.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT
);
CREATE INDEX invitations_org ON invitations(org_id);
