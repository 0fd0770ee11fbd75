//! RFC 9449 DPoP: what a proof must be, the key thumbprint a token is bound to, and the
//! server's nonces.
//!
//! A proof is a JWS whose header carries the client's public key (`jwk`) and `typ`
//! `dpop+jwt`; its claims name the request it was made for (`htm`, `htu`), when (`iat`), a
//! unique `jti` (the caller keeps the replay cache, shared by every node), the access token it
//! accompanies (`ath`) and, when the server asks for one, the server's `nonce`. A token issued
//! with a proof is bound to the key's RFC 7638 thumbprint (`cnf.jkt`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use thiserror::Error;
use verity_proto::error::ErrorCode;

use crate::jose::{JoseError, Jws};
use crate::secret::{constant_time_eq, sha256};

/// The algorithms a proof may be signed with (advertised as `dpop_signing_alg_values_supported`).
pub const ALGS: [&str; 2] = ["ES256", "RS256"];
/// How old a proof's `iat` may be, in seconds.
pub const MAX_AGE: i64 = 300;
/// How far ahead of our clock a proof's `iat` may be, in seconds (clock skew).
pub const MAX_AHEAD: i64 = 60;
/// How long a server nonce is accepted, in seconds: the window it was made in and the one after.
pub const NONCE_WINDOW: i64 = 300;
/// The longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;

/// Why a proof is refused. Every case answers `invalid_dpop_proof` except [`DpopError::Nonce`],
/// which answers `use_dpop_nonce` with a fresh `DPoP-Nonce`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DpopError {
    #[error("the DPoP proof is not a compact JWS")]
    Malformed,
    #[error("the DPoP proof's typ is not dpop+jwt")]
    Type,
    #[error("the DPoP proof's algorithm is not accepted (ES256 or RS256)")]
    Algorithm,
    #[error("the DPoP proof's jwk is missing, private or unusable")]
    Key,
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
    #[error("the DPoP proof lacks {0}")]
    Missing(&'static str),
    #[error("the DPoP proof's htm does not match the request method")]
    Method,
    #[error("the DPoP proof's htu does not match the request URL")]
    Url,
    #[error("the DPoP proof's iat is too old or in the future")]
    Time,
    #[error("the DPoP proof's ath does not match the access token")]
    AccessTokenHash,
    #[error("the DPoP proof's key is not the one the token is bound to")]
    WrongKey,
    #[error("the DPoP proof was used before")]
    Replayed,
    #[error("a DPoP nonce from the server is required")]
    Nonce,
    #[error("this app's tokens are DPoP-bound: send a DPoP proof")]
    Required,
    #[error("send one DPoP header")]
    Several,
    #[error("this access token is DPoP-bound: present it with the DPoP scheme and a proof")]
    BoundAsBearer,
    #[error("this access token is not DPoP-bound: present it with the Bearer scheme")]
    NotBound,
}

impl DpopError {
    /// The RFC 9449 error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            DpopError::Nonce => ErrorCode::UseDpopNonce,
            DpopError::BoundAsBearer | DpopError::NotBound => ErrorCode::InvalidToken,
            _ => ErrorCode::InvalidDpopProof,
        }
    }
}

/// The request a proof must match.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The request's URL as the client addressed it (our public URL and the path).
    pub url: &'a str,
    pub now: i64,
    /// The access token presented with the proof (resource requests), whose hash `ath` must be.
    pub access_token: Option<&'a str>,
    /// The nonce secret when the server requires nonces; `None` when it does not.
    pub nonce_secret: Option<&'a [u8]>,
}

/// A proof that passed every check but replay, which the caller decides with [`Proof::jti`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key (`cnf.jkt`).
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
}

impl Proof {
    /// The replay cache's namespace for this proof: its key (a `jti` is unique per key).
    pub fn replay_namespace(&self) -> String {
        format!("dpop:{}", self.jkt)
    }

    /// Until when the replay cache must remember this proof: past that, its `iat` is refused.
    pub fn remember_until(&self) -> i64 {
        self.iat + MAX_AGE + MAX_AHEAD
    }
}

