//! Starting Verity: settings in, a bound listener and ready state out, then serving until a
//! shutdown signal. Each step says what it was doing when it fails.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use tokio::net::TcpListener;
use verity_core::clock::Clock;
use verity_core::identity::builtin_policies;
use verity_core::password::Passwords;
use verity_store::{JobLock, Store};

use crate::keyring::{KeyRing, ensure_keys, load_master_key};
use crate::pages::Pages;
use crate::routes;
use crate::settings::Settings;
use crate::state::{AppState, Shared};

/// A started (bound, migrated, seeded) server, not yet serving.
pub struct Verity {
    state: AppState,
    listener: TcpListener,
    addr: SocketAddr,
    /// `VERITY_METRICS_LISTEN`: `/metrics` without a token, on an address of its own.
    metrics_listener: Option<TcpListener>,
}

impl std::fmt::Debug for Verity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verity")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Everything a server needs except the listener: the database (migrated), the master key, the
/// signing keys, the seeded apps and personas. `verity admin` uses it to run the same operations
/// as the admin API without serving.
/// `serving`: a server (not a one-off command) owns the public URL; only it re-registers the
/// account page's redirect URI when that URL changed.
pub async fn prepare_state(
    settings: Settings,
    clock: Arc<dyn Clock>,
    public_url: String,
    serving: bool,
) -> anyhow::Result<AppState> {
    let store = connect_store(&settings).await?;
    let master_key = deployment_master_key(&settings, &store)?;
    let cost = settings.password_cost;
    let passwords = tokio::task::spawn_blocking(move || Passwords::new(cost))
        .await?
        .context("argon2 settings")?;
    let now = clock.now();
    let policies = builtin_policies();
    let handles: Vec<String> = policies.iter().map(|p| p.handle.clone()).collect();
    // Nodes booting together on an empty database take turns: the first migrates, creates the
    // keys and seeds; the others find it done.
    store
        .with_lock(JobLock::Boot, async {
            store
                .migrate()
                .await
                .context("applying database migrations")?;
            ensure_keys(&store, &master_key, now)
                .await
                .context("creating signing keys")?;
            crate::sandbox::seed_account_app(&store, &public_url, now, serving)
                .await
                .context("registering the account page")?;
            if settings.sandbox() {
                crate::sandbox::seed(&store, &passwords, &master_key, &handles, now)
                    .await
                    .context("seeding the sandbox")?;
            }
            anyhow::Ok(())
        })
        .await?;
    let ring = KeyRing::load(&store, &master_key, now)
        .await
        .context("loading signing keys (is VERITY_MASTER_KEY the same on every node?)")?;
    let hashing_slots = passwords.concurrency();
    let discovery_json =
        serde_json::to_vec(&routes::discovery::metadata(&public_url, &handles))?.into();
    let metrics = crate::metrics::Metrics::default();
    Ok(Arc::new(Shared {
        issuer: format!("{public_url}/oidc"),
        secure_cookies: public_url.starts_with("https://"),
        public_url,
        store,
        clock,
        master_key,
        passwords,
        keys: RwLock::new(Arc::new(ring)),
        policies,
        pages: Pages::new().context("loading page templates")?,
        discovery_json,
        outbound: crate::outbound::Outbound::new(
            settings.outbound_policy(),
            metrics.outbound_refusals(),
        )
        .context("building the HTTP client")?,
        client_jwks_cache: Default::default(),
        metrics,
        userinfo_cache: Default::default(),
        // One argon2id run per core, each in one of the hasher's kept buffers.
        hashing: tokio::sync::Semaphore::new(hashing_slots),
        uploads: Arc::new(tokio::sync::Semaphore::new(settings.max_concurrent_uploads)),
        settings,
    }))
}

/// Opens the database named by the settings and applies the migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = connect_store(settings).await?;
    store
        .with_lock(JobLock::Boot, async {
            store
                .migrate()
                .await
                .context("applying database migrations")
        })
        .await?;
    Ok(store)
}

