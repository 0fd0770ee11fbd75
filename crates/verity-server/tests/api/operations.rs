//! Running Verity (issue 6): `/metrics`, client addresses behind trusted proxies, and the
//! database going away and coming back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const METRICS_TOKEN: &str = "metrics-token-0123456789";

async fn metrics(app: &TestApp) -> String {
    let resp = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    resp.text().await.unwrap()
}

fn with_metrics_token(s: &mut verity_server::settings::Settings) {
    s.metrics_token = Some(verity_server::settings::Secret(METRICS_TOKEN.into()));
}

/// `/metrics` is not public: on the main port it answers only the metrics token (401 for a
/// wrong or missing one, 404 when no token is configured), and a separate listener serves it
/// (and nothing else) without a token, for a scraper on a private network.
#[tokio::test]
async fn metrics_are_read_with_the_token_or_on_their_own_listener() {
    let closed = spawn_app().await;
    let resp = closed
        .http
        .get(closed.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(closed.metrics_base.is_none());

    let app = spawn_with(|s| {
        with_metrics_token(s);
        s.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    for token in [None, Some("wrong"), Some(&METRICS_TOKEN[..10])] {
        let mut req = app.http.get(app.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(resp.headers().contains_key("www-authenticate"));
    }
    assert!(metrics(&app).await.contains("verity_http_requests_total"));

    let private = app.metrics_base.clone().expect("a metrics listener");
    let resp = app
        .http
        .get(format!("{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(text.contains("verity_db_pool_max_connections"), "{text}");
    let other = app
        .http
        .get(format!("{private}/oidc/.well-known/openid-configuration"))
        .send();
    assert_eq!(other.await.unwrap().status(), StatusCode::NOT_FOUND);
}

/// The value of one sample line (`name{labels}`), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_tokens_failures_and_the_pool() {
    let app = spawn_with(with_metrics_token).await;
    let tokens = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let refreshed = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    // One wrong password.
    let browser = new_browser();
    let page = browser
        .get(app.authorize_url(&as_pairs(&app.confidential_request("openid"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wrong = browser
        .post(app.url(&form_action(&page, "/signin").unwrap()))
        .form(&[
            ("csrf_token", hidden_value(&page, "csrf_token").unwrap()),
            ("email", "student@sandbox.test".into()),
            ("password", "not the password".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    app.http.get(app.url("/no/such/page")).send().await.unwrap();

    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            "verity_http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"200\"}"
        ),
        2.0,
        "{text}"
    );
    // Routes are patterns, never raw paths: unknown paths fall into one series.
    assert!(!text.contains("/no/such/page"));
    assert_eq!(
        sample(
            &text,
            "verity_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "verity_http_request_duration_seconds_count{route=\"/oauth/token\",method=\"POST\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            "verity_tokens_issued_total{grant_type=\"authorization_code\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "verity_tokens_issued_total{grant_type=\"refresh_token\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "verity_signin_failures_total{step=\"password\",reason=\"wrong\"}"
        ),
        1.0
    );
    let backend = app.store.backend();
    assert!(
        sample(
            &text,
            &format!("verity_db_pool_max_connections{{backend=\"{backend}\"}}")
        ) >= 1.0
    );
    assert!(text.contains(&format!(
        "verity_db_pool_connections{{backend=\"{backend}\",state=\"idle\"}}"
    )));
}

async fn token_issued_address(app: &TestApp, forwarded_for: Option<&str>) -> Option<String> {
    let cb = app.authorize_as("student@sandbox.test", "openid").await;
    let mut req = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(CONFIDENTIAL, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("redirect_uri", CALLBACK),
        ]);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    assert_eq!(req.send().await.unwrap().status(), StatusCode::OK);
    let events = app
        .store
        .find_audit(Some(CONFIDENTIAL), None, 1)
        .await
        .unwrap();
    assert_eq!(events[0].event, "token.issued");
    events[0].address.clone()
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // By default nobody is trusted: a client cannot choose the address it is throttled under.
    let app = spawn_app().await;
    assert_eq!(
        token_issued_address(&app, Some("198.51.100.7"))
            .await
            .as_deref(),
        Some("127.0.0.1")
    );
    // Behind a trusted proxy, the rightmost address it did not add itself is the client; what
    // the client wrote to the left is ignored.
    let proxied = spawn_with(|s| {
        s.trusted_proxies = verity_core::net::parse_list("127.0.0.1, 10.0.0.0/8").unwrap();
    })
    .await;
    assert_eq!(
        token_issued_address(&proxied, Some("6.6.6.6, 198.51.100.7, 10.1.2.3"))
            .await
            .as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(
        token_issued_address(&proxied, None).await.as_deref(),
        Some("127.0.0.1")
    );
}

/// A TCP relay between a node and PostgreSQL that can be cut (every connection closed, new ones
/// refused) and restored: the database "goes away" without touching the shared server.
struct Relay {
    addr: std::net::SocketAddr,
    open: Arc<AtomicBool>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let conns: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let accept = tokio::spawn({
            let open = open.clone();
            let conns = conns.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        continue; // dropped: the connection is closed at once
                    }
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    conns.lock().unwrap().push(task.abort_handle());
                }
            }
        });
        Relay {
            addr,
            open,
            conns,
            accept,
        }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test]
async fn the_database_going_away_answers_503_and_service_resumes_by_itself() {
    let Some(db) = PgTestDb::create("verity_test").await.map(Arc::new) else {
        eprintln!("needs PostgreSQL: set VERITY_TEST_DATABASE_URL (.ci/run does)");
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    let upstream = tokio::net::lookup_host(format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port().unwrap_or(5432)
    ))
    .await
    .unwrap()
    .next()
    .unwrap();
    let relay = Relay::start(upstream).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.addr.port())).unwrap();
    let app = spawn_with_database(url.to_string(), db.clone(), |s| {
        s.db_pool.acquire_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let before = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let cb = app.authorize_as("student@sandbox.test", "openid").await;

    relay.cut();
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The token endpoint: 503 with an RFC 6749-shaped JSON body.
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("database")
    );
    // A person gets a page that says so.
    let page = app
        .browser
        .get(app.authorize_url(&as_pairs(&app.confidential_request("openid"))))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("temporarily unavailable")
    );
    // The liveness probe does not depend on the database (the process is fine).
    let live = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);

    relay.restore();
    // No restart: the pool reconnects on its own (a stale connection may fail once).
    let mut ready = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..5 {
        ready = app
            .http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        if ready == StatusCode::OK {
            break;
        }
    }
    assert_eq!(ready, StatusCode::OK);
    // The code that could not be redeemed during the outage still can be; what was issued
    // before the outage is intact.
    let tokens = app.exchange(cb.code()).await;
    assert!(tokens["access_token"].is_string());
    let resp = app
        .get_bearer(
            "/api/public/v3/userinfo",
            before["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_tokens_signed_userinfo_is_signed_once_and_answered_again() {
    let app = spawn_app().await;
    let tokens = app
        .tokens_for("veteran@sandbox.test", "openid military")
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let first = app.get_bearer("/api/public/v3/userinfo", access).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    app.clock.advance(5);
    let again: Value = app
        .get_bearer("/api/public/v3/userinfo", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first, again, "the same signed JWT, not a new signature");
    // Another token of the same user is signed on its own.
    let other = app
        .tokens_for("veteran@sandbox.test", "openid military")
        .await;
    let theirs: Value = app
        .get_bearer(
            "/api/public/v3/userinfo",
            other["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(first, theirs);
    // A revoked token gets nothing, cached answer or not.
    let resp = app
        .http
        .post(app.url("/oauth/revoke"))
        .basic_auth(CONFIDENTIAL, Some(SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.get_bearer("/api/public/v3/userinfo", access).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn single_sign_on_writes_no_interaction_and_a_shown_page_stores_one() {
    let app = spawn_app().await;
    let count = || app.query_i64("SELECT COUNT(*) FROM interactions WHERE id <> $1", "");
    let browser = new_browser();
    let url = app.authorize_url(&as_pairs(&app.confidential_request("openid")));
    let (first, trace) = app
        .journey(&browser, &url, &Journey::persona("student@sandbox.test"))
        .await;
    assert!(first.get("code").is_some() && !trace.pages.is_empty());
    assert_eq!(count().await, 0, "a finished interaction is gone");
    // The same browser again: a code at once, nothing stored on the way.
    let resp = browser.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(location(&resp).unwrap().starts_with(CALLBACK));
    assert_eq!(count().await, 0);
    // A browser without a session is shown the sign-in page, whose interaction is stored.
    let page = new_browser().get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(count().await, 1);
}

/// Every answer (a JSON endpoint, a page, a 404) carries Verity's own request id, never an
/// incoming one, and the security headers; pages are not stored by caches.
#[tokio::test]
async fn every_answer_carries_a_fresh_request_id_and_the_security_headers() {
    let app = spawn_app().await;
    let authorize = app.authorize_url(&as_pairs(&app.confidential_request("openid")));
    let mut pages = 0;
    for url in [
        app.url("/oidc/.well-known/openid-configuration"),
        authorize,
        app.url("/no/such/page"),
    ] {
        let resp = app
            .http
            .get(&url)
            .header("x-request-id", "forged-id")
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        let id = h["x-request-id"].to_str().unwrap();
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{url}: {id}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{url}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        let html = h
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        if html {
            assert_eq!(h["cache-control"], "no-store", "{url}");
            pages += 1;
        }
    }
    assert_eq!(
        pages, 1,
        "the authorization request answers the sign-in page"
    );
}
