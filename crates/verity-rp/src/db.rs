//! The app's tables (migrations in `migrations/sqlite`): `verifications`, `raw_responses`
//! (append-only), `user_activity`.

use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use verity_client::{Identity, RawResponse};

#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
}

/// A stored verification.
#[derive(Debug, Clone)]
pub struct VerificationRow {
    pub uuid: String,
    pub issuer: String,
    pub identity: Identity,
    pub first_verified_at: i64,
    pub updated_at: i64,
}

impl Db {
    /// Opens (creating the file if missing) and migrates.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if !url.starts_with("sqlite:") {
            anyhow::bail!("verity rp supports sqlite:// database URLs only");
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Db { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Appends the raw bodies of one flow.
    pub async fn insert_raw_responses(
        &self,
        uuid: Option<&str>,
        responses: &[RawResponse],
    ) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        for r in responses {
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
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// One business step: the verification row inserted or updated, its raw bodies and the
    /// activity, in one transaction.
    pub async fn record_verification(
        &self,
        issuer: &str,
        identity: &Identity,
        responses: &[RawResponse],
        now: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO verifications (uuid, issuer, groups, attributes, first_verified_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (uuid) DO UPDATE SET issuer = excluded.issuer, groups = excluded.groups, \
             attributes = excluded.attributes, updated_at = excluded.updated_at",
        )
        .bind(&identity.subject)
        .bind(issuer)
        .bind(serde_json::to_string(&identity.groups)?)
        .bind(serde_json::to_string(&identity.attributes)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for r in responses {
            sqlx::query(
                "INSERT INTO raw_responses (uuid, endpoint, status, content_type, body, received_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&identity.subject)
            .bind(r.endpoint)
            .bind(i64::from(r.status))
            .bind(&r.content_type)
            .bind(redact_bearer_tokens(r))
            .bind(r.received_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO user_activity (uuid, event, detail, at) VALUES (?, 'verified', ?, ?)",
        )
        .bind(&identity.subject)
        .bind(issuer)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn insert_activity(
        &self,
        uuid: &str,
        event: &str,
        detail: Option<&str>,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO user_activity (uuid, event, detail, at) VALUES (?, ?, ?, ?)")
            .bind(uuid)
            .bind(event)
            .bind(detail)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn find_verification(&self, uuid: &str) -> anyhow::Result<Option<VerificationRow>> {
        let Some(row) = sqlx::query("SELECT * FROM verifications WHERE uuid = ?")
            .bind(uuid)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let uuid: String = row.try_get("uuid")?;
        let groups: String = row.try_get("groups")?;
        let attributes: String = row.try_get("attributes")?;
        Ok(Some(VerificationRow {
            identity: Identity {
                subject: uuid.clone(),
                attributes: serde_json::from_str(&attributes)?,
                groups: serde_json::from_str(&groups)?,
            },
            uuid,
            issuer: row.try_get("issuer")?,
            first_verified_at: row.try_get("first_verified_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
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
