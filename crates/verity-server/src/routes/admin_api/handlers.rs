//! The admin API's handlers: each parses its JSON body, calls the one operation of
//! [`crate::admin`] that SPEC section 11 names, audits it, and answers JSON.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::admin::{self, AppInput, app_json};
use crate::audit::{AuditEvent, Change, Via};
use crate::error::{AdminError, ApiError};
use crate::state::AppState;

/// A JSON body into `T`, with the parser's complaint as the description.
pub(super) fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|_| ApiError::body_too_large("the body is too large"))?;
    if crate::extract::body_kind(headers) != Some(crate::extract::BodyKind::Json) {
        return Err(ApiError::invalid_request(
            "the body must be application/json",
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid_request(format!("invalid JSON body: {e}")))
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

pub(super) async fn create_organization(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: NameBody = json_body(&headers, body)?;
    let org = admin::create_organization(&state, &b.name, None).await?;
    audit(
        &state,
        &headers,
        Change::OrganizationCreated,
        None,
        json!({"organization": org.id}),
    )
    .await;
    Ok(created(json!({"id": org.id, "name": org.name})))
}

pub(super) async fn list_apps(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if id.len() > 64 || state.store.find_organization(&id).await?.is_none() {
        return Err(AdminError::NotFound("organization").into());
    }
    let apps: Vec<Value> = state
        .store
        .find_org_apps(&id)
        .await?
        .iter()
        .map(app_json)
        .collect();
    Ok(axum::Json(apps).into_response())
}

pub(super) async fn create_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let input: AppInput = json_body(&headers, body)?;
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
    Ok(created(admin::new_app_json(&app, secret, &secrets)))
}

pub(super) async fn read_app(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(admin::app_details(&state, &client_id).await?).into_response())
}

pub(super) async fn update_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let input: AppInput = json_body(&headers, body)?;
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
    Ok(axum::Json(admin::app_details(&state, &app.client_id).await?).into_response())
}

pub(super) async fn delete_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    admin::delete_app(&state, &client_id).await?;
    audit(
        &state,
        &headers,
        Change::AppDeleted,
        Some(&client_id),
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn add_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    let (id, secret) = admin::add_secret(&state, &client_id).await?;
    audit(
        &state,
        &headers,
        Change::SecretCreated,
        Some(&client_id),
        json!({"secret_id": id}),
    )
    .await;
    Ok(created(json!({"id": id, "client_secret": secret})))
}

pub(super) async fn delete_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((client_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    admin::delete_secret(&state, &client_id, &id).await?;
    audit(
        &state,
        &headers,
        Change::SecretDeleted,
        Some(&client_id),
        json!({"secret_id": id}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    email: String,
    password: String,
    #[serde(default)]
    attributes: BTreeMap<String, Value>,
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: UserBody = json_body(&headers, body)?;
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
    Ok(created(json!({"uuid": uuid})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerificationBody {
    verified: bool,
    #[serde(default)]
    subgroups: Vec<String>,
}

pub(super) async fn set_verification(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((uuid, group)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: VerificationBody = json_body(&headers, body)?;
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
    Ok(axum::Json(
        json!({"uuid": uuid, "group": group, "verified": b.verified, "subgroups": b.subgroups}),
    )
    .into_response())
}

pub(super) async fn rotate_keys(State(state): State<AppState>) -> Result<Response, ApiError> {
    let kids = crate::maintenance::rotate(&state)
        .await
        .map_err(|e| ApiError::internal("key rotation", e))?;
    Ok(created(json!({"kid": kids.first(), "kids": kids})))
}
