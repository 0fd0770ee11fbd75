//! Verity's persistence: [`Store`] over SQLite (the embedded default), one module per aggregate.
//!
//! Each method is one transaction and one business step. Verbs: `find_*` (an `Option`),
//! `insert_*`, `update_*`, `delete_*`, and `take_*` (atomically consume a single-use item with a
//! conditional `UPDATE ... RETURNING`, so that two racing redemptions cannot both succeed).
//!
//! - [`apps`]: organizations, apps and their secrets.
//! - [`users`]: accounts, attributes, verifications, TOTP.
//! - [`sessions`]: browser sessions, interactions in progress, remembered consent.
//! - [`grants`]: authorization codes and tokens.
//! - [`keys`]: signing keys.
//! - [`console`]: members, invitations, app and secret management.
//! - [`lifecycle`]: refresh rotation, revocation, assertion replay, purge.
//! - [`mfa`]: TOTP enrolment and recovery codes.
//! - [`throttle`]: failed-attempt counters.
//! - [`audit`]: the audit trail.

pub mod apps;
pub mod audit;
pub mod console;
pub mod grants;
pub mod keys;
pub mod lifecycle;
pub mod mfa;
pub mod sessions;
pub mod throttle;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("unsupported database URL (expected sqlite://...)")]
    UnsupportedUrl,
    #[error("already exists")]
    Conflict,
}

impl StoreError {
    /// The database could not be reached (as opposed to a query failing): answer 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            )
        )
    }

    fn corrupt(e: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The database behind Verity. PostgreSQL joins SQLite as a second variant.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Opens the database at `url`, creating a SQLite file if missing. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL: readers never block the writer. NORMAL sync in WAL mode keeps every
                // committed transaction across a process crash (a power cut may lose the last few).
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .min_connections(1)
                .connect_with(options)
                .await?;
            Ok(Store::Sqlite(pool))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        match self {
            Store::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
        }
    }
}

/// JSON text column to a value.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain data (strings, vectors, maps) cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Maps a UNIQUE / PRIMARY KEY violation to [`StoreError::Conflict`].
fn conflict_or(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(e),
    }
}
