//! Compact JWS (RFC 7515) verification against the provider's keys, the way RFC 8725 asks: the
//! algorithm must be RS256 or ES256 and fit the key, never `none` or HMAC; `jku`, `jwk`, `x5u` and
//! `x5c` headers are ignored (keys come only from the provider's `jwks_uri`).

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::JoseError;

/// The largest compact JWS looked at (a large ID.me ID token is a few kilobytes).
pub const MAX_JWS_LEN: usize = 64 * 1024;

/// A signature algorithm this client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Alg {
    RS256,
    ES256,
}

impl Alg {
    /// The exact, case-sensitive JOSE name (`"rs256"` is not RS256).
    pub fn parse(name: &str) -> Result<Self, JoseError> {
        match name {
            "RS256" => Ok(Alg::RS256),
            "ES256" => Ok(Alg::ES256),
            other => Err(JoseError::Algorithm(other.to_owned())),
        }
    }

    /// The JWA name (RFC 7518 3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    fn kty(self) -> &'static str {
        match self {
            Alg::RS256 => "RSA",
            Alg::ES256 => "EC",
        }
    }
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
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

impl Jws {
    /// Splits and decodes; checks nothing about the signature yet.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        if token.len() > MAX_JWS_LEN {
            return Err(JoseError::TooLarge(MAX_JWS_LEN));
        }
        let parts: Vec<&str> = token.split('.').collect();
        match parts.len() {
            3 => {}
            5 => return Err(JoseError::Encrypted),
            _ => return Err(JoseError::Malformed),
        }
        let header = b64_json(parts[0])?;
        let claims = b64_json(parts[1])?;
        let signature = URL_SAFE_NO_PAD
            .decode(parts[2])
            .map_err(|_| JoseError::Malformed)?;
        Ok(Jws {
            header,
            claims,
            signing_input: token[..parts[0].len() + 1 + parts[1].len()].to_owned(),
            signature,
        })
    }

    /// The header's `alg`, refused unless RS256 or ES256.
    pub fn alg(&self) -> Result<Alg, JoseError> {
        let name = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::Malformed)?;
        Alg::parse(name)
    }

    /// The header's key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// RFC 7515 4.1.11: we understand no extension, so any `crit` is refused.
    fn check_crit(&self) -> Result<(), JoseError> {
        match self.header.get("crit") {
            None => Ok(()),
            Some(v) => Err(JoseError::Critical(v.to_string())),
        }
    }

    /// Verifies against the keys that fit the header's `kid` and `alg`. `Err(UnknownKey)` when
    /// the `kid` names no key (the caller may fetch the JWKS again).
    pub fn verify(&self, keys: &[PublicKey]) -> Result<Alg, JoseError> {
        let alg = self.alg()?;
        self.check_crit()?;
        let candidates: Vec<&PublicKey> = keys
            .iter()
            .filter(|k| match self.kid() {
                Some(kid) => k.kid.as_deref() == Some(kid),
                None => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(match self.kid() {
                Some(kid) => JoseError::UnknownKey(kid.to_owned()),
                None => JoseError::NoKey,
            });
        }
        let fitting: Vec<&&PublicKey> = candidates.iter().filter(|k| k.fits(alg)).collect();
        if fitting.is_empty() {
            return Err(JoseError::NoKey);
        }
        if fitting
            .iter()
            .any(|k| k.verify(alg, self.signing_input.as_bytes(), &self.signature))
        {
            Ok(alg)
        } else {
            Err(JoseError::Signature)
        }
    }
}

/// The key material of one JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point of a P-256 key.
    P256 {
        point: Vec<u8>,
    },
}

/// One usable public signing key from a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: Option<String>,
    /// `alg`, or ID.me's `algorithm`; `None` when the key names none (the token's alg decides,
    /// within what the key type allows).
    pub alg: Option<String>,
    material: Material,
}

impl PublicKey {
    /// `kty` of this key, for reports.
    pub fn kty(&self) -> &'static str {
        match self.material {
            Material::Rsa { .. } => "RSA",
            Material::P256 { .. } => "EC",
        }
    }

    fn fits(&self, alg: Alg) -> bool {
        self.kty() == alg.kty() && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }

    fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        match (&self.material, alg) {
            (Material::Rsa { n, e }, Alg::RS256) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            (Material::P256 { point }, Alg::ES256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            _ => false,
        }
    }
}