/// Checks `proof` against the request it accompanies (RFC 9449 4.3), except replay.
pub fn verify(proof: &str, expect: &Expect<'_>) -> Result<Proof, DpopError> {
    let jws = Jws::parse(proof).map_err(|_| DpopError::Malformed)?;
    if jws.header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(DpopError::Type);
    }
    if !ALGS.contains(&jws.alg()) {
        return Err(DpopError::Algorithm);
    }
    let jwk = jws
        .header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(DpopError::Key)?;
    let jkt = thumbprint(jwk)?;
    match jws.verify_with_jwk(&Value::Object(jwk.clone())) {
        Ok(()) => {}
        Err(JoseError::Signature) => return Err(DpopError::Signature),
        Err(_) => return Err(DpopError::Key),
    }
    let claims = &jws.claims;
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or(DpopError::Missing(name))
    };
    let jti = text("jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(DpopError::Missing("jti"));
    }
    if text("htm")? != expect.method {
        return Err(DpopError::Method);
    }
    if !same_target(text("htu")?, expect.url) {
        return Err(DpopError::Url);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(DpopError::Missing("iat"))?;
    if iat < expect.now - MAX_AGE || iat > expect.now + MAX_AHEAD {
        return Err(DpopError::Time);
    }
    if let Some(token) = expect.access_token {
        let ath = text("ath")?;
        if !constant_time_eq(ath.as_bytes(), access_token_hash(token).as_bytes()) {
            return Err(DpopError::AccessTokenHash);
        }
    }
    if let Some(secret) = expect.nonce_secret {
        let fresh = claims
            .get("nonce")
            .and_then(Value::as_str)
            .is_some_and(|n| nonce_is_fresh(secret, n, expect.now));
        if !fresh {
            return Err(DpopError::Nonce);
        }
    }
    Ok(Proof {
        jkt,
        jti: jti.to_owned(),
        iat,
    })
}

/// What a grant's new tokens are bound to: the thumbprint of a DPoP key, or nothing (bearer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    pub access: Option<String>,
    pub refresh: Option<String>,
}

/// RFC 9449 5: at the token endpoint, what the new tokens are bound to. `proof` is the key of
/// the request's verified proof, `presented` the binding of the refresh token presented (a
/// refresh grant). A bound refresh token needs a proof by the same key; an app that demands DPoP
/// needs a proof; access tokens are bound to the proof's key, and so are the refresh tokens of
/// public apps (a confidential app's refresh tokens are already bound to its credentials).
pub fn bind(
    proof: Option<&str>,
    demanded: bool,
    public_client: bool,
    presented: Option<&str>,
) -> Result<Binding, DpopError> {
    if let Some(bound) = presented {
        match proof {
            None => return Err(DpopError::Required),
            Some(jkt) if jkt != bound => return Err(DpopError::WrongKey),
            Some(_) => {}
        }
    }
    if demanded && proof.is_none() {
        return Err(DpopError::Required);
    }
    let key = proof.map(str::to_owned);
    Ok(Binding {
        refresh: if public_client || presented.is_some() {
            key.clone()
        } else {
            None
        },
        access: key,
    })
}

/// How an access token was presented to a resource (RFC 6750 2.1, RFC 9449 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Dpop,
}

/// RFC 9449 7.1: a bound token is presented with the DPoP scheme and a proof by its key (whose
/// `ath` the caller checked); a bearer token with the Bearer scheme.
pub fn check_presentation(
    scheme: Scheme,
    bound: Option<&str>,
    proof: Option<&Proof>,
) -> Result<(), DpopError> {
    match (scheme, bound) {
        (Scheme::Bearer, None) => Ok(()),
        (Scheme::Bearer, Some(_)) => Err(DpopError::BoundAsBearer),
        (Scheme::Dpop, None) => Err(DpopError::NotBound),
        (Scheme::Dpop, Some(jkt)) => match proof {
            None => Err(DpopError::Required),
            Some(p) if p.jkt == jkt => Ok(()),
            Some(_) => Err(DpopError::WrongKey),
        },
    }
}

