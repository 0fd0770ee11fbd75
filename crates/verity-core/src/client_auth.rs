//! Client authentication at the token, revocation, introspection and policies endpoints
//! (RFC 6749 section 2.3.1, RFC 7523 2.2): reading the credentials, the rule that a request uses
//! exactly one method, and which apps must present a secret. The server looks the app and its
//! secrets up and compares in constant time.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use verity_proto::error::ErrorCode;

use crate::authorize::Params;

/// Credentials from an `Authorization: Basic` header: the id and secret are each
/// `application/x-www-form-urlencoded` before being joined with `:` and base64-encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                out.push(v);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Parses the value of an `Authorization` header. `None` when it is not `Basic`; `Some(Err)` when
/// it is `Basic` but malformed.
pub fn parse_basic(header: &str) -> Option<Result<BasicCredentials, &'static str>> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    Some((|| {
        let raw = STANDARD
            .decode(rest.trim())
            .map_err(|_| "the Basic credentials are not base64")?;
        let text = String::from_utf8(raw).map_err(|_| "the Basic credentials are not UTF-8")?;
        let (id, secret) = text
            .split_once(':')
            .ok_or("the Basic credentials have no ':'")?;
        let client_id = form_decode(id).ok_or("the client id is not form-urlencoded")?;
        let client_secret =
            form_decode(secret).ok_or("the client secret is not form-urlencoded")?;
        if client_id.is_empty() {
            return Err("the Basic credentials have an empty client id");
        }
        Ok(BasicCredentials {
            client_id,
            client_secret,
        })
    })())
}

/// The token from an `Authorization: Bearer` header (RFC 6750 2.1), if that is the scheme.
/// RFC 6750 2.1 and RFC 9449 7.1: `Bearer <token>` or `DPoP <token>` (schemes case-insensitive).
pub fn parse_authorization(header: &str) -> Option<(crate::dpop::Scheme, &str)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((crate::dpop::Scheme::Bearer, rest.trim()))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((crate::dpop::Scheme::Dpop, rest.trim()))
    } else {
        None
    }
}

pub fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Why a client is not authenticated. [`ClientAuthError::code`] says how it is answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    #[error("parameter {0} is repeated")]
    Repeated(&'static str),
    #[error("use one client authentication method, not several")]
    SeveralMethods,
    #[error("client_id differs from the Basic credentials")]
    IdMismatch,
    #[error("the Authorization header is not readable")]
    UnreadableHeader,
    #[error("{0}")]
    MalformedBasic(&'static str),
    #[error("client authentication is required")]
    Missing,
    #[error("unknown client")]
    UnknownClient,
    #[error("a public app has no client secret")]
    SecretForPublicApp,
    #[error("this app must authenticate with its client secret")]
    SecretRequired,
    #[error("client authentication failed")]
    WrongSecret,
}

impl ClientAuthError {
    /// RFC 6749 5.2: a malformed request is `invalid_request`; failed authentication is
    /// `invalid_client` (401 with a challenge).
    pub fn code(&self) -> ErrorCode {
        match self {
            ClientAuthError::Repeated(_)
            | ClientAuthError::SeveralMethods
            | ClientAuthError::IdMismatch => ErrorCode::InvalidRequest,
            _ => ErrorCode::InvalidClient,
        }
    }
}

/// How a request presents its client (RFC 6749 2.3.1, RFC 7523 2.2, or a public client's id).
#[derive(Clone, PartialEq, Eq)]
pub enum Presentation<'a> {
    /// `client_secret_basic`, `client_secret_post`, or `none` (no secret).
    Secret {
        client_id: Cow<'a, str>,
        secret: Option<Cow<'a, str>>,
    },
    /// `private_key_jwt`: the assertion says which client it is.
    Assertion,
}

impl std::fmt::Debug for Presentation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presentation::Secret { client_id, secret } => f
                .debug_struct("Secret")
                .field("client_id", client_id)
                .field("secret", &secret.as_ref().map(|_| "[redacted]"))
                .finish(),
            Presentation::Assertion => f.write_str("Assertion"),
        }
    }
}

