//! How a step's handler answers a form post: the step again with a message (a wrong password,
//! a limit, too many failures), on to the next step, or back to the app when the person declines.

use axum::http::HeaderMap;
use axum::response::Response;
use verity_core::authorize::Op;

use super::loaded::{Loaded, expired_page};
use super::{Entry, advance};
use crate::error::PageError;
use crate::respond::{After, redirect_to_client, retry_later, see_other};
use crate::state::AppState;

/// Re-renders the current step with an error message (a failed password, a wrong code ...).
pub(super) async fn again(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Option<Op>,
    error: &str,
) -> Result<Response, PageError> {
    let entry = Entry {
        op,
        error: Some(error),
        ..Entry::default()
    };
    after_post(state, headers, l, entry).await
}

/// The sign-in or sign-up form again, with the email the person typed (never a password) and
/// each problem beside its field.
pub(super) async fn again_fields(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Op,
    email: &str,
    fields: &[(&'static str, &str)],
) -> Result<Response, PageError> {
    let entry = Entry {
        op: Some(op),
        email: Some(email),
        fields,
        ..Entry::default()
    };
    after_post(state, headers, l, entry).await
}

/// The current step again with one problem beside the control it is about (a passkey refused:
/// `field` is `passkey`).
pub(super) async fn again_beside(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Option<Op>,
    field: &'static str,
    message: &str,
) -> Result<Response, PageError> {
    let fields = [(field, message)];
    let entry = Entry {
        op,
        fields: &fields,
        ..Entry::default()
    };
    after_post(state, headers, l, entry).await
}

/// Over a limit (`crate::limits`): the form again with the email the person typed and when to
/// try again, answered 429 with `Retry-After`.
pub(super) async fn limited(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Op,
    email: &str,
    refused: crate::limits::Refused,
) -> Result<Response, PageError> {
    let text = refused.message();
    let entry = Entry {
        op: Some(op),
        error: Some(&text),
        email: Some(email),
        ..Entry::default()
    };
    Ok(refused.answer(after_post(state, headers, l, entry).await?))
}

/// Too many failures: the step again with the waiting time, answered 429.
pub(super) async fn too_many(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Option<Op>,
    email: Option<&str>,
    wait: i64,
) -> Result<Response, PageError> {
    let text = format!(
        "Too many failed attempts. Try again in {}.",
        verity_core::throttle::wait_text(wait)
    );
    let entry = Entry {
        op,
        error: Some(&text),
        email,
        ..Entry::default()
    };
    let resp = after_post(state, headers, l, entry).await?;
    Ok(retry_later(resp, wait.max(1)))
}

/// The journey's next page after a form post (`entry` says what to show again with it); a
/// redirect to the app answers 303.
async fn after_post(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    entry: Entry<'_>,
) -> Result<Response, PageError> {
    let entry = Entry {
        after: After::Post,
        ..entry
    };
    advance(state, headers, l.ix, &l.app, &l.request, entry).await
}

/// `303 See Other` to a group's verification page (after a code was sent).
pub(super) fn respond_again(id: &str, group: &str) -> Response {
    see_other(&format!("/oauth/interaction/{id}/verify/{group}"))
}

/// `303 See Other` to the interaction page, which shows what comes next.
pub(super) fn next(id: &str) -> Response {
    see_other(&format!("/oauth/interaction/{id}"))
}

/// RFC 6749 4.1.2.1 `access_denied`, back to the app.
pub(super) async fn deny(state: &AppState, l: Loaded) -> Result<Response, PageError> {
    if !state.store.take_interaction(&l.ix.id).await? {
        return Err(expired_page());
    }
    tracing::info!(client_id = %l.app.client_id, "the user declined");
    Ok(redirect_to_client(
        &l.request.redirect_uri,
        l.request.response_mode,
        &[
            ("error", "access_denied"),
            ("error_description", "the user declined the request"),
        ],
        l.request.state.as_deref(),
        state,
        After::Post,
    ))
}
