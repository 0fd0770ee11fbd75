//! RFC 7009 token revocation (SPEC section 7), client-authenticated.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use verity_core::secret::{is_token_shaped, token_hash};

use crate::audit::AuditEvent;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/revoke", post(revoke))
}

/// RFC 7009 2.1-2.2: revoke `token` if it belongs to the authenticated client; answer 200 whether
/// or not it existed (so the endpoint tells nothing about other clients' tokens).
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (app, params) = crate::routes::client::token_request(&state, &headers, body).await?;
    let token = params.get("token").unwrap_or_default();
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
                    &headers,
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