/// The one way a request authenticates its client, from the `Authorization` header (`None`
/// when absent, `Some(None)` when not readable as text) and the body's parameters. Exactly one
/// method may be used; a `client_id` beside Basic credentials must name the same client.
pub fn presentation<'a>(
    authorization: Option<Option<&str>>,
    params: &'a Params,
) -> Result<Presentation<'a>, ClientAuthError> {
    for name in ["client_id", "client_secret", "client_assertion"] {
        if params.is_repeated(name) {
            return Err(ClientAuthError::Repeated(name));
        }
    }
    let basic = match authorization {
        None => None,
        Some(None) => return Err(ClientAuthError::UnreadableHeader),
        Some(Some(value)) => match parse_basic(value) {
            None => None,
            Some(Err(why)) => return Err(ClientAuthError::MalformedBasic(why)),
            Some(Ok(c)) => Some(c),
        },
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let assertion =
        params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some();
    let methods =
        usize::from(basic.is_some()) + usize::from(body_secret.is_some()) + usize::from(assertion);
    if methods > 1 {
        return Err(ClientAuthError::SeveralMethods);
    }
    if assertion {
        return Ok(Presentation::Assertion);
    }
    match basic {
        Some(c) if body_id.is_some_and(|id| id != c.client_id) => Err(ClientAuthError::IdMismatch),
        Some(c) => Ok(Presentation::Secret {
            client_id: Cow::Owned(c.client_id),
            secret: Some(c.client_secret)
                .filter(|s| !s.is_empty())
                .map(Cow::Owned),
        }),
        None => match body_id {
            Some(client_id) => Ok(Presentation::Secret {
                client_id: Cow::Borrowed(client_id),
                secret: body_secret.map(Cow::Borrowed),
            }),
            None => Err(ClientAuthError::Missing),
        },
    }
}

/// The secret a confidential app must be checked against: a public app authenticates with its
/// id alone (the grant binds it with PKCE) and must send no secret; a confidential one must send
/// one. `Ok(None)` for a public app.
pub fn secret_to_check(
    public: bool,
    secret: Option<&str>,
) -> Result<Option<&str>, ClientAuthError> {
    match (public, secret) {
        (true, Some(_)) => Err(ClientAuthError::SecretForPublicApp),
        (true, None) => Ok(None),
        (false, None) => Err(ClientAuthError::SecretRequired),
        (false, Some(s)) => Ok(Some(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_form_encoded_parts() {
        // "my%3Aclient:s%2Bcret+x" -> id "my:client", secret "s+cret x"
        let header = format!("Basic {}", STANDARD.encode("my%3Aclient:s%2Bcret+x"));
        let c = parse_basic(&header).unwrap().unwrap();
        assert_eq!(c.client_id, "my:client");
        assert_eq!(c.client_secret, "s+cret x");
        assert!(!format!("{c:?}").contains("s+cret"));
    }

    #[test]
    fn refuses_malformed() {
        assert!(parse_basic("Bearer abc").is_none());
        assert!(parse_basic("Basic !!!").unwrap().is_err());
        assert!(
            parse_basic(&format!("Basic {}", STANDARD.encode("nocolon")))
                .unwrap()
                .is_err()
        );
        assert!(
            parse_basic(&format!("Basic {}", STANDARD.encode("a%zz:b")))
                .unwrap()
                .is_err()
        );
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer  abc "), Some("abc"));
        assert_eq!(parse_bearer("Basic abc"), None);
    }

    proptest! {
        #[test]
        fn header_parsers_never_panic(h in ".{0,200}") {
            let _ = parse_basic(&h);
            let _ = parse_bearer(&h);
        }
    }
}

/// RFC 7523 `client_assertion_type` for `private_key_jwt`.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest lifetime (`exp - iat`, or `exp - now` without `iat`) accepted for an assertion.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Clock skew tolerated on `iat`/`nbf`/`exp`.
pub const ASSERTION_SKEW: i64 = 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssertionError {
    #[error("the assertion's iss and sub must both be the client_id")]
    Subject,
    #[error("the assertion's aud must name the token endpoint or the issuer")]
    Audience,
    #[error("the assertion has expired or has no exp")]
    Expired,
    #[error("the assertion lives longer than {MAX_ASSERTION_LIFETIME} seconds")]
    TooLong,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error("the assertion has no jti")]
    NoJti,
}

/// What a valid assertion yields: its `jti` (to be recorded against replay until `exp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionFacts {
    pub jti: String,
    pub exp: i64,
}

/// RFC 7523 3 checks on verified assertion claims.
pub fn check_assertion_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<AssertionFacts, AssertionError> {
    use serde_json::Value;
    let s = |k: &str| claims.get(k).and_then(Value::as_str);
    let n = |k: &str| claims.get(k).and_then(Value::as_i64);
    if s("iss") != Some(client_id) || s("sub") != Some(client_id) {
        return Err(AssertionError::Subject);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.contains(&a)),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::Audience);
    }
    let exp = n("exp").ok_or(AssertionError::Expired)?;
    if exp + ASSERTION_SKEW <= now {
        return Err(AssertionError::Expired);
    }
    let start = n("iat").unwrap_or(now);
    if start > now + ASSERTION_SKEW || n("nbf").is_some_and(|nbf| nbf > now + ASSERTION_SKEW) {
        return Err(AssertionError::NotYetValid);
    }
    if exp - start > MAX_ASSERTION_LIFETIME {
        return Err(AssertionError::TooLong);
    }
    let jti = s("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(AssertionError::NoJti)?;
    Ok(AssertionFacts {
        jti: jti.to_owned(),
        exp,
    })
}

