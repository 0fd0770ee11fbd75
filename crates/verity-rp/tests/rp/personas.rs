//! Every persona through the reference RP: stored rows and the pre-filled profile form.

use reqwest::StatusCode;
use sqlx::Row;

use crate::helpers::*;

struct Case {
    email: &'static str,
    scopes: &'static str,
    fields: &'static [(&'static str, &'static str)],
    groups: &'static [(&'static str, bool)],
}

#[tokio::test]
async fn every_persona_is_stored_and_prefills_the_profile() {
    let op = spawn_provider().await;
    let identity = IDENTITY_POLICY;
    let cases = [
        Case {
            email: "veteran@sandbox.test",
            scopes: "military",
            fields: &[
                ("fname", "Jordan"),
                ("lname", "Rivera"),
                ("zip", "23511"),
                ("mname", ""),
            ],
            groups: &[("military", true)],
        },
        Case {
            email: "student@sandbox.test",
            scopes: "student",
            fields: &[("fname", "Sam"), ("lname", "Chen"), ("zip", "94704")],
            groups: &[("student", true)],
        },
        Case {
            email: "unverified@sandbox.test",
            scopes: "profile email",
            fields: &[
                ("fname", "Casey"),
                ("email", "unverified@sandbox.test"),
                ("zip", ""),
            ],
            groups: &[],
        },
        Case {
            email: "international@sandbox.test",
            scopes: identity,
            fields: &[
                ("fname", "Amélie"),
                ("country", "FR"),
                ("street", ""),
                ("city", ""),
                ("state", ""),
                ("zip", ""),
            ],
            groups: &[("identity", true)],
        },
        Case {
            email: "hyphen@sandbox.test",
            scopes: identity,
            fields: &[
                ("fname", "Mary-Jane"),
                ("lname", "O'Connor-Smith"),
                ("mname", "Ann"),
            ],
            groups: &[("identity", true)],
        },
        Case {
            email: "multi@sandbox.test",
            scopes: "military teacher responder",
            fields: &[("fname", "Alex"), ("zip", "78701")],
            groups: &[("military", true), ("teacher", true), ("responder", true)],
        },
    ];
    for (case, backend) in cases
        .iter()
        .flat_map(|c| backends().into_iter().map(move |b| (c, b)))
    {
        let rp = spawn_rp_on(
            backend,
            &op.issuer,
            "sandbox-confidential",
            Some("sandbox-secret"),
            case.scopes,
            op.clock.clone(),
        )
        .await;
        let html = sign_in(&op, &rp, case.email).await;
        for (handle, expected) in case.fields {
            assert_eq!(
                &input_value(&html, handle),
                expected,
                "{}: {handle}",
                case.email
            );
        }
        // Stored rows.
        let row = sqlx::query("SELECT * FROM verifications")
            .fetch_one(rp.db.pool())
            .await
            .unwrap();
        let uuid: String = row.get("uuid");
        assert_eq!(uuid.len(), 32);
        assert!(html.contains(&uuid));
        let groups: serde_json::Value =
            serde_json::from_str(&row.get::<String, _>("groups")).unwrap();
        assert_eq!(
            groups.as_array().unwrap().len(),
            case.groups.len(),
            "{groups}"
        );
        for (group, verified) in case.groups {
            let g = groups
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["group"] == *group)
                .unwrap();
            assert_eq!(g["verified"], *verified);
        }
        let attributes: serde_json::Value =
            serde_json::from_str(&row.get::<String, _>("attributes")).unwrap();
        if case.email.starts_with("international") {
            assert_eq!(
                attributes["zip"]["value"],
                serde_json::Value::Null,
                "null kept"
            );
        }
        let raw = sqlx::query("SELECT endpoint, uuid, body FROM raw_responses ORDER BY id")
            .fetch_all(rp.db.pool())
            .await
            .unwrap();
        let endpoints: Vec<String> = raw.iter().map(|r| r.get("endpoint")).collect();
        assert_eq!(endpoints, ["token", "userinfo", "attributes"]);
        assert!(raw.iter().all(|r| r.get::<String, _>("uuid") == uuid));
        let token_body: serde_json::Value =
            serde_json::from_str(&raw[0].get::<String, _>("body")).unwrap();
        assert_eq!(token_body["access_token"], "[redacted]");
        assert!(token_body["id_token"].as_str().unwrap().contains('.'));
        assert_eq!(rp.count("user_activity").await, 1, "{backend:?}");
        rp.finish().await;
    }
}

