//! What every handler shares.

use std::sync::{Arc, RwLock};

use verity_core::clock::Clock;
use verity_core::identity::Policy;
use verity_core::keys::{Alg, MasterKey, SigningKey};
use verity_core::password::Passwords;
use verity_store::Store;

use crate::keyring::KeyRing;
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
    pub discovery_json: String,
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
        self.keyring().signing_key(alg)
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
}
pub use verity_core::clock::SystemClock;
