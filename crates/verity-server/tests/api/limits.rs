//! Limits on what one address, account or organization may create or send (issue 28 item 2):
//! sign-ups per client address, code mail per target and per client address, invitations per
//! organization, organizations and apps per account. Over a limit: 429 with `Retry-After`, the
//! same form again with the input kept and when to try again in words; the refusal is counted
//! in `/metrics` and audited. The clock is moved, never waited for.

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::limits::Limit;
use verity_server::Settings;

use crate::helpers::*;

const METRICS_TOKEN: &str = "metrics-token-0123456789";
const FLOODER: &str = "203.0.113.5";
const NEIGHBOUR: &str = "198.51.100.7";
/// The password of new accounts (the sandbox's own is printed on every page).
const NEW_PASSWORD: &str = "correct horse battery staple";

fn limit(text: &str) -> Option<Limit> {
    Some(text.parse().unwrap())
}

/// Requests from the test carry `X-Forwarded-For`, believed from 127.0.0.1 (the trusted-proxy
/// rule that yields the client address); the metrics are readable.
fn behind_a_proxy(s: &mut Settings) {
    s.trusted_proxies = verity_core::net::parse_list("127.0.0.1").unwrap();
    s.metrics_token = Some(verity_server::settings::Secret(METRICS_TOKEN.into()));
}

/// A sign-up form of a fresh authorization request, opened from `from`: its action and CSRF
/// token.
async fn signup_form(app: &TestApp, browser: &reqwest::Client, from: &str) -> (String, String) {
    let mut pairs = app.confidential_request("openid email");
    pairs.push(("op", "signup".into()));
    let resp = browser
        .get(app.authorize_url(&as_pairs(&pairs)))
        .header("x-forwarded-for", from)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let action = form_action(&html, "/signup").expect("a sign-up form");
    (action, hidden_value(&html, "csrf_token").unwrap())
}

