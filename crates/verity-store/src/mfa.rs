//! TOTP enrolment and recovery codes.

use crate::{Result, Store};

impl Store {
    /// Sets (or with `None` removes) the sealed TOTP secret, resetting the replay guard.
    pub async fn update_user_totp(&self, uuid: &str, sealed_secret: Option<&[u8]>) -> Result<()> {
        let Store::Sqlite(pool) = self;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE users SET totp_secret = ?, totp_last_step = NULL WHERE uuid = ?")
            .bind(sealed_secret)
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        if sealed_secret.is_none() {
            sqlx::query("DELETE FROM recovery_codes WHERE uuid = ?")
                .bind(uuid)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the user's recovery codes (digests).
    pub async fn replace_recovery_codes(&self, uuid: &str, code_hashes: &[String]) -> Result<()> {
        let Store::Sqlite(pool) = self;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM recovery_codes WHERE uuid = ?")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        for h in code_hashes {
            sqlx::query("INSERT INTO recovery_codes (uuid, code_hash) VALUES (?, ?)")
                .bind(uuid)
                .bind(h)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses a recovery code once; false if unknown or already used.
    pub async fn take_recovery_code(&self, uuid: &str, code_hash: &str, now: i64) -> Result<bool> {
        let Store::Sqlite(pool) = self;
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ? WHERE uuid = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(uuid)
        .bind(code_hash)
        .execute(pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
