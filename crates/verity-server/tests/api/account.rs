//! The account page: sign-in through the first-party app, TOTP enrolment and removal, recovery
//! codes, and withdrawing a remembered consent.

use reqwest::StatusCode;
use serde_json::Value;
use verity_core::clock::Clock;

use crate::helpers::*;

/// Opens /account in `browser`, signing in as `email` on the way (no consent page: first party).
async fn open_account(app: &TestApp, browser: &reqwest::Client, email: &str) -> String {
    let resp = browser.get(app.url("/account")).send().await.unwrap();
    if resp.status() == StatusCode::OK {
        return resp.text().await.unwrap();
    }
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let start = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        start.contains("client_id=verity-account") && start.contains("code_challenge_method=S256")
    );
    let (cb, trace) = app.journey(browser, &start, &Journey::persona(email)).await;
    assert!(
        !trace.pages.contains(&"consent".to_owned()),
        "first party: {:?}",
        trace.pages
    );
    let resp = browser.get(&cb.location).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the callback sends the person to /account"
    );
    let resp = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    html.split(start)
        .nth(1)
        .and_then(|r| r.split(end).next())
        .unwrap()
}

/// Signs `email` in to the confidential app answering the MFA page with `code`; returns the
/// status of the MFA answer and the pages seen.
async fn sign_in_with_code(app: &TestApp, email: &str, code: &str) -> (StatusCode, bool) {
    let browser = new_browser();
    let params = app.confidential_request("openid");
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = browser
        .get(app.authorize_url(&pairs))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let resp = browser
        .post(app.url(&form_action(&page, "/signin").unwrap()))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let next = app.url(resp.headers()["location"].to_str().unwrap());
    let page = browser
        .get(&next)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let Some(action) = form_action(&page, "/mfa") else {
        return (StatusCode::OK, false);
    };
    let resp = browser
        .post(app.url(&action))
        .form(&[("code", code), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    (resp.status(), true)
}

#[tokio::test]
async fn totp_enrolment_recovery_codes_and_removal() {
    let app = spawn_app().await;
    let browser = new_browser();
    let page = open_account(&app, &browser, "student@sandbox.test").await;
    assert!(page.contains("Set up an authenticator app"));
    let csrf = hidden_value(&page, "csrf_token").unwrap();

    // A post without the session's CSRF token is refused.
    let resp = browser
        .post(app.url("/account/totp/start"))
        .form(&[("csrf_token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = browser
        .post(app.url("/account/totp/start"))
        .form(&[("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let page = browser
        .get(app.url("/account/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The QR code is an SVG data URI (minijinja escapes its '/' as an entity inside the attribute).
    assert!(
        page.contains("src=\"data:image&#x2f;svg+xml;base64,"),
        "a QR code: {page}"
    );
    let secret_b32 = between(&page, "id=\"totp-secret\">", "<").to_owned();
    let secret = verity_core::totp::decode_base32(&secret_b32).unwrap();
    let wrong = browser
        .post(app.url("/account/totp/confirm"))
        .form(&[("code", "000000"), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let code = verity_core::totp::code_at(&secret, app.clock.now());
    let resp = browser
        .post(app.url("/account/totp/confirm"))
        .form(&[("code", code.as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);

    // The next sign-in asks for the second factor; a recovery code works once.
    let (status, asked) = sign_in_with_code(&app, "student@sandbox.test", &codes[0]).await;
    assert!(asked, "enrolled users get the MFA page");
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) =
        sign_in_with_code(&app, "student@sandbox.test", &codes[0].to_lowercase()).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "each recovery code works once"
    );
    app.clock.advance(30);
    let (status, _) = sign_in_with_code(
        &app,
        "student@sandbox.test",
        &verity_core::totp::code_at(&secret, app.clock.now()),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The code just used at sign-in is told as already used here too (the same words).
    let used = verity_core::totp::code_at(&secret, app.clock.now());
    let resp = browser
        .post(app.url("/account/totp/remove"))
        .form(&[("code", used.as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(page.contains("That code was already used."), "{page}");

    // Removal needs a current code.
    let resp = browser
        .post(app.url("/account/totp/remove"))
        .form(&[("code", "123456"), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = browser
        .post(app.url("/account/totp/remove"))
        .form(&[("code", codes[1].as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, asked) = sign_in_with_code(&app, "student@sandbox.test", "000000").await;
    assert!(!asked, "no second factor after removal");
    let events: Vec<String> = app
        .store
        .find_audit(None, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    for e in [
        "mfa.enrolled",
        "mfa.recovery_code_used",
        "mfa.success",
        "mfa.failure",
        "mfa.removed",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
}

#[tokio::test]
async fn a_withdrawn_consent_is_asked_for_again() {
    let app = spawn_app().await;
    let browser = new_browser();
    let params = app.confidential_request("openid student");
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = app.authorize_url(&pairs);
    let (_, trace) = app
        .journey(&browser, &url, &Journey::persona("student@sandbox.test"))
        .await;
    assert!(trace.pages.contains(&"consent".to_owned()));
    let page = open_account(&app, &browser, "student@sandbox.test").await;
    assert!(page.contains("Sandbox Confidential App"));
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let resp = browser
        .post(app.url("/account/consents/revoke"))
        .form(&[("client_id", CONFIDENTIAL), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, trace) = app
        .journey(&browser, &url, &Journey::persona("student@sandbox.test"))
        .await;
    assert_eq!(trace.pages, ["consent"], "signed in still, but asked again");
    let rows = app
        .store
        .find_audit(Some(CONFIDENTIAL), None, 100)
        .await
        .unwrap();
    assert!(rows.iter().any(|e| e.event == "consent.revoked"));
    let detail: Vec<&Value> = rows.iter().map(|e| &e.detail).collect();
    assert!(
        !format!("{detail:?}").contains(SECRET),
        "no secrets in the audit trail"
    );
}

#[tokio::test]
async fn the_account_callback_refuses_a_foreign_state() {
    let app = spawn_app().await;
    let resp = app
        .browser
        .get(app.url("/account/callback?code=00000000000000000000000000000000&state=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}
