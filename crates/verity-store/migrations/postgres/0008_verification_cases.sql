-- Verification cases (SPEC 12): how a person becomes verified for a group, or for their
-- identity. `verifications` stays the current outcome per account and group, which claims are
-- built from; a case is the workflow and the record of how that outcome was reached. Which
-- transitions are legal is verity_core::verification's; the store writes a change only if the
-- case is still in the state it was read in (so two reviewers, or two nodes, deciding one case
-- at once record exactly one decision).
CREATE TABLE verification_cases (
    id              TEXT PRIMARY KEY,         -- random, unguessable
    uuid            TEXT NOT NULL REFERENCES users(uuid) ON DELETE CASCADE,
    grp             TEXT NOT NULL,            -- a group handle, or 'identity'
    method          TEXT NOT NULL CHECK (method IN ('email_domain', 'document', 'sandbox', 'operator')),
    state           TEXT NOT NULL CHECK (state IN ('pending_code', 'in_review', 'verified',
                        'rejected', 'expired', 'revoked', 'withdrawn')),
    address         TEXT,                     -- email_domain: where the code went (normalized)
    code_hash       TEXT,                     -- email_domain: the code's SHA-256, never the code
    code_expires_at BIGINT,
    code_tries      BIGINT NOT NULL DEFAULT 0,
    code_sent_at    BIGINT,
    document_type   TEXT,                     -- document: what the person said they uploaded
    subgroups       TEXT NOT NULL DEFAULT '[]',
    attributes      TEXT NOT NULL DEFAULT '{}', -- identity: what the reviewer read (JSON)
    reason          TEXT CHECK (reason IN ('unreadable', 'expired_document', 'mismatch',
                        'not_eligible', 'suspected_fraud')),
    claimed_by      TEXT,                     -- the reviewer holding the case, until claimed_until
    claimed_until   BIGINT,
    decided_by      TEXT,
    decided_at      BIGINT,
    expires_at      BIGINT,                  -- the end of the verification's lifetime
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- A person has at most one open case per group.
CREATE UNIQUE INDEX verification_cases_open ON verification_cases(uuid, grp)
    WHERE state IN ('pending_code', 'in_review');
-- One address verifies one account per group at a time.
CREATE UNIQUE INDEX verification_cases_address ON verification_cases(grp, address)
    WHERE address IS NOT NULL AND state IN ('pending_code', 'verified');
-- The reviewers' queue, oldest first.
CREATE INDEX verification_cases_queue ON verification_cases(state, created_at);
CREATE INDEX verification_cases_user ON verification_cases(uuid, created_at);

-- The files of a document case, sealed (AES-256-GCM under a key derived from the master key,
-- named by key_id so that the master key can be rotated). `sealed` is emptied when the evidence
-- is purged (after the retention period, or on withdrawal); the row stays as the record of it.
CREATE TABLE verification_evidence (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES verification_cases(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('document', 'selfie')),
    content_type    TEXT NOT NULL,            -- sniffed from the content, never the filename's
    size            BIGINT NOT NULL,
    key_id          TEXT NOT NULL,
    sealed          BYTEA,
    created_at      BIGINT NOT NULL,
    purged_at       BIGINT
);
CREATE INDEX verification_evidence_case ON verification_evidence(case_id);

-- Every verification recorded before cases existed becomes a decided case of its method
-- (an operator's assertion, or the sandbox's), so that each outcome has its record.
INSERT INTO verification_cases (id, uuid, grp, method, state, subgroups, decided_by, decided_at,
                                created_at, updated_at)
SELECT md5(random()::text || clock_timestamp()::text || uuid), uuid, grp,
       CASE WHEN method = 'sandbox' THEN 'sandbox' ELSE 'operator' END,
       CASE WHEN verified THEN 'verified' ELSE 'revoked' END,
       subgroups, decided_by, decided_at, decided_at, decided_at
FROM verifications;
