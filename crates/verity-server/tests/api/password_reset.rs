//! A forgotten password (issue 23): the link mailed through the outbox works once, for 30
//! minutes; a reset ends every session and token of the person; known and unknown addresses get
//! the same answer; requests are limited; an account with two-step verification still needs its
//! code (TOTP or a recovery code).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use verity_core::clock::Clock;
use verity_core::secret::token_hash;
use verity_server::Settings;

use crate::helpers::*;

const NEW_PASSWORD: &str = "a brand new passphrase";
const FORGOT: &str = "/account/password/forgot";
const RESET: &str = "/account/password/reset";

/// The links to `path` in the mail to `to` in the outbox.
pub fn links(app: &TestApp, to: &str, path: &str) -> BTreeSet<String> {
    let Ok(dir) = std::fs::read_dir(app.data_dir.path().join("outbox")) else {
        return BTreeSet::new();
    };
    let marker = format!("{}?token=", app.url(path));
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|m| m.contains(&format!("To: {to}\r\n")))
        .flat_map(|m| {
            m.split(&marker)
                .skip(1)
                .map(|rest| rest.chars().take_while(char::is_ascii_hexdigit).collect())
                .collect::<Vec<String>>()
        })
        .collect()
}

/// The one link to `path` mailed to `to` since `before` was read.
pub fn new_link(app: &TestApp, to: &str, path: &str, before: &BTreeSet<String>) -> String {
    let now = links(app, to, path);
    let fresh: Vec<&String> = now.difference(before).collect();
    assert_eq!(fresh.len(), 1, "one new link to {to}: {fresh:?}");
    fresh[0].clone()
}

/// Mail to `to` whose subject is `subject`.
fn mailed_subject(app: &TestApp, to: &str, subject: &str) -> bool {
    let outbox = app.data_dir.path().join("outbox");
    std::fs::read_dir(outbox).is_ok_and(|dir| {
        dir.flatten().any(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|m| {
                m.contains(&format!("To: {to}\r\n")) && m.contains(&format!("Subject: {subject}"))
            })
        })
    })
}

/// Asks for a reset link for `email` from `browser` (from client address `from` when given):
/// the status and the page.
async fn ask(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    from: Option<&str>,
) -> (StatusCode, String, Option<String>) {
    let form = browser.get(app.url(FORGOT)).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let csrf = hidden_value(&form.text().await.unwrap(), "csrf_token").unwrap();
    let mut req = browser
        .post(app.url(FORGOT))
        .form(&[("email", email), ("csrf_token", &csrf)]);
    if let Some(from) = from {
        req = req.header("x-forwarded-for", from);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, resp.text().await.unwrap(), retry)
}

