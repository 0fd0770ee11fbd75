//! The review of cases (SPEC 12 "Review") as the server runs it: the `reviewer` role, the queue
//! with its counts, claims, opening a file (each view audited) and a reviewer's decision. Who
//! may do what is `verity_core::review`'s; the console at `/review` and the admin API call here.

use axum::http::HeaderMap;
use serde_json::json;
use verity_core::evidence::{EvidenceKeys, Sealed};
pub use verity_core::review::Role;
use verity_core::review::{self, CLAIM_SECONDS, Hold, Refusal};
use verity_core::verification::CaseState;
use verity_store::cases::{Case, Evidence};
use verity_store::users::User;

use super::{Decision, decide, find};
use crate::audit::{AuditEvent, Change, Via};
use crate::error::AdminError;
use crate::state::AppState;

/// Gives account `who` (a uuid or a sign-in email) a role (`grant`) or takes it back, audited
/// when something changed; the roles the account holds afterwards.
pub async fn change_role(
    state: &AppState,
    who: &str,
    role: Role,
    via: Via,
    headers: &HeaderMap,
    grant: bool,
) -> Result<Vec<Role>, AdminError> {
    let user = account(state, who).await?;
    let change = if grant {
        Change::RoleGranted
    } else {
        Change::RoleRevoked
    };
    let detail = json!({"role": role.as_str()});
    let audit = state.audit_event(
        AuditEvent::Changed(via, change),
        Some(&user.uuid),
        None,
        headers,
        detail,
    );
    let changed = if grant {
        let by = match via {
            Via::Admin => "admin API",
            Via::Cli => "verity admin",
            Via::Console => "console",
        };
        let now = state.now();
        state
            .store
            .grant_role(&user.uuid, role, by, now, &audit)
            .await?
    } else {
        state.store.revoke_role(&user.uuid, role, &audit).await?
    };
    if changed {
        state.audited(&audit);
    }
    Ok(state.store.find_roles(&user.uuid).await?)
}

/// The account `who` names: its uuid, or its sign-in email.
async fn account(state: &AppState, who: &str) -> Result<User, AdminError> {
    let found = match state.store.find_user(who).await? {
        Some(u) => Some(u),
        None if who.contains('@') => state.store.find_user_by_email(who).await?,
        None => None,
    };
    found.ok_or(AdminError::NotFound("user"))
}

/// The queue as a reviewer sees it: the cases in review, oldest first, and the figures a team
/// watches.
#[derive(Debug)]
pub struct Queue {
    pub cases: Vec<Case>,
    /// Cases nobody holds (or whose claim ran out), which the reviewer may take.
    pub open: usize,
    /// Cases this reviewer holds.
    pub mine: usize,
    /// When the oldest case came in.
    pub oldest: Option<i64>,
}

pub async fn queue(state: &AppState, reviewer: &str) -> Result<Queue, AdminError> {
    let now = state.now();
    let cases = state.store.find_cases_in(CaseState::InReview).await?;
    let open = cases
        .iter()
        .filter(|c| {
            review::may_claim(&hold(c), reviewer, now).is_ok() && !held_by(c, reviewer, now)
        })
        .count();
    let mine = cases.iter().filter(|c| held_by(c, reviewer, now)).count();
    let oldest = cases.first().map(|c| c.created_at);
    Ok(Queue {
        cases,
        open,
        mine,
        oldest,
    })
}

/// What the store knows about who holds a case.
pub fn hold(c: &Case) -> Hold<'_> {
    Hold {
        owner: &c.uuid,
        state: c.state,
        claimed_by: c.claimed_by.as_deref(),
        claimed_until: c.claimed_until,
    }
}

/// Whether `reviewer` holds the case at `now`.
pub fn held_by(c: &Case, reviewer: &str, now: i64) -> bool {
    c.claimed_by.as_deref() == Some(reviewer) && c.claimed_until.is_some_and(|t| t > now)
}

/// `reviewer` takes case `id` (or renews their claim) for [`CLAIM_SECONDS`], audited.
pub async fn claim(
    state: &AppState,
    id: &str,
    reviewer: &str,
    headers: &HeaderMap,
) -> Result<Result<Case, Refusal>, AdminError> {
    let case = find(state, id, None).await?;
    let now = state.now();
    if let Err(refusal) = review::may_claim(&hold(&case), reviewer, now) {
        return Ok(Err(refusal));
    }
    let detail = json!({"case": case.id, "group": case.grp, "reviewer": reviewer});
    let audit = state.audit_event(
        AuditEvent::VerificationClaimed,
        Some(&case.uuid),
        None,
        headers,
        detail,
    );
    let until = now + CLAIM_SECONDS;
    if !state
        .store
        .claim_case(&case.id, reviewer, now, until, &audit)
        .await?
    {
        // Another reviewer (or a decision) came first.
        return Ok(Err(Refusal::HeldByAnother));
    }
    state.audited(&audit);
    Ok(Ok(find(state, id, None).await?))
}

