//! Rules for redeeming grants at the token endpoint (RFC 6749 4.1.3 and 6, RFC 7636 4.6,
//! RFC 9700 2.1.1): what a presented code must match, and which scopes a refresh may carry.

use thiserror::Error;
use verity_proto::error::ErrorCode;

use crate::authorize::ALWAYS_ALLOWED_SCOPES;
use crate::pkce;
use crate::scope::ScopeSet;

/// Why a grant cannot be redeemed; every case is `invalid_grant` except a widened scope.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GrantError {
    #[error("the code was issued to another client")]
    OtherClient,
    #[error("the code has expired")]
    Expired,
    #[error("redirect_uri does not match the authorization request")]
    RedirectMismatch,
    #[error("code_verifier does not match the code_challenge")]
    VerifierMismatch,
    #[error("code_verifier is missing")]
    VerifierMissing,
    #[error("the authorization request had no code_challenge")]
    VerifierWithoutChallenge,
    #[error("public apps must use PKCE")]
    PublicWithoutPkce,
    #[error("{0}")]
    BadScope(String),
    #[error("scope exceeds the original grant")]
    ScopeWidened,
    #[error("the refresh token was issued to another client")]
    RefreshOtherClient,
    #[error("the refresh token has expired")]
    RefreshExpired,
    #[error("refresh tokens are turned off for this app")]
    RefreshOff,
}

impl GrantError {
    pub fn code(&self) -> ErrorCode {
        match self {
            GrantError::BadScope(_) | GrantError::ScopeWidened => ErrorCode::InvalidScope,
            _ => ErrorCode::InvalidGrant,
        }
    }
}

/// What a code is bound to.
#[derive(Debug, Clone, Copy)]
pub struct CodeBinding<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub expires_at: i64,
}

/// What the client presented with it.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub client_id: &'a str,
    pub public_client: bool,
    pub redirect_uri: &'a str,
    pub code_verifier: Option<&'a str>,
    pub now: i64,
}

/// Checks a freshly consumed code against the request that redeems it.
pub fn check_code(code: &CodeBinding<'_>, p: &Presented<'_>) -> Result<(), GrantError> {
    if code.client_id != p.client_id {
        return Err(GrantError::OtherClient);
    }
    if p.now >= code.expires_at {
        return Err(GrantError::Expired);
    }
    if code.redirect_uri != p.redirect_uri {
        return Err(GrantError::RedirectMismatch);
    }
    match (code.code_challenge, p.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(challenge, verifier) => Ok(()),
        (Some(_), Some(_)) => Err(GrantError::VerifierMismatch),
        (Some(_), None) => Err(GrantError::VerifierMissing),
        // A verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(GrantError::VerifierWithoutChallenge),
        (None, None) if p.public_client => Err(GrantError::PublicWithoutPkce),
        (None, None) => Ok(()),
    }
}

/// The challenge a code must have been issued with for `p` to pass [`check_code`], when the
/// rest of the check is a matter of equality with `p` (client, redirect URI, unexpired at
/// `p.now`), so that the store can check it as it consumes the code: `Some(Some(S256 of the
/// verifier))`, or `Some(None)` (a code issued without a challenge) for a confidential client
/// that sent no verifier. `None` when `p` passes no code at all (a public client without PKCE,
/// a malformed verifier), for [`check_code`] to say why.
pub fn challenge_to_match(p: &Presented<'_>) -> Option<Option<String>> {
    match p.code_verifier {
        Some(verifier) => pkce::challenge_of(verifier).map(Some),
        None if p.public_client => None,
        None => Some(None),
    }
}

/// A refresh token as stored: what its redemption must match.
#[derive(Debug, Clone, Copy)]
pub struct RefreshGrant<'a> {
    pub client_id: &'a str,
    pub expires_at: i64,
    pub scopes: &'a [String],
}

/// The app presenting a refresh token, as the rule needs it.
#[derive(Debug, Clone, Copy)]
pub struct RefreshingApp<'a> {
    pub client_id: &'a str,
    /// Whether the app may use refresh tokens now (an app can turn them off).
    pub refresh_tokens: bool,
    pub policies: &'a [String],
}

/// RFC 6749 6: whether `app` may redeem `token` at `now`, and the scopes of the new grant
/// (`asked` narrows them; see [`refresh_scopes`]).
pub fn check_refresh(
    token: &RefreshGrant<'_>,
    app: &RefreshingApp<'_>,
    asked: Option<&str>,
    now: i64,
) -> Result<Vec<String>, GrantError> {
    if token.client_id != app.client_id {
        return Err(GrantError::RefreshOtherClient);
    }
    if now >= token.expires_at {
        return Err(GrantError::RefreshExpired);
    }
    if !app.refresh_tokens {
        return Err(GrantError::RefreshOff);
    }
    refresh_scopes(token.scopes, app.policies, asked)
}

