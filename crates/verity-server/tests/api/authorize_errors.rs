//! Every error of the authorization endpoint over real HTTP (SPEC section 3, RFC 6749 4.1.2.1):
//! which ones are a page and which ones go back to the app, and the pages that end a journey
//! early (deny, cancel, prompt, max_age, login_hint, op=signup, verification).

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::clock::Clock;

use crate::helpers::*;

/// Query parameters, in order, repeats allowed.
type Pairs = Vec<(String, String)>;

/// The confidential app's standard request, as owned pairs the cases below edit.
fn base() -> Pairs {
    [
        ("client_id", CONFIDENTIAL),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// `pairs` with `name` set to `value` (replacing it), or removed when `value` is `None`.
fn set(mut pairs: Pairs, name: &str, value: Option<&str>) -> Pairs {
    pairs.retain(|(k, _)| k != name);
    if let Some(v) = value {
        pairs.push((name.to_owned(), v.to_owned()));
    }
    pairs
}

/// `pairs` with one more `name=value` (repeating it if present).
fn add(mut pairs: Pairs, name: &str, value: &str) -> Pairs {
    pairs.push((name.to_owned(), value.to_owned()));
    pairs
}

fn url(app: &TestApp, pairs: &[(String, String)]) -> String {
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.authorize_url(&borrowed)
}

/// An HTML error page, HTTP 400, and no redirect of any kind.
async fn assert_error_page(resp: reqwest::Response, case: &str) -> String {
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{case}");
    assert!(
        location(&resp).is_none(),
        "{case}: an error page must not redirect"
    );
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{case}: {ct}");
    let html = resp.text().await.unwrap();
    // Plain words and who can fix it for the person; the protocol's words in small print.
    assert!(
        html.contains("This sign-in link does not work")
            && html.contains("only the app&#x27;s developer can fix it")
            && html.contains("Details for the app's developer: <code>"),
        "{case}: {html}"
    );
    assert!(
        !html.contains("name=\"password\""),
        "{case}: no sign-in form"
    );
    html
}

/// A 302 to the registered redirect URI carrying `error`, a description, the state and `iss`.
fn assert_redirected_error(
    app: &TestApp,
    resp: &reqwest::Response,
    redirect_uri: &str,
    code: &str,
    case: &str,
) {
    assert_eq!(resp.status(), StatusCode::FOUND, "{case}");
    let loc = location(resp).unwrap_or_else(|| panic!("{case}: no Location"));
    assert_eq!(
        loc.split('?').next(),
        Some(redirect_uri),
        "{case}: redirected to {loc}"
    );
    let params = query_pairs(&loc);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("error"), Some(code), "{case}: {loc}");
    assert!(
        get("error_description").is_some_and(|d| !d.is_empty()),
        "{case}: {loc}"
    );
    assert_eq!(get("state"), Some("state-123"), "{case}: {loc}");
    assert_eq!(get("iss"), Some(app.issuer.as_str()), "{case}: {loc}");
    assert!(get("code").is_none(), "{case}: {loc}");
}

fn callback_error(app: &TestApp, cb: &Callback, code: &str) {
    assert!(cb.location.starts_with(&format!("{CALLBACK}?")), "{cb:?}");
    assert_eq!(cb.error(), Some(code), "{cb:?}");
    assert!(cb.get("error_description").is_some(), "{cb:?}");
    assert_eq!(cb.get("state"), Some("state-123"), "{cb:?}");
    assert_eq!(cb.get("iss"), Some(app.issuer.as_str()), "{cb:?}");
    assert!(cb.get("code").is_none(), "{cb:?}");
}

#[tokio::test]
async fn client_and_redirect_uri_errors_are_pages_and_never_redirect() {
    let app = spawn_app().await;
    let mut cases: Vec<(String, Pairs)> = vec![
        ("missing client_id".into(), set(base(), "client_id", None)),
        ("empty client_id".into(), set(base(), "client_id", Some(""))),
        (
            "unknown client_id".into(),
            set(base(), "client_id", Some("no-such-app")),
        ),
        (
            "missing redirect_uri".into(),
            set(base(), "redirect_uri", None),
        ),
        (
            "repeated client_id".into(),
            add(base(), "client_id", CONFIDENTIAL),
        ),
        (
            "repeated redirect_uri".into(),
            add(base(), "redirect_uri", CALLBACK),
        ),
        (
            "an unregistered redirect_uri wins over later errors".into(),
            set(
                set(base(), "redirect_uri", Some("https://evil.example/cb")),
                "response_type",
                Some("token"),
            ),
        ),
    ];
    for near_miss in [
        "http://127.0.0.1:8090/callback/",
        "http://127.0.0.1:8090/Callback",
        "HTTP://127.0.0.1:8090/callback",
        "http://127.0.0.1:8090/callback?x=1",
        "http://127.0.0.1:8090/callback#",
        "http://127.0.0.1:8091/callback",
        "http://127.0.0.1:80/callback",
        "http://127.0.0.1/callback",
        "https://127.0.0.1:8090/callback",
        "http://127.0.0.1:8090/%63allback",
        "http%3A%2F%2F127.0.0.1%3A8090%2Fcallback",
        "http://127.0.0.1:8090/callback%20",
        " http://127.0.0.1:8090/callback",
        "http://127.0.0.1:8090/callback/../callback",
        "http://localhost.:8090/callback",
        "//127.0.0.1:8090/callback",
        "/callback",
        "https://evil.example/callback",
    ] {
        cases.push((
            format!("redirect_uri {near_miss:?}"),
            set(base(), "redirect_uri", Some(near_miss)),
        ));
    }
    for (case, pairs) in cases {
        let resp = app.http.get(url(&app, &pairs)).send().await.unwrap();
        assert_error_page(resp, &case).await;
    }
    // The same request with the registered URI is not an error (the cases above can fail).
    let resp = app.http.get(url(&app, &base())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn later_errors_redirect_to_the_app_with_state_and_iss() {
    let app = spawn_app().await;
    app.create_app("reduced-app", |a| {
        a.policies = vec!["openid".into(), "profile".into()];
    })
    .await;
    let challenge = verity_core::pkce::s256(&verity_core::secret::new_token().repeat(2));
    let mut long_value = "n".repeat(verity_core::authorize::MAX_PARAM_LEN + 1);
    let cases: Vec<(&str, Pairs, &str)> = vec![
        (
            "missing response_type",
            set(base(), "response_type", None),
            "invalid_request",
        ),
        (
            "response_type=token",
            set(base(), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            "response_type=code id_token",
            set(base(), "response_type", Some("code id_token")),
            "unsupported_response_type",
        ),
        (
            "missing scope",
            set(base(), "scope", None),
            "invalid_request",
        ),
        (
            "a policy the app is not provisioned with",
            set(
                set(base(), "client_id", Some("reduced-app")),
                "scope",
                Some("openid military"),
            ),
            "invalid_scope",
        ),
        (
            "an unknown policy",
            set(base(), "scope", Some("openid no-such-policy")),
            "invalid_scope",
        ),
        (
            "code_challenge_method=plain",
            set(
                set(base(), "code_challenge", Some(&challenge)),
                "code_challenge_method",
                Some("plain"),
            ),
            "invalid_request",
        ),
        (
            "code_challenge without a method",
            set(base(), "code_challenge", Some(&challenge)),
            "invalid_request",
        ),
        (
            "code_challenge_method without a challenge",
            set(base(), "code_challenge_method", Some("S256")),
            "invalid_request",
        ),
        (
            "a public app without PKCE",
            set(base(), "client_id", Some(PUBLIC)),
            "invalid_request",
        ),
        (
            "prompt=none without a session",
            set(base(), "prompt", Some("none")),
            "login_required",
        ),
        (
            "prompt with an unknown value",
            set(base(), "prompt", Some("bogus")),
            "invalid_request",
        ),
        (
            "prompt=none login",
            set(base(), "prompt", Some("none login")),
            "invalid_request",
        ),
        (
            "max_age not a number",
            set(base(), "max_age", Some("soon")),
            "invalid_request",
        ),
        (
            "max_age negative",
            set(base(), "max_age", Some("-1")),
            "invalid_request",
        ),
        (
            "max_age fractional",
            set(base(), "max_age", Some("1.5")),
            "invalid_request",
        ),
        (
            "op=other",
            set(base(), "op", Some("other")),
            "invalid_request",
        ),
        (
            "scope repeated",
            add(base(), "scope", "openid"),
            "invalid_request",
        ),
        (
            "response_type repeated",
            add(base(), "response_type", "code"),
            "invalid_request",
        ),
        (
            "a request object",
            set(base(), "request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "invalid_request_object",
        ),
        (
            "a request_uri",
            set(base(), "request_uri", Some("https://rp.example/req")),
            "request_uri_not_supported",
        ),
        (
            "a parameter longer than 4096 bytes",
            set(base(), "nonce", Some(&long_value)),
            "invalid_request",
        ),
        (
            "an unknown parameter longer than 4096 bytes",
            set(base(), "x-extra", Some(&long_value)),
            "invalid_request",
        ),
    ];
    for (case, pairs, code) in cases {
        let resp = app.http.get(url(&app, &pairs)).send().await.unwrap();
        assert_redirected_error(&app, &resp, CALLBACK, code, case);
    }
    // At the limit the request is fine: the sign-in page is shown.
    long_value.pop();
    let resp = app
        .http
        .get(url(&app, &set(base(), "nonce", Some(&long_value))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("name=\"password\""));
}

#[tokio::test]
async fn post_works_like_get_and_unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    let browser = new_browser();
    let pairs = add(add(base(), "x-unknown", "1"), "ui_locales", "fr-CA");

    let resp = browser
        .post(app.url("/oauth/authorize"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (cb, trace) = app
        .journey_from(&browser, resp, &Journey::persona("student@sandbox.test"))
        .await;
    assert_eq!(trace.pages, ["signin", "consent"]);
    assert_eq!(cb.get("state"), Some("state-123"));
    let tokens = app.exchange(cb.code()).await;
    assert_eq!(tokens["scope"], "openid profile");

    // The same extra parameters on a GET change nothing either.
    let resp = browser.get(url(&app, &pairs)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND, "single sign-on");
    assert!(
        query_pairs(&location(&resp).unwrap())
            .iter()
            .any(|(k, _)| k == "code")
    );

    let resp = app
        .http
        .post(app.url("/oauth/authorize"))
        .form(&set(base(), "response_type", Some("token")))
        .send()
        .await
        .unwrap();
    assert_redirected_error(
        &app,
        &resp,
        CALLBACK,
        "unsupported_response_type",
        "POST response_type=token",
    );

    let resp = app
        .http
        .post(app.url("/oauth/authorize"))
        .form(&set(
            base(),
            "redirect_uri",
            Some("https://evil.example/cb"),
        ))
        .send()
        .await
        .unwrap();
    assert_error_page(resp, "POST with an unregistered redirect_uri").await;
}

#[tokio::test]
async fn prompt_none_with_a_session_but_no_remembered_consent_is_consent_required() {
    let app = spawn_app().await;
    let browser = new_browser();
    let (cb, _) = app
        .journey(
            &browser,
            &url(&app, &base()),
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    assert!(cb.get("code").is_some());

    // The remembered consent covers `openid profile`, not `openid email`.
    let resp = browser
        .get(url(
            &app,
            &set(
                set(base(), "scope", Some("openid email")),
                "prompt",
                Some("none"),
            ),
        ))
        .send()
        .await
        .unwrap();
    assert_redirected_error(
        &app,
        &resp,
        CALLBACK,
        "consent_required",
        "prompt=none, new scope",
    );

    let resp = browser
        .get(url(&app, &set(base(), "prompt", Some("none"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let params = query_pairs(&location(&resp).unwrap());
    assert!(
        params.iter().any(|(k, _)| k == "code"),
        "remembered scope: {params:?}"
    );
}

#[tokio::test]
async fn declining_consent_is_access_denied_with_state() {
    let app = spawn_app().await;
    let mut journey = Journey::persona("student@sandbox.test");
    journey.consent = "deny";
    let (cb, trace) = app
        .journey(&new_browser(), &url(&app, &base()), &journey)
        .await;
    assert_eq!(trace.pages, ["signin", "consent"]);
    assert_eq!(cb.status, StatusCode::SEE_OTHER);
    callback_error(&app, &cb, "access_denied");
}

#[tokio::test]
async fn cancelling_on_the_sign_in_page_is_access_denied() {
    let app = spawn_app().await;
    let browser = new_browser();
    let resp = browser.get(url(&app, &base())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let cancel = form_action(&html, "/cancel").expect("a cancel form");
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let resp = browser
        .post(app.url(&cancel))
        .form(&[("csrf_token", csrf.as_str()), ("decision", "cancel")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let loc = location(&resp).unwrap();
    let cb = Callback {
        params: query_pairs(&loc),
        location: loc,
        status: resp.status(),
    };
    callback_error(&app, &cb, "access_denied");

    // The interaction is over: cancelling again, or signing in on it, fails.
    let resp = browser
        .post(app.url(&cancel))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(location(&resp).is_none());
}

#[tokio::test]
async fn denying_on_the_verification_page_is_access_denied() {
    let app = spawn_app().await;
    let mut journey = Journey::persona("unverified@sandbox.test");
    journey.verification = "deny";
    let (cb, trace) = app
        .journey(
            &new_browser(),
            &url(&app, &set(base(), "scope", Some("openid military"))),
            &journey,
        )
        .await;
    assert_eq!(trace.pages, ["signin", "verify"]);
    callback_error(&app, &cb, "access_denied");
}

#[tokio::test]
async fn prompt_login_and_an_exceeded_max_age_show_the_sign_in_page_again() {
    let app = spawn_app().await;
    let browser = new_browser();
    let student = Journey::persona("student@sandbox.test");
    let (cb, _) = app.journey(&browser, &url(&app, &base()), &student).await;
    assert!(cb.get("code").is_some());
    let is_sign_in = |html: &str| form_action(html, "/signin").is_some();

    let resp = browser
        .get(url(&app, &set(base(), "prompt", Some("login"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "prompt=login");
    let (cb, trace) = app.journey_from(&browser, resp, &student).await;
    assert_eq!(trace.pages, ["signin"], "consent is remembered");
    assert!(cb.get("code").is_some());

    app.clock.advance(120);
    let resp = browser
        .get(url(&app, &set(base(), "max_age", Some("3600"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND, "max_age not exceeded");
    let resp = browser
        .get(url(&app, &set(base(), "max_age", Some("60"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "max_age exceeded");
    let html = resp.text().await.unwrap();
    assert!(is_sign_in(&html), "{html}");

    // max_age=0 always asks again; the fresh sign-in then satisfies it.
    let resp = browser
        .get(url(&app, &set(base(), "max_age", Some("0"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (cb, trace) = app.journey_from(&browser, resp, &student).await;
    assert_eq!(trace.pages, ["signin"]);
    let tokens = app.exchange(cb.code()).await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id["auth_time"], app.clock.now());
}

#[tokio::test]
async fn login_hint_prefills_the_email_and_is_escaped() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(url(
            &app,
            &set(base(), "login_hint", Some("hint@example.com")),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"name="email" type="email" autocomplete="username" required value="hint@example.com" autofocus"#),
        "{html}"
    );

    let resp = app
        .http
        .get(url(
            &app,
            &set(base(), "login_hint", Some(r#""><script>x()</script>"#)),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains(r#"value="&quot;&gt;&lt;script&gt;x()"#),
        "{html}"
    );
}

#[tokio::test]
async fn op_signup_shows_the_sign_up_page_and_a_new_account_completes_the_flow() {
    let app = spawn_app().await;
    let pairs = set(
        set(base(), "op", Some("signup")),
        "scope",
        Some("openid email"),
    );
    let resp = app.http.get(url(&app, &pairs)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(form_action(&html, "/signup").is_some(), "{html}");
    assert!(form_action(&html, "/signin").is_none(), "{html}");
    for input in ["email", "password", "password_confirm", "csrf_token"] {
        assert!(html.contains(&format!("name=\"{input}\"")), "{input}");
    }

    let mut journey = Journey::persona("New.Person@Example.com");
    journey.password = "correct horse battery staple".into();
    journey.signup = true;
    let (cb, trace) = app
        .journey(&new_browser(), &url(&app, &pairs), &journey)
        .await;
    assert_eq!(trace.pages, ["signup", "consent"]);
    let tokens = app.exchange(cb.code()).await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id["email"], "new.person@example.com");
    assert!(verity_core::secret::is_token_shaped(
        id["sub"].as_str().unwrap()
    ));

    // The new account signs in like any other.
    let mut again = journey.clone();
    again.signup = false;
    let (cb, trace) = app
        .journey(&new_browser(), &url(&app, &base()), &again)
        .await;
    assert_eq!(trace.pages, ["signin", "consent"]);
    let tokens = app.exchange(cb.code()).await;
    let id2 = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id2["sub"], id["sub"]);
}

/// Signs `unverified@sandbox.test` in for `openid military` and returns the verification page.
async fn verification_page(app: &TestApp, browser: &reqwest::Client) -> String {
    let resp = browser
        .get(url(app, &set(base(), "scope", Some("openid military"))))
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    let action = form_action(&html, "/signin").unwrap();
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let resp = browser
        .post(app.url(&action))
        .form(&[
            ("email", "unverified@sandbox.test"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = browser
        .get(app.url(&location(&resp).unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

async fn decide(
    app: &TestApp,
    browser: &reqwest::Client,
    html: &str,
    decision: &str,
) -> serde_json::Value {
    let action = form_action(html, "/verify").expect("a verification form");
    let csrf = hidden_value(html, "csrf_token").unwrap();
    let resp = browser
        .post(app.url(&action))
        .form(&[("decision", decision), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    let (cb, trace) = app
        .journey_from(browser, resp, &Journey::persona("unverified@sandbox.test"))
        .await;
    assert_eq!(trace.pages, ["consent"]);
    let tokens = app.exchange(cb.code()).await;
    app.get_bearer(
        "/api/public/v3/attributes.json",
        tokens["access_token"].as_str().unwrap(),
    )
    .await
    .json::<Value>()
    .await
    .unwrap()
}

#[tokio::test]
async fn the_verification_page_offers_verify_skip_and_deny_and_skip_reports_unverified() {
    let app = spawn_app().await;
    let browser = new_browser();
    let html = verification_page(&app, &browser).await;
    for value in ["verify", "skip", "deny"] {
        assert!(
            html.contains(&format!(r#"name="decision" value="{value}""#)),
            "{value}: {html}"
        );
    }
    let attrs = decide(&app, &browser, &html, "skip").await;
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": [], "verified": false}])
    );
}

#[tokio::test]
async fn sandbox_verification_reports_a_verified_veteran() {
    let app = spawn_app().await;
    let browser = new_browser();
    let html = verification_page(&app, &browser).await;
    let attrs = decide(&app, &browser, &html, "verify").await;
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": ["Veteran"], "verified": true}])
    );
}
