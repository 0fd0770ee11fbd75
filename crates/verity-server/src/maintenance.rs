//! Periodic work as one step, [`run_once`], that a background task calls every
//! `maintenance_interval` seconds and tests call directly (no sleeping in tests): purge what has
//! expired, rotate signing keys when automatic rotation is due, and reload the keys (a rotation
//! made by `verity keys rotate` or on another node becomes visible here).
//!
//! With several nodes, the purge and the rotation run on one node at a time (a PostgreSQL
//! advisory lock; a node that finds it taken skips them this round); every node reloads keys.

use std::time::Duration;

use verity_store::JobLock;
use verity_store::lifecycle::Purged;

use crate::audit::AuditEvent;
use crate::state::AppState;

/// Tokens are kept this long past expiry, so a late replay is recognised as one.
pub const PURGE_GRACE: i64 = 3600;

/// Audit rows deleted per maintenance run at most (a backlog goes over several runs).
pub const AUDIT_PURGE_BATCH: i64 = 10_000;

#[derive(Debug, Default)]
pub struct Report {
    pub purged: Purged,
    pub rotated: Vec<String>,
    /// Verifications whose lifetime ended, now expired.
    pub verifications_expired: u64,
    /// Decided cases whose files were deleted after the retention period.
    pub evidence_purged: u64,
    /// Audit rows older than `VERITY_AUDIT_RETENTION_DAYS`, deleted.
    pub audit_purged: u64,
    /// Another node held the maintenance lock: this node only reloaded keys.
    pub skipped: bool,
}

pub async fn run_once(state: &AppState) -> anyhow::Result<Report> {
    let report = state
        .store
        .try_with_lock(JobLock::Maintenance, cluster_jobs(state))
        .await?;
    state.reload_keys().await?;
    Ok(report.unwrap_or(Report {
        skipped: true,
        ..Report::default()
    }))
}

/// The jobs that one node runs for the whole deployment.
async fn cluster_jobs(state: &AppState) -> anyhow::Result<Report> {
    let now = state.now();
    let purged = state.store.purge_expired(now, PURGE_GRACE).await?;
    let retention = state.settings.audit_retention_days;
    let audit_purged = if retention > 0 {
        let cutoff = now - retention * 86_400;
        state.store.purge_audit(cutoff, AUDIT_PURGE_BATCH).await?
    } else {
        0
    };
    if audit_purged > 0 {
        tracing::info!(audit_purged, "purged old audit rows");
    }
    let mut rotated = Vec::new();
    let period = state.settings.key_rotation_days * 86_400;
    if period > 0 {
        let newest = state
            .store
            .find_signing_keys(now)
            .await?
            .iter()
            .map(|k| k.created_at)
            .max()
            .unwrap_or(now);
        if now - newest >= period {
            rotated = rotate(state).await?;
        }
    }
    if purged.total() > 0 {
        tracing::info!(?purged, "purged expired rows");
    }
    let (verifications_expired, evidence_purged) = crate::verification::expire_and_purge(state)
        .await
        .map_err(|e| anyhow::anyhow!("expiring verifications: {e}"))?;
    if verifications_expired + evidence_purged > 0 {
        tracing::info!(
            verifications_expired,
            evidence_purged,
            "verification upkeep"
        );
    }
    Ok(Report {
        purged,
        rotated,
        verifications_expired,
        evidence_purged,
        audit_purged,
        skipped: false,
    })
}

/// Starts a key rollover now (SPEC 6) and makes it visible on this node at once.
pub async fn rotate(state: &AppState) -> anyhow::Result<Vec<String>> {
    let now = state.now();
    let kids = crate::keyring::rotate_keys(
        &state.store,
        &state.master_key,
        now,
        state.settings.key_publication_delay,
    )
    .await?;
    state.reload_keys().await?;
    let headers = axum::http::HeaderMap::new();
    state
        .audit(
            AuditEvent::KeyRotated,
            None,
            None,
            &headers,
            serde_json::json!({"kids": kids}),
        )
        .await;
    Ok(kids)
}

/// The background task (none when the interval is 0).
pub fn spawn(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let interval = state.settings.maintenance_interval;
    if interval == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(interval));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = run_once(&state).await {
                tracing::error!(error = %e, "maintenance failed");
            }
        }
    }))
}
