//! `verity-rp`: the reference relying party of SPEC section 10 (`verity rp`), built only on
//! `verity-client`. It follows the integration steps in order — discovery; redirect with `state`,
//! `nonce` and PKCE; callback; code exchange; ID-token validation; userinfo and attributes — then
//! stores what it learned, and shows a profile form pre-filled from the verified attributes, which
//! keeps what the person saves beside them.
//!
//! - [`settings`]: `VERITY_RP_*` settings.
//! - [`assurance`]: identity assurance (`VERITY_RP_VERIFIED_CLAIMS`): the `verified_claims` asked
//!   for, and how each attribute and group was verified, in words.
//! - [`db`]: the tables `verifications` (with the kept `verified_claims`), `raw_responses`
//!   (append-only), `user_activity`, `saved_profiles` (what the person typed, beside the
//!   verified values).
//! - [`profile`]: the profile form: its fields, which value each shows (typed or verified), and
//!   the checks a save passes.
//! - [`routes`]: the pages `/`, `/login`, `/callback`, `/profile`, and `/logout` (RP-initiated
//!   logout at the provider).
//! - [`Rp`]: startup: discovery, database, listener.
//!
//! Browser sessions are opaque random ids in an `HttpOnly` cookie, mapped in memory to the pending
//! request or the signed-in `uuid`: a restart signs everyone out, which suits a reference app.

pub mod assurance;
pub mod db;
pub mod profile;
pub mod routes;
pub mod settings;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use verity_client::{Client, ClientConfig, Clock};

pub use settings::{RpArgs, RpSettings};

/// The reference app, bound to its address and ready to run.
pub struct Rp {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    db: db::Db,
    client: Client,
}

impl Rp {
    /// Discovery, database (migrated) and listener; the app runs with [`Rp::run`].
    pub async fn build(settings: RpSettings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let config = ClientConfig::new(
            &settings.issuer,
            &settings.client_id,
            settings.auth.clone(),
            &settings.redirect_uri,
        )
        .with_clock(clock.clone());
        let client = Client::discover(config)
            .await
            .with_context(|| format!("discovery of {}", settings.issuer))?;
        if settings.verified_claims && !client.metadata().verified_claims_supported {
            // Asked anyway: a provider that does not know the parameter ignores it.
            tracing::warn!(
                issuer = %settings.issuer,
                "VERITY_RP_VERIFIED_CLAIMS is set but the provider does not advertise verified_claims_supported"
            );
        }
        let db = db::Db::open(&settings.database_url)
            .await
            .context("opening the database")?;
        let listener = tokio::net::TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let state = routes::RpState::new(client.clone(), db.clone(), &settings, clock)?;
        Ok(Rp {
            listener,
            router: routes::router(state),
            db,
            client,
        })
    }

    /// The address the app listens on (the port is known once bound, also for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The app's database.
    pub fn db(&self) -> &db::Db {
        &self.db
    }

    /// The provider client, discovery done.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")
    }
}
