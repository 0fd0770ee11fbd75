//! The admin API's verification cases (SPEC 12's table): the queue, one case with its evidence
//! list and history, a decision, a revocation. The decisions are [`crate::verification`]'s.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use verity_core::verification::CaseState;

use super::handlers::json_body;
use crate::error::{AdminError, ApiError};
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
    let wanted = params.get("state").unwrap_or("in_review");
    let case_state: CaseState = serde_json::from_value(Value::String(wanted.to_owned()))
        .map_err(|_| ApiError::invalid_request(format!("unknown state {wanted:?}")))?;
    let cases = state.store.find_cases_in(case_state).await?;
    let listed: Vec<Value> = cases.iter().map(case_json).collect();
    Ok(axum::Json(listed).into_response())
}

/// `GET /verification-cases/{id}`: the case, its evidence (ids, types, sizes; never the
/// content) and its history (the audit events that name it).
pub(super) async fn read_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let case = state
        .store
        .find_case(&id)
        .await?
        .ok_or(AdminError::NotFound("case"))?;
    let evidence: Vec<Value> = state
        .store
        .find_case_evidence(&id)
        .await?
        .iter()
        .map(|e| {
            json!({"id": e.id, "kind": e.kind, "content_type": e.content_type, "size": e.size,
                   "created_at": e.created_at, "purged_at": e.purged_at})
        })
        .collect();
    let history: Vec<Value> = state
        .store
        .find_audit(None, Some(&case.uuid), 200)
        .await?
        .into_iter()
        .filter(|e| e.detail.get("case").and_then(Value::as_str) == Some(id.as_str()))
        .map(|e| json!({"at": e.at, "event": e.event, "detail": e.detail}))
        .collect();
    let mut answer = case_json(&case);
    answer["evidence"] = Value::Array(evidence);
    answer["history"] = Value::Array(history);
    Ok(axum::Json(answer).into_response())
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
