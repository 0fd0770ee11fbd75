//! TOTP enrolment and recovery codes.

use crate::dialect::Backend;
use crate::error::Result;
use crate::sql::{query, storable};
use crate::{Store, dispatch};

impl Store {
    /// Sets (or with `None` removes) the sealed TOTP secret, resetting the replay guard.
    pub async fn update_user_totp(&self, uuid: &str, sealed_secret: Option<&[u8]>) -> Result<()> {
        dispatch!(self, pool, {
            let mut tx = pool.begin_write().await?;
            query("UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE uuid = $2")
                .bind(sealed_secret)
                .bind(uuid)
                .execute(&mut tx)
                .await?;
            if sealed_secret.is_none() {
                query("DELETE FROM recovery_codes WHERE uuid = $1")
                    .bind(uuid)
                    .execute(&mut tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Replaces the user's recovery codes (digests).
    pub async fn replace_recovery_codes(&self, uuid: &str, code_hashes: &[String]) -> Result<()> {
        dispatch!(self, pool, {
            let mut tx = pool.begin_write().await?;
            query("DELETE FROM recovery_codes WHERE uuid = $1")
                .bind(uuid)
                .execute(&mut tx)
                .await?;
            for h in code_hashes {
                query("INSERT INTO recovery_codes (uuid, code_hash) VALUES ($1, $2)")
                    .bind(uuid)
                    .bind(h)
                    .execute(&mut tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Uses a recovery code once; false if unknown or already used.
    pub async fn take_recovery_code(&self, uuid: &str, code_hash: &str, now: i64) -> Result<bool> {
        if !storable(uuid) || !storable(code_hash) {
            return Ok(false);
        }
        let q = query(
            "UPDATE recovery_codes SET used_at = $1
             WHERE uuid = $2 AND code_hash = $3 AND used_at IS NULL",
        );
        Ok(self.exec(q.bind(now).bind(uuid).bind(code_hash)).await? == 1)
    }
}
