//! The admin API of SPEC section 11 at `/api/admin/v1`: JSON in and out, errors as
//! `{"error", "error_description"}` (400, 401, 404, 409), `Authorization: Bearer
//! <VERITY_ADMIN_TOKEN>` compared in constant time. Disabled (404) when no token is configured.
//!
//! [`ROUTES`] is the single table from which both the router and the OpenAPI 3 document at
//! `/api/admin/v1/openapi.json` are built, so the two cannot drift apart.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use verity_core::client_auth::parse_bearer;
use verity_core::secret::constant_time_eq;
use verity_proto::error::ErrorCode;

use crate::admin::{self, AdminError, AppInput, app_json};
use crate::audit::{AuditEvent, Change, Via};
use crate::error::ApiError;
use crate::state::AppState;

pub const PREFIX: &str = "/api/admin/v1";

/// One route: how it is served and how it is documented.
pub struct AdminRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub request: Option<fn() -> Value>,
    pub success: u16,
    pub response: fn() -> Value,
    router: fn() -> MethodRouter<AppState>,
}

fn s(t: &str) -> Value {
    json!({"type": t})
}

fn app_input_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "name": s("string"), "logo_url": {"type": ["string", "null"]},
        "redirect_uris": {"type": "array", "items": s("string")},
        "post_logout_redirect_uris": {"type": "array", "items": s("string")},
        "policies": {"type": "array", "items": s("string")},
        "profile": {"type": "string", "enum": ["idme", "oidc"]}, "public": s("boolean"), "refresh_tokens": s("boolean"),
        "id_token_alg": {"type": "string", "enum": ["RS256", "ES256"]},
        "userinfo_signed_response_alg": {"type": ["string", "null"], "enum": ["RS256", "ES256", null]},
        "code_ttl": s("integer"), "access_ttl": s("integer"), "refresh_ttl": s("integer"), "userinfo_ttl": s("integer"),
        "jwks": {"type": ["object", "null"]}, "jwks_uri": {"type": ["string", "null"]},
        "backchannel_logout_uri": {"type": ["string", "null"]}
    }})
}

fn app_schema() -> Value {
    let mut v = app_input_schema();
    if let Some(props) = v["properties"].as_object_mut() {
        for k in ["client_id", "organization_id"] {
            props.insert(k.into(), s("string"));
        }
        props.insert("created_at".into(), s("integer"));
        props.insert("updated_at".into(), s("integer"));
    }
    v
}

fn new_app_schema() -> Value {
    let mut v = app_schema();
    if let Some(props) = v["properties"].as_object_mut() {
        props.insert(
            "client_secret".into(),
            json!({"type": "string", "description": "shown once; absent for public apps"}),
        );
    }
    v
}

pub const ROUTES: &[AdminRoute] = &[
    AdminRoute {
        method: "post",
        path: "/organizations",
        summary: "Create an organization",
        request: Some(
            || json!({"type": "object", "required": ["name"], "properties": {"name": s("string")}}),
        ),
        success: 201,
        response: || json!({"type": "object", "properties": {"id": s("string"), "name": s("string")}}),
        router: || post(create_organization),
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{id}/apps",
        summary: "List an organization's apps (no secrets)",
        request: None,
        success: 200,
        response: || json!({"type": "array", "items": app_schema()}),
        router: || get(list_apps),
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{id}/apps",
        summary: "Register an app; the client_secret is shown only in this answer",
        request: Some(app_input_schema),
        success: 201,
        response: new_app_schema,
        router: || post(create_app),
    },
    AdminRoute {
        method: "get",
        path: "/apps/{client_id}",
        summary: "Read an app",
        request: None,
        success: 200,
        response: app_schema,
        router: || get(read_app),
    },
    AdminRoute {
        method: "patch",
        path: "/apps/{client_id}",
        summary: "Change an app (absent fields keep their value)",
        request: Some(app_input_schema),
        success: 200,
        response: app_schema,
        router: || patch(update_app),
    },
    AdminRoute {
        method: "delete",
        path: "/apps/{client_id}",
        summary: "Delete an app and revoke its tokens",
        request: None,
        success: 204,
        response: || json!({}),
        router: || delete(delete_app),
    },
    AdminRoute {
        method: "post",
        path: "/apps/{client_id}/secrets",
        summary: "Add a client secret (rotation: old secrets stay valid until deleted)",
        request: None,
        success: 201,
        response: || json!({"type": "object", "properties": {"id": s("string"), "client_secret": s("string")}}),
        router: || post(add_secret),
    },
    AdminRoute {
        method: "delete",
        path: "/apps/{client_id}/secrets/{id}",
        summary: "Delete a client secret",
        request: None,
        success: 204,
        response: || json!({}),
        router: || delete(delete_secret),
    },
    AdminRoute {
        method: "post",
        path: "/users",
        summary: "Create a user account with attributes",
        request: Some(|| {
            json!({"type": "object", "required": ["email", "password"], "properties": {
                "email": s("string"), "password": s("string"),
                "attributes": {"type": "object", "additionalProperties": true}}})
        }),
        success: 201,
        response: || json!({"type": "object", "properties": {"uuid": s("string")}}),
        router: || post(create_user),
    },
    AdminRoute {
        method: "put",
        path: "/users/{uuid}/verifications/{group}",
        summary: "Record a verification (group is a group handle or identity)",
        request: Some(|| {
            json!({"type": "object", "required": ["verified"], "properties": {
                "verified": s("boolean"), "subgroups": {"type": "array", "items": s("string")}}})
        }),
        success: 200,
        response: || json!({"type": "object", "properties": {"uuid": s("string"), "group": s("string"), "verified": s("boolean"), "subgroups": {"type": "array", "items": s("string")}}}),
        router: || put(set_verification),
    },
    AdminRoute {
        method: "post",
        path: "/keys/rotate",
        summary: "Start a signing-key rollover (SPEC 6); answers the new keys' kids",
        request: None,
        success: 201,
        response: || json!({"type": "object", "properties": {"kid": s("string"), "kids": {"type": "array", "items": s("string")}}}),
        router: || post(rotate_keys),
    },
];

