//! Verifying compact JWS (RFC 7515) against public JWKs, for what clients send us: `private_key_jwt`
//! client assertions (RFC 7523) and `id_token_hint`. Only RS256 and ES256 are accepted, the
//! algorithm comes from our side (the key), never from the token alone (RFC 8725 3.1), and the
//! `jku`/`jwk`/`x5u` headers are ignored.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use thiserror::Error;

/// The largest compact JWS we look at.
pub const MAX_JWS_LEN: usize = 16 * 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum JoseError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("the JWS is too large")]
    TooLarge,
    #[error("algorithm {0:?} is not accepted (RS256 or ES256 only)")]
    Algorithm(String),
    #[error("no key matches the JWS")]
    NoKey,
    #[error("the signature does not verify")]
    Signature,
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

fn b64_json(part: &str) -> Result<Map<String, Value>, JoseError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JoseError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JoseError::Malformed),
    }
}

impl<'a> Jws<'a> {
    pub fn parse(token: &'a str) -> Result<Self, JoseError> {
        if token.len() > MAX_JWS_LEN {
            return Err(JoseError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed);
        };
        let header = b64_json(h)?;
        let claims = b64_json(p)?;
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| JoseError::Malformed)?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        Ok(Jws {
            header,
            claims,
            signing_input,
            signature,
        })
    }

    pub fn alg(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Verifies against one public JWK, whose type must fit the header's `alg` (RS256 or ES256).
    pub fn verify_with_jwk(&self, jwk: &Value) -> Result<(), JoseError> {
        let alg = self.alg();
        if alg != "RS256" && alg != "ES256" {
            return Err(JoseError::Algorithm(alg.to_owned()));
        }
        verify_with_jwk(alg, jwk, self.signing_input.as_bytes(), &self.signature)
    }

    /// Verifies against the first key of `jwks` (a JWK Set `{"keys": [...]}`) that fits the
    /// header's `kid` (when present) and `alg`.
    pub fn verify_with_set(&self, jwks: &Value) -> Result<(), JoseError> {
        let alg = self.alg();
        if alg != "RS256" && alg != "ES256" {
            return Err(JoseError::Algorithm(alg.to_owned()));
        }
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JoseError::NoKey)?;
        let mut candidates = keys.iter().filter(|k| {
            let kid_ok = match self.kid() {
                Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
                None => true,
            };
            let use_ok = k
                .get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig");
            let kty_ok = matches!(
                (alg, k.get("kty").and_then(Value::as_str)),
                ("RS256", Some("RSA")) | ("ES256", Some("EC"))
            );
            let alg_ok = k
                .get("alg")
                .and_then(Value::as_str)
                .is_none_or(|a| a == alg);
            kid_ok && use_ok && kty_ok && alg_ok
        });
        let mut tried = false;
        for key in candidates.by_ref() {
            tried = true;
            if verify_with_jwk(alg, key, self.signing_input.as_bytes(), &self.signature).is_ok() {
                return Ok(());
            }
        }
        if tried {
            Err(JoseError::Signature)
        } else {
            Err(JoseError::NoKey)
        }
    }
}

fn member(key: &Value, name: &str) -> Result<Vec<u8>, JoseError> {
    let text = key
        .get(name)
        .and_then(Value::as_str)
        .ok_or(JoseError::NoKey)?;
    URL_SAFE_NO_PAD.decode(text).map_err(|_| JoseError::NoKey)
}

fn verify_with_jwk(alg: &str, key: &Value, message: &[u8], sig: &[u8]) -> Result<(), JoseError> {
    match alg {
        "RS256" => {
            let n = member(key, "n")?;
            let e = member(key, "e")?;
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .map_err(|_| JoseError::Signature)
        }
        "ES256" => {
            if key.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err(JoseError::NoKey);
            }
            let mut point = vec![4u8];
            point.extend(member(key, "x")?);
            point.extend(member(key, "y")?);
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
                .verify(message, sig)
                .map_err(|_| JoseError::Signature)
        }
        other => Err(JoseError::Algorithm(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, SigningKey};
    use serde_json::json;

    fn set(key: &SigningKey) -> Value {
        json!({"keys": [serde_json::to_value(key.jwk()).unwrap()]})
    }

    #[test]
    fn verifies_our_own_signatures_and_refuses_tampering() {
        for alg in [Alg::RS256, Alg::ES256] {
            let (key, _) = SigningKey::generate(alg).unwrap();
            let jwt = key.sign_jwt("JWT", &json!({"sub": "a"})).unwrap();
            let jws = Jws::parse(&jwt).unwrap();
            assert_eq!(jws.claims["sub"], "a");
            assert_eq!(jws.verify_with_set(&set(&key)), Ok(()));
            let (other, _) = SigningKey::generate(alg).unwrap();
            assert_eq!(
                jws.verify_with_set(&set(&other)),
                Err(JoseError::NoKey),
                "kid differs"
            );
            let mut parts: Vec<&str> = jwt.split('.').collect();
            let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"b"}"#);
            parts[1] = &forged;
            let tampered = parts.join(".");
            assert_eq!(
                Jws::parse(&tampered).unwrap().verify_with_set(&set(&key)),
                Err(JoseError::Signature)
            );
        }
    }

    #[test]
    fn refuses_none_and_hmac() {
        let (key, _) = SigningKey::generate(Alg::RS256).unwrap();
        for alg in ["none", "HS256", "NONE", "RS512"] {
            let h = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": key.kid()}).to_string());
            let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
            let token = format!("{h}.{p}.");
            assert!(matches!(
                Jws::parse(&token).unwrap().verify_with_set(&set(&key)),
                Err(JoseError::Algorithm(_))
            ));
        }
        assert_eq!(Jws::parse("a.b").unwrap_err(), JoseError::Malformed);
        assert_eq!(
            Jws::parse(&"a".repeat(MAX_JWS_LEN + 1)).unwrap_err(),
            JoseError::TooLarge
        );
    }
}
