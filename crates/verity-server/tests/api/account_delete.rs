//! SPEC 14 from `/account`: signing out everywhere else, and deleting the account.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// Two browsers signed in as the same person: ending the others from one signs the other out
/// (its `/account` asks to sign in again), and the one that asked stays signed in.
#[tokio::test]
async fn sign_out_everywhere_else_ends_the_other_sessions_only() {
    let app = spawn_app().await;
    let (here, there) = (new_browser(), new_browser());
    let (status, page) = open_as(&app, &here, "/account", "student@sandbox.test").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sign out everywhere else"), "{page}");
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let (status, _) = open_as(&app, &there, "/account", "student@sandbox.test").await;
    assert_eq!(status, StatusCode::OK);
    // Someone else's session is not touched.
    let other = new_browser();
    let (status, _) = open_as(&app, &other, "/account", "veteran@sandbox.test").await;
    assert_eq!(status, StatusCode::OK);

    // Without the session's CSRF token nothing ends.
    let resp = post_form(&app, &here, "/account/sessions/end-others", "nope", &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = there.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "a refused post ends nothing");

    let resp = post_form(&app, &here, "/account/sessions/end-others", &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp).as_deref(), Some("/account"));

    let resp = there.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the other jar must sign in again"
    );
    let to = location(&resp).unwrap();
    assert!(to.contains("/oauth/authorize"), "{to}");
    let resp = here.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "this session stays");
    let resp = other.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "another person's session stays"
    );
}

const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The admin API's answer to `method` on `path`: status and JSON body (`Null` when none).
async fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
    let resp = app
        .http
        .request(method, app.url(&format!("/api/admin/v1{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A relying party's back channel: forwards every logout-token body it receives.
async fn backchannel_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let router = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, rx)
}

/// Signs `email` up (or in) for the confidential app in `browser`; the token response.
async fn sign_up(app: &TestApp, browser: &reqwest::Client, email: &str) -> Value {
    let mut params = app.confidential_request("openid email");
    params.push(("op", "signup".to_owned()));
    let mut journey = Journey::persona(email);
    journey.password = NEW_PASSWORD.into();
    journey.signup = true;
    let url = app.authorize_url(&as_pairs(&params));
    let (cb, trace) = app.journey(browser, &url, &journey).await;
    assert_eq!(trace.pages[0], "signup");
    app.exchange(cb.code()).await
}

const NEW_PASSWORD: &str = "correct horse battery staple";

/// The `sub` of a token response's ID token.
async fn sub_of(app: &TestApp, tokens: &Value, client_id: &str) -> String {
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        client_id,
    );
    id["sub"].as_str().unwrap().to_owned()
}

