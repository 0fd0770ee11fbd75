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

/// Why a TOTP code was or was not accepted by [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A current code of a step newer than the last used one: the matched step.
    Fresh(i64),
    /// A current code, but of a step already used (or older than the last used one): a replay,
    /// never accepted. An honest person who entered the same code twice waits for the next one.
    AlreadyUsed,
    /// Not a code of any current step (or not six digits).
    Wrong,
}

/// Checks `code` against the steps around `now`; a match is [`Verdict::Fresh`] only when its
/// step is newer than `last_used_step` (replays of an accepted code, or of an older one, are
/// [`Verdict::AlreadyUsed`]).
pub fn check(secret: &[u8], code: &str, now: i64, last_used_step: Option<i64>) -> Verdict {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Verdict::Wrong;
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
    match matched {
        None => Verdict::Wrong,
        Some(step) if last_used_step.is_none_or(|last| step > last) => Verdict::Fresh(step),
        Some(_) => Verdict::AlreadyUsed,
    }
}

/// [`check`], keeping only the step of a fresh code.
pub fn verify(secret: &[u8], code: &str, now: i64, last_used_step: Option<i64>) -> Option<i64> {
    match check(secret, code, now, last_used_step) {
        Verdict::Fresh(step) => Some(step),
        Verdict::AlreadyUsed | Verdict::Wrong => None,
    }
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

    #[test]
    fn a_replayed_current_code_is_already_used_not_wrong() {
        let secret = b"12345678901234567890";
        let now = 1_000_000_000;
        let code = code_at(secret, now);
        let step = now / 30;
        assert_eq!(check(secret, &code, now, None), Verdict::Fresh(step));
        assert_eq!(check(secret, &code, now, Some(step)), Verdict::AlreadyUsed);
        assert_eq!(
            check(secret, &code, now + 30, Some(step)),
            Verdict::AlreadyUsed
        );
        // An older step than the last used one is a replay too; out of the window it is wrong.
        let prev = code_at(secret, now - 30);
        assert_eq!(check(secret, &prev, now, Some(step)), Verdict::AlreadyUsed);
        assert_eq!(check(secret, &code, now + 90, Some(step)), Verdict::Wrong);
        assert_eq!(check(secret, "000000x", now, Some(step)), Verdict::Wrong);
    }
}

/// RFC 4648 base32 without padding.
pub fn encode_base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// Ten single-use recovery codes, `XXXXX-XXXXX` (50 random bits each).
pub fn recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let raw = encode_base32(&crate::secret::random_bytes::<7>());
            format!("{}-{}", &raw[..5], &raw[5..10])
        })
        .collect()
}

/// The form a recovery code is hashed in: upper case, no separators or spaces.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod enrol_tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_recovery_codes_are_distinct() {
        let data = b"Hello!\xde\xad\xbe\xef";
        assert_eq!(encode_base32(data), "JBSWY3DPEHPK3PXP");
        assert_eq!(
            decode_base32(&encode_base32(b"abcdefghij")).unwrap(),
            b"abcdefghij"
        );
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
        );
        let mut sorted = codes.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(normalize_recovery_code(" abcde-fghij "), "ABCDEFGHIJ");
        assert!(
            otpauth_uri("Verity", "a b@x.test", "JBSW")
                .starts_with("otpauth://totp/Verity:a%20b%40x.test?secret=JBSW&issuer=Verity")
        );
    }
}
