//! Confirming the sign-in email (issue 23): a sign-up is mailed a link (24 hours, once) and is
//! unconfirmed until it is followed; `emails_confirmed` (ID.me) says so wherever the email is
//! released; a group cannot be verified by email domain before; accounts an operator creates
//! are confirmed from the start.

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::clock::Clock;
use verity_server::Settings;

use crate::helpers::*;
use crate::password_reset::{links, new_link};

const CONFIRM: &str = "/account/email/confirm";
const NEW_PASSWORD: &str = "correct horse battery staple";
const ADMIN_TOKEN: &str = "admin-token-for-email-tests-0123456789";

/// Signs `email` up for the confidential app in `browser` (which keeps the session): the token
/// response.
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

/// Opens `path` in `browser`, following Verity's redirects (a signed-in browser goes through
/// the account client's sign-in without a page): the final status and page.
async fn follow(app: &TestApp, browser: &reqwest::Client, path: &str) -> (StatusCode, String) {
    follow_as(app, browser, path, None).await
}

/// [`follow`], signing in with `journey` when the session is over.
async fn follow_as(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    journey: Option<&Journey>,
) -> (StatusCode, String) {
    let mut url = app.url(path);
    for _ in 0..10 {
        let resp = browser.get(&url).send().await.unwrap();
        let Some(next) = location(&resp) else {
            let status = resp.status();
            return (status, resp.text().await.unwrap());
        };
        if let Some(j) = journey.filter(|_| next.contains("/oauth/authorize")) {
            let start = if next.starts_with("http") {
                next
            } else {
                app.url(&next)
            };
            let (cb, _) = app.journey(browser, &start, j).await;
            url = cb.location;
            continue;
        }
        url = if next.starts_with("http") {
            next
        } else {
            app.url(&next)
        };
    }
    panic!("too many redirects from {path}");
}

