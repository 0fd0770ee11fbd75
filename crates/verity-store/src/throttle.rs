//! Failed-attempt counting for brute-force protection, shared by every node through the database.

use verity_core::throttle::{Counter, next_attempt};

use crate::Store;
use crate::dialect::ATTEMPTS_FOR_UPDATE;
use crate::error::Result;
use crate::sql::{Fields, FromRow, query};

/// The state of one throttling key after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub failures: i64,
    pub locked_until: i64,
    /// This attempt may go on to check the secret.
    pub allowed: bool,
}

/// A counter as stored.
struct Stored(Counter);

impl FromRow for Stored {
    fn from_row(r: &impl Fields) -> Result<Self> {
        Ok(Stored(Counter {
            failures: r.col("failures")?,
            window_start: r.col("window_start")?,
            locked_until: r.col("locked_until")?,
        }))
    }
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
        self.update_counter(key, &ATTEMPTS_FOR_UPDATE, |stored: Option<Stored>| {
            let prev = stored.map(|s| s.0);
            let (c, allowed) = next_attempt(prev, now, window, limit, lock);
            let mut writes = Vec::new();
            if Some(c) != prev {
                let upsert = query(
                    "INSERT INTO auth_failures (key, failures, window_start, locked_until)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                        window_start = excluded.window_start, locked_until = excluded.locked_until",
                );
                let upsert = upsert.bind(key).bind(c.failures);
                writes.push(upsert.bind(c.window_start).bind(c.locked_until));
            }
            let attempts = Attempts {
                failures: c.failures,
                locked_until: c.locked_until,
                allowed,
            };
            Ok((writes, attempts))
        })
        .await
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
