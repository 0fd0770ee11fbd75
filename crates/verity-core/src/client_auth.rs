//! Client credentials at the token endpoint (RFC 6749 section 2.3.1).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

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
pub fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
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
}
