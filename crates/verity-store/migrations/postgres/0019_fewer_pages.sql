-- The audit trail's purge walks the rows in id order (they are written in time order), so its
-- index on `at` only cost every audit row one more index entry (issue 25). The SQLite flavour
-- also drops `AUTOINCREMENT`; PostgreSQL's identity columns cost no extra write.
DROP INDEX audit_at;
