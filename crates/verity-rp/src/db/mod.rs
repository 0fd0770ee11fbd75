//! The app's tables: `verifications`, `raw_responses` (append-only), `user_activity` and
//! `saved_profiles` (what the person typed, beside the verified values), with migrations in `migrations/sqlite` and `migrations/postgres` kept in step.
//!
//! [`Db`] picks the backend from the URL and hands each business step to that backend's module:
//!
//! - [`sqlite`]: the statements for SQLite (`?` placeholders), the embedded default.
//! - [`postgres`]: the same statements for PostgreSQL (`$1, $2, ...`).
//!
//! An app on one database keeps that module and drops the other.

mod postgres;
mod sqlite;

use std::collections::BTreeMap;

use sqlx::{PgPool, SqlitePool};
use verity_client::{Identity, RawResponse, VerifiedClaims};

/// How many connections the app keeps open to its database.
const MAX_CONNECTIONS: u32 = 4;

/// The app's database: SQLite (the embedded default) or PostgreSQL.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
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
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Db::Postgres(postgres::connect(url).await?))
        } else if url.starts_with("sqlite://") {
            Ok(Db::Sqlite(sqlite::connect(url).await?))
        } else {
            anyhow::bail!("verity rp supports sqlite:// and postgres:// database URLs");
        }
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Appends the raw bodies of one flow.
    pub async fn insert_raw_responses(
        &self,
        uuid: Option<&str>,
        responses: &[RawResponse],
    ) -> sqlx::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlite::insert_raw_responses(pool, uuid, responses).await,
            Db::Postgres(pool) => postgres::insert_raw_responses(pool, uuid, responses).await,
        }
    }

    /// One business step: the verification row inserted or updated (with the `verified_claims`
    /// kept, replacing the previous sign-in's), its raw bodies and the activity, in one
    /// transaction.
    pub async fn record_verification(
        &self,
        issuer: &str,
        identity: &Identity,
        verified_claims: &[VerifiedClaims],
        responses: &[RawResponse],
        now: i64,
    ) -> anyhow::Result<()> {
        let record = VerificationRecord::new(issuer, identity, verified_claims, now)?;
        match self {
            Db::Sqlite(pool) => sqlite::record_verification(pool, &record, responses).await?,
            Db::Postgres(pool) => postgres::record_verification(pool, &record, responses).await?,
        }
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
        match self {
            Db::Sqlite(pool) => sqlite::insert_activity(pool, uuid, event, detail, now).await,
            Db::Postgres(pool) => postgres::insert_activity(pool, uuid, event, detail, now).await,
        }
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
        match self {
            Db::Sqlite(pool) => {
                sqlite::save_profile(pool, uuid, &fields, detail.as_deref(), now).await?
            }
            Db::Postgres(pool) => {
                postgres::save_profile(pool, uuid, &fields, detail.as_deref(), now).await?
            }
        }
        Ok(())
    }

    /// What `uuid` saved on the profile form, if they ever saved it.
    pub async fn find_saved_profile(&self, uuid: &str) -> anyhow::Result<Option<SavedProfile>> {
        let record = match self {
            Db::Sqlite(pool) => sqlite::find_saved_profile(pool, uuid).await?,
            Db::Postgres(pool) => postgres::find_saved_profile(pool, uuid).await?,
        };
        Ok(record.map(SavedProfileRecord::into_saved).transpose()?)
    }

    /// The stored verification of `uuid`, if they were ever verified.
    pub async fn find_verification(&self, uuid: &str) -> anyhow::Result<Option<VerificationRow>> {
        let record = match self {
            Db::Sqlite(pool) => sqlite::find_verification(pool, uuid).await?,
            Db::Postgres(pool) => postgres::find_verification(pool, uuid).await?,
        };
        Ok(record.map(VerificationRecord::into_row).transpose()?)
    }
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
