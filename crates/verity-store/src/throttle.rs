//! Failed-attempt counting for brute-force protection, shared by every node through the database.

use sqlx::Row;

use crate::{Result, Store};

/// The state of one throttling key after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub failures: i64,
    pub locked_until: i64,
    /// This attempt may go on to check the secret.
    pub allowed: bool,
}

impl Store {
    /// Counts one attempt before the secret is checked (so concurrent attempts cannot slip past
    /// the limit), in a window of `window` seconds. Past `limit` attempts the key is locked for
    /// `lock` seconds, doubling with each further attempt, at most a day. A locked key is not
    /// counted further. Returns whether this attempt may proceed.
    pub async fn take_attempt(
        &self,
        key: &str,
        now: i64,
        window: i64,
        limit: i64,
        lock: i64,
    ) -> Result<Attempts> {
        let Store::Sqlite(pool) = self;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT failures, window_start, locked_until FROM auth_failures WHERE key = ?",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let (failures, start, lock_expired) = match row {
            Some(r) => {
                let f: i64 = r.try_get("failures")?;
                let s: i64 = r.try_get("window_start")?;
                let l: i64 = r.try_get("locked_until")?;
                if l > now {
                    tx.rollback().await?;
                    return Ok(Attempts {
                        failures: f,
                        locked_until: l,
                        allowed: false,
                    });
                }
                if now - s > window {
                    (1, now, false)
                } else {
                    (f + 1, s, l != 0)
                }
            }
            None => (1, now, false),
        };
        // Past the limit the key locks; when a lock has just run out, one attempt goes through
        // (a failure then locks again, twice as long).
        let (locked_until, allowed) = if failures > limit && !lock_expired {
            let doublings = (failures - limit - 1).min(12) as u32;
            (
                now + (lock.saturating_mul(1i64 << doublings)).min(86_400),
                false,
            )
        } else {
            (0, true)
        };
        sqlx::query(
            "INSERT INTO auth_failures (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                window_start = excluded.window_start, locked_until = excluded.locked_until",
        )
        .bind(key)
        .bind(failures)
        .bind(start)
        .bind(locked_until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Attempts {
            failures,
            locked_until,
            allowed,
        })
    }

    /// Gives back an attempt that succeeded (an address's counter counts failures only).
    pub async fn release_attempt(&self, key: &str) -> Result<()> {
        let Store::Sqlite(pool) = self;
        sqlx::query("UPDATE auth_failures SET failures = MAX(failures - 1, 0) WHERE key = ?")
            .bind(key)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// A success clears the account's counter (an address counter keeps counting).
    pub async fn clear_failures(&self, key: &str) -> Result<()> {
        let Store::Sqlite(pool) = self;
        sqlx::query("DELETE FROM auth_failures WHERE key = ?")
            .bind(key)
            .execute(pool)
            .await?;
        Ok(())
    }
}