fn member(key: &Map<String, Value>, name: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(key.get(name)?.as_str()?.trim_end_matches('='))
        .ok()
}

/// What a JWKS document held, after the keys a client must not use were set aside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    pub keys: Vec<PublicKey>,
    /// Quirks seen while reading it (`algorithm` instead of `alg`, keys without `alg`, the same
    /// key under two `kid`s), for `verity check`.
    pub quirks: Vec<String>,
    /// Keys skipped, with the reason (not for signatures, unknown type, ...).
    pub skipped: Vec<String>,
}

/// Reads a JWKS (RFC 7517 5) leniently: unusable keys are skipped, not fatal.
pub fn parse_jwks(body: &[u8]) -> Result<KeySet, JoseError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| JoseError::Malformed)?;
    let list = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JoseError::Malformed)?;
    let mut set = KeySet::default();
    for (i, key) in list.iter().enumerate() {
        let Some(key) = key.as_object() else {
            set.skipped.push(format!("key {i}: not an object"));
            continue;
        };
        let kid = key.get("kid").and_then(Value::as_str).map(str::to_owned);
        let name = kid.clone().unwrap_or_else(|| format!("#{i}"));
        if let Some(u) = key.get("use").and_then(Value::as_str)
            && u != "sig"
        {
            set.skipped.push(format!("key {name}: use {u:?}"));
            continue;
        }
        let alg = match (
            key.get("alg").and_then(Value::as_str),
            key.get("algorithm").and_then(Value::as_str),
        ) {
            (Some(a), _) => (Some(a.to_owned()), None),
            (None, Some(a)) => (
                Some(a.to_owned()),
                Some(format!("key {name}: `algorithm` instead of `alg`")),
            ),
            (None, None) => (None, Some(format!("key {name}: no `alg`"))),
        };
        let (alg, alg_quirk) = alg;
        let material = match key.get("kty").and_then(Value::as_str) {
            Some("RSA") => match (member(key, "n"), member(key, "e")) {
                (Some(n), Some(e)) => Material::Rsa { n, e },
                _ => {
                    set.skipped.push(format!("key {name}: RSA without n/e"));
                    continue;
                }
            },
            Some("EC") => {
                match (
                    key.get("crv").and_then(Value::as_str),
                    member(key, "x"),
                    member(key, "y"),
                ) {
                    (Some("P-256"), Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                        let mut point = vec![4u8];
                        point.extend(x);
                        point.extend(y);
                        Material::P256 { point }
                    }
                    _ => {
                        set.skipped.push(format!("key {name}: EC key not on P-256"));
                        continue;
                    }
                }
            }
            other => {
                set.skipped.push(format!("key {name}: kty {other:?}"));
                continue;
            }
        };
        set.quirks.extend(alg_quirk);
        if let Some(dup) = set.keys.iter().find(|k| k.material == material) {
            set.quirks.push(format!(
                "key {name}: same key as {}",
                dup.kid.as_deref().unwrap_or("(no kid)")
            ));
        }
        set.keys.push(PublicKey { kid, alg, material });
    }
    Ok(set)
}

/// OIDC Core 3.1.3.6 `at_hash` for RS256 and ES256: base64url of the left half of SHA-256.
pub fn at_hash(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_idme_quirks() {
        let n = URL_SAFE_NO_PAD.encode([0xc1u8; 256]);
        let body = format!(
            r#"{{"keys":[{{"kty":"RSA","kid":"a","use":"sig","algorithm":"RS256","n":"{n}","e":"AQAB"}},
                {{"kty":"RSA","kid":"b","n":"{n}","e":"AQAB"}},
                {{"kty":"RSA","kid":"c","use":"enc","n":"{n}","e":"AQAB"}},
                {{"kty":"oct","kid":"d","k":"c2VjcmV0"}}]}}"#
        );
        let set = parse_jwks(body.as_bytes()).unwrap();
        assert_eq!(set.keys.len(), 2);
        assert_eq!(set.keys[0].alg.as_deref(), Some("RS256"));
        assert_eq!(set.keys[1].alg, None);
        assert_eq!(set.quirks.len(), 3, "{:?}", set.quirks);
        assert_eq!(set.skipped.len(), 2);
    }

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OIDC Core A.3: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" -> "77QmUPtjPfzWtF2AnpK9RQ"
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
