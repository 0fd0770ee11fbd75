//! ID-token validation, every step of OIDC Core 3.1.3.7 that applies to the code flow.

use serde_json::{Map, Value};

use crate::assertion::constant_time_eq;
use crate::error::IdTokenError;
use crate::jose::{Alg, at_hash};

/// A validated ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct IdToken {
    /// The compact JWS as received (for `id_token_hint` and audit).
    pub raw: String,
    pub alg: Alg,
    pub subject: String,
    pub claims: Map<String, Value>,
}

impl IdToken {
    /// One claim of the validated token, by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

/// What the claims are checked against.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub trusted_audiences: &'a [String],
    /// `Some` for the code flow (the request always sends one); `None` on refresh, where OIDC
    /// Core 12.2 lets the provider omit it.
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
    pub max_age: Option<u64>,
    pub now: i64,
    pub skew: i64,
}

fn int_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, IdTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(IdTokenError::MissingClaim(name)),
        Some(_) => Err(IdTokenError::MissingClaim(name)),
    }
}

/// Steps 2-5 and 9-13 of 3.1.3.7 plus `nbf` and `at_hash` (3.1.3.8); the signature (6-8) is
/// checked before this by the caller. Returns `sub`.
pub fn check_claims(
    claims: &Map<String, Value>,
    x: &Expectations<'_>,
) -> Result<String, IdTokenError> {
    // 2. iss exactly.
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(IdTokenError::MissingClaim("iss"))?;
    if iss != x.issuer {
        return Err(IdTokenError::Issuer {
            expected: x.issuer.to_owned(),
            found: iss.to_owned(),
        });
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::MissingClaim("sub"))?;
    // 3. aud contains the client; no untrusted extra audience.
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().ok_or(IdTokenError::MissingClaim("aud")))
            .collect::<Result<_, _>>()?,
        _ => return Err(IdTokenError::MissingClaim("aud")),
    };
    if !audiences.contains(&x.client_id) {
        return Err(IdTokenError::Audience);
    }
    if let Some(other) = audiences
        .iter()
        .find(|a| **a != x.client_id && !x.trusted_audiences.iter().any(|t| t == *a))
    {
        return Err(IdTokenError::UntrustedAudience((*other).to_owned()));
    }
    // 4-5. azp: required with several audiences, and must be this client when present.
    match claims.get("azp") {
        Some(Value::String(azp)) if azp == x.client_id => {}
        Some(Value::String(azp)) => return Err(IdTokenError::AuthorizedParty(azp.clone())),
        Some(_) => return Err(IdTokenError::MissingClaim("azp")),
        None if audiences.len() > 1 => return Err(IdTokenError::MissingAuthorizedParty),
        None => {}
    }
    // 9. exp.
    let exp = int_claim(claims, "exp")?.ok_or(IdTokenError::MissingClaim("exp"))?;
    if x.now >= exp + x.skew {
        return Err(IdTokenError::Expired { exp, now: x.now });
    }
    // 10. iat: present, and not in the future.
    let iat = int_claim(claims, "iat")?.ok_or(IdTokenError::MissingClaim("iat"))?;
    if iat > x.now + x.skew {
        return Err(IdTokenError::IssuedInFuture { iat, now: x.now });
    }
    if let Some(nbf) = int_claim(claims, "nbf")?
        && nbf > x.now + x.skew
    {
        return Err(IdTokenError::NotYetValid { nbf, now: x.now });
    }
    // 11. nonce.
    match (x.nonce, claims.get("nonce")) {
        (Some(expected), Some(Value::String(found))) => {
            if !constant_time_eq(expected.as_bytes(), found.as_bytes()) {
                return Err(IdTokenError::Nonce);
            }
        }
        (Some(_), Some(_)) => return Err(IdTokenError::Nonce),
        (Some(_), None) => return Err(IdTokenError::MissingNonce),
        (None, _) => {}
    }
    // 13. auth_time against max_age.
    if let Some(max_age) = x.max_age {
        let auth_time =
            int_claim(claims, "auth_time")?.ok_or(IdTokenError::MissingClaim("auth_time"))?;
        if x.now - auth_time > max_age as i64 + x.skew {
            return Err(IdTokenError::AuthTooOld);
        }
    }
    // 3.1.3.8: at_hash when present.
    if let (Some(token), Some(claimed)) = (x.access_token, claims.get("at_hash"))
        && claimed.as_str() != Some(at_hash(token).as_str())
    {
        return Err(IdTokenError::AtHash);
    }
    Ok(sub.to_owned())
}

/// The login.gov / ID.me authentication levels, weakest first: an `acr` later in this list meets
/// an `acr_values` entry earlier in it.
const ACR_LEVELS: [&str; 3] = [
    "http://idmanagement.gov/ns/assurance/aal/1",
    "http://idmanagement.gov/ns/assurance/aal/2",
    crate::ACR_PHISHING_RESISTANT,
];