/// Posts the sign-up form for `email` from `from`.
async fn post_signup(
    app: &TestApp,
    browser: &reqwest::Client,
    (action, csrf): &(String, String),
    email: &str,
    from: &str,
) -> reqwest::Response {
    let fields = [
        ("email", email),
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
        ("csrf_token", csrf.as_str()),
    ];
    browser
        .post(app.url(action))
        .header("x-forwarded-for", from)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// A sign-up in a fresh browser from `from`, whatever the answer.
async fn signup(app: &TestApp, email: &str, from: &str) -> reqwest::Response {
    let browser = new_browser();
    let form = signup_form(app, &browser, from).await;
    post_signup(app, &browser, &form, email, from).await
}

fn retry_after(resp: &reqwest::Response) -> i64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The value of the one `/metrics` sample whose line holds `labels`.
async fn metric(app: &TestApp, name: &str, labels: &str) -> f64 {
    metric_sample(app, METRICS_TOKEN, name, labels).await
}

/// Past the sign-up limit of a client address: 429 with `Retry-After` (the seconds left in the
/// window), the form again with the email typed (never the password) and when to try again; no
/// account made; counted in the metrics and audited. Another address is not limited; once the
/// window has passed the same form goes through.
#[tokio::test]
async fn signups_past_the_limit_answer_429_until_the_window_passes() {
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.limits.signup = limit("3/10m");
    })
    .await;
    for i in 0..3 {
        let resp = signup(&app, &format!("person{i}@example.com"), FLOODER).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign-up {i}");
    }
    app.clock.advance(120);
    let browser = new_browser();
    let form = signup_form(&app, &browser, FLOODER).await;
    let resp = post_signup(&app, &browser, &form, "Late.Comer@Example.com", FLOODER).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp), 480);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("You have created many accounts from this network. Try again in 8 minutes."),
        "{page}"
    );
    assert!(form_action(&page, "/signup").is_some(), "the same form");
    assert!(page.contains(r#"value="late.comer@example.com""#), "{page}");
    assert!(!page.contains(NEW_PASSWORD), "never the password");
    let user = app.store.find_user_by_email("late.comer@example.com");
    assert!(user.await.unwrap().is_none(), "no account made");
    let refusals = "verity_limit_refusals_total";
    assert_eq!(metric(&app, refusals, r#"limit="signup""#).await, 1.0);
    assert_eq!(metric(&app, refusals, r#"limit="apps""#).await, 0.0);
    let audit = app
        .store
        .find_audit(Some(CONFIDENTIAL), None, 10)
        .await
        .unwrap();
    let refused = audit.iter().find(|e| e.event == "limit.reached").unwrap();
    assert_eq!(refused.detail["limit"], "signup");
    assert_eq!(refused.address.as_deref(), Some(FLOODER));

    // Another network signs up meanwhile.
    let resp = signup(&app, "neighbour@example.com", NEIGHBOUR).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // A second before the window ends: still refused; at its end the same form goes through.
    app.clock.advance(479);
    let resp = post_signup(&app, &browser, &form, "late.comer@example.com", FLOODER).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp), 1);
    app.clock.advance(1);
    let resp = post_signup(&app, &browser, &form, "late.comer@example.com", FLOODER).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let user = app.store.find_user_by_email("late.comer@example.com");
    assert!(user.await.unwrap().is_some());
}

/// A sign-up flood from one address, up to the default limit and past it, does not slow a
/// sign-in of an existing account from that address: a refused sign-up never waits for a
/// password-hashing slot (here all of them are held, so one that did would be answered 503
/// after ten seconds), and the sign-in succeeds.
#[tokio::test]
async fn a_signup_flood_does_not_slow_a_signin_from_the_same_address() {
    let app = spawn_with(behind_a_proxy).await;
    let allowed = app.settings.limits.signup.unwrap().count;
    assert_eq!(allowed, 10, "the default");
    for i in 0..allowed {
        let resp = signup(&app, &format!("flood{i}@example.com"), FLOODER).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign-up {i}");
    }
    let slots = app.state.hashing.available_permits() as u32;
    let held = app.state.hashing.acquire_many(slots).await.unwrap();
    for i in 0..5 {
        let resp = signup(&app, &format!("more{i}@example.com"), FLOODER).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "{i}");
    }
    drop(held);

    let browser = new_browser();
    let (action, csrf) = {
        let resp = browser
            .get(app.authorize_url(&as_pairs(&app.confidential_request("openid email"))))
            .header("x-forwarded-for", FLOODER)
            .send()
            .await
            .unwrap();
        let html = resp.text().await.unwrap();
        let action = form_action(&html, "/signin").expect("a sign-in form");
        (action, hidden_value(&html, "csrf_token").unwrap())
    };
    let fields = [
        ("email", "student@sandbox.test"),
        ("password", PASSWORD),
        ("csrf_token", csrf.as_str()),
    ];
    let resp = browser
        .post(app.url(&action))
        .header("x-forwarded-for", FLOODER)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "signed in");
    let audit = app.store.find_audit(Some(CONFIDENTIAL), None, 50).await;
    let events: Vec<String> = audit.unwrap().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"signin.success".to_owned()), "{events:?}");
}