/// The value of attribute `handle` in an `attributes.json` answer.
fn attribute(attrs: &Value, handle: &str) -> Value {
    attrs["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["handle"] == handle)
        .map(|a| a["value"].clone())
        .unwrap_or_else(|| panic!("no {handle} in {attrs}"))
}

/// A sign-up goes on at once and is mailed a link; until it is followed the email is reported
/// unconfirmed and the account page offers to send it again; the link confirms once, and a
/// second click says it is already done.
#[tokio::test]
async fn a_new_account_confirms_its_email_by_the_mailed_link() {
    let app = spawn_app().await;
    let browser = new_browser();
    let email = "new.person@example.com";
    let tokens = sign_up(&app, &browser, email).await;
    let access = tokens["access_token"].as_str().unwrap();
    let attrs = app.attributes(access).await;
    assert_eq!(attribute(&attrs, "email"), json!(email));
    assert_eq!(attribute(&attrs, "emails_confirmed"), json!(false));
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id["emails_confirmed"], json!(false), "{id}");

    let (status, account) = follow(&app, &browser, "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(account.contains("is not confirmed yet"), "{account}");
    assert!(
        account.contains("action=\"/account/email/resend\""),
        "{account}"
    );

    let token = new_link(&app, email, CONFIRM, &Default::default());
    let url = format!("{CONFIRM}?token={token}");
    let resp = new_browser().get(app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Your email is confirmed"), "{page}");
    let resp = new_browser().get(app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "a second click");
    assert!(resp.text().await.unwrap().contains("was already confirmed"));

    let attrs = app.attributes(access).await;
    assert_eq!(attribute(&attrs, "emails_confirmed"), json!(true));
    let (_, account) = follow(&app, &browser, "/account").await;
    assert!(account.contains("is confirmed."), "{account}");
    assert!(!account.contains("/account/email/resend"), "{account}");
}

/// An OIDC-family app receives OIDC Core's `email_verified` beside `email`; an ID.me-family app
/// `emails_confirmed`; discovery lists both.
#[tokio::test]
async fn the_email_is_released_with_whether_it_is_confirmed() {
    let app = spawn_app().await;
    app.create_app("oidc-plain", |a| {
        a.profile = verity_core::identity::Family::Oidc;
    })
    .await;
    let url = app.authorize_url(&[
        ("client_id", "oidc-plain"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid email"),
    ]);
    let (cb, _) = app
        .journey(
            &new_browser(),
            &url,
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some(("oidc-plain", SECRET)),
        )
        .await;
    let tokens: Value = resp.json().await.unwrap();
    let jwks = app.jwks().await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &app.issuer,
        "oidc-plain",
    );
    assert_eq!(id["email"], "student@sandbox.test", "{id}");
    assert_eq!(id["email_verified"], json!(true), "{id}");
    assert!(id.get("emails_confirmed").is_none(), "{id}");

    let tokens = app.tokens_for("student@sandbox.test", "openid email").await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id["emails_confirmed"], json!(true), "{id}");
    let supported = app.discovery().await["claims_supported"].clone();
    for claim in ["emails_confirmed", "email_verified"] {
        assert!(
            supported.as_array().unwrap().contains(&json!(claim)),
            "{claim}: {supported}"
        );
    }
}

/// A late link (24 hours) is refused with the way to a new one; the account page sends a new
/// link, under the mail limit (429 on the account page past it).
#[tokio::test]
async fn a_late_link_is_refused_and_a_new_one_can_be_sent() {
    let app = spawn_with(|s: &mut Settings| {
        s.limits.email_code = Some("1/1h".parse().unwrap());
    })
    .await;
    let browser = new_browser();
    let email = "late.person@example.com";
    sign_up(&app, &browser, email).await;
    let first = new_link(&app, email, CONFIRM, &Default::default());
    app.clock.advance(24 * 3600);
    let resp = new_browser()
        .get(app.url(&format!("{CONFIRM}?token={first}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::GONE);
    let page = resp.text().await.unwrap();
    assert!(page.contains("expired or was already used"), "{page}");
    assert!(page.contains("Send the link again"), "{page}");
    for bad in ["nope", "0123456789abcdef0123456789abcdef"] {
        let resp = new_browser()
            .get(app.url(&format!("{CONFIRM}?token={bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::GONE, "{bad}");
    }

    // The session ended meanwhile: sign in again.
    let mut journey = Journey::persona(email);
    journey.password = NEW_PASSWORD.into();
    let (status, account) = follow_as(&app, &browser, "/account", Some(&journey)).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    let csrf = hidden_value(&account, "csrf_token").unwrap();
    let before = links(&app, email, CONFIRM);
    let resp = post_form(&app, &browser, "/account/email/resend", &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let second = new_link(&app, email, CONFIRM, &before);
    let resp = post_form(&app, &browser, "/account/email/resend", &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let page = resp.text().await.unwrap();
    assert!(page.contains("Try again in"), "{page}");
    assert_eq!(links(&app, email, CONFIRM).len(), 2, "nothing more mailed");

    let resp = new_browser()
        .get(app.url(&format!("{CONFIRM}?token={second}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    assert_eq!(user.email_confirmed_at, Some(app.clock.now()));
}

/// A group cannot be verified by email domain while the sign-in email is unconfirmed: the page
/// says so beside the address, links to the resend, and mails nothing; once confirmed, the code
/// goes out.
#[tokio::test]
async fn email_domain_verification_waits_for_a_confirmed_email() {
    let app = spawn_app().await;
    let browser = new_browser();
    let email = "worker@example.com";
    sign_up(&app, &browser, email).await;
    let path = "/account/verifications/government";
    let (status, page) = follow(&app, &browser, path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let fields = [("method", "email_domain"), ("email", "sam@agency.gov")];
    let resp = post_form(&app, &browser, path, &csrf, &fields).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Confirm your sign-in email first"), "{page}");
    assert!(
        page.contains("href=\"/account#email-unconfirmed\""),
        "{page}"
    );
    assert!(links(&app, "sam@agency.gov", CONFIRM).is_empty());
    let outbox = app.data_dir.path().join("outbox");
    let to_agency = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|m| m.contains("To: sam@agency.gov"))
        })
        .count();
    assert_eq!(to_agency, 0, "no code mailed");

    let token = new_link(&app, email, CONFIRM, &Default::default());
    let resp = new_browser()
        .get(app.url(&format!("{CONFIRM}?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post_form(&app, &browser, path, &csrf, &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

/// Accounts an operator creates (admin API) and the sandbox's personas count as confirmed
/// (SPEC 12); no confirmation mail goes to them.
#[tokio::test]
async fn operator_created_accounts_are_confirmed() {
    let app = spawn_with(|s: &mut Settings| {
        s.admin_token = Some(verity_server::settings::Secret(ADMIN_TOKEN.into()));
    })
    .await;
    let resp = app
        .http
        .post(app.url("/api/admin/v1/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"email": "made@example.com", "password": "long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    for email in [
        "made@example.com",
        "veteran@sandbox.test",
        "student@sandbox.test",
    ] {
        let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
        assert!(user.email_confirmed_at.is_some(), "{email}");
        assert!(links(&app, email, CONFIRM).is_empty(), "{email}");
    }
}
