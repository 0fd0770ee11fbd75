//! The admin API's view of one person and their deletion (SPEC 14): `GET /users/{uuid}` and
//! `DELETE /users/{uuid}`, the latter with the same effect as the person's own deletion; and
//! `DELETE /users/{uuid}/second-factors`, the operator's way back for a person who lost every
//! second factor.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verity_proto::error::ErrorCode;

use super::wire::{ErrorBody, UserDetailsResponse, UserVerification};
use crate::erase::{DeletedBy, delete_account};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(read_user, delete_user))
        .routes(routes!(remove_second_factors))
}

fn no_such_user() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such user")
}

/// One account: its email, attributes and verifications (SPEC 14).
#[utoipa::path(get, path = "/users/{uuid}", tag = "users",
    params(("uuid" = String, Path, description = "The account's uuid")),
    responses(
        (status = 200, description = "The account", body = UserDetailsResponse),
        (status = 404, description = "No such account", body = ErrorBody),
    ),
)]
pub(super) async fn read_user(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
) -> Result<Json<UserDetailsResponse>, ApiError> {
    let Some((user, data)) = state.store.find_user_and_data(&uuid).await? else {
        return Err(no_such_user());
    };
    let verifications = state
        .store
        .find_verifications(&uuid)
        .await?
        .into_iter()
        .map(|v| UserVerification {
            group: v.group,
            verified: v.verified,
            subgroups: v.subgroups,
            method: v.method,
            decided_at: v.decided_at,
        })
        .collect();
    Ok(Json(UserDetailsResponse {
        uuid: user.uuid,
        email: user.email,
        attributes: data.attributes,
        verifications,
    }))
}

/// Delete an account and everything of it, as the person's own deletion does (SPEC 14):
/// tokens stop working, apps are told, audit rows keep only the uuid.
#[utoipa::path(delete, path = "/users/{uuid}", tag = "users",
    params(("uuid" = String, Path, description = "The account's uuid")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such account", body = ErrorBody),
    ),
)]
pub(super) async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<StatusCode, ApiError> {
    if delete_account(&state, &uuid, DeletedBy::AdminApi, &headers).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_user())
    }
}

/// Remove every second factor of an account (authenticator app, recovery codes, passkeys) and
/// end its sessions: the operator's way back for a person who lost them all, after the operator
/// has checked who is asking. The person then signs in with the password alone and sets up a new
/// factor. Audited as `admin.second_factors.removed`.
#[utoipa::path(delete, path = "/users/{uuid}/second-factors", tag = "users",
    params(("uuid" = String, Path, description = "The account's uuid")),
    responses(
        (status = 204, description = "Removed; every session of the account ended"),
        (status = 404, description = "No such account", body = ErrorBody),
    ),
)]
pub(super) async fn remove_second_factors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<StatusCode, ApiError> {
    if crate::admin::remove_second_factors(&state, &uuid, "admin_api", &headers).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_user())
    }
}
