-- Audit rows are kept for VERITY_AUDIT_RETENTION_DAYS (400 by default) and then deleted by the
-- maintenance task, oldest first: this index makes that deletion a range scan.
CREATE INDEX audit_at ON audit_events(at);
