//! The token endpoint's answer (RFC 6749 5.1), read leniently: `token_type` in any case, numbers
//! that arrive as strings, unknown members ignored.

use serde_json::Value;

use crate::config::Secret;
use crate::dpop::{self, DpopKey};
use crate::id_token::IdToken;

/// Tokens from a code exchange or a refresh. Bearer tokens print redacted.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Secret,
    /// `bearer` (RFC 6750), or `DPoP` (RFC 9449) when a proof was sent; in any case.
    pub token_type: String,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
    pub refresh_token: Option<Secret>,
    /// The validated ID token, when one was sent.
    pub id_token: Option<IdToken>,
    /// The DPoP key the token requests were proven with (RFC 9449), when the client uses DPoP.
    pub dpop: Option<DpopKey>,
}

impl Tokens {
    /// The key the access token is bound to: the DPoP key, when the provider answered
    /// `token_type` `DPoP`.
    pub fn bound_key(&self) -> Option<&DpopKey> {
        self.dpop
            .as_ref()
            .filter(|_| self.token_type.eq_ignore_ascii_case(dpop::TOKEN_TYPE))
    }
}

/// The members of a successful token answer, before validation.
#[derive(Debug, Clone)]
pub(crate) struct RawTokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn string(v: Option<&Value>) -> Option<String> {
    v?.as_str().map(str::to_owned)
}

/// Parses a token answer; `Err` names what is wrong. `token_type` is `bearer`, or `DPoP` when
/// the request carried a proof (`dpop_sent`). Never panics.
pub(crate) fn parse_token_body(body: &[u8], dpop_sent: bool) -> Result<RawTokens, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "not JSON".to_owned())?;
    let obj = doc.as_object().ok_or("not a JSON object")?;
    let access_token = string(obj.get("access_token")).ok_or("no access_token")?;
    let token_type = string(obj.get("token_type")).ok_or("no token_type")?;
    let dpop_bound = dpop_sent && token_type.eq_ignore_ascii_case(dpop::TOKEN_TYPE);
    if !token_type.eq_ignore_ascii_case("bearer") && !dpop_bound {
        return Err(format!("token_type {token_type:?} is not bearer"));
    }
    Ok(RawTokens {
        access_token,
        token_type,
        expires_in: int(obj.get("expires_in")),
        scope: string(obj.get("scope")),
        refresh_token: string(obj.get("refresh_token")),
        id_token: string(obj.get("id_token")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_type_in_any_case() {
        for t in ["bearer", "Bearer", "BEARER"] {
            let body = format!(r#"{{"access_token":"a","token_type":"{t}","expires_in":"300"}}"#);
            let parsed = parse_token_body(body.as_bytes(), false).unwrap();
            assert_eq!(parsed.expires_in, Some(300));
        }
        assert!(parse_token_body(br#"{"access_token":"a","token_type":"mac"}"#, false).is_err());
        assert!(parse_token_body(br#"{"token_type":"bearer"}"#, false).is_err());
    }

    #[test]
    fn dpop_token_type_only_after_a_proof() {
        let body = br#"{"access_token":"a","token_type":"DPoP"}"#;
        assert!(parse_token_body(body, false).is_err());
        assert!(parse_token_body(body, true).is_ok());
        assert!(parse_token_body(br#"{"access_token":"a","token_type":"bearer"}"#, true).is_ok());
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn token_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = super::parse_token_body(&bytes, false);
        }

        #[test]
        fn token_parser_on_json_objects_never_panics(
            at in proptest::option::of(".{0,20}"),
            tt in proptest::option::of("[a-zA-Z]{0,8}"),
            exp in proptest::option::of(any::<i64>()),
        ) {
            let body = serde_json::json!({"access_token": at, "token_type": tt, "expires_in": exp});
            if let Ok(t) = super::parse_token_body(body.to_string().as_bytes(), false) {
                prop_assert!(t.token_type.eq_ignore_ascii_case("bearer"));
            }
        }
    }
}
