//! TOTP enrolment and recovery codes.

use crate::Store;
use crate::error::Result;
use crate::lite::Begin;
use crate::sql::{query, storable};
use crate::users::User;

impl Store {
    /// Sets (or with `None` removes) the sealed TOTP secret, resetting the replay guard.
    pub async fn update_user_totp(&self, uuid: &str, sealed_secret: Option<&[u8]>) -> Result<()> {
        let update =
            query("UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE uuid = $2");
        let mut statements = vec![update.bind(sealed_secret).bind(uuid)];
        if sealed_secret.is_none() {
            statements.push(query("DELETE FROM recovery_codes WHERE uuid = $1").bind(uuid));
        }
        self.write(Begin::Write, statements).await?;
        Ok(())
    }

    /// Replaces the user's recovery codes (digests).
    pub async fn replace_recovery_codes(&self, uuid: &str, code_hashes: &[String]) -> Result<()> {
        let mut statements = vec![query("DELETE FROM recovery_codes WHERE uuid = $1").bind(uuid)];
        for h in code_hashes {
            let insert = query("INSERT INTO recovery_codes (uuid, code_hash) VALUES ($1, $2)");
            statements.push(insert.bind(uuid).bind(h));
        }
        self.write(Begin::Write, statements).await?;
        Ok(())
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

    /// Accounts with a TOTP secret, `limit` at a time after `after` (by uuid).
    pub async fn find_users_with_totp(&self, after: &str, limit: i64) -> Result<Vec<User>> {
        let q = query(
            "SELECT * FROM users WHERE totp_secret IS NOT NULL AND uuid > $1
             ORDER BY uuid LIMIT $2",
        );
        self.fetch_all(q.bind(after).bind(limit)).await
    }

    /// Replaces an account's sealed TOTP secret with the same secret sealed anew (a master-key
    /// rotation), if it is still `was` (not re-enrolled meanwhile); the replay guard stays.
    pub async fn update_totp_sealed(&self, uuid: &str, was: &[u8], sealed: &[u8]) -> Result<bool> {
        let q = query("UPDATE users SET totp_secret = $1 WHERE uuid = $2 AND totp_secret = $3");
        Ok(self.exec(q.bind(sealed).bind(uuid).bind(was)).await? == 1)
    }
}
