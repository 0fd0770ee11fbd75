//! Apps and their secret digests as last read: every endpoint reads its client, several times
//! per flow, and apps change seldom.
//!
//! An entry is used for [`APP_CACHE_TTL`] after it was read. A change made through this store
//! drops the app's entries at once; a change made by another node (or another process on the
//! same SQLite file) is seen within the TTL. Unknown client ids are not kept (so that random ids
//! cannot fill the cache), and the cache is emptied when it holds [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::apps::{App, SecretDigest};

/// How long a read app (or its secrets) is used before it is read again.
pub const APP_CACHE_TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 4096;

/// See the module documentation.
#[derive(Default)]
pub struct AppCache {
    apps: Mutex<HashMap<String, (Instant, App)>>,
    secrets: Mutex<HashMap<String, (Instant, Vec<SecretDigest>)>>,
}

impl std::fmt::Debug for AppCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCache").finish_non_exhaustive()
    }
}

fn fresh<T: Clone>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str) -> Option<T> {
    let map = map.lock().ok()?;
    let (at, value) = map.get(key)?;
    (at.elapsed() < APP_CACHE_TTL).then(|| value.clone())
}

fn keep<T>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str, value: T) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_owned(), (Instant::now(), value));
    }
}

impl AppCache {
    pub(crate) fn app(&self, client_id: &str) -> Option<App> {
        fresh(&self.apps, client_id)
    }

    pub(crate) fn keep_app(&self, app: &App) {
        keep(&self.apps, &app.client_id, app.clone());
    }

    pub(crate) fn secrets(&self, client_id: &str) -> Option<Vec<SecretDigest>> {
        fresh(&self.secrets, client_id)
    }

    pub(crate) fn keep_secrets(&self, client_id: &str, digests: &[SecretDigest]) {
        keep(&self.secrets, client_id, digests.to_vec());
    }

    /// Drops what is kept of `client_id` (after a change to it).
    pub(crate) fn forget(&self, client_id: &str) {
        if let Ok(mut map) = self.apps.lock() {
            map.remove(client_id);
        }
        if let Ok(mut map) = self.secrets.lock() {
            map.remove(client_id);
        }
    }
}
