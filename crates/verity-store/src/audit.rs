//! The audit trail: one row per security-relevant event. Callers never pass secrets or tokens.

use crate::Store;
use crate::error::Result;
use crate::sql::{Fields, FromRow, Record, Value, from_json, insert, query, storable, to_json};

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: i64,
    /// A dotted name: `signin.success`, `signin.failure`, `mfa.success`, `consent.granted`,
    /// `token.issued`, `token.refreshed`, `token.revoked`, `code.replayed`, `refresh.reused`,
    /// `key.rotated`, ...
    pub event: String,
    pub uuid: Option<String>,
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
}

impl Record for AuditEvent {
    const TABLE: &'static str = "audit_events";
    fn fields(&self) -> Vec<(&'static str, Value<'_>)> {
        vec![
            ("at", self.at.into()),
            ("event", (&self.event).into()),
            ("uuid", (&self.uuid).into()),
            ("client_id", (&self.client_id).into()),
            ("address", (&self.address).into()),
            ("request_id", (&self.request_id).into()),
            ("detail", to_json(&self.detail).into()),
        ]
    }
}

impl FromRow for AuditEvent {
    fn from_row(r: &impl Fields) -> Result<Self> {
        let detail: String = r.col("detail")?;
        Ok(AuditEvent {
            at: r.col("at")?,
            event: r.col("event")?,
            uuid: r.col("uuid")?,
            client_id: r.col("client_id")?,
            address: r.col("address")?,
            request_id: r.col("request_id")?,
            detail: from_json(&detail)?,
        })
    }
}

impl Store {
    pub async fn insert_audit(&self, e: &AuditEvent) -> Result<()> {
        self.exec(insert(e)).await?;
        Ok(())
    }

    /// Events, newest first, optionally of one app or one user.
    pub async fn find_audit(
        &self,
        client_id: Option<&str>,
        uuid: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        if !client_id.is_none_or(storable) || !uuid.is_none_or(storable) {
            return Ok(Vec::new());
        }
        let q = query(
            "SELECT * FROM audit_events
             WHERE (CAST($1 AS TEXT) IS NULL OR client_id = $1)
               AND (CAST($2 AS TEXT) IS NULL OR uuid = $2)
             ORDER BY id DESC LIMIT $3",
        );
        self.fetch_all(q.bind(client_id).bind(uuid).bind(limit))
            .await
    }
}
