//! The test harness: `spawn_app()` starts a real server (port 0, cheap argon2, a manual clock) on
//! a fresh database: a SQLite file in a temp dir, or, when `VERITY_TEST_DATABASE_URL` names a
//! PostgreSQL server, a new database there, dropped when the test ends. Typed helpers drive the
//! pages as a browser would; `second_node` starts another server on the same database.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use verity_core::clock::{Clock, ManualClock};
use verity_server::{Settings, Verity};
use verity_store::Store;
use verity_store::apps::App;
pub use verity_testkit::PgTestDb;

pub const CALLBACK: &str = "http://127.0.0.1:8090/callback";
pub const CONFIDENTIAL: &str = "sandbox-confidential";
pub const SECRET: &str = "sandbox-secret";
pub const PUBLIC: &str = "sandbox-public";
pub const PASSWORD: &str = "sandbox-password";
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
pub const IDENTITY_POLICY: &str = "http://idmanagement.gov/ns/assurance/ial/2/aal/2";

pub struct TestApp {
    pub base: String,
    pub issuer: String,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    /// The server's state, to drive maintenance and key rotation directly.
    pub state: verity_server::state::AppState,
    /// A browser: cookies kept, redirects not followed (tests look at each one).
    pub browser: reqwest::Client,
    /// A plain HTTP client for back-channel calls.
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    /// What the server was started with (database URL included).
    pub settings: Settings,
    /// The separate `/metrics` listener (`http://addr`), when the settings ask for one.
    pub metrics_base: Option<String>,
    /// The PostgreSQL database of this test, shared by its nodes, dropped after the last.
    pg: Option<Arc<PgTestDb>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// A fresh PostgreSQL database for this test (when `VERITY_TEST_DATABASE_URL` is set), shared by
/// its nodes, dropped after the last.
async fn pg_test_db() -> Option<Arc<PgTestDb>> {
    PgTestDb::create("verity_test").await.map(Arc::new)
}

/// A fixed master key for nodes that share a database (never used outside tests).
const TEST_MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            handle.abort();
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(data_dir.path());
    let pg = pg_test_db().await;
    if let Some(db) = &pg {
        settings.database_url = db.url.clone();
        settings.master_key = Some(verity_server::settings::Secret(TEST_MASTER_KEY.into()));
    }
    configure(&mut settings);
    spawn_node(
        data_dir,
        settings,
        pg,
        Arc::new(ManualClock::starting_now()),
    )
    .await
}

/// Starts a server on the PostgreSQL database `url` (which may reach `db` another way, e.g.
/// through a relay), `db` being dropped after the test.
pub async fn spawn_with_database(
    url: String,
    db: Arc<PgTestDb>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(data_dir.path());
    settings.database_url = url;
    settings.master_key = Some(verity_server::settings::Secret(TEST_MASTER_KEY.into()));
    configure(&mut settings);
    spawn_node(
        data_dir,
        settings,
        Some(db),
        Arc::new(ManualClock::starting_now()),
    )
    .await
}

impl TestApp {
    /// Stops this server and starts it again on the same data dir and database.
    pub async fn restart(self) -> TestApp {
        self.restart_with(|_| {}).await
    }

    /// [`TestApp::restart`] with changed settings.
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        let mut settings = self.settings.clone();
        configure(&mut settings);
        let pg = self.pg.take();
        let clock = self.clock.clone();
        self.stop().await;
        spawn_node(data_dir, settings, pg, clock).await
    }

    /// Another node of the same deployment: same database, master key and clock, its own data
    /// dir and port.
    pub async fn second_node(&self) -> TestApp {
        let mut settings = self.settings.clone();
        // One deployment, one public URL (a load balancer's), one issuer.
        settings.public_url = Some(self.state.public_url.clone());
        let data_dir = tempfile::tempdir().unwrap();
        settings.data_dir = data_dir.path().to_owned();
        settings.master_key = Some(verity_server::settings::Secret(
            self.state.master_key.to_hex(),
        ));
        spawn_node(data_dir, settings, self.pg.clone(), self.clock.clone()).await
    }

    /// Stops the server abruptly: in-flight requests are cut, nothing is drained (a crash).
    /// The data dir outlives the process, as a disk does: it is handed back.
    pub async fn kill(mut self) -> tempfile::TempDir {
        self.shutdown.take();
        if let Some(handle) = self.server.take() {
            handle.abort();
            let _ = handle.await;
        }
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap())
    }

    /// Graceful stop, waiting until the server is gone.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            let _ = handle.await;
        }
    }
}

