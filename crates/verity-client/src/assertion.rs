//! `private_key_jwt` (RFC 7523 2.2, OIDC Core 9): a short-lived JWT signed with the client's key.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use std::sync::Arc;

use crate::error::Error;
use crate::jose::Alg;

pub(crate) enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl SigningKey {
    pub(crate) fn alg(&self) -> Alg {
        match self {
            SigningKey::Rsa(_) => Alg::RS256,
            SigningKey::Ec(_) => Alg::ES256,
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = SystemRandom::new();
        let fail = |_| Error::Config("signing a JWT with the client's key failed".into());
        match self {
            SigningKey::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(fail)?;
                Ok(sig)
            }
            SigningKey::Ec(kp) => Ok(kp.sign(&rng, message).map_err(fail)?.as_ref().to_vec()),
        }
    }
}

/// A private key for `private_key_jwt`. Prints redacted.
#[derive(Clone)]
pub struct PrivateKey {
    pub(crate) inner: Arc<SigningKey>,
    pub(crate) kid: Option<String>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("alg", &self.inner.alg())
            .field("kid", &self.kid)
            .field("der", &"[redacted]")
            .finish()
    }
}

impl PrivateKey {
    /// A PKCS#8 DER key: RSA (RS256) or P-256 (ES256). `kid` is sent in the header when given.
    pub fn from_pkcs8(der: &[u8], kid: Option<String>) -> Result<Self, Error> {
        let inner = if let Ok(kp) = RsaKeyPair::from_pkcs8(der) {
            SigningKey::Rsa(kp)
        } else if let Ok(kp) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
        {
            SigningKey::Ec(kp)
        } else {
            return Err(Error::Config(
                "the private key is neither RSA nor P-256 PKCS#8".into(),
            ));
        };
        Ok(PrivateKey {
            inner: std::sync::Arc::new(inner),
            kid,
        })
    }

    /// The public key as a JWK, to register with the provider.
    pub fn public_jwk(&self) -> serde_json::Value {
        let mut jwk = match &*self.inner {
            SigningKey::Rsa(kp) => {
                let p = kp.public_key();
                serde_json::json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256",
                    "n": URL_SAFE_NO_PAD.encode(p.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(p.exponent().big_endian_without_leading_zero()),
                })
            }
            SigningKey::Ec(kp) => {
                let point = kp.public_key().as_ref();
                serde_json::json!({
                    "kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(point.get(1..33).unwrap_or_default()),
                    "y": URL_SAFE_NO_PAD.encode(point.get(33..).unwrap_or_default()),
                })
            }
        };
        if let (Some(kid), Some(obj)) = (&self.kid, jwk.as_object_mut()) {
            obj.insert("kid".into(), kid.clone().into());
        }
        jwk
    }

    /// A client assertion for `audience` (the token endpoint), valid 60 s, with a fresh `jti`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<String, Error> {
        let claims = serde_json::json!({
            "iss": client_id, "sub": client_id, "aud": audience,
            "iat": now, "exp": now + 60, "jti": random_token(16)?,
        });
        self.sign_jwt("JWT", &claims)
    }

    /// A compact JWS of `claims` with header `typ`, `alg` and, when the key has one, `kid`.
    pub(crate) fn sign_jwt(&self, typ: &str, claims: &serde_json::Value) -> Result<String, Error> {
        let mut header = serde_json::json!({"alg": self.inner.alg().as_str(), "typ": typ});
        if let (Some(kid), Some(obj)) = (&self.kid, header.as_object_mut()) {
            obj.insert("kid".into(), kid.clone().into());
        }
        self.sign_with_header(&header, claims)
    }

    /// A compact JWS of `claims` under `header` as given.
    pub(crate) fn sign_with_header(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, Error> {
        let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.inner.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(sig));
        Ok(out)
    }
}

/// `bytes` random bytes, base64url: for `state`, `nonce`, PKCE verifiers and `jti`.
pub fn random_token(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Config("the system random number generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Compares two secrets (a `state`, a `nonce`) in a time that does not tell where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
