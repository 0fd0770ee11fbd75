//! The app's statements for SQLite (`?` placeholders); [`super::postgres`] holds the same ones
//! for PostgreSQL.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{SqliteExecutor, SqlitePool};
use verity_client::RawResponse;

use super::{MAX_CONNECTIONS, SavedProfileRecord, VerificationRecord, redact_bearer_tokens};

/// Opens `sqlite://FILE` (creating the file and its directory if missing) and migrates.
pub(super) async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
    let rest = url.strip_prefix("sqlite://").unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = SqliteConnectOptions::from_str(url)?;
    // A URL with options of its own (`?mode=ro`) is taken as written.
    if query.is_empty() {
        options = options.create_if_missing(true);
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// Appends the raw bodies of one flow, in one transaction.
pub(super) async fn insert_raw_responses(
    pool: &SqlitePool,
    uuid: Option<&str>,
    responses: &[RawResponse],
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for r in responses {
        insert_raw_response(&mut *tx, uuid, r).await?;
    }
    tx.commit().await
}

/// The verification row inserted or updated (keeping `first_verified_at`), its raw bodies and
/// a `verified` activity, in one transaction.
pub(super) async fn record_verification(
    pool: &SqlitePool,
    record: &VerificationRecord,
    responses: &[RawResponse],
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO verifications \
         (uuid, issuer, groups, attributes, verified_claims, first_verified_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (uuid) DO UPDATE SET issuer = excluded.issuer, groups = excluded.groups, \
         attributes = excluded.attributes, verified_claims = excluded.verified_claims, \
         updated_at = excluded.updated_at",
    )
    .bind(&record.uuid)
    .bind(&record.issuer)
    .bind(&record.groups)
    .bind(&record.attributes)
    .bind(&record.verified_claims)
    .bind(record.first_verified_at)
    .bind(record.updated_at)
    .execute(&mut *tx)
    .await?;
    for r in responses {
        insert_raw_response(&mut *tx, Some(&record.uuid), r).await?;
    }
    insert_activity(
        &mut *tx,
        &record.uuid,
        "verified",
        Some(record.issuer.as_str()),
        record.updated_at,
    )
    .await?;
    tx.commit().await
}

/// Appends one body received from the provider, bearer tokens redacted.
async fn insert_raw_response(
    db: impl SqliteExecutor<'_>,
    uuid: Option<&str>,
    r: &RawResponse,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO raw_responses (uuid, endpoint, status, content_type, body, received_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid)
    .bind(r.endpoint)
    .bind(i64::from(r.status))
    .bind(&r.content_type)
    .bind(redact_bearer_tokens(r))
    .bind(r.received_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Appends one of the app's own events about a person.
pub(super) async fn insert_activity(
    db: impl SqliteExecutor<'_>,
    uuid: &str,
    event: &str,
    detail: Option<&str>,
    at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO user_activity (uuid, event, detail, at) VALUES (?, ?, ?, ?)")
        .bind(uuid)
        .bind(event)
        .bind(detail)
        .bind(at)
        .execute(db)
        .await?;
    Ok(())
}

/// The verification of `uuid`, if they were ever verified.
pub(super) async fn find_verification(
    pool: &SqlitePool,
    uuid: &str,
) -> sqlx::Result<Option<VerificationRecord>> {
    sqlx::query_as(
        "SELECT uuid, issuer, groups, attributes, verified_claims, first_verified_at, updated_at \
         FROM verifications WHERE uuid = ?",
    )
    .bind(uuid)
    .fetch_optional(pool)
    .await
}

/// What the person saved replaces their previous save, with a `profile_saved` activity, in one
/// transaction.
pub(super) async fn save_profile(
    pool: &SqlitePool,
    uuid: &str,
    fields: &str,
    detail: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO saved_profiles (uuid, fields, saved_at) VALUES (?, ?, ?) \
         ON CONFLICT (uuid) DO UPDATE SET fields = excluded.fields, saved_at = excluded.saved_at",
    )
    .bind(uuid)
    .bind(fields)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    insert_activity(&mut *tx, uuid, "profile_saved", detail, now).await?;
    tx.commit().await
}

/// What `uuid` saved on the profile form, if anything.
pub(super) async fn find_saved_profile(
    pool: &SqlitePool,
    uuid: &str,
) -> sqlx::Result<Option<SavedProfileRecord>> {
    sqlx::query_as("SELECT fields, saved_at FROM saved_profiles WHERE uuid = ?")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::connect;

    #[tokio::test]
    async fn a_plain_url_creates_the_file_and_one_with_options_is_taken_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| format!("sqlite://{}", dir.path().join(name).display());

        connect(&at("new/rp.db")).await.unwrap().close().await;
        assert!(
            dir.path().join("new/rp.db").exists(),
            "file and directory made"
        );
        connect(&format!("{}?mode=rwc", at("rwc.db")))
            .await
            .unwrap()
            .close()
            .await;
        assert!(dir.path().join("rwc.db").exists(), "mode=rwc creates");
        assert!(
            connect(&format!("{}?mode=rw", at("absent.db")))
                .await
                .is_err(),
            "mode=rw does not create"
        );
    }
}
