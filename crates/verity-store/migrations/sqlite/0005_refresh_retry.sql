-- A rotated refresh token keeps the answer of its rotation, sealed under the master key, for a
-- short window and only while the successor is unused: a client whose answer was lost (a node
-- killed, a connection cut) presents the old token again and receives the same answer, instead
-- of setting off reuse detection. Cleared when the successor is used or the window ends.
ALTER TABLE tokens ADD COLUMN retry_response BLOB;
ALTER TABLE tokens ADD COLUMN retry_until INTEGER;
CREATE INDEX tokens_parent ON tokens(parent_hash);
