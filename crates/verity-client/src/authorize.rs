//! The authorization request (RFC 6749 4.1.1, OIDC Core 3.1.2.1) with `state`, `nonce` and PKCE
//! S256 always, and the callback (RFC 6749 4.1.2): `state` checked, `error` typed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::assertion::{constant_time_eq, random_token};
use crate::assurance::ClaimsRequest;
use crate::error::{CallbackError, Error};

/// What must be kept (server-side, or in a signed/encrypted cookie) between the redirect and the
/// callback. Never send it to the browser in the clear: the verifier is a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    /// `max_age` sent, so the ID token's `auth_time` is checked against it.
    pub max_age: Option<u64>,
    /// The redirect URI sent, to repeat at the token endpoint.
    pub redirect_uri: String,
    /// `acr_values` sent, so the ID token's `acr` is checked against them (OIDC Core 3.1.3.7
    /// step 12).
    #[serde(default)]
    pub acr_values: Vec<String>,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .field("code_verifier", &"[redacted]")
            .field("max_age", &self.max_age)
            .field("redirect_uri", &self.redirect_uri)
            .field("acr_values", &self.acr_values)
            .finish()
    }
}

/// `op`: which page ID.me shows first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    SignIn,
    SignUp,
}

/// OIDC `prompt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    None,
    Login,
    Consent,
}

/// Builds one authorization URL. Scopes are opaque, case-sensitive strings (policy handles such as
/// `military` or `http://idmanagement.gov/ns/assurance/ial/2/aal/2`), sent space-separated.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    endpoint: String,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    op: Option<Op>,
    prompt: Option<Prompt>,
    max_age: Option<u64>,
    login_hint: Option<String>,
    acr_values: Vec<String>,
    /// OIDC Core 5.5 `claims`: identity assurance asked of the ID token and userinfo.
    claims: Option<ClaimsRequest>,
    extra: Vec<(String, String)>,
}

impl AuthorizationRequest {
    pub(crate) fn new(endpoint: &str, client_id: &str, redirect_uri: &str) -> Self {
        AuthorizationRequest {
            endpoint: endpoint.to_owned(),
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: vec!["openid".into()],
            op: None,
            prompt: None,
            max_age: None,
            login_hint: None,
            acr_values: Vec::new(),
            claims: None,
            extra: Vec::new(),
        }
    }

    /// Adds a scope (policy handle). `openid` is always present; duplicates are dropped.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let s = scope.into();
        if !s.is_empty() && !s.contains(' ') && !self.scopes.contains(&s) {
            self.scopes.push(s);
        }
        self
    }

    /// Adds several scopes; a single string with spaces is split.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for s in scopes {
            for part in s.as_ref().split_whitespace() {
                self = self.scope(part);
            }
        }
        self
    }

    /// ID.me's `op`: which page the provider shows first.
    pub fn op(mut self, op: Op) -> Self {
        self.op = Some(op);
        self
    }

    /// OIDC Core 3.1.2.1 `prompt`.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// OIDC Core 3.1.2.1 `max_age`: the sign-in must be at most this old.
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// OIDC Core 3.1.2.1 `login_hint`, such as the person's email.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// OIDC Core 3.1.2.1 `acr_values`: the authentication context classes the app accepts, such
    /// as [`crate::ACR_PHISHING_RESISTANT`] to demand a passkey. The ID token's `acr` is then
    /// checked: one of these, or a stronger level of the same vocabulary.
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// OIDC Core 5.5 `claims`, carrying OIDC4IDA `verified_claims` requests (see
    /// [`crate::assurance`]). An empty request sends no parameter.
    pub fn claims(mut self, request: ClaimsRequest) -> Self {
        self.claims = Some(request).filter(|r| !r.is_empty());
        self
    }

    /// Any other parameter (`eid`, ...). The parameters this builder owns cannot be overridden.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// The URL to redirect the browser to, and what to keep for the callback. Fresh `state`,
    /// `nonce` and PKCE verifier (32 random bytes each) every call.
    pub fn build(self) -> Result<(Url, PendingAuthorization), Error> {
        let claims = match &self.claims {
            Some(request) => {
                request.check().map_err(Error::Config)?;
                Some(request.to_value().to_string())
            }
            None => None,
        };
        let state = random_token(32)?;
        let nonce = random_token(32)?;
        let code_verifier = random_token(32)?;
        let challenge = pkce_challenge(&code_verifier);
        let mut url = Url::parse(&self.endpoint)
            .map_err(|e| Error::Config(format!("authorization endpoint: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(op) = self.op {
                q.append_pair(
                    "op",
                    match op {
                        Op::SignIn => "signin",
                        Op::SignUp => "signup",
                    },
                );
            }
            if let Some(p) = self.prompt {
                q.append_pair(
                    "prompt",
                    match p {
                        Prompt::None => "none",
                        Prompt::Login => "login",
                        Prompt::Consent => "consent",
                    },
                );
            }
            if let Some(m) = self.max_age {
                q.append_pair("max_age", &m.to_string());
            }
            if let Some(h) = &self.login_hint {
                q.append_pair("login_hint", h);
            }
            if let Some(c) = &claims {
                q.append_pair("claims", c);
            }
            if !self.acr_values.is_empty() {
                q.append_pair("acr_values", &self.acr_values.join(" "));
            }
            const OWNED: &[&str] = &[
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "op",
                "prompt",
                "max_age",
                "login_hint",
                "claims",
                "acr_values",
            ];
            for (k, v) in &self.extra {
                if !OWNED.contains(&k.as_str()) {
                    q.append_pair(k, v);
                }
            }
        }
        Ok((
            url,
            PendingAuthorization {
                state,
                nonce,
                code_verifier,
                max_age: self.max_age,
                redirect_uri: self.redirect_uri,
                acr_values: self.acr_values,
            },
        ))
    }
}

