//! Verity's own calls to apps never reach into its network (issue 28): in production, an app
//! whose `jwks_uri` or `backchannel_logout_uri` names a loopback listener, through an IPv4-mapped
//! literal or through a host name that resolves to loopback (what DNS rebinding makes of a name
//! that was public at registration), gets no connection at all, and is answered as an app that
//! cannot be reached; the operator's allow list (`VERITY_OUTBOUND_ALLOW`) lets the very same
//! calls through, which shows the listener would have seen them. Registration refuses internal
//! literals in every spelling, through the admin API and the console.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use verity_core::clock::Clock;
use verity_core::keys::{Alg, SigningKey};

use crate::helpers::*;
use crate::helpers::{open_as as open, post_form as post};

const METRICS_TOKEN: &str = "outbound-metrics-token-0123456789";
const ADMIN_TOKEN: &str = "outbound-admin-token-0123456789";

/// A TCP listener on loopback that counts the connections it accepts and closes each at once
/// (a TLS handshake then fails at once instead of waiting for a timeout).
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
    seen: tokio::sync::watch::Receiver<usize>,
}

impl Listener {
    async fn start() -> Listener {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (tx, seen) = tokio::sync::watch::channel(0);
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                drop(stream);
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = tx.send(n);
            }
        });
        Listener {
            port,
            accepted,
            seen,
        }
    }

    fn count(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits (at most 10 s) until `n` connections were accepted.
    async fn wait_for(&mut self, n: usize) {
        let reached =
            tokio::time::timeout(Duration::from_secs(10), self.seen.wait_for(|c| *c >= n))
                .await
                .is_ok_and(|seen| seen.is_ok());
        assert!(reached, "{n} connections expected, {} seen", self.count());
    }

    /// The same listener, named the ways an app could name it: an IPv4-mapped IPv6 literal, a
    /// host name resolving to loopback, and a short IPv4 spelling.
    fn urls(&self, path: &str) -> [String; 3] {
        let port = self.port;
        [
            format!("https://[::ffff:127.0.0.1]:{port}{path}"),
            format!("https://localhost:{port}{path}"),
            format!("https://127.1:{port}{path}"),
        ]
    }
}

/// A production server on a database the sandbox seeded (its personas and apps, to sign in
/// with), calling out under `allow`, its metrics readable with [`METRICS_TOKEN`].
async fn production(allow: &str) -> TestApp {
    let seeded = spawn_app().await;
    let allow = verity_core::net::parse_list(allow).unwrap();
    seeded
        .restart_with(|s| {
            s.environment = verity_server::Environment::Production;
            s.outbound_allow = allow;
            s.metrics_token = Some(verity_server::settings::Secret(METRICS_TOKEN.into()));
            s.admin_token = Some(verity_server::settings::Secret(ADMIN_TOKEN.into()));
        })
        .await
}

/// The `verity_outbound_refused` count of `purpose`, from `/metrics`.
async fn refusals(app: &TestApp, purpose: &str) -> u64 {
    let labels = format!("purpose=\"{purpose}\"");
    let name = "verity_outbound_refused_total";
    metric_sample(app, METRICS_TOKEN, name, &labels).await as u64
}

/// Presents a `private_key_jwt` assertion of `client_id` at the token endpoint (with a code that
/// does not exist: the client is authenticated first, which fetches its `jwks_uri`).
async fn present_assertion(app: &TestApp, client_id: &str) -> (StatusCode, Value) {
    let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
    let now = app.clock.now();
    let claims = json!({"iss": client_id, "sub": client_id, "aud": app.url("/oauth/token"),
        "iat": now, "exp": now + 60, "jti": format!("jti-{client_id}")});
    let assertion = key.sign_jwt("JWT", &claims).unwrap();
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", "no-such-code"),
                ("redirect_uri", CALLBACK),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
            ],
            None,
        )
        .await;
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// Registers one app per URL of `urls` with its `jwks_uri` there; presents an assertion of each.
async fn assertions_against(app: &TestApp, urls: &[String]) -> Vec<(StatusCode, Value)> {
    let mut answers = Vec::new();
    for (i, uri) in urls.iter().enumerate() {
        let client_id = format!("keys-{i}");
        app.create_app(&client_id, |a| a.jwks_uri = Some(uri.clone()))
            .await;
        answers.push(present_assertion(app, &client_id).await);
    }
    answers
}

