//! The admin API's organizations, apps, users and keys (SPEC 11): each handler parses its JSON
//! body, calls the one operation of [`crate::admin`] that SPEC section 11 names, audits it, and
//! answers one of [`super::wire`]'s types. Each is registered by [`routes`] from its
//! `#[utoipa::path]`, which also documents it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{
    AppDetailsResponse, AppResponse, ErrorBody, KeyRotationResponse, NewAppResponse,
    NewSecretResponse, OrganizationRequest, OrganizationResponse, UserRequest, UserResponse,
    VerificationRequest, VerificationResponse,
};
use crate::admin::{self, AppInput};
use crate::audit::{AuditEvent, Change, Via};
use crate::error::{AdminError, ApiError};
use crate::extract::JsonBody;
use crate::state::AppState;

/// These handlers' routes, each from its annotation (one `routes!` per path).
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create_organization))
        .routes(routes!(list_apps, create_app))
        .routes(routes!(read_app, update_app, delete_app))
        .routes(routes!(add_secret))
        .routes(routes!(delete_secret))
        .routes(routes!(create_user))
        .routes(routes!(set_verification))
        .routes(routes!(rotate_keys))
}

/// A `201 Created` answer.
type Created<T> = (StatusCode, Json<T>);

fn created<T>(answer: T) -> Created<T> {
    (StatusCode::CREATED, Json(answer))
}

/// Audits a change made through the admin API (no user: the caller holds the admin token).
async fn audit(
    state: &AppState,
    headers: &HeaderMap,
    change: Change,
    client_id: Option<&str>,
    detail: Value,
) {
    let event = AuditEvent::Changed(Via::Admin, change);
    state.audit(event, None, client_id, headers, detail).await;
}

/// Create an organization (SPEC 11).
#[utoipa::path(post, path = "/organizations", tag = "organizations",
    request_body = OrganizationRequest,
    responses(
        (status = 201, description = "The organization", body = OrganizationResponse),
        (status = 400, description = "Not a valid name", body = ErrorBody),
        (status = 409, description = "An organization of that name exists", body = ErrorBody),
    ),
)]
pub(super) async fn create_organization(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(b): JsonBody<OrganizationRequest>,
) -> Result<Created<OrganizationResponse>, ApiError> {
    let org = admin::create_organization(&state, &b.name, None).await?;
    audit(
        &state,
        &headers,
        Change::OrganizationCreated,
        None,
        json!({"organization": org.id}),
    )
    .await;
    Ok(created(OrganizationResponse {
        id: org.id,
        name: org.name,
    }))
}

/// List an organization's apps, without their secrets (SPEC 11).
#[utoipa::path(get, path = "/organizations/{id}/apps", tag = "apps",
    params(("id" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The apps", body = [AppResponse]),
        (status = 404, description = "No such organization", body = ErrorBody),
    ),
)]
pub(super) async fn list_apps(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<AppResponse>>, ApiError> {
    if id.len() > 64 || state.store.find_organization(&id).await?.is_none() {
        return Err(AdminError::NotFound("organization").into());
    }
    let apps = state.store.find_org_apps(&id).await?;
    Ok(Json(apps.iter().map(AppResponse::from).collect()))
}

/// Register an app; its first client secret is shown only in this answer (SPEC 11).
#[utoipa::path(post, path = "/organizations/{id}/apps", tag = "apps",
    params(("id" = String, Path, description = "The organization's id")),
    request_body = AppInput,
    responses(
        (status = 201, body = NewAppResponse,
            description = "The app, with `client_secret` unless it is public"),
        (status = 400, description = "One message per rejected setting", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
    ),
)]
pub(super) async fn create_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<AppInput>,
) -> Result<Created<NewAppResponse>, ApiError> {
    if id.len() > 64 {
        return Err(AdminError::NotFound("organization").into());
    }
    let (app, secret) = admin::create_app(&state, &id, input).await?;
    audit(
        &state,
        &headers,
        Change::AppCreated,
        Some(&app.client_id),
        json!({}),
    )
    .await;
    let secrets = state.store.find_app_secrets(&app.client_id).await?;
    Ok(created(NewAppResponse {
        app: AppDetailsResponse::new(&app, &secrets),
        client_secret: secret,
    }))
}

