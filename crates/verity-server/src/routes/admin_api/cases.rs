//! The admin API's verification cases (SPEC 12's table): the queue, one case with its evidence
//! list and history, a decision, a revocation; and the `reviewer` role, granted and taken back.
//! The decisions are [`crate::verification`]'s. Each handler is registered by [`routes`] from
//! its `#[utoipa::path]`, which also documents it.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::HeaderMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verity_core::review::{Refusal, Role};
use verity_proto::error::ErrorCode;

use super::Caller;
use super::wire::{CaseDetailsResponse, CaseResponse, ErrorBody, RevokeRequest, RolesResponse};
use crate::audit::Via;
use crate::error::ApiError;
use crate::extract::{JsonBody, query_params};
use crate::state::AppState;
use crate::verification::{self, Decision, review};

/// These handlers' routes, each from its annotation (one `routes!` per path).
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list_cases))
        .routes(routes!(read_case))
        .routes(routes!(decide))
        .routes(routes!(revoke))
        .routes(routes!(grant_role, revoke_role))
}

/// Who decides through the admin API (the caller holds the admin token, not an account).
const ADMIN: &str = "admin API";

/// List the verification cases in a state, oldest first (SPEC 12).
#[utoipa::path(get, path = "/verification-cases", tag = "verification cases",
    params(
        ("state" = Option<String>, Query, description = "A case state; `in_review` when absent"),
    ),
    responses(
        (status = 200, description = "The cases", body = [CaseResponse]),
        (status = 400, description = "No such state", body = ErrorBody),
    ),
)]
pub(super) async fn list_cases(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<CaseResponse>>, ApiError> {
    let params = query_params(query.as_deref());
    let wanted = params.get("state").unwrap_or("in_review");
    Ok(Json(verification::cases_in_state(&state, wanted).await?))
}

/// Read a verification case, its evidence list (never the content) and its history (SPEC 12).
#[utoipa::path(get, path = "/verification-cases/{id}", tag = "verification cases",
    params(("id" = String, Path, description = "The case's id")),
    responses(
        (status = 200, description = "The case", body = CaseDetailsResponse),
        (status = 404, description = "No such case", body = ErrorBody),
    ),
)]
pub(super) async fn read_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CaseDetailsResponse>, ApiError> {
    Ok(Json(verification::case_with_history(&state, &id).await?))
}

/// Approve (with subgroups, and for `identity` the attributes read) or reject (with a reason)
/// a case in review (SPEC 12).
///
/// A reviewer's token decides under the review rules: the case is claimed for them first
/// (never their own, nor one another reviewer holds: 403).
#[utoipa::path(post, path = "/verification-cases/{id}/decision", tag = "verification cases",
    params(("id" = String, Path, description = "The case's id")),
    request_body = Decision,
    responses(
        (status = 200, description = "The case as decided", body = CaseResponse),
        (status = 400, description = "A decision that does not fit the case", body = ErrorBody),
        (status = 403, body = ErrorBody,
            description = "A reviewer's own case, or one another reviewer holds"),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "The case is not in review", body = ErrorBody),
    ),
)]
pub(super) async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(d): JsonBody<Decision>,
) -> Result<Json<CaseResponse>, ApiError> {
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
    Ok(Json(CaseResponse::from(&case)))
}

/// A review rule's refusal as the admin API answers it.
fn refused(refusal: Refusal) -> ApiError {
    let code = match refusal {
        Refusal::NotInReview => ErrorCode::Conflict,
        _ => ErrorCode::Forbidden,
    };
    ApiError::new(code, refusal.explanation())
}

/// Revoke an account's verification of a group; answers its case, now revoked (SPEC 12).
#[utoipa::path(post, path = "/users/{uuid}/verifications/{group}/revoke",
    tag = "verification cases",
    params(
        ("uuid" = String, Path, description = "The account's uuid"),
        ("group" = String, Path, description = "A group handle, or `identity`"),
    ),
    request_body = RevokeRequest,
    responses(
        (status = 200, description = "The case, revoked", body = CaseResponse),
        (status = 400, description = "No reason, or one too long", body = ErrorBody),
        (status = 404, description = "No verification of that group to revoke", body = ErrorBody),
    ),
)]
pub(super) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, group)): Path<(String, String)>,
    JsonBody(b): JsonBody<RevokeRequest>,
) -> Result<Json<CaseResponse>, ApiError> {
    let case = verification::revoke(&state, &uuid, &group, &b.reason, ADMIN, &headers).await?;
    Ok(Json(CaseResponse::from(&case)))
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

/// Grant a deployment role (`reviewer`: works the verification queue at `/review`); granted
/// again, nothing changes (SPEC 12).
#[utoipa::path(put, path = "/users/{uuid}/roles/{role}", tag = "roles",
    params(
        ("uuid" = String, Path, description = "The account's uuid"),
        ("role" = String, Path, description = "`reviewer`"),
    ),
    responses(
        (status = 200, description = "The roles the account holds", body = RolesResponse),
        (status = 404, description = "No such account or role", body = ErrorBody),
    ),
)]
pub(super) async fn grant_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, name)): Path<(String, String)>,
) -> Result<Json<RolesResponse>, ApiError> {
    change_role(&state, &headers, uuid, &name, true).await
}

/// Take a deployment role back; not held, nothing changes (SPEC 12).
#[utoipa::path(delete, path = "/users/{uuid}/roles/{role}", tag = "roles",
    params(
        ("uuid" = String, Path, description = "The account's uuid"),
        ("role" = String, Path, description = "`reviewer`"),
    ),
    responses(
        (status = 200, description = "The roles the account holds", body = RolesResponse),
        (status = 404, description = "No such account or role", body = ErrorBody),
    ),
)]
pub(super) async fn revoke_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, name)): Path<(String, String)>,
) -> Result<Json<RolesResponse>, ApiError> {
    change_role(&state, &headers, uuid, &name, false).await
}

/// Grants (`grant`) or takes back role `name` of account `uuid`; answers the roles it holds.
async fn change_role(
    state: &AppState,
    headers: &HeaderMap,
    uuid: String,
    name: &str,
    grant: bool,
) -> Result<Json<RolesResponse>, ApiError> {
    let role = role(name)?;
    let roles = review::change_role(state, &uuid, role, Via::Admin, headers, grant).await?;
    Ok(Json(RolesResponse { uuid, roles }))
}
