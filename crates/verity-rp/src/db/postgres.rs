//! The app's statements for PostgreSQL (`$1, $2, ...` placeholders); [`super::sqlite`] holds the
//! same ones for SQLite.

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgExecutor, PgPool};
use verity_client::RawResponse;

use super::{MAX_CONNECTIONS, SavedProfileRecord, VerificationRecord, redact_bearer_tokens};

/// Opens `postgres://...` and migrates.
pub(super) async fn connect(url: &str) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect(url)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// Appends the raw bodies of one flow, in one transaction.
pub(super) async fn insert_raw_responses(
    pool: &PgPool,
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
    pool: &PgPool,
    record: &VerificationRecord,
    responses: &[RawResponse],
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO verifications \
         (uuid, issuer, groups, attributes, verified_claims, first_verified_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
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
    db: impl PgExecutor<'_>,
    uuid: Option<&str>,
    r: &RawResponse,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO raw_responses (uuid, endpoint, status, content_type, body, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
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
    db: impl PgExecutor<'_>,
    uuid: &str,
    event: &str,
    detail: Option<&str>,
    at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO user_activity (uuid, event, detail, at) VALUES ($1, $2, $3, $4)")
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
    pool: &PgPool,
    uuid: &str,
) -> sqlx::Result<Option<VerificationRecord>> {
    sqlx::query_as(
        "SELECT uuid, issuer, groups, attributes, verified_claims, first_verified_at, updated_at \
         FROM verifications WHERE uuid = $1",
    )
    .bind(uuid)
    .fetch_optional(pool)
    .await
}

/// What the person saved replaces their previous save, with a `profile_saved` activity, in one
/// transaction.
pub(super) async fn save_profile(
    pool: &PgPool,
    uuid: &str,
    fields: &str,
    detail: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO saved_profiles (uuid, fields, saved_at) VALUES ($1, $2, $3) \
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
    pool: &PgPool,
    uuid: &str,
) -> sqlx::Result<Option<SavedProfileRecord>> {
    sqlx::query_as("SELECT fields, saved_at FROM saved_profiles WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}
