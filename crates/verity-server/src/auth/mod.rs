//! Proving who is at the keyboard, shared by the sign-in journey, the account page and the
//! admin operations: one place hashes and checks passwords, one place counts failed attempts,
//! one place checks a second factor.
//!
//! - [`password`]: argon2id off the async threads, bounded by the hashing permits.
//! - [`throttle`]: failed-attempt limits per account (or second factor) and per client address.
//! - [`second_factor`]: a TOTP code or a recovery code of an account.

pub mod password;
pub mod second_factor;
pub mod throttle;
