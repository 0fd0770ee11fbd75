//! RFC 9101 JAR: signed request objects, by value (`request`) or pushed (RFC 9126 PAR), and the
//! pushed requests' references.
//!
//! A request object is verified with the app's registered keys; `alg` `none` and symmetric
//! algorithms are refused (only RS256 and ES256, as for client assertions), `iss` must be the
//! app, `aud` the issuer, `exp` present and near, `nbf` past, `jti` present (the caller makes it
//! single use). Its claims are then the whole request: parameters outside it are ignored (RFC 9101
//! 6.3), except `client_id`, which must agree.

use serde_json::Value;
use thiserror::Error;
use verity_proto::error::ErrorCode;

use crate::authorize::Params;
use crate::jose::{Jws, MAX_JWS_LEN};
use crate::secret::{is_token_shaped, new_token, token_hash};

/// The longest a request object may live (`exp` after `nbf`, or after now), in seconds.
pub const MAX_LIFETIME: i64 = 3600;
/// Clock skew allowed on `nbf` and `exp`, in seconds.
pub const SKEW: i64 = 60;
/// The prefix of the `request_uri` values PAR issues (RFC 9126 2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request may be used, in seconds (RFC 9126 2.2 `expires_in`).
pub const PUSHED_LIFETIME: i64 = 60;

/// Why a request object is refused (`invalid_request_object`).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum JarError {
    #[error("the request object is not a signed JWT")]
    Malformed,
    #[error("the request object is signed with {0:?}; only RS256 and ES256 are accepted")]
    Algorithm(String),
    #[error("the app has no registered keys to verify a request object")]
    NoKeys,
    #[error("the request object's signature does not verify with the app's keys")]
    Signature,
    #[error("the request object's iss is not the app's client_id")]
    Issuer,
    #[error("the request object's aud is not this provider")]
    Audience,
    #[error("the request object's client_id differs from the request's")]
    ClientId,
    #[error("the request object has no exp, or it has passed or is too far ahead")]
    Expiry,
    #[error("the request object is not valid yet (nbf)")]
    NotYet,
    #[error("the request object has no jti")]
    NoJti,
    #[error("a request object must not contain request or request_uri")]
    Nested,
}

/// A verified request object: the request's parameters, and what makes it single use.
#[derive(Debug)]
pub struct RequestObject {
    pub params: Params,
    /// Its `jti`, which the caller records per app so that the object is used once.
    pub jti: String,
    /// Until when the replay cache must remember it (its `exp`).
    pub exp: i64,
}

/// What verification is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub client_id: &'a str,
    pub issuer: &'a str,
    pub now: i64,
}

/// Verifies `jwt` with `jwks` (the app's JWK Set) and returns its claims as the request.
pub fn verify(
    jwt: &str,
    jwks: Option<&Value>,
    expect: &Expect<'_>,
) -> Result<RequestObject, JarError> {
    if jwt.len() > MAX_JWS_LEN {
        return Err(JarError::Malformed);
    }
    let jws = Jws::parse(jwt).map_err(|_| JarError::Malformed)?;
    let alg = jws.alg();
    if alg != "RS256" && alg != "ES256" {
        return Err(JarError::Algorithm(alg.to_owned()));
    }
    let jwks = jwks.ok_or(JarError::NoKeys)?;
    jws.verify_with_set(jwks).map_err(|_| JarError::Signature)?;
    let claims = &jws.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(expect.client_id) {
        return Err(JarError::Issuer);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expect.issuer,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expect.issuer)),
        _ => false,
    };
    if !aud_ok {
        return Err(JarError::Audience);
    }
    if text("client_id").is_some_and(|c| c != expect.client_id) {
        return Err(JarError::ClientId);
    }
    let nbf = claims.get("nbf").and_then(Value::as_i64);
    if nbf.is_some_and(|nbf| nbf > expect.now + SKEW) {
        return Err(JarError::NotYet);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(JarError::Expiry)?;
    let from = nbf.unwrap_or(expect.now).max(expect.now - SKEW);
    if exp + SKEW <= expect.now || exp - from > MAX_LIFETIME {
        return Err(JarError::Expiry);
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty())
        .ok_or(JarError::NoJti)?;
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(JarError::Nested);
    }
    let mut pairs: Vec<(String, String)> = claims
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "iss" | "aud" | "exp" | "nbf" | "iat" | "jti"))
        .map(|(name, value)| {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), value)
        })
        .collect();
    if !claims.contains_key("client_id") {
        pairs.push(("client_id".to_owned(), expect.client_id.to_owned()));
    }
    Ok(RequestObject {
        params: Params::from_pairs(pairs),
        jti: jti.to_owned(),
        exp,
    })
}

