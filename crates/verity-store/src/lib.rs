//! Verity's persistence: [`Store`] over SQLite (the embedded default) or PostgreSQL, one module
//! per aggregate.
//!
//! Each method is one transaction and one business step. Verbs: `find_*` (an `Option`),
//! `insert_*`, `update_*`, `delete_*`, and `take_*` (atomically consume a single-use item with a
//! conditional `UPDATE ... RETURNING`, so that two racing redemptions cannot both succeed).
//!
//! - [`apps`]: organizations, apps and their secrets.
//! - [`users`]: accounts, attributes, verifications, TOTP.
//! - [`sessions`]: browser sessions, interactions in progress, remembered consent.
//! - [`codes`]: authorization codes: stored when issued, taken once, and the issuance of their
//!   tokens.
//! - [`tokens`]: access and refresh tokens.
//! - [`grants`]: [`codes`] and [`tokens`] under their former name (re-exports).
//! - [`keys`]: signing keys.
//! - [`console`]: members, invitations, app and secret management.
//! - [`lifecycle`]: refresh rotation, revocation, assertion replay, purge.
//! - [`mfa`]: TOTP enrolment and recovery codes.
//! - [`passkeys`]: registered passkeys and WebAuthn ceremonies between their two requests.
//! - [`throttle`]: failed-attempt counters.
//! - [`limits`]: the counters of the limits on what one address, account or organization may
//!   create or send.
//! - [`audit`]: the audit trail.
//! - [`releases`]: what each app received at each sign-in (attribute handles, never values).
//! - [`cases`]: verification cases (SPEC 12) and their sealed evidence.
//! - [`email_tokens`]: single-use links mailed for a password reset or an email confirmation,
//!   each taken once together with what it does.
//!
//! Beneath them, private:
//!
//! - `sql`: a statement and its arguments (`query`), rows (`FromRow`) and records (`Record`),
//!   written once for both backends; runs on PostgreSQL through sqlx.
//! - `exec`: how a method runs its statements: one on its own, or several in one transaction
//!   whose logic is synchronous, so that nothing awaits inside a transaction.
//! - `lite`: the SQLite driver (one connection, used on the calling thread); `lite::checkpoint`
//!   moves its write-ahead log into the database file in the background.
//! - `dialect`: every difference between the backends, and every PostgreSQL-only statement.
//! - `error`: [`StoreError`].
//! - `cache`: apps as last read.
//!
//! Modules depend one way: the aggregates on `dialect`, `sql`, `lite` and `error` (and on each
//! other without cycles: `codes` on `tokens` and `sessions`, `sessions` and `tokens` on `users`,
//! `console` on `apps`, `cases` on `users`); `dialect`, `exec` and `lite` on `sql`, and `exec`
//! on `dialect`; `sql` on `error`, which depends on nothing.

pub mod apps;
pub mod audit;
mod cache;
pub mod cases;
pub mod codes;
pub mod console;
mod dialect;
pub mod email_tokens;
pub mod erase;
mod error;
mod exec;
pub mod grants;
pub mod keys;
pub mod lifecycle;
pub mod limits;
mod lite;
pub mod mfa;
pub mod passkeys;
pub mod pushed;
pub mod releases;
pub mod roles;
pub mod sessions;
mod sql;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

pub use cache::{APP_CACHE_TTL, AppCache};
pub use error::{Result, StoreError};
pub use lite::LitePool;
use sql::query;

/// The database behind Verity: SQLite (the embedded default) or PostgreSQL (several nodes).
///
/// Every method is written once: its statements run through `Store::exec`, `fetch_opt`,
/// `fetch_all`, `write` and `write_after` (module `exec`), which run them on each backend's
/// native driver; the SQL is portable (numbered `$n` placeholders, which SQLite accepts too),
/// and what is not is in module `dialect`. Only the steps that are one statement on PostgreSQL
/// and a transaction on SQLite match on the backend themselves.
#[derive(Debug, Clone)]
pub enum Store {
    /// The connection, the lock file that stands in for advisory locks (`<database>.lock`; none
    /// for an in-memory database), and the apps as last read.
    Sqlite(LitePool, Option<Arc<Path>>, Arc<AppCache>),
    Postgres(PgPool, Arc<AppCache>),
}

