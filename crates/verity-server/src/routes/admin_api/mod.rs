//! The admin API of SPEC section 11 at `/api/admin/v1`: JSON in and out, errors as
//! `{"error", "error_description"}` (400, 401, 404, 409), `Authorization: Bearer
//! <VERITY_ADMIN_TOKEN>` compared in constant time. Disabled (404) when no token is configured.
//!
//! [`ROUTES`] is the single table from which both the router and the OpenAPI 3 document at
//! `/api/admin/v1/openapi.json` are built, so the two cannot drift apart; the handlers are in
//! [`handlers`].

mod cases;
mod handlers;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde_json::{Value, json};
use verity_core::client_auth::parse_bearer;
use verity_core::secret::{constant_time_eq, is_token_shaped};
use verity_proto::error::ErrorCode;

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
        props.insert(
            "secrets".into(),
            json!({"type": "array", "description": "the app's client secrets (never a secret itself; last use to the hour)",
                   "items": {"type": "object", "properties": {"id": s("string"), "created_at": s("integer"),
                             "last_used_at": {"type": ["integer", "null"]}}}}),
        );
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

const REJECT_REASONS: [&str; 5] = [
    "unreadable",
    "expired_document",
    "mismatch",
    "not_eligible",
    "suspected_fraud",
];

fn case_schema() -> Value {
    let text = || json!({"type": ["string", "null"]});
    let time = || json!({"type": ["integer", "null"]});
    json!({"type": "object", "properties": {
        "id": s("string"), "uuid": s("string"), "group": s("string"),
        "method": {"type": "string", "enum": ["email_domain", "document", "sandbox", "operator"]},
        "state": {"type": "string", "enum": ["pending_code", "in_review", "verified", "rejected", "expired", "revoked", "withdrawn"]},
        "address": text(), "document_type": text(),
        "subgroups": {"type": "array", "items": s("string")},
        "attributes": {"type": "object", "additionalProperties": s("string")},
        "reason": {"type": ["string", "null"], "enum": [REJECT_REASONS[0], REJECT_REASONS[1], REJECT_REASONS[2], REJECT_REASONS[3], REJECT_REASONS[4], null]},
        "claimed_by": text(), "claimed_until": time(), "decided_by": text(), "decided_at": time(),
        "expires_at": time(), "created_at": s("integer"), "updated_at": s("integer")
    }})
}

fn roles_schema() -> Value {
    json!({"type": "object", "properties": {"uuid": s("string"),
        "roles": {"type": "array", "items": {"type": "string", "enum": ["reviewer"]}}}})
}