#[cfg(test)]
mod assertion_tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn rfc7523_rules() {
        let aud = ["https://id.example/oauth/token", "https://id.example/oidc"];
        let good =
            json!({"iss": "c", "sub": "c", "aud": aud[0], "exp": 1100, "iat": 1000, "jti": "j1"});
        assert_eq!(
            check_assertion_claims(&claims(good.clone()), "c", &aud, 1000),
            Ok(AssertionFacts {
                jti: "j1".into(),
                exp: 1100
            })
        );
        let mut v = good.clone();
        v["aud"] = json!(["x", aud[1]]);
        assert!(check_assertion_claims(&claims(v), "c", &aud, 1000).is_ok());
        let cases = [
            ("sub", json!("other"), AssertionError::Subject),
            ("aud", json!("https://evil/token"), AssertionError::Audience),
            ("exp", json!(900), AssertionError::Expired),
            ("exp", json!(5000), AssertionError::TooLong),
            ("iat", json!(2000), AssertionError::NotYetValid),
            ("jti", json!(""), AssertionError::NoJti),
        ];
        for (k, val, err) in cases {
            let mut v = good.clone();
            v[k] = val;
            assert_eq!(
                check_assertion_claims(&claims(v), "c", &aud, 1000),
                Err(err),
                "{k}"
            );
        }
    }

    fn params(raw: &str) -> Params {
        Params::from_form(raw.as_bytes())
    }

    #[test]
    fn one_method_at_a_time() {
        // "app:s3cret"
        let basic = Some(Some("Basic YXBwOnMzY3JldA=="));
        let p = params("client_id=app");
        assert_eq!(
            presentation(basic, &p),
            Ok(Presentation::Secret {
                client_id: "app".into(),
                secret: Some("s3cret".into())
            })
        );
        let other = params("client_id=other");
        assert_eq!(
            presentation(basic, &other),
            Err(ClientAuthError::IdMismatch)
        );
        let post = params("client_id=app&client_secret=x");
        assert_eq!(
            presentation(basic, &post),
            Err(ClientAuthError::SeveralMethods)
        );
        let both = params("client_id=app&client_secret=x&client_assertion=y");
        assert_eq!(
            presentation(None, &both),
            Err(ClientAuthError::SeveralMethods)
        );
        assert_eq!(
            presentation(None, &params("client_assertion_type=x")),
            Ok(Presentation::Assertion)
        );
        assert_eq!(
            presentation(None, &params("client_id=a&client_id=b")),
            Err(ClientAuthError::Repeated("client_id"))
        );
        assert_eq!(
            presentation(None, &params("grant_type=x")),
            Err(ClientAuthError::Missing)
        );
        assert_eq!(
            presentation(Some(None), &params("client_id=a")),
            Err(ClientAuthError::UnreadableHeader)
        );
        assert!(matches!(
            presentation(Some(Some("Basic !!")), &p),
            Err(ClientAuthError::MalformedBasic(_))
        ));
        assert_eq!(
            ClientAuthError::SeveralMethods.code(),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            ClientAuthError::WrongSecret.code(),
            ErrorCode::InvalidClient
        );
    }

    #[test]
    fn public_apps_send_no_secret_and_confidential_ones_must() {
        assert_eq!(secret_to_check(true, None), Ok(None));
        assert_eq!(
            secret_to_check(true, Some("x")),
            Err(ClientAuthError::SecretForPublicApp)
        );
        assert_eq!(
            secret_to_check(false, None),
            Err(ClientAuthError::SecretRequired)
        );
        assert_eq!(secret_to_check(false, Some("x")), Ok(Some("x")));
    }
}
