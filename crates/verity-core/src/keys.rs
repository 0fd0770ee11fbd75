//! Signing keys and JWTs (RFC 7515, 7517, 7518, 7638), and the master key that encrypts private
//! keys at rest.
//!
//! Signing uses `aws-lc-rs`: RS256 (RSA 2048, PKCS#1 v1.5) by default, ES256 (P-256) per app.
//! A key's `kid` is its RFC 7638 thumbprint, so every node derives the same `kid` from the same key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use verity_proto::jwks::Jwk;

use crate::secret::{random_bytes, sha256};

/// The longest `access_ttl` or `userinfo_ttl` an app may have: what a retired key must outlive.
pub const MAX_SIGNED_TTL: i64 = 86_400;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("the stored key could not be read: {0}")]
    Malformed(String),
    #[error("signing failed")]
    Sign,
    #[error(
        "the master key is malformed: it must be 32 bytes, written as 64 hex or 43/44 base64 characters"
    )]
    MasterKeyFormat,
    #[error("decryption failed: the master key does not match the one that encrypted the data")]
    Decrypt,
    #[error("unknown signing algorithm {0:?}")]
    UnknownAlg(String),
}

/// A JWS signing algorithm Verity signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Result<Self, KeyError> {
        match s {
            "RS256" => Ok(Alg::RS256),
            "ES256" => Ok(Alg::ES256),
            other => Err(KeyError::UnknownAlg(other.to_owned())),
        }
    }
}

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private signing key with its public JWK.
pub struct SigningKey {
    inner: Inner,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.jwk.kid)
            .field("alg", &self.jwk.alg)
            .finish()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(jwk: &Jwk) -> String {
    let canonical = match jwk.kty.as_str() {
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk.e.as_deref().unwrap_or_default(),
            jwk.n.as_deref().unwrap_or_default()
        ),
        _ => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk.crv.as_deref().unwrap_or_default(),
            jwk.x.as_deref().unwrap_or_default(),
            jwk.y.as_deref().unwrap_or_default()
        ),
    };
    b64(&sha256(canonical.as_bytes()))
}

impl SigningKey {
    /// A new key and its PKCS#8 DER (to be encrypted and stored).
    pub fn generate(alg: Alg) -> Result<(Self, Vec<u8>), KeyError> {
        let der = match alg {
            Alg::RS256 => {
                let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
                let der = kp.as_der().map_err(|_| KeyError::Generate)?;
                der.as_ref().to_vec()
            }
            Alg::ES256 => {
                let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Generate)?;
                kp.to_pkcs8v1()
                    .map_err(|_| KeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
        };
        Ok((Self::from_pkcs8(alg, &der)?, der))
    }

    pub fn from_pkcs8(alg: Alg, der: &[u8]) -> Result<Self, KeyError> {
        let (inner, mut jwk) = match alg {
            Alg::RS256 => {
                let kp =
                    RsaKeyPair::from_pkcs8(der).map_err(|e| KeyError::Malformed(e.to_string()))?;
                let public = kp.public_key();
                let jwk = Jwk {
                    kty: "RSA".into(),
                    kid: String::new(),
                    use_: "sig".into(),
                    alg: "RS256".into(),
                    n: Some(b64(public.modulus().big_endian_without_leading_zero())),
                    e: Some(b64(public.exponent().big_endian_without_leading_zero())),
                    crv: None,
                    x: None,
                    y: None,
                };
                (Inner::Rsa(kp), jwk)
            }
            Alg::ES256 => {
                let kp = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| KeyError::Malformed(e.to_string()))?;
                let point = kp.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || X (32 bytes) || Y (32 bytes).
                if point.len() != 65 || point[0] != 4 {
                    return Err(KeyError::Malformed(
                        "unexpected EC public key encoding".into(),
                    ));
                }
                let jwk = Jwk {
                    kty: "EC".into(),
                    kid: String::new(),
                    use_: "sig".into(),
                    alg: "ES256".into(),
                    n: None,
                    e: None,
                    crv: Some("P-256".into()),
                    x: Some(b64(&point[1..33])),
                    y: Some(b64(&point[33..])),
                };
                (Inner::Ec(kp), jwk)
            }
        };
        jwk.kid = thumbprint(&jwk);
        Ok(Self { inner, jwk })
    }

    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    pub fn alg(&self) -> Alg {
        match self.inner {
            Inner::Rsa(_) => Alg::RS256,
            Inner::Ec(_) => Alg::ES256,
        }
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
            Inner::Ec(kp) => Ok(kp
                .sign(&rng, message)
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec()),
        }
    }

    /// A compact JWS over `claims` with header `{alg, kid, typ}` (RFC 8725 3.11: explicit `typ`).
    pub fn sign_jwt(&self, typ: &str, claims: &serde_json::Value) -> Result<String, KeyError> {
        let header = serde_json::json!({"alg": self.alg().as_str(), "kid": self.kid(), "typ": typ});
        self.sign_with_header(&header, claims)
    }

    /// A compact JWS over `claims` with the caller's `header` (which must name this key's `alg`),
    /// e.g. a DPoP proof carrying the public key itself.
    pub fn sign_with_header(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, KeyError> {
        let mut out = b64(header.to_string().as_bytes());
        out.push('.');
        out.push_str(&b64(claims.to_string().as_bytes()));
        let sig = self.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64(&sig));
        Ok(out)
    }
}

