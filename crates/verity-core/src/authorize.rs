//! RFC 6749 4.1.1 / OIDC Core 3.1.2.1 authorization requests (SPEC section 3).
//!
//! Validation also decides where an error may go: errors about `client_id` or `redirect_uri`
//! are shown to the person as a page and never redirected (RFC 6749 4.1.2.1, RFC 9700 4.11);
//! every later error is sent back to the registered redirect URI with the request's `state`.

use std::collections::HashMap;

use verity_proto::error::ErrorCode;

use crate::assurance::{self, ClaimsRequest};
use crate::pkce;
use crate::redirect::RedirectUri;
use crate::scope::ScopeSet;
use crate::values::{ClientId, Nonce, PkceChallenge};

/// The longest value accepted for any one parameter.
pub const MAX_PARAM_LEN: usize = 4096;
/// The most parameters accepted in one request.
pub const MAX_PARAMS: usize = 64;

/// Scopes every app may request without being provisioned with them.
pub const ALWAYS_ALLOWED_SCOPES: [&str; 2] = ["openid", "offline_access"];

/// What validation needs to know about the app named by `client_id`.
#[derive(Debug, Clone)]
pub struct AppView<'a> {
    pub redirect_uris: &'a [String],
    pub policies: &'a [String],
    pub public: bool,
    /// Whether the app may ask for `verified_claims` (the `oidc` profile; `idme` ignores `claims`).
    pub claims_parameter: bool,
}

/// Where an authorization error is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// An HTML error page; the user agent is not redirected.
    Page,
    /// `redirect_uri?error=...&state=...`: the URI has already been matched against the app.
    Redirect {
        redirect_uri: RedirectUri,
        state: Option<String>,
        /// How the answer reaches the redirect URI.
        response_mode: ResponseMode,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeError {
    pub delivery: Delivery,
    pub code: ErrorCode,
    pub description: String,
}

/// `prompt` values of OIDC Core 3.1.2.1 that change behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// Which page comes first when the user must sign in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    #[default]
    Signin,
    Signup,
}

/// A validated authorization request: every field has been checked against the app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: ClientId,
    pub redirect_uri: RedirectUri,
    /// How the answer reaches the redirect URI (requests stored before it existed: `query`).
    #[serde(default)]
    pub response_mode: ResponseMode,
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<Nonce>,
    pub code_challenge: Option<PkceChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub op: Op,
    pub eid: Option<String>,
    /// What it asks of identity assurance (OIDC Core 5.5 `claims`, `verified_claims` only).
    #[serde(default)]
    pub claims: Option<ClaimsRequest>,
    /// RFC 9449 10 `dpop_jkt`: the DPoP key the code is bound to (its RFC 7638 thumbprint).
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// The assurance `acr_values` demands ([`crate::authn::demanded_by_acr_values`]).
    #[serde(default)]
    pub acr: Option<crate::authn::Level>,
}

/// How an authorization answer reaches the app: in the redirect URI's query (RFC 6749 4.1.2), or
/// posted by the browser as a form (OAuth 2.0 Form Post Response Mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

/// Parameters of one request with repeated names remembered (RFC 6749 3.1: a parameter must not
/// appear more than once).
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
    too_many: bool,
}