#[tokio::test]
async fn a_jwks_uri_on_a_mapped_literal_or_a_loopback_name_gets_no_connection() {
    let listener = Listener::start().await;
    let app = production("").await;
    let urls = listener.urls("/jwks");
    for ((status, body), uri) in assertions_against(&app, &urls).await.iter().zip(&urls) {
        // Answered as any key set that cannot be fetched.
        assert_eq!(*status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        assert_eq!(body["error"], "invalid_client", "{uri}");
        assert_eq!(
            body["error_description"], "the app's jwks_uri could not be fetched",
            "{uri}"
        );
    }
    // The calls were refused before any connection was opened: the token endpoint answered
    // after each decision, so nothing can still be on its way.
    assert_eq!(
        listener.count(),
        0,
        "no connection to the loopback listener"
    );
    assert_eq!(refusals(&app, "jwks_uri").await, 3);
}

#[tokio::test]
async fn a_backchannel_logout_uri_on_a_mapped_literal_or_a_loopback_name_gets_no_connection() {
    let listener = Listener::start().await;
    let app = production("").await;
    let urls = listener.urls("/logout");
    sign_in_and_out(&app, &urls).await;
    // The notices go out in the background: wait until each was refused, then look.
    tokio::time::timeout(Duration::from_secs(10), async {
        while refusals(&app, "backchannel_logout_uri").await < urls.len() as u64 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("each back-channel notice is refused");
    assert_eq!(refusals(&app, "backchannel_logout_uri").await, 3);
    assert_eq!(
        listener.count(),
        0,
        "no connection to the loopback listener"
    );
}

/// Signs a persona in to one app per URL of `urls` (each with its `backchannel_logout_uri`
/// there), in one session, and signs out, which notifies every app.
async fn sign_in_and_out(app: &TestApp, urls: &[String]) {
    let browser = new_browser();
    let mut id_token = String::new();
    for (i, uri) in urls.iter().enumerate() {
        let client_id = format!("logout-{i}");
        app.create_app(&client_id, |a| a.backchannel_logout_uri = Some(uri.clone()))
            .await;
        let url = app.authorize_url(&[
            ("client_id", &client_id),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
        ]);
        let (cb, _) = app
            .journey(&browser, &url, &Journey::persona("student@sandbox.test"))
            .await;
        let resp = app
            .post_token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", cb.code()),
                    ("redirect_uri", CALLBACK),
                ],
                Some((&client_id, SECRET)),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "{client_id}");
        let tokens: Value = resp.json().await.unwrap();
        id_token = tokens["id_token"].as_str().unwrap().to_owned();
    }
    let resp = browser
        .get(app.url(&format!("/oauth/logout?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// The control that shows the two tests above can fail: with loopback allowed by the operator,
/// the same calls reach the listener.
#[tokio::test]
async fn the_operators_allow_list_lets_the_same_calls_reach_the_listener() {
    let mut listener = Listener::start().await;
    let app = production("127.0.0.0/8").await;
    let urls = listener.urls("/jwks");
    for (status, body) in assertions_against(&app, &urls).await {
        // The listener hangs up: still a key set that cannot be fetched.
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_client");
    }
    listener.wait_for(urls.len()).await;
    let reached = listener.count();
    sign_in_and_out(&app, &listener.urls("/logout")).await;
    listener.wait_for(reached + urls.len()).await;
    assert_eq!(refusals(&app, "jwks_uri").await, 0);
    assert_eq!(refusals(&app, "backchannel_logout_uri").await, 0);
}

/// The literals (and other spellings) are refused when an app is registered, with a
/// message that names the address and why, for both URLs Verity calls.
#[tokio::test]
async fn registration_refuses_internal_literals_in_any_spelling() {
    let app = production("").await;
    let admin = |method: Method, path: &str, body: Value| {
        app.http
            .request(method, app.url(&format!("/api/admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let org: Value = admin(Method::POST, "/organizations", json!({"name": "Inside"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/organizations/{}/apps", org["id"].as_str().unwrap());
    for (bad, says) in [
        (
            "https://[::ffff:127.0.0.1]:8443/jwks",
            "points at ::ffff:127.0.0.1, an internal address (IPv4-mapped 127.0.0.1, loopback \
             127.0.0.0/8)",
        ),
        (
            "https://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data",
            "points at ::ffff:169.254.169.254, an internal address (IPv4-mapped 169.254.169.254, \
             link-local 169.254.0.0/16)",
        ),
        (
            "https://[fe80::1]/",
            "points at fe80::1, an internal address (link-local fe80::/10)",
        ),
        ("https://0x7f.0.0.1/jwks", "points at 127.0.0.1"),
        ("https://[::a9fe:a9fe]/", "IPv4-compatible 169.254.169.254"),
        ("https://100.64.0.1/", "shared address space"),
        ("https://localhost./jwks", "names localhost, this machine"),
    ] {
        for field in ["jwks_uri", "backchannel_logout_uri"] {
            let body = json!({"name": "A", "redirect_uris": ["https://a.example/cb"], field: bad});
            let resp = admin(Method::POST, &path, body).await.unwrap();
            let status = resp.status();
            let answer: Value = resp.json().await.unwrap();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field} {bad}: {answer}");
            let description = answer["error_description"].as_str().unwrap_or_default();
            assert!(
                description.contains(field) && description.contains(says),
                "{field} {bad}: {description}"
            );
        }
    }
    // A public literal and a public name are fine.
    for good in [
        "https://93.184.216.34/jwks",
        "https://keys.example.com/jwks",
    ] {
        let body =
            json!({"name": "B", "redirect_uris": ["https://a.example/cb"], "jwks_uri": good});
        let resp = admin(Method::POST, &path, body).await.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{good}");
    }

    // The developer console says the same beside the form.
    let owner = new_browser();
    let (s, home) = open(&app, &owner, "/developer", "student@sandbox.test").await;
    assert_eq!(s, StatusCode::OK);
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    let resp = post(&app, &owner, "/developer/orgs", &csrf, &[("name", "Mine")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let org_path = resp.headers()["location"].to_str().unwrap().to_owned();
    let resp = post(
        &app,
        &owner,
        &format!("{org_path}/apps"),
        &csrf,
        &[
            ("name", "Mapped"),
            ("redirect_uris", "https://a.example/cb"),
            ("profile", "oidc"),
            ("id_token_alg", "RS256"),
            ("jwks_uri", "https://[::ffff:127.0.0.1]:8443/jwks"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    // (The page escapes the block's slash.)
    assert!(
        page.contains("an internal address (IPv4-mapped 127.0.0.1, loopback 127.0.0.0"),
        "{page}"
    );
}