/// Nodes on one database share the counts: sign-ups on either node count against one limit.
#[tokio::test]
async fn nodes_share_the_counts() {
    let a = spawn_with(|s| {
        behind_a_proxy(s);
        s.limits.signup = limit("2/10m");
    })
    .await;
    let b = a.second_node().await;
    let resp = signup(&a, "one@example.com", FLOODER).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = signup(&b, "two@example.com", FLOODER).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    for node in [&a, &b] {
        let resp = signup(node, "three@example.com", FLOODER).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

/// Posts a form of Verity's own pages with its CSRF token, from client address `from`.
async fn post_from(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    from: &str,
) -> reqwest::Response {
    let mut form = fields.to_vec();
    form.push(("csrf_token", csrf));
    browser
        .post(app.url(path))
        .header("x-forwarded-for", from)
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Whether a mail to `to` is in the outbox.
fn mailed(app: &TestApp, to: &str) -> bool {
    let outbox = app.data_dir.path().join("outbox");
    std::fs::read_dir(&outbox).is_ok_and(|dir| {
        dir.flatten().any(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|m| m.contains(&format!("To: {to}")))
        })
    })
}

/// Code mail (the email-domain verification code, the "confirmation resend" of today) is
/// limited per target address and per client address: 429 with `Retry-After`, the address kept,
/// nothing mailed. Another client address still sends; the window passing lets mail go again.
#[tokio::test]
async fn code_mail_is_limited_per_target_and_per_client_address() {
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.limits.email_code = limit("2/1h");
        s.limits.email_code_address = limit("4/1h");
    })
    .await;
    let path = "/account/verifications/government";
    let browser = new_browser();
    let (_, page) = open_as(&app, &browser, path, "unverified@sandbox.test").await;
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let send = |to: &'static str, from: &'static str| {
        let (app, browser, csrf) = (&app, &browser, &csrf);
        async move {
            let fields = [("method", "email_domain"), ("email", to)];
            post_from(app, browser, path, csrf, &fields, from).await
        }
    };
    let target = "target@agency.gov";
    for i in 0..2 {
        let resp = send(target, FLOODER).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{i}");
        // Past the one-minute resend interval of one case.
        app.clock.advance(61);
    }
    let resp = send(target, FLOODER).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp), 3600 - 122);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("Many codes were sent to this address lately. Try again in 58 minutes."),
        "{page}"
    );
    assert!(page.contains(&format!(r#"value="{target}""#)), "input kept");

    // The client address's fourth (counted before the target refused the third), then its
    // fifth, refused.
    let resp = send("other@agency.gov", FLOODER).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    app.clock.advance(61);
    let resp = send("another@agency.gov", FLOODER).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("Many codes were sent from this network lately. Try again in"),
        "{page}"
    );
    assert!(
        !mailed(&app, "another@agency.gov"),
        "refused: nothing mailed"
    );
    let refusals = "verity_limit_refusals_total";
    let per_target = metric(&app, refusals, r#"limit="email_code""#).await;
    assert_eq!(per_target, 1.0);
    let per_address = metric(&app, refusals, r#"limit="email_code_address""#).await;
    assert_eq!(per_address, 1.0);

    // Another account on another network is not limited by the flood, but the target still is.
    let neighbour = new_browser();
    let (_, page) = open_as(&app, &neighbour, path, "veteran@sandbox.test").await;
    let c = hidden_value(&page, "csrf_token").unwrap();
    let fields = [("method", "email_domain"), ("email", "vet@agency.gov")];
    let resp = post_from(&app, &neighbour, path, &c, &fields, NEIGHBOUR).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let fields = [("method", "email_domain"), ("email", target)];
    let resp = post_from(&app, &neighbour, path, &c, &fields, NEIGHBOUR).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);

    // An hour after the first: mail goes to the target again.
    app.clock.advance(3600);
    let resp = post_from(&app, &neighbour, path, &c, &fields, NEIGHBOUR).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(mailed(&app, target));
}

/// Opens the console as `email` and creates an organization: its path and the CSRF token.
async fn console_org(app: &TestApp, browser: &reqwest::Client, email: &str) -> (String, String) {
    let (_, home) = open_as(app, browser, "/developer", email).await;
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    let name = format!("Org of {email}");
    let fields = [("name", name.as_str())];
    let resp = post_form(app, browser, "/developer/orgs", &csrf, &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    (location(&resp).unwrap(), csrf)
}

/// Invitations are limited per organization: past the limit, 429 with `Retry-After`, the
/// organization's page with the email and role kept, nothing mailed; another organization of
/// the same person still invites; a day later invitations go again.
#[tokio::test]
async fn invitations_are_limited_per_organization() {
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.limits.invitations = limit("2/1d");
    })
    .await;
    let owner = new_browser();
    let (org, csrf) = console_org(&app, &owner, "student@sandbox.test").await;
    let invite = |path: String, to: &'static str, role: &'static str| {
        let (app, owner, csrf) = (&app, &owner, &csrf);
        async move {
            let fields = [("email", to), ("role", role)];
            post_form(app, owner, &format!("{path}/invitations"), csrf, &fields).await
        }
    };
    for to in ["a@example.com", "b@example.com"] {
        let resp = invite(org.clone(), to, "developer").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{to}");
    }
    app.clock.advance(3600);
    let resp = invite(org.clone(), "c@example.com", "admin").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp), 86_400 - 3600);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("This organization has sent many invitations today. Try again in 23 hours."),
        "{page}"
    );
    assert!(page.contains(r#"value="c@example.com""#), "{page}");
    assert!(
        page.contains(r#"<option value="admin" selected>"#),
        "{page}"
    );
    assert!(!mailed(&app, "c@example.com"));
    let n = metric(
        &app,
        "verity_limit_refusals_total",
        r#"limit="invitations""#,
    )
    .await;
    assert_eq!(n, 1.0);

    // The person's other organization has its own count.
    let name = [("name", "Second Org")];
    let resp = post_form(&app, &owner, "/developer/orgs", &csrf, &name).await;
    let second = location(&resp).unwrap();
    let resp = invite(second, "c@example.com", "developer").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // A day later (signed in again: sessions last 8 hours).
    app.clock.advance(86_400 - 3600);
    let (_, home) = open_as(&app, &owner, "/developer", "student@sandbox.test").await;
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    let fields = [("email", "d@example.com"), ("role", "developer")];
    let resp = post_form(&app, &owner, &format!("{org}/invitations"), &csrf, &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(mailed(&app, "d@example.com"));
}

/// Organizations are limited per account: a refused name (invalid or taken) does not count;
/// past the limit, 429 with `Retry-After` and the name kept; another account is not limited.
#[tokio::test]
async fn organizations_are_limited_per_account() {
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.limits.orgs = limit("2/1d");
    })
    .await;
    let person = new_browser();
    let (_, home) = open_as(&app, &person, "/developer", "student@sandbox.test").await;
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    let create = |name: &'static str| {
        let (app, person, csrf) = (&app, &person, &csrf);
        async move { post_form(app, person, "/developer/orgs", csrf, &[("name", name)]).await }
    };
    let resp = create("   ").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "an empty name");
    for name in ["First", "Second"] {
        assert_eq!(create(name).await.status(), StatusCode::SEE_OTHER, "{name}");
    }
    let resp = create("Third").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp), 86_400);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("You have created many organizations today. Try again in 24 hours."),
        "{page}"
    );
    assert!(page.contains(r#"value="Third""#), "{page}");
    let n = metric(&app, "verity_limit_refusals_total", r#"limit="orgs""#).await;
    assert_eq!(n, 1.0);
    let orgs = app.store.find_organization_by_name("Third").await.unwrap();
    assert!(orgs.is_none());

    let other = new_browser();
    let (_, home) = open_as(&app, &other, "/developer", "veteran@sandbox.test").await;
    let c = hidden_value(&home, "csrf_token").unwrap();
    let resp = post_form(&app, &other, "/developer/orgs", &c, &[("name", "Third")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

/// Apps registered in the console are limited per account: an invalid form does not count;
/// past the limit, 429 with `Retry-After`, the form with the input kept. The admin API (the
/// operator's own token) is not limited.
#[tokio::test]
async fn apps_are_limited_per_account_in_the_console_only() {
    const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.limits.apps = limit("2/1d");
        s.admin_token = Some(verity_server::settings::Secret(ADMIN_TOKEN.into()));
    })
    .await;
    let owner = new_browser();
    let (org, csrf) = console_org(&app, &owner, "student@sandbox.test").await;
    let register = |name: &'static str, redirect: &'static str| {
        let (app, owner, csrf, path) = (&app, &owner, &csrf, format!("{org}/apps"));
        async move {
            let fields = [
                ("name", name),
                ("redirect_uris", redirect),
                ("profile", "idme"),
                ("id_token_alg", "RS256"),
            ];
            post_form(app, owner, &path, csrf, &fields).await
        }
    };
    let resp = register("Broken", "javascript:alert(1)").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    for name in ["One", "Two"] {
        let resp = register(name, CALLBACK).await;
        assert_eq!(resp.status(), StatusCode::OK, "{name}");
    }
    let resp = register("Three", CALLBACK).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp), 86_400);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("You have registered many apps today. Try again in 24 hours."),
        "{page}"
    );
    assert!(page.contains(r#"value="Three""#), "{page}");
    assert!(
        page.contains("127.0.0.1:8090"),
        "the redirect URI kept: {page}"
    );
    let n = metric(&app, "verity_limit_refusals_total", r#"limit="apps""#).await;
    assert_eq!(n, 1.0);

    let org_id = org.rsplit('/').next().unwrap();
    for i in 0..3 {
        let resp = app
            .http
            .post(app.url(&format!("/api/admin/v1/organizations/{org_id}/apps")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": format!("API app {i}"), "redirect_uris": [CALLBACK]}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
    }
}

/// A limit set to `off` never refuses.
#[tokio::test]
async fn a_limit_turned_off_never_refuses() {
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.limits.signup = None;
    })
    .await;
    for i in 0..12 {
        let resp = signup(&app, &format!("free{i}@example.com"), FLOODER).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{i}");
    }
}
