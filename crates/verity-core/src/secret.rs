//! Random tokens, their storage form, and constant-time comparison.
//!
//! Codes, access and refresh tokens, session ids and CSRF tokens are 128 random bits written as
//! 32 lowercase hex characters (SPEC sections 3 and 4). They are high-entropy, so the store keeps
//! a SHA-256 digest of each (a database leak yields nothing usable) and looks rows up by digest.

use aws_lc_rs::digest;
use subtle::ConstantTimeEq;

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The system RNG fails only when the OS cannot provide randomness at all; nothing sensible
    // can continue then (issuing a predictable token would be worse than stopping).
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut buf).expect("the system random number generator failed");
    buf
}

/// A fresh opaque token: 32 lowercase hex characters (128 bits).
pub fn new_token() -> String {
    hex(&random_bytes::<16>())
}

/// A fresh identifier that sorts by when it was made: the second `now` as 8 hex digits, then 96
/// random bits; 32 lowercase hex characters like a token, but not a secret (a grant's id, a
/// session's public `sid`). Rows keyed by it land at the end of their index, next to the rows
/// made just before, as UUIDv7's layout intends, instead of on a random page of a big index
/// (BENCHMARKS.md, "Growth"). Before 1970 counts as 0; the 8 digits last until 2106.
pub fn new_ordered_id(now: i64) -> String {
    let second = u32::try_from(now.max(0)).unwrap_or(u32::MAX);
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&second.to_be_bytes());
    bytes[4..].copy_from_slice(&random_bytes::<12>());
    hex(&bytes)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The storage form of a high-entropy secret: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&sha256(token.as_bytes()))
}

/// Whether `s` looks like one of our opaque tokens (32 lowercase hex); anything else is refused
/// before touching the database.
pub fn is_token_shaped(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Constant-time equality of two byte strings (length may leak, content does not).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_lowercase_hex_and_differ() {
        let a = new_token();
        let b = new_token();
        assert!(is_token_shaped(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn ordered_ids_sort_by_their_second_and_differ_within_one() {
        let (a, b) = (new_ordered_id(1_700_000_000), new_ordered_id(1_700_000_000));
        assert!(is_token_shaped(&a) && is_token_shaped(&b), "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(&a[..8], "6553f100");
        assert_eq!(&a[..8], &b[..8]);
        let later = new_ordered_id(1_700_000_001);
        assert!(later > a && later > b, "{later} after {a}, {b}");
        assert!(new_ordered_id(-5).starts_with("00000000"));
        assert!(new_ordered_id(i64::MAX).starts_with("ffffffff"));
    }

    #[test]
    fn token_hash_is_stable_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares_content() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