/// RFC 9449 4.3 (9): `htu` matches the request's URI ignoring query and fragment, compared after
/// RFC 3986 syntax-based normalization (scheme and host case, default ports).
fn same_target(htu: &str, url: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(htu), url::Url::parse(url)) else {
        return false;
    };
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

/// `ath`: base64url SHA-256 of the access token's ASCII (RFC 9449 4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(token.as_bytes()))
}

/// The RFC 7638 thumbprint of a public JWK (RSA or EC P-256), base64url SHA-256 of its required
/// members in lexicographic order. A key carrying private members is refused.
pub fn thumbprint(jwk: &Map<String, Value>) -> Result<String, DpopError> {
    const PRIVATE: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if PRIVATE.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::Key);
    }
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(DpopError::Key)
    };
    // serde_json writes these strings with the escaping JSON requires and no whitespace.
    let canonical = match member("kty")? {
        "RSA" => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            Value::from(member("e")?),
            Value::from(member("n")?)
        ),
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            Value::from(member("crv")?),
            Value::from(member("x")?),
            Value::from(member("y")?)
        ),
        _ => return Err(DpopError::Key),
    };
    Ok(URL_SAFE_NO_PAD.encode(sha256(canonical.as_bytes())))
}

/// The server nonce for the window `now` falls in: an HMAC of the window under `secret`, so
/// every node makes and accepts the same nonces without sharing state.
pub fn nonce(secret: &[u8], now: i64) -> String {
    nonce_for_window(secret, now.div_euclid(NONCE_WINDOW))
}

fn nonce_for_window(secret: &[u8], window: i64) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, format!("dpop-nonce:{window}").as_bytes());
    URL_SAFE_NO_PAD.encode(&tag.as_ref()[..18])
}

