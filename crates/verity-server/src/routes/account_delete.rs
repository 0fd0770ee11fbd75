//! The person ending things from `/account` (SPEC 14): every other session at once
//! (`POST /account/sessions/end-others`), and the account itself (`/account/delete`).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

use crate::audit::AuditEvent;
use crate::error::PageError;
use crate::respond::see_other;
use crate::session::SignedInForm;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/account/sessions/end-others", post(end_others))
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
