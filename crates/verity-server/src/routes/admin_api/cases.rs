//! The admin API's verification cases (SPEC 12's table): the queue, one case with its evidence
//! list and history, a decision, a revocation; and the `reviewer` role, granted and taken back. The decisions are [`crate::verification`]'s.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use verity_core::review::{Refusal, Role};
use verity_proto::error::ErrorCode;

use super::Caller;
use super::handlers::json_body;
use crate::audit::Via;
use crate::error::ApiError;
use crate::extract::query_params;
use crate::state::AppState;
use crate::verification::{self, Decision, case_json, review};

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

/// `POST /verification-cases/{id}/decision`. A reviewer's token decides under the review rules:
/// the case is claimed for them first (never their own, nor one another reviewer holds: 403).
pub(super) async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let d: Decision = json_body(&headers, body)?;
    let case = match caller {
        Caller::Admin => verification::decide(&state, &id, &d, ADMIN, &headers).await?,
        Caller::Reviewer(user) => {
            review::claim(&state, &id, &user.uuid, &headers)
                .await?
                .map_err(refused)?;
            review::decide_as(&state, &id, &d, &user, &headers)
                .await?
                .map_err(refused)?
        }
    };
    Ok(axum::Json(case_json(&case)).into_response())
}

/// A review rule's refusal as the admin API answers it.
fn refused(refusal: Refusal) -> ApiError {
    let code = match refusal {
        Refusal::NotInReview => ErrorCode::Conflict,
        _ => ErrorCode::Forbidden,
    };
    ApiError::new(code, refusal.explanation())
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

/// The role a path names (`reviewer`); 404 for another.
fn role(name: &str) -> Result<Role, ApiError> {
    Role::parse(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no role {name:?} (roles: reviewer)"),
        )
    })
}

fn roles_json(uuid: &str, roles: &[Role]) -> Response {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    axum::Json(json!({"uuid": uuid, "roles": names})).into_response()
}

/// `PUT /users/{uuid}/roles/{role}`: grant (again: no change).
pub(super) async fn grant_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let role = role(&name)?;
    let roles = review::change_role(&state, &uuid, role, Via::Admin, &headers, true).await?;
    Ok(roles_json(&uuid, &roles))
}

/// `DELETE /users/{uuid}/roles/{role}`: take back (not held: no change).
pub(super) async fn revoke_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let role = role(&name)?;
    let roles = review::change_role(&state, &uuid, role, Via::Admin, &headers, false).await?;
    Ok(roles_json(&uuid, &roles))
}
