//! The person ending things from `/account` (SPEC 14): every other session at once
//! (`POST /account/sessions/end-others`), and the account itself (`/account/delete`: a page
//! that says what will happen, then the password, and the second factor when enrolled).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use verity_store::sessions::Session;
use verity_store::users::User;

use crate::audit::AuditEvent;
use crate::auth::password;
use crate::auth::second_factor::{self, Outcome};
use crate::auth::throttle::Attempt;
use crate::erase::{DeletedBy, delete_account};
use crate::error::PageError;
use crate::extract::{client_address, set_cookie};
use crate::pages::Page;
use crate::respond::{see_other, with_cookie};
use crate::session::{SESSION_COOKIE, SignedInForm, csrf_token, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/sessions/end-others", post(end_others))
        .route("/account/delete", get(show_delete).post(delete))
}

/// POST /account/sessions/end-others: every other session of the person ends now. Their rows
/// are deleted, so the other browsers' cookies find nothing on their next request, whichever
/// node answers it; this browser's session stays.
async fn end_others(State(state): State<AppState>, p: SignedInForm) -> Result<Response, PageError> {
    let ended = state
        .store
        .delete_other_sessions(&p.user.uuid, &p.session.id_hash)
        .await?;
    let (event, uuid) = (
        AuditEvent::SessionsEndedElsewhere,
        Some(p.user.uuid.as_str()),
    );
    state
        .audit(event, uuid, None, &p.headers, json!({"sessions": ended}))
        .await;
    Ok(see_other("/account"))
}

/// The delete confirmation page: what will happen, and the re-authentication form.
#[derive(Debug, Serialize)]
struct DeletePage<'a> {
    email: &'a str,
    /// Whether a second factor is enrolled (then its code is asked too).
    totp: bool,
    csrf_token: String,
    /// A problem per field (`password`, `code`), shown beside it.
    fields: BTreeMap<&'static str, &'a str>,
}

impl Page for DeletePage<'_> {
    const TEMPLATE: &'static str = "account_delete.html";
}

/// What the browser sees once the account is gone.
#[derive(Debug, Serialize)]
struct DeletedPage {}

impl Page for DeletedPage {
    const TEMPLATE: &'static str = "account_deleted.html";
}

/// GET /account/delete: the page, or the sign-in journey when nobody is signed in.
async fn show_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return start_login(&state, "/account/delete");
    };
    delete_page(&state, &session, &user, None)
}

/// The confirmation page; with `problem` (field, message), 400 and the message beside it.
fn delete_page(
    state: &AppState,
    session: &Session,
    user: &User,
    problem: Option<(&'static str, &str)>,
) -> Result<Response, PageError> {
    let page = DeletePage {
        email: &user.email,
        totp: user.totp_secret.is_some(),
        csrf_token: csrf_token(state, session),
        fields: problem.into_iter().collect(),
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, state.pages.show(state.sandbox(), &page)?).into_response())
}

/// POST /account/delete: the password (counted like a sign-in's, against the account and the
/// address), then the second factor when one is enrolled; only when both are right is
/// everything of the person deleted. A refusal deletes nothing and says so beside the field.
async fn delete(State(state): State<AppState>, p: SignedInForm) -> Result<Response, PageError> {
    let (session, user) = (&p.session, &p.user);
    let refuse = |field, message: &str| delete_page(&state, session, user, Some((field, message)));
    let given = p.form.get("password").unwrap_or_default().to_owned();
    if given.is_empty() || given.len() > verity_core::account::PASSWORD_MAX_BYTES {
        return refuse("password", "Enter your password. Nothing was deleted.");
    }
    let key = verity_core::throttle::account_key(&user.email);
    let attempt = match Attempt::begin(&state, key, client_address(&p.headers)).await? {
        Ok(attempt) => attempt,
        Err(wait) => {
            let message = format!(
                "Too many wrong attempts. Try again in {}. Nothing was deleted.",
                verity_core::throttle::wait_text(wait)
            );
            return refuse("password", &message);
        }
    };
    if !password::verify(&state, Some(user), given).await? {
        return refuse(
            "password",
            "That password is not correct. Nothing was deleted.",
        );
    }
    attempt.succeeded(&state).await?;
    if user.totp_secret.is_some() {
        let code = p.form.get("code").unwrap_or_default();
        let outcome = second_factor::check(&state, user, code, client_address(&p.headers)).await?;
        if !matches!(outcome, Outcome::Accepted { .. }) {
            let said = match outcome {
                Outcome::Locked(_) => "Too many wrong codes. Try again later.",
                _ => outcome.refusal().unwrap_or("That code is not valid."),
            };
            return refuse("code", &format!("{said} Nothing was deleted."));
        }
    }
    delete_account(&state, &user.uuid, DeletedBy::Themselves, &p.headers).await?;
    let page = state.pages.show(state.sandbox(), &DeletedPage {})?;
    Ok(with_cookie(
        page.into_response(),
        &set_cookie(SESSION_COOKIE, "", 0, state.secure_cookies),
    ))
}
