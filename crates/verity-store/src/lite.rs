//! The SQLite driver: connections used on the calling thread.
//!
//! A SQLite statement on an indexed key takes a few microseconds. Handing each one to a
//! driver thread and back (sqlx's SQLite driver) cost ten times that in context switches and
//! was most of a flow's CPU, so [`LitePool`] runs statements where it is called, on
//! connections kept in a small pool:
//!
//! - Reads never wait in WAL mode. Writers of this process take turns on an async mutex first
//!   (a task waits, not the thread). A write transaction ([`LiteTx`]) then runs from
//!   `BEGIN IMMEDIATE` to `COMMIT` inside one poll of its task: the store's methods await nothing
//!   but statements between the two, and those complete at once here. So no task of this process
//!   holds the write lock while it is suspended, and a writer waits in SQLite's busy handler only
//!   for another process that shares the file.
//! - Commits do not fsync (WAL with `synchronous=NORMAL` keeps every committed transaction across
//!   a process crash); checkpoints, which do, run on a thread of their own instead of inside
//!   whichever request happened to commit.
//!
//! Migrations still run through sqlx's migrator (its `_sqlx_migrations` bookkeeping is kept).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rusqlite::types::{FromSql, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::query::{Done, Query, Value};
use crate::{Result, StoreError};

/// How often the checkpointer moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// SQLite connections used on the calling thread. Cloning shares the pool.
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
    flags: OpenFlags,
    busy_timeout: Duration,
    /// Idle connections kept for reuse (more are opened while more threads use the database
    /// at once: each use is synchronous, so that is at most one per thread).
    keep: usize,
    idle: Mutex<Vec<Connection>>,
    /// Writers of this process take turns here, waiting as tasks rather than in SQLite's busy
    /// handler (which sleeps the thread, a tokio worker).
    writer: Arc<tokio::sync::Mutex<()>>,
    open: AtomicU32,
    closed: AtomicBool,
    /// Keeps an in-memory database alive while the pool is.
    _anchor: Option<Mutex<Connection>>,
}

impl LitePool {
    /// Opens (creating if missing) the database `file`; `None` for a private in-memory one.
    pub(crate) fn open(file: Option<PathBuf>, keep: usize, busy_timeout: Duration) -> Result<Self> {
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
        let anchor = if memory {
            Some(Mutex::new(connect(&target, flags, busy_timeout)?))
        } else {
            None
        };
        let first = connect(&target, flags, busy_timeout)?;
        let pool = LitePool {
            shared: Arc::new(Shared {
                target,
                flags,
                busy_timeout,
                keep: keep.max(1),
                idle: Mutex::new(vec![first]),
                writer: Arc::new(tokio::sync::Mutex::new(())),
                open: AtomicU32::new(1),
                closed: AtomicBool::new(false),
                _anchor: anchor,
            }),
        };
        if !memory {
            spawn_checkpointer(Arc::downgrade(&pool.shared))?;
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

    fn take(&self) -> Result<Lent<'_>> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let idle = self
            .shared
            .idle
            .lock()
            .map_err(|_| StoreError::Closed)?
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = connect(
                    &self.shared.target,
                    self.shared.flags,
                    self.shared.busy_timeout,
                )?;
                self.shared.open.fetch_add(1, Ordering::Relaxed);
                c
            }
        };
        Ok(Lent {
            conn: Some(conn),
            pool: &self.shared,
        })
    }

    /// Runs one statement on an idle connection.
    pub(crate) async fn run(&self, q: &Query<'_>) -> Result<(Vec<LiteRow>, Done)> {
        let reads = q.sql().trim_start().starts_with("SELECT");
        let _turn = if reads {
            None
        } else {
            Some(self.shared.writer.lock().await)
        };
        let lent = self.take()?;
        run(lent.conn(), q)
    }

    /// A write transaction: `BEGIN IMMEDIATE` takes SQLite's write lock at once, so that a
    /// read-then-write step cannot interleave with another writer.
    pub(crate) async fn begin_immediate(&self) -> Result<LiteTx<'_>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }

    /// A read transaction: the statements in it see one state of the database. Takes no turn
    /// among the writers (it must not write).
    pub(crate) fn begin_read(&self) -> Result<LiteTx<'_>> {
        let lent = self.take()?;
        lent.conn()
            .execute_batch("BEGIN")
            .map_err(StoreError::from)?;
        Ok(LiteTx {
            lent,
            open: true,
            _turn: None,
        })
    }

    /// A transaction that takes SQLite's write lock at its first write.
    pub(crate) async fn begin_plain(&self) -> Result<LiteTx<'_>> {
        self.begin_with("BEGIN").await
    }

    async fn begin_with(&self, sql: &str) -> Result<LiteTx<'_>> {
        let turn = self.shared.writer.clone().lock_owned().await;
        let lent = self.take()?;
        lent.conn().execute_batch(sql).map_err(StoreError::from)?;
        Ok(LiteTx {
            lent,
            open: true,
            _turn: Some(turn),
        })
    }

    /// Connections open, idle, and the number kept idle.
    pub(crate) fn usage(&self) -> (u32, u32, u32) {
        let idle = self.shared.idle.lock().map(|v| v.len()).unwrap_or(0) as u32;
        let open = self.shared.open.load(Ordering::Relaxed);
        (open.max(idle), idle, self.shared.keep as u32)
    }

    /// Closes the idle connections; later use fails with [`StoreError::Closed`].
    pub(crate) fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.shared.idle.lock() {
            let n = idle.len() as u32;
            idle.clear();
            self.shared.open.fetch_sub(n, Ordering::Relaxed);
        }
    }
}

