-- When each client secret last authenticated its app (to the hour: written at most once an hour
-- per secret, so that client authentication stays read-only on the hot path). Shown in the
-- console and the admin API, so that an operator can tell which secret a rotation may delete.
ALTER TABLE app_secrets ADD COLUMN last_used_at INTEGER;