/// Where an authorization request's parameters are (RFC 9101 5, RFC 9126 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<'a> {
    /// In the request itself.
    Plain,
    /// In the request object `request` (by value).
    Object(&'a str),
    /// Pushed earlier: stored under this hash of the `request_uri`'s reference.
    Pushed(String),
}

/// What an app demands of its authorization requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Demands {
    /// RFC 9126 `require_pushed_authorization_requests`.
    pub pushed: bool,
    /// `require_signed_request_object`.
    pub signed: bool,
}

/// Where the request's parameters are, or why the request is refused as it stands.
pub fn source<'a>(
    params: &'a Params,
    demands: Demands,
) -> Result<Source<'a>, (ErrorCode, &'static str)> {
    if params.is_repeated("request_uri") || params.is_repeated("request") {
        return Err((
            ErrorCode::InvalidRequest,
            "request or request_uri is repeated",
        ));
    }
    if let Some(uri) = params.get("request_uri") {
        if params.get("request").is_some() {
            return Err((
                ErrorCode::InvalidRequest,
                "request and request_uri must not be sent together",
            ));
        }
        if !uri.starts_with(REQUEST_URI_PREFIX) {
            return Err((
                ErrorCode::RequestUriNotSupported,
                "only a request_uri from this provider's pushed authorization request endpoint is accepted",
            ));
        }
        return request_uri_hash(uri).map(Source::Pushed).ok_or((
            ErrorCode::InvalidRequestUri,
            "the request_uri was not issued by this provider",
        ));
    }
    if demands.pushed {
        return Err((
            ErrorCode::InvalidRequest,
            "this app must push its authorization requests (RFC 9126) and send only client_id and request_uri",
        ));
    }
    match params.get("request") {
        Some(object) => Ok(Source::Object(object)),
        None if demands.signed => Err((
            ErrorCode::InvalidRequest,
            "this app must send its authorization requests as signed request objects",
        )),
        None => Ok(Source::Plain),
    }
}

/// The parameters of a pushed request taken from the store, when it is still fresh and the
/// presenting request names the app that pushed it (RFC 9126 4).
pub fn pushed_params(
    pushed_by: &str,
    params: Vec<(String, String)>,
    expires_at: i64,
    client_id: &str,
    now: i64,
) -> Result<Params, (ErrorCode, &'static str)> {
    if pushed_by != client_id {
        return Err((
            ErrorCode::InvalidRequestUri,
            "the request_uri was pushed by another app",
        ));
    }
    if expires_at <= now {
        return Err((ErrorCode::InvalidRequestUri, "the request_uri has expired"));
    }
    Ok(Params::from_pairs(params))
}

/// The parameters a pushed request keeps: everything but the client's credentials.
pub fn kept_when_pushed(params: &Params) -> Vec<(String, String)> {
    const CREDENTIALS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];
    let mut kept: Vec<(String, String)> = params
        .pairs()
        .filter(|(name, _)| !CREDENTIALS.contains(name))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    kept.sort();
    kept
}

