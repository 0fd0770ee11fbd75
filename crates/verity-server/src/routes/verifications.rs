//! SPEC 12: `/account/verifications`, a person's verification cases: where each stands (with a
//! rejection's reason), and withdrawing one (its documents are deleted at once).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use verity_core::clock::date_words;
use verity_core::identity;
use verity_core::verification::{CaseState, Method};
use verity_store::cases::Case;

use crate::error::PageError;
use crate::pages::Page;
use crate::respond::see_other;
use crate::session::{SignedInForm, csrf_token, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/verifications", get(show))
        .route("/account/verifications/{id}/withdraw", post(withdraw))
}

#[derive(Debug, Serialize)]
struct VerificationsPage {
    csrf_token: String,
    cases: Vec<CaseRow>,
}

impl Page for VerificationsPage {
    const TEMPLATE: &'static str = "account_verifications.html";
}

/// A case as the person reads it.
#[derive(Debug, Serialize)]
struct CaseRow {
    id: String,
    group: String,
    /// How: "a code sent to jane@va.gov", "documents", ...
    how: String,
    /// Where it stands, in words.
    state: &'static str,
    /// Whether it counts now.
    verified: bool,
    /// Why it was rejected, for the person.
    reason: Option<&'static str>,
    started: String,
    decided: Option<String>,
    ends: Option<String>,
    /// Whether the person may withdraw it.
    withdrawable: bool,
}

fn row(c: &Case) -> CaseRow {
    let how = match (c.method, &c.address) {
        (Method::EmailDomain, Some(address)) => format!("a code sent to {address}"),
        (Method::EmailDomain, None) => "a code sent by email".into(),
        (Method::Document, _) => "documents you uploaded".into(),
        (Method::Sandbox, _) => "the sandbox".into(),
        (Method::Operator, _) => "recorded by the provider".into(),
    };
    let state = match c.state {
        CaseState::PendingCode => "Waiting for the code",
        CaseState::InReview => "In review",
        CaseState::Verified => "Verified",
        CaseState::Rejected => "Not accepted",
        CaseState::Expired => "Ended",
        CaseState::Revoked => "Taken back by the provider",
        CaseState::Withdrawn => "Withdrawn by you",
    };
    CaseRow {
        id: c.id.clone(),
        group: identity::group(&c.grp).map_or_else(|| "Identity".to_owned(), |g| g.name.to_owned()),
        how,
        state,
        verified: c.state == CaseState::Verified,
        reason: c.reason.map(|r| r.explanation()),
        started: date_words(c.created_at),
        decided: c.decided_at.map(date_words),
        ends: c
            .expires_at
            .filter(|_| c.state == CaseState::Verified)
            .map(date_words),
        withdrawable: matches!(
            c.state,
            CaseState::PendingCode | CaseState::InReview | CaseState::Verified
        ),
    }
}

/// GET: the person's cases, newest first (the sign-in journey first when nobody is signed in).
async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return start_login(&state, "/account/verifications");
    };
    let cases = state.store.find_user_cases(&user.uuid).await?;
    let page = VerificationsPage {
        csrf_token: csrf_token(&state, &session),
        cases: cases.iter().map(row).collect(),
    };
    Ok(state.pages.show(state.sandbox(), &page)?.into_response())
}

/// POST: withdraw one of the person's cases.
async fn withdraw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    crate::verification::withdraw(&state, &p.user.uuid, &id, &p.headers).await?;
    Ok(see_other("/account/verifications"))
}
