//! The grants of the token endpoint, owned here from issue to redemption (RFC 6749 4.1 and 6,
//! RFC 7636 4.6, RFC 9700 2.1.1 and 4.14): the code an authorization request issues, what its
//! redemption must match, what a refresh may carry, and what tokens are issued for. The store
//! only keeps what these decide (it takes a code or a refresh token once, and stores an
//! issuance); the token endpoint runs them in order.

use thiserror::Error;
use verity_proto::error::ErrorCode;

use crate::assurance::ClaimsRequest;
use crate::authn::KeyUse;
use crate::authorize::{ALWAYS_ALLOWED_SCOPES, AuthorizeRequest};
use crate::pkce;
use crate::scope::ScopeSet;
use crate::values::{ClientId, Nonce, PkceChallenge};

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
    #[error("the code is bound to a DPoP key (dpop_jkt): the token request needs a proof by it")]
    DpopKeyMismatch,
}

impl GrantError {
    pub fn code(&self) -> ErrorCode {
        match self {
            GrantError::BadScope(_) | GrantError::ScopeWidened => ErrorCode::InvalidScope,
            GrantError::DpopKeyMismatch => ErrorCode::InvalidDpopProof,
            _ => ErrorCode::InvalidGrant,
        }
    }
}

/// An authorization code (RFC 6749 4.1.2) and everything it is bound to: the request it
/// answers and the sign-in it was issued in. Kept by its digest; the value goes to the client
/// only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code_hash: String,
    /// The grant the code starts: every token issued for it and from its refresh tokens carries
    /// this id (time-ordered, [`crate::secret::new_ordered_id`]), so that a replay of the code
    /// can revoke them all.
    pub grant_id: String,
    pub client_id: ClientId,
    pub uuid: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<Nonce>,
    pub code_challenge: Option<PkceChallenge>,
    pub auth_time: i64,
    pub mfa: bool,
    /// The passkey the sign-in used, if one ([`crate::authn::KeyUse`]).
    pub passkey: Option<KeyUse>,
    pub eid: Option<String>,
    /// The session that authorized it (back-channel logout).
    pub sid: Option<String>,
    /// What the request asked of identity assurance (`verified_claims`).
    pub claims: Option<ClaimsRequest>,
    /// RFC 9449 10: the DPoP key the code is bound to.
    pub dpop_jkt: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The sign-in a code is issued in: the account, when and how it authenticated, the session.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub uuid: &'a str,
    pub auth_time: i64,
    pub mfa: bool,
    /// The passkey the sign-in used, if one ([`crate::authn::KeyUse`]).
    pub passkey: Option<KeyUse>,
    pub sid: &'a str,
}

/// RFC 6749 4.1.2: the code that answers `request` for `session`, kept as `code_hash` and
/// redeemable for `ttl` seconds from `now`.
pub fn issue(
    request: &AuthorizeRequest,
    session: SignIn<'_>,
    code_hash: String,
    now: i64,
    ttl: i64,
) -> Code {
    Code {
        code_hash,
        grant_id: crate::secret::new_ordered_id(now),
        client_id: request.client_id.clone(),
        uuid: session.uuid.to_owned(),
        redirect_uri: request.redirect_uri.as_str().to_owned(),
        scopes: request.scope.as_slice().to_vec(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: session.auth_time,
        mfa: session.mfa,
        passkey: session.passkey,
        eid: request.eid.clone(),
        sid: Some(session.sid.to_owned()),
        claims: request.claims.clone(),
        dpop_jkt: request.dpop_jkt.clone(),
        created_at: now,
        expires_at: now + ttl,
    }
}

/// What a token request presents with a code (RFC 6749 4.1.3, RFC 7636 4.6).
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// The authenticated client.
    pub client_id: &'a ClientId,
    pub public_client: bool,
    pub redirect_uri: &'a str,
    pub code_verifier: Option<&'a str>,
    /// The key of the request's DPoP proof, if it sent one.
    pub dpop_jkt: Option<&'a str>,
    pub now: i64,
}

/// What tokens are issued for, by a code or a refresh token: the grant (a family of tokens
/// named by the id its code was issued with), the account and its sign-in, and the scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    pub grant_id: String,
    pub uuid: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub mfa: bool,
    /// The passkey the sign-in used, if one ([`crate::authn::KeyUse`]).
    pub passkey: Option<KeyUse>,
    pub eid: Option<String>,
    pub sid: Option<String>,
    /// The ID token's `nonce`: the authorization request's, for a code's first ID token only.
    pub nonce: Option<Nonce>,
    /// The refresh token this issuance rotates, when it comes from one.
    pub parent: Option<String>,
    /// What the authorization request asked of identity assurance, for the grant's life.
    pub claims: Option<ClaimsRequest>,
}

