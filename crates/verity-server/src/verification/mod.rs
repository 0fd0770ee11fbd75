//! Verification cases (SPEC 12) as the server runs them. `verity_core::verification` decides
//! whether a decision or a revocation applies to a case; this builds the case's new row and its
//! outcome (the account's verification of the group, which claims are built from), and the
//! store records both with their audit row in one transaction, once.
//!
//! - this module: decisions, revocations, and a case as the admin API shows it;
//! - [`email`]: the `email_domain` method (a code mailed to an address at an accepted domain);
//! - [`document`]: the `document` method (files sealed at rest, a case in review).

mod document;
mod email;
pub mod review;

pub use document::{Upload, UploadRefusal, submit_documents};
pub use email::{CodeEntered, EmailRefusal, accepted_domains, enter_code, send_email_code};
pub use review::Opened;

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use verity_core::identity;
use verity_core::verification::{self, Action, CaseState, RejectReason};
use verity_store::cases::Case;
use verity_store::users::VerificationRecord;

use crate::audit::AuditEvent;
use crate::error::AdminError;
use crate::routes::admin_api::wire::{self, CaseDetailsResponse, CaseResponse};
use crate::state::AppState;

/// A reviewer's (or the admin API's) decision on a case in review (SPEC 12).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `approve` or `reject`.
    #[schema(schema_with = wire::decision)]
    pub decision: String,
    #[serde(default)]
    pub subgroups: Vec<String>,
    /// A reject reason code.
    #[serde(default)]
    #[schema(schema_with = wire::reject_reason)]
    pub reason: Option<RejectReason>,
    /// `identity`: what was read from the document.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Decides case `id`: approve (with the group's subgroups, and for `identity` the attributes
/// read) or reject (with a reason). `decided_by` names who decided (a reviewer, the admin API).
pub async fn decide(
    state: &AppState,
    id: &str,
    d: &Decision,
    decided_by: &str,
    headers: &HeaderMap,
) -> Result<Case, AdminError> {
    let case = find(state, id, None).await?;
    let action = match (d.decision.as_str(), d.reason) {
        ("approve", None) => Action::Approve,
        ("approve", Some(_)) => {
            return Err(AdminError::Invalid(vec![
                "an approval takes no reason".into(),
            ]));
        }
        ("reject", Some(reason)) => Action::Reject(reason),
        ("reject", None) => {
            return Err(AdminError::Invalid(vec![
                "a rejection needs a reason".into(),
            ]));
        }
        _ => {
            return Err(AdminError::Invalid(vec![
                "decision must be approve or reject".into(),
            ]));
        }
    };
    let read = if action == Action::Approve {
        check_subgroups(&case.grp, &d.subgroups)?;
        verity_core::review::check_attributes(&case.grp, &d.attributes)
            .map_err(AdminError::Invalid)?
    } else {
        BTreeMap::new()
    };
    let to = transition(&case, action)?;
    let now = state.now();
    let decided = Case {
        state: to,
        subgroups: if to == CaseState::Verified {
            d.subgroups.clone()
        } else {
            Vec::new()
        },
        attributes: read.clone(),
        reason: d.reason,
        claimed_by: None,
        claimed_until: None,
        decided_by: Some(decided_by.to_owned()),
        decided_at: Some(now),
        expires_at: (to == CaseState::Verified)
            .then(|| verification::expires_at(&case.grp, now, &state.settings.verification_methods))
            .flatten(),
        updated_at: now,
        ..case.clone()
    };
    let outcome = (to == CaseState::Verified).then(|| outcome(&decided, true, decided_by, now));
    let event = if to == CaseState::Verified {
        AuditEvent::VerificationApproved
    } else {
        AuditEvent::VerificationRejected
    };
    let detail = json!({"case": decided.id, "group": decided.grp, "reason": decided.reason});
    record(
        state,
        &decided,
        case.state,
        outcome.as_ref(),
        event,
        detail,
        headers,
    )
    .await?;
    mail_decision(state, &decided).await?;
    Ok(decided)
}

/// Mails a reviewer's decision to the person's sign-in address (SPEC 12), through the outbox.
async fn mail_decision(state: &AppState, decided: &Case) -> Result<(), AdminError> {
    let Some(user) = state.store.find_user(&decided.uuid).await? else {
        return Ok(());
    };
    let group = identity::group(&decided.grp).map_or("identity", |g| g.name);
    let (subject, body) = match decided.reason {
        None => (
            format!("Your {group} verification is approved"),
            format!(
                "Your documents were checked and your {group} status is verified.\n\n\
                 Apps you allow will see it from your next sign-in."
            ),
        ),
        Some(reason) => (
            format!("Your {group} verification was not accepted"),
            format!(
                "Your documents were checked and could not be accepted: {}\n\n\
                 You can send new documents the next time an app asks for this verification, \
                 and see your verifications on your Verity account page.",
                reason.explanation()
            ),
        ),
    };
    let mail = crate::outbox::Mail {
        to: &user.email,
        subject: &subject,
        body: &body,
    };
    crate::outbox::send(state, mail).await;
    Ok(())
}

