//! The admin API's verification cases (SPEC 12's table): the queue, one case with its evidence
//! list and history, a decision, a revocation. The decisions are [`crate::verification`]'s.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::handlers::json_body;
use crate::error::ApiError;
use crate::extract::query_params;
use crate::state::AppState;
use crate::verification::{self, Decision, case_json};

/// Who decides through the admin API (the caller holds the admin token, not an account).
const ADMIN: &str = "admin API";

/// `GET /verification-cases?state=...` (default `in_review`): oldest first.
pub(super) async fn list_cases(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = query_params(query.as_deref());
    let listed = verification::cases_in(&state, params.get("state").unwrap_or("in_review")).await?;
    Ok(axum::Json(listed).into_response())
}

/// `GET /verification-cases/{id}`: the case, its evidence list and its history.
pub(super) async fn read_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(verification::case_details(&state, &id).await?).into_response())
}

/// `POST /verification-cases/{id}/decision`.
pub(super) async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let d: Decision = json_body(&headers, body)?;
    let case = verification::decide(&state, &id, &d, ADMIN, &headers).await?;
    Ok(axum::Json(case_json(&case)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: String,
}

/// `POST /users/{uuid}/verifications/{group}/revoke`.
pub(super) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, group)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: RevokeBody = json_body(&headers, body)?;
    let case = verification::revoke(&state, &uuid, &group, &b.reason, ADMIN, &headers).await?;
    Ok(axum::Json(case_json(&case)).into_response())
}
