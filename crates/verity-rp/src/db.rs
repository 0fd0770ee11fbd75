//! The app's tables: `verifications`, `raw_responses` (append-only) and `user_activity`, with
//! migrations in `migrations/sqlite` and `migrations/postgres` kept in step.

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyPoolOptions;
use verity_client::{Identity, RawResponse};

/// The app's database: SQLite (the embedded default) or PostgreSQL, through sqlx's `Any` driver;
/// the SQL is written once with `?` placeholders and numbered for PostgreSQL by [`Db::sql`].
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    postgres: bool,
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
    /// Opens (creating a SQLite file if missing) and migrates.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let url = if let Some(rest) = url.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or_default();
            if let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)?;
            }
            if rest.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            }
        } else if postgres {
            url.to_owned()
        } else {
            anyhow::bail!("verity rp supports sqlite:// and postgres:// database URLs");
        };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await?;
        if postgres {
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        } else {
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        }
        Ok(Db { pool, postgres })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The statement for this backend: `?` placeholders become `$1, $2, ...` on PostgreSQL.
    pub fn sql(&self, statement: &str) -> String {
        if !self.postgres {
            return statement.to_owned();
        }
        let mut out = String::with_capacity(statement.len() + 8);
        let mut n = 0;
        for c in statement.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Appends the raw bodies of one flow.
    pub async fn insert_raw_responses(
        &self,
        uuid: Option<&str>,
        responses: &[RawResponse],
    ) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        for r in responses {
            sqlx::query(&self.sql(                "INSERT INTO raw_responses (uuid, endpoint, status, content_type, body, received_at) \
                 VALUES (?, ?, ?, ?, ?, ?)"))
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
        sqlx::query(&self.sql(            "INSERT INTO verifications (uuid, issuer, groups, attributes, first_verified_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (uuid) DO UPDATE SET issuer = excluded.issuer, groups = excluded.groups, \
             attributes = excluded.attributes, updated_at = excluded.updated_at"))
        .bind(&identity.subject)
        .bind(issuer)
        .bind(serde_json::to_string(&identity.groups)?)
        .bind(serde_json::to_string(&identity.attributes)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for r in responses {
            sqlx::query(&self.sql(                "INSERT INTO raw_responses (uuid, endpoint, status, content_type, body, received_at) \
                 VALUES (?, ?, ?, ?, ?, ?)"))
            .bind(&identity.subject)
            .bind(r.endpoint)
            .bind(i64::from(r.status))
            .bind(&r.content_type)
            .bind(redact_bearer_tokens(r))
            .bind(r.received_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(&self.sql(
            "INSERT INTO user_activity (uuid, event, detail, at) VALUES (?, 'verified', ?, ?)",
        ))
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
        sqlx::query(
            &self.sql("INSERT INTO user_activity (uuid, event, detail, at) VALUES (?, ?, ?, ?)"),
        )
        .bind(uuid)
        .bind(event)
        .bind(detail)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn find_verification(&self, uuid: &str) -> anyhow::Result<Option<VerificationRow>> {
        let Some(row) = sqlx::query(&self.sql("SELECT * FROM verifications WHERE uuid = ?"))
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