/// Takes back account `uuid`'s verification of `group` (SPEC 12 `revoke`), with a reason.
pub async fn revoke(
    state: &AppState,
    uuid: &str,
    group: &str,
    reason: &str,
    revoked_by: &str,
    headers: &HeaderMap,
) -> Result<Case, AdminError> {
    if reason.trim().is_empty() || reason.len() > 500 {
        return Err(AdminError::Invalid(vec![
            "reason must be 1 to 500 characters".into(),
        ]));
    }
    let case = state
        .store
        .find_verified_case(uuid, group)
        .await?
        .ok_or(AdminError::NotFound("verification"))?;
    let to = transition(&case, Action::Revoke)?;
    let now = state.now();
    let revoked = Case {
        state: to,
        decided_by: Some(revoked_by.to_owned()),
        decided_at: Some(now),
        updated_at: now,
        ..case.clone()
    };
    let outcome = outcome(&revoked, false, revoked_by, now);
    let detail = json!({"case": revoked.id, "group": revoked.grp, "reason": reason.trim()});
    let event = AuditEvent::VerificationRevoked;
    record(
        state,
        &revoked,
        case.state,
        Some(&outcome),
        event,
        detail,
        headers,
    )
    .await?;
    Ok(revoked)
}

/// The person takes back their case `id` (SPEC 12 `withdrawn`): an open one stops, a verified
/// one is no longer reported, and the case's documents are deleted at once.
pub async fn withdraw(
    state: &AppState,
    uuid: &str,
    id: &str,
    headers: &HeaderMap,
) -> Result<Case, AdminError> {
    let case = find(state, id, Some(uuid)).await?;
    let now = state.now();
    let withdrawn = Case {
        state: transition(&case, Action::Withdraw)?,
        code_hash: None,
        updated_at: now,
        ..case.clone()
    };
    let outcome =
        (case.state == CaseState::Verified).then(|| outcome(&withdrawn, false, "the person", now));
    let detail = json!({"case": withdrawn.id, "group": withdrawn.grp});
    let event = AuditEvent::VerificationWithdrawn;
    record(
        state,
        &withdrawn,
        case.state,
        outcome.as_ref(),
        event,
        detail,
        headers,
    )
    .await?;
    purge(state, &withdrawn, now, headers).await?;
    Ok(withdrawn)
}

