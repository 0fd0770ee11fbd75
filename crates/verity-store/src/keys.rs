//! Signing keys (private parts encrypted by the caller under the master key).

use crate::Store;
use crate::error::{Result, conflict_or};
use crate::sql::{insert, query, stored};

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

stored!(StoredKey => "signing_keys" {
    kid, alg, private_key, created_at, activates_at, retires_at,
});

impl Store {
    pub async fn insert_signing_key(&self, k: &StoredKey) -> Result<()> {
        self.exec(insert(k)).await.map_err(conflict_or)?;
        Ok(())
    }

    /// Every stored key, retired ones too (a master-key rotation re-encrypts them all).
    pub async fn find_all_signing_keys(&self) -> Result<Vec<StoredKey>> {
        self.fetch_all(query("SELECT * FROM signing_keys ORDER BY created_at, kid"))
            .await
    }

    /// Replaces a key's sealed private key, if it is still `was`; whether it was.
    pub async fn update_signing_key_sealed(
        &self,
        kid: &str,
        was: &[u8],
        sealed: &[u8],
    ) -> Result<bool> {
        let q =
            query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3");
        Ok(self.exec(q.bind(sealed).bind(kid).bind(was)).await? == 1)
    }

    /// Keys not yet retired at `now`, oldest first.
    pub async fn find_signing_keys(&self, now: i64) -> Result<Vec<StoredKey>> {
        let q = query(
            "SELECT * FROM signing_keys WHERE retires_at IS NULL OR retires_at > $1
             ORDER BY activates_at, kid",
        );
        self.fetch_all(q.bind(now)).await
    }

    /// Sets when a key leaves the JWKS (only if not already set earlier).
    pub async fn update_signing_key_retirement(&self, kid: &str, retires_at: i64) -> Result<()> {
        let q = query(
            "UPDATE signing_keys SET retires_at = $1
             WHERE kid = $2 AND (retires_at IS NULL OR retires_at > $3)",
        );
        self.exec(q.bind(retires_at).bind(kid).bind(retires_at))
            .await?;
        Ok(())
    }

    /// The longest lifetime of anything signed for any app (ID tokens live as long as access
    /// tokens; userinfo JWTs as long as `userinfo_ttl`), in seconds.
    pub async fn find_longest_signed_lifetime(&self) -> Result<i64> {
        let q = query(
            "SELECT MAX(CASE WHEN access_ttl > userinfo_ttl THEN access_ttl ELSE userinfo_ttl END)
             AS longest FROM apps",
        );
        let longest: Option<Option<i64>> = self.fetch_opt(q).await?;
        Ok(longest.flatten().unwrap_or(18_000))
    }
}
