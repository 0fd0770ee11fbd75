//! The checkpointer: moves SQLite's write-ahead log into the database file in the background,
//! so that commits never fsync and the log never grows without bound (see
//! `spawn_checkpointer`).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Mutex;

use crate::error::{Result, StoreError};

/// How often the checkpointer moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Copies the checkpointer makes, at most, of what was written during its previous copy, before
/// it copies the rest during a turn of the connection.
const CATCH_UP_ROUNDS: usize = 3;

/// Stop catching up once a copy saw fewer pages than this written meanwhile.
const CAUGHT_UP_FRAMES: i64 = 64;

/// A connection taken in turns; `None` once closed.
pub(super) type Slot = Arc<Mutex<Option<Open>>>;

/// A connection to a file, and the file's [`flush_handle`], which it keeps open.
pub(super) struct Open {
    // Dropped in this order: the handle is closed after the connection.
    pub(super) sqlite: Connection,
    pub(super) flush: Option<Arc<File>>,
}

/// A handle on the database file that is used for nothing but `fsync`, shared by every pool of
/// the process on that file, and closed only after the last of their connections.
///
/// Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
/// included. SQLite keeps its own descriptors open while one of its connections holds a lock;
/// this handle is kept open by each connection ([`Open`]) for the same reason. The flush only
/// moves work out of the checkpoint's locked step: SQLite's own flush still follows there. `None`
/// (and a warning) when the file cannot be opened.
pub(super) fn flush_handle(target: &str) -> Option<Arc<File>> {
    static HANDLES: LazyLock<std::sync::Mutex<HashMap<PathBuf, Weak<File>>>> =
        LazyLock::new(std::sync::Mutex::default);
    let opened = std::fs::canonicalize(Path::new(target)).and_then(|path| {
        let mut handles = HANDLES.lock().unwrap_or_else(|e| e.into_inner());
        handles.retain(|_, h| h.strong_count() > 0);
        if let Some(file) = handles.get(&path).and_then(Weak::upgrade) {
            return Ok(file);
        }
        // Writable: some systems flush only descriptors open for writing. Nothing is written.
        let file = Arc::new(File::options().read(true).write(true).open(&path)?);
        handles.insert(path, Arc::downgrade(&file));
        Ok(file)
    });
    opened
        .inspect_err(
            |e| tracing::warn!(error = %e, file = target, "SQLite file not opened for flushing"),
        )
        .ok()
}

/// Moves the write-ahead log into the database file every [`CHECKPOINT_EVERY`], until the pool
/// is dropped or closed.
///
/// SQLite starts the log over (instead of growing it) when a write begins and everything in it
/// has been copied. Under a steady load a checkpoint on another connection never catches up with
/// the writes, and the log grew by gigabytes. So each round first copies what it can on a
/// connection of its own, while requests go on, then copies the rest on the process's connection
/// during a turn, when requests wait. To keep that turn short (`catch_up`), the first copy is
/// followed by copies of what was written meanwhile, and the database file is flushed before the
/// turn: SQLite flushes it only after a copy that reached the end of the log, which under load is
/// only ever the copy in the turn, and that flush of every page copied since the last one took
/// 20 ms on a database of 1,000,000 tokens. On the blocking pool: checkpoints fsync. PASSIVE:
/// never waiting for another process.
pub(super) fn spawn_checkpointer(conn: Weak<Mutex<Option<Open>>>, own: Weak<Mutex<Option<Open>>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // The pool was dropped.
            let (Some(conn), Some(own)) = (conn.upgrade(), own.upgrade()) else {
                return;
            };
            if conn.try_lock().is_ok_and(|c| c.is_none()) {
                return; // closed
            }
            if let Err(e) = checkpoint_round(own, conn).await {
                tracing::warn!(error = %e, "SQLite checkpoint failed");
            }
        }
    });
}

/// One round of [`spawn_checkpointer`]: on `own` while requests go on, then the rest during a
/// turn of `conn`.
pub(super) async fn checkpoint_round(own: Slot, conn: Slot) -> Result<()> {
    let blocking = |e: tokio::task::JoinError| StoreError::Io(e.to_string());
    let own = own.lock_owned().await;
    let logged = tokio::task::spawn_blocking(move || match own.as_ref() {
        Some(own) => catch_up(own),
        None => Ok(0),
    })
    .await
    .map_err(blocking)??;
    if logged == 0 {
        return Ok(());
    }
    let turn = conn.lock_owned().await;
    tokio::task::spawn_blocking(move || match turn.as_ref() {
        Some(open) => checkpoint(&open.sqlite).map(|_| ()),
        None => Ok(()),
    })
    .await
    .map_err(blocking)??;
    Ok(())
}

/// The part of a checkpoint round done while requests go on: a copy of the log, then up to
/// [`CATCH_UP_ROUNDS`] times a flush of the database file and a copy of what was written
/// meanwhile. The frames in the log (0: nothing to finish).
fn catch_up(own: &Open) -> Result<i64> {
    let mut logged = checkpoint(&own.sqlite)?;
    if logged == 0 {
        return Ok(0);
    }
    for _ in 0..CATCH_UP_ROUNDS {
        // What was copied, flushed here rather than in the turn; then what was written meanwhile.
        if let Some(file) = &own.flush {
            file.sync_data()
                .map_err(|e| StoreError::Io(format!("flushing the database file: {e}")))?;
        }
        let now = checkpoint(&own.sqlite)?;
        // Less than before: the log was started over; not much more: nearly caught up.
        let written = now - logged;
        logged = now;
        if written < CAUGHT_UP_FRAMES {
            break;
        }
    }
    Ok(logged)
}

/// A PASSIVE checkpoint; the frames in the log (0 when it was started over: nothing to finish).
fn checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}