fn case_with_history_schema() -> Value {
    let mut v = case_schema();
    if let Some(props) = v["properties"].as_object_mut() {
        props.insert("evidence".into(), json!({"type": "array", "items": {"type": "object", "properties": {
            "id": s("string"), "kind": s("string"), "content_type": s("string"), "size": s("integer"),
            "created_at": s("integer"), "purged_at": {"type": ["integer", "null"]}}}}));
        props.insert(
            "history".into(),
            json!({"type": "array", "items": {"type": "object", "properties": {
            "at": s("integer"), "event": s("string"), "detail": s("object")}}}),
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
        router: || post(handlers::create_organization),
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{id}/apps",
        summary: "List an organization's apps (no secrets)",
        request: None,
        success: 200,
        response: || json!({"type": "array", "items": app_schema()}),
        router: || get(handlers::list_apps),
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{id}/apps",
        summary: "Register an app; the client_secret is shown only in this answer",
        request: Some(app_input_schema),
        success: 201,
        response: new_app_schema,
        router: || post(handlers::create_app),
    },
    AdminRoute {
        method: "get",
        path: "/apps/{client_id}",
        summary: "Read an app",
        request: None,
        success: 200,
        response: app_schema,
        router: || get(handlers::read_app),
    },
    AdminRoute {
        method: "patch",
        path: "/apps/{client_id}",
        summary: "Change an app (absent fields keep their value)",
        request: Some(app_input_schema),
        success: 200,
        response: app_schema,
        router: || patch(handlers::update_app),
    },
    AdminRoute {
        method: "delete",
        path: "/apps/{client_id}",
        summary: "Delete an app and revoke its tokens",
        request: None,
        success: 204,
        response: || json!({}),
        router: || delete(handlers::delete_app),
    },
    AdminRoute {
        method: "post",
        path: "/apps/{client_id}/secrets",
        summary: "Add a client secret (rotation: old secrets stay valid until deleted)",
        request: None,
        success: 201,
        response: || json!({"type": "object", "properties": {"id": s("string"), "client_secret": s("string")}}),
        router: || post(handlers::add_secret),
    },
    AdminRoute {
        method: "delete",
        path: "/apps/{client_id}/secrets/{id}",
        summary: "Delete a client secret",
        request: None,
        success: 204,
        response: || json!({}),
        router: || delete(handlers::delete_secret),
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
        router: || post(handlers::create_user),
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
        router: || put(handlers::set_verification),
    },
    AdminRoute {
        method: "get",
        path: "/verification-cases",
        summary: "List verification cases in a state (query `state`, default in_review), oldest first",
        request: None,
        success: 200,
        response: || json!({"type": "array", "items": case_schema()}),
        router: || get(cases::list_cases),
    },
    AdminRoute {
        method: "get",
        path: "/verification-cases/{id}",
        summary: "Read a verification case, its evidence list (no content) and its history",
        request: None,
        success: 200,
        response: case_with_history_schema,
        router: || get(cases::read_case),
    },
    AdminRoute {
        method: "post",
        path: "/verification-cases/{id}/decision",
        summary: "Approve (with subgroups, and for identity the attributes read) or reject (with a reason) a case in review",
        request: Some(|| {
            json!({"type": "object", "required": ["decision"], "additionalProperties": false, "properties": {
                "decision": {"type": "string", "enum": ["approve", "reject"]},
                "subgroups": {"type": "array", "items": s("string")},
                "reason": {"type": "string", "enum": REJECT_REASONS},
                "attributes": {"type": "object", "additionalProperties": s("string")}}})
        }),
        success: 200,
        response: case_schema,
        router: || post(cases::decide),
    },
    AdminRoute {
        method: "post",
        path: "/users/{uuid}/verifications/{group}/revoke",
        summary: "Revoke a user's verification of a group; answers its case, now revoked",
        request: Some(|| {
            json!({"type": "object", "required": ["reason"], "additionalProperties": false,
                   "properties": {"reason": s("string")}})
        }),
        success: 200,
        response: case_schema,
        router: || post(cases::revoke),
    },
    AdminRoute {
        method: "put",
        path: "/users/{uuid}/roles/{role}",
        summary: "Grant a deployment role (reviewer: works the verification queue at /review); answers the roles held",
        request: None,
        success: 200,
        response: roles_schema,
        router: || put(cases::grant_role),
    },
    AdminRoute {
        method: "delete",
        path: "/users/{uuid}/roles/{role}",
        summary: "Take a deployment role back; answers the roles held",
        request: None,
        success: 200,
        response: roles_schema,
        router: || delete(cases::revoke_role),
    },
    AdminRoute {
        method: "post",
        path: "/keys/rotate",
        summary: "Start a signing-key rollover (SPEC 6); answers the new keys' kids",
        request: None,
        success: 201,
        response: || json!({"type": "object", "properties": {"kid": s("string"), "kids": {"type": "array", "items": s("string")}}}),
        router: || post(handlers::rotate_keys),
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

/// Who calls the admin API.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The holder of `VERITY_ADMIN_TOKEN`: every route.
    Admin,
    /// A reviewer with their own token (created at `/review`): the verification-case routes
    /// only, deciding as themselves under the review rules.
    Reviewer(verity_store::users::User),
}

/// `Authorization: Bearer <VERITY_ADMIN_TOKEN>`, compared in constant time; or a reviewer's own
/// token (looked up by its SHA-256) on the verification-case routes.
async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(expected) = state.settings.admin_token.as_ref() else {
        return ApiError::new(
            ErrorCode::NotFound,
            "the admin API is disabled (set VERITY_ADMIN_TOKEN)",
        )
        .into_response();
    };
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bearer)
        .map(str::to_owned);
    let caller = match sent {
        Some(token) if constant_time_eq(token.as_bytes(), expected.0.as_bytes()) => {
            Some(Caller::Admin)
        }
        Some(token) if is_case_route(req.uri().path()) && is_token_shaped(&token) => {
            match reviewer_by_token(&state, &token).await {
                Ok(found) => found.map(Caller::Reviewer),
                Err(e) => return e.into_response(),
            }
        }
        _ => None,
    };
    let Some(caller) = caller else {
        return ApiError::admin_token_required().into_response();
    };
    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await;
    // Answers may carry a client secret: never cached.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

/// The verification-case routes a reviewer's token may call (the path as the nested router
/// sees it, or with the prefix).
fn is_case_route(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .unwrap_or(path)
        .starts_with("/verification-cases")
}

/// The reviewer a token was created for, while they hold the role.
async fn reviewer_by_token(
    state: &AppState,
    token: &str,
) -> Result<Option<verity_store::users::User>, ApiError> {
    let hash = verity_core::secret::token_hash(token);
    let Some((uuid, _role)) = state.store.find_role_by_token(&hash).await? else {
        return Ok(None);
    };
    Ok(state.store.find_user(&uuid).await?)
}
