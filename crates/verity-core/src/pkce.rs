//! RFC 7636 Proof Key for Code Exchange. Only `S256`: `plain` is refused (RFC 9700 2.1.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

use crate::secret::{constant_time_eq, sha256};
use crate::values::PkceChallenge;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PkceError {
    #[error("code_challenge_method must be S256")]
    MethodNotS256,
    #[error("code_challenge_method given without code_challenge")]
    MethodWithoutChallenge,
    #[error("code_challenge must be 43 base64url characters (the S256 of a verifier)")]
    MalformedChallenge,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Validates the pair sent to the authorization endpoint; `Ok(None)` when PKCE was not used.
pub fn validate_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<PkceChallenge>, PkceError> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(PkceError::MethodWithoutChallenge),
        // A missing method means `plain` (RFC 7636 4.3), which we refuse.
        (Some(_), None) => Err(PkceError::MethodNotS256),
        (Some(_), Some(m)) if m != "S256" => Err(PkceError::MethodNotS256),
        (Some(c), Some(_)) => PkceChallenge::parse(c)
            .map(Some)
            .ok_or(PkceError::MalformedChallenge),
    }
}

/// Whether `verifier` is a well-formed RFC 7636 verifier whose S256 equals `challenge`.
pub fn verify(challenge: &str, verifier: &str) -> bool {
    challenge_of(verifier)
        .is_some_and(|computed| constant_time_eq(computed.as_bytes(), challenge.as_bytes()))
}

/// The S256 challenge of `verifier` when it is a well-formed RFC 7636 verifier (43 to 128
/// unreserved characters), to compare with the challenge a code was issued for.
pub fn challenge_of(verifier: &str) -> Option<String> {
    let well_formed = (43..=128).contains(&verifier.len()) && verifier.bytes().all(is_unreserved);
    well_formed.then(|| s256(verifier))
}

/// `BASE64URL(SHA256(verifier))`.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256(verifier), challenge);
        assert!(verify(challenge, verifier));
        assert_eq!(challenge_of(verifier).as_deref(), Some(challenge));
        assert_eq!(challenge_of("short"), None);
        assert_eq!(challenge_of(&format!("{verifier}+")), None);
        assert!(!verify(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"
        ));
    }

    #[test]
    fn plain_and_missing_methods_are_refused() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(
            validate_challenge(Some(c), Some("plain")),
            Err(PkceError::MethodNotS256)
        );
        assert_eq!(
            validate_challenge(Some(c), None),
            Err(PkceError::MethodNotS256)
        );
        assert_eq!(
            validate_challenge(None, Some("S256")),
            Err(PkceError::MethodWithoutChallenge)
        );
        assert_eq!(
            validate_challenge(Some("short"), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(validate_challenge(None, None), Ok(None));
    }

    proptest! {
        #[test]
        fn matching_verifiers_verify(verifier in "[A-Za-z0-9._~-]{43,128}") {
            let c = s256(&verifier);
            prop_assert_eq!(validate_challenge(Some(&c), Some("S256")), Ok(PkceChallenge::parse(&c)));
            prop_assert!(PkceChallenge::parse(&c).is_some());
            prop_assert!(verify(&c, &verifier));
        }

        #[test]
        fn other_verifiers_never_verify(verifier in "[A-Za-z0-9._~-]{43,128}", other in ".{0,200}") {
            prop_assume!(verifier != other);
            prop_assert!(!verify(&s256(&verifier), &other));
        }

        #[test]
        fn challenge_validation_never_panics(c in ".{0,100}", m in ".{0,10}") {
            let _ = validate_challenge(Some(&c), Some(&m));
        }
    }
}