/// A deployment not yet started: an empty database (its own PostgreSQL database, or a SQLite
/// file in a directory of its own), one public URL, one master key, one clock.
pub struct Deployment {
    settings: Settings,
    pg: Option<Arc<PgTestDb>>,
    clock: Arc<ManualClock>,
    _shared: tempfile::TempDir,
}

impl Deployment {
    pub async fn new() -> Self {
        let shared = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_tests(shared.path());
        settings.public_url = Some("http://verity.test".into());
        settings.master_key = Some(verity_server::settings::Secret(TEST_MASTER_KEY.into()));
        let pg = pg_test_db().await;
        if let Some(db) = &pg {
            settings.database_url = db.url.clone();
        }
        Deployment {
            settings,
            pg,
            clock: Arc::new(ManualClock::starting_now()),
            _shared: shared,
        }
    }

    /// Starts one more node (its own data dir and port).
    pub async fn start(&self) -> anyhow::Result<TestApp> {
        let data_dir = tempfile::tempdir()?;
        let mut settings = self.settings.clone();
        settings.data_dir = data_dir.path().to_owned();
        Ok(spawn_node(data_dir, settings, self.pg.clone(), self.clock.clone()).await)
    }
}

impl TestApp {
    /// One number from the database (tests that look under the store's API).
    pub async fn query_i64(&self, sql: &str, arg: &str) -> i64 {
        match &self.store {
            Store::Sqlite(..) => {
                // A connection of its own to the same file.
                let pool = sqlx::SqlitePool::connect(&self.settings.database_url)
                    .await
                    .unwrap();
                let n = sqlx::query_scalar(sql)
                    .bind(arg)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                n
            }
            Store::Postgres(pool, _) => sqlx::query_scalar(sql)
                .bind(arg)
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }
}

/// Starts a server on an existing data dir (to test restarts).
pub async fn spawn_in(data_dir: tempfile::TempDir, settings: Settings) -> TestApp {
    spawn_node(
        data_dir,
        settings,
        None,
        Arc::new(ManualClock::starting_now()),
    )
    .await
}

async fn spawn_node(
    data_dir: tempfile::TempDir,
    settings: Settings,
    pg: Option<Arc<PgTestDb>>,
    clock: Arc<ManualClock>,
) -> TestApp {
    let server = Verity::build(settings.clone(), clock.clone())
        .await
        .expect("server starts");
    // Requests go to this node's own port; the public URL (and issuer) may be the deployment's.
    let base = format!("http://{}", server.local_addr());
    let metrics_base = server.metrics_addr().map(|a| format!("http://{a}"));
    let issuer = server.issuer().to_owned();
    let store = server.store().clone();
    let state = server.state();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
    });
    TestApp {
        base,
        issuer,
        clock,
        store,
        state,
        browser: new_browser(),
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        data_dir,
        settings,
        metrics_base,
        pg,
        shutdown: Some(tx),
        server: Some(handle),
    }
}

