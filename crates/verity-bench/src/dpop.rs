//! RFC 9449 DPoP as a client makes it: one ES256 key per worker (a session), a proof for every
//! token request and userinfo call (`htm`, `htu`, `iat`, a random `jti`, and `ath` at userinfo),
//! so `--dpop` measures what sender-constrained tokens cost the provider.

use anyhow::{Context, anyhow};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// A worker's DPoP key.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    /// The protected header, base64url, the same for every proof of this key.
    header: String,
}

impl DpopKey {
    pub fn generate() -> anyhow::Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| anyhow!("generating a DPoP key"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .map_err(|_| anyhow!("reading the DPoP key"))?;
        // An uncompressed P-256 point: 0x04, then x and y (32 bytes each).
        let point = pair.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let jwk = json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        });
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
        Ok(DpopKey {
            pair,
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
        })
    }

    /// A proof for `method` `url` now, bound to `access_token` when given.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the system clock")?
            .as_secs();
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).map_err(|_| anyhow!("the system random generator"))?;
        let jti = URL_SAFE_NO_PAD.encode(jti);
        let mut claims = json!({"jti": jti, "htm": method, "htu": url, "iat": now});
        if let Some(token) = access_token {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(digest));
        }
        let mut jws = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), jws.as_bytes())
            .map_err(|_| anyhow!("signing a DPoP proof"))?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(jws)
    }
}