impl Issuance {
    /// How the sign-in behind it authenticated.
    pub fn auth(&self) -> crate::authn::AuthFacts {
        crate::authn::AuthFacts {
            mfa: self.mfa,
            passkey: self.passkey,
        }
    }

    /// Whether it carries an ID token (`openid` was granted).
    pub fn has_id_token(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }
}

/// RFC 6749 4.1.3 + RFC 7636 4.6: redeems a code, just taken (once) from the store, for the
/// request that presents it. A refusal has consumed the code all the same.
pub fn redeem(code: &Code, p: &TokenRequest<'_>) -> Result<Issuance, GrantError> {
    if code.client_id != *p.client_id {
        return Err(GrantError::OtherClient);
    }
    if p.now >= code.expires_at {
        return Err(GrantError::Expired);
    }
    if code.redirect_uri != p.redirect_uri {
        return Err(GrantError::RedirectMismatch);
    }
    match (code.code_challenge.as_deref(), p.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(challenge, verifier) => {}
        (Some(_), Some(_)) => return Err(GrantError::VerifierMismatch),
        (Some(_), None) => return Err(GrantError::VerifierMissing),
        // A verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => return Err(GrantError::VerifierWithoutChallenge),
        (None, None) if p.public_client => return Err(GrantError::PublicWithoutPkce),
        (None, None) => {}
    }
    if code
        .dpop_jkt
        .as_deref()
        .is_some_and(|bound| p.dpop_jkt != Some(bound))
    {
        return Err(GrantError::DpopKeyMismatch);
    }
    Ok(Issuance {
        grant_id: code.grant_id.clone(),
        uuid: code.uuid.clone(),
        scopes: code.scopes.clone(),
        auth_time: code.auth_time,
        mfa: code.mfa,
        passkey: code.passkey,
        eid: code.eid.clone(),
        sid: code.sid.clone(),
        nonce: code.nonce.clone(),
        parent: None,
        claims: code.claims.clone(),
    })
}

/// A refresh token as stored: its grant, and what its redemption must match.
#[derive(Debug, Clone, Copy)]
pub struct RefreshGrant<'a> {
    pub token_hash: &'a str,
    pub grant_id: &'a str,
    pub client_id: &'a ClientId,
    pub uuid: &'a str,
    pub scopes: &'a [String],
    pub auth_time: i64,
    pub mfa: bool,
    /// The passkey the sign-in used, if one ([`crate::authn::KeyUse`]).
    pub passkey: Option<KeyUse>,
    pub eid: Option<&'a str>,
    pub sid: Option<&'a str>,
    pub claims: Option<&'a ClaimsRequest>,
    pub expires_at: i64,
}

/// The app presenting a refresh token, as the rule needs it.
#[derive(Debug, Clone, Copy)]
pub struct RefreshingApp<'a> {
    pub client_id: &'a ClientId,
    /// Whether the app may use refresh tokens now (an app can turn them off).
    pub refresh_tokens: bool,
    pub policies: &'a [String],
}

/// RFC 6749 6: redeems refresh token `token` for `app` at `now`: the issuance of its
/// successors, in the same grant, with the scopes `asked` narrows them to (see
/// [`refresh_scopes`]).
pub fn refresh(
    token: &RefreshGrant<'_>,
    app: &RefreshingApp<'_>,
    asked: Option<&str>,
    now: i64,
) -> Result<Issuance, GrantError> {
    if token.client_id != app.client_id {
        return Err(GrantError::RefreshOtherClient);
    }
    if now >= token.expires_at {
        return Err(GrantError::RefreshExpired);
    }
    if !app.refresh_tokens {
        return Err(GrantError::RefreshOff);
    }
    Ok(Issuance {
        grant_id: token.grant_id.to_owned(),
        uuid: token.uuid.to_owned(),
        scopes: refresh_scopes(token.scopes, app.policies, asked)?,
        auth_time: token.auth_time,
        mfa: token.mfa,
        passkey: token.passkey,
        eid: token.eid.map(str::to_owned),
        sid: token.sid.map(str::to_owned),
        // OIDC Core 12.2: a refreshed ID token carries no nonce.
        nonce: None,
        parent: Some(token.token_hash.to_owned()),
        claims: token.claims.cloned(),
    })
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

/// One token of an answer as stored: when it was revoked (if it was) and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    pub revoked_at: Option<i64>,
    pub expires_at: i64,
}