#[tokio::test]
async fn returning_updates_the_row_and_appends_the_raw_bodies() {
    for backend in backends() {
        returning_updates_the_row_on(backend).await;
    }
}

async fn returning_updates_the_row_on(backend: Backend) {
    let op = spawn_provider().await;
    let rp = spawn_rp_on(
        backend,
        &op.issuer,
        "sandbox-public",
        None,
        "student",
        op.clock.clone(),
    )
    .await;
    sign_in(&op, &rp, "student@sandbox.test").await;
    let first: i64 = sqlx::query("SELECT updated_at FROM verifications")
        .fetch_one(rp.db.pool())
        .await
        .unwrap()
        .get("updated_at");
    op.clock.advance(100);
    sign_in(&op, &rp, "student@sandbox.test").await;
    assert_eq!(rp.count("verifications").await, 1);
    let row = sqlx::query("SELECT updated_at, first_verified_at FROM verifications")
        .fetch_one(rp.db.pool())
        .await
        .unwrap();
    assert!(row.get::<i64, _>("updated_at") >= first + 100);
    assert_eq!(row.get::<i64, _>("first_verified_at"), first);
    assert_eq!(rp.count("raw_responses").await, 6);
    assert_eq!(rp.count("user_activity").await, 2);
    // Append-only.
    assert!(
        sqlx::query("DELETE FROM raw_responses")
            .execute(rp.db.pool())
            .await
            .is_err()
    );
    assert!(
        sqlx::query("UPDATE raw_responses SET body = ''")
            .execute(rp.db.pool())
            .await
            .is_err()
    );
    rp.finish().await;
}

#[tokio::test]
async fn declined_consent_and_forged_state_store_nothing_and_sign_nobody_in() {
    let op = spawn_provider().await;
    let rp = spawn_rp(
        &op.issuer,
        "sandbox-confidential",
        Some("sandbox-secret"),
        "student",
        op.clock.clone(),
    )
    .await;
    let browser = new_browser();
    let login = browser.get(rp.url("/login")).send().await.unwrap();
    let back = op
        .journey(&browser, &location(&login), "student@sandbox.test", "deny")
        .await;
    let resp = browser.get(rp.callback_url(&back)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("declined"));
    // A real code with a forged state.
    let login = browser.get(rp.url("/login")).send().await.unwrap();
    let back = op
        .journey(&browser, &location(&login), "student@sandbox.test", "allow")
        .await;
    let forged = back.replace("state=", "state=forged");
    let resp = browser.get(rp.callback_url(&forged)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // The pending request was used up: the genuine callback no longer works either.
    let resp = browser.get(rp.callback_url(&back)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let profile = browser.get(rp.url("/profile")).send().await.unwrap();
    assert_eq!(location(&profile), "/", "not signed in");
    assert_eq!(rp.count("verifications").await, 0);
    assert_eq!(rp.count("user_activity").await, 0);
}

#[tokio::test]
async fn the_profile_form_needs_its_csrf_token_and_the_sign_in_expires() {
    let op = spawn_provider().await;
    let rp = spawn_rp(
        &op.issuer,
        "sandbox-public",
        None,
        "student",
        op.clock.clone(),
    )
    .await;
    let browser = new_browser();
    let html = sign_in_with(&browser, &op, &rp, "student@sandbox.test").await;
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let forged = browser
        .post(rp.url("/profile"))
        .form(&[("csrf_token", "forged"), ("fname", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(rp.count("user_activity").await, 1);
    let saved = browser
        .post(rp.url("/profile"))
        .form(&[("csrf_token", csrf.as_str()), ("fname", "Sam")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(rp.count("user_activity").await, 2);
    op.clock.advance(8 * 3600);
    let later = browser.get(rp.url("/profile")).send().await.unwrap();
    assert_eq!(location(&later), "/", "the sign-in expired");
}