/// Opens the reset link `token` in `browser`: status and page.
async fn open_link(app: &TestApp, browser: &reqwest::Client, token: &str) -> (StatusCode, String) {
    let resp = browser
        .get(app.url(&format!("{RESET}?token={token}")))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Posts the reset form of link `token` (opened first in `browser` for its CSRF token).
async fn choose(
    app: &TestApp,
    browser: &reqwest::Client,
    token: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (_, page) = open_link(app, browser, token).await;
    // A link that no longer works has no form: the browser's token is on the forgot page too.
    let csrf = match hidden_value(&page, "csrf_token") {
        Some(csrf) => csrf,
        None => {
            let forgot = browser.get(app.url(FORGOT)).send().await.unwrap();
            hidden_value(&forgot.text().await.unwrap(), "csrf_token").unwrap()
        }
    };
    let mut form = fields.to_vec();
    form.push(("token", token));
    form.push(("csrf_token", &csrf));
    let resp = browser
        .post(app.url(RESET))
        .form(&form)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Whether `password` signs `email` in.
async fn signs_in_with(app: &TestApp, email: &str, password: &str) -> bool {
    sign_in_answer(app, email, password)
        .await
        .0
        .is_redirection()
}

/// The whole reset: the link from the outbox, a refused form (said beside the field, the link
/// still works), the new password; then every session and refresh token of the person is over,
/// the person is told by mail, and the link never works again.
#[tokio::test]
async fn a_mailed_link_resets_the_password_once_and_ends_every_session_and_token() {
    let app = spawn_app().await;
    let email = "student@sandbox.test";
    let signed_in = new_browser();
    let (status, _) = open_as(&app, &signed_in, "/account", email).await;
    assert_eq!(status, StatusCode::OK);
    let tokens = app.tokens_for(email, "openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The sign-in page offers the way.
    let params = app.confidential_request("openid");
    let signin = new_browser()
        .get(app.authorize_url(&as_pairs(&params)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(signin.contains(&format!("href=\"{FORGOT}\"")), "{signin}");

    let browser = new_browser();
    let before = links(&app, email, RESET);
    let (status, page, _) = ask(&app, &browser, email, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("If an account exists for that address"),
        "{page}"
    );
    let token = new_link(&app, email, RESET, &before);

    let (status, form) = open_link(&app, &browser, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"password_confirm\""), "{form}");
    assert!(!form.contains("name=\"code\""), "no second factor enrolled");

    let mismatch = [
        ("password", NEW_PASSWORD),
        ("password_confirm", "not the same"),
    ];
    let (status, page) = choose(&app, &browser, &token, &mismatch).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains(
            "id=\"password_confirm-error\" role=\"alert\">The two passwords do not match"
        ),
        "{page}"
    );
    // A form without the browser's CSRF token is refused, and changes nothing.
    let resp = new_browser()
        .post(app.url(RESET))
        .form(&[
            ("token", token.as_str()),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let good = [
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    ];
    let (status, page) = choose(&app, &browser, &token, &good).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Your password was changed"), "{page}");
    assert!(mailed_subject(
        &app,
        email,
        "Your Verity password was changed"
    ));

    // The old session is over: the account page sends the browser to sign in.
    let resp = signed_in.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).unwrap().contains("/oauth/authorize"));
    // The refresh token is revoked.
    let resp = app.refresh(&refresh).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(access).await["active"], false);
    // The new password signs in, the old one no longer does.
    assert!(signs_in_with(&app, email, NEW_PASSWORD).await);
    assert!(!signs_in_with(&app, email, PASSWORD).await);

    // Used: the link is refused, opened or posted, with the way to a new one.
    for (status, page) in [
        open_link(&app, &browser, &token).await,
        choose(&app, &browser, &token, &good).await,
    ] {
        assert_eq!(status, StatusCode::GONE);
        assert!(page.contains("expired or was already used"), "{page}");
        assert!(page.contains(&format!("href=\"{FORGOT}\"")), "{page}");
    }
    let audit = app.store.find_audit(None, None, 50).await.unwrap();
    assert!(
        audit.iter().any(|e| e.event == "password.reset"),
        "{audit:?}"
    );
}

/// A link opened 30 minutes after it was mailed is refused (the form too), and only the newest
/// link asked for works; an unknown or malformed one gets the same page.
#[tokio::test]
async fn a_late_replaced_or_unknown_link_is_refused() {
    let app = spawn_app().await;
    let email = "unverified@sandbox.test";
    let browser = new_browser();
    let before = links(&app, email, RESET);
    ask(&app, &browser, email, None).await;
    let late = new_link(&app, email, RESET, &before);
    let (status, _) = open_link(&app, &browser, &late).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(30 * 60);
    let good = [
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    ];
    for (status, page) in [
        open_link(&app, &browser, &late).await,
        choose(&app, &browser, &late, &good).await,
    ] {
        assert_eq!(status, StatusCode::GONE);
        assert!(page.contains("expired or was already used"), "{page}");
    }

    let before = links(&app, email, RESET);
    ask(&app, &browser, email, None).await;
    let first = new_link(&app, email, RESET, &before);
    app.clock.advance(1);
    let before = links(&app, email, RESET);
    ask(&app, &browser, email, None).await;
    let newest = new_link(&app, email, RESET, &before);
    let (status, _) = open_link(&app, &browser, &first).await;
    assert_eq!(status, StatusCode::GONE, "replaced by the newer link");
    for unknown in ["0123456789abcdef0123456789abcdef", "not-a-token", ""] {
        let (status, page) = open_link(&app, &browser, unknown).await;
        assert_eq!(status, StatusCode::GONE, "{unknown}");
        assert!(page.contains("expired or was already used"), "{page}");
    }
    let (status, _) = choose(&app, &browser, &newest, &good).await;
    assert_eq!(status, StatusCode::OK);
    assert!(signs_in_with(&app, email, NEW_PASSWORD).await);
}

/// A known and an unknown address get the same status and the same page; only the known one
/// is mailed. A malformed address is said beside the field.
#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer() {
    let app = spawn_app().await;
    let browser = new_browser();
    let (known_status, known, _) = ask(&app, &browser, "veteran@sandbox.test", None).await;
    let (unknown_status, unknown, _) = ask(&app, &browser, "nobody@example.com", None).await;
    assert_eq!(known_status, StatusCode::OK);
    assert_eq!(unknown_status, known_status);
    assert_eq!(unknown, known);
    assert_eq!(links(&app, "veteran@sandbox.test", RESET).len(), 1);
    assert!(links(&app, "nobody@example.com", RESET).is_empty());

    let (status, page, _) = ask(&app, &browser, "not an address", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("id=\"email-error\" role=\"alert\">Enter the email address"),
        "{page}"
    );
    // Without the form cookie's token, nothing is sent.
    let resp = new_browser()
        .post(app.url(FORGOT))
        .form(&[("email", "veteran@sandbox.test"), ("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(links(&app, "veteran@sandbox.test", RESET).len(), 1);
}

/// Reset requests are limited per target address (known or not, alike) and per client address:
/// 429 with `Retry-After`, nothing mailed; the window passing lets them go again.
#[tokio::test]
async fn reset_requests_are_limited_per_address_and_per_network() {
    let app = spawn_with(|s: &mut Settings| {
        s.trusted_proxies = verity_core::net::parse_list("127.0.0.1").unwrap();
        s.limits.email_code = Some("2/1h".parse().unwrap());
        s.limits.email_code_address = Some("6/1h".parse().unwrap());
    })
    .await;
    let browser = new_browser();
    for to in ["student@sandbox.test", "nobody@example.com"] {
        for i in 0..2 {
            let (status, _, _) = ask(&app, &browser, to, Some("203.0.113.1")).await;
            assert_eq!(status, StatusCode::OK, "{to} {i}");
        }
        let (status, page, retry) = ask(&app, &browser, to, Some("203.0.113.1")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{to}");
        assert_eq!(retry.as_deref(), Some("3600"));
        assert!(
            page.contains("Many emails were asked for this address lately. Try again in an hour."),
            "{page}"
        );
    }
    assert_eq!(links(&app, "student@sandbox.test", RESET).len(), 2);
    // The network's six requests counted (the refused third ones too): the next is refused
    // whatever the address.
    let (status, page, _) = ask(&app, &browser, "more@example.com", Some("203.0.113.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("from this network"), "{page}");
    // Another network is not held back, but the address still is.
    let (status, _, _) = ask(&app, &browser, "more@example.com", Some("198.51.100.2")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = ask(&app, &browser, "student@sandbox.test", Some("198.51.100.2")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(3600);
    let (status, _, _) = ask(&app, &browser, "student@sandbox.test", Some("198.51.100.2")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(links(&app, "student@sandbox.test", RESET).len(), 3);
}

/// An account with an authenticator app: the reset form asks for its code; without it, or with
/// a wrong one, nothing changes (the link still works); a current TOTP code or an unused
/// recovery code lets the reset through.
#[tokio::test]
async fn a_reset_needs_the_second_factor_when_one_is_enrolled() {
    let app = spawn_app().await;
    let email = "veteran@sandbox.test";
    let browser = new_browser();
    let before = links(&app, email, RESET);
    ask(&app, &browser, email, None).await;
    let token = new_link(&app, email, RESET, &before);
    let (_, form) = open_link(&app, &browser, &token).await;
    assert!(form.contains("name=\"code\""), "{form}");

    let (p, c) = (
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    );
    for (case, code, said) in [
        ("no code", "", "Enter the code from your authenticator app"),
        ("a wrong code", "000000", "That code is not valid."),
    ] {
        let (status, page) = choose(&app, &browser, &token, &[p, c, ("code", code)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}");
        assert!(
            page.contains("id=\"code-error\" role=\"alert\""),
            "{case}: {page}"
        );
        assert!(page.contains(said), "{case}: {page}");
        assert!(page.contains("Your password was not changed."), "{case}");
    }
    assert!(signs_in_with(&app, email, PASSWORD).await, "unchanged");

    let code = totp_code(app.clock.now());
    let (status, page) = choose(&app, &browser, &token, &[p, c, ("code", &code)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(signs_in_with(&app, email, NEW_PASSWORD).await);

    // Again with a recovery code (the person lost their app).
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    let hashes = [token_hash("ABCDE12345")];
    app.store
        .replace_recovery_codes(&user.uuid, &hashes)
        .await
        .unwrap();
    let before = links(&app, email, RESET);
    ask(&app, &browser, email, None).await;
    let token = new_link(&app, email, RESET, &before);
    let other = "yet another long passphrase";
    let fields = [
        ("password", other),
        ("password_confirm", other),
        ("code", "abcde-12345"),
    ];
    let (status, page) = choose(&app, &browser, &token, &fields).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(signs_in_with(&app, email, other).await);
}