/// RFC 7636 4.2: `BASE64URL(SHA256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The query of the redirect URI as the browser brought it back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207 issuer identification, when the provider sends it.
    pub iss: Option<String>,
}

impl CallbackQuery {
    /// Parses a query string (`code=...&state=...`) or a full URL. Never panics.
    pub fn parse(query_or_url: &str) -> Self {
        let query = match Url::parse(query_or_url) {
            Ok(u) => u.query().unwrap_or_default().to_owned(),
            Err(_) => query_or_url.trim_start_matches('?').to_owned(),
        };
        let mut out = CallbackQuery::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "code" => &mut out.code,
                "state" => &mut out.state,
                "error" => &mut out.error,
                "error_description" => &mut out.error_description,
                "iss" => &mut out.iss,
                _ => continue,
            };
            // A repeated parameter is ambiguous: keep the first, as the provider sent it first.
            if slot.is_none() {
                *slot = Some(v.into_owned());
            }
        }
        out
    }

    /// Checks the callback against the pending request and returns the code. `state` is checked
    /// first (a forged callback must not even reveal whether it carried an error), in constant
    /// time; then `error`; then `iss` when present.
    pub fn code_for(
        &self,
        pending: &PendingAuthorization,
        issuer: &str,
    ) -> Result<String, CallbackError> {
        let state_ok = self
            .state
            .as_deref()
            .is_some_and(|s| constant_time_eq(s.as_bytes(), pending.state.as_bytes()));
        if !state_ok {
            return Err(CallbackError::StateMismatch);
        }
        if let Some(error) = &self.error {
            return Err(CallbackError::Provider {
                error: error.clone(),
                description: self.error_description.clone(),
            });
        }
        if let Some(iss) = &self.iss
            && iss != issuer
        {
            return Err(CallbackError::IssuerMismatch(iss.clone()));
        }
        self.code.clone().ok_or(CallbackError::MissingCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn builds_every_parameter_and_keeps_uri_scopes_whole() {
        let (url, pending) =
            AuthorizationRequest::new("https://op.test/oauth/authorize", "app", "https://rp/cb")
                .scopes(["military http://idmanagement.gov/ns/assurance/ial/2/aal/2"])
                .scope("openid")
                .op(Op::SignUp)
                .prompt(Prompt::Login)
                .max_age(600)
                .login_hint("a@b.test")
                .param("state", "attacker")
                .param("eid", "e1")
                .build()
                .unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            q["scope"],
            "openid military http://idmanagement.gov/ns/assurance/ial/2/aal/2"
        );
        assert_eq!(q["state"], pending.state);
        assert_eq!(q["nonce"], pending.nonce);
        assert_eq!(q["code_challenge"], pkce_challenge(&pending.code_verifier));
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["op"], "signup");
        assert_eq!(q["prompt"], "login");
        assert_eq!(q["max_age"], "600");
        assert_eq!(q["login_hint"], "a@b.test");
        assert_eq!(q["eid"], "e1");
        assert_eq!(url.query_pairs().filter(|(k, _)| k == "state").count(), 1);
        assert!(pending.state.len() >= 43);
        assert!(!format!("{pending:?}").contains(&pending.code_verifier));
    }

    #[test]
    fn callback_checks_state_before_error() {
        let (_, pending) = AuthorizationRequest::new("https://op.test/a", "app", "https://rp/cb")
            .build()
            .unwrap();
        let forged = CallbackQuery::parse("code=abc&state=forged");
        assert_eq!(
            forged.code_for(&pending, "https://op.test"),
            Err(CallbackError::StateMismatch)
        );
        let missing = CallbackQuery::parse("code=abc");
        assert_eq!(
            missing.code_for(&pending, "https://op.test"),
            Err(CallbackError::StateMismatch)
        );
        let denied = CallbackQuery::parse(&format!(
            "https://rp/cb?error=access_denied&error_description=no&state={}",
            pending.state
        ));
        assert_eq!(
            denied.code_for(&pending, "https://op.test"),
            Err(CallbackError::Provider {
                error: "access_denied".into(),
                description: Some("no".into())
            })
        );
        let ok = CallbackQuery::parse(&format!("?code=abc&state={}", pending.state));
        assert_eq!(ok.code_for(&pending, "https://op.test").unwrap(), "abc");
        let mixup = CallbackQuery::parse(&format!(
            "code=abc&state={}&iss=https://evil",
            pending.state
        ));
        assert!(matches!(
            mixup.code_for(&pending, "https://op.test"),
            Err(CallbackError::IssuerMismatch(_))
        ));
    }
}