/// OIDC Core 3.1.3.7 step 12: when `acr_values` were sent, the ID token's `acr` must be one of
/// them, or a stronger level of [`ACR_LEVELS`] than the weakest of them.
pub fn check_acr(claims: &Map<String, Value>, asked: &[String]) -> Result<(), IdTokenError> {
    if asked.is_empty() {
        return Ok(());
    }
    let found = claims.get("acr").and_then(Value::as_str);
    let rank = |v: &str| ACR_LEVELS.iter().position(|l| *l == v);
    let weakest_asked = asked.iter().filter_map(|a| rank(a)).min();
    let met = found.is_some_and(|acr| {
        asked.iter().any(|a| a == acr)
            || rank(acr)
                .zip(weakest_asked)
                .is_some_and(|(got, needed)| got >= needed)
    });
    if met {
        Ok(())
    } else {
        Err(IdTokenError::Acr {
            asked: asked.join(" "),
            found: found.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn x<'a>(now: i64) -> Expectations<'a> {
        Expectations {
            issuer: "https://op",
            client_id: "app",
            trusted_audiences: &[],
            nonce: Some("n"),
            access_token: Some("tok"),
            max_age: None,
            now,
            skew: 60,
        }
    }

    fn good() -> Map<String, Value> {
        json!({"iss": "https://op", "sub": "s", "aud": "app", "exp": 1000, "iat": 900,
               "nonce": "n", "at_hash": at_hash("tok")})
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn each_claim_rule() {
        assert_eq!(check_claims(&good(), &x(950)).unwrap(), "s");
        let cases: Vec<(Value, IdTokenError)> = vec![
            (
                json!({"iss": "https://op/"}),
                IdTokenError::Issuer {
                    expected: "https://op".into(),
                    found: "https://op/".into(),
                },
            ),
            (json!({"aud": "other"}), IdTokenError::Audience),
            (
                json!({"aud": ["app", "other"], "azp": "app"}),
                IdTokenError::UntrustedAudience("other".into()),
            ),
            (
                json!({"azp": "other"}),
                IdTokenError::AuthorizedParty("other".into()),
            ),
            (
                json!({"exp": 880}),
                IdTokenError::Expired { exp: 880, now: 950 },
            ),
            (
                json!({"iat": 1100}),
                IdTokenError::IssuedInFuture {
                    iat: 1100,
                    now: 950,
                },
            ),
            (
                json!({"nbf": 1100}),
                IdTokenError::NotYetValid {
                    nbf: 1100,
                    now: 950,
                },
            ),
            (json!({"nonce": "m"}), IdTokenError::Nonce),
            (json!({"nonce": null}), IdTokenError::Nonce),
            (json!({"at_hash": "AAAA"}), IdTokenError::AtHash),
            (json!({"exp": "soon"}), IdTokenError::MissingClaim("exp")),
        ];
        for (patch, expected) in cases {
            let mut c = good();
            for (k, v) in patch.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
            assert_eq!(check_claims(&c, &x(950)), Err(expected), "{patch}");
        }
        let mut c = good();
        c.remove("nonce");
        assert_eq!(check_claims(&c, &x(950)), Err(IdTokenError::MissingNonce));
        let mut c = good();
        c.insert("aud".into(), json!(["app", "friend"]));
        let trusted = vec!["friend".to_owned()];
        let mut ex = x(950);
        ex.trusted_audiences = &trusted;
        assert_eq!(
            check_claims(&c, &ex),
            Err(IdTokenError::MissingAuthorizedParty)
        );
        c.insert("azp".into(), json!("app"));
        assert!(check_claims(&c, &ex).is_ok());
        // Within the skew.
        assert!(check_claims(&good(), &x(1050)).is_ok());
        let mut ex = x(950);
        ex.max_age = Some(10);
        assert_eq!(
            check_claims(&good(), &ex),
            Err(IdTokenError::MissingClaim("auth_time"))
        );
    }

    #[test]
    fn acr_meets_the_weakest_value_asked_or_a_stronger_level() {
        let with = |acr: Option<&str>| {
            let mut m = Map::new();
            if let Some(a) = acr {
                m.insert("acr".into(), Value::from(a));
            }
            m
        };
        let aal2 = "http://idmanagement.gov/ns/assurance/aal/2".to_owned();
        let pr = crate::ACR_PHISHING_RESISTANT.to_owned();
        assert!(check_acr(&with(None), &[]).is_ok());
        assert!(check_acr(&with(Some(&pr)), std::slice::from_ref(&aal2)).is_ok());
        assert!(check_acr(&with(Some(&pr)), std::slice::from_ref(&pr)).is_ok());
        assert!(check_acr(&with(Some(&aal2)), std::slice::from_ref(&pr)).is_err());
        assert!(check_acr(&with(None), std::slice::from_ref(&pr)).is_err());
        let custom = "urn:example:acr:gold".to_owned();
        assert!(
            check_acr(
                &with(Some("urn:example:acr:gold")),
                std::slice::from_ref(&custom)
            )
            .is_ok()
        );
        assert!(check_acr(&with(Some(&pr)), std::slice::from_ref(&custom)).is_err());
    }

    /// The RP library keeps its own copy of the levels (it depends on no crate of the
    /// provider's); they are the provider's `acr` values, weakest first.
    #[test]
    fn acr_levels_are_the_providers() {
        assert_eq!(ACR_LEVELS, verity_core::authn::ACR_VALUES);
    }
}
