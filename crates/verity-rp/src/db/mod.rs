//! The app's tables: `verifications`, `raw_responses` (append-only), `user_activity` and
//! `saved_profiles` (what the person typed, beside the verified values), with migrations in `migrations/sqlite` and `migrations/postgres` kept in step.
//!
//! One piece of code for SQLite (the embedded default) and PostgreSQL: [`Db`] holds a pool of
//! sqlx's `Any` driver, and every statement is written once, with `$1, $2, ...` placeholders,
//! which both backends read. Only opening differs (the SQLite file is created if missing, and
//! each backend has its own migrations).

use std::collections::BTreeMap;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyExecutor, AnyPool};
use verity_client::{Identity, RawResponse, VerifiedClaims};

/// How many connections the app keeps open to its database.
const MAX_CONNECTIONS: u32 = 4;

/// The app's database: SQLite (the embedded default) or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
}

/// A stored verification.
#[derive(Debug, Clone)]
pub struct VerificationRow {
    pub uuid: String,
    pub issuer: String,
    pub identity: Identity,
    /// The `verified_claims` kept at the latest sign-in (empty when none were asked or shared).
    pub verified_claims: Vec<VerifiedClaims>,
    pub first_verified_at: i64,
    pub updated_at: i64,
}

/// A `verifications` row as the database holds it: groups, attributes and verified claims as
/// JSON text.
#[derive(Debug, sqlx::FromRow)]
struct VerificationRecord {
    uuid: String,
    issuer: String,
    groups: String,
    attributes: String,
    verified_claims: Option<String>,
    first_verified_at: i64,
    updated_at: i64,
}

impl VerificationRecord {
    /// The row for a person verified at `now` (`first_verified_at` is kept if they were
    /// verified before).
    fn new(
        issuer: &str,
        identity: &Identity,
        verified_claims: &[VerifiedClaims],
        now: i64,
    ) -> serde_json::Result<Self> {
        Ok(VerificationRecord {
            uuid: identity.subject.clone(),
            issuer: issuer.to_owned(),
            groups: serde_json::to_string(&identity.groups)?,
            attributes: serde_json::to_string(&identity.attributes)?,
            verified_claims: if verified_claims.is_empty() {
                None
            } else {
                Some(serde_json::to_string(verified_claims)?)
            },
            first_verified_at: now,
            updated_at: now,
        })
    }

    fn into_row(self) -> serde_json::Result<VerificationRow> {
        Ok(VerificationRow {
            identity: Identity {
                subject: self.uuid.clone(),
                attributes: serde_json::from_str(&self.attributes)?,
                groups: serde_json::from_str(&self.groups)?,
            },
            verified_claims: match &self.verified_claims {
                Some(text) => serde_json::from_str(text)?,
                None => Vec::new(),
            },
            uuid: self.uuid,
            issuer: self.issuer,
            first_verified_at: self.first_verified_at,
            updated_at: self.updated_at,
        })
    }
}

/// What the person saved on the profile form, kept beside the verified values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedProfile {
    /// The typed text by handle, only for fields that differ from the verified value.
    pub fields: BTreeMap<String, String>,
    /// The latest save.
    pub saved_at: i64,
}

/// A `saved_profiles` row as the database holds it: the fields as JSON text.
#[derive(Debug, sqlx::FromRow)]
struct SavedProfileRecord {
    fields: String,
    saved_at: i64,
}

impl SavedProfileRecord {
    fn into_saved(self) -> serde_json::Result<SavedProfile> {
        Ok(SavedProfile {
            fields: serde_json::from_str(&self.fields)?,
            saved_at: self.saved_at,
        })
    }
}

