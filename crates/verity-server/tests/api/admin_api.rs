//! The admin API of SPEC section 11 over HTTP: every route's success, validation errors, 401, 404
//! and 409; the OpenAPI document against the routes; a registered app used for a real sign-in.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const TOKEN: &str = "test-admin-token-0123456789";

async fn admin_app() -> TestApp {
    spawn_with(|s| s.admin_token = Some(verity_server::settings::Secret(TOKEN.into()))).await
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, app.url(&format!("/api/admin/v1{path}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn ok(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    call(app, method, path, body, Some(TOKEN)).await
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert!(
        body["error"].is_string() && body["error_description"].is_string(),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn every_route_answers_success_validation_401_404_and_409() {
    let app = admin_app().await;
    // 401 without and with a wrong token, on every documented route.
    let doc: Value = app
        .http
        .get(app.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "x")
                .replace("{client_id}", "x")
                .replace("{uuid}", "x")
                .replace("{group}", "military");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (s, b) = call(&app, m.clone(), &concrete, Some(json!({})), None).await;
            assert_error(
                s,
                &b,
                StatusCode::UNAUTHORIZED,
                &format!("{method} {path} without a token"),
            );
            let (s, b) = call(&app, m, &concrete, Some(json!({})), Some("wrong-token")).await;
            assert_error(
                s,
                &b,
                StatusCode::UNAUTHORIZED,
                &format!("{method} {path} with a wrong token"),
            );
        }
    }

    // Organizations.
    let (s, org) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Acme Health"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{org}");
    let org_id = org["id"].as_str().unwrap().to_owned();
    assert_eq!(org["name"], "Acme Health");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Acme Health"})),
    )
    .await;
    assert_error(s, &b, StatusCode::CONFLICT, "duplicate organization");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": ""})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "empty name");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"nom": "x"})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "unknown field");
    let resp = app
        .http
        .post(app.url("/api/admin/v1/organizations"))
        .bearer_auth(TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Apps.
    let (s, b) = ok(&app, Method::GET, "/organizations/nope/apps", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown organization");
    let new_app = json!({
        "name": "Acme Portal", "redirect_uris": ["https://portal.acme.test/callback", "http://127.0.0.1:8090/callback"],
        "policies": ["openid", "military"], "profile": "oidc", "public": false, "refresh_tokens": true
    });
    let (s, created) = ok(
        &app,
        Method::POST,
        &format!("/organizations/{org_id}/apps"),
        Some(new_app.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    assert!(
        verity_core::secret::is_token_shaped(&client_id),
        "client_id is 32 lowercase hex"
    );
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["profile"], "oidc");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations/nope/apps",
        Some(new_app.clone()),
    )
    .await;
    assert_error(
        s,
        &b,
        StatusCode::NOT_FOUND,
        "app in an unknown organization",
    );
    let bad = json!({"name": "Bad", "redirect_uris": ["javascript:alert(1)", "https://a.test/cb#frag", "relative/cb"], "policies": ["nope"]});
    let (s, b) = ok(
        &app,
        Method::POST,
        &format!("/organizations/{org_id}/apps"),
        Some(bad),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad redirect URIs");
    let d = b["error_description"].as_str().unwrap();
    for part in [
        "javascript:alert(1)",
        "https://a.test/cb#frag",
        "relative/cb",
        "unknown policy",
    ] {
        assert!(d.contains(part), "a message per rejected value: {d}");
    }
    let (s, list) = ok(
        &app,
        Method::GET,
        &format!("/organizations/{org_id}/apps"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        !list.to_string().contains(&secret),
        "no secrets in listings"
    );
    let (s, read) = ok(&app, Method::GET, &format!("/apps/{client_id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(read.get("client_secret").is_none());
    let (s, b) = ok(&app, Method::GET, "/apps/unknown", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown app");
    let (s, patched) = ok(
        &app,
        Method::PATCH,
        &format!("/apps/{client_id}"),
        Some(json!({"name": "Acme Portal 2", "access_ttl": 600})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Acme Portal 2");
    assert_eq!(patched["access_ttl"], 600);
    assert_eq!(
        patched["redirect_uris"], new_app["redirect_uris"],
        "absent fields keep their value"
    );
    let (s, b) = ok(
        &app,
        Method::PATCH,
        &format!("/apps/{client_id}"),
        Some(json!({"access_ttl": 5})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "ttl out of range");
    let (s, b) = ok(
        &app,
        Method::PATCH,
        "/apps/unknown",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "patch unknown app");

    // Secrets.
    let (s, second) = ok(
        &app,
        Method::POST,
        &format!("/apps/{client_id}/secrets"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(second["id"].is_string() && second["client_secret"].is_string());
    let (s, b) = ok(
        &app,
        Method::DELETE,
        &format!("/apps/{client_id}/secrets/nope"),
        None,
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown secret");
    let (s, b) = ok(&app, Method::POST, "/apps/unknown/secrets", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "secret for unknown app");
    let (s, _) = ok(
        &app,
        Method::DELETE,
        &format!(
            "/apps/{client_id}/secrets/{}",
            second["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Users and verifications.
    let (s, user) = ok(&app, Method::POST, "/users", Some(json!({"email": "new.vet@example.test", "password": "long enough password", "attributes": {"fname": "Ada", "zip": null, "military_branch": "Army"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let uuid = user["uuid"].as_str().unwrap().to_owned();
    let (s, b) = ok(
        &app,
        Method::POST,
        "/users",
        Some(json!({"email": "new.vet@example.test", "password": "long enough password"})),
    )
    .await;
    assert_error(s, &b, StatusCode::CONFLICT, "duplicate email");
    let (s, b) = ok(&app, Method::POST, "/users", Some(json!({"email": "x@example.test", "password": "short", "attributes": {"uuid": "x", "bogus": 1}}))).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad user");
    let (s, v) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/military"),
        Some(json!({"verified": true, "subgroups": ["Veteran"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/identity"),
        Some(json!({"verified": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/military"),
        Some(json!({"verified": true, "subgroups": ["Pirate"]})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "unknown subgroup");
    let (s, b) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/astronaut"),
        Some(json!({"verified": true})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown group");
    let (s, b) = ok(
        &app,
        Method::PUT,
        "/users/nobody/verifications/military",
        Some(json!({"verified": true})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown user");

    // Keys.
    let (s, k) = ok(&app, Method::POST, "/keys/rotate", None).await;
    assert_eq!(s, StatusCode::CREATED);
    let kid = k["kid"].as_str().unwrap();
    assert!(
        app.jwks().await.to_string().contains(kid),
        "the new key is published at once"
    );

    // Delete.
    let (s, _) = ok(&app, Method::DELETE, &format!("/apps/{client_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = ok(&app, Method::DELETE, &format!("/apps/{client_id}"), None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "deleted twice");
}

#[tokio::test]
async fn a_registered_app_signs_a_user_in_and_secret_rotation_keeps_both_valid() {
    let app = admin_app().await;
    let (_, org) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Rotators"})),
    )
    .await;
    let body = json!({"name": "Rotating", "redirect_uris": [CALLBACK], "policies": ["openid", "military"], "profile": "idme", "public": false, "refresh_tokens": true});
    let (_, created) = ok(
        &app,
        Method::POST,
        &format!("/organizations/{}/apps", org["id"].as_str().unwrap()),
        Some(body),
    )
    .await;
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let old_secret = created["client_secret"].as_str().unwrap().to_owned();
    // The creation answers the first secret's id (never the secret twice), unused yet.
    let old_id = created["secrets"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["secrets"][0]["last_used_at"], Value::Null);
    assert!(!created["secrets"].to_string().contains(&old_secret));
    let (_, user) = ok(&app, Method::POST, "/users", Some(json!({"email": "api.user@example.test", "password": "a fine password", "attributes": {"fname": "Api", "lname": "User"}}))).await;
    ok(
        &app,
        Method::PUT,
        &format!(
            "/users/{}/verifications/military",
            user["uuid"].as_str().unwrap()
        ),
        Some(json!({"verified": true, "subgroups": ["Retiree"]})),
    )
    .await;

    let sign_in = |secret: String| {
        let client_id = client_id.clone();
        let app = &app;
        async move {
            let url = app.authorize_url(&[
                ("client_id", &client_id),
                ("redirect_uri", CALLBACK),
                ("response_type", "code"),
                ("scope", "openid military"),
            ]);
            let mut journey = Journey::persona("api.user@example.test");
            journey.password = "a fine password".into();
            let (cb, _) = app.journey(&new_browser(), &url, &journey).await;
            app.post_token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", cb.code()),
                    ("redirect_uri", CALLBACK),
                ],
                Some((&client_id, &secret)),
            )
            .await
        }
    };
    let resp = sign_in(old_secret.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let tokens: Value = resp.json().await.unwrap();
    let attrs: Value = app
        .get_bearer(
            "/api/public/v3/attributes.json",
            tokens["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": ["Retiree"], "verified": true}])
    );

    let (_, second) = ok(
        &app,
        Method::POST,
        &format!("/apps/{client_id}/secrets"),
        None,
    )
    .await;
    let new_secret = second["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        sign_in(old_secret.clone()).await.status(),
        StatusCode::OK,
        "old secret valid during rotation"
    );
    assert_eq!(
        sign_in(new_secret.clone()).await.status(),
        StatusCode::OK,
        "new secret valid"
    );
    let new_id = second["id"].as_str().unwrap();
    // Both listed, with their last use (to the hour): the old one was used, so was the new one.
    let (_, read) = ok(&app, Method::GET, &format!("/apps/{client_id}"), None).await;
    let mut listed: Vec<(&str, bool)> = read["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["last_used_at"].is_i64()))
        .collect();
    listed.sort_unstable();
    let mut expected = [(old_id.as_str(), true), (new_id, true)];
    expected.sort_unstable();
    assert_eq!(listed, expected, "{read}");
    assert!(!read.to_string().contains(&old_secret) && !read.to_string().contains(&new_secret));
    ok(
        &app,
        Method::DELETE,
        &format!("/apps/{client_id}/secrets/{old_id}"),
        None,
    )
    .await;
    assert_eq!(
        sign_in(old_secret).await.status(),
        StatusCode::UNAUTHORIZED,
        "old secret gone"
    );
    assert_eq!(sign_in(new_secret).await.status(), StatusCode::OK);
    let audit = app
        .store
        .find_audit(Some(&client_id), None, 100)
        .await
        .unwrap();
    for e in [
        "admin.app.created",
        "admin.secret.created",
        "admin.secret.deleted",
        "token.issued",
    ] {
        assert!(audit.iter().any(|a| a.event == e), "{e}");
    }
}

#[tokio::test]
async fn the_openapi_document_covers_the_spec_routes_and_each_is_served() {
    let app = admin_app().await;
    let resp = app
        .http
        .get(app.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let spec_routes = [
        ("post", "/organizations"),
        ("get", "/organizations/{id}/apps"),
        ("post", "/organizations/{id}/apps"),
        ("get", "/apps/{client_id}"),
        ("patch", "/apps/{client_id}"),
        ("delete", "/apps/{client_id}"),
        ("post", "/apps/{client_id}/secrets"),
        ("delete", "/apps/{client_id}/secrets/{id}"),
        ("post", "/users"),
        ("put", "/users/{uuid}/verifications/{group}"),
        ("post", "/keys/rotate"),
    ];
    for (method, path) in spec_routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    // Every documented operation is served (401 without a token, never 404 or 405), and an
    // undocumented one is not.
    let mut count = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (s, _) = call(&app, m, &path.replace(['{', '}'], ""), None, None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path} is served");
            count += 1;
        }
    }
    assert_eq!(count, verity_server::routes::admin_api::ROUTES.len());
    let (s, _) = call(&app, Method::GET, "/organizations", None, Some(TOKEN)).await;
    assert!(
        s == StatusCode::METHOD_NOT_ALLOWED || s == StatusCode::NOT_FOUND,
        "undocumented: {s}"
    );
}

#[tokio::test]
async fn the_admin_api_is_disabled_without_a_token() {
    let app = spawn_app().await;
    let (s, b) = call(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "x"})),
        Some("anything"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test]
async fn outside_the_sandbox_urls_verity_calls_must_be_public_https() {
    let app = spawn_with(|s| {
        s.admin_token = Some(verity_server::settings::Secret(TOKEN.into()));
        s.environment = verity_server::Environment::Production;
    })
    .await;
    let (_, org) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Prod"})),
    )
    .await;
    let path = format!("/organizations/{}/apps", org["id"].as_str().unwrap());
    for bad in [
        "http://127.0.0.1:9200/jwks",
        "https://10.1.2.3/jwks",
        "https://localhost/jwks",
        "https://[::1]/jwks",
        "https://169.254.169.254/latest",
    ] {
        for field in ["jwks_uri", "backchannel_logout_uri"] {
            let body = json!({"name": "A", "redirect_uris": ["https://a.example/cb"], field: bad});
            let (s, b) = ok(&app, Method::POST, &path, Some(body)).await;
            assert_error(s, &b, StatusCode::BAD_REQUEST, &format!("{field} {bad}"));
        }
    }
    let body = json!({"name": "A", "redirect_uris": ["https://a.example/cb"], "jwks_uri": "https://keys.example.com/jwks"});
    let (s, b) = ok(&app, Method::POST, &path, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Names with control characters (mail header injection) are refused.
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "x\r\nBcc: all@example.test"})),
    )
    .await;
    assert_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "control characters in a name",
    );
}

/// SPEC 12's admin routes for cases: the queue, a case with its history, a decision recorded
/// once (with the account's verification, which the claims then carry), a refused decision, a
/// revocation; each error as the RFC-style JSON body.
#[tokio::test]
async fn verification_cases_are_decided_and_revoked() {
    use verity_core::clock::Clock;
    use verity_core::verification::{self, CaseState};
    use verity_store::cases::Case;

    let app = admin_app().await;
    let (s, user) = ok(
        &app,
        Method::POST,
        "/users",
        Some(json!({"email": "case.vet@example.test", "password": "long enough password"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let uuid = user["uuid"].as_str().unwrap().to_owned();
    let now = app.clock.now();
    let case = Case {
        document_type: Some("dd214".into()),
        ..Case::new(
            "case-1",
            &uuid,
            "military",
            verification::Method::Document,
            now,
        )
    };
    app.store.insert_case(&case).await.unwrap();
    let other = Case::new(
        "case-2",
        &uuid,
        "student",
        verification::Method::Document,
        now + 1,
    );
    app.store.insert_case(&other).await.unwrap();

    let (s, queue) = ok(&app, Method::GET, "/verification-cases", None).await;
    assert_eq!(s, StatusCode::OK, "{queue}");
    let ids: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["case-1", "case-2"]);
    assert_eq!(queue[0]["state"], "in_review");
    assert_eq!(queue[0]["method"], "document");
    let (s, b) = ok(&app, Method::GET, "/verification-cases?state=lost", None).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "unknown state");

    // Refused decisions change nothing.
    for (body, expected) in [
        (json!({"decision": "maybe"}), StatusCode::BAD_REQUEST),
        (json!({"decision": "reject"}), StatusCode::BAD_REQUEST),
        (
            json!({"decision": "approve", "subgroups": ["Pirate"]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"decision": "approve", "reason": "mismatch"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"decision": "reject", "reason": "bored"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, b) = ok(
            &app,
            Method::POST,
            "/verification-cases/case-1/decision",
            Some(body.clone()),
        )
        .await;
        assert_error(s, &b, expected, &body.to_string());
    }
    let (s, b) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-none/decision",
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown case");

    let (s, approved) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-1/decision",
        Some(json!({"decision": "approve", "subgroups": ["Veteran"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "verified");
    assert_eq!(approved["subgroups"], json!(["Veteran"]));
    assert_eq!(approved["decided_by"], "admin API");
    let data = app.store.find_user_data(&uuid).await.unwrap().unwrap();
    assert!(data.is_verified("military"));
    // Once: a second decision, either way, is a conflict.
    let (s, b) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-1/decision",
        Some(json!({"decision": "reject", "reason": "mismatch"})),
    )
    .await;
    assert_error(s, &b, StatusCode::CONFLICT, "replayed decision");

    let (s, rejected) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-2/decision",
        Some(json!({"decision": "reject", "reason": "unreadable"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{rejected}");
    assert_eq!(
        (rejected["state"].as_str(), rejected["reason"].as_str()),
        (Some("rejected"), Some("unreadable"))
    );
    assert!(
        !app.store
            .find_user_data(&uuid)
            .await
            .unwrap()
            .unwrap()
            .is_verified("student")
    );
    assert_eq!(
        app.store.find_case("case-2").await.unwrap().unwrap().state,
        CaseState::Rejected
    );
    // Each decision is mailed to the person's sign-in address, the rejection with its reason.
    let outbox = app.data_dir.path().join("outbox");
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains("To: case.vet@example.test\r\n"))
        .collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails
            .iter()
            .any(|m| m.contains("Subject: Your Military verification is approved"))
    );
    assert!(mails.iter().any(
        |m| m.contains("Subject: Your Student verification was not accepted")
            && m.contains("The documents could not be read.")
    ));

    let (s, read) = ok(&app, Method::GET, "/verification-cases/case-1", None).await;
    assert_eq!(s, StatusCode::OK, "{read}");
    assert_eq!(read["document_type"], "dd214");
    assert_eq!(read["evidence"], json!([]));
    let events: Vec<&str> = read["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["verification.approved"]);
    let (s, b) = ok(&app, Method::GET, "/verification-cases/case-none", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown case");

    // Revocation: the verification is taken back, and there is nothing left to revoke.
    let revoke = format!("/users/{uuid}/verifications/military/revoke");
    let (s, b) = ok(&app, Method::POST, &revoke, Some(json!({"reason": ""}))).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "empty reason");
    let (s, revoked) = ok(
        &app,
        Method::POST,
        &revoke,
        Some(json!({"reason": "discharge papers withdrawn"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{revoked}");
    assert_eq!(
        (revoked["id"].as_str(), revoked["state"].as_str()),
        (Some("case-1"), Some("revoked"))
    );
    assert!(
        !app.store
            .find_user_data(&uuid)
            .await
            .unwrap()
            .unwrap()
            .is_verified("military")
    );
    let (s, b) = ok(
        &app,
        Method::POST,
        &revoke,
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "nothing to revoke");
    let (s, _) = call(&app, Method::GET, "/verification-cases", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
