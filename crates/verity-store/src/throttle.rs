//! Failed-attempt counting for brute-force protection, shared by every node through the database.

use verity_core::throttle::{Counter, next_attempt};

use crate::dialect::{ATTEMPTS_FOR_UPDATE, Backend, key_lock, pick};
use crate::error::Result;
use crate::sql::{Fields, query};
use crate::{Store, dispatch};

/// The state of one throttling key after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub failures: i64,
    pub locked_until: i64,
    /// This attempt may go on to check the secret.
    pub allowed: bool,
}

impl Store {
    /// Counts one attempt under `verity_core::throttle::next_attempt`'s rules, read and written
    /// in one transaction so that concurrent attempts are each counted.
    pub async fn take_attempt(
        &self,
        key: &str,
        now: i64,
        window: i64,
        limit: i64,
        lock: i64,
    ) -> Result<Attempts> {
        dispatch!(self, pool, {
            let mut tx = pool.begin_write().await?;
            // Concurrent attempts on one key (on any node) take turns, even before its row exists.
            if let Some(lock) = key_lock(pool) {
                query(lock).bind(key).execute(&mut tx).await?;
            }
            // Read under a row lock: a concurrent `release_attempt` (one UPDATE) waits for this
            // transaction rather than being overwritten by what it read before.
            let row = query(pick(&ATTEMPTS_FOR_UPDATE, pool))
                .bind(key)
                .fetch_optional(&mut tx)
                .await?;
            let prev = match row {
                Some(r) => Some(Counter {
                    failures: r.col("failures")?,
                    window_start: r.col("window_start")?,
                    locked_until: r.col("locked_until")?,
                }),
                None => None,
            };
            let (c, allowed) = next_attempt(prev, now, window, limit, lock);
            if Some(c) != prev {
                query(
                "INSERT INTO auth_failures (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                    window_start = excluded.window_start, locked_until = excluded.locked_until",
            )
            .bind(key)
            .bind(c.failures)
            .bind(c.window_start)
            .bind(c.locked_until)
            .execute(&mut tx)
            .await?;
            }
            tx.commit().await?;
            Ok(Attempts {
                failures: c.failures,
                locked_until: c.locked_until,
                allowed,
            })
        })
    }

    /// Gives back an attempt that succeeded (an address's counter counts failures only).
    pub async fn release_attempt(&self, key: &str) -> Result<()> {
        let q = query(
            "UPDATE auth_failures SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END
             WHERE key = $1",
        );
        self.exec(q.bind(key)).await?;
        Ok(())
    }

    /// A success clears the account's counter (an address counter keeps counting).
    pub async fn clear_failures(&self, key: &str) -> Result<()> {
        self.exec(query("DELETE FROM auth_failures WHERE key = $1").bind(key))
            .await?;
        Ok(())
    }
}