/// OIDC Core 3.1.3.6 `at_hash`: the left half of SHA-256 of the access token, base64url. Both
/// RS256 and ES256 use SHA-256.
pub fn at_hash(access_token: &str) -> String {
    b64(&sha256(access_token.as_bytes())[..16])
}

/// The key that encrypts private signing keys (and TOTP secrets, and through a derived key the
/// verification evidence) at rest: AES-256-GCM. It may carry the keys it replaced
/// ([`MasterKey::with_previous`]): what they sealed still opens, while everything new is sealed
/// under this one, so that the master key can be rotated.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    previous: Vec<MasterKey>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes::<32>())
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        MasterKey {
            key,
            previous: Vec::new(),
        }
    }

    /// This key, still opening what `previous` keys sealed (after a rotation).
    pub fn with_previous(mut self, previous: Vec<MasterKey>) -> Self {
        self.previous = previous
            .into_iter()
            .map(|p| MasterKey::from_bytes(p.key))
            .collect();
        self
    }

    /// The keys this one replaced, newest first.
    pub fn previous(&self) -> &[MasterKey] {
        &self.previous
    }

    /// Parses 64 hex characters or base64 (standard or url-safe, padded or not) of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| KeyError::MasterKeyFormat)?
        } else {
            let cleaned: String = text
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_");
            URL_SAFE_NO_PAD
                .decode(cleaned)
                .map_err(|_| KeyError::MasterKeyFormat)?
        };
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::MasterKeyFormat)?;
        Ok(Self::from_bytes(arr))
    }

    /// A key for one purpose derived from the master key: HMAC-SHA256(master, label || data).
    pub fn derive(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.key);
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        ctx.update(label.as_bytes());
        ctx.update(&[0]);
        ctx.update(data);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// A key of its own for one purpose (evidence, ...), derived from this one: what it seals
    /// cannot be opened with the master key itself, nor with another purpose's key.
    pub fn derived(&self, label: &str) -> MasterKey {
        MasterKey::from_bytes(self.derive(label, b""))
    }

    /// A short public name of this key (16 hex characters of a hash of it), stored beside what
    /// it sealed so that the right key of a ring is found after the master key is rotated.
    pub fn fingerprint(&self) -> String {
        crate::secret::hex(&self.derive("verity key fingerprint", b"")[..8])
    }

    /// The text form written to `master.key`.
    pub fn to_hex(&self) -> String {
        crate::secret::hex(&self.key)
    }

    fn key(&self) -> Result<LessSafeKey, KeyError> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, &self.key).map_err(|_| KeyError::MasterKeyFormat)?;
        Ok(LessSafeKey::new(unbound))
    }

    /// `nonce || ciphertext || tag`; `aad` binds the ciphertext to its purpose (e.g. the key id).
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| KeyError::Sign)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`MasterKey::encrypt`] sealed under this key or one it replaced.
    pub fn decrypt(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut opened = self.decrypt_own(sealed, aad);
        for older in &self.previous {
            if opened.is_ok() {
                break;
            }
            opened = older.decrypt_own(sealed, aad);
        }
        opened
    }

    /// What `sealed` becomes under this key alone: `None` when this key sealed it already,
    /// the new ciphertext when one of the keys it replaced did (a rotation's re-encryption).
    pub fn reseal(&self, sealed: &[u8], aad: &[u8]) -> Result<Option<Vec<u8>>, KeyError> {
        if self.decrypt_own(sealed, aad).is_ok() {
            return Ok(None);
        }
        let plain = self.decrypt(sealed, aad)?;
        Ok(Some(self.encrypt(&plain, aad)?))
    }

    fn decrypt_own(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Decrypt)?;
        let mut buf = ct.to_vec();
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| KeyError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pkcs8_with_stable_kid() {
        for alg in [Alg::RS256, Alg::ES256] {
            let (key, der) = SigningKey::generate(alg).unwrap();
            let again = SigningKey::from_pkcs8(alg, &der).unwrap();
            assert_eq!(key.kid(), again.kid());
            assert_eq!(key.jwk(), again.jwk());
            let jwt = key
                .sign_jwt("JWT", &serde_json::json!({"sub": "x"}))
                .unwrap();
            assert_eq!(jwt.split('.').count(), 3);
        }
    }

    #[test]
    fn a_rotated_master_key_still_opens_what_the_old_one_sealed() {
        let old = MasterKey::generate();
        let sealed = old.encrypt(b"secret", b"aad").unwrap();
        let new = MasterKey::generate();
        assert!(new.decrypt(&sealed, b"aad").is_err());
        let rotated = new.clone().with_previous(vec![old.clone()]);
        assert_eq!(rotated.decrypt(&sealed, b"aad").unwrap(), b"secret");
        assert!(rotated.decrypt(&sealed, b"other aad").is_err());
        // New sealing uses the new key only.
        let fresh = rotated.encrypt(b"new", b"aad").unwrap();
        assert!(old.decrypt(&fresh, b"aad").is_err());
        assert_eq!(new.decrypt(&fresh, b"aad").unwrap(), b"new");
        assert_eq!(rotated.fingerprint(), new.fingerprint());
        // Resealing moves what the old key sealed under the new one, and leaves the rest.
        let moved = rotated.reseal(&sealed, b"aad").unwrap().unwrap();
        assert_eq!(new.decrypt(&moved, b"aad").unwrap(), b"secret");
        assert_eq!(rotated.reseal(&fresh, b"aad").unwrap(), None);
        assert!(
            new.reseal(&sealed, b"aad").is_err(),
            "a key it does not know"
        );
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 section 3.1.
        let jwk = Jwk {
            kty: "RSA".into(),
            kid: String::new(),
            use_: "sig".into(),
            alg: "RS256".into(),
            n: Some("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into()),
            e: Some("AQAB".into()),
            crv: None,
            x: None,
            y: None,
        };
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn master_key_seals_and_refuses_tampering() {
        let mk = MasterKey::generate();
        let sealed = mk.encrypt(b"private", b"kid-1").unwrap();
        assert_eq!(mk.decrypt(&sealed, b"kid-1").unwrap(), b"private");
        assert!(mk.decrypt(&sealed, b"kid-2").is_err());
        assert!(MasterKey::generate().decrypt(&sealed, b"kid-1").is_err());
        assert_eq!(MasterKey::parse(&mk.to_hex()).unwrap().key, mk.key);
        assert!(MasterKey::parse("short").is_err());
    }

    #[test]
    fn at_hash_oidc_example() {
        // OIDC Core A.3 uses "jHkWEdUXMU1BwAsC4vtUsZwnNZ8" ...: check length and determinism.
        assert_eq!(at_hash("abc").len(), 22);
        assert_eq!(at_hash("abc"), at_hash("abc"));
    }
}