/// The maintenance task's part (SPEC 12): verifications whose lifetime ended are expired (the
/// case, and the account's verification reported `"verified": false`), and the documents of
/// cases decided more than the retention period ago are deleted. How many verifications
/// expired, and how many cases' documents were deleted.
pub async fn expire_and_purge(state: &AppState) -> Result<(u64, u64), AdminError> {
    let now = state.now();
    let no_request = HeaderMap::new();
    let mut expired = 0;
    for case in state.store.find_cases_ending(now).await? {
        let ended = Case {
            state: transition(&case, Action::Expire)?,
            updated_at: now,
            ..case.clone()
        };
        let outcome = outcome(&ended, false, "lifetime", now);
        let detail = json!({"case": ended.id, "group": ended.grp});
        let event = AuditEvent::VerificationExpired;
        let recorded = record(
            state,
            &ended,
            case.state,
            Some(&outcome),
            event,
            detail,
            &no_request,
        );
        match recorded.await {
            Ok(()) => expired += 1,
            // Revoked or withdrawn meanwhile: nothing to expire.
            Err(AdminError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let retention = state.settings.evidence_retention_days * 86_400;
    let mut purged = 0;
    for c in state.store.find_cases_to_purge(now - retention).await? {
        let detail = json!({"case": c.id, "why": "retention"});
        let event = AuditEvent::VerificationEvidencePurged;
        let audit = state.audit_event(event, Some(&c.uuid), None, &no_request, detail);
        if state.store.purge_case_evidence(&c.id, now, &audit).await? {
            state.audited(&audit);
            purged += 1;
        }
    }
    Ok((expired, purged))
}

/// Deletes a withdrawn case's files at once, audited.
async fn purge(
    state: &AppState,
    c: &Case,
    now: i64,
    headers: &HeaderMap,
) -> Result<(), AdminError> {
    let detail = json!({"case": c.id, "why": "withdrawn"});
    let event = AuditEvent::VerificationEvidencePurged;
    let audit = state.audit_event(event, Some(&c.uuid), None, headers, detail);
    if state.store.purge_case_evidence(&c.id, now, &audit).await? {
        state.audited(&audit);
    }
    Ok(())
}

/// The case as `verity admin` prints it (the admin API's [`CaseResponse`]: no code digest).
pub fn case_json(c: &Case) -> Value {
    json!(CaseResponse::from(c))
}

/// A case with its evidence (ids, types, sizes; never the content) and its history (the
/// audit events that name it), as the admin API answers it.
pub async fn case_with_history(
    state: &AppState,
    id: &str,
) -> Result<CaseDetailsResponse, AdminError> {
    let case = find(state, id, None).await?;
    let evidence = state.store.find_case_evidence(id).await?;
    let history = state
        .store
        .find_audit(None, Some(&case.uuid), 200)
        .await?
        .into_iter()
        .filter(|e| e.detail.get("case").and_then(Value::as_str) == Some(id))
        .map(Into::into)
        .collect();
    Ok(CaseDetailsResponse {
        case: CaseResponse::from(&case),
        evidence: evidence.iter().map(Into::into).collect(),
        history,
    })
}

/// [`case_with_history`] as `verity admin case-get` prints it.
pub async fn case_details(state: &AppState, id: &str) -> Result<Value, AdminError> {
    Ok(json!(case_with_history(state, id).await?))
}

/// The cases in a state named as on the wire (`in_review`, ...), oldest first.
pub async fn cases_in_state(state: &AppState, name: &str) -> Result<Vec<CaseResponse>, AdminError> {
    let wanted: CaseState = serde_json::from_value(Value::String(name.to_owned()))
        .map_err(|_| AdminError::Invalid(vec![format!("unknown state {name:?}")]))?;
    let cases = state.store.find_cases_in(wanted).await?;
    Ok(cases.iter().map(CaseResponse::from).collect())
}

/// [`cases_in_state`] as `verity admin case-list` prints them.
pub async fn cases_in(state: &AppState, name: &str) -> Result<Vec<Value>, AdminError> {
    let cases = cases_in_state(state, name).await?;
    Ok(cases.iter().map(|c| json!(c)).collect())
}

/// Case `id` (of account `owner` when given: another's is not found either).
pub(crate) async fn find(
    state: &AppState,
    id: &str,
    owner: Option<&str>,
) -> Result<Case, AdminError> {
    let found = state.store.find_case(id).await?;
    found
        .filter(|c| owner.is_none_or(|uuid| c.uuid == uuid))
        .ok_or(AdminError::NotFound("case"))
}

fn transition(case: &Case, action: Action) -> Result<CaseState, AdminError> {
    verification::transition(case.state, action).map_err(|_| already_decided())
}

fn already_decided() -> AdminError {
    AdminError::Conflict("the case is not in a state this applies to (decided already?)".into())
}

/// Subgroups of SPEC 8 that `group` has.
fn check_subgroups(group: &str, subgroups: &[String]) -> Result<(), AdminError> {
    let known = identity::group(group).map_or(&[][..], |g| g.subgroups);
    let bad: Vec<String> = subgroups
        .iter()
        .filter(|s| !known.contains(&s.as_str()))
        .map(|s| format!("{s:?} is not a subgroup of {group}"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Invalid(bad))
    }
}

/// The account's verification of the case's group after a decision.
fn outcome(c: &Case, verified: bool, by: &str, now: i64) -> VerificationRecord {
    VerificationRecord {
        group: c.grp.clone(),
        verified,
        subgroups: if verified {
            c.subgroups.clone()
        } else {
            Vec::new()
        },
        method: serde_json::to_value(c.method)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        decided_by: by.to_owned(),
        decided_at: now,
    }
}

/// Records a decision with its outcome (the account's verification, and the attributes an
/// identity document gave it) and audit row; a decision that lost a race is refused.
async fn record(
    state: &AppState,
    decided: &Case,
    was: CaseState,
    outcome: Option<&VerificationRecord>,
    event: AuditEvent,
    detail: Value,
    headers: &HeaderMap,
) -> Result<(), AdminError> {
    let audit = state.audit_event(event, Some(&decided.uuid), None, headers, detail);
    // An approved identity case gives the account what was read from the document.
    let attributes = if decided.state == CaseState::Verified {
        verity_core::review::account_attributes(&decided.attributes)
    } else {
        BTreeMap::new()
    };
    if !state
        .store
        .decide_case(decided, was, outcome, &attributes, &audit)
        .await?
    {
        return Err(already_decided());
    }
    state.audited(&audit);
    Ok(())
}