/// Read an app, with its secrets' ids and times (SPEC 11).
#[utoipa::path(get, path = "/apps/{client_id}", tag = "apps",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The app", body = AppDetailsResponse),
        (status = 404, description = "No such app", body = ErrorBody),
    ),
)]
pub(super) async fn read_app(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Json<AppDetailsResponse>, ApiError> {
    Ok(Json(admin::read_app(&state, &client_id).await?))
}

/// Change an app; absent fields keep their value (SPEC 11).
#[utoipa::path(patch, path = "/apps/{client_id}", tag = "apps",
    params(("client_id" = String, Path)),
    request_body = AppInput,
    responses(
        (status = 200, description = "The app as changed", body = AppDetailsResponse),
        (status = 400, description = "One message per rejected setting", body = ErrorBody),
        (status = 404, description = "No such app", body = ErrorBody),
    ),
)]
pub(super) async fn update_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    JsonBody(input): JsonBody<AppInput>,
) -> Result<Json<AppDetailsResponse>, ApiError> {
    let changed: Vec<String> = serde_json::to_value(&input)
        .ok()
        .and_then(|v| {
            v.as_object().map(|m| {
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
        })
        .unwrap_or_default();
    let app = admin::update_app(&state, &client_id, input).await?;
    audit(
        &state,
        &headers,
        Change::AppUpdated,
        Some(&app.client_id),
        json!({"fields": changed}),
    )
    .await;
    Ok(Json(admin::read_app(&state, &app.client_id).await?))
}

/// Delete an app and revoke its tokens (SPEC 11).
#[utoipa::path(delete, path = "/apps/{client_id}", tag = "apps",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such app", body = ErrorBody),
    ),
)]
pub(super) async fn delete_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin::delete_app(&state, &client_id).await?;
    audit(
        &state,
        &headers,
        Change::AppDeleted,
        Some(&client_id),
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a client secret: rotation, the old secrets stay valid until deleted (SPEC 11).
#[utoipa::path(post, path = "/apps/{client_id}/secrets", tag = "apps",
    params(("client_id" = String, Path)),
    responses(
        (status = 201, description = "The new secret, shown this once", body = NewSecretResponse),
        (status = 400, description = "A public app has no secret", body = ErrorBody),
        (status = 404, description = "No such app", body = ErrorBody),
    ),
)]
pub(super) async fn add_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Created<NewSecretResponse>, ApiError> {
    let (id, secret) = admin::add_secret(&state, &client_id).await?;
    audit(
        &state,
        &headers,
        Change::SecretCreated,
        Some(&client_id),
        json!({"secret_id": id}),
    )
    .await;
    Ok(created(NewSecretResponse {
        id,
        client_secret: secret,
    }))
}

/// Delete a client secret (SPEC 11).
#[utoipa::path(delete, path = "/apps/{client_id}/secrets/{id}", tag = "apps",
    params(("client_id" = String, Path), ("id" = String, Path, description = "The secret's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such app or secret", body = ErrorBody),
    ),
)]
pub(super) async fn delete_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((client_id, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    admin::delete_secret(&state, &client_id, &id).await?;
    audit(
        &state,
        &headers,
        Change::SecretDeleted,
        Some(&client_id),
        json!({"secret_id": id}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a user account with attributes (SPEC 11).
#[utoipa::path(post, path = "/users", tag = "users",
    request_body = UserRequest,
    responses(
        (status = 201, description = "The account", body = UserResponse),
        (status = 400, description = "One message per rejected field", body = ErrorBody),
        (status = 409, description = "An account for that email exists", body = ErrorBody),
    ),
)]
pub(super) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(b): JsonBody<UserRequest>,
) -> Result<Created<UserResponse>, ApiError> {
    let uuid = admin::create_user(&state, &b.email, &b.password, b.attributes).await?;
    state
        .audit(
            AuditEvent::Changed(Via::Admin, Change::UserCreated),
            Some(&uuid),
            None,
            &headers,
            json!({}),
        )
        .await;
    Ok(created(UserResponse { uuid }))
}

/// Record a verification an operator asserts (SPEC 11).
#[utoipa::path(put, path = "/users/{uuid}/verifications/{group}", tag = "users",
    params(
        ("uuid" = String, Path, description = "The account's uuid"),
        ("group" = String, Path, description = "A group handle, or `identity`"),
    ),
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "The verification recorded", body = VerificationResponse),
        (status = 400, description = "A subgroup the group does not have", body = ErrorBody),
        (status = 404, description = "No such group or account", body = ErrorBody),
    ),
)]
pub(super) async fn set_verification(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, group)): Path<(String, String)>,
    JsonBody(b): JsonBody<VerificationRequest>,
) -> Result<Json<VerificationResponse>, ApiError> {
    admin::set_verification(
        &state,
        &uuid,
        &group,
        b.verified,
        b.subgroups.clone(),
        "admin API",
    )
    .await?;
    state
        .audit(
            AuditEvent::Changed(Via::Admin, Change::VerificationSet),
            Some(&uuid),
            None,
            &headers,
            json!({"group": group, "verified": b.verified}),
        )
        .await;
    Ok(Json(VerificationResponse {
        uuid,
        group,
        verified: b.verified,
        subgroups: b.subgroups,
    }))
}

/// Start a signing-key rollover (SPEC 6 and 11); answers the new keys' ids.
#[utoipa::path(post, path = "/keys/rotate", tag = "keys",
    responses((status = 201, description = "The new keys", body = KeyRotationResponse)),
)]
pub(super) async fn rotate_keys(
    State(state): State<AppState>,
) -> Result<Created<KeyRotationResponse>, ApiError> {
    let kids = crate::maintenance::rotate(&state)
        .await
        .map_err(|e| ApiError::internal("key rotation", e))?;
    Ok(created(KeyRotationResponse {
        kid: kids.first().cloned(),
        kids,
    }))
}
