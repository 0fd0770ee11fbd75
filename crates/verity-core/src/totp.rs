//! RFC 6238 TOTP: HMAC-SHA-1, 6 digits, 30-second steps, one step of drift either way, each
//! step usable once (SPEC section 3).

use aws_lc_rs::hmac;

use crate::secret::constant_time_eq;

pub const STEP_SECONDS: i64 = 30;

/// RFC 4648 base32 without padding (case-insensitive, spaces ignored).
pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

/// RFC 4226 HOTP value for `counter`, as 6 digits.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let h = tag.as_ref();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// The code for the step containing `now`.
pub fn code_at(secret: &[u8], now: i64) -> String {
    hotp(secret, (now.max(0) / STEP_SECONDS) as u64)
}

/// Checks `code` against the steps around `now`; returns the matched step when it is newer than
/// `last_used_step` (replays of an accepted code, or of an older one, are refused).
pub fn verify(secret: &[u8], code: &str, now: i64, last_used_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.max(0) / STEP_SECONDS;
    let mut matched = None;
    // Every candidate is computed, so timing does not reveal which step matched.
    for step in [current - 1, current, current + 1] {
        if step < 0 {
            continue;
        }
        let expected = hotp(secret, step as u64);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched.filter(|step| last_used_step.is_none_or(|last| *step > last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vectors_truncated_to_six_digits() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(code_at(secret, 1_111_111_109), "081804");
        assert_eq!(code_at(secret, 2_000_000_000), "279037");
    }

    #[test]
    fn base32_of_the_sandbox_secret() {
        assert_eq!(
            decode_base32("JBSWY3DPEHPK3PXP").unwrap(),
            b"Hello!\xde\xad\xbe\xef"
        );
        assert!(decode_base32("not base32!").is_none());
    }

    #[test]
    fn drift_and_single_use() {
        let secret = b"12345678901234567890";
        let now = 1_000_000_000;
        let prev = code_at(secret, now - 30);
        let step = verify(secret, &prev, now, None).unwrap();
        assert_eq!(step, now / 30 - 1);
        assert_eq!(verify(secret, &prev, now, Some(step)), None);
        assert_eq!(verify(secret, &code_at(secret, now - 60), now, None), None);
        assert!(verify(secret, &code_at(secret, now + 30), now, Some(step)).is_some());
        assert_eq!(verify(secret, "12345", now, None), None);
    }
}
