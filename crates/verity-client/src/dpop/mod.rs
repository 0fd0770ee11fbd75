//! RFC 9449 DPoP, the client's side: a fresh P-256 key per sign-in (made at the code exchange and
//! kept with the tokens), a proof on every token request and every resource request made with
//! them (`htm`, `htu` without query or fragment, `iat`, a random `jti`, and `ath` at resources),
//! and the provider's `DPoP-Nonce`: remembered from any answer, and one retry when an answer
//! asks for it (`use_dpop_nonce`).

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use url::Url;

use crate::assertion::{PrivateKey, SigningKey, random_token};
use crate::error::Error;

mod send;

/// The `token_type` of a DPoP-bound access token (RFC 9449 5).
pub const TOKEN_TYPE: &str = "DPoP";

/// A DPoP key pair (ES256). Its private half never prints.
#[derive(Clone)]
pub struct DpopKey {
    key: PrivateKey,
    /// The public key as a JWK with only its RFC 7638 members, as the proof header carries it.
    jwk: Value,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("jkt", &self.thumbprint())
            .field("private", &"[redacted]")
            .finish()
    }
}

impl DpopKey {
    /// A fresh P-256 key.
    pub fn generate() -> Result<Self, Error> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| Error::Config("generating a DPoP key failed".into()))?;
        let key = PrivateKey {
            inner: std::sync::Arc::new(SigningKey::Ec(pair)),
            kid: None,
        };
        let full = key.public_jwk();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": full["x"], "y": full["y"]});
        Ok(DpopKey { key, jwk })
    }

    /// The public key as a JWK (`kty`, `crv`, `x`, `y`).
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// The RFC 7638 thumbprint (`jkt`) a bound token's `cnf` names: base64url SHA-256 of the
    /// required members in lexicographic order, without whitespace.
    pub fn thumbprint(&self) -> String {
        let canonical = json!({
            "crv": self.jwk["crv"], "kty": self.jwk["kty"], "x": self.jwk["x"], "y": self.jwk["y"],
        });
        // serde_json's map keeps keys sorted, and writes no whitespace.
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.to_string().as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }

    /// RFC 9449 4.2: a proof for `method` `url` at `now`, with `ath` when an access token goes
    /// with it and the provider's `nonce` when it gave one.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
        now: i64,
    ) -> Result<String, Error> {
        let mut claims = json!({
            "jti": random_token(16)?,
            "htm": method,
            "htu": htu(url)?,
            "iat": now,
        });
        if let Some(token) = access_token {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
            claims["ath"] = URL_SAFE_NO_PAD.encode(digest.as_ref()).into();
        }
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk});
        self.key.sign_with_header(&header, &claims)
    }
}

/// RFC 9449 4.2 `htu`: the request's URI without query and fragment.
fn htu(url: &str) -> Result<String, Error> {
    let mut u = Url::parse(url).map_err(|e| Error::Config(format!("DPoP target {url}: {e}")))?;
    u.set_query(None);
    u.set_fragment(None);
    Ok(u.into())
}

/// The latest `DPoP-Nonce` the provider sent, used by the next proof.
#[derive(Debug, Default)]
pub(crate) struct NonceCache(std::sync::Mutex<Option<String>>);

impl NonceCache {
    pub(crate) fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|n| n.clone())
    }

    pub(crate) fn set(&self, nonce: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(nonce.to_owned());
        }
    }
}

/// What a proof is made for: the key, the request's method and URL, and the access token it
/// presents (at resources).
pub(crate) struct ProofFor<'a> {
    pub key: &'a DpopKey,
    pub method: &'static str,
    pub url: &'a str,
    pub access_token: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Jws, parse_jwks};

    #[test]
    fn proofs_verify_with_their_own_key_and_name_the_request() {
        let key = DpopKey::generate().unwrap();
        let jwt = key
            .proof(
                "GET",
                "https://op.test/userinfo?x=1#f",
                Some("tok"),
                Some("n1"),
                1000,
            )
            .unwrap();
        let jws = Jws::parse(&jwt).unwrap();
        assert_eq!(jws.header["typ"], "dpop+jwt");
        assert_eq!(jws.header["jwk"], *key.public_jwk());
        let set = json!({"keys": [key.public_jwk()]}).to_string();
        jws.verify(&parse_jwks(set.as_bytes()).unwrap().keys)
            .unwrap();
        assert_eq!(jws.claims["htu"], "https://op.test/userinfo");
        assert_eq!(jws.claims["htm"], "GET");
        assert_eq!(jws.claims["iat"], 1000);
        assert_eq!(jws.claims["nonce"], "n1");
        assert_eq!(
            jws.claims["ath"],
            URL_SAFE_NO_PAD
                .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"tok").as_ref())
        );
        assert!(format!("{key:?}").contains("[redacted]"));
    }

    #[test]
    fn thumbprints_are_stable_and_per_key() {
        let key = DpopKey::generate().unwrap();
        let t = key.thumbprint();
        assert_eq!(t.len(), 43);
        assert_eq!(t, key.clone().thumbprint());
        assert_ne!(t, DpopKey::generate().unwrap().thumbprint());
    }
}
