//! Brute-force protection policy (SPEC section 3, RFC 9700 4.x): failed sign-ins and second-factor
//! codes are counted per account and per client address within a window; past a limit the key is
//! locked for a while, the lock doubling with each further failure (at most a day).

use crate::secret::token_hash;

/// The counting window, seconds.
pub const WINDOW: i64 = 900;
/// Failures per account (or per account's second factor) before a lock.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failures per client address before a lock (many accounts from one place).
pub const ADDRESS_LIMIT: i64 = 20;
/// The first lock, seconds; it doubles with each failure past the limit.
pub const LOCK: i64 = 60;

/// The key of an account, by email, so unknown emails are limited exactly like known ones.
pub fn account_key(email: &str) -> String {
    format!("account:{}", token_hash(&email.trim().to_lowercase()))
}

/// The key of a user's second factor.
pub fn mfa_key(uuid: &str) -> String {
    format!("mfa:{uuid}")
}

/// The key of a client address.
pub fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// "Try again in ..." for a person.
pub fn wait_text(seconds: i64) -> String {
    match seconds {
        s if s <= 60 => "a minute".to_owned(),
        s if s < 3600 => format!("{} minutes", (s + 59) / 60),
        s if s <= 3600 => "an hour".to_owned(),
        s => format!("{} hours", (s + 3599) / 3600),
    }
}

/// A key's counter: attempts in the current window and any lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub failures: i64,
    pub window_start: i64,
    /// 0: not locked.
    pub locked_until: i64,
}

/// The counter after one more attempt, and whether that attempt may check the secret.
///
/// Attempts are counted before the secret is checked, so concurrent ones cannot slip past the
/// limit. Past `limit` attempts in `window` seconds the key locks for `lock` seconds, doubling with
/// each further attempt, at most a day; a locked key is not counted further; when a lock has just
/// run out one attempt goes through (a failure then locks again, for longer).
pub fn next_attempt(
    prev: Option<Counter>,
    now: i64,
    window: i64,
    limit: i64,
    lock: i64,
) -> (Counter, bool) {
    let (failures, window_start, lock_expired) = match prev {
        Some(c) if c.locked_until > now => return (c, false),
        Some(c) if now - c.window_start > window => (1, now, false),
        Some(c) => (c.failures + 1, c.window_start, c.locked_until != 0),
        None => (1, now, false),
    };
    if failures > limit && !lock_expired {
        let doublings = (failures - limit - 1).min(12) as u32;
        let locked_until = now + lock.saturating_mul(1i64 << doublings).min(86_400);
        (
            Counter {
                failures,
                window_start,
                locked_until,
            },
            false,
        )
    } else {
        (
            Counter {
                failures,
                window_start,
                locked_until: 0,
            },
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_words() {
        assert_eq!(wait_text(5), "a minute");
        assert_eq!(wait_text(61), "2 minutes");
        assert_eq!(wait_text(3600), "an hour");
        assert_eq!(wait_text(3601), "2 hours");
    }

    #[test]
    fn five_attempts_then_a_lock_that_doubles() {
        let mut c = None;
        for i in 1..=5 {
            let (next, allowed) = next_attempt(c, 1000, WINDOW, 5, 60);
            assert!(allowed, "attempt {i}");
            c = Some(next);
        }
        let (locked, allowed) = next_attempt(c, 1000, WINDOW, 5, 60);
        assert!(!allowed);
        assert_eq!(locked.locked_until, 1060);
        assert_eq!(
            next_attempt(Some(locked), 1030, WINDOW, 5, 60),
            (locked, false),
            "not counted while locked"
        );
        let (after, allowed) = next_attempt(Some(locked), 1061, WINDOW, 5, 60);
        assert!(allowed, "one attempt when the lock runs out");
        let (again, allowed) = next_attempt(Some(after), 1062, WINDOW, 5, 60);
        assert!(!allowed);
        assert_eq!(again.locked_until, 1062 + 240, "longer each time");
        let (fresh, allowed) = next_attempt(Some(again), 1062 + WINDOW + 300, WINDOW, 5, 60);
        assert!(allowed && fresh.failures == 1, "a new window starts over");
    }
}
