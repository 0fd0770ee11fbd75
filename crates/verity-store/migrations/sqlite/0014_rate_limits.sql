-- Limits on what one client address, account, organization or email address may create or
-- send (verity_core::limits): one fixed-window counter per key. Keys name their kind and
-- subject ('signup:address:<ip>', 'email_code:to:<digest of the address>', 'apps:account:<uuid>'
-- ...): an email address is never stored in clear. `window_end` lets the maintenance purge
-- delete counters whose window is over without knowing each kind's setting.
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    hits          INTEGER NOT NULL,
    window_start  INTEGER NOT NULL,
    window_end    INTEGER NOT NULL
);
CREATE INDEX rate_limits_window_end ON rate_limits(window_end);