pub fn router(state: AppState) -> Router<AppState> {
    let mut api = Router::new();
    for r in ROUTES {
        api = api.route(r.path, (r.router)());
    }
    Router::new()
        .route(&format!("{PREFIX}/openapi.json"), get(openapi))
        .nest(
            PREFIX,
            api.layer(axum::middleware::from_fn_with_state(state, require_token)),
        )
}

/// The OpenAPI 3.1 document, built from [`ROUTES`].
pub fn openapi_document(server_url: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        let mut responses = json!({
            r.success.to_string(): {"description": "success", "content": {"application/json": {"schema": (r.response)()}}},
            "401": error.clone(),
        });
        for code in ["400", "404", "409"] {
            responses[code] = error.clone();
        }
        let mut op = json!({"summary": r.summary, "parameters": params, "responses": responses, "security": [{"bearer": []}]});
        if let Some(req) = r.request {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": req()}}});
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Verity admin API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": format!("{server_url}{PREFIX}")}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": s("string"), "error_description": s("string")}}}
        }
    })
}

async fn openapi(State(state): State<AppState>) -> Response {
    axum::Json(openapi_document(&state.public_url)).into_response()
}

/// `Authorization: Bearer <VERITY_ADMIN_TOKEN>`, compared in constant time.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(expected) = state.settings.admin_token.as_ref() else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "the admin API is disabled (set VERITY_ADMIN_TOKEN)",
        )
        .into_response();
    };
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bearer);
    match sent {
        Some(token) if constant_time_eq(token.as_bytes(), expected.0.as_bytes()) => {
            let mut resp = next.run(req).await;
            // Answers may carry a client secret: never cached.
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            resp
        }
        _ => ApiError {
            www_authenticate: Some(r#"Bearer realm="verity-admin""#.into()),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "a valid admin token is required",
            )
        }
        .into_response(),
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(_) => ApiError::invalid_request(e.to_string()),
            AdminError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, e.to_string())
            }
            AdminError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, e.to_string())
            }
            AdminError::Store(s) => s.into(),
            AdminError::Internal(i) => ApiError::internal("admin operation", i),
        }
    }
}

/// A JSON body into `T`, with the parser's complaint as the description.
fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidRequest,
            "the body is too large",
        )
    })?;
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

async fn create_organization(
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

async fn list_apps(
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

async fn create_app(
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
    let mut v = app_json(&app);
    if let Some(s) = secret {
        v["client_secret"] = Value::String(s);
    }
    Ok(created(v))
}

async fn read_app(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(app_json(&admin::find_app(&state, &client_id).await?)).into_response())
}

async fn update_app(
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
    Ok(axum::Json(app_json(&app)).into_response())
}

async fn delete_app(
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

async fn add_secret(
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

async fn delete_secret(
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

async fn create_user(
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

async fn set_verification(
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

async fn rotate_keys(State(state): State<AppState>) -> Result<Response, ApiError> {
    let kids = crate::maintenance::rotate(&state)
        .await
        .map_err(|e| ApiError::internal("key rotation", e))?;
    Ok(created(json!({"kid": kids.first(), "kids": kids})))
}