pub fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The `Location` header of a response, if any.
pub fn location(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// `(&str, String)` pairs as `(&str, &str)`, for [`TestApp::authorize_url`].
pub fn as_pairs<'a>(params: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    params.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// What the browser arrived at on the app's redirect URI.
#[derive(Debug, Clone)]
pub struct Callback {
    pub location: String,
    pub status: StatusCode,
    pub params: Vec<(String, String)>,
}

impl Callback {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn code(&self) -> &str {
        self.get("code")
            .unwrap_or_else(|| panic!("no code in {}", self.location))
    }

    pub fn error(&self) -> Option<&str> {
        self.get("error")
    }
}

/// How the person answers each page.
#[derive(Debug, Clone)]
pub struct Journey {
    pub email: String,
    pub password: String,
    /// `verify`, `skip` or `deny` on the verification page.
    pub verification: &'static str,
    /// `allow` or `deny` on the consent page.
    pub consent: &'static str,
    /// Sign up instead of signing in (a sign-up page is expected).
    pub signup: bool,
}

impl Journey {
    pub fn persona(email: &str) -> Self {
        Journey {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            verification: "verify",
            consent: "allow",
            signup: false,
        }
    }
}

/// The pages seen along the way, in order (`signin`, `mfa`, `verify`, `consent`, ...).
#[derive(Debug, Default, Clone)]
pub struct Trace {
    pub pages: Vec<String>,
    /// The consent page as it was shown, when it was.
    pub consent: Option<String>,
}

/// A minimal HTML form reader: the `action` of the form whose action ends with `suffix`.
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

pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let parsed = reqwest::Url::parse(url).unwrap();
    parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn totp_code(now: i64) -> String {
    let secret = verity_core::totp::decode_base32(TOTP_SECRET).unwrap();
    verity_core::totp::code_at(&secret, now)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An authorization URL for `client_id` with the given extra parameters.
    pub fn authorize_url(&self, params: &[(&str, &str)]) -> String {
        let mut url = reqwest::Url::parse(&self.url("/oauth/authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    }

    /// A standard request of the confidential sandbox app.
    pub fn confidential_request(&self, scope: &str) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", CONFIDENTIAL.into()),
            ("redirect_uri", CALLBACK.into()),
            ("response_type", "code".into()),
            ("scope", scope.into()),
            ("state", "state-123".into()),
            ("nonce", "nonce-456".into()),
        ]
    }

    /// Drives the pages from `start_url` with `browser` until the app's redirect URI is reached.
    pub async fn journey(
        &self,
        browser: &reqwest::Client,
        start_url: &str,
        j: &Journey,
    ) -> (Callback, Trace) {
        let resp = browser.get(start_url).send().await.unwrap();
        self.journey_from(browser, resp, j).await
    }

    /// Like [`Self::journey`], continuing from a response the test already has (a POST to the
    /// authorization endpoint, or a page answered by hand).
    pub async fn journey_from(
        &self,
        browser: &reqwest::Client,
        mut resp: reqwest::Response,
        j: &Journey,
    ) -> (Callback, Trace) {
        let mut trace = Trace::default();
        for _ in 0..20 {
            let status = resp.status();
            if status.is_redirection() {
                let location = resp.headers()["location"].to_str().unwrap().to_owned();
                let absolute = if location.starts_with('/') {
                    self.url(&location)
                } else {
                    location.clone()
                };
                // The app's redirect URI: elsewhere, or Verity's own account page callback.
                if !absolute.starts_with(&self.base)
                    || absolute.starts_with(&self.url("/account/callback"))
                {
                    return (
                        Callback {
                            params: query_pairs(&absolute),
                            location: absolute,
                            status,
                        },
                        trace,
                    );
                }
                resp = browser.get(&absolute).send().await.unwrap();
                continue;
            }
            let html = resp.text().await.unwrap();
            assert!(
                status.is_success() || status == StatusCode::UNAUTHORIZED,
                "unexpected {status}: {html}"
            );
            let csrf = hidden_value(&html, "csrf_token").expect("every form carries a CSRF token");
            let (action, form): (String, Vec<(&str, String)>) = if let Some(a) =
                form_action(&html, "/signup")
                    .filter(|_| j.signup && !trace.pages.contains(&"signup".to_owned()))
            {
                trace.pages.push("signup".into());
                (
                    a,
                    vec![
                        ("email", j.email.clone()),
                        ("password", j.password.clone()),
                        ("password_confirm", j.password.clone()),
                    ],
                )
            } else if let Some(a) = form_action(&html, "/signin") {
                trace.pages.push("signin".into());
                assert!(
                    trace.pages.iter().filter(|p| *p == "signin").count() < 3,
                    "sign-in keeps failing: {html}"
                );
                (
                    a,
                    vec![("email", j.email.clone()), ("password", j.password.clone())],
                )
            } else if let Some(a) = form_action(&html, "/mfa") {
                trace.pages.push("mfa".into());
                // Each TOTP step is usable once: move to a fresh step.
                self.clock.advance(30);
                (a, vec![("code", totp_code(self.clock.now()))])
            } else if let Some(a) = form_action(&html, "/verify") {
                trace.pages.push("verify".into());
                (a, vec![("decision", j.verification.to_owned())])
            } else if let Some(a) = form_action(&html, "/consent") {
                trace.pages.push("consent".into());
                trace.consent = Some(html.clone());
                (a, vec![("decision", j.consent.to_owned())])
            } else {
                panic!("no known form on the page: {html}");
            };
            let mut fields = form;
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

    /// Authorizes the confidential app for `email` with `scope`, in a fresh browser.
    pub async fn authorize_as(&self, email: &str, scope: &str) -> Callback {
        let params = self.confidential_request(scope);
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (cb, _) = self
            .journey(
                &new_browser(),
                &self.authorize_url(&pairs),
                &Journey::persona(email),
            )
            .await;
        cb
    }

    /// `POST /oauth/token` with a form body and optional Basic credentials.
    pub async fn post_token(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        let mut req = self.http.post(self.url("/oauth/token")).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// Presents a code for the confidential app (client_secret_basic), whatever the answer.
    pub async fn redeem(&self, code: &str) -> reqwest::Response {
        self.post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
            ],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await
    }

    /// Exchanges a code for the confidential app (client_secret_basic).
    pub async fn exchange(&self, code: &str) -> serde_json::Value {
        let resp = self.redeem(code).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    /// A refresh grant of the confidential app, whatever the answer.
    pub async fn refresh(&self, token: &str) -> reqwest::Response {
        self.post_token(
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await
    }

    /// RFC 7662 introspection by the confidential app.
    pub async fn introspect(&self, token: &str) -> serde_json::Value {
        self.http
            .post(self.url("/oauth/introspect"))
            .basic_auth(CONFIDENTIAL, Some(SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Signs in `email` for `scope` and returns the token response.
    pub async fn tokens_for(&self, email: &str, scope: &str) -> serde_json::Value {
        let cb = self.authorize_as(email, scope).await;
        self.exchange(cb.code()).await
    }

    /// ID.me's `attributes.json` for an access token, as JSON.
    pub async fn attributes(&self, token: &str) -> serde_json::Value {
        let resp = self
            .get_bearer("/api/public/v3/attributes.json", token)
            .await;
        resp.json().await.unwrap()
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn discovery(&self) -> serde_json::Value {
        self.http
            .get(self.url("/oidc/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn jwks(&self) -> serde_json::Value {
        self.http
            .get(self.url("/oidc/.well-known/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Registers an app directly in the store (the admin API comes with the console issue).
    pub async fn create_app(&self, client_id: &str, configure: impl FnOnce(&mut App)) -> App {
        let sandbox = self.store.find_app(CONFIDENTIAL).await.unwrap().unwrap();
        let mut app = App::new(
            client_id,
            &sandbox.org_id,
            &format!("Test app {client_id}"),
            self.clock.now(),
        );
        app.redirect_uris = vec![CALLBACK.into()];
        app.policies = sandbox.policies.clone();
        configure(&mut app);
        self.store.insert_app(&app).await.unwrap();
        if !app.public {
            self.store
                .insert_app_secret(
                    &format!("{client_id}-s1"),
                    client_id,
                    &verity_core::secret::token_hash(SECRET),
                    self.clock.now(),
                )
                .await
                .unwrap();
        }
        app
    }
}

/// Verifies a compact JWS against the JWKS with `jsonwebtoken` (an independent implementation)
/// and returns its claims. Checks `iss`, and `aud` when given.
pub fn verify_jwt(
    jwt: &str,
    jwks: &serde_json::Value,
    issuer: &str,
    audience: &str,
) -> serde_json::Value {
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
    let header = decode_header(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let kid = header.kid.clone().expect("a kid");
    let jwk = set
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} is in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    // The test clock may run ahead of the wall clock.
    v.validate_exp = false;
    decode::<serde_json::Value>(jwt, &key, &v).unwrap().claims
}

/// The key ids of a JWKS.
pub fn kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The `kid` of a JWT's header.
pub fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

/// Opens `path` in `browser`, signing in as `email` when asked and following Verity's own
/// redirects; returns the final page.
pub async fn open_as(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    email: &str,
) -> (StatusCode, String) {
    let mut url = app.url(path);
    for _ in 0..6 {
        let resp = browser.get(&url).send().await.unwrap();
        if resp.status() != StatusCode::SEE_OTHER {
            let s = resp.status();
            return (s, resp.text().await.unwrap());
        }
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        url = if location.contains("/oauth/authorize") {
            let (cb, _) = app
                .journey(browser, &location, &Journey::persona(email))
                .await;
            cb.location
        } else {
            app.url(&location)
        };
    }
    panic!("too many redirects from {path}");
}

/// Posts a form of Verity's own pages with the page's CSRF token added.
pub async fn post_form(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf_token", csrf));
    browser
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The value of the one `/metrics` sample of `name` whose labels hold `labels`, read with the
/// metrics token `token`.
pub async fn metric_sample(app: &TestApp, token: &str, name: &str, labels: &str) -> f64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(labels))
        .unwrap_or_else(|| panic!("no {name} {labels} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Base64url without padding (RFC 7515 2), written here: a test must not lean on the code it
/// checks.
pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The message of the (first) error paragraph on a page.
pub fn alert(html: &str) -> Option<&str> {
    html.split("role=\"alert\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
}

/// The sign-in form's answer to `email` with `password` (status and alert), in a new browser: a
/// redirect when the password was right, the form again (and its alert) when not.
pub async fn sign_in_answer(app: &TestApp, email: &str, password: &str) -> (StatusCode, String) {
    let browser = new_browser();
    let params = app.confidential_request("openid");
    let page = browser
        .get(app.authorize_url(&as_pairs(&params)))
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
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let html = resp.text().await.unwrap();
    (status, alert(&html).unwrap_or_default().to_owned())
}
