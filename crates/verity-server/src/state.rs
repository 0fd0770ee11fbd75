//! What every handler shares.

use std::sync::{Arc, RwLock};

use verity_core::clock::Clock;
use verity_core::identity::Policy;
use verity_core::keys::{Alg, MasterKey, SigningKey};
use verity_core::password::Passwords;
use verity_store::Store;
use verity_store::audit::AuditEvent as AuditRow;

use crate::audit::AuditEvent;

use crate::keyring::KeyRing;
use crate::outbound::Purpose;
use crate::pages::Pages;
use crate::settings::Settings;

pub type AppState = Arc<Shared>;

#[derive(Debug)]
pub struct Shared {
    pub settings: Settings,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// `<public URL>/oidc`.
    pub issuer: String,
    pub public_url: String,
    /// Whether cookies get `Secure` (the public URL is https).
    pub secure_cookies: bool,
    pub master_key: MasterKey,
    pub passwords: Passwords,
    /// Replaced as a whole when keys change, so a reader never sees half a rotation.
    pub keys: RwLock<Arc<KeyRing>>,
    pub policies: Vec<Policy>,
    pub pages: Pages,
    /// The discovery document, serialized once.
    pub discovery_json: axum::body::Bytes,
    /// Verity's own calls to apps (back-channel logout, client JWKS): never into our network.
    pub outbound: crate::outbound::Outbound,
    /// Bounds concurrent argon2id runs (19 MiB and a core each): a storm of sign-ins queues here
    /// instead of exhausting memory and starving every other request.
    pub hashing: tokio::sync::Semaphore,
    /// Uploads being read (SPEC 12's documents), bounded by `max_concurrent_uploads`.
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// Apps' `jwks_uri` documents: client id -> (fetched at, JWKS).
    pub client_jwks_cache:
        std::sync::Mutex<std::collections::HashMap<String, (i64, serde_json::Value)>>,
    pub metrics: crate::metrics::Metrics,
    pub userinfo_cache: UserinfoCache,
}

/// Signed userinfo answers by access-token digest and algorithm, each until its token expires.
/// Bounded: when full, expired entries go, and if none had expired, all of them (a cache miss
/// costs one signature).
#[derive(Debug, Default)]
pub struct UserinfoCache {
    entries: std::sync::Mutex<std::collections::HashMap<(String, String), (i64, String)>>,
}

impl UserinfoCache {
    const MAX_ENTRIES: usize = 10_000;

    pub fn get(&self, token_hash: &str, alg: &str, now: i64) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&(token_hash.to_owned(), alg.to_owned()))
            .filter(|(until, _)| now < *until)
            .map(|(_, jwt)| jwt.clone())
    }

    pub fn put(&self, token_hash: &str, alg: &str, until: i64, now: i64, jwt: String) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (u, _)| now < *u);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert((token_hash.to_owned(), alg.to_owned()), (until, jwt));
    }
}

impl Shared {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn keyring(&self) -> Arc<KeyRing> {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn signing_key(&self, alg: Alg) -> Option<Arc<SigningKey>> {
        self.keyring().signing_key(alg, self.now())
    }

    /// The published JWKS now.
    pub fn jwks_json(&self) -> axum::body::Bytes {
        self.keyring().jwks_json(self.now())
    }

    /// Reloads the keys from the database (a rotation here or on another node).
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        let ring = crate::keyring::KeyRing::load(&self.store, &self.master_key, self.now()).await?;
        match self.keys.write() {
            Ok(mut guard) => *guard = Arc::new(ring),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(ring),
        }
        Ok(())
    }

    pub fn policy(&self, handle: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.handle == handle)
    }

    /// The policies named by a set of scopes (scopes that are not policies are skipped).
    pub fn policies_for<'a>(
        &'a self,
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> Vec<&'a Policy> {
        scopes.into_iter().filter_map(|s| self.policy(s)).collect()
    }

    pub fn sandbox(&self) -> bool {
        self.settings.sandbox()
    }

    /// An app's JWKS from its `jwks_uri`, cached for five minutes; `refresh` fetches again (an
    /// unknown `kid`), at most once a minute per app so a stream of bad assertions cannot make
    /// us hammer the app.
    pub async fn client_jwks(
        &self,
        client_id: &str,
        uri: &str,
        refresh: bool,
    ) -> Result<serde_json::Value, crate::error::ApiError> {
        use crate::error::ApiError;
        let now = self.now();
        let cached = self
            .client_jwks_cache
            .lock()
            .ok()
            .and_then(|c| c.get(client_id).cloned());
        if let Some((at, set)) = &cached {
            let fresh = now - at < 300 && !refresh;
            let too_soon = refresh && now - at < 60;
            if fresh || too_soon {
                return Ok(set.clone());
            }
        }
        let fetched = self
            .outbound
            .get(client_id, Purpose::Jwks, uri, 64 * 1024)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok());
        match (fetched, cached) {
            (Some(set), _) => {
                if let Ok(mut c) = self.client_jwks_cache.lock() {
                    c.insert(client_id.to_owned(), (now, set.clone()));
                }
                Ok(set)
            }
            (None, Some((_, set))) => Ok(set),
            (None, None) => {
                // Remember the failure too: at most one fetch a minute per app, however many
                // assertions arrive.
                if let Ok(mut c) = self.client_jwks_cache.lock() {
                    c.insert(client_id.to_owned(), (now, serde_json::json!({"keys": []})));
                }
                Err(ApiError::invalid_client(
                    "the app's jwks_uri could not be fetched",
                ))
            }
        }
    }

    /// A slot for one upload, at once or not at all (`None`: answer 503).
    pub fn upload_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.uploads.clone().try_acquire_owned().ok()
    }

    /// A slot for one password hash, waiting at most 10 s (`None`: too busy, answer 503).
    pub async fn hashing_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.hashing.acquire())
            .await
            .ok()?
            .ok()
    }

    /// Writes an audit row (time, user, app, client address and request id from the request
    /// context headers set by the middleware) and a log line. Never pass secrets or tokens.
    /// A failure to write is logged, not answered: the audited action already happened.
    pub async fn audit(
        &self,
        event: AuditEvent,
        uuid: Option<&str>,
        client_id: Option<&str>,
        headers: &axum::http::HeaderMap,
        detail: serde_json::Value,
    ) {
        let record = self.audit_event(event, uuid, client_id, headers, detail);
        self.audited(&record);
        if let Err(e) = self.store.insert_audit(&record).await {
            tracing::error!(error = %e, event = %record.event, "writing an audit row failed");
        }
    }

    /// The audit row of an event, for a store method that writes it together with what it
    /// records; [`Shared::audited`] once that committed.
    pub fn audit_event(
        &self,
        event: AuditEvent,
        uuid: Option<&str>,
        client_id: Option<&str>,
        headers: &axum::http::HeaderMap,
        detail: serde_json::Value,
    ) -> AuditRow {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        AuditRow {
            at: self.now(),
            event: event.name().into_owned(),
            uuid: uuid.map(str::to_owned),
            client_id: client_id.map(str::to_owned),
            address: header(crate::extract::CLIENT_ADDRESS_HEADER),
            request_id: header(crate::extract::REQUEST_ID_HEADER),
            detail,
        }
    }

    /// The log line and metrics of an audit row that was written.
    pub fn audited(&self, e: &AuditRow) {
        tracing::info!(
            event = e.event,
            uuid = e.uuid,
            client_id = e.client_id,
            "audit"
        );
        self.metrics.observe_event(&e.event);
    }
}
pub use verity_core::clock::SystemClock;