/// Whether `candidate` is the nonce of the current window or of the one before.
pub fn nonce_is_fresh(secret: &[u8], candidate: &str, now: i64) -> bool {
    let window = now.div_euclid(NONCE_WINDOW);
    [window, window - 1].iter().any(|w| {
        constant_time_eq(
            candidate.as_bytes(),
            nonce_for_window(secret, *w).as_bytes(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, SigningKey};
    use serde_json::json;

    const URL: &str = "https://verity.example/oauth/token";
    const NOW: i64 = 1_800_000_000;

    fn proof_with(key: &SigningKey, header_extra: Value, claims: Value) -> String {
        let mut header = json!({"typ": "dpop+jwt", "alg": key.alg().as_str(), "jwk": public(key)});
        for (k, v) in header_extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        key.sign_with_header(&header, &claims).unwrap()
    }

    fn public(key: &SigningKey) -> Value {
        let mut jwk = serde_json::to_value(key.jwk()).unwrap();
        let o = jwk.as_object_mut().unwrap();
        for m in ["kid", "use", "alg"] {
            o.remove(m);
        }
        jwk
    }

    fn claims(jti: &str) -> Value {
        json!({"jti": jti, "htm": "POST", "htu": URL, "iat": NOW})
    }

    fn expect() -> Expect<'static> {
        Expect {
            method: "POST",
            url: URL,
            now: NOW,
            access_token: None,
            nonce_secret: None,
        }
    }

    #[test]
    fn a_good_proof_passes_with_its_keys_thumbprint() {
        for alg in [Alg::ES256, Alg::RS256] {
            let (key, _) = SigningKey::generate(alg).unwrap();
            let p = verify(&proof_with(&key, json!({}), claims("a")), &expect()).unwrap();
            let jwk = public(&key);
            assert_eq!(p.jkt, thumbprint(jwk.as_object().unwrap()).unwrap());
            assert_eq!(p.jti, "a");
            assert_eq!(p.remember_until(), NOW + MAX_AGE + MAX_AHEAD);
            let other = verify(&proof_with(&key, json!({}), claims("b")), &expect()).unwrap();
            assert_eq!(p.replay_namespace(), other.replay_namespace());
            assert_eq!(other.jti, "b");
        }
    }

    /// RFC 9449's own proofs: the token request of section 5 (Figure 4) and the resource
    /// request of section 7.1 (Figure 13, with the access token of Figure 12), checked as of
    /// their `iat`, and the key's thumbprint as section 6.1 shows it in `cnf.jkt`.
    #[test]
    fn the_rfc_9449_example_proofs_verify() {
        const KEY_AND_TYPE: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19";
        let token_request = format!(
            "{KEY_AND_TYPE}.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
        );
        let expect = Expect {
            method: "POST",
            url: "https://server.example.com/token",
            now: 1_562_262_616,
            access_token: None,
            nonce_secret: None,
        };
        let proof = verify(&token_request, &expect).unwrap();
        assert_eq!(proof.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(proof.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        let resource_request = format!(
            "{KEY_AND_TYPE}.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
        );
        let expect = Expect {
            method: "GET",
            url: "https://resource.example.org/protectedresource",
            now: 1_562_262_618,
            access_token: Some("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            nonce_secret: None,
        };
        assert_eq!(
            verify(&resource_request, &expect).unwrap().jti,
            "e1j3V_bKic8-LAEB"
        );
        let later = Expect {
            now: 1_562_262_618 + MAX_AGE + 1,
            ..expect
        };
        assert_eq!(verify(&resource_request, &later), Err(DpopError::Time));
    }

    #[test]
    fn the_rfc_7638_example_thumbprint() {
        // RFC 7638 section 3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let mut private = jwk.clone();
        private["d"] = json!("secret");
        assert_eq!(
            thumbprint(private.as_object().unwrap()),
            Err(DpopError::Key)
        );
    }

    #[test]
    fn each_mismatch_is_refused_with_its_reason() {
        let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
        let check = |header: Value, c: Value| verify(&proof_with(&key, header, c), &expect());
        let mut c = claims("x");
        c["htm"] = json!("GET");
        assert_eq!(check(json!({}), c), Err(DpopError::Method));
        let mut c = claims("x");
        c["htu"] = json!("https://verity.example/oauth/userinfo");
        assert_eq!(check(json!({}), c), Err(DpopError::Url));
        let mut c = claims("x");
        c["iat"] = json!(NOW - MAX_AGE - 1);
        assert_eq!(check(json!({}), c), Err(DpopError::Time));
        let mut c = claims("x");
        c["iat"] = json!(NOW + MAX_AHEAD + 1);
        assert_eq!(check(json!({}), c), Err(DpopError::Time));
        let mut c = claims("x");
        c.as_object_mut().unwrap().remove("jti");
        assert_eq!(check(json!({}), c), Err(DpopError::Missing("jti")));
        assert_eq!(
            check(json!({"typ": "JWT"}), claims("x")),
            Err(DpopError::Type)
        );
        let (other, _) = SigningKey::generate(Alg::ES256).unwrap();
        assert_eq!(
            check(json!({"jwk": public(&other)}), claims("x")),
            Err(DpopError::Signature),
            "signed by one key, naming another"
        );
        let mut private = public(&key);
        private["d"] = json!("AAAA");
        assert_eq!(
            check(json!({"jwk": private}), claims("x")),
            Err(DpopError::Key)
        );
        assert_eq!(
            check(json!({"jwk": null}), claims("x")),
            Err(DpopError::Key)
        );
    }

    #[test]
    fn htu_ignores_query_fragment_and_default_port_but_not_path() {
        assert!(same_target(
            "HTTPS://Verity.Example:443/oauth/token?x=1#f",
            URL
        ));
        assert!(!same_target("https://verity.example/oauth/token/", URL));
        assert!(!same_target("http://verity.example/oauth/token", URL));
        assert!(!same_target("not a url", URL));
    }

    #[test]
    fn unsigned_and_symmetric_proofs_are_refused() {
        let h = URL_SAFE_NO_PAD.encode(json!({"typ": "dpop+jwt", "alg": "none"}).to_string());
        let p = URL_SAFE_NO_PAD.encode(claims("x").to_string());
        assert_eq!(
            verify(&format!("{h}.{p}."), &expect()),
            Err(DpopError::Algorithm)
        );
        assert_eq!(verify("a.b", &expect()), Err(DpopError::Malformed));
    }

    #[test]
    fn ath_binds_the_proof_to_the_access_token() {
        let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
        let mut e = expect();
        e.access_token = Some("tok");
        assert_eq!(
            verify(&proof_with(&key, json!({}), claims("x")), &e),
            Err(DpopError::Missing("ath"))
        );
        let mut c = claims("x");
        c["ath"] = json!(access_token_hash("other"));
        assert_eq!(
            verify(&proof_with(&key, json!({}), c), &e),
            Err(DpopError::AccessTokenHash)
        );
        let mut c = claims("x");
        c["ath"] = json!(access_token_hash("tok"));
        assert!(verify(&proof_with(&key, json!({}), c), &e).is_ok());
        // RFC 9449 section 7.1's example: the token and its hash.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn binding_follows_the_proof_the_app_and_the_presented_refresh_token() {
        let both = |k: &str| Binding {
            access: Some(k.into()),
            refresh: Some(k.into()),
        };
        assert_eq!(bind(None, false, false, None), Ok(Binding::default()));
        assert_eq!(bind(None, true, false, None), Err(DpopError::Required));
        assert_eq!(
            bind(Some("k"), false, false, None),
            Ok(Binding {
                access: Some("k".into()),
                refresh: None
            }),
            "a confidential app's refresh token stays bound to its credentials"
        );
        assert_eq!(bind(Some("k"), false, true, None), Ok(both("k")));
        assert_eq!(bind(Some("k"), false, true, Some("k")), Ok(both("k")));
        assert_eq!(
            bind(Some("j"), false, true, Some("k")),
            Err(DpopError::WrongKey)
        );
        assert_eq!(bind(None, false, true, Some("k")), Err(DpopError::Required));
    }

    #[test]
    fn resources_take_bound_tokens_only_with_their_key() {
        let proof = |jkt: &str| Proof {
            jkt: jkt.into(),
            jti: "j".into(),
            iat: NOW,
        };
        assert_eq!(check_presentation(Scheme::Bearer, None, None), Ok(()));
        assert_eq!(
            check_presentation(Scheme::Bearer, Some("k"), None),
            Err(DpopError::BoundAsBearer)
        );
        assert_eq!(
            check_presentation(Scheme::Dpop, None, Some(&proof("k"))),
            Err(DpopError::NotBound)
        );
        assert_eq!(
            check_presentation(Scheme::Dpop, Some("k"), Some(&proof("k"))),
            Ok(())
        );
        assert_eq!(
            check_presentation(Scheme::Dpop, Some("k"), Some(&proof("j"))),
            Err(DpopError::WrongKey)
        );
        assert_eq!(
            check_presentation(Scheme::Dpop, Some("k"), None),
            Err(DpopError::Required)
        );
        assert_eq!(DpopError::BoundAsBearer.code(), ErrorCode::InvalidToken);
    }

    #[test]
    fn nonces_are_required_when_configured_and_last_two_windows() {
        let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
        let secret = b"nonce secret";
        let mut e = expect();
        e.nonce_secret = Some(secret);
        let no_nonce = verify(&proof_with(&key, json!({}), claims("x")), &e);
        assert_eq!(no_nonce, Err(DpopError::Nonce));
        assert_eq!(DpopError::Nonce.code(), ErrorCode::UseDpopNonce);
        assert_eq!(DpopError::Url.code(), ErrorCode::InvalidDpopProof);
        let mut c = claims("x");
        c["nonce"] = json!(nonce(secret, NOW));
        assert!(verify(&proof_with(&key, json!({}), c), &e).is_ok());
        let issued = nonce(secret, NOW);
        assert!(nonce_is_fresh(secret, &issued, NOW + NONCE_WINDOW));
        assert!(!nonce_is_fresh(secret, &issued, NOW + 2 * NONCE_WINDOW));
        assert!(!nonce_is_fresh(b"another", &issued, NOW));
    }
}
