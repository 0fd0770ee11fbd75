//! The signing keys in memory (SPEC sections 2 and 6).
//!
//! Every key not yet retired is published in the JWKS; per algorithm, the newest key whose
//! `activates_at` has passed signs. Keys are generated on first start, stored encrypted under the
//! master key, and reused on restart.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use verity_core::keys::{Alg, MasterKey, SigningKey};
use verity_proto::jwks::JwkSet;
use verity_store::Store;
use verity_store::keys::StoredKey;

#[derive(Debug)]
pub struct KeyRing {
    /// Published keys (including ones not signing yet or any more).
    published: Vec<Arc<SigningKey>>,
    /// The key that signs, per algorithm.
    active: HashMap<Alg, Arc<SigningKey>>,
    /// The JWKS document, serialized once.
    jwks_json: String,
}

impl KeyRing {
    pub fn signing_key(&self, alg: Alg) -> Option<Arc<SigningKey>> {
        self.active.get(&alg).cloned()
    }

    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    pub fn published(&self) -> &[Arc<SigningKey>] {
        &self.published
    }

    /// Builds the ring from the stored keys.
    pub fn from_stored(stored: &[StoredKey], master: &MasterKey, now: i64) -> anyhow::Result<Self> {
        let mut published = Vec::new();
        let mut active: HashMap<Alg, (i64, Arc<SigningKey>)> = HashMap::new();
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
            if k.activates_at <= now && active.get(&alg).is_none_or(|(at, _)| *at <= k.activates_at)
            {
                active.insert(alg, (k.activates_at, key.clone()));
            }
            published.push(key);
        }
        let jwks = JwkSet {
            keys: published.iter().map(|k| k.jwk().clone()).collect(),
        };
        Ok(KeyRing {
            published,
            active: active.into_iter().map(|(alg, (_, k))| (alg, k)).collect(),
            jwks_json: serde_json::to_string(&jwks)?,
        })
    }
}

/// Makes sure a key of each algorithm exists, generating and storing the missing ones.
pub async fn ensure_keys(store: &Store, master: &MasterKey, now: i64) -> anyhow::Result<()> {
    let stored = store.find_signing_keys(now).await?;
    for alg in [Alg::RS256, Alg::ES256] {
        if stored.iter().any(|k| k.alg == alg.as_str()) {
            continue;
        }
        let (key, der) = tokio::task::spawn_blocking(move || SigningKey::generate(alg)).await??;
        let sealed = master.encrypt(&der, key.kid().as_bytes())?;
        let record = StoredKey {
            kid: key.kid().to_owned(),
            alg: alg.as_str().to_owned(),
            private_key: sealed,
            created_at: now,
            // The very first key of a deployment signs at once: nothing can have cached a JWKS.
            activates_at: now,
            retires_at: None,
        };
        match store.insert_signing_key(&record).await {
            // Another node generated the first key at the same moment: use that one as well.
            Ok(()) | Err(verity_store::StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(kid = key.kid(), alg = alg.as_str(), "generated signing key");
    }
    Ok(())
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
