//! Client-side ID-token validation with verity-client (OIDC Core 3.1.3.7): parse the compact
//! JWS, verify the signature against the JWKS key named by `kid`, check the claims. The token is
//! signed by verity-core's keys, as the provider signs it.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use verity_client::id_token::{Expectations, check_claims};
use verity_client::jose::{Jws, parse_jwks};
use verity_core::keys::{Alg, SigningKey, at_hash};

const ISSUER: &str = "http://127.0.0.1:8080/oidc";
const CLIENT: &str = "sandbox-confidential";
const NOW: i64 = 1_700_000_000;
const ACCESS: &str = "0123456789abcdef0123456789abcdef";

fn validation(c: &mut Criterion) {
    let mut group = c.benchmark_group("id_token_validate");
    for alg in [Alg::RS256, Alg::ES256] {
        let Ok((key, _)) = SigningKey::generate(alg) else {
            panic!("generating a {} key", alg.as_str());
        };
        let claims = json!({
            "iss": ISSUER, "sub": "0123456789abcdef0123456789abcdef", "aud": CLIENT,
            "exp": NOW + 300, "iat": NOW, "auth_time": NOW, "nonce": "n-0S6_WzA2Mj",
            "at_hash": at_hash(ACCESS), "acr": "http://idmanagement.gov/ns/assurance/aal/1",
            "amr": ["pwd"], "jti": "fedcba9876543210fedcba9876543210",
            "uuid": "0123456789abcdef0123456789abcdef", "fname": "Sam", "lname": "Chen",
            "email": "student@sandbox.test",
        });
        let Ok(token) = key.sign_jwt("JWT", &claims) else {
            panic!("signing");
        };
        let jwks = json!({"keys": [key.jwk()]}).to_string();
        let Ok(keys) = parse_jwks(jwks.as_bytes()) else {
            panic!("reading the JWKS");
        };
        let trusted: Vec<String> = vec![];
        let expect = Expectations {
            issuer: ISSUER,
            client_id: CLIENT,
            trusted_audiences: &trusted,
            nonce: Some("n-0S6_WzA2Mj"),
            access_token: Some(ACCESS),
            max_age: None,
            now: NOW + 1,
            skew: 60,
        };
        let validate = |raw: &str| -> bool {
            let Ok(jws) = Jws::parse(raw) else {
                return false;
            };
            jws.verify(&keys.keys).is_ok() && check_claims(&jws.claims, &expect).is_ok()
        };
        assert!(validate(&token), "the benchmark token must validate");
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| validate(std::hint::black_box(&token)))
        });
    }
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);
