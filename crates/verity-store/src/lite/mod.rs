//! The SQLite driver: connections used on the calling thread.
//!
//! A SQLite statement on an indexed key takes a few microseconds. Handing each one to a
//! driver thread and back (sqlx's SQLite driver) cost ten times that in context switches and
//! was most of a flow's CPU, so [`LitePool`] runs statements where it is called, on
//! one connection:
//!
//! - One connection per process, taken in turns on an async mutex (a task waits, not the
//!   thread). A transaction is a synchronous closure ([`LitePool::write`]) run from `BEGIN` to
//!   `COMMIT` inside one turn: it cannot await, so no task holds the connection (or SQLite's
//!   write lock) while it is suspended, SQLite's busy handler only ever waits for another
//!   process sharing the file, and a transaction cannot call another store method (which would
//!   wait for the turn it holds): the compiler refuses the `.await`.
//! - Commits do not fsync (WAL with `synchronous=NORMAL` keeps every committed transaction across
//!   a process crash); checkpoints, which do, run on the blocking pool every 200 ms instead of
//!   inside whichever request happened to commit, and all but the last few pages of each while
//!   requests go on (see `checkpoint`).
//!
//! Migrations still run through sqlx's migrator (its `_sqlx_migrations` bookkeeping is kept).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rusqlite::types::{FromSql, ValueRef};
use rusqlite::{Connection, OpenFlags};

mod checkpoint;

use checkpoint::{Open, Slot, checkpoint_round, flush_handle, spawn_checkpointer};

use crate::error::{Result, StoreError};
use crate::sql::{Col, Done, Exec, Fields, Query, Value};

/// The process's SQLite connection, used on the calling thread. Cloning shares it.
///
/// One connection, not a pool: SQLite keeps a page cache per connection and drops it whenever
/// another connection has written, so with several connections most reads went back to the file
/// (`pread`). The work is microseconds per statement, so taking turns costs less than that.
#[derive(Clone)]
pub struct LitePool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LitePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePool")
            .field("target", &self.shared.target)
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// The file name, or a shared-cache URI for an in-memory database.
    target: String,
    /// `None` once closed. Users take turns as tasks (an async mutex), never sleeping a thread.
    conn: Slot,
    /// The checkpointer's own connection to the file (`None` in memory, and once closed).
    own: Slot,
}

/// The connection, taken for one statement or one transaction.
type Turn = tokio::sync::OwnedMutexGuard<Option<Open>>;

impl LitePool {
    /// Opens (creating if missing) the database `file`; `None` for a private in-memory one.
    pub(crate) fn open(file: Option<PathBuf>, busy_timeout: Duration) -> Result<Self> {
        static MEMORY: AtomicU32 = AtomicU32::new(0);
        let base = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let (target, flags, memory) = match file {
            Some(path) => (path.to_string_lossy().into_owned(), base, false),
            None => (
                format!(
                    "file:verity-memory-{}-{}?mode=memory&cache=shared",
                    std::process::id(),
                    MEMORY.fetch_add(1, Ordering::Relaxed)
                ),
                base | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_SHARED_CACHE,
                true,
            ),
        };
        let sqlite = connect(&target, flags, busy_timeout)?;
        let (own, flush) = if memory {
            (None, None)
        } else {
            (
                Some(connect(&target, flags, busy_timeout)?),
                flush_handle(&target),
            )
        };
        let slot = |sqlite: Option<Connection>| {
            let flush = flush.clone();
            Arc::new(tokio::sync::Mutex::new(
                sqlite.map(|sqlite| Open { sqlite, flush }),
            ))
        };
        let pool = LitePool {
            shared: Arc::new(Shared {
                target,
                conn: slot(Some(sqlite)),
                own: slot(own),
            }),
        };
        if !memory {
            let shared = &pool.shared;
            spawn_checkpointer(Arc::downgrade(&shared.conn), Arc::downgrade(&shared.own));
        }
        Ok(pool)
    }

    /// The URL sqlx's migrator opens to reach the same database.
    pub(crate) fn sqlx_url(&self) -> String {
        if self.shared.target.starts_with("file:") {
            format!("sqlite:{}", self.shared.target)
        } else {
            format!("sqlite://{}", self.shared.target)
        }
    }

    /// Waits for the connection's turn.
    async fn take(&self) -> Result<Turn> {
        let turn = self.shared.conn.clone().lock_owned().await;
        match turn.as_ref() {
            None => Err(StoreError::Closed),
            Some(open) => {
                if !open.sqlite.is_autocommit() {
                    // A transaction left open (its rollback failed): end it before reuse.
                    open.sqlite.execute_batch("ROLLBACK")?;
                }
                Ok(turn)
            }
        }
    }

    /// Runs one statement.
    async fn run(&self, q: &Query<'_>) -> Result<(Vec<LiteRow>, Done)> {
        let turn = self.take().await?;
        run(conn_of(&turn), q)
    }

