//! A real provider and a reference RP per test, and a browser that goes through both.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use sqlx::Row;
use verity_core::clock::{Clock, ManualClock};
use verity_core::keys::{Alg, SigningKey};
use verity_rp::{Rp, RpArgs, RpSettings};
use verity_server::{Settings, Verity};

pub const CALLBACK: &str = "http://127.0.0.1:8090/callback";
pub const PASSWORD: &str = "sandbox-password";
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
pub const IDENTITY_POLICY: &str = "http://idmanagement.gov/ns/assurance/ial/2/aal/2";

pub struct TestClock(pub Arc<ManualClock>);

impl verity_client::Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.now()
    }
}

pub struct Provider {
    pub base: String,
    pub issuer: String,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_provider() -> Provider {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let server = Verity::build(Settings::for_tests(dir.path()), clock.clone())
        .await
        .unwrap();
    let base = server.public_url().to_owned();
    let issuer = server.issuer().to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Provider {
        base,
        issuer,
        clock,
        _dir: dir,
        _shutdown: tx,
    }
}

pub struct TestRp {
    pub base: String,
    pub db: TestDb,
    /// The PostgreSQL database made for this test, dropped with the guard (also on a panic).
    pg: Option<verity_testkit::PgTestDb>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Where the reference app keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL as well when `VERITY_TEST_DATABASE_URL` names a server (`.ci/run`
/// sets it), each test on a fresh database.
pub fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if verity_testkit::admin_url().is_some() {
        b.push(Backend::Postgres);
    }
    b
}

/// The app's database as the tests see it: the app's own handle, and a pool of sqlx's `Any`
/// driver on the same database, so that one inspection query serves both backends.
pub struct TestDb {
    app: verity_rp::db::Db,
    any: sqlx::AnyPool,
}

impl TestDb {
    async fn open(app: verity_rp::db::Db, url: &str) -> Self {
        sqlx::any::install_default_drivers();
        let any = sqlx::AnyPool::connect(url).await.unwrap();
        TestDb { app, any }
    }

    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.any
    }

    pub async fn close(&self) {
        self.any.close().await;
        self.app.close().await;
    }
}

impl TestRp {
    /// Closes the app's pool and drops its PostgreSQL database, if it had one.
    pub async fn finish(self) {
        self.db.close().await;
        drop(self.pg);
    }
}

pub async fn spawn_rp(
    issuer: &str,
    client_id: &str,
    secret: Option<&str>,
    scopes: &str,
    clock: Arc<ManualClock>,
) -> TestRp {
    spawn_rp_on(Backend::Sqlite, issuer, client_id, secret, scopes, clock).await
}

pub async fn spawn_rp_on(
    backend: Backend,
    issuer: &str,
    client_id: &str,
    secret: Option<&str>,
    scopes: &str,
    clock: Arc<ManualClock>,
) -> TestRp {
    let args = RpArgs {
        issuer: Some(issuer.into()),
        client_id: Some(client_id.into()),
        client_secret: secret.map(str::to_owned),
        scopes: Some(scopes.into()),
        ..Default::default()
    };
    spawn_rp_with(backend, args, clock).await
}

/// The app with `args`, on a free port, its data in a fresh directory or PostgreSQL database.
pub async fn spawn_rp_with(backend: Backend, args: RpArgs, clock: Arc<ManualClock>) -> TestRp {
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => verity_testkit::PgTestDb::create("verity_rp_test").await,
    };
    let database_url = pg.as_ref().map(|db| db.url.clone());
    let settings = RpSettings::resolve(RpArgs {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        database_url,
        ..args
    })
    .unwrap();
    assert_eq!(settings.redirect_uri, CALLBACK, "the default redirect URI");
    let database_url = settings.database_url.clone();
    let rp = Rp::build(settings, Arc::new(TestClock(clock)))
        .await
        .unwrap();
    let base = format!("http://{}", rp.local_addr());
    let db = TestDb::open(rp.db().clone(), &database_url).await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        rp.run(async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestRp {
        base,
        db,
        pg,
        _dir: dir,
        _shutdown: tx,
    }
}

pub fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub fn form_action(html: &str, suffix: &str) -> Option<String> {
    html.split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|a| a.ends_with(suffix))
        .map(str::to_owned)
}

pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

/// The `value` of the input with `id`, HTML entities decoded.
pub fn input_value(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" name=\"{id}\" value=\"");
    let raw = html
        .split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no input {id} in {html}"));
    raw.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Signs `email` in through the RP; returns the profile page.
pub async fn sign_in(op: &Provider, rp: &TestRp, email: &str) -> String {
    sign_in_with(&new_browser(), op, rp, email).await
}

