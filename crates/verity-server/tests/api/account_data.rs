//! The person's own data (SPEC 14): what each app received (a release per code issued) on
//! `/account` and in the download, the download's shape and its lack of secrets, the activity
//! page, and withdrawing an app revoking its refresh tokens.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use serde_json::Value;
use verity_core::clock::Clock;
use verity_core::identity::released_handles;
use verity_core::secret::token_hash;

use crate::helpers::*;

const SCOPE: &str = "openid email student";

/// A browser whose cookies the test can read.
fn browser_with_jar() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .build()
        .unwrap();
    (client, jar)
}

/// Signs `email` in to the confidential app for `scope` in `browser`; the token response.
async fn sign_in_to_app(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    scope: &str,
) -> (String, Value) {
    let params = app.confidential_request(scope);
    let (cb, _) = app
        .journey(
            browser,
            &app.authorize_url(&as_pairs(&params)),
            &Journey::persona(email),
        )
        .await;
    let code = cb.code().to_owned();
    let tokens = app.exchange(&code).await;
    (code, tokens)
}

/// The download, with its headers checked.
async fn download(app: &TestApp, browser: &reqwest::Client, email: &str) -> (String, Value) {
    // Signed in to the account page first (the download itself does not start a sign-in).
    let (status, _) = open_as(app, browser, "/account", email).await;
    assert_eq!(status, StatusCode::OK);
    let resp = browser.get(app.url("/account/data")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"verity-data.json\""
    );
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body = resp.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap();
    (body, json)
}

fn expected_handles(app: &TestApp, scope: &str) -> Vec<String> {
    released_handles(&app.state.policies_for(scope.split(' ')))
}

