//! `/metrics`: the exposition of [`crate::metrics::Metrics`] and the pool's use. On the main port
//! it answers only a caller holding `VERITY_METRICS_TOKEN` (`Authorization: Bearer`, compared in
//! constant time), and is not there at all (404) without one; `VERITY_METRICS_LISTEN` serves it
//! without a token on an address of its own, for a scraper on a private network.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use verity_core::client_auth::parse_bearer;
use verity_core::secret::constant_time_eq;

use crate::state::AppState;

/// `/metrics` on the main port, behind the token.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.settings.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bearer);
    match presented {
        Some(p) if constant_time_eq(p.as_bytes(), token.0.as_bytes()) => exposition(&state),
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
        )
            .into_response(),
    }
}

/// The router of the separate metrics listener: `/metrics`, no token, nothing else.
pub fn private_router(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(s): State<AppState>| async move { exposition(&s) }),
        )
        .with_state(state)
}

fn exposition(state: &AppState) -> Response {
    let body = state
        .metrics
        .render(state.store.pool_use(), state.store.backend());
    let content_type = HeaderValue::from_static(crate::metrics::CONTENT_TYPE);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
