//! `/metrics`: the Prometheus exposition of [`crate::metrics::Metrics`] and the pool's use.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub async fn metrics(State(state): State<AppState>) -> Response {
    let body = state
        .metrics
        .render(state.store.pool_use(), state.store.backend());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
