-- The purge clears expired retry answers (`WHERE retry_until < now`). Without an index that was
-- a scan of every token at each maintenance run; only rotated refresh tokens inside their retry
-- window have a `retry_until`, so a partial index stays small.
CREATE INDEX tokens_retry_until ON tokens(retry_until) WHERE retry_until IS NOT NULL;
