//! ID.me's `GET /api/public/v3/policies?client_id=&client_secret=` (SPEC section 7), also as
//! `policies.json`: the policies the app is provisioned with.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use verity_core::identity::policy_response;

use crate::error::ApiError;
use crate::extract::query_params;
use crate::routes::client::authenticate;
use crate::state::AppState;

/// Both spellings: ID.me's own demo client calls `policies.json`, as it does `attributes.json`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/public/v3/policies", get(policies))
        .route("/api/public/v3/policies.json", get(policies))
}

async fn policies(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = query_params(query.as_deref());
    let app = authenticate(&state, &headers, &params).await?;
    let body: Vec<_> = app
        .policies
        .iter()
        .filter_map(|h| state.policy(h))
        .map(policy_response)
        .collect();
    Ok(axum::Json(body).into_response())
}