fn connect(target: &str, flags: OpenFlags, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(target, flags)?;
    conn.busy_timeout(busy_timeout)?;
    // WAL: readers never block the writer. NORMAL sync in WAL mode keeps every committed
    // transaction across a process crash (a power cut may lose the last few). The checkpointer
    // thread checkpoints (autocheckpoint would fsync inside a request).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 0;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Checkpoints every [`CHECKPOINT_EVERY`] on a thread of its own, until the pool is dropped or
/// closed. PASSIVE: it never waits for readers or writers (what it cannot copy now, it copies
/// next time).
fn spawn_checkpointer(shared: Weak<Shared>) -> Result<()> {
    let (target, flags, timeout) = match shared.upgrade() {
        Some(s) => (s.target.clone(), s.flags, s.busy_timeout),
        None => return Ok(()),
    };
    let conn = connect(&target, flags, timeout)?;
    std::thread::Builder::new()
        .name("verity-sqlite-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CHECKPOINT_EVERY);
                match shared.upgrade() {
                    Some(s) if !s.closed.load(Ordering::Acquire) => {}
                    _ => return,
                }
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "SQLite checkpoint failed");
                }
            }
        })
        .map_err(|e| StoreError::Io(e.to_string()))?;
    Ok(())
}

/// A connection lent out of the pool, given back when dropped.
struct Lent<'p> {
    conn: Option<Connection>,
    pool: &'p Shared,
}

impl Lent<'_> {
    fn conn(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("a lent connection is present"))
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A connection left inside a transaction (a panic between BEGIN and COMMIT) is dropped.
        let reusable = conn.is_autocommit() && !self.pool.closed.load(Ordering::Acquire);
        if reusable
            && let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < self.pool.keep
        {
            idle.push(conn);
            return;
        }
        self.pool.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A transaction on one connection: committed by [`LiteTx::commit`], rolled back otherwise.
pub(crate) struct LiteTx<'p> {
    lent: Lent<'p>,
    open: bool,
    /// This process's writers' turn (none for a read transaction).
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl LiteTx<'_> {
    pub(crate) fn run(&mut self, q: &Query<'_>) -> Result<(Vec<LiteRow>, Done)> {
        run(self.lent.conn(), q)
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        self.open = false;
        self.lent
            .conn()
            .execute_batch("COMMIT")
            .map_err(StoreError::from)
    }

    pub(crate) async fn rollback(mut self) -> Result<()> {
        self.open = false;
        self.lent
            .conn()
            .execute_batch("ROLLBACK")
            .map_err(StoreError::from)
    }
}

impl Drop for LiteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // An error or early return: nothing of the transaction is kept. If the rollback
            // fails too, the connection is not in autocommit and is dropped rather than reused.
            let _ = self.lent.conn().execute_batch("ROLLBACK");
        }
    }
}

/// One row, copied out of SQLite.
#[derive(Debug)]
pub(crate) struct LiteRow {
    names: Arc<[Box<str>]>,
    values: Vec<rusqlite::types::Value>,
}

impl LiteRow {
    pub(crate) fn get<T: FromSql>(&self, name: &str) -> Result<T> {
        let i = self
            .names
            .iter()
            .position(|n| n.as_ref() == name)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {name}")))?;
        T::column_result(ValueRef::from(&self.values[i]))
            .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
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

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// SQLite errors that mean the database cannot be used right now (busy past the timeout, a
/// full disk, an unreadable file), as opposed to a statement failing.
pub(crate) fn is_unavailable(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    e.sqlite_error_code().is_some_and(|c| {
        matches!(
            c,
            DatabaseBusy | DatabaseLocked | SystemIoFailure | DiskFull | CannotOpen | OutOfMemory
        )
    })
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