/// `reviewer` takes the oldest case they may take; `None` when there is none.
pub async fn claim_next(
    state: &AppState,
    reviewer: &str,
    headers: &HeaderMap,
) -> Result<Option<Case>, AdminError> {
    let now = state.now();
    let cases = state.store.find_cases_in(CaseState::InReview).await?;
    for c in cases
        .iter()
        .filter(|c| review::may_claim(&hold(c), reviewer, now).is_ok())
    {
        if let Ok(claimed) = claim(state, &c.id, reviewer, headers).await? {
            return Ok(Some(claimed));
        }
    }
    Ok(None)
}

/// `reviewer` gives case `id` back to the queue.
pub async fn release(state: &AppState, id: &str, reviewer: &str) -> Result<bool, AdminError> {
    Ok(state.store.release_case(id, reviewer, state.now()).await?)
}

/// Case `id` as `reviewer` may see it: the case, whether they may work on it now, and its
/// files (listed without content).
pub async fn case_for(
    state: &AppState,
    id: &str,
    reviewer: &str,
) -> Result<(Case, Result<(), Refusal>, Vec<Evidence>), AdminError> {
    let case = find(state, id, None).await?;
    let may = review::may_work(&hold(&case), reviewer, state.now());
    let files = state.store.find_case_evidence(&case.id).await?;
    Ok((case, may, files))
}

/// One opened file: its content type and bytes.
pub struct Opened {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Opens file `evidence_id` of case `case_id` for `reviewer`, who must hold the case; every
/// view is audited (before the content leaves). Not found when the file is not the case's or
/// was purged.
pub async fn open_evidence(
    state: &AppState,
    case_id: &str,
    evidence_id: &str,
    reviewer: &str,
    headers: &HeaderMap,
) -> Result<Result<Opened, Refusal>, AdminError> {
    let case = find(state, case_id, None).await?;
    if let Err(refusal) = review::may_work(&hold(&case), reviewer, state.now()) {
        return Ok(Err(refusal));
    }
    let file = state
        .store
        .find_evidence(evidence_id)
        .await?
        .filter(|e| e.case_id == case.id)
        .ok_or(AdminError::NotFound("file"))?;
    let Some(sealed) = file.sealed.clone() else {
        return Err(AdminError::NotFound("file"));
    };
    let detail =
        json!({"case": case.id, "evidence": file.id, "kind": file.kind, "reviewer": reviewer});
    let event = AuditEvent::VerificationEvidenceViewed;
    let audit = state.audit_event(event, Some(&case.uuid), None, headers, detail);
    // Recorded before the content leaves: no view goes unaudited.
    state.store.insert_audit(&audit).await?;
    state.audited(&audit);
    let keys = EvidenceKeys::new(&state.master_key, state.master_key.previous());
    let sealed = Sealed {
        key_id: file.key_id.clone(),
        bytes: sealed,
    };
    let case_id = case.id.clone();
    let file_id = file.id.clone();
    let bytes = tokio::task::spawn_blocking(move || keys.open(&sealed, &case_id, &file_id))
        .await
        .map_err(|e| AdminError::Internal(format!("opening a file: {e}")))?
        .map_err(|e| AdminError::Internal(format!("opening a file: {e}")))?;
    Ok(Ok(Opened {
        content_type: file.content_type,
        bytes,
    }))
}

/// `reviewer` decides a case they hold (never their own).
pub async fn decide_as(
    state: &AppState,
    id: &str,
    d: &Decision,
    reviewer: &User,
    headers: &HeaderMap,
) -> Result<Result<Case, Refusal>, AdminError> {
    let case = find(state, id, None).await?;
    if let Err(refusal) = review::may_work(&hold(&case), &reviewer.uuid, state.now()) {
        return Ok(Err(refusal));
    }
    Ok(Ok(decide(state, id, d, &reviewer.email, headers).await?))
}

/// Creates (or replaces) `reviewer`'s own admin-API token for the verification-case routes;
/// the token, shown once (only its SHA-256 is kept).
pub async fn create_token(
    state: &AppState,
    reviewer: &str,
    headers: &HeaderMap,
) -> Result<String, AdminError> {
    let token = verity_core::secret::new_token();
    let hash = verity_core::secret::token_hash(&token);
    let now = state.now();
    if !state
        .store
        .set_role_token(reviewer, Role::Reviewer, Some(&hash), now)
        .await?
    {
        return Err(AdminError::NotFound("reviewer role"));
    }
    let event = AuditEvent::ReviewTokenCreated;
    state
        .audit(event, Some(reviewer), None, headers, json!({}))
        .await;
    Ok(token)
}

/// Deletes `reviewer`'s token.
pub async fn delete_token(
    state: &AppState,
    reviewer: &str,
    headers: &HeaderMap,
) -> Result<(), AdminError> {
    let now = state.now();
    state
        .store
        .set_role_token(reviewer, Role::Reviewer, None, now)
        .await?;
    let event = AuditEvent::ReviewTokenDeleted;
    state
        .audit(event, Some(reviewer), None, headers, json!({}))
        .await;
    Ok(())
}