/// The scopes of a refreshed grant: what it held, less policies the app no longer has, narrowed
/// to `asked` when given (never widened).
pub fn refresh_scopes(
    granted: &[String],
    app_policies: &[String],
    asked: Option<&str>,
) -> Result<Vec<String>, GrantError> {
    let still_allowed: Vec<String> = granted
        .iter()
        .filter(|s| ALWAYS_ALLOWED_SCOPES.contains(&s.as_str()) || app_policies.contains(s))
        .cloned()
        .collect();
    let Some(raw) = asked else {
        return Ok(still_allowed);
    };
    let asked = ScopeSet::parse(raw).map_err(|e| GrantError::BadScope(e.to_string()))?;
    if !asked.iter().all(|s| still_allowed.iter().any(|g| g == s)) {
        return Err(GrantError::ScopeWidened);
    }
    Ok(asked.as_slice().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code(challenge: Option<&'static str>) -> CodeBinding<'static> {
        CodeBinding {
            client_id: "c",
            redirect_uri: "https://a/cb",
            code_challenge: challenge,
            expires_at: 100,
        }
    }

    fn presented(verifier: Option<&'static str>) -> Presented<'static> {
        Presented {
            client_id: "c",
            public_client: false,
            redirect_uri: "https://a/cb",
            code_verifier: verifier,
            now: 10,
        }
    }

    #[test]
    fn code_bindings() {
        assert_eq!(
            check_code(&code(Some(CHALLENGE)), &presented(Some(VERIFIER))),
            Ok(())
        );
        assert_eq!(check_code(&code(None), &presented(None)), Ok(()));
        assert_eq!(
            check_code(&code(Some(CHALLENGE)), &presented(None)),
            Err(GrantError::VerifierMissing)
        );
        assert_eq!(
            check_code(&code(None), &presented(Some(VERIFIER))),
            Err(GrantError::VerifierWithoutChallenge)
        );
        assert_eq!(
            check_code(
                &code(Some(CHALLENGE)),
                &presented(Some("x".repeat(43).leak()))
            ),
            Err(GrantError::VerifierMismatch)
        );
        assert_eq!(
            check_code(
                &code(None),
                &Presented {
                    client_id: "d",
                    ..presented(None)
                }
            ),
            Err(GrantError::OtherClient)
        );
        assert_eq!(
            check_code(
                &code(None),
                &Presented {
                    now: 100,
                    ..presented(None)
                }
            ),
            Err(GrantError::Expired)
        );
        assert_eq!(
            check_code(
                &code(None),
                &Presented {
                    redirect_uri: "https://a/cb/",
                    ..presented(None)
                }
            ),
            Err(GrantError::RedirectMismatch)
        );
        assert_eq!(
            check_code(
                &code(None),
                &Presented {
                    public_client: true,
                    ..presented(None)
                }
            ),
            Err(GrantError::PublicWithoutPkce)
        );
    }

    /// `challenge_to_match` agrees with `check_code`: a code with that challenge passes, a code
    /// with another (or none) fails, and `None` means no code passes.
    #[test]
    fn the_challenge_to_match_is_what_check_code_accepts() {
        let malformed = "x".repeat(42);
        for public_client in [false, true] {
            for verifier in [None, Some(VERIFIER), Some(malformed.as_str())] {
                let p = Presented {
                    public_client,
                    code_verifier: verifier,
                    ..presented(None)
                };
                let bindings = [None, Some(CHALLENGE)];
                match challenge_to_match(&p) {
                    Some(wanted) => {
                        for challenge in bindings {
                            let passes = check_code(&code(challenge), &p).is_ok();
                            assert_eq!(
                                passes,
                                challenge == wanted.as_deref(),
                                "{p:?} {challenge:?}"
                            );
                        }
                    }
                    None => {
                        for challenge in bindings {
                            assert!(check_code(&code(challenge), &p).is_err(), "{p:?}");
                        }
                    }
                }
            }
        }
        assert_eq!(
            challenge_to_match(&presented(Some(VERIFIER))),
            Some(Some(CHALLENGE.to_owned()))
        );
        assert_eq!(challenge_to_match(&presented(None)), Some(None));
    }

    #[test]
    fn refresh_scopes_narrow_and_follow_the_app() {
        let granted: Vec<String> = ["openid", "military", "teacher"].map(String::from).to_vec();
        let app: Vec<String> = ["teacher"].map(String::from).to_vec();
        assert_eq!(
            refresh_scopes(&granted, &app, None).unwrap(),
            ["openid", "teacher"]
        );
        assert_eq!(
            refresh_scopes(&granted, &app, Some("teacher")).unwrap(),
            ["teacher"]
        );
        assert_eq!(
            refresh_scopes(&granted, &app, Some("military")),
            Err(GrantError::ScopeWidened)
        );
        assert_eq!(
            refresh_scopes(&granted, &app, Some("")).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn refresh_rules() {
        let scopes = vec!["openid".to_owned(), "military".to_owned()];
        let policies = vec!["military".to_owned()];
        let token = RefreshGrant {
            client_id: "c",
            expires_at: 100,
            scopes: &scopes,
        };
        let app = RefreshingApp {
            client_id: "c",
            refresh_tokens: true,
            policies: &policies,
        };
        assert_eq!(check_refresh(&token, &app, None, 10), Ok(scopes.clone()));
        assert_eq!(
            check_refresh(&token, &app, Some("openid"), 10),
            Ok(vec!["openid".to_owned()])
        );
        let other = RefreshingApp {
            client_id: "d",
            ..app
        };
        assert_eq!(
            check_refresh(&token, &other, None, 10),
            Err(GrantError::RefreshOtherClient)
        );
        assert_eq!(
            check_refresh(&token, &app, None, 100),
            Err(GrantError::RefreshExpired)
        );
        let off = RefreshingApp {
            refresh_tokens: false,
            ..app
        };
        assert_eq!(
            check_refresh(&token, &off, None, 10),
            Err(GrantError::RefreshOff)
        );
        assert_eq!(
            check_refresh(&token, &app, Some("student"), 10),
            Err(GrantError::ScopeWidened)
        );
    }
}