    /// Runs `body` as one transaction, begun as `begin` says, inside one turn of the
    /// connection: committed when it returns `Ok`, rolled back when it returns an error.
    pub(crate) async fn write<T>(
        &self,
        begin: Begin,
        body: impl FnOnce(&mut LiteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        let turn = self.take().await?;
        let conn = conn_of(&turn);
        conn.execute_batch(begin.sql())?;
        match body(&mut LiteTx { conn }) {
            // If the commit fails, the next turn ends the transaction before using the connection.
            Ok(out) => conn
                .execute_batch("COMMIT")
                .map(|()| out)
                .map_err(StoreError::from),
            Err(e) => {
                // If this rollback fails too, the next turn ends the transaction likewise.
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Copies the write-ahead log into the database during a turn, so that the next write starts
    /// the log over (what the checkpointer does every 200 ms).
    pub(crate) async fn checkpoint(&self) -> Result<()> {
        checkpoint_round(self.shared.own.clone(), self.shared.conn.clone()).await
    }

    /// Connections open, idle, and at most (one).
    pub(crate) fn usage(&self) -> (u32, u32, u32) {
        match self.shared.conn.try_lock() {
            Ok(idle) => {
                let open = u32::from(idle.is_some());
                (open, open, 1)
            }
            Err(_) => (1, 0, 1),
        }
    }

    /// Closes the connection (once its current user is done); later use fails with
    /// [`StoreError::Closed`].
    pub(crate) async fn close(&self) {
        self.shared.conn.lock().await.take();
        self.shared.own.lock().await.take();
    }
}

fn conn_of(turn: &Turn) -> &Connection {
    // `take` hands out only turns that hold a connection.
    &turn
        .as_ref()
        .unwrap_or_else(|| unreachable!("a turn holds the connection"))
        .sqlite
}

fn connect(target: &str, flags: OpenFlags, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(target, flags)?;
    conn.busy_timeout(busy_timeout)?;
    // WAL: readers never block the writer. NORMAL sync in WAL mode keeps every committed
    // transaction across a process crash (a power cut may lose the last few). The checkpointer
    // thread checkpoints (autocheckpoint would fsync inside a request).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// How a transaction begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// A transaction that will write: `BEGIN IMMEDIATE` takes SQLite's write lock at once, so
    /// that a read-then-write step cannot interleave with another process's writer.
    Write,
    /// Its reads see one state of the database, and it takes the write lock at its first
    /// write, if any.
    Deferred,
}

impl Begin {
    fn sql(self) -> &'static str {
        match self {
            Begin::Write => "BEGIN IMMEDIATE",
            Begin::Deferred => "BEGIN",
        }
    }
}

/// The open transaction inside [`LitePool::write`]: statements run at once, on the calling
/// thread, and it cannot outlive the closure.
pub(crate) struct LiteTx<'c> {
    conn: &'c Connection,
}

impl LiteTx<'_> {
    /// Runs one statement; the rows it wrote.
    pub(crate) fn execute(&mut self, q: Query<'_>) -> Result<u64> {
        run(self.conn, &q).map(|(_, done)| done.rows_affected())
    }

    pub(crate) fn fetch_optional(&mut self, q: Query<'_>) -> Result<Option<LiteRow>> {
        run(self.conn, &q).map(|(rows, _)| rows.into_iter().next())
    }
}

/// One row, copied out of SQLite.
#[derive(Debug)]
pub(crate) struct LiteRow {
    names: Arc<[Box<str>]>,
    values: Vec<rusqlite::types::Value>,
}

impl LiteRow {
    fn get<T: FromSql>(&self, i: usize, name: &str) -> Result<T> {
        let value = self
            .values
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {name}")))?;
        T::column_result(ValueRef::from(value))
            .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
    }
}

impl Fields for LiteRow {
    fn col<T: Col>(&self, name: &str) -> Result<T> {
        let i = self.names.iter().position(|n| n.as_ref() == name);
        self.get(i.unwrap_or(usize::MAX), name)
    }
    fn first<T: Col>(&self) -> Result<T> {
        self.get(0, "0")
    }
}

// SQLite runs a statement on the calling thread.
impl Exec for &LitePool {
    type Row = LiteRow;
    async fn rows(self, q: Query<'_>) -> Result<Vec<LiteRow>> {
        self.run(&q).await.map(|(rows, _)| rows)
    }
    async fn execute(self, q: Query<'_>) -> Result<Done> {
        self.run(&q).await.map(|(_, done)| done)
    }
}

fn run(conn: &Connection, q: &Query<'_>) -> Result<(Vec<LiteRow>, Done)> {
    let mut stmt = conn.prepare_cached(q.sql())?;
    for (i, arg) in q.args().iter().enumerate() {
        // Placeholders are numbered (`$1`); SQLite indexes them in order of first appearance.
        let in_order = stmt
            .parameter_name(i + 1)
            .and_then(|n| n.strip_prefix('$'))
            .is_some_and(|d| d.parse() == Ok(i + 1));
        let index = if in_order {
            i + 1
        } else {
            let name = format!("${}", i + 1);
            stmt.parameter_index(&name)?
                .ok_or_else(|| StoreError::Corrupt(format!("no placeholder {name} in query")))?
        };
        match arg {
            Value::Int(v) => stmt.raw_bind_parameter(index, v)?,
            Value::Bool(v) => stmt.raw_bind_parameter(index, v)?,
            Value::Text(v) => stmt.raw_bind_parameter(index, v.as_deref())?,
            Value::Blob(v) => stmt.raw_bind_parameter(index, v.as_deref())?,
        }
    }
    let writes = !stmt.readonly();
    let count = stmt.column_count();
    let names: Arc<[Box<str>]> = if count == 0 {
        Arc::from(Vec::new())
    } else {
        stmt.column_names().into_iter().map(Box::from).collect()
    };
    let mut out = Vec::new();
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(count);
        for i in 0..count {
            values.push(rusqlite::types::Value::from(row.get_ref(i)?));
        }
        out.push(LiteRow {
            names: names.clone(),
            values,
        });
    }
    drop(rows);
    let changed = if writes { conn.changes() } else { 0 };
    Ok((out, Done(changed)))
}