/// The person deletes their account: a wrong password deletes nothing (and says so beside the
/// field), a post without the CSRF token is refused; then the refresh token is refused
/// (`invalid_grant`), the access token is inactive, the admin API answers 404, the app with a
/// back channel is told, the old email signs in as an unknown one, the audit rows keep the
/// uuid without an address, and the same email signs up again as a new person.
#[tokio::test]
async fn deleting_the_account_ends_everything_and_frees_the_email() {
    let app =
        spawn_with(|s| s.admin_token = Some(verity_server::settings::Secret(ADMIN_TOKEN.into())))
            .await;
    let (bc_url, mut told) = backchannel_receiver().await;
    app.create_app("bc-app", |a| {
        a.backchannel_logout_uri = Some(bc_url.clone())
    })
    .await;
    let browser = new_browser();
    let tokens = sign_up(&app, &browser, "leaver@example.com").await;
    let sub = sub_of(&app, &tokens, CONFIDENTIAL).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    // The same session signs in to the app with a back channel.
    let bc = app.authorize_url(&[
        ("client_id", "bc-app"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ]);
    let (cb, _) = app
        .journey(&browser, &bc, &Journey::persona("leaver@example.com"))
        .await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some(("bc-app", SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);

    let (status, found) = admin(&app, reqwest::Method::GET, &format!("/users/{sub}")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["uuid"], sub.as_str());
    assert_eq!(found["email"], "leaver@example.com");
    assert!(
        found["attributes"].is_object() && found["verifications"].is_array(),
        "{found}"
    );

    let (status, page) = open_as(&app, &browser, "/account", "leaver@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/account/delete\""), "{page}");
    let (status, page) = open_as(&app, &browser, "/account/delete", "leaver@example.com").await;
    assert_eq!(status, StatusCode::OK);
    for said in [
        "attributes",
        "documents you sent are destroyed",
        "every token",
        "without your email or network address",
        "sign up again",
    ] {
        assert!(page.contains(said), "the page says {said:?}: {page}");
    }
    assert!(
        !page.contains("name=\"code\""),
        "no second factor enrolled: no code asked"
    );
    let csrf = hidden_value(&page, "csrf_token").unwrap();

    // Without the CSRF token, or with a wrong password: nothing is deleted.
    let resp = post_form(
        &app,
        &browser,
        "/account/delete",
        "nope",
        &[("password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = post_form(
        &app,
        &browser,
        "/account/delete",
        &csrf,
        &[("password", "wrong password!")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.unwrap();
    assert_eq!(
        alert(&html),
        Some("That password is not correct. Nothing was deleted.")
    );
    assert!(
        html.contains("aria-describedby=\"password-error\""),
        "beside the field: {html}"
    );
    assert_eq!(
        admin(&app, reqwest::Method::GET, &format!("/users/{sub}"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(app.introspect(&access).await["active"], true);

    let resp = post_form(
        &app,
        &browser,
        "/account/delete",
        &csrf,
        &[("password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cleared = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("verity_session=;"), "{cleared}");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Your account is deleted")
    );

    let resp = app.refresh(&refresh).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        app.introspect(&access).await,
        serde_json::json!({"active": false})
    );
    let (status, body) = admin(&app, reqwest::Method::GET, &format!("/users/{sub}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        admin(&app, reqwest::Method::DELETE, &format!("/users/{sub}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // The app with a back channel was told, for this person.
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), told.recv())
        .await
        .expect("a back-channel notice arrives")
        .unwrap();
    let token = body.strip_prefix("logout_token=").unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], sub.as_str());

    // The old email answers as an unknown one.
    let old = sign_in_answer(&app, "leaver@example.com", NEW_PASSWORD).await;
    let unknown = sign_in_answer(&app, "nobody@example.com", NEW_PASSWORD).await;
    assert_eq!(old, unknown);
    assert_eq!(old.0, StatusCode::UNAUTHORIZED);

    // The audit trail keeps the uuid, without any address.
    let kept = app.store.find_audit(None, Some(&sub), 100).await.unwrap();
    assert!(
        kept.iter().any(|e| e.event == "account.deleted"),
        "{kept:?}"
    );
    assert!(kept.iter().all(|e| e.address.is_none()), "{kept:?}");

    // The email signs up again, as a new person.
    let again = sign_up(&app, &new_browser(), "leaver@example.com").await;
    let new_sub = sub_of(&app, &again, CONFIDENTIAL).await;
    assert_ne!(new_sub, sub);
}

/// With a second factor enrolled the code is asked too: a wrong one deletes nothing and says
/// so beside the field. The admin API deletes the same account (with its verification cases
/// and their evidence): 204, then 404; its session and tokens go with it.
#[tokio::test]
async fn a_wrong_code_deletes_nothing_and_the_admin_api_deletes() {
    let app =
        spawn_with(|s| s.admin_token = Some(verity_server::settings::Secret(ADMIN_TOKEN.into())))
            .await;
    let browser = new_browser();
    let tokens = app
        .tokens_for("veteran@sandbox.test", "openid student")
        .await;
    let sub = sub_of(&app, &tokens, CONFIDENTIAL).await;
    let (status, page) = open_as(&app, &browser, "/account/delete", "veteran@sandbox.test").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"code\""), "{page}");
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let resp = post_form(
        &app,
        &browser,
        "/account/delete",
        &csrf,
        &[("password", PASSWORD), ("code", "000000")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.unwrap();
    assert!(
        alert(&html).unwrap().ends_with("Nothing was deleted."),
        "{html}"
    );
    assert!(
        html.contains("aria-describedby=\"code-error\""),
        "beside the field: {html}"
    );
    assert_eq!(
        admin(&app, reqwest::Method::GET, &format!("/users/{sub}"))
            .await
            .0,
        StatusCode::OK
    );
    let resp = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "still signed in");

    let (status, _) = admin(&app, reqwest::Method::DELETE, &format!("/users/{sub}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        admin(&app, reqwest::Method::GET, &format!("/users/{sub}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let resp = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let resp = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the session went with the account"
    );
}
