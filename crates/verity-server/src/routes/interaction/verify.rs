//! SPEC 3: the verification page (`decision` = `verify` in the sandbox, `skip`, `deny`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use verity_core::authorize::AuthorizeRequest;
use verity_core::identity;
use verity_store::users::VerificationRecord;

use super::answers::{again, deny, next, respond_again};
use super::loaded::{Posted, current_session, expired_page};
use super::{Journey, render};
use crate::error::PageError;
use crate::pages::Page;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct VerifyPage<'a> {
    #[serde(flatten)]
    journey: Journey<'a>,
    /// The groups still to verify.
    groups: Vec<Missing<'a>>,
    /// The sandbox's own button would verify the identity, but the app asks for it at IAL2/AAL2
    /// and this sign-in has no second factor: the page says that the identity will still read
    /// "not verified", and how to add the factor.
    identity_needs_second_factor: bool,
}

/// A group still to verify, and whether a person can verify it on Verity's pages now.
#[derive(Debug, Serialize)]
struct Missing<'a> {
    handle: &'a str,
    name: &'a str,
    /// Verified with a code sent to an address at one of these domains.
    by_email: Option<String>,
}

impl Page for VerifyPage<'_> {
    const TEMPLATE: &'static str = "verify.html";
}

/// The verification page for the missing `groups` (handles). `second_factor_missing`: a
/// requested policy needs AAL2 and this sign-in had no second factor.
pub(super) fn show(
    state: &AppState,
    journey: Journey<'_>,
    groups: &[String],
    second_factor_missing: bool,
    error: bool,
) -> Result<Response, PageError> {
    let identity_needs_second_factor =
        second_factor_missing && groups.iter().any(|g| g == identity::IDENTITY);
    let groups = groups
        .iter()
        .map(|g| Missing {
            handle: g,
            name: identity::group(g).map_or(g.as_str(), |d| d.name),
            by_email: crate::verification::accepted_domains(state, g),
        })
        .collect();
    let page = VerifyPage {
        journey,
        groups,
        identity_needs_second_factor,
    };
    render(state, &page, error, StatusCode::BAD_REQUEST)
}

/// POST `/oauth/interaction/{id}/verify`.
pub(super) async fn submit(
    State(state): State<AppState>,
    Posted {
        headers,
        mut l,
        form,
    }: Posted,
) -> Result<Response, PageError> {
    match form.get("decision") {
        Some("verify") => {
            let Some(session) = current_session(&state, &headers, &l.ix).await? else {
                return Ok(next(&l.ix.id));
            };
            let missing = missing_groups(&state, &l.request, &session.uuid)
                .await?
                .ok_or_else(expired_page)?;
            // Outside the sandbox, `verify` leads to the methods of the first group to verify.
            if !state.sandbox() {
                return Ok(match missing.first() {
                    Some(group) => respond_again(&l.ix.id, group),
                    None => next(&l.ix.id),
                });
            }
            for group in missing {
                let record = sandbox_verification(group, state.now());
                state
                    .store
                    .upsert_verification(&session.uuid, &record)
                    .await?;
            }
            l.ix.verification_answered = true;
        }
        Some("skip") => {
            // Only a signed-in user's answer counts: one posted before sign-in would skip the page
            // for whoever signs in next.
            if current_session(&state, &headers, &l.ix).await?.is_none() {
                return Ok(next(&l.ix.id));
            }
            l.ix.verification_answered = true;
        }
        Some("deny") => return deny(&state, l).await,
        _ => {
            let text = "Choose one of the options below.";
            return again(&state, &headers, l, None, text).await;
        }
    }
    state.store.update_interaction(&l.ix).await?;
    Ok(next(&l.ix.id))
}

/// The groups account `uuid` still lacks for the request's policies (`None`: the account is
/// gone).
pub(super) async fn missing_groups(
    state: &AppState,
    request: &AuthorizeRequest,
    uuid: &str,
) -> Result<Option<Vec<String>>, PageError> {
    let Some(data) = state.store.find_user_data(uuid).await? else {
        return Ok(None);
    };
    let policies = state.policies_for(request.scope.iter());
    Ok(Some(identity::missing_verifications(&policies, &data)))
}

/// What the sandbox records for a group verified on this page (`military` as a veteran).
fn sandbox_verification(group: String, now: i64) -> VerificationRecord {
    let subgroups = if group == "military" {
        vec!["Veteran".to_owned()]
    } else {
        vec![]
    };
    VerificationRecord {
        group,
        verified: true,
        subgroups,
        method: "sandbox".into(),
        decided_by: "sandbox verification page".into(),
        decided_at: now,
    }
}
