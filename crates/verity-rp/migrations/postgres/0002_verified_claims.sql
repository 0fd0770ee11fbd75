-- Identity assurance: the same column as migrations/sqlite/0002_verified_claims.sql, the kept
-- `verified_claims` of the latest sign-in as JSON text (NULL when none were asked or shared).
ALTER TABLE verifications ADD COLUMN verified_claims TEXT;
