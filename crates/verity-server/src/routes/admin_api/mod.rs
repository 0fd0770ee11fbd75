//! The admin API of SPEC section 11 at `/api/admin/v1`: JSON in and out, errors as
//! `{"error", "error_description"}` (400, 401, 404, 409), `Authorization: Bearer
//! <VERITY_ADMIN_TOKEN>` compared in constant time. Disabled (404) when no token is configured.
//!
//! Each handler carries a `#[utoipa::path]` annotation. The router is built from those
//! annotations (`utoipa_axum::routes!`), and so is the OpenAPI 3.1 document at
//! `/api/admin/v1/openapi.json`, with schemas derived from the typed bodies and answers of
//! [`wire`]; so a handler is served where it is documented. The coverage test
//! (`tests/api/admin_api.rs`) checks the rest against a running server: no undocumented method
//! is served, and every answer has a documented status and fits its schema.
//!
//! - [`handlers`]: organizations, apps, users, keys;
//! - [`cases`]: verification cases and the `reviewer` role;
//! - [`users`]: one account, read and deleted (SPEC 14);
//! - [`wire`]: the request and response types.

mod cases;
mod handlers;
mod users;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder, Server};
use utoipa_axum::router::OpenApiRouter;
use verity_core::client_auth::parse_bearer;
use verity_core::secret::{constant_time_eq, is_token_shaped};
use verity_proto::error::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

pub const PREFIX: &str = "/api/admin/v1";

/// The document's fixed parts; the operations and their schemas come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verity admin API",
        description = "SPEC section 11: organizations, apps, users and verifications, and the \
                       verification cases of SPEC section 12. Every call takes `Authorization: \
                       Bearer <VERITY_ADMIN_TOKEN>` (the case routes also a reviewer's own token).",
    ),
    security(("bearer" = [])),
)]
struct AdminApi;

/// Every route with its documentation, both from the handlers' annotations.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(AdminApi::openapi())
        .merge(handlers::routes())
        .merge(cases::routes())
        .merge(users::routes())
}

/// Documents what every operation shares, once the operations are in `doc`: the bearer scheme,
/// [`require_token`]'s 401, and the body limit's 413 where a body is read.
fn document_shared_answers(doc: &mut Document) {
    let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme("bearer", SecurityScheme::Http(bearer));
    let error = |description: &str| {
        let body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build();
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body)
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in operations.into_iter().flatten() {
            let answers = &mut op.responses.responses;
            answers
                .entry("401".into())
                .or_insert_with(|| error("No token, or a wrong one").into());
            if op.request_body.is_some() {
                answers
                    .entry("413".into())
                    .or_insert_with(|| error("The body is over the size limit").into());
            }
        }
    }
}

pub fn router(state: AppState) -> Router<AppState> {
    let (api, mut doc) = api().split_for_parts();
    document_shared_answers(&mut doc);
    doc.servers = Some(vec![Server::new(format!("{}{PREFIX}", state.public_url))]);
    let doc = Arc::new(doc);
    Router::new()
        .route(
            &format!("{PREFIX}/openapi.json"),
            get(move |State(state): State<AppState>| openapi(state, doc.clone())),
        )
        .nest(
            PREFIX,
            api.layer(axum::middleware::from_fn_with_state(state, require_token)),
        )
}

/// The OpenAPI document (no token needed), while the admin API is enabled.
async fn openapi(state: AppState, doc: Arc<Document>) -> Response {
    if state.settings.admin_token.is_none() {
        return disabled().into_response();
    }
    axum::Json(&*doc).into_response()
}

fn disabled() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "the admin API is disabled (set VERITY_ADMIN_TOKEN)",
    )
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
        return disabled().into_response();
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
