//! The signing keys in memory and their rotation (SPEC sections 2 and 6).
//!
//! Every key not yet retired is published in the JWKS. Per algorithm, the newest key whose
//! `activates_at` has passed signs; a new key is published at once but signs only after the
//! publication delay, so every cached JWKS already holds it. The old key stays published until
//! every token it may have signed has expired. Keys are generated on first start, stored sealed
//! under the master key, and reused on restart; every node loads the same keys from the database.

use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use verity_core::keys::{Alg, MasterKey, SigningKey};
use verity_proto::jwks::JwkSet;
use verity_store::Store;
use verity_store::keys::StoredKey;

#[derive(Debug)]
struct LoadedKey {
    key: Arc<SigningKey>,
    activates_at: i64,
    retires_at: Option<i64>,
}

#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<LoadedKey>,
    /// The JWKS of every key loaded, serialized once: what [`KeyRing::jwks_json`] answers until
    /// the first of them retires (a `jwks` request then cost a serialization of the RSA moduli).
    published: Bytes,
    /// When the first loaded key retires: from then on the JWKS is serialized per request, until
    /// the next reload (maintenance) loads the ring without it.
    published_until: Option<i64>,
}

impl KeyRing {
    /// The key that signs for `alg` at `now`: the newest one already active and not retired.
    pub fn signing_key(&self, alg: Alg, now: i64) -> Option<Arc<SigningKey>> {
        self.keys
            .iter()
            .filter(|k| {
                k.key.alg() == alg && k.activates_at <= now && k.retires_at.is_none_or(|r| r > now)
            })
            .max_by_key(|k| k.activates_at)
            .map(|k| k.key.clone())
    }

    /// The JWKS at `now`: every key not yet retired, including those not signing yet.
    pub fn jwks_json(&self, now: i64) -> Bytes {
        if self.published_until.is_none_or(|until| now < until) {
            return self.published.clone();
        }
        Self::serialize(
            self.keys
                .iter()
                .filter(|k| k.retires_at.is_none_or(|r| r > now)),
        )
    }

    fn serialize<'a>(keys: impl Iterator<Item = &'a LoadedKey>) -> Bytes {
        let keys = keys.map(|k| k.key.jwk().clone()).collect();
        serde_json::to_vec(&JwkSet { keys })
            .map_or_else(|_| Bytes::from_static(br#"{"keys":[]}"#), Bytes::from)
    }

    /// Builds the ring from the stored keys.
    pub fn from_stored(stored: &[StoredKey], master: &MasterKey) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for k in stored {
            let alg = Alg::parse(&k.alg)?;
            let der = master
                .decrypt(&k.private_key, k.kid.as_bytes())
                .with_context(|| {
                    format!(
                        "decrypting signing key {}: is this the master key that created it?",
                        k.kid
                    )
                })?;
            let key = Arc::new(SigningKey::from_pkcs8(alg, &der)?);
            anyhow::ensure!(
                key.kid() == k.kid,
                "stored key {} does not match its kid",
                k.kid
            );
            keys.push(LoadedKey {
                key,
                activates_at: k.activates_at,
                retires_at: k.retires_at,
            });
        }
        let published = Self::serialize(keys.iter());
        let published_until = keys.iter().filter_map(|k| k.retires_at).min();
        Ok(KeyRing {
            keys,
            published,
            published_until,
        })
    }

    /// Loads every key not retired at `now`.
    pub async fn load(store: &Store, master: &MasterKey, now: i64) -> anyhow::Result<Self> {
        Self::from_stored(&store.find_signing_keys(now).await?, master)
    }
}

/// Generates and stores one key.
async fn generate_key(
    store: &Store,
    master: &MasterKey,
    alg: Alg,
    now: i64,
    activates_at: i64,
) -> anyhow::Result<String> {
    let (key, der) = tokio::task::spawn_blocking(move || SigningKey::generate(alg)).await??;
    let sealed = master.encrypt(&der, key.kid().as_bytes())?;
    let record = StoredKey {
        kid: key.kid().to_owned(),
        alg: alg.as_str().to_owned(),
        private_key: sealed,
        created_at: now,
        activates_at,
        retires_at: None,
    };
    match store.insert_signing_key(&record).await {
        Ok(()) | Err(verity_store::StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        kid = key.kid(),
        alg = alg.as_str(),
        activates_at,
        "generated signing key"
    );
    Ok(key.kid().to_owned())
}

/// Makes sure a key of each algorithm exists, generating the missing ones.
pub async fn ensure_keys(store: &Store, master: &MasterKey, now: i64) -> anyhow::Result<()> {
    let stored = store.find_signing_keys(now).await?;
    for alg in [Alg::RS256, Alg::ES256] {
        if !stored.iter().any(|k| k.alg == alg.as_str()) {
            // The very first key of a deployment signs at once: nothing can have cached a JWKS.
            generate_key(store, master, alg, now, now).await?;
        }
    }
    Ok(())
}

/// SPEC 6: starts a rollover for each algorithm. The new key is published now and signs from
/// `now + delay`; the keys it replaces are retired once everything they may have signed has
/// expired (`now + delay + the longest signed lifetime + a minute`). Returns the new kids.
pub async fn rotate_keys(
    store: &Store,
    master: &MasterKey,
    now: i64,
    delay: i64,
) -> anyhow::Result<Vec<String>> {
    // The largest lifetime an app may set, not only today's longest: an app may raise its
    // lifetimes after the rotation, and what the old key signed must still verify.
    let longest = store
        .find_longest_signed_lifetime()
        .await?
        .max(verity_core::keys::MAX_SIGNED_TTL);
    let current = store.find_signing_keys(now).await?;
    let mut kids = Vec::new();
    for alg in [Alg::RS256, Alg::ES256] {
        let kid = generate_key(store, master, alg, now, now + delay).await?;
        for old in current
            .iter()
            .filter(|k| k.alg == alg.as_str() && k.retires_at.is_none())
        {
            store
                .update_signing_key_retirement(&old.kid, now + delay + longest + 60)
                .await?;
        }
        kids.push(kid);
    }
    Ok(kids)
}

/// Loads the master key: the setting, else `<data dir>/master.key`, created (mode 0600) if missing.
pub fn load_master_key(
    setting: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<MasterKey> {
    if let Some(text) = setting {
        return Ok(MasterKey::parse(text)?);
    }
    let path = data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::parse(&text).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            write_private(&path, &key.to_hex())?;
            tracing::info!(path = %path.display(), "created a new master key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}
