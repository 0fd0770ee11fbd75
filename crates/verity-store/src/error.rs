//! [`StoreError`], and how each driver's errors map to it.

/// What a store method can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("SQLite error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("the database is closed")]
    Closed,
    #[error("I/O error: {0}")]
    Io(String),
    /// Text the database cannot hold (PostgreSQL refuses NUL characters): the input was bad.
    #[error("text with a NUL character")]
    InvalidText,
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("unsupported database URL (expected sqlite://... or postgres://...)")]
    UnsupportedUrl,
    #[error("already exists")]
    Conflict,
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    /// The database could not be reached (as opposed to a query failing): answer 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e)
            | StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => pg_unavailable(e),
            StoreError::Sqlite(e) => sqlite_unavailable(e),
            StoreError::Closed | StoreError::Io(_) => true,
            _ => false,
        }
    }

    pub(crate) fn corrupt(e: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // character_not_in_repertoire, untranslatable_character: a NUL in a bound string.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05")) =>
            {
                StoreError::InvalidText
            }
            _ => StoreError::Database(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

fn pg_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08), operator intervention such as a shutdown (57P),
        // insufficient resources (53), and a server that is still starting (57P03).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c.starts_with("53")),
        _ => false,
    }
}

/// SQLite errors that mean the database cannot be used right now (busy past the timeout, a
/// full disk, an unreadable file), as opposed to a statement failing.
fn sqlite_unavailable(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    e.sqlite_error_code().is_some_and(|c| {
        matches!(
            c,
            DatabaseBusy | DatabaseLocked | SystemIoFailure | DiskFull | CannotOpen | OutOfMemory
        )
    })
}

/// Maps a UNIQUE / PRIMARY KEY violation to [`StoreError::Conflict`].
pub(crate) fn conflict_or(e: StoreError) -> StoreError {
    let unique = match &e {
        StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        ),
        _ => false,
    };
    if unique { StoreError::Conflict } else { e }
}
