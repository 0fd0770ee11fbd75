//! SPEC 12 in the journey: `/oauth/interaction/{id}/verify/{group}`, the methods of one missing
//! group ([`crate::routes::group_methods`] shows them): after the right code the journey goes on
//! to consent; after an upload the page offers to go on without the group or to cancel.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::answers::{next, respond_again};
use super::loaded::{Loaded, Posted, current_session, load};
use crate::error::PageError;
use crate::routes::group_methods::{self, At, Shown, UploadFields};
use crate::state::AppState;

/// GET: the methods of `group`, or the code step when a code was sent.
pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, group)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let l = load(&state, &headers, &id, None).await?;
    page(&state, &headers, &l, &group, Shown::default()).await
}

/// POST: send a code (`method=email_domain`, `email`) or enter one (`code`).
pub(super) async fn submit(
    State(state): State<AppState>,
    Path((_, group)): Path<(String, String)>,
    Posted { headers, l, form }: Posted,
) -> Result<Response, PageError> {
    let Some(uuid) = lacking(&state, &headers, &l, &group).await? else {
        return Ok(next(&l.ix.id));
    };
    match group_methods::email_step(&state, &uuid, &group, &form, &headers).await? {
        None => Ok(next(&l.ix.id)),
        Some(shown) if !shown.any_error() => Ok(respond_again(&l.ix.id, &group)),
        Some(shown) => page(&state, &headers, &l, &group, shown).await,
    }
}

/// POST `/oauth/interaction/{id}/verify/{group}/upload` (multipart: `csrf_token`,
/// `document_type`, `file` repeated, and for `identity` `selfie`): the documents go to review.
pub(super) async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, group)): Path<(String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let fields = UploadFields::read(&state, multipart).await?;
    let l = load(&state, &headers, &id, Some(&fields.csrf_token)).await?;
    let Some(uuid) = lacking(&state, &headers, &l, &group).await? else {
        return Ok(next(&l.ix.id));
    };
    match fields.submit(&state, &uuid, &group, &headers).await? {
        None => Ok(respond_again(&l.ix.id, &group)),
        Some(shown) => page(&state, &headers, &l, &group, shown).await,
    }
}

/// The account signed in to this journey, when it still lacks `group` for the request's
/// policies (otherwise the journey goes on).
async fn lacking(
    state: &AppState,
    headers: &HeaderMap,
    l: &Loaded,
    group: &str,
) -> Result<Option<String>, PageError> {
    let Some(session) = current_session(state, headers, &l.ix).await? else {
        return Ok(None);
    };
    let missing = super::verify::missing_groups(state, &l.request, &session.uuid).await?;
    let lacks = missing.is_some_and(|groups| groups.iter().any(|g| g == group));
    Ok(lacks.then_some(session.uuid))
}

/// The page for `group`, as its case stands, with `shown`'s messages.
async fn page(
    state: &AppState,
    headers: &HeaderMap,
    l: &Loaded,
    group: &str,
    shown: Shown<'_>,
) -> Result<Response, PageError> {
    let Some(uuid) = lacking(state, headers, l, group).await? else {
        return Ok(next(&l.ix.id));
    };
    let at = At::Journey {
        interaction_id: &l.ix.id,
        app_name: &l.app.name,
        logo_url: l.app.logo_url.as_deref(),
    };
    group_methods::show(state, at, &l.ix.csrf_token, &uuid, group, shown).await
}
