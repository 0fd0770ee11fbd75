//! The audit trail: one row per security-relevant event. Callers never pass secrets or tokens.

use crate::Store;
use crate::error::Result;
use crate::sql::{insert, query, storable, stored};

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

stored!(AuditEvent => "audit_events" {
    at, event, uuid, client_id, address, request_id, detail [json],
});

impl Store {
    /// Deletes audit rows written before `cutoff`, at most `batch` of them (the oldest); how
    /// many. The maintenance task calls it each run, so a first purge of a large backlog is
    /// spread over runs instead of one long transaction.
    ///
    /// Rows are taken in id order up to the first one written at or after `cutoff`, on the
    /// primary key alone (no index on `at`: one page fewer per audit row). Ids follow the order
    /// rows were written, and their times follow it but for requests that overlapped (or nodes'
    /// clocks); a row that is older than one written before it waits for that one's purge.
    pub async fn purge_audit(&self, cutoff: i64, batch: i64) -> Result<u64> {
        let q = query(
            "DELETE FROM audit_events WHERE id IN
               (SELECT id FROM audit_events
                 WHERE id < COALESCE(
                   (SELECT id FROM audit_events WHERE at >= $1 ORDER BY id LIMIT 1),
                   9223372036854775807)
                 ORDER BY id LIMIT $2)",
        );
        self.exec(q.bind(cutoff).bind(batch)).await
    }

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
