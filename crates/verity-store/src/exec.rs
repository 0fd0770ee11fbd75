//! How a store method runs its statements, written once for both backends: one statement on
//! its own ([`Store::exec`], [`Store::fetch_opt`], [`Store::fetch_all`], and their `_by` forms
//! for a lookup by one key), or several in one transaction ([`Store::write`],
//! [`Store::write_after`], and [`Store::update_counter`] for the counters every node shares).
//!
//! A transaction's logic is synchronous: it is given what the transaction read and answers
//! what to write. So nothing can await inside a transaction (on SQLite, another store method
//! would wait for the connection the transaction holds: a deadlock), and the compiler, not a
//! comment, holds every method to that. Steps that only SQLite runs as a transaction take
//! [`LitePool::write`](crate::lite::LitePool::write) directly, with the same guarantee.

use crate::Store;
use crate::dialect::PerBackend;
use crate::error::Result;
use crate::lite::Begin;
use crate::sql::{FromRow, Query, query, storable};

/// Runs `$body` with `$pool` bound to the backend's own pool type.
macro_rules! dispatch {
    ($store:expr, $pool:ident, $body:block) => {
        match $store {
            $crate::Store::Sqlite($pool, ..) => $body,
            $crate::Store::Postgres($pool, _) => $body,
        }
    };
}

impl Store {
    /// Runs one statement on its own (no transaction); the rows it wrote.
    pub(crate) async fn exec(&self, q: Query<'_>) -> Result<u64> {
        dispatch!(self, pool, { Ok(q.execute(pool).await?.rows_affected()) })
    }

    /// The first row of one statement run on its own, if any.
    pub(crate) async fn fetch_opt<T: FromRow>(&self, q: Query<'_>) -> Result<Option<T>> {
        dispatch!(self, pool, {
            let row = q.fetch_optional(pool).await?;
            row.as_ref().map(T::from_row).transpose()
        })
    }

    /// Every row of one statement run on its own.
    pub(crate) async fn fetch_all<T: FromRow>(&self, q: Query<'_>) -> Result<Vec<T>> {
        dispatch!(self, pool, {
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(T::from_row).collect()
        })
    }

    /// The first row of `q` with `key` bound to its next placeholder; none, without asking
    /// the database, when no stored key could be `key` ([`storable`]).
    pub(crate) async fn fetch_opt_by<'q, T: FromRow>(
        &self,
        q: Query<'q>,
        key: &'q str,
    ) -> Result<Option<T>> {
        if !storable(key) {
            return Ok(None);
        }
        self.fetch_opt(q.bind(key)).await
    }

    /// Every row of `q` with `key` bound to its next placeholder; none, without asking the
    /// database, when no stored key could be `key` ([`storable`]).
    pub(crate) async fn fetch_all_by<'q, T: FromRow>(
        &self,
        q: Query<'q>,
        key: &'q str,
    ) -> Result<Vec<T>> {
        if !storable(key) {
            return Ok(Vec::new());
        }
        self.fetch_all(q.bind(key)).await
    }

    /// Runs `statements` in order in one transaction, all or none; the rows each wrote.
    pub(crate) async fn write(&self, begin: Begin, statements: Vec<Query<'_>>) -> Result<Vec<u64>> {
        match self {
            Store::Sqlite(pool, ..) => {
                pool.write(begin, |tx| {
                    statements.into_iter().map(|q| tx.execute(q)).collect()
                })
                .await
            }
            Store::Postgres(pool, _) => {
                let mut tx = pool.begin().await?;
                let mut written = Vec::with_capacity(statements.len());
                for q in statements {
                    written.push(q.execute(&mut tx).await?.rows_affected());
                }
                tx.commit().await?;
                Ok(written)
            }
        }
    }

    /// One write transaction that reads before it decides: runs `before` (locks), then `read`,
    /// then gives the row it found to `then`, which answers the statements to run next and the
    /// method's result. Committed when everything succeeds (also when `then` writes nothing).
    pub(crate) async fn write_after<'q, R, T>(
        &self,
        before: Vec<Query<'q>>,
        read: Query<'q>,
        then: impl FnOnce(Option<R>) -> Result<(Vec<Query<'q>>, T)> + Send,
    ) -> Result<T>
    where
        R: FromRow,
        T: Send,
    {
        match self {
            Store::Sqlite(pool, ..) => {
                pool.write(Begin::Write, |tx| {
                    for q in before {
                        tx.execute(q)?;
                    }
                    let found = tx.fetch_optional(read)?;
                    let (writes, out) = then(found.as_ref().map(R::from_row).transpose()?)?;
                    for q in writes {
                        tx.execute(q)?;
                    }
                    Ok(out)
                })
                .await
            }
            Store::Postgres(pool, _) => {
                let mut tx = pool.begin().await?;
                for q in before {
                    q.execute(&mut tx).await?;
                }
                let found = read.fetch_optional(&mut tx).await?;
                let (writes, out) = then(found.as_ref().map(R::from_row).transpose()?)?;
                for q in writes {
                    q.execute(&mut tx).await?;
                }
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// One read-decide-write step on the counter row of `key` (a limit's, a throttling key's),
    /// counted once however many nodes race on it: concurrent steps on one key take turns, even
    /// before its row exists ([`Store::key_lock`]), and `read` (of `dialect`) reads the row
    /// under a row lock, so that a concurrent single-statement update waits for this
    /// transaction rather than being overwritten by what it read. `then` is as in
    /// [`Store::write_after`].
    pub(crate) async fn update_counter<'q, R, T>(
        &self,
        key: &'q str,
        read: &PerBackend,
        then: impl FnOnce(Option<R>) -> Result<(Vec<Query<'q>>, T)> + Send,
    ) -> Result<T>
    where
        R: FromRow,
        T: Send,
    {
        let before = self.key_lock().map(|lock| query(lock).bind(key));
        let read = query(self.pick(read)).bind(key);
        self.write_after(before.into_iter().collect(), read, then)
            .await
    }
}
