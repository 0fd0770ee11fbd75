//! The built-in sandbox reviewer: the scripted personas' documents decided without a human.

use std::collections::BTreeMap;

use verity_core::identity::IDENTITY;
use verity_core::verification::{CaseState, RejectReason};

use super::personas::personas;
use super::{DOCUMENTS_APPROVED, DOCUMENTS_REJECTED, REVIEW_DELAY, SANDBOX_REVIEWER, persona_uuid};
use crate::error::AdminError;
use crate::state::AppState;
use crate::verification::{Decision, decide};

/// The built-in sandbox reviewer: decides the cases of [`DOCUMENTS_APPROVED`] (approved; a
/// military case as `Veteran`, an identity case with the persona's details) and
/// [`DOCUMENTS_REJECTED`] (rejected as `unreadable`) once they have waited [`REVIEW_DELAY`]
/// seconds. How many it decided.
pub async fn review_scripted(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now();
    let approving = persona_uuid(DOCUMENTS_APPROVED);
    let rejecting = persona_uuid(DOCUMENTS_REJECTED);
    let waiting = state.store.find_cases_in(CaseState::InReview).await?;
    let due = waiting
        .iter()
        .filter(|c| c.uuid == approving || c.uuid == rejecting)
        .filter(|c| c.created_at + REVIEW_DELAY <= now);
    let mut decided = 0;
    for case in due {
        let d = if case.uuid == approving {
            approval(&case.grp)
        } else {
            Decision {
                decision: "reject".into(),
                subgroups: Vec::new(),
                reason: Some(RejectReason::Unreadable),
                attributes: BTreeMap::new(),
            }
        };
        let no_request = axum::http::HeaderMap::new();
        match decide(state, &case.id, &d, SANDBOX_REVIEWER, &no_request).await {
            Ok(_) => decided += 1,
            // Withdrawn or decided meanwhile: nothing to do.
            Err(AdminError::Conflict(_) | AdminError::NotFound(_)) => {}
            Err(e) => return Err(anyhow::anyhow!("sandbox review: {e}")),
        }
    }
    Ok(decided)
}

/// What the built-in reviewer approves for a group.
fn approval(group: &str) -> Decision {
    let persona = personas()
        .into_iter()
        .find(|p| p.email == DOCUMENTS_APPROVED);
    let attributes = match (group, persona) {
        (IDENTITY, Some(p)) => {
            let mut read: BTreeMap<String, String> = [
                "fname",
                "lname",
                "birth_date",
                "street",
                "city",
                "state",
                "zip",
                "country",
            ]
            .iter()
            .filter_map(|k| Some(((*k).to_owned(), p.attributes.get(*k)?.as_str()?.to_owned())))
            .collect();
            read.insert("document_issuer".into(), "US-OH".into());
            read
        }
        _ => BTreeMap::new(),
    };
    Decision {
        decision: "approve".into(),
        subgroups: if group == "military" {
            vec!["Veteran".into()]
        } else {
            Vec::new()
        },
        reason: None,
        attributes,
    }
}

/// Runs [`review_scripted`] every second (sandbox only; not when maintenance is off, as in
/// tests, which call it themselves).
pub fn spawn_reviewer(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    if !state.sandbox() || state.settings.maintenance_interval == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = review_scripted(&state).await {
                tracing::error!(error = %e, "sandbox review failed");
            }
        }
    }))
}
