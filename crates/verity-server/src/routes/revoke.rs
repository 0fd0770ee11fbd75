//! RFC 7009 token revocation (SPEC section 7), client-authenticated.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use verity_core::secret::{is_token_shaped, token_hash};

use crate::audit::AuditEvent;
use crate::cors;
use crate::error::ApiError;
use crate::routes::client::ClientRequest;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/revoke", post(revoke).options(cors::preflight_post))
}

/// RFC 7009 2.1-2.2: revoke `token` if it belongs to the authenticated client; answer 200 whether
/// or not it existed (so the endpoint tells nothing about other clients' tokens). The answer is
/// readable by the app's own web origins (CORS).
async fn revoke(State(state): State<AppState>, req: ClientRequest) -> Response {
    req.readable(revoke_token(&state, &req).await)
}

async fn revoke_token(state: &AppState, req: &ClientRequest) -> Result<Response, ApiError> {
    let token = req.token()?;
    let (app, headers) = (&req.app, &req.headers);
    if is_token_shaped(token) {
        let now = state.now();
        if state
            .store
            .revoke_token(&token_hash(token), &app.client_id, now)
            .await?
        {
            state
                .audit(
                    AuditEvent::TokenRevoked,
                    None,
                    Some(&app.client_id),
                    headers,
                    serde_json::json!({}),
                )
                .await;
        }
    }
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
