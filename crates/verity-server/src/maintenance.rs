//! Periodic work as one step, [`run_once`], that a background task calls every
//! `maintenance_interval` seconds and tests call directly (no sleeping in tests): purge what has
//! expired, rotate signing keys when automatic rotation is due, and reload the keys (a rotation
//! made by `verity keys rotate` or on another node becomes visible here).
//!
//! With several nodes, the purge and the rotation run on one node at a time (a PostgreSQL
//! advisory lock; a node that finds it taken skips them this round); every node reloads keys.

use std::time::Duration;

use anyhow::Context;

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

/// What [`rewrap`] re-encrypted under the current master key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rewrapped {
    pub signing_keys: u64,
    pub totp_secrets: u64,
    pub evidence: u64,
}

/// The second half of a master-key rotation (operators' guide, section 10): everything sealed
/// under a key in `VERITY_PREVIOUS_MASTER_KEYS` (signing keys, TOTP secrets, verification
/// documents) is sealed again under `VERITY_MASTER_KEY`, row by row, each row only if it did not
/// change meanwhile. Run once every node has the new key (`verity keys rewrap`); afterwards the
/// previous keys can be dropped. Running it again finds nothing to do.
pub async fn rewrap(state: &AppState) -> anyhow::Result<Rewrapped> {
    const PAGE: i64 = 500;
    let master = &state.master_key;
    let mut done = Rewrapped::default();
    for k in state.store.find_all_signing_keys().await? {
        if let Some(sealed) = master
            .reseal(&k.private_key, k.kid.as_bytes())
            .with_context(|| format!("signing key {} opens with none of the master keys", k.kid))?
            && state
                .store
                .update_signing_key_sealed(&k.kid, &k.private_key, &sealed)
                .await?
        {
            done.signing_keys += 1;
        }
    }
    let mut after = String::new();
    loop {
        let users = state.store.find_users_with_totp(&after, PAGE).await?;
        let Some(last) = users.last() else { break };
        after = last.uuid.clone();
        for u in &users {
            let Some(was) = &u.totp_secret else { continue };
            let resealed = master.reseal(was, u.uuid.as_bytes());
            let Some(sealed) = resealed.with_context(|| {
                format!("the TOTP secret of {} opens with no master key", u.uuid)
            })?
            else {
                continue;
            };
            if state
                .store
                .update_totp_sealed(&u.uuid, was, &sealed)
                .await?
            {
                done.totp_secrets += 1;
            }
        }
    }
    let keys = verity_core::evidence::EvidenceKeys::new(master, master.previous());
    let current = keys.current_id().unwrap_or_default().to_owned();
    let mut after = String::new();
    loop {
        let files = state
            .store
            .find_evidence_sealed_elsewhere(&current, &after, PAGE)
            .await?;
        let Some(last) = files.last() else { break };
        after = last.id.clone();
        for f in &files {
            let Some(bytes) = f.sealed.clone() else {
                continue;
            };
            let sealed = verity_core::evidence::Sealed {
                key_id: f.key_id.clone(),
                bytes,
            };
            // Up to 10 MiB of AES-GCM each way: on the blocking pool, as sealing is.
            let (ring, case_id, id) = (keys.clone(), f.case_id.clone(), f.id.clone());
            let resealed = tokio::task::spawn_blocking(move || ring.reseal(&sealed, &case_id, &id))
                .await?
                .map_err(|e| anyhow::anyhow!("evidence {}: {e}", f.id))?;
            if let Some(new) = resealed
                && state
                    .store
                    .update_evidence_sealed(&f.id, &f.key_id, &new.key_id, &new.bytes)
                    .await?
            {
                done.evidence += 1;
            }
        }
    }
    tracing::info!(?done, "re-encrypted under the current master key");
    Ok(done)
}
