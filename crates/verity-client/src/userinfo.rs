//! The three wire forms of userinfo (SPEC 7): ID.me's JSON string holding a JWT (sometimes quoted
//! more than once), `application/jwt` (OIDC Core 5.3.2), and a plain JSON object.

use serde_json::{Map, Value};

use crate::error::UserInfoError;

/// How many layers of JSON string quoting are peeled before giving up.
const MAX_QUOTING: usize = 4;

/// What the provider's userinfo endpoint said, after checks.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInfo {
    pub claims: Map<String, Value>,
    /// Whether it came as a JWT whose signature was verified.
    pub signed: bool,
}

/// A userinfo body, before any signature check.
#[derive(Debug, Clone, PartialEq)]
pub enum UserInfoBody {
    /// A compact JWS: its signature must be verified.
    Jwt(String),
    /// Plain claims (TLS is their only protection).
    Claims(Map<String, Value>),
}

fn looks_like_jws(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.split('.').count() == 3
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b'=')
}

/// Tells the three forms apart by `Content-Type` and content. Never panics.
pub fn parse_userinfo_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<UserInfoBody, UserInfoError> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let text = std::str::from_utf8(body).map_err(|_| UserInfoError::Form)?;
    if mime.as_deref() == Some("application/jwt") {
        let t = text.trim();
        return if looks_like_jws(t) {
            Ok(UserInfoBody::Jwt(t.to_owned()))
        } else {
            Err(UserInfoError::Form)
        };
    }
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        // Some providers send the bare JWT with a JSON content type.
        Err(_) if looks_like_jws(text) => return Ok(UserInfoBody::Jwt(text.trim().to_owned())),
        Err(_) => return Err(UserInfoError::Form),
    };
    for _ in 0..=MAX_QUOTING {
        match value {
            Value::Object(map) => return Ok(UserInfoBody::Claims(map)),
            Value::String(s) if looks_like_jws(&s) => {
                return Ok(UserInfoBody::Jwt(s.trim().to_owned()));
            }
            Value::String(s) => {
                value = serde_json::from_str(&s).map_err(|_| UserInfoError::Form)?;
            }
            _ => return Err(UserInfoError::Form),
        }
    }
    Err(UserInfoError::Form)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";

    #[test]
    fn reads_every_form() {
        let quoted = serde_json::to_string(JWT).unwrap();
        let twice = serde_json::to_string(&quoted).unwrap();
        let thrice = serde_json::to_string(&twice).unwrap();
        for body in [&quoted, &twice, &thrice] {
            assert_eq!(
                parse_userinfo_body(Some("application/json; charset=utf-8"), body.as_bytes()),
                Ok(UserInfoBody::Jwt(JWT.into()))
            );
        }
        assert_eq!(
            parse_userinfo_body(Some("application/jwt"), JWT.as_bytes()),
            Ok(UserInfoBody::Jwt(JWT.into()))
        );
        let plain = parse_userinfo_body(Some("application/json"), br#"{"sub":"a"}"#).unwrap();
        assert!(matches!(plain, UserInfoBody::Claims(m) if m["sub"] == "a"));
        let object_in_string = serde_json::to_string(r#"{"sub":"a"}"#).unwrap();
        assert!(matches!(
            parse_userinfo_body(None, object_in_string.as_bytes()),
            Ok(UserInfoBody::Claims(_))
        ));
        for bad in ["[1]", "42", "\"hello\"", "", "{", "null"] {
            assert_eq!(
                parse_userinfo_body(Some("application/json"), bad.as_bytes()),
                Err(UserInfoError::Form),
                "{bad}"
            );
        }
    }
}
