//! SPEC 12: `/account/verifications`, a person's verification cases: where each stands (with a
//! rejection's reason), withdrawing one (its documents are deleted at once), and starting one
//! outside any app at `/account/verifications/{group}` (the same methods as in the journey,
//! [`crate::routes::group_methods`]).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use verity_core::identity;
use verity_core::verification::{self, CaseState, Method};
use verity_store::cases::Case;

use crate::error::PageError;
use crate::pages::Moment;
use crate::pages::Page;
use crate::respond::see_other;
use crate::routes::group_methods::{self, At, Shown, UPLOAD_LIMIT, UploadFields};
use crate::session::{SignedInForm, check_csrf, csrf_token, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/verifications", get(show))
        .route("/account/verifications/{id}/withdraw", post(withdraw))
        .route(
            "/account/verifications/{group}",
            get(group_page).post(group_submit),
        )
        .route(
            "/account/verifications/{group}/upload",
            post(group_upload).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
}

#[derive(Debug, Serialize)]
struct VerificationsPage {
    csrf_token: String,
    cases: Vec<CaseRow>,
    /// What the person may start: groups (and identity) neither verified nor in progress.
    startable: Vec<Startable>,
}

#[derive(Debug, Serialize)]
struct Startable {
    handle: &'static str,
    name: &'static str,
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
    started: Moment,
    decided: Option<Moment>,
    ends: Option<Moment>,
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
        started: Moment::day(c.created_at),
        decided: c.decided_at.map(Moment::day),
        ends: c
            .expires_at
            .filter(|_| c.state == CaseState::Verified)
            .map(Moment::day),
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
    let now = state.now();
    let busy = |handle: &str| {
        cases.iter().any(|c| {
            c.grp == handle
                && (c.state.is_open() || verification::is_current(c.state, c.expires_at, now))
        })
    };
    let startable = identity::GROUPS
        .iter()
        .filter(|g| !busy(g.handle))
        .map(|g| Startable {
            handle: g.handle,
            name: g.name,
        })
        .collect();
    let page = VerificationsPage {
        csrf_token: csrf_token(&state, &session),
        cases: cases.iter().map(row).collect(),
        startable,
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

/// The group a path names (a group handle or `identity`); 404 for another.
fn known(group: &str) -> Result<(), PageError> {
    identity::group(group)
        .map(|_| ())
        .ok_or_else(PageError::not_found)
}

/// GET `/account/verifications/{group}`: the group's methods, outside any app.
async fn group_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, PageError> {
    known(&group)?;
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return start_login(&state, &format!("/account/verifications/{group}"));
    };
    let csrf = csrf_token(&state, &session);
    group_methods::show(
        &state,
        At::Account,
        &csrf,
        &user.uuid,
        &group,
        Shown::default(),
    )
    .await
}

/// POST `/account/verifications/{group}`: send a code or enter one; verified, back to the list.
async fn group_submit(
    State(state): State<AppState>,
    Path(group): Path<String>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    known(&group)?;
    let uuid = &p.user.uuid;
    match group_methods::email_step(&state, uuid, &group, &p.form, &p.headers).await? {
        None => Ok(see_other("/account/verifications")),
        Some(shown) if !shown.any_error() => {
            Ok(see_other(&format!("/account/verifications/{group}")))
        }
        Some(shown) => {
            let csrf = csrf_token(&state, &p.session);
            group_methods::show(&state, At::Account, &csrf, uuid, &group, shown).await
        }
    }
}

/// POST `/account/verifications/{group}/upload` (multipart, as in the journey).
async fn group_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(group): Path<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    known(&group)?;
    let fields = UploadFields::read(&state, multipart).await?;
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return Err(PageError::signed_out(
            "Your session has ended. Open your verifications again.",
        ));
    };
    check_csrf(&state, Some(&session.id_hash), &fields.csrf_token)?;
    match fields.submit(&state, &user.uuid, &group, &headers).await? {
        None => Ok(see_other(&format!("/account/verifications/{group}"))),
        Some(shown) => {
            let csrf = csrf_token(&state, &session);
            group_methods::show(&state, At::Account, &csrf, &user.uuid, &group, shown).await
        }
    }
}