/// Whether a refresh answer that was lost may be given again at `now` (RFC 9700 4.14's
/// rotation, with a retry window): only while every token in it still works. `None` is a token
/// of the answer that is no longer stored (purged), which does not work either.
pub fn may_answer_again(tokens: &[Option<Liveness>], now: i64) -> bool {
    tokens
        .iter()
        .all(|t| t.is_some_and(|t| t.revoked_at.is_none() && now < t.expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{Op, Prompt};

    #[test]
    fn a_lost_answer_is_given_again_only_while_its_tokens_work() {
        let live = Some(Liveness {
            revoked_at: None,
            expires_at: 100,
        });
        assert!(may_answer_again(&[live, live], 99));
        assert!(!may_answer_again(&[live, live], 100), "expired");
        let revoked = Some(Liveness {
            revoked_at: Some(50),
            expires_at: 100,
        });
        assert!(!may_answer_again(&[live, revoked], 60));
        assert!(!may_answer_again(&[live, None], 60), "purged");
    }
    use crate::redirect::RedirectUri;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn id(client_id: &str) -> &'static ClientId {
        Box::leak(Box::new(ClientId::new(client_id)))
    }

    /// An identity-assurance request, which travels with the grant.
    fn asked() -> ClaimsRequest {
        ClaimsRequest {
            userinfo: vec![crate::assurance::VerifiedRequest::default()],
            ..ClaimsRequest::default()
        }
    }

    fn code(challenge: Option<&'static str>) -> Code {
        Code {
            code_hash: "h".into(),
            grant_id: "g".into(),
            client_id: "c".into(),
            uuid: "u".into(),
            redirect_uri: "https://a/cb".into(),
            scopes: vec!["openid".into()],
            nonce: Some("n".into()),
            code_challenge: challenge.and_then(PkceChallenge::parse),
            auth_time: 5,
            mfa: true,
            passkey: None,
            eid: None,
            sid: Some("s".into()),
            claims: None,
            dpop_jkt: None,
            created_at: 0,
            expires_at: 100,
        }
    }

    /// RFC 9449 10: a code bound to a key is redeemed only with a proof by that key.
    #[test]
    fn a_code_bound_to_a_dpop_key_needs_a_proof_by_it() {
        let bound = Code {
            dpop_jkt: Some("k".into()),
            ..code(None)
        };
        let with = |jkt: Option<&'static str>| TokenRequest {
            dpop_jkt: jkt,
            ..presented(None)
        };
        assert_eq!(
            redeem(&bound, &with(None)).unwrap_err(),
            GrantError::DpopKeyMismatch
        );
        assert_eq!(
            redeem(&bound, &with(Some("j"))).unwrap_err(),
            GrantError::DpopKeyMismatch
        );
        assert!(redeem(&bound, &with(Some("k"))).is_ok());
        assert!(
            redeem(&code(None), &with(Some("k"))).is_ok(),
            "unbound codes take any key"
        );
        assert_eq!(
            GrantError::DpopKeyMismatch.code(),
            ErrorCode::InvalidDpopProof
        );
    }

    fn presented(verifier: Option<&'static str>) -> TokenRequest<'static> {
        TokenRequest {
            client_id: id("c"),
            public_client: false,
            redirect_uri: "https://a/cb",
            code_verifier: verifier,
            dpop_jkt: None,
            now: 10,
        }
    }

    /// A code carries the request and the sign-in it was issued in, and redeems into an
    /// issuance of the same grant with the request's nonce.
    #[test]
    fn a_code_issued_redeems_into_its_grant() {
        let request = AuthorizeRequest {
            client_id: "c".into(),
            response_mode: Default::default(),
            redirect_uri: RedirectUri::registered(&["https://a/cb".to_owned()], "https://a/cb")
                .unwrap(),
            scope: ScopeSet::parse("openid military").unwrap(),
            state: Some("st".into()),
            nonce: Some("n".into()),
            code_challenge: PkceChallenge::parse(CHALLENGE),
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            op: Op::default(),
            eid: Some("e".into()),
            claims: Some(asked()),
            dpop_jkt: Some("k".into()),
            acr: None,
        };
        let session = SignIn {
            uuid: "u",
            auth_time: 5,
            mfa: true,
            passkey: None,
            sid: "s",
        };
        let code = issue(&request, session, "h".into(), 7, 60);
        assert_eq!((code.created_at, code.expires_at), (7, 67));
        // The grant's id is its own, ordered by the second it began, not the code's digest.
        assert!(code.grant_id.starts_with("00000007"), "{}", code.grant_id);
        assert_ne!(
            code.grant_id,
            issue(&request, session, "h".into(), 7, 60).grant_id
        );
        assert_eq!(code.scopes, ["openid", "military"]);
        assert_eq!(code.dpop_jkt.as_deref(), Some("k"));
        let by_the_key = TokenRequest {
            dpop_jkt: Some("k"),
            ..presented(Some(VERIFIER))
        };
        let issuance = redeem(&code, &by_the_key).unwrap();
        assert_eq!(
            issuance,
            Issuance {
                grant_id: code.grant_id.clone(),
                uuid: "u".into(),
                scopes: vec!["openid".into(), "military".into()],
                auth_time: 5,
                mfa: true,
                passkey: None,
                eid: Some("e".into()),
                sid: Some("s".into()),
                nonce: Some("n".into()),
                parent: None,
                claims: Some(asked()),
            }
        );
        assert!(issuance.has_id_token());
    }

    #[test]
    fn code_bindings() {
        let check = |c: &Code, p: &TokenRequest<'_>| redeem(c, p).map(|_| ());
        assert_eq!(
            check(&code(Some(CHALLENGE)), &presented(Some(VERIFIER))),
            Ok(())
        );
        assert_eq!(check(&code(None), &presented(None)), Ok(()));
        assert_eq!(
            check(&code(Some(CHALLENGE)), &presented(None)),
            Err(GrantError::VerifierMissing)
        );
        assert_eq!(
            check(&code(None), &presented(Some(VERIFIER))),
            Err(GrantError::VerifierWithoutChallenge)
        );
        assert_eq!(
            check(
                &code(Some(CHALLENGE)),
                &presented(Some("x".repeat(43).leak()))
            ),
            Err(GrantError::VerifierMismatch)
        );
        assert_eq!(
            check(
                &code(Some(CHALLENGE)),
                &presented(Some("x".repeat(42).leak()))
            ),
            Err(GrantError::VerifierMismatch)
        );
        let cases = [
            (
                TokenRequest {
                    client_id: id("d"),
                    ..presented(None)
                },
                GrantError::OtherClient,
            ),
            (
                TokenRequest {
                    now: 100,
                    ..presented(None)
                },
                GrantError::Expired,
            ),
            (
                TokenRequest {
                    redirect_uri: "https://a/cb/",
                    ..presented(None)
                },
                GrantError::RedirectMismatch,
            ),
            (
                TokenRequest {
                    public_client: true,
                    ..presented(None)
                },
                GrantError::PublicWithoutPkce,
            ),
        ];
        for (p, refusal) in cases {
            assert_eq!(check(&code(None), &p), Err(refusal));
        }
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
        let asked = asked();
        let token = RefreshGrant {
            token_hash: "rt",
            grant_id: "g",
            client_id: id("c"),
            uuid: "u",
            scopes: &scopes,
            auth_time: 5,
            mfa: false,
            passkey: None,
            eid: None,
            sid: Some("s"),
            claims: Some(&asked),
            expires_at: 100,
        };
        let app = RefreshingApp {
            client_id: id("c"),
            refresh_tokens: true,
            policies: &policies,
        };
        let issued = refresh(&token, &app, None, 10).unwrap();
        assert_eq!(issued.scopes, scopes);
        assert_eq!(
            (
                issued.grant_id.as_str(),
                issued.parent.as_deref(),
                issued.nonce
            ),
            ("g", Some("rt"), None)
        );
        assert_eq!(issued.sid.as_deref(), Some("s"));
        assert_eq!(issued.claims, Some(asked.clone()));
        assert_eq!(
            refresh(&token, &app, Some("openid"), 10).unwrap().scopes,
            ["openid"]
        );
        let other = RefreshingApp {
            client_id: id("d"),
            ..app
        };
        assert_eq!(
            refresh(&token, &other, None, 10),
            Err(GrantError::RefreshOtherClient)
        );
        assert_eq!(
            refresh(&token, &app, None, 100),
            Err(GrantError::RefreshExpired)
        );
        let off = RefreshingApp {
            refresh_tokens: false,
            ..app
        };
        assert_eq!(refresh(&token, &off, None, 10), Err(GrantError::RefreshOff));
        assert_eq!(
            refresh(&token, &app, Some("student"), 10),
            Err(GrantError::ScopeWidened)
        );
    }
}