/// A new pushed request's `request_uri`, and the hash it is stored under.
pub fn new_request_uri() -> (String, String) {
    let reference = new_token();
    let hash = token_hash(&reference);
    (format!("{REQUEST_URI_PREFIX}{reference}"), hash)
}

/// The stored hash of a `request_uri` Verity issued, or `None` for any other value.
pub fn request_uri_hash(request_uri: &str) -> Option<String> {
    request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .filter(|r| is_token_shaped(r))
        .map(token_hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, SigningKey};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://verity.example";

    fn expect() -> Expect<'static> {
        Expect {
            client_id: "app",
            issuer: ISSUER,
            now: NOW,
        }
    }

    fn good() -> Value {
        json!({
            "iss": "app", "aud": ISSUER, "exp": NOW + 300, "nbf": NOW - 1, "jti": "j1",
            "client_id": "app", "response_type": "code", "redirect_uri": "https://app.example/cb",
            "scope": "openid", "max_age": 60, "claims": {"userinfo": {"verified_claims": null}}
        })
    }

    fn keys(key: &SigningKey) -> Value {
        json!({"keys": [serde_json::to_value(key.jwk()).unwrap()]})
    }

    #[test]
    fn a_signed_object_is_the_request() {
        let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
        let jwt = key.sign_jwt("oauth-authz-req+jwt", &good()).unwrap();
        let object = verify(&jwt, Some(&keys(&key)), &expect()).unwrap();
        assert_eq!(
            object.params.get("redirect_uri"),
            Some("https://app.example/cb")
        );
        assert_eq!(object.params.get("max_age"), Some("60"));
        assert_eq!(
            object.params.get("claims"),
            Some(r#"{"userinfo":{"verified_claims":null}}"#)
        );
        assert_eq!(object.params.get("jti"), None);
        assert_eq!(object.exp, NOW + 300);
        let again = verify(&jwt, Some(&keys(&key)), &expect()).unwrap();
        assert_eq!(object.jti, again.jti);
        assert_eq!(object.jti, "j1");
    }

    #[test]
    fn each_claim_is_checked() {
        let (key, _) = SigningKey::generate(Alg::RS256).unwrap();
        let check = |edit: &dyn Fn(&mut Value)| {
            let mut c = good();
            edit(&mut c);
            verify(
                &key.sign_jwt("JWT", &c).unwrap(),
                Some(&keys(&key)),
                &expect(),
            )
            .map(|_| ())
        };
        assert_eq!(check(&|c| c["iss"] = json!("other")), Err(JarError::Issuer));
        assert_eq!(
            check(&|c| c["aud"] = json!("https://elsewhere")),
            Err(JarError::Audience)
        );
        assert_eq!(check(&|c| c["aud"] = json!([ISSUER, "x"])), Ok(()));
        assert_eq!(
            check(&|c| c["client_id"] = json!("other")),
            Err(JarError::ClientId)
        );
        assert_eq!(
            check(&|c| c["exp"] = json!(NOW - SKEW - 1)),
            Err(JarError::Expiry)
        );
        assert_eq!(
            check(&|c| c["exp"] = json!(NOW + MAX_LIFETIME + 10)),
            Err(JarError::Expiry)
        );
        assert_eq!(
            check(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            Err(JarError::Expiry)
        );
        assert_eq!(
            check(&|c| c["nbf"] = json!(NOW + SKEW + 1)),
            Err(JarError::NotYet)
        );
        assert_eq!(
            check(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            Err(JarError::NoJti)
        );
        assert_eq!(
            check(&|c| c["request_uri"] = json!("urn:x")),
            Err(JarError::Nested)
        );
    }

    #[test]
    fn unsigned_foreign_and_keyless_objects_are_refused() {
        let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = URL_SAFE_NO_PAD.encode(good().to_string());
        assert_eq!(
            verify(&format!("{h}.{p}."), Some(&keys(&key)), &expect()).unwrap_err(),
            JarError::Algorithm("none".into())
        );
        let (other, _) = SigningKey::generate(Alg::ES256).unwrap();
        let jwt = other.sign_jwt("JWT", &good()).unwrap();
        assert_eq!(
            verify(&jwt, Some(&keys(&key)), &expect()).unwrap_err(),
            JarError::Signature
        );
        assert_eq!(verify(&jwt, None, &expect()).unwrap_err(), JarError::NoKeys);
        assert_eq!(
            verify("not a jwt", Some(&keys(&key)), &expect()).unwrap_err(),
            JarError::Malformed
        );
    }

    #[test]
    fn the_source_follows_the_request_and_the_apps_demands() {
        let p = |q: &str| Params::from_form(q.as_bytes());
        let (uri, hash) = new_request_uri();
        let pushed = p(&format!("client_id=app&request_uri={uri}"));
        let strict = Demands {
            pushed: true,
            signed: true,
        };
        assert_eq!(source(&pushed, strict), Ok(Source::Pushed(hash)));
        assert_eq!(
            source(&p("client_id=app"), Demands::default()),
            Ok(Source::Plain)
        );
        assert_eq!(
            source(&p("client_id=app&request=x.y.z"), Demands::default()),
            Ok(Source::Object("x.y.z"))
        );
        let code = |q: &str, d: Demands| source(&p(q), d).unwrap_err().0;
        assert_eq!(code("client_id=app", strict), ErrorCode::InvalidRequest);
        assert_eq!(
            code("client_id=app&request=x.y.z", strict),
            ErrorCode::InvalidRequest,
            "an app that must push may not send an object by value"
        );
        let signed = Demands {
            pushed: false,
            signed: true,
        };
        assert_eq!(code("client_id=app", signed), ErrorCode::InvalidRequest);
        assert_eq!(
            code("request_uri=https://app.example/r", Demands::default()),
            ErrorCode::RequestUriNotSupported
        );
        assert_eq!(
            code(
                &format!("request_uri={REQUEST_URI_PREFIX}nothex"),
                Demands::default()
            ),
            ErrorCode::InvalidRequestUri
        );
        assert_eq!(
            code(
                &format!("request_uri={uri}&request=x.y.z"),
                Demands::default()
            ),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(
                &format!("request_uri={uri}&request_uri={uri}"),
                Demands::default()
            ),
            ErrorCode::InvalidRequest,
            "repeated"
        );
    }

    #[test]
    fn pushed_params_are_the_apps_own_and_fresh() {
        let kept = vec![("scope".to_owned(), "openid".to_owned())];
        let ok = pushed_params("app", kept.clone(), NOW + 1, "app", NOW).unwrap();
        assert_eq!(ok.get("scope"), Some("openid"));
        let err =
            |by: &str, exp: i64| pushed_params(by, kept.clone(), exp, "app", NOW).unwrap_err();
        assert_eq!(err("other", NOW + 1).0, ErrorCode::InvalidRequestUri);
        assert_eq!(err("app", NOW).0, ErrorCode::InvalidRequestUri);
        let form = Params::from_form(
            b"client_id=app&client_secret=s&client_assertion=a&client_assertion_type=t&scope=openid",
        );
        assert_eq!(
            kept_when_pushed(&form),
            vec![
                ("client_id".to_owned(), "app".to_owned()),
                ("scope".to_owned(), "openid".to_owned())
            ]
        );
    }

    #[test]
    fn request_uris_are_ours_or_nothing() {
        let (uri, hash) = new_request_uri();
        assert!(uri.starts_with(REQUEST_URI_PREFIX));
        assert_eq!(request_uri_hash(&uri), Some(hash));
        assert_eq!(request_uri_hash("https://app.example/request.jwt"), None);
        assert_eq!(
            request_uri_hash(&format!("{REQUEST_URI_PREFIX}short")),
            None
        );
    }
}