/// The migrations of one backend. Migrations a newer version applied that this binary does not
/// know are tolerated (they only add), so that a node of the previous version can still restart
/// during a rolling upgrade.
fn migrator(postgres: bool) -> sqlx::migrate::Migrator {
    let mut m = if postgres {
        sqlx::migrate!("./migrations/postgres")
    } else {
        sqlx::migrate!("./migrations/sqlite")
    };
    m.set_ignore_missing(true);
    m
}

/// Pool sizing and waiting, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// What `/metrics` reports of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// Advisory-lock keys (PostgreSQL `pg_advisory_lock`), one per job that must run on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum JobLock {
    /// Migrations, seeding and the first keys at boot.
    Boot = 0x7665_7269_0001,
    /// Key rotation and purging.
    Maintenance = 0x7665_7269_0002,
}

impl Store {
    /// Opens the database at `url`: `sqlite://` (a file, created if missing) or `postgres://`.
    /// Does not migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PoolOptions::default()).await
    }

    pub async fn connect_with(url: &str, opts: PoolOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?;
            // sqlx names an in-memory database as if it were a file (`file:sqlx-in-memory-N`):
            // the URL says which it is.
            let file = (!sqlite_in_memory(url)).then(|| options.get_filename().to_path_buf());
            let lock_file = file
                .as_ref()
                .map(|f| Arc::from(PathBuf::from(format!("{}.lock", f.display())).as_path()));
            // Creating the file and switching it to WAL take turns across processes too.
            let creating = match &lock_file {
                Some(path) => lock_file_of(path, JobLock::Boot, true).await?,
                None => None,
            };
            let pool = LitePool::open(file, Duration::from_secs(10))?;
            drop(creating);
            Ok(Store::Sqlite(pool, lock_file, Arc::default()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?.application_name("verity");
            // Connections are made on first use and remade after a failure: once started, a node
            // rides out the database going away (503s, /readyz down) and recovers by itself.
            let pool = PgPoolOptions::new()
                // Two at least: boot holds one for its advisory lock while migrating on another.
                .max_connections(opts.max_connections.max(2))
                .min_connections(0)
                .acquire_timeout(opts.acquire_timeout)
                .test_before_acquire(false)
                .connect_lazy_with(options);
            Ok(Store::Postgres(pool, Arc::default()))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The apps as last read (see [`AppCache`]).
    pub(crate) fn apps(&self) -> &AppCache {
        match self {
            Store::Sqlite(_, _, cache) | Store::Postgres(_, cache) => cache,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(..) => "sqlite",
            Store::Postgres(..) => "postgres",
        }
    }

    /// Applies the embedded migrations (idempotent; on PostgreSQL, nodes booting together take
    /// turns under sqlx's migration lock).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite(pool, ..) => {
                // sqlx's migrator, on a connection of its own to the same database.
                let options = SqliteConnectOptions::from_str(&pool.sqlx_url())?;
                let migrating = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?;
                let done = migrator(false).run(&migrating).await;
                migrating.close().await;
                done?
            }
            Store::Postgres(pool, _) => migrator(true).run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.exec(query("SELECT 1")).await?;
        Ok(())
    }

    /// SQLite: copies the write-ahead log into the database file now, so that the next write
    /// starts the log over (done every 200 ms in the background). PostgreSQL: nothing.
    pub async fn checkpoint(&self) -> Result<()> {
        match self {
            Store::Sqlite(pool, ..) => pool.checkpoint().await,
            Store::Postgres(..) => Ok(()),
        }
    }

    pub fn pool_use(&self) -> PoolUse {
        match self {
            Store::Sqlite(pool, ..) => {
                let (size, idle, max) = pool.usage();
                PoolUse { size, idle, max }
            }
            Store::Postgres(pool, _) => PoolUse {
                size: pool.size(),
                idle: pool.num_idle() as u32,
                max: pool.options().get_max_connections(),
            },
        }
    }

    /// Runs `job` while holding the cluster-wide lock `lock`, waiting for it (boot steps).
    /// On SQLite, processes sharing the file take turns on an exclusive lock of `<file>.lock`.
    pub async fn with_lock<T, E, F>(&self, lock: JobLock, job: F) -> std::result::Result<T, E>
    where
        F: std::future::Future<Output = std::result::Result<T, E>>,
        E: From<StoreError>,
    {
        // Waiting, the lock is always taken.
        let held = self.take_lock(lock, true).await?;
        let out = job.await;
        if let Some(held) = held {
            held.release().await;
        }
        out
    }

    /// Runs `job` only if no other node holds `lock` right now (periodic jobs); `None` when
    /// another node is running it.
    pub async fn try_with_lock<T, E, F>(
        &self,
        lock: JobLock,
        job: F,
    ) -> std::result::Result<Option<T>, E>
    where
        F: std::future::Future<Output = std::result::Result<T, E>>,
        E: From<StoreError>,
    {
        let Some(held) = self.take_lock(lock, false).await? else {
            return Ok(None);
        };
        let out = job.await;
        held.release().await;
        out.map(Some)
    }

    /// Takes `lock` (waiting for it when `wait`); `None` when it is held elsewhere.
    async fn take_lock(&self, lock: JobLock, wait: bool) -> Result<Option<Held>> {
        match self {
            Store::Sqlite(_, None, _) => Ok(Some(Held::Unneeded)),
            Store::Sqlite(_, Some(path), _) => {
                Ok(lock_file_of(path, lock, wait).await?.map(Held::File))
            }
            Store::Postgres(pool, _) => {
                // A session-level lock on a connection of its own, held while the job uses the
                // pool; if this process dies, the connection closes and the lock is released.
                let mut conn = pool.acquire().await?;
                let taken = if wait {
                    sqlx::query(dialect::JOB_LOCK)
                        .bind(lock as i64)
                        .execute(&mut *conn)
                        .await?;
                    true
                } else {
                    sqlx::query_scalar(dialect::JOB_TRY_LOCK)
                        .bind(lock as i64)
                        .fetch_one(&mut *conn)
                        .await?
                };
                Ok(taken.then_some(Held::Advisory(conn, lock)))
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool, ..) => pool.close().await,
            Store::Postgres(pool, _) => pool.close().await,
        }
    }
}