impl Db {
    /// Opens (creating a SQLite file if missing) and migrates.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        install_default_drivers();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let url = if postgres {
            url.to_owned()
        } else if url.starts_with("sqlite://") {
            sqlite_url(url)?
        } else {
            anyhow::bail!("verity rp supports sqlite:// and postgres:// database URLs");
        };
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect(&url)
            .await?;
        if postgres {
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        } else {
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        }
        Ok(Db { pool })
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Appends the raw bodies of one flow, in one transaction.
    pub async fn insert_raw_responses(
        &self,
        uuid: Option<&str>,
        responses: &[RawResponse],
    ) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        for r in responses {
            insert_raw_response(&mut *tx, uuid, r).await?;
        }
        tx.commit().await
    }

    /// One business step: the verification row inserted or updated (keeping
    /// `first_verified_at`, and with the `verified_claims` kept, replacing the previous
    /// sign-in's), its raw bodies and a `verified` activity, in one transaction.
    pub async fn record_verification(
        &self,
        issuer: &str,
        identity: &Identity,
        verified_claims: &[VerifiedClaims],
        responses: &[RawResponse],
        now: i64,
    ) -> anyhow::Result<()> {
        let record = VerificationRecord::new(issuer, identity, verified_claims, now)?;
        let mut tx = self.pool.begin().await?;
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
        insert_activity(&mut *tx, &record.uuid, "verified", Some(issuer), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends one of the app's own events about a person.
    pub async fn insert_activity(
        &self,
        uuid: &str,
        event: &str,
        detail: Option<&str>,
        now: i64,
    ) -> sqlx::Result<()> {
        insert_activity(&self.pool, uuid, event, detail, now).await
    }

    /// One business step: what the person saved replaces their previous save (the verified
    /// values and raw bodies are not touched), and a `profile_saved` activity naming the fields
    /// that changed (`changed`), in one transaction.
    pub async fn save_profile(
        &self,
        uuid: &str,
        fields: &BTreeMap<String, String>,
        changed: &[&str],
        now: i64,
    ) -> anyhow::Result<()> {
        let fields = serde_json::to_string(fields)?;
        let detail = (!changed.is_empty()).then(|| changed.join(" "));
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO saved_profiles (uuid, fields, saved_at) VALUES ($1, $2, $3) \
             ON CONFLICT (uuid) DO UPDATE SET fields = excluded.fields, saved_at = excluded.saved_at",
        )
        .bind(uuid)
        .bind(&fields)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_activity(&mut *tx, uuid, "profile_saved", detail.as_deref(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What `uuid` saved on the profile form, if they ever saved it.
    pub async fn find_saved_profile(&self, uuid: &str) -> anyhow::Result<Option<SavedProfile>> {
        let record: Option<SavedProfileRecord> =
            sqlx::query_as("SELECT fields, saved_at FROM saved_profiles WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(&self.pool)
                .await?;
        Ok(record.map(SavedProfileRecord::into_saved).transpose()?)
    }

    /// The stored verification of `uuid`, if they were ever verified.
    pub async fn find_verification(&self, uuid: &str) -> anyhow::Result<Option<VerificationRow>> {
        let record: Option<VerificationRecord> = sqlx::query_as(
            "SELECT uuid, issuer, groups, attributes, verified_claims, first_verified_at, \
             updated_at FROM verifications WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(record.map(VerificationRecord::into_row).transpose()?)
    }
}

/// `sqlite://FILE` as given, its directory made if missing; a URL without options of its own
/// (`?mode=ro`, taken as written) also creates the file (`mode=rwc`).
fn sqlite_url(url: &str) -> std::io::Result<String> {
    let rest = url.strip_prefix("sqlite://").unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    Ok(if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        url.to_owned()
    })
}

/// Appends one body received from the provider, bearer tokens redacted.
async fn insert_raw_response(
    db: impl AnyExecutor<'_>,
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
async fn insert_activity(
    db: impl AnyExecutor<'_>,
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

/// Token answers carry live bearer tokens; the audit copy keeps everything else (the signed ID
/// token included) and replaces them.
fn redact_bearer_tokens(r: &RawResponse) -> String {
    if r.endpoint != "token" {
        return r.body.clone();
    }
    match serde_json::from_str::<serde_json::Value>(&r.body) {
        Ok(serde_json::Value::Object(mut m)) => {
            for k in ["access_token", "refresh_token"] {
                if m.contains_key(k) {
                    m.insert(k.into(), "[redacted]".into());
                }
            }
            serde_json::Value::Object(m).to_string()
        }
        _ => r.body.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::Db;

    #[tokio::test]
    async fn a_plain_url_creates_the_file_and_one_with_options_is_taken_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| format!("sqlite://{}", dir.path().join(name).display());

        Db::open(&at("new/rp.db")).await.unwrap().close().await;
        assert!(
            dir.path().join("new/rp.db").exists(),
            "file and directory made"
        );
        Db::open(&format!("{}?mode=rwc", at("rwc.db")))
            .await
            .unwrap()
            .close()
            .await;
        assert!(dir.path().join("rwc.db").exists(), "mode=rwc creates");
        assert!(
            Db::open(&format!("{}?mode=rw", at("absent.db")))
                .await
                .is_err(),
            "mode=rw does not create"
        );
    }
}