#[tokio::test]
async fn a_code_flow_records_one_release_shown_on_account_and_in_the_download() {
    let app = spawn_app().await;
    let (browser, _) = browser_with_jar();
    let email = "student@sandbox.test";
    let signed_in_at = app.clock.now();
    let (_, tokens) = sign_in_to_app(&app, &browser, email, SCOPE).await;
    // Userinfo and a refresh record nothing more: one release per code issued.
    let access = tokens["access_token"].as_str().unwrap();
    let resp = app.get_bearer("/api/public/v3/userinfo", access).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let refreshed = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), StatusCode::OK);

    let handles = expected_handles(&app, SCOPE);
    assert!(handles.contains(&"email".to_owned()), "{handles:?}");
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    let releases = app
        .store
        .find_releases(&user.uuid, None, 100)
        .await
        .unwrap();
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0].client_id, CONFIDENTIAL);
    assert_eq!(releases[0].handles, handles);
    assert_eq!(releases[0].policies, ["openid", "email", "student"]);
    assert_eq!(releases[0].at, signed_in_at);

    let (status, page) = open_as(&app, &browser, "/account", email).await;
    assert_eq!(status, StatusCode::OK);
    let apps = page.split("<h2>Apps you use</h2>").nth(1).unwrap();
    let apps = apps.split("<h2>").next().unwrap();
    assert!(apps.contains("Sandbox Confidential App"), "{apps}");
    assert!(apps.contains(&handles.join(", ")), "{apps}");
    assert!(apps.contains("Student"), "the policy by name: {apps}");
    assert!(
        apps.contains("datetime=\""),
        "first and last sign-in as moments: {apps}"
    );
    assert!(
        !apps.contains("verity-account"),
        "Verity's own account page is not listed"
    );

    let (_, data) = download(&app, &browser, email).await;
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = [
        "uuid",
        "email",
        "email_confirmed_at",
        "attributes",
        "verifications",
        "apps",
        "sign_ins",
        "sessions",
        "factors",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(data["uuid"], user.uuid.as_str());
    assert_eq!(data["email"], email);
    assert!(
        data["email_confirmed_at"].is_i64(),
        "a persona is confirmed"
    );
    let stored = app.store.find_user_data(&user.uuid).await.unwrap().unwrap();
    assert_eq!(
        data["attributes"],
        serde_json::to_value(&stored.attributes).unwrap()
    );
    let student = data["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["group"] == "student")
        .unwrap_or_else(|| panic!("{}", data["verifications"]));
    assert_eq!(student["state"], "verified");
    assert!(student["subgroups"].is_array());
    assert!(student["method"].is_string());
    assert!(student["decided_at"].is_i64());

    let apps = data["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "{apps:?}");
    let a = &apps[0];
    assert_eq!(a["client_id"], CONFIDENTIAL);
    assert_eq!(a["name"], "Sandbox Confidential App");
    assert_eq!(
        a["policies"],
        serde_json::json!(["openid", "email", "student"])
    );
    assert_eq!(a["first_sign_in"], signed_in_at);
    assert_eq!(a["last_sign_in"], signed_in_at);
    let releases = a["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0]["time"], signed_in_at);
    assert_eq!(releases[0]["handles"], serde_json::json!(handles));

    let sign_ins = data["sign_ins"].as_array().unwrap();
    let to_app = sign_ins
        .iter()
        .find(|s| s["client_id"] == CONFIDENTIAL)
        .unwrap_or_else(|| panic!("{sign_ins:?}"));
    assert_eq!(to_app["method"], "password");
    assert_eq!(to_app["app"], "Sandbox Confidential App");
    assert!(to_app["time"].is_i64());

    let sessions = data["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["current"], true);
    assert!(sessions[0]["expires_at"].is_i64());
    assert_eq!(
        data["factors"],
        serde_json::json!([{"kind": "password", "name": "Password"}])
    );
}

#[tokio::test]
async fn the_download_holds_no_secret_hash_token_or_code() {
    let app = spawn_app().await;
    let (browser, jar) = browser_with_jar();
    let email = "veteran@sandbox.test";
    let (code, tokens) = sign_in_to_app(&app, &browser, email, "openid email military").await;
    let (body, data) = download(&app, &browser, email).await;
    assert_eq!(
        data["factors"],
        serde_json::json!([
            {"kind": "password", "name": "Password"},
            {"kind": "totp", "name": "Authenticator app"}
        ])
    );
    assert_eq!(data["apps"][0]["client_id"], CONFIDENTIAL, "{data}");

    let url = reqwest::Url::parse(&app.url("/")).unwrap();
    let cookies = jar.cookies(&url).unwrap();
    let session = cookies
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|c| c.strip_prefix("verity_session="))
        .unwrap()
        .to_owned();
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    let mut secrets = vec![
        session.clone(),
        token_hash(&session),
        code.clone(),
        token_hash(&code),
        SECRET.to_owned(),
        PASSWORD.to_owned(),
        TOTP_SECRET.to_owned(),
        user.password_hash.clone(),
    ];
    for name in ["access_token", "refresh_token", "id_token"] {
        let t = tokens[name].as_str().unwrap().to_owned();
        secrets.push(token_hash(&t));
        secrets.push(t);
    }
    for s in app
        .store
        .find_user_sessions(&user.uuid, app.clock.now())
        .await
        .unwrap()
    {
        secrets.push(s.id_hash);
    }
    for s in &secrets {
        assert!(s.len() >= 8, "a real secret: {s}");
        assert!(!body.contains(s.as_str()), "{s} in the download");
    }
}

#[tokio::test]
async fn withdrawing_an_app_revokes_its_refresh_tokens() {
    let app = spawn_app().await;
    let (browser, _) = browser_with_jar();
    let email = "student@sandbox.test";
    let (_, tokens) = sign_in_to_app(&app, &browser, email, SCOPE).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (_, page) = open_as(&app, &browser, "/account", email).await;
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let resp = post_form(
        &app,
        &browser,
        "/account/consents/revoke",
        &csrf,
        &[("client_id", CONFIDENTIAL)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = app.refresh(refresh).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        app.introspect(tokens["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
}

#[tokio::test]
async fn activity_lists_the_sign_in_with_method_app_and_address() {
    let app = spawn_app().await;
    let (browser, _) = browser_with_jar();
    let email = "veteran@sandbox.test";
    sign_in_to_app(&app, &browser, email, "openid email").await;
    let (status, page) = open_as(&app, &browser, "/account/activity", email).await;
    assert_eq!(status, StatusCode::OK);
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    let signin = app
        .store
        .find_audit(Some(CONFIDENTIAL), Some(&user.uuid), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event == "signin.success")
        .unwrap();
    let address = signin.address.unwrap();
    let line = page
        .split("<li>")
        .find(|l| {
            l.contains("Signed in with your password") && l.contains("Sandbox Confidential App")
        })
        .unwrap_or_else(|| panic!("{page}"));
    assert!(line.contains(&address), "{line}");
    assert!(line.contains("<time datetime=\""), "{line}");
    assert!(
        page.contains("Second step with an authenticator (TOTP) code"),
        "{page}"
    );
    assert!(page.contains("Released to an app: uuid, email"), "{page}");
    // Newest first: the second step came after the password.
    let second = page.find("Second step with an authenticator").unwrap();
    let first = page.find("Signed in with your password").unwrap();
    assert!(second < first, "newest first");
    let resp = browser
        .get(app.url("/account/activity?page=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Nothing yet."));
}

#[tokio::test]
async fn activity_names_a_sign_in_to_the_developer_console() {
    let app = spawn_app().await;
    let (browser, _) = browser_with_jar();
    let email = "student@sandbox.test";
    let (status, _) = open_as(&app, &browser, "/developer", email).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = open_as(&app, &browser, "/account/activity", email).await;
    let line = page
        .split("<li>")
        .find(|l| l.contains("Signed in with your password"))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(line.contains("(Developer console)"), "{line}");
}
