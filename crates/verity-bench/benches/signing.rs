//! ID-token signing (SPEC 5): building the claim set of a `openid profile email` grant and
//! signing it, RS256 (RSA 2048, the default) and ES256 (P-256), with verity-core's keys.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use verity_core::claims::{self, Authentication, Issue};
use verity_core::identity::{AuthFacts, Family, UserData, builtin_policies};
use verity_core::keys::{Alg, SigningKey, at_hash};

/// The student persona's data, as the token endpoint reads it.
fn user() -> UserData {
    let attributes: BTreeMap<String, serde_json::Value> = [
        ("fname", json!("Sam")),
        ("lname", json!("Chen")),
        ("birth_date", json!("2003-09-30")),
        ("zip", json!("94704")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    UserData {
        uuid: "0123456789abcdef0123456789abcdef".into(),
        email: "student@sandbox.test".into(),
        email_confirmed: true,
        attributes,
        verifications: vec![],
    }
}

fn id_token_claims(user: &UserData) -> serde_json::Value {
    let all = builtin_policies();
    let granted: Vec<_> = all
        .iter()
        .filter(|p| ["openid", "profile", "email"].contains(&p.handle.as_str()))
        .collect();
    let auth = AuthFacts::password(false);
    let attributes = claims::attribute_claims(&granted, Family::Idme, user, auth);
    claims::id_token(
        &Issue {
            issuer: "http://127.0.0.1:8080/oidc",
            client_id: "sandbox-confidential",
            now: 1_700_000_000,
            ttl: 300,
        },
        user,
        &Authentication {
            auth_time: 1_700_000_000,
            nonce: Some("n-0S6_WzA2Mj"),
            at_hash: Some(at_hash("0123456789abcdef0123456789abcdef")),
            auth,
            sid: Some("fedcba9876543210fedcba9876543210"),
        },
        attributes,
    )
}

fn signing(c: &mut Criterion) {
    let user = user();
    let mut group = c.benchmark_group("id_token_sign");
    for alg in [Alg::RS256, Alg::ES256] {
        let Ok((key, _)) = SigningKey::generate(alg) else {
            panic!("generating a {} key", alg.as_str());
        };
        let claims = id_token_claims(&user);
        group.bench_function(format!("{}/sign", alg.as_str()), |b| {
            b.iter(|| key.sign_jwt("JWT", std::hint::black_box(&claims)))
        });
        group.bench_function(format!("{}/claims+sign", alg.as_str()), |b| {
            b.iter(|| key.sign_jwt("JWT", &id_token_claims(std::hint::black_box(&user))))
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