pub async fn sign_in_with(
    browser: &reqwest::Client,
    op: &Provider,
    rp: &TestRp,
    email: &str,
) -> String {
    let home = browser.get(rp.url("/")).send().await.unwrap();
    assert_eq!(home.headers()["x-frame-options"], "DENY");
    assert!(home.text().await.unwrap().contains("action=\"/login\""));
    let login = browser.get(rp.url("/login")).send().await.unwrap();
    assert!(login.status().is_redirection());
    let to_provider = location(&login);
    assert!(to_provider.starts_with(&op.url("/oauth/authorize?")));
    // Verity offers PAR: the request (state, nonce, PKCE challenge) was pushed, and the browser
    // carries only the app and the request_uri. The code exchange below proves the challenge
    // went with it (Verity refuses a verifier for a code issued without one).
    let query: Vec<(String, String)> = reqwest::Url::parse(&to_provider)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "{to_provider}");
    assert!(query[1].1.starts_with("urn:ietf:params:oauth:request_uri:"));
    let back = op.journey(browser, &to_provider, email, "allow").await;
    assert!(back.starts_with(CALLBACK), "{back}");
    let cb = browser.get(rp.callback_url(&back)).send().await.unwrap();
    assert_eq!(
        cb.status(),
        StatusCode::SEE_OTHER,
        "{}",
        cb.text().await.unwrap()
    );
    assert_eq!(location(&cb), "/profile");
    let page = browser.get(rp.url("/profile")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    page.text().await.unwrap()
}

impl Provider {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// From the provider's authorization URL to the app's redirect URI, answering each page.
    pub async fn journey(
        &self,
        browser: &reqwest::Client,
        start: &str,
        email: &str,
        consent: &str,
    ) -> String {
        let mut resp = browser.get(start).send().await.unwrap();
        for _ in 0..20 {
            if resp.status().is_redirection() {
                let loc = location(&resp);
                let abs = if loc.starts_with('/') {
                    self.url(&loc)
                } else {
                    loc
                };
                if !abs.starts_with(&self.base) {
                    return abs;
                }
                resp = browser.get(&abs).send().await.unwrap();
                continue;
            }
            let html = resp.text().await.unwrap();
            let csrf = hidden_value(&html, "csrf_token").unwrap_or_else(|| panic!("{html}"));
            let (action, mut fields): (String, Vec<(&str, String)>) =
                if let Some(a) = form_action(&html, "/signin") {
                    (
                        a,
                        vec![("email", email.into()), ("password", PASSWORD.into())],
                    )
                } else if let Some(a) = form_action(&html, "/mfa") {
                    self.clock.advance(30);
                    let secret = verity_core::totp::decode_base32(TOTP_SECRET).unwrap();
                    (
                        a,
                        vec![(
                            "code",
                            verity_core::totp::code_at(&secret, self.clock.now()),
                        )],
                    )
                } else if let Some(a) = form_action(&html, "/verify") {
                    (a, vec![("decision", "verify".into())])
                } else if let Some(a) = form_action(&html, "/consent") {
                    (a, vec![("decision", consent.into())])
                } else {
                    panic!("no known form: {html}");
                };
            fields.push(("csrf_token", csrf));
            resp = browser
                .post(self.url(&action))
                .form(&fields)
                .send()
                .await
                .unwrap();
        }
        panic!("the journey did not reach the app");
    }
}

impl TestRp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The app's redirect URI as the provider sent it, delivered to this RP instance.
    pub fn callback_url(&self, provider_redirect: &str) -> String {
        let query = provider_redirect
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default();
        self.url(&format!("/callback?{query}"))
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(self.db.pool())
            .await
            .unwrap()
            .get("n")
    }
}

/// A provider whose answers the test writes: discovery, JWKS, and a token endpoint and userinfo
/// that answer whatever was last put in `token` and `userinfo`.
#[derive(Clone)]
pub struct Scripted {
    pub issuer: String,
    pub key: Arc<SigningKey>,
    jwks: Value,
    pub token: Arc<Mutex<String>>,
    pub userinfo: Arc<Mutex<String>>,
}

pub async fn spawn_scripted() -> Scripted {
    let key = Arc::new(SigningKey::generate(Alg::RS256).unwrap().0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/oidc", listener.local_addr().unwrap());
    let scripted = Scripted {
        issuer,
        jwks: json!({"keys": [serde_json::to_value(key.jwk()).unwrap()]}),
        key,
        token: Arc::default(),
        userinfo: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/oidc/.well-known/openid-configuration",
            get(scripted_discovery),
        )
        .route("/oidc/.well-known/jwks", get(scripted_jwks))
        .route("/oauth/token", post(scripted_token))
        .route("/api/public/v3/userinfo", get(scripted_userinfo))
        .with_state(scripted.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    scripted
}

async fn scripted_discovery(State(a): State<Scripted>) -> axum::Json<Value> {
    let base = a.issuer.trim_end_matches("/oidc").to_owned();
    axum::Json(json!({
        "issuer": a.issuer,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "userinfo_endpoint": format!("{base}/api/public/v3/userinfo"),
        "jwks_uri": format!("{}/.well-known/jwks", a.issuer),
        "claims_parameter_supported": true,
        "verified_claims_supported": true,
        "trust_frameworks_supported": ["nist_800_63A", "verity"],
    }))
}

async fn scripted_jwks(State(a): State<Scripted>) -> axum::Json<Value> {
    axum::Json(a.jwks.clone())
}

async fn scripted_token(State(a): State<Scripted>) -> impl IntoResponse {
    let body = a.token.lock().unwrap().clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn scripted_userinfo(State(a): State<Scripted>) -> impl IntoResponse {
    let body = a.userinfo.lock().unwrap().clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}
