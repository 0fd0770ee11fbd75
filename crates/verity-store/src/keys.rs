//! Signing keys (private parts encrypted by the caller under the master key).

use crate::error::{Result, conflict_or};
use crate::sql::{Fields, query};
use crate::{Store, dispatch};

#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    /// AES-256-GCM sealed PKCS#8, bound to the kid.
    pub private_key: Vec<u8>,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub async fn insert_signing_key(&self, k: &StoredKey) -> Result<()> {
        dispatch!(self, pool, {
            query(
            "INSERT INTO signing_keys (kid, alg, private_key, created_at, activates_at, retires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.private_key)
        .bind(k.created_at)
        .bind(k.activates_at)
        .bind(k.retires_at)
        .execute(pool)
        .await
        .map_err(conflict_or)?;
            Ok(())
        })
    }

    /// Keys not yet retired at `now`, oldest first.
    pub async fn find_signing_keys(&self, now: i64) -> Result<Vec<StoredKey>> {
        dispatch!(self, pool, {
            let rows = query(
            "SELECT * FROM signing_keys WHERE retires_at IS NULL OR retires_at > $1 ORDER BY activates_at, kid",
        )
        .bind(now)
        .fetch_all(pool)
        .await?;
            rows.iter()
                .map(|r| {
                    Ok(StoredKey {
                        kid: r.col("kid")?,
                        alg: r.col("alg")?,
                        private_key: r.col("private_key")?,
                        created_at: r.col("created_at")?,
                        activates_at: r.col("activates_at")?,
                        retires_at: r.col("retires_at")?,
                    })
                })
                .collect()
        })
    }
}

impl Store {
    /// Sets when a key leaves the JWKS (only if not already set earlier).
    pub async fn update_signing_key_retirement(&self, kid: &str, retires_at: i64) -> Result<()> {
        dispatch!(self, pool, {
            query("UPDATE signing_keys SET retires_at = $1 WHERE kid = $2 AND (retires_at IS NULL OR retires_at > $3)")
            .bind(retires_at)
            .bind(kid)
            .bind(retires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The longest lifetime of anything signed for any app (ID tokens live as long as access
    /// tokens; userinfo JWTs as long as `userinfo_ttl`), in seconds.
    pub async fn find_longest_signed_lifetime(&self) -> Result<i64> {
        dispatch!(self, pool, {
            let row = query("SELECT MAX(CASE WHEN access_ttl > userinfo_ttl THEN access_ttl ELSE userinfo_ttl END)
                 AS longest FROM apps",)
                .fetch_one(pool)
                .await?;
            Ok(row.col::<Option<i64>>("longest")?.unwrap_or(18_000))
        })
    }
}
