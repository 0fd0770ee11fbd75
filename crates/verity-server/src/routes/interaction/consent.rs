//! SPEC 3: the consent page (`decision` = `allow` or `deny`), and cancelling the journey.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use verity_core::identity::{self, AuthFacts, Policy, UserData};

use super::answers::{again, deny, next};
use super::loaded::{Posted, current_session};
use super::{Journey, render};
use crate::audit::AuditEvent;
use crate::error::PageError;
use crate::pages::Page;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct ConsentPage<'a> {
    #[serde(flatten)]
    journey: Journey<'a>,
    policies: Vec<ListedPolicy<'a>>,
    /// Whether the app asked how the person was verified (`verified_claims`).
    verification_details: bool,
    /// Who is signed in.
    email: &'a str,
}

impl Page for ConsentPage<'_> {
    const TEMPLATE: &'static str = "consent.html";
}

/// A policy as the consent page lists it.
#[derive(Debug, Serialize)]
struct ListedPolicy<'a> {
    name: &'a str,
    /// The names of the attributes it releases.
    shares: Vec<&'a str>,
    /// For a policy that needs a verification: whether this account has it.
    status: Option<&'static str>,
}

/// What the app asks for: the policies, and whether also how the person was verified.
pub(super) struct Asked<'a> {
    pub policies: &'a [&'a Policy],
    /// The request asked for `verified_claims` (identity assurance).
    pub verification_details: bool,
}

/// The consent page for what is asked (`openid` alone only when nothing else is asked). It
/// says when verification details are shared: only policies that need a verification have any.
pub(super) fn show(
    state: &AppState,
    journey: Journey<'_>,
    asked: Asked<'_>,
    data: &UserData,
    auth: AuthFacts,
    email: &str,
    error: bool,
) -> Result<Response, PageError> {
    let policies = asked.policies;
    let verification_details =
        asked.verification_details && policies.iter().any(|p| p.needs.group().is_some());
    let policies = policies
        .iter()
        .filter(|p| p.handle != "openid" || policies.len() == 1)
        .map(|p| ListedPolicy {
            name: &p.name,
            shares: p
                .releases
                .iter()
                .map(|h| identity::attribute(h).map_or(h.as_str(), |a| a.name))
                .collect(),
            status: p.needs.group().map(|_| {
                if identity::satisfied(&p.needs, data, auth) {
                    "verified"
                } else {
                    "not verified"
                }
            }),
        })
        .collect();
    let page = ConsentPage {
        journey,
        policies,
        verification_details,
        email,
    };
    render(state, &page, error, StatusCode::BAD_REQUEST)
}

/// POST `/oauth/interaction/{id}/consent`.
pub(super) async fn submit(
    State(state): State<AppState>,
    Posted {
        headers,
        mut l,
        form,
    }: Posted,
) -> Result<Response, PageError> {
    match form.get("decision") {
        Some("allow") => {
            // Consent is remembered for the signed-in user, who must have been shown this page.
            let Some(session) = current_session(&state, &headers, &l.ix).await? else {
                return Ok(next(&l.ix.id));
            };
            l.ix.consented = true;
            state.store.update_interaction(&l.ix).await?;
            let detail = json!({"scope": l.request.scope.to_scope_string()});
            let (uuid, client_id) = (Some(session.uuid.as_str()), Some(l.app.client_id.as_str()));
            let event = AuditEvent::ConsentGranted;
            state.audit(event, uuid, client_id, &headers, detail).await;
            Ok(next(&l.ix.id))
        }
        Some("deny") => deny(&state, l).await,
        _ => again(&state, &headers, l, None, "Choose Allow or Deny.").await,
    }
}

/// POST `/oauth/interaction/{id}/cancel`: the person cancelled on the sign-in page.
pub(super) async fn cancel(
    State(state): State<AppState>,
    Posted { l, .. }: Posted,
) -> Result<Response, PageError> {
    deny(&state, l).await
}