/// The master key, which must be one and the same on every node of a PostgreSQL deployment:
/// there it must be configured, never created in a node's data dir.
pub fn deployment_master_key(
    settings: &Settings,
    store: &Store,
) -> anyhow::Result<verity_core::keys::MasterKey> {
    anyhow::ensure!(
        settings.master_key.is_some() || store.backend() == "sqlite",
        "a PostgreSQL deployment needs VERITY_MASTER_KEY, the same on every node (it encrypts the \
         signing keys that all nodes share); generate one with `openssl rand -hex 32`"
    );
    let current = load_master_key(
        settings.master_key.as_ref().map(|s| s.0.as_str()),
        &settings.data_dir,
    )
    .context("loading the master key")?;
    let previous = settings
        .previous_master_keys
        .as_ref()
        .map(|s| s.0.split(',').filter(|k| !k.trim().is_empty()))
        .into_iter()
        .flatten()
        .map(verity_core::keys::MasterKey::parse)
        .collect::<Result<Vec<_>, _>>()
        .context("reading VERITY_PREVIOUS_MASTER_KEYS (64 hex characters or base64 each, comma-separated)")?;
    Ok(current.with_previous(previous))
}

/// Creates the data dir (and parents) readable by this user only: it holds the master key and
/// the SQLite database. An existing directory keeps its permissions.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens the database named by the settings (creating a SQLite file and its directory).
async fn connect_store(settings: &Settings) -> anyhow::Result<Store> {
    if settings.database_url.starts_with("sqlite:") {
        create_private_dir(&settings.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
    }
    Store::connect_with(&settings.database_url, settings.db_pool)
        .await
        .context("opening the database (is it running and reachable? DATABASE_URL)")
}

impl Verity {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        create_private_dir(&settings.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
        let listener = TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let metrics_listener = match &settings.metrics_listen {
            Some(at) => Some(
                TcpListener::bind(at)
                    .await
                    .with_context(|| format!("listening for /metrics on {at}"))?,
            ),
            None => None,
        };
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let state = prepare_state(settings, clock, public_url, true).await?;
        Ok(Verity {
            state,
            listener,
            addr,
            metrics_listener,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the separate `/metrics` listener is bound, when one is configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The shared state (tests drive maintenance and rotation through it).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = routes::router(self.state.clone()).layer(axum::extract::DefaultBodyLimit::max(
            crate::extract::BODY_LIMIT,
        ));
        tracing::info!(issuer = %self.state.issuer, addr = %self.addr, env = ?self.state.settings.environment, "verity is listening");
        let maintenance = crate::maintenance::spawn(self.state.clone());
        let sandbox_reviewer = crate::sandbox::spawn_reviewer(self.state.clone());
        let limits = ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(
                self.state.settings.header_read_timeout,
            ),
            max_connections: self.state.settings.max_connections,
        };
        let metrics = self.metrics_listener.map(|listener| {
            let app = crate::routes::metrics::private_router(self.state.clone());
            tokio::spawn(serve(listener, app, limits, std::future::pending()))
        });
        serve(self.listener, app, limits, shutdown).await;
        for task in [maintenance, sandbox_reviewer, metrics]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
        self.state.store.close().await;
        tracing::info!("verity stopped");
        Ok(())
    }
}

/// What one client may hold of the server: see [`serve`].
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    header_read_timeout: std::time::Duration,
    max_connections: usize,
}

/// The answer to a connection over the cap, written before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
    Retry-After: 1\r\nConnection: close\r\nContent-Length: 28\r\n\r\nToo many connections; retry.";

/// Serves `app` on `listener` with hyper's HTTP/1 server under axum's router, until `shutdown`,
/// then lets the requests in flight finish. Unlike `axum::serve`, it bounds what one client can
/// hold (issue 21):
///
/// - a request's headers must arrive within `header_read_timeout`, and a kept-alive connection
///   waiting for its next request is closed after the same time (hyper starts the timer when it
///   waits for a request head), so half a request line or an idle socket cannot be kept open;
/// - at most `max_connections` are served at once; a connection over the cap is answered 503
///   (`Retry-After: 1`) and closed at once, without reading it, so the others are still served.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tokio::io::AsyncWriteExt;
    use tower::ServiceExt;

    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let answer = stream.write_all(OVER_CAPACITY);
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), answer).await;
            });
            continue;
        };
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