/// A taken [`JobLock`], given back by [`Held::release`] (or by the process ending).
enum Held {
    /// One SQLite database in memory: no other process can share it.
    Unneeded,
    /// Held while the file is open: closing it (dropping this) unlocks.
    File(#[allow(dead_code)] std::fs::File),
    Advisory(sqlx::pool::PoolConnection<Postgres>, JobLock),
}

impl Held {
    async fn release(self) {
        if let Held::Advisory(mut conn, lock) = self {
            let unlocked = sqlx::query(dialect::JOB_UNLOCK)
                .bind(lock as i64)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // The connection is in doubt: drop it rather than return it with the lock.
                conn.detach();
            }
        }
        // A lock file is unlocked when it is closed, here.
    }
}

/// Takes the exclusive lock `lock` on the SQLite lock file (one byte range per job is not
/// portable: one file per job instead): waiting when `wait`, else `None` if it is taken. The lock
/// goes with the returned file (also when the process dies).
async fn lock_file_of(path: &Path, lock: JobLock, wait: bool) -> Result<Option<std::fs::File>> {
    let path = PathBuf::from(format!("{}.{}", path.display(), lock as i64));
    let io = |e: std::io::Error| StoreError::Database(sqlx::Error::Io(e));
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        if wait {
            file.lock().map_err(io)?;
            Ok(Some(file))
        } else {
            match file.try_lock() {
                Ok(()) => Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
            }
        }
    })
    .await
    .map_err(|e| StoreError::Database(sqlx::Error::Io(std::io::Error::other(e))))?
}

/// Whether a `sqlite:` URL names a private in-memory database (`sqlite::memory:`, or a path with
/// `mode=memory`).
fn sqlite_in_memory(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory")
}
