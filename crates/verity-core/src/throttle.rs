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
        s => format!("{} hours", (s + 3599) / 3600),
    }
}
