//! Failed-attempt counting for brute-force protection, shared by every node through the database.

use sqlx::Row;

use crate::{Result, Store};

/// The state of one throttling key after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub failures: i64,
    pub locked_until: i64,
}

impl Store {
    /// Until when `key` is locked (0: not locked).
    pub async fn find_lock(&self, key: &str) -> Result<i64> {
        let Store::Sqlite(pool) = self;
        let row = sqlx::query("SELECT locked_until FROM auth_failures WHERE key = ?")
            .bind(key)
            .fetch_optional(pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("locked_until")?,
            None => 0,
        })
    }

    /// Counts one failure in a window of `window` seconds; from `limit` failures on, the key is
    /// locked for `lock` seconds (doubling with each further failure, at most a day).
    pub async fn record_failure(
        &self,
        key: &str,
        now: i64,
        window: i64,
        limit: i64,
        lock: i64,
    ) -> Result<Attempts> {
        let Store::Sqlite(pool) = self;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT failures, window_start FROM auth_failures WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let (failures, start) = match row {
            Some(r) => {
                let f: i64 = r.try_get("failures")?;
                let s: i64 = r.try_get("window_start")?;
                if now - s > window {
                    (1, now)
                } else {
                    (f + 1, s)
                }
            }
            None => (1, now),
        };
        let locked_until = if failures >= limit {
            let doublings = (failures - limit).min(12) as u32;
            now + (lock.saturating_mul(1i64 << doublings)).min(86_400)
        } else {
            0
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
        })
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
