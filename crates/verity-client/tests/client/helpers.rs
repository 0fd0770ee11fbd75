//! A real Verity provider per test (port 0, fresh SQLite file, manual clock) and a browser that
//! fills its pages the way the provider's own test harness does.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::redirect::Policy;
use verity_client::{AuthorizationRequest, CallbackQuery, Client, ClientAuth, ClientConfig};
use verity_core::clock::{Clock, ManualClock};
use verity_server::{Settings, Verity};
use verity_store::Store;
use verity_store::apps::App;

pub const CALLBACK: &str = "http://127.0.0.1:8090/callback";
pub const CONFIDENTIAL: &str = "sandbox-confidential";
pub const SECRET: &str = "sandbox-secret";
pub const PUBLIC: &str = "sandbox-public";
pub const PASSWORD: &str = "sandbox-password";
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
pub const IDENTITY_POLICY: &str = "http://idmanagement.gov/ns/assurance/ial/2/aal/2";

const TEST_MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The provider's manual clock, seen by the client.
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
    pub store: Store,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The PostgreSQL database of this provider, dropped after it.
    pg: Option<verity_testkit::PgTestDb>,
}

/// Where a provider keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite, and PostgreSQL when `VERITY_TEST_DATABASE_URL` names a server.
pub fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if verity_testkit::admin_url().is_some() {
        b.push(Backend::Postgres);
    }
    b
}

impl Drop for Provider {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_provider() -> Provider {
    spawn_provider_on(Backend::Sqlite, |_| {}).await
}

/// A provider on `backend` with changed settings.
pub async fn spawn_provider_on(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> Provider {
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(data_dir.path());
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => verity_testkit::PgTestDb::create("verity_client_test").await,
    };
    if let Some(db) = &pg {
        settings.database_url = db.url.clone();
        // A PostgreSQL deployment needs a fixed master key (never used outside tests).
        settings.master_key = Some(verity_server::settings::Secret(TEST_MASTER_KEY.into()));
    }
    configure(&mut settings);
    let clock = Arc::new(ManualClock::starting_now());
    let server = Verity::build(settings, clock.clone())
        .await
        .expect("server starts");
    let base = server.public_url().to_owned();
    let issuer = server.issuer().to_owned();
    let store = server.store().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
    });
    Provider {
        base,
        issuer,
        clock,
        store,
        data_dir,
        shutdown: Some(tx),
        pg,
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

pub fn totp_code(now: i64) -> String {
    let secret = verity_core::totp::decode_base32(TOTP_SECRET).unwrap();
    verity_core::totp::code_at(&secret, now)
}

impl Provider {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn config(&self, client_id: &str, auth: ClientAuth) -> ClientConfig {
        ClientConfig::new(&self.issuer, client_id, auth, CALLBACK)
            .with_clock(Arc::new(TestClock(self.clock.clone())))
    }

    pub async fn client(&self, client_id: &str, auth: ClientAuth) -> Client {
        Client::discover(self.config(client_id, auth))
            .await
            .unwrap()
    }

    pub async fn confidential(&self) -> Client {
        self.client(CONFIDENTIAL, ClientAuth::SecretBasic(SECRET.into()))
            .await
    }

    /// Drives the pages from `start_url` as `email` until the browser is sent to the app; answers
    /// `verification` on a verification page and `consent` on the consent page.
    pub async fn journey_with(
        &self,
        start_url: &str,
        email: &str,
        verification: &str,
        consent: &str,
    ) -> CallbackQuery {
        let browser = new_browser();
        let mut resp = browser.get(start_url).send().await.unwrap();
        let mut signins = 0;
        for _ in 0..20 {
            let status = resp.status();
            if status.is_redirection() {
                let location = resp.headers()["location"].to_str().unwrap().to_owned();
                let absolute = if location.starts_with('/') {
                    self.url(&location)
                } else {
                    location
                };
                if !absolute.starts_with(&self.base) {
                    return CallbackQuery::parse(&absolute);
                }
                resp = browser.get(&absolute).send().await.unwrap();
                continue;
            }
            let html = resp.text().await.unwrap();
            let csrf = hidden_value(&html, "csrf_token")
                .unwrap_or_else(|| panic!("no form on the page ({status}): {html}"));
            let (action, mut fields): (String, Vec<(&str, String)>) =
                if let Some(a) = form_action(&html, "/signin") {
                    signins += 1;
                    assert!(signins < 3, "sign-in keeps failing: {html}");
                    (
                        a,
                        vec![
                            ("email", email.to_owned()),
                            ("password", PASSWORD.to_owned()),
                        ],
                    )
                } else if let Some(a) = form_action(&html, "/mfa") {
                    // Each TOTP step is usable once: move to a fresh step.
                    self.clock.advance(30);
                    (a, vec![("code", totp_code(self.clock.now()))])
                } else if let Some(a) = form_action(&html, "/verify") {
                    (a, vec![("decision", verification.to_owned())])
                } else if let Some(a) = form_action(&html, "/consent") {
                    (a, vec![("decision", consent.to_owned())])
                } else {
                    panic!("no known form on the page: {html}");
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

    pub async fn journey(&self, start_url: &str, email: &str) -> CallbackQuery {
        self.journey_with(start_url, email, "verify", "allow").await
    }

    /// Signs `email` in through `request` and returns the callback and what to keep.
    pub async fn sign_in(
        &self,
        request: AuthorizationRequest,
        email: &str,
    ) -> (CallbackQuery, verity_client::PendingAuthorization) {
        let (url, pending) = request.build().unwrap();
        (self.journey(url.as_str(), email).await, pending)
    }

    /// Registers an app directly in the store, with the sandbox secret when confidential.
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
