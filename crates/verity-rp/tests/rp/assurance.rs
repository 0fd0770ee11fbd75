//! Identity assurance (`VERITY_RP_VERIFIED_CLAIMS`): the app asks for `verified_claims`, keeps
//! the answers that match what it asked, stores them beside the raw userinfo body, and tells on
//! the profile page how each attribute and group was verified, in words.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use verity_core::clock::{Clock, ManualClock};
use verity_rp::RpArgs;

use crate::helpers::*;

const SUB: &str = "0f5e7c2011e843ea38d1fde275a3b49f";

/// The sandbox veteran's answer as docs/identity-assurance.md describes it, and one answer under
/// a trust framework the app did not ask for.
fn answers() -> Value {
    json!([
        {"verification": {
            "trust_framework": "nist_800_63A", "assurance_level": "ial2",
            "time": "2026-12-06T01:57:03Z", "verification_process": "case-1",
            "evidence": [{"type": "document",
                "check_details": [
                    {"check_method": "vri", "organization": "verity", "txn": "case-1", "time": "2026-12-06T01:57:03Z"},
                    {"check_method": "pvr", "organization": "verity", "txn": "case-1", "time": "2026-12-06T01:57:03Z"}],
                "document_details": {"type": "driving_permit", "document_number": "5678",
                    "date_of_expiry": "2031-04-12", "issuer": {"name": "Virginia"}}}]},
         "claims": {"given_name": "Jordan", "family_name": "Rivera", "birthdate": "1978-04-12"}},
        {"verification": {
            "trust_framework": "verity", "assurance_level": "document",
            "time": "2026-12-06T01:57:03Z", "verification_process": "case-2",
            "evidence": [{"type": "document",
                "check_details": [{"check_method": "vri", "organization": "verity", "txn": "case-2", "time": "2026-12-06T01:57:03Z"}],
                "document_details": {"type": "dd214"}}]},
         "claims": {"group": "military", "subgroups": ["Veteran"]}},
        {"verification": {"trust_framework": "eidas", "assurance_level": "high"},
         "claims": {"given_name": "Unasked"}}
    ])
}

/// One sign-in through the app against the scripted provider, whose userinfo carries
/// `verified_claims` (when given). Returns the authorization URL and the profile page.
async fn sign_in(
    op: &Scripted,
    rp: &TestRp,
    verified_claims: Option<Value>,
    now: i64,
) -> (reqwest::Url, String) {
    let browser = new_browser();
    let login = browser.get(rp.url("/login")).send().await.unwrap();
    let to = reqwest::Url::parse(&location(&login)).unwrap();
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    let id_token = op
        .key
        .sign_jwt(
            "JWT",
            &json!({"iss": op.issuer, "sub": SUB, "aud": "rp-app", "exp": now + 300,
                    "iat": now, "nonce": q["nonce"]}),
        )
        .unwrap();
    *op.token.lock().unwrap() = json!({"access_token": "abc", "token_type": "bearer",
                                       "expires_in": 300, "id_token": id_token})
    .to_string();
    let mut userinfo = json!({"sub": SUB, "given_name": "Jordan"});
    if let Some(v) = verified_claims {
        userinfo["verified_claims"] = v;
    }
    *op.userinfo.lock().unwrap() = userinfo.to_string();
    let cb = browser
        .get(rp.url(&format!("/callback?code=c&state={}", q["state"])))
        .send()
        .await
        .unwrap();
    assert_eq!(cb.status(), StatusCode::SEE_OTHER);
    let page = browser.get(rp.url("/profile")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    (to, page.text().await.unwrap())
}

#[tokio::test]
async fn verified_claims_are_asked_kept_stored_and_told_in_words() {
    for backend in backends() {
        verified_claims_on(backend).await;
    }
}

async fn verified_claims_on(backend: Backend) {
    let op = spawn_scripted().await;
    // The day after the verification: the document has not expired.
    let decided = verity_client::assurance::parse_rfc3339("2026-12-06T01:57:03Z").unwrap();
    let clock = Arc::new(ManualClock::new(decided + 86_400));
    let now = clock.now();
    let rp = spawn_rp_with(
        backend,
        RpArgs {
            issuer: Some(op.issuer.clone()),
            client_id: Some("rp-app".into()),
            client_secret: Some("s".into()),
            scopes: Some(format!("military {IDENTITY_POLICY}")),
            verified_claims: Some(true),
            ..RpArgs::default()
        },
        clock.clone(),
    )
    .await;

    let (to, html) = sign_in(&op, &rp, Some(answers()), now).await;
    let claims: Value = to
        .query_pairs()
        .find(|(k, _)| k == "claims")
        .map(|(_, v)| serde_json::from_str(&v).unwrap())
        .expect("a claims parameter");
    assert_eq!(claims, verity_rp::assurance::claims_request().to_value());

    let text = html.replace("&#x27;", "'");
    for expected in [
        "How this was verified",
        "<dt>Given name</dt>",
        "<strong>Jordan</strong>: verified from a driver's license issued by Virginia (number ending 5678, expires 12 April 2031), on 6 December 2026.",
        "<strong>12 April 1978</strong>",
        "<dt>Military (Veteran)</dt>",
        "verified from a DD-214 on 6 December 2026.",
        "NIST SP 800-63A, level IAL2. Checks: a reviewer inspected images of the document;",
        "last on <time datetime=\"2026-12-07T01:57:03Z\" data-style=\"day\">7 December 2026</time>",
    ] {
        assert!(
            text.contains(expected),
            "{backend:?}: {expected:?} in {text}"
        );
    }
    assert!(
        !text.contains("Unasked"),
        "an answer not asked for is left out"
    );
    assert!(!text.contains(&decided.to_string()), "no Unix timestamps");

    // Stored: the two kept answers beside the raw body, which keeps all three.
    let row = sqlx::query("SELECT verified_claims FROM verifications")
        .fetch_one(rp.db.pool())
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(&row.get::<String, _>("verified_claims")).unwrap();
    let expected: Vec<Value> = answers().as_array().unwrap()[..2].to_vec();
    assert_eq!(stored, Value::Array(expected));
    let raw = sqlx::query("SELECT body FROM raw_responses WHERE endpoint = 'userinfo'")
        .fetch_one(rp.db.pool())
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&raw.get::<String, _>("body")).unwrap();
    assert_eq!(body["verified_claims"], answers());

    // Back without verified claims: the details of the previous sign-in are not shown as current.
    let (_, html) = sign_in(&op, &rp, None, now).await;
    assert!(html.contains("shared no verification details"), "{html}");
    let row = sqlx::query("SELECT verified_claims FROM verifications")
        .fetch_one(rp.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<Option<String>, _>("verified_claims"), None);
    // An unreadable member: the sign-in goes on without the details.
    let (_, html) = sign_in(&op, &rp, Some(json!({"verification": 3})), now).await;
    assert!(html.contains("shared no verification details"), "{html}");
    rp.finish().await;
}

#[tokio::test]
async fn without_the_setting_nothing_is_asked_or_shown() {
    let op = spawn_scripted().await;
    let clock = Arc::new(ManualClock::starting_now());
    let now = clock.now();
    let rp = spawn_rp(&op.issuer, "rp-app", Some("s"), "military", clock.clone()).await;
    let (to, html) = sign_in(&op, &rp, Some(answers()), now).await;
    assert!(!to.query_pairs().any(|(k, _)| k == "claims"));
    assert!(!html.contains("How this was verified"));
    let row = sqlx::query("SELECT verified_claims FROM verifications")
        .fetch_one(rp.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<Option<String>, _>("verified_claims"), None);
    rp.finish().await;
}
