//! Counters of the limits on what one address, account or organization may create or send
//! (`verity_core::limits`), shared by every node through the database.

use verity_core::limits::{Limit, Taken, Window, take};

use crate::Store;
use crate::dialect::LIMIT_FOR_UPDATE;
use crate::error::Result;
use crate::sql::{Fields, FromRow, query};

/// A counter as stored.
struct Stored(Window);

impl FromRow for Stored {
    fn from_row(r: &impl Fields) -> Result<Self> {
        Ok(Stored(Window {
            hits: r.col("hits")?,
            start: r.col("window_start")?,
        }))
    }
}

impl Store {
    /// Counts one action on `key` under `limit` (`verity_core::limits::take`), read and
    /// written in one transaction so that concurrent actions, on any node, are each counted
    /// once and never more than `limit.count` go through in a window. A refused action changes
    /// nothing.
    pub async fn take_limit(&self, key: &str, now: i64, limit: Limit) -> Result<Taken> {
        self.update_counter(key, &LIMIT_FOR_UPDATE, |stored: Option<Stored>| {
            let (next, taken) = take(stored.map(|s| s.0), now, limit);
            let mut writes = Vec::new();
            if let Some(w) = next {
                let upsert = query(
                    "INSERT INTO rate_limits (key, hits, window_start, window_end)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (key) DO UPDATE SET hits = excluded.hits,
                        window_start = excluded.window_start, window_end = excluded.window_end",
                );
                let upsert = upsert.bind(key).bind(w.hits).bind(w.start);
                writes.push(upsert.bind(w.end(limit)));
            }
            Ok((writes, taken))
        })
        .await
    }

    /// Gives back one action taken on `key` that did not happen after all (a form refused
    /// for its content), never below zero.
    pub async fn give_back_limit(&self, key: &str) -> Result<()> {
        let q = query("UPDATE rate_limits SET hits = hits - 1 WHERE key = $1 AND hits > 0");
        self.exec(q.bind(key)).await?;
        Ok(())
    }
}
