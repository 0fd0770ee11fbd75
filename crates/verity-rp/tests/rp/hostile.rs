//! The RP against a provider whose ID token is wrong in one way: an error page, no verification
//! row, only the raw audit record; the honest token in the same harness signs the person in.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use verity_core::keys::{Alg, SigningKey};

use crate::helpers::*;

/// Builds the ID token from the honest claims.
type MakeToken = Box<dyn FnOnce(Value) -> String>;

const SUB: &str = "b5270c2011e843ea38d1fde275a3b49f";

#[tokio::test]
async fn a_wrong_token_is_refused_and_an_honest_one_accepted() {
    let answers = spawn_scripted().await;
    let (key, issuer) = (answers.key.clone(), answers.issuer.clone());
    let clock = Arc::new(verity_core::clock::ManualClock::starting_now());
    let rp = spawn_rp(&issuer, "rp-app", Some("s"), "military", clock.clone()).await;
    let now = {
        use verity_core::clock::Clock;
        clock.now()
    };
    let userinfo = key
        .sign_jwt(
            "JWT",
            &json!({"iss": issuer, "aud": "rp-app", "sub": SUB, "fname": "Jordan",
                    "exp": now + 18000, "iat": now}),
        )
        .unwrap();
    *answers.userinfo.lock().unwrap() = serde_json::to_string(&userinfo).unwrap();

    let other_key = SigningKey::generate(Alg::RS256).unwrap().0;
    // One sign-in through the RP, the token endpoint answering with `make(claims)`.
    let attempt = |make: MakeToken| {
        let rp = &rp;
        let answers = answers.clone();
        let issuer = issuer.clone();
        async move {
            let browser = new_browser();
            let login = browser.get(rp.url("/login")).send().await.unwrap();
            let to = reqwest::Url::parse(&location(&login)).unwrap();
            let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
            let claims = json!({"iss": issuer, "sub": SUB, "aud": "rp-app", "exp": now + 300,
                                "iat": now, "nonce": q["nonce"], "uuid": SUB});
            *answers.token.lock().unwrap() = json!({
                "access_token": "abc", "token_type": "bearer", "expires_in": 300,
                "id_token": make(claims),
            })
            .to_string();
            let cb = format!("/callback?code=c&state={}", q["state"]);
            browser.get(rp.url(&cb)).send().await.unwrap().status()
        }
    };
    let patched = |patch: Value| -> MakeToken {
        let key = key.clone();
        Box::new(move |mut claims: Value| {
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    claims.as_object_mut().unwrap().remove(k);
                } else {
                    claims[k] = v.clone();
                }
            }
            key.sign_jwt("JWT", &claims).unwrap()
        })
    };
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let mut wrong: Vec<(&str, MakeToken)> = vec![
        ("wrong aud", patched(json!({"aud": "another-app"}))),
        (
            "wrong iss",
            patched(json!({"iss": "https://evil.test/oidc"})),
        ),
        ("foreign azp", patched(json!({"azp": "another-app"}))),
        ("wrong nonce", patched(json!({"nonce": "replayed"}))),
        ("missing nonce", patched(json!({"nonce": null}))),
        ("expired", patched(json!({"exp": now - 3600}))),
        (
            "iat in the future",
            patched(json!({"iat": now + 3600, "exp": now + 4000})),
        ),
        (
            "wrong at_hash",
            patched(json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"})),
        ),
        (
            "unknown kid",
            Box::new(move |c: Value| other_key.sign_jwt("JWT", &c).unwrap()),
        ),
        (
            "alg none",
            Box::new(move |c: Value| format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&c))),
        ),
        (
            "several megabytes",
            patched(json!({"padding": "A".repeat(3 << 20)})),
        ),
    ];
    let tampered_key = key.clone();
    wrong.push((
        "tampered payload",
        Box::new(move |c: Value| {
            let t = tampered_key.sign_jwt("JWT", &c).unwrap();
            let parts: Vec<&str> = t.split('.').collect();
            let mut forged = c.clone();
            forged["sub"] = json!("someone-else");
            format!("{}.{}.{}", parts[0], b64(&forged), parts[2])
        }),
    ));
    let attempts = wrong.len();
    for (name, make) in wrong {
        assert_eq!(attempt(make).await, StatusCode::BAD_REQUEST, "{name}");
    }
    // A userinfo for someone else behind an honest ID token.
    let honest_userinfo = answers.userinfo.lock().unwrap().clone();
    let other = key
        .sign_jwt(
            "JWT",
            &json!({"iss": issuer, "aud": "rp-app", "sub": "f".repeat(32), "exp": now + 60}),
        )
        .unwrap();
    *answers.userinfo.lock().unwrap() = serde_json::to_string(&other).unwrap();
    assert_eq!(attempt(patched(json!({}))).await, StatusCode::BAD_REQUEST);
    *answers.userinfo.lock().unwrap() = honest_userinfo;

    assert_eq!(rp.count("verifications").await, 0);
    assert_eq!(rp.count("user_activity").await, 0);
    let raw = sqlx::query("SELECT endpoint, uuid FROM raw_responses")
        .fetch_all(rp.db.pool())
        .await
        .unwrap();
    let tokens = raw
        .iter()
        .filter(|r| r.get::<String, _>("endpoint") == "token")
        .count();
    assert_eq!(
        tokens,
        attempts + 1,
        "one raw token answer per refused attempt"
    );
    assert!(
        raw.iter()
            .all(|r| r.get::<Option<String>, _>("uuid").is_none())
    );
    // The honest token, in the same harness.
    assert_eq!(attempt(patched(json!({}))).await, StatusCode::SEE_OTHER);
    assert_eq!(rp.count("verifications").await, 1);
}