impl Params {
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut p = Params::default();
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            if i >= MAX_PARAMS {
                p.too_many = true;
                break;
            }
            let k = k.into();
            match p.values.entry(k) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    if !p.repeated.contains(e.key()) {
                        p.repeated.push(e.key().clone());
                    }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(v.into());
                }
            }
        }
        p
    }

    /// An `application/x-www-form-urlencoded` body or query string (invalid UTF-8 is replaced,
    /// never fatal).
    pub fn from_form(raw: &[u8]) -> Self {
        Self::from_pairs(form_urlencoded_pairs(raw))
    }

    /// A JSON body: one object whose values are strings (numbers and booleans are taken as their
    /// text, `null` as absent; nested values are refused).
    pub fn from_json(raw: &[u8]) -> Result<Self, &'static str> {
        let value: serde_json::Value =
            serde_json::from_slice(raw).map_err(|_| "the body is not valid JSON")?;
        let serde_json::Value::Object(map) = value else {
            return Err("the JSON body must be an object");
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                _ => return Err("JSON parameters must be strings"),
            };
            pairs.push((k, text));
        }
        Ok(Self::from_pairs(pairs))
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }

    pub fn first_repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }

    /// Every parameter with its value (in no particular order).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn too_many(&self) -> bool {
        self.too_many
    }

    pub fn oversized(&self) -> Option<&str> {
        self.values
            .iter()
            .find(|(_, v)| v.len() > MAX_PARAM_LEN)
            .map(|(k, _)| k.as_str())
    }

    /// The first parameter whose value holds a NUL character (no database can store one, and
    /// RFC 6749 allows none in `state`, `nonce` or scopes).
    pub fn with_nul(&self) -> Option<&str> {
        self.values
            .iter()
            .find(|(_, v)| v.contains('\0'))
            .map(|(k, _)| k.as_str())
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs (WHATWG URL: `+` is a space, `%XX` a byte,
/// invalid UTF-8 replaced).
pub fn form_urlencoded_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// How errors are answered: in the mode asked for when it is one Verity answers in (else the
/// query).
fn response_mode_of(params: &Params) -> ResponseMode {
    match params.get("response_mode") {
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    }
}

/// An error found before the request's own parameters could be read (a request object that
/// does not verify, a `request_uri` refused, a plain request from an app that must push or sign
/// its requests): sent back to the redirect URI when the outer request names one registered for
/// the app, else shown as a page.
pub fn refuse(
    params: &Params,
    app: Option<&AppView<'_>>,
    code: ErrorCode,
    description: &str,
) -> AuthorizeError {
    let redirect_uri = app.and_then(|app| {
        if params.is_repeated("redirect_uri") {
            return None;
        }
        RedirectUri::registered(app.redirect_uris, params.get("redirect_uri")?)
    });
    match redirect_uri {
        Some(redirect_uri) => AuthorizeError {
            delivery: Delivery::Redirect {
                redirect_uri,
                state: params.get("state").map(str::to_owned),
                response_mode: response_mode_of(params),
            },
            code,
            description: description.to_owned(),
        },
        None => page(code, description),
    }
}

fn page(code: ErrorCode, description: impl Into<String>) -> AuthorizeError {
    AuthorizeError {
        delivery: Delivery::Page,
        code,
        description: description.into(),
    }
}

/// Step one: the parts that must be right before anything can be redirected.
/// Returns the `client_id` for the caller to look the app up.
pub fn client_id(params: &Params) -> Result<&str, AuthorizeError> {
    if params.is_repeated("client_id") {
        return Err(page(ErrorCode::InvalidRequest, "client_id is repeated"));
    }
    let id = params
        .get("client_id")
        .ok_or_else(|| page(ErrorCode::InvalidRequest, "client_id is missing"))?;
    if id.len() > ClientId::MAX_LEN {
        return Err(page(
            ErrorCode::InvalidRequest,
            "client_id is not a known app",
        ));
    }
    Ok(id)
}

/// Step two: validate everything against the app (`None` when `client_id` is unknown).
pub fn validate(
    params: &Params,
    app: Option<&AppView<'_>>,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let client_id = ClientId::new(client_id(params)?);
    let app = app.ok_or_else(|| page(ErrorCode::InvalidRequest, "client_id is not a known app"))?;
    if params.is_repeated("redirect_uri") {
        return Err(page(ErrorCode::InvalidRequest, "redirect_uri is repeated"));
    }
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| page(ErrorCode::InvalidRequest, "redirect_uri is missing"))?;
    let Some(redirect_uri) = RedirectUri::registered(app.redirect_uris, redirect_uri) else {
        return Err(page(
            ErrorCode::InvalidRequest,
            "redirect_uri is not registered for this app",
        ));
    };

    // From here on the redirect URI is trusted: errors go back to the app.
    let state = params.get("state").map(str::to_owned);
    let response_mode = response_mode_of(params);
    let fail = |code: ErrorCode, description: &str| AuthorizeError {
        delivery: Delivery::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            response_mode,
        },
        code,
        description: description.to_owned(),
    };

    if params.too_many() {
        return Err(fail(ErrorCode::InvalidRequest, "too many parameters"));
    }
    if let Some(name) = params.first_repeated() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            &format!("parameter {name} is repeated"),
        ));
    }
    if let Some(name) = params.with_nul() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            &format!("parameter {name} contains a NUL character"),
        ));
    }
    if let Some(name) = params.oversized() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            &format!("parameter {name} is too long"),
        ));
    }
    if params.get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    match params.get("response_mode") {
        None | Some("query") | Some("form_post") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "response_mode must be query or form_post",
            ));
        }
    }

    let raw_scope = params
        .get("scope")
        .ok_or_else(|| fail(ErrorCode::InvalidRequest, "scope is missing"))?;
    let scope =
        ScopeSet::parse(raw_scope).map_err(|e| fail(ErrorCode::InvalidScope, &e.to_string()))?;
    if let Some(bad) = scope
        .iter()
        .find(|s| !ALWAYS_ALLOWED_SCOPES.contains(s) && !app.policies.iter().any(|p| p == s))
    {
        return Err(fail(
            ErrorCode::InvalidScope,
            &format!("the app is not provisioned with the policy {bad}"),
        ));
    }

    let code_challenge = pkce::validate_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|e| fail(ErrorCode::InvalidRequest, &e.to_string()))?;
    if app.public && code_challenge.is_none() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "public apps must send a PKCE S256 code_challenge",
        ));
    }

    let mut prompt = Prompt::default();
    if let Some(raw) = params.get("prompt") {
        for value in raw.split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => {
                    return Err(fail(
                        ErrorCode::InvalidRequest,
                        "prompt has an unsupported value",
                    ));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "prompt=none cannot be combined with other values",
            ));
        }
    }

    let max_age = match params.get("max_age") {
        None => None,
        Some(raw) => {
            let valid =
                !raw.is_empty() && raw.len() <= 10 && raw.bytes().all(|b| b.is_ascii_digit());
            match raw.parse::<i64>() {
                Ok(v) if valid => Some(v),
                _ => {
                    return Err(fail(
                        ErrorCode::InvalidRequest,
                        "max_age must be a non-negative integer",
                    ));
                }
            }
        }
    };

    let op = match params.get("op") {
        None | Some("signin") => Op::Signin,
        Some("signup") => Op::Signup,
        Some(_) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "op must be signin or signup",
            ));
        }
    };

    let claims = match params.get("claims") {
        Some(raw) if app.claims_parameter => {
            assurance::parse(raw).map_err(|e| fail(ErrorCode::InvalidRequest, &e))?
        }
        _ => None,
    };

    // RFC 9449 10: an RFC 7638 SHA-256 thumbprint is 43 base64url characters.
    let dpop_jkt = match params.get("dpop_jkt") {
        Some(jkt)
            if jkt.len() == 43
                && jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(jkt.to_owned())
        }
        Some(_) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "dpop_jkt must be the base64url SHA-256 thumbprint of a key",
            ));
        }
        None => None,
    };

    Ok(AuthorizeRequest {
        client_id,
        redirect_uri,
        response_mode,
        scope,
        state,
        nonce: params.get("nonce").map(Nonce::new),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        op,
        eid: params.get("eid").map(str::to_owned),
        claims,
        dpop_jkt,
        acr: params
            .get("acr_values")
            .and_then(crate::authn::demanded_by_acr_values),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CB: &str = "http://127.0.0.1:8090/callback";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn app(public: bool) -> (Vec<String>, Vec<String>, bool) {
        (
            vec![CB.to_owned()],
            vec!["military".to_owned(), "profile".to_owned()],
            public,
        )
    }

    fn run(pairs: &[(&str, &str)], public: bool) -> Result<AuthorizeRequest, AuthorizeError> {
        let (r, p, public) = app(public);
        let view = AppView {
            redirect_uris: &r,
            policies: &p,
            public,
            claims_parameter: true,
        };
        validate(&Params::from_pairs(pairs.iter().copied()), Some(&view))
    }

    #[test]
    fn the_claims_parameter_is_read_for_oidc_apps_and_ignored_for_idme() {
        const ASK: &str = r#"{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":null}}}"#;
        let r = run(&with(base(), "claims", ASK), false).unwrap();
        assert_eq!(r.claims.map(|c| c.userinfo.len()), Some(1));
        let e = run(&with(base(), "claims", "{not json"), false).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(matches!(e.delivery, Delivery::Redirect { .. }));
        let (r, p, public) = app(false);
        let idme = AppView {
            redirect_uris: &r,
            policies: &p,
            public,
            claims_parameter: false,
        };
        let ignored = validate(
            &Params::from_pairs(with(base(), "claims", "{not json")),
            Some(&idme),
        );
        assert_eq!(ignored.unwrap().claims, None);
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "c"),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("scope", "openid military"),
            ("state", "s1"),
        ]
    }

    fn with(
        mut pairs: Vec<(&'static str, &'static str)>,
        k: &'static str,
        v: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        pairs.retain(|(n, _)| *n != k);
        pairs.push((k, v));
        pairs
    }

    #[test]
    fn accepts_a_good_request() {
        let r = run(&base(), false).unwrap();
        assert_eq!(r.scope.to_scope_string(), "openid military");
        assert_eq!(r.state.as_deref(), Some("s1"));
    }

    #[test]
    fn client_and_redirect_errors_are_pages() {
        let e = run(
            &with(base(), "redirect_uri", "http://127.0.0.1:8090/callback/"),
            false,
        )
        .unwrap_err();
        assert_eq!(e.delivery, Delivery::Page);
        let mut pairs = base();
        pairs.push(("redirect_uri", CB));
        assert_eq!(run(&pairs, false).unwrap_err().delivery, Delivery::Page);
        let e = validate(&Params::from_pairs(base()), None).unwrap_err();
        assert_eq!(e.delivery, Delivery::Page);
    }

    #[test]
    fn later_errors_redirect_with_state() {
        let cases: Vec<(Vec<(&str, &str)>, ErrorCode)> = vec![
            (
                with(base(), "response_type", "token"),
                ErrorCode::UnsupportedResponseType,
            ),
            (
                with(base(), "scope", "openid student"),
                ErrorCode::InvalidScope,
            ),
            (
                with(base(), "code_challenge", CHALLENGE),
                ErrorCode::InvalidRequest,
            ),
            (
                with(
                    with(base(), "code_challenge", CHALLENGE),
                    "code_challenge_method",
                    "plain",
                ),
                ErrorCode::InvalidRequest,
            ),
            (
                with(base(), "prompt", "none login"),
                ErrorCode::InvalidRequest,
            ),
            (with(base(), "max_age", "-1"), ErrorCode::InvalidRequest),
            (with(base(), "op", "register"), ErrorCode::InvalidRequest),
            (
                with(base(), "request", "eyJ"),
                ErrorCode::RequestNotSupported,
            ),
        ];
        for (pairs, code) in cases {
            let e = run(&pairs, false).unwrap_err();
            assert_eq!(e.code, code, "{pairs:?}");
            assert_eq!(
                e.delivery,
                Delivery::Redirect {
                    redirect_uri: RedirectUri::registered(&[CB.into()], CB).unwrap(),
                    state: Some("s1".into()),
                    response_mode: ResponseMode::Query,
                }
            );
        }
    }

    #[test]
    fn public_apps_need_pkce() {
        let e = run(&base(), true).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let ok = with(
            with(base(), "code_challenge", CHALLENGE),
            "code_challenge_method",
            "S256",
        );
        assert_eq!(
            run(&ok, true).unwrap().code_challenge.as_deref(),
            Some(CHALLENGE)
        );
    }
}
