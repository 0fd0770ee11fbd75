//! Hostile and oversized input on every endpoint: the answer is always a 4xx (never a 5xx), and
//! nothing ever redirects outside the server or the app's registered redirect URIs. Also the
//! browser binding and CSRF token of interactions, single-use TOTP codes, and sign-in failures
//! that do not reveal which accounts exist.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use verity_core::clock::Clock;

use crate::helpers::*;

const REGISTERED: [&str; 2] = [CALLBACK, "http://localhost:8090/callback"];
const INTERACTION_POSTS: [&str; 6] = ["signin", "signup", "mfa", "verify", "consent", "cancel"];

/// What an endpoint may answer to hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A 4xx; the authorization endpoint may also redirect an error to a registered URI.
    Refused,
    /// Input the endpoint ignores (discovery, JWKS, showing a page): a 2xx or 4xx.
    Ignored,
    /// Any answer but a 5xx; a redirect only to a registered URI (checked for every target).
    Redirectable,
}

#[derive(Debug, Clone)]
struct Target {
    method: Method,
    path: String,
    expect: Expect,
}

#[derive(Debug, Clone, Default)]
struct Input {
    name: &'static str,
    query: Option<String>,
    body: Option<(&'static str, Vec<u8>)>,
    headers: Vec<(&'static str, Vec<u8>)>,
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Starts an interaction in `browser` and returns its id and CSRF token.
async fn interaction(app: &TestApp, browser: &reqwest::Client) -> (String, String) {
    let url = app.authorize_url(&as_pairs(&app.confidential_request("openid military")));
    let resp = browser.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let action = form_action(&html, "/signin").unwrap();
    let id = action
        .trim_start_matches("/oauth/interaction/")
        .trim_end_matches("/signin")
        .to_owned();
    (id, hidden_value(&html, "csrf_token").unwrap())
}

fn targets(interaction_id: &str) -> Vec<Target> {
    let t = |method: Method, path: &str, expect| Target {
        method,
        path: path.to_owned(),
        expect,
    };
    let mut out = vec![
        t(Method::GET, "/oauth/authorize", Expect::Refused),
        t(Method::POST, "/oauth/authorize", Expect::Refused),
        t(
            Method::GET,
            &format!("/oauth/interaction/{interaction_id}"),
            Expect::Ignored,
        ),
        t(Method::POST, "/oauth/token", Expect::Refused),
        t(Method::GET, "/api/public/v3/userinfo", Expect::Refused),
        t(Method::POST, "/api/public/v3/userinfo", Expect::Refused),
        t(Method::GET, "/api/public/v3/userinfo.json", Expect::Refused),
        t(
            Method::GET,
            "/api/public/v3/attributes.json",
            Expect::Refused,
        ),
        t(Method::GET, "/api/public/v3/policies", Expect::Refused),
        t(
            Method::GET,
            "/oidc/.well-known/openid-configuration",
            Expect::Ignored,
        ),
        t(Method::GET, "/oidc/.well-known/jwks", Expect::Ignored),
    ];
    for step in INTERACTION_POSTS {
        out.push(t(
            Method::POST,
            &format!("/oauth/interaction/{interaction_id}/{step}"),
            Expect::Refused,
        ));
    }
    out
}

/// NUL bytes and control characters in every parameter any endpoint reads.
fn control_pairs(csrf: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("client_id", format!("{CONFIDENTIAL}\0")),
        ("redirect_uri", format!("{CALLBACK}\r\n")),
        ("response_type", "code\0".into()),
        ("scope", "openid\u{1}military".into()),
        ("state", "\u{1b}[31m\0".into()),
        ("grant_type", "authorization_code\0".into()),
        ("code", "\0\0\0".into()),
        ("client_secret", format!("{SECRET}\0")),
        ("access_token", "\0\r\n".into()),
        ("email", "veteran@sandbox.test\0".into()),
        ("password", format!("{PASSWORD}\0")),
        ("password_confirm", format!("{PASSWORD}\0")),
        ("decision", "allow\0".into()),
        ("csrf_token", format!("{csrf}\0")),
    ] {
        s.append_pair(k, &v);
    }
    s.finish()
}

fn inputs(csrf: &str) -> Vec<Input> {
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let mut oversized =
        format!("csrf_token={csrf}&email=veteran%40sandbox.test&password=").into_bytes();
    oversized.resize(65 * 1024, b'x');
    let many_params: String = (0..700)
        .map(|i| format!("p{i}=v"))
        .collect::<Vec<_>>()
        .join("&");
    let long_value = format!("client_id={}", "c".repeat(10 * 1024));
    let control = control_pairs(csrf);
    let json_nested = br#"{"grant_type":{"$ne":null},"client_id":["sandbox-confidential"],"code":{"a":{"b":[1,2,{"c":null}]}}}"#;
    // A registered client and redirect URI, so the authorization endpoint gets past them.
    let mut hostile_rest = form_urlencoded::Serializer::new(String::new());
    hostile_rest
        .append_pair("client_id", CONFIDENTIAL)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("response_type", "code\0")
        .append_pair("scope", "openid\u{0}\r\nmilitary")
        .append_pair("state", &"s\0".repeat(2000))
        .append_pair("prompt", "none\u{7}")
        .append_pair("max_age", "\u{0}1")
        .append_pair("code_challenge", "\u{0}")
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &"\u{7f}".repeat(32))
        .append_pair("csrf_token", &format!("\0{csrf}"));
    let hostile_rest = hostile_rest.finish();
    // Header inputs carry an ordinary form, so the endpoints read the headers and go on (with
    // a stale CSRF token: a right one would let `cancel` end the interaction).
    let ordinary = Some((
        FORM,
        b"grant_type=authorization_code&code=0123456789abcdef0123456789abcdef&csrf_token=0123456789abcdef0123456789abcdef"
            .to_vec(),
    ));
    vec![
        Input {
            name: "a registered client with hostile parameters",
            query: Some(hostile_rest.clone()),
            body: Some((FORM, hostile_rest.into_bytes())),
            ..Default::default()
        },
        Input {
            name: "a body over 64 KiB",
            body: Some((FORM, oversized)),
            ..Default::default()
        },
        Input {
            name: "a binary form body",
            body: Some((FORM, binary.clone())),
            ..Default::default()
        },
        Input {
            name: "a binary JSON body",
            body: Some((JSON, binary.clone())),
            ..Default::default()
        },
        Input {
            name: "a binary body without a type",
            body: Some(("application/octet-stream", binary)),
            ..Default::default()
        },
        Input {
            name: "invalid UTF-8 in a form body",
            body: Some((
                FORM,
                b"client_id=\xff\xfe&redirect_uri=\xc0\xaf&csrf_token=\xed\xa0\x80".to_vec(),
            )),
            ..Default::default()
        },
        Input {
            name: "invalid JSON",
            body: Some((JSON, br#"{"grant_type": "authorization_code", "#.to_vec())),
            ..Default::default()
        },
        Input {
            name: "a JSON array",
            body: Some((JSON, br#"[{"grant_type":"authorization_code"}]"#.to_vec())),
            ..Default::default()
        },
        Input {
            name: "JSON with nested objects",
            body: Some((JSON, json_nested.to_vec())),
            ..Default::default()
        },
        Input {
            name: "deeply nested JSON",
            body: Some((JSON, "[".repeat(20_000).into_bytes())),
            ..Default::default()
        },
        Input {
            name: "a 10 KB query value",
            query: Some(long_value.clone()),
            body: Some((FORM, long_value.into_bytes())),
            ..Default::default()
        },
        Input {
            name: "a 10 KB query of many parameters",
            query: Some(many_params.clone()),
            body: Some((FORM, many_params.into_bytes())),
            ..Default::default()
        },
        Input {
            name: "NUL and control characters in parameters",
            query: Some(control.clone()),
            body: Some((FORM, control.into_bytes())),
            ..Default::default()
        },
        Input {
            name: "bad percent-encoding and UTF-8 in the query",
            query: Some(
                "client_id=%FF%FE%ZZ&redirect_uri=%C0%AF&access_token=%&scope=%E2%82".into(),
            ),
            ..Default::default()
        },
        Input {
            name: "a very long Authorization: Bearer",
            headers: vec![(
                "authorization",
                format!("Bearer {}", "a".repeat(32 * 1024)).into_bytes(),
            )],
            body: ordinary.clone(),
            ..Default::default()
        },
        Input {
            name: "a very long Authorization: Basic",
            headers: vec![(
                "authorization",
                format!("Basic {}", "QUJD".repeat(8 * 1024)).into_bytes(),
            )],
            body: ordinary.clone(),
            ..Default::default()
        },
        Input {
            name: "a very long Cookie",
            headers: vec![(
                "cookie",
                format!(
                    "verity_browser={}; verity_session={}",
                    "f".repeat(16 * 1024),
                    "0".repeat(16 * 1024)
                )
                .into_bytes(),
            )],
            body: ordinary.clone(),
            ..Default::default()
        },
        Input {
            name: "a very long unrelated header and Content-Type",
            headers: vec![
                ("x-junk", "j".repeat(48 * 1024).into_bytes()),
                (
                    "content-type",
                    format!("{FORM}; charset={}", "u".repeat(8 * 1024)).into_bytes(),
                ),
            ],
            body: Some((FORM, b"grant_type=authorization_code".to_vec())),
            ..Default::default()
        },
        Input {
            name: "non-UTF-8 header values",
            headers: vec![
                ("authorization", b"Bearer \xff\xfe\x80".to_vec()),
                (
                    "cookie",
                    b"verity_browser=\xff\xfe; verity_session=\x80".to_vec(),
                ),
            ],
            body: ordinary.clone(),
            ..Default::default()
        },
        Input {
            name: "a Basic header that decodes to invalid UTF-8",
            headers: vec![(
                "authorization",
                format!(
                    "Basic {}",
                    base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        b"\xff\xfe:\x80"
                    )
                )
                .into_bytes(),
            )],
            body: ordinary.clone(),
            ..Default::default()
        },
    ]
}

/// Whether `location` (absolute or relative) stays on the server or goes to a registered URI.
fn allowed_location(app: &TestApp, location: &str) -> bool {
    let base = reqwest::Url::parse(&app.base).unwrap();
    let Ok(resolved) = base.join(location) else {
        return false;
    };
    let own = resolved.origin() == base.origin();
    let before_query = location.split('?').next().unwrap_or_default();
    own || REGISTERED.contains(&before_query)
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    target: &Target,
    input: &Input,
) -> reqwest::Response {
    let mut url = app.url(&target.path);
    if let Some(q) = &input.query {
        url.push('?');
        url.push_str(q);
    }
    let mut req = client.request(target.method.clone(), url);
    if let Some((ct, body)) = &input.body {
        req = req.header("content-type", *ct).body(body.clone());
    }
    for (name, value) in &input.headers {
        req = req.header(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("{} {}: {}: {e}", target.method, target.path, input.name))
}

fn check(app: &TestApp, target: &Target, input: &Input, resp: &reqwest::Response) {
    let what = format!("{} {} with {}", target.method, target.path, input.name);
    let status = resp.status();
    assert!(!status.is_server_error(), "{what}: {status}");
    if let Some(loc) = location(resp) {
        assert!(allowed_location(app, &loc), "{what}: redirected to {loc}");
    }
    let is_authorize = target.path == "/oauth/authorize";
    match target.expect {
        Expect::Refused if is_authorize && status.is_redirection() => {
            let loc = location(resp).unwrap_or_default();
            let params = query_pairs(&loc);
            assert!(
                params.iter().any(|(k, _)| k == "error")
                    && !params.iter().any(|(k, _)| k == "code"),
                "{what}: {loc}"
            );
        }
        Expect::Refused => assert!(status.is_client_error(), "{what}: {status}"),
        Expect::Ignored => assert!(
            status.is_success() || status.is_client_error(),
            "{what}: {status}"
        ),
        Expect::Redirectable => {}
    }
}

#[tokio::test]
async fn hostile_input_on_every_endpoint_is_a_4xx_never_a_5xx() {
    let app = spawn_app().await;
    let browser = new_browser();
    let (id, csrf) = interaction(&app, &browser).await;
    for target in targets(&id) {
        for input in inputs(&csrf) {
            // The browser that owns the interaction: only the CSRF token stands in the way.
            let resp = send(&app, &browser, &target, &input).await;
            check(&app, &target, &input, &resp);
        }
    }
    // The interaction survived all of it: the right form still signs in.
    let resp = browser
        .post(app.url(&format!("/oauth/interaction/{id}/signin")))
        .form(&[
            ("email", "veteran@sandbox.test"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn oversized_headers_are_refused_with_a_4xx() {
    let app = spawn_app().await;
    for path in [
        "/oauth/authorize",
        "/oauth/token",
        "/api/public/v3/userinfo",
        "/oidc/.well-known/jwks",
    ] {
        // Far beyond any sensible header block.
        let resp = app
            .http
            .get(app.url(path))
            .header("x-junk", "j".repeat(1024 * 1024))
            .send()
            .await;
        // hyper answers 431; a client still writing may instead see the connection close.
        // Either way, never a 5xx, and the server goes on answering.
        if let Ok(resp) = resp {
            assert!(resp.status().is_client_error(), "{path}: {}", resp.status());
        }
        // The server is still answering.
        let resp = app
            .http
            .get(app.url("/oidc/.well-known/jwks"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn malformed_interaction_ids_are_refused() {
    let app = spawn_app().await;
    let browser = new_browser();
    let (_, csrf) = interaction(&app, &browser).await;
    let long = "a".repeat(10_000);
    for id in [
        "zz",
        "ABCDEF0123456789ABCDEF0123456789",
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcdef",
        "%00",
        "%FF%FE",
        "..%2F..%2Fetc%2Fpasswd",
        "%C3%BC",
        "%20",
        long.as_str(),
    ] {
        let paths: Vec<(Method, String)> =
            std::iter::once((Method::GET, format!("/oauth/interaction/{id}")))
                .chain(
                    INTERACTION_POSTS
                        .iter()
                        .map(|s| (Method::POST, format!("/oauth/interaction/{id}/{s}"))),
                )
                .collect();
        for (method, path) in paths {
            let resp = browser
                .request(method.clone(), app.url(&path))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("email", "veteran@sandbox.test"),
                    ("password", PASSWORD),
                    ("decision", "allow"),
                ])
                .send()
                .await
                .unwrap();
            let status = resp.status();
            assert!(
                status.is_client_error(),
                "{method} {}: {status}",
                &path[..path.len().min(80)]
            );
            assert!(location(&resp).is_none());
        }
    }
}

#[tokio::test]
async fn interaction_posts_need_the_browser_cookie_and_the_csrf_token() {
    let app = spawn_app().await;
    let browser = new_browser();
    let (id, csrf) = interaction(&app, &browser).await;
    let other = new_browser();
    // Another browser with an interaction of its own: its cookie is not this interaction's.
    let (_, other_csrf) = interaction(&app, &other).await;
    let form = |token: &str| {
        vec![
            ("csrf_token", token.to_owned()),
            ("email", "veteran@sandbox.test".to_owned()),
            ("password", PASSWORD.to_owned()),
            ("password_confirm", PASSWORD.to_owned()),
            ("decision", "allow".to_owned()),
            ("code", totp_code(app.clock.now())),
        ]
    };
    for step in INTERACTION_POSTS {
        let url = app.url(&format!("/oauth/interaction/{id}/{step}"));
        for (case, client, token) in [
            ("no cookie", &app.http, csrf.as_str()),
            ("a fresh browser", &new_browser(), csrf.as_str()),
            ("another browser's cookie", &other, csrf.as_str()),
            ("another interaction's token", &browser, other_csrf.as_str()),
            (
                "a wrong token",
                &browser,
                "0123456789abcdef0123456789abcdef",
            ),
            ("an empty token", &browser, ""),
        ] {
            let resp = client.post(&url).form(&form(token)).send().await.unwrap();
            let status = resp.status();
            assert!(status.is_client_error(), "{step} with {case}: {status}");
            assert!(location(&resp).is_none(), "{step} with {case}");
            assert!(
                resp.headers().get("set-cookie").is_none(),
                "{step} with {case}: no session"
            );
            let html = resp.text().await.unwrap();
            assert!(
                html.contains("request id") || html.contains("Request id"),
                "{step} with {case}: an error page: {html}"
            );
        }
        let resp = browser
            .post(&url)
            .form(&[("email", "veteran@sandbox.test"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{step} without a token"
        );
    }
    // With the cookie and the token, the same form works.
    let resp = browser
        .post(app.url(&format!("/oauth/interaction/{id}/signin")))
        .form(&form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

/// Signs the veteran in on a new interaction in a new browser and returns the MFA form's
/// browser, action and CSRF token.
async fn at_mfa_page(app: &TestApp) -> (reqwest::Client, String, String) {
    let browser = new_browser();
    let (id, csrf) = interaction(app, &browser).await;
    let resp = browser
        .post(app.url(&format!("/oauth/interaction/{id}/signin")))
        .form(&[
            ("email", "veteran@sandbox.test"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = browser
        .get(app.url(&location(&resp).unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = form_action(&html, "/mfa").expect("the MFA page");
    (browser, action, csrf)
}

async fn submit_code(
    app: &TestApp,
    browser: &reqwest::Client,
    action: &str,
    csrf: &str,
    code: &str,
) -> reqwest::Response {
    browser
        .post(app.url(action))
        .form(&[("code", code), ("csrf_token", csrf)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_used_totp_code_is_refused_in_the_same_step() {
    let app = spawn_app().await;
    let code = totp_code(app.clock.now());

    let (browser, action, csrf) = at_mfa_page(&app).await;
    let resp = submit_code(&app, &browser, &action, &csrf, &code).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "first use");

    // Same code, same clock step, another sign-in: refused, the MFA page again.
    let (browser, action, csrf) = at_mfa_page(&app).await;
    let resp = submit_code(&app, &browser, &action, &csrf, &code).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "reuse");
    let html = resp.text().await.unwrap();
    assert!(form_action(&html, "/mfa").is_some(), "{html}");
    assert!(html.contains("That code was already used."), "{html}");
    assert!(!html.contains("not valid"), "{html}");

    // Wrong codes are refused the same way (four failures: under the lock limit of five);
    // the next step's code is accepted.
    for bad in ["000000", "12345", "abcdef"] {
        if bad == code {
            continue;
        }
        let resp = submit_code(&app, &browser, &action, &csrf, bad).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{bad:?}");
    }
    app.clock.advance(30);
    let resp = submit_code(&app, &browser, &action, &csrf, &totp_code(app.clock.now())).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "a fresh step");

    // An older step than the last one used is refused too (one step of drift is not a replay
    // window).
    let (browser, action, csrf) = at_mfa_page(&app).await;
    let resp = submit_code(&app, &browser, &action, &csrf, &code).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "an older step");
}

#[tokio::test]
async fn a_replayed_code_does_not_lock_the_account_but_stays_bounded() {
    let app = spawn_app().await;
    let code = totp_code(app.clock.now());
    let (browser, action, csrf) = at_mfa_page(&app).await;
    let resp = submit_code(&app, &browser, &action, &csrf, &code).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "first use");

    // The page takes a 6-digit code or a recovery code, and says so.
    let (browser, action, csrf) = at_mfa_page(&app).await;
    let html = browser
        .get(app.url(&action.replace("/mfa", "")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("or one of your recovery codes"), "{html}");
    assert!(!html.contains("pattern="), "no 6-digit pattern: {html}");

    // More replays than the account's limit of five failures: each is told "already used",
    // beside the field, and none locks the account.
    for n in 0..8 {
        let resp = submit_code(&app, &browser, &action, &csrf, &code).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "replay {n}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("That code was already used. Wait for the next code in your app (a new one appears every 30 seconds), then enter it."), "{html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
        assert!(html.contains("id=\"code-error\""), "{html}");
    }
    // The next step's code signs in: no lock.
    app.clock.advance(30);
    let resp = submit_code(&app, &browser, &action, &csrf, &totp_code(app.clock.now())).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "not locked by replays"
    );

    // Replays still count toward the client address's limit: they are bounded, and never sign in.
    let fresh_used = totp_code(app.clock.now());
    let (browser, action, csrf) = at_mfa_page(&app).await;
    let mut locked = false;
    for _ in 0..30 {
        let resp = submit_code(&app, &browser, &action, &csrf, &fresh_used).await;
        assert_ne!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "a replay never signs in"
        );
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            locked = true;
            break;
        }
    }
    assert!(locked, "replays from one address are limited");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_answer_alike() {
    let app = spawn_app().await;
    let browser = new_browser();
    let (id, csrf) = interaction(&app, &browser).await;
    let url = app.url(&format!("/oauth/interaction/{id}/signin"));
    let mut answers = vec![];
    for (email, password) in [
        ("veteran@sandbox.test", "wrong-password"),
        ("nobody@sandbox.test", "wrong-password"),
        ("nobody@sandbox.test", PASSWORD),
        ("VETERAN@sandbox.test", "wrong-password"),
    ] {
        let resp = browser
            .post(&url)
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &csrf),
            ])
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert!(resp.headers().get("set-cookie").is_none(), "{email}");
        let html = resp.text().await.unwrap();
        assert!(form_action(&html, "/signin").is_some(), "{email}: {html}");
        answers.push((email, status, html));
    }
    let (_, status, html) = &answers[0];
    assert_eq!(*status, StatusCode::UNAUTHORIZED);
    assert_eq!(alert(html), Some("The email or password is incorrect."));
    // The email the person typed is kept in its field; past it, the whole page is the same.
    let (first, _, _) = &answers[0];
    let typed = |email: &str| format!(r#"value="{}""#, email);
    assert!(html.contains(&typed(first)), "the email is kept: {html}");
    assert!(
        html.contains(r#"aria-describedby="password-error""#),
        "{html}"
    );
    let html = html.replace(&typed(first), "value=\"\"");
    for (email, other_status, other_html) in &answers[1..] {
        assert_eq!(other_status, status, "{email}");
        assert_eq!(alert(other_html), alert(&html), "{email}");
        let other_html = other_html.replace(&typed(email), "value=\"\"");
        assert_eq!(other_html, html, "{email}: the whole page is the same");
    }
}

#[tokio::test]
async fn control_characters_in_state_and_nonce_round_trip_safely() {
    let app = spawn_app().await;
    let state = "a\r\nSet-Cookie: x=1\u{1}\u{1b}[0m&code=forged#frag";
    let nonce = "n\u{1}\r\n\u{7f}";
    let mut params = app.confidential_request("openid");
    params.retain(|(k, _)| *k != "state" && *k != "nonce");
    params.push(("state", state.into()));
    params.push(("nonce", nonce.into()));
    let (cb, _) = app
        .journey(
            &new_browser(),
            &app.authorize_url(&as_pairs(&params)),
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    assert!(!cb.location.contains('\r') && !cb.location.contains('\n'));
    assert_eq!(cb.get("state"), Some(state));
    assert_eq!(
        cb.params.iter().filter(|(k, _)| k == "code").count(),
        1,
        "{}",
        cb.location
    );
    let tokens = app.exchange(cb.code()).await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id["nonce"], nonce);
}

/// A NUL can be stored by neither backend alike (PostgreSQL refuses it): refused up front, on
/// both, with the error going back to the registered redirect URI.
#[tokio::test]
async fn a_nul_in_an_authorization_parameter_is_invalid_request() {
    let app = spawn_app().await;
    for name in ["nonce", "state", "login_hint"] {
        let mut params = app.confidential_request("openid");
        params.retain(|(k, _)| *k != name);
        params.push((name, "x\0y".into()));
        let resp = app
            .browser
            .get(app.authorize_url(&as_pairs(&params)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "{name}");
        let to = location(&resp).unwrap();
        assert!(to.starts_with(CALLBACK), "{name}: {to}");
        assert!(to.contains("error=invalid_request"), "{name}: {to}");
    }
}

/// Posts `form` (plus the CSRF token) to `/oauth/interaction/{id}/{step}`.
async fn post_step(
    app: &TestApp,
    browser: &reqwest::Client,
    id: &str,
    step: &str,
    csrf: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = form.to_vec();
    fields.push(("csrf_token", csrf));
    browser
        .post(app.url(&format!("/oauth/interaction/{id}/{step}")))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn hostile_form_values_with_a_valid_csrf_token_get_the_page_again() {
    let app = spawn_app().await;
    let browser = new_browser();
    let (id, csrf) = interaction(&app, &browser).await;
    let long = "x".repeat(10_000);
    let long_email = format!("{}@sandbox.test", "v".repeat(300));
    let expect_page = |resp: &reqwest::Response, what: &str, status: StatusCode| {
        assert_eq!(resp.status(), status, "{what}");
        assert!(location(resp).is_none(), "{what}");
    };

    for (email, password) in [
        ("veteran@sandbox.test\0", PASSWORD),
        ("veteran@sandbox.test", "sandbox-password\0"),
        ("\u{1b}[31mveteran@sandbox.test", PASSWORD),
        (long_email.as_str(), PASSWORD),
        ("veteran@sandbox.test", long.as_str()),
        ("", ""),
        ("' OR 1=1 --", "' OR 1=1 --"),
    ] {
        let resp = post_step(
            &app,
            &browser,
            &id,
            "signin",
            &csrf,
            &[("email", email), ("password", password)],
        )
        .await;
        expect_page(
            &resp,
            &format!("sign-in {email:?}"),
            StatusCode::UNAUTHORIZED,
        );
    }
    for (email, password, confirm) in [
        (
            "new\0@example.com",
            "long enough password",
            "long enough password",
        ),
        (
            "new@exa\r\nmple.com",
            "long enough password",
            "long enough password",
        ),
        (
            "not-an-email",
            "long enough password",
            "long enough password",
        ),
        ("new@example.com", "short", "short"),
        (
            "new@example.com",
            "long enough password",
            "different password",
        ),
        ("new@example.com", long.as_str(), long.as_str()),
        (
            "veteran@sandbox.test",
            "long enough password",
            "long enough password",
        ),
    ] {
        let resp = post_step(
            &app,
            &browser,
            &id,
            "signup",
            &csrf,
            &[
                ("email", email),
                ("password", password),
                ("password_confirm", confirm),
            ],
        )
        .await;
        expect_page(
            &resp,
            &format!("sign-up {email:?}"),
            StatusCode::BAD_REQUEST,
        );
    }

    let resp = post_step(
        &app,
        &browser,
        &id,
        "signin",
        &csrf,
        &[("email", "veteran@sandbox.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    app.clock.advance(30);
    for code in [
        "\0\0\0\0\0\0",
        "１２３４５６",
        "123456\0",
        long.as_str(),
        "-12345",
    ] {
        let resp = post_step(&app, &browser, &id, "mfa", &csrf, &[("code", code)]).await;
        expect_page(&resp, &format!("code {code:?}"), StatusCode::UNAUTHORIZED);
    }
    // Five failures: the next attempt, even with the right code, is refused and locks the second
    // factor for a minute (attempts are limited like passwords); after the minute it goes through.
    let code = totp_code(app.clock.now());
    let resp = post_step(&app, &browser, &id, "mfa", &csrf, &[("code", &code)]).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(61);
    let code = totp_code(app.clock.now());
    let resp = post_step(&app, &browser, &id, "mfa", &csrf, &[("code", &code)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    for decision in ["allow\0", "ALLOW", "", "verify", long.as_str()] {
        let resp = post_step(
            &app,
            &browser,
            &id,
            "consent",
            &csrf,
            &[("decision", decision)],
        )
        .await;
        expect_page(
            &resp,
            &format!("consent {decision:?}"),
            StatusCode::BAD_REQUEST,
        );
    }
    let resp = post_step(
        &app,
        &browser,
        &id,
        "consent",
        &csrf,
        &[("decision", "allow")],
    )
    .await;
    let (cb, trace) = app
        .journey_from(&browser, resp, &Journey::persona("veteran@sandbox.test"))
        .await;
    assert!(trace.pages.is_empty(), "{trace:?}");
    assert!(cb.get("code").is_some());
}

#[tokio::test]
async fn answers_posted_before_sign_in_do_not_skip_the_consent_or_verification_page() {
    let app = spawn_app().await;
    for (email, step, decision, scope, pages) in [
        (
            "student@sandbox.test",
            "consent",
            "allow",
            "openid profile",
            vec!["signin", "consent"],
        ),
        (
            "unverified@sandbox.test",
            "verify",
            "skip",
            "openid military",
            vec!["signin", "verify", "consent"],
        ),
    ] {
        let browser = new_browser();
        let url = app.authorize_url(&as_pairs(&app.confidential_request(scope)));
        let html = browser.get(url).send().await.unwrap().text().await.unwrap();
        let action = form_action(&html, "/signin").unwrap();
        let id = action
            .trim_start_matches("/oauth/interaction/")
            .trim_end_matches("/signin");
        let csrf = hidden_value(&html, "csrf_token").unwrap();
        // Nobody is signed in yet: the answer cannot stand for whoever signs in next.
        let resp = post_step(&app, &browser, id, step, &csrf, &[("decision", decision)]).await;
        assert!(
            resp.status() == StatusCode::SEE_OTHER || resp.status().is_client_error(),
            "{step}: {}",
            resp.status()
        );
        let (cb, trace) = app
            .journey_from(&browser, resp, &Journey::persona(email))
            .await;
        assert_eq!(trace.pages, pages, "{step} posted before sign-in");
        assert!(cb.get("code").is_some());
    }
}

/// The endpoints added after the core flow: revocation, introspection, logout, the account page,
/// the console and the admin API. Hostile input on each is a 4xx (or a page), never a 5xx, and
/// never a redirect off the server except to a registered URI.
#[tokio::test]
async fn hostile_input_on_the_later_endpoints_is_never_a_5xx() {
    let app = spawn_with(|s| {
        s.admin_token = Some(verity_server::settings::Secret(
            "hostile-admin-token".into(),
        ))
    })
    .await;
    // A signed-in browser (the account page's sign-in), so the console and account handlers run.
    let browser = new_browser();
    let resp = browser.get(app.url("/account")).send().await.unwrap();
    let start = location(&resp).unwrap();
    let (cb, _) = app
        .journey(&browser, &start, &Journey::persona("student@sandbox.test"))
        .await;
    browser.get(&cb.location).send().await.unwrap();
    let page = browser
        .get(app.url("/developer"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let t = |method: Method, path: &str, expect| Target {
        method,
        path: path.to_owned(),
        expect,
    };
    let targets = vec![
        t(Method::POST, "/oauth/revoke", Expect::Refused),
        t(Method::POST, "/oauth/introspect", Expect::Refused),
        t(Method::GET, "/account/callback", Expect::Redirectable),
        t(Method::POST, "/account/totp/start", Expect::Redirectable),
        t(Method::POST, "/account/totp/confirm", Expect::Redirectable),
        t(Method::POST, "/account/totp/remove", Expect::Redirectable),
        t(
            Method::POST,
            "/account/recovery-codes",
            Expect::Redirectable,
        ),
        t(
            Method::POST,
            "/account/consents/revoke",
            Expect::Redirectable,
        ),
        t(Method::POST, "/developer/orgs", Expect::Redirectable),
        t(
            Method::GET,
            "/developer/orgs/0123456789abcdef0123456789abcdef",
            Expect::Redirectable,
        ),
        t(
            Method::POST,
            "/developer/orgs/0123456789abcdef0123456789abcdef/invitations",
            Expect::Redirectable,
        ),
        t(
            Method::POST,
            "/developer/orgs/0123456789abcdef0123456789abcdef/apps",
            Expect::Redirectable,
        ),
        t(
            Method::GET,
            "/developer/apps/sandbox-confidential",
            Expect::Redirectable,
        ),
        t(
            Method::POST,
            "/developer/apps/sandbox-confidential",
            Expect::Redirectable,
        ),
        t(
            Method::POST,
            "/developer/apps/sandbox-confidential/secrets",
            Expect::Redirectable,
        ),
        t(
            Method::GET,
            "/developer/invitations/zz",
            Expect::Redirectable,
        ),
        t(Method::POST, "/api/admin/v1/organizations", Expect::Refused),
        t(Method::POST, "/api/admin/v1/users", Expect::Refused),
        t(
            Method::PATCH,
            "/api/admin/v1/apps/sandbox-confidential",
            Expect::Refused,
        ),
        t(
            Method::PUT,
            "/api/admin/v1/users/x/verifications/military",
            Expect::Refused,
        ),
        // Password reset and email confirmation (issue 23).
        t(
            Method::POST,
            "/account/password/forgot",
            Expect::Redirectable,
        ),
        t(Method::GET, "/account/password/reset", Expect::Redirectable),
        t(
            Method::POST,
            "/account/password/reset",
            Expect::Redirectable,
        ),
        t(Method::GET, "/account/email/confirm", Expect::Redirectable),
        t(Method::POST, "/account/email/resend", Expect::Redirectable),
        // Last: logout ends the browser's session.
        t(Method::GET, "/oauth/logout", Expect::Redirectable),
        t(Method::POST, "/oauth/logout", Expect::Redirectable),
    ];
    let admin = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [(
                reqwest::header::AUTHORIZATION,
                HeaderValue::from_static("Bearer hostile-admin-token"),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    for target in &targets {
        for input in inputs(&csrf) {
            let client = if target.path.starts_with("/api/admin") {
                &admin
            } else {
                &browser
            };
            let resp = send(&app, client, target, &input).await;
            check(&app, target, &input, &resp);
        }
    }
    // Nothing hostile was registered on the way.
    let (s, _) = (
        browser
            .get(app.url("/developer"))
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert!(s.is_success() || s.is_redirection());
    assert!(
        app.store
            .find_app("sandbox-confidential")
            .await
            .unwrap()
            .is_some()
    );
}

/// Issue 26: a browser at `/` or at an unknown path reads a page; an API client keeps JSON.
#[tokio::test]
async fn browsers_read_pages_at_unknown_paths_and_api_clients_keep_json() {
    let app = spawn_app().await;
    for path in ["/", "/no/such/page", "/oidc/nope"] {
        let api = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = api.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}");

        let page = app
            .http
            .get(app.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        let ct = page.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        let (status, html) = (page.status(), page.text().await.unwrap());
        if path == "/" {
            assert_eq!(status, StatusCode::OK);
            assert!(html.contains(r#"href="/account""#), "{html}");
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(html.contains("Page not found"), "{html}");
            assert!(html.contains("Request id: <code>"), "{html}");
        }
    }
}
