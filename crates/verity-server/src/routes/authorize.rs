//! RFC 6749 4.1.1 / OIDC Core 3.1.2: the authorization endpoint, GET and POST (SPEC section 3).
//! Validation and error delivery are decided by `verity_core::authorize`; the journey continues
//! in [`super::interaction`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use verity_core::authorize::{self, AppView, AuthorizeError, Delivery, Params};
use verity_core::identity::Family;
use verity_proto::error::ErrorCode;
use verity_store::apps::App;

use crate::error::PageError;
use crate::extract::{BodyKind, body_kind, body_params, query_params};
use crate::request_object::{self, Refusal};
use crate::respond::{After, redirect_to_client};
use crate::routes::interaction;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/authorize", get(authorize_get).post(authorize_post))
}

/// RFC 6749 4.1.1 with the query string.
async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query.as_deref());
    respond(&state, start(&state, &headers, &params).await)
}

/// OIDC Core 3.1.2.1: the same request as a form body.
async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = match (body, body_kind(&headers)) {
        (Ok(b), Some(BodyKind::Form)) => match body_params(BodyKind::Form, &b) {
            Ok(p) => p,
            Err(e) => return respond(&state, Err(PageError::bad_request(e).into())),
        },
        (Ok(_), _) => {
            return respond(
                &state,
                Err(
                    PageError::bad_request("The authorization request must be a form post.").into(),
                ),
            );
        }
        (Err(_), _) => {
            return respond(
                &state,
                Err(PageError::bad_request("The request body is too large or unreadable.").into()),
            );
        }
    };
    respond(&state, start(&state, &headers, &params).await)
}

enum Failure {
    Page(PageError),
    Authorize(AuthorizeError),
}

impl From<PageError> for Failure {
    fn from(e: PageError) -> Self {
        Failure::Page(e)
    }
}

fn respond(app_state: &AppState, result: Result<Response, Failure>) -> Response {
    use axum::response::IntoResponse;
    match result {
        Ok(r) => r,
        Err(Failure::Page(p)) => p.into_response(),
        Err(Failure::Authorize(e)) => match e.delivery {
            Delivery::Page => PageError::authorize(e.code, &e.description).into_response(),
            Delivery::Redirect {
                redirect_uri,
                state,
                response_mode,
            } => {
                // The URI was matched exactly against the app's registration by core.
                redirect_to_client(
                    &redirect_uri,
                    response_mode,
                    &error_params(e.code.as_str(), &e.description),
                    state.as_deref(),
                    app_state,
                    After::Get,
                )
            }
        },
    }
}

fn error_params<'a>(code: &'a str, description: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("error", code), ("error_description", description)]
}

/// What request validation needs to know about an app (`verity_core::authorize::AppView`).
pub(crate) fn app_view(app: &App) -> AppView<'_> {
    AppView {
        redirect_uris: &app.redirect_uris,
        policies: &app.policies,
        public: app.public,
        claims_parameter: app.profile == Family::Oidc,
    }
}

async fn start(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, Failure> {
    let client_id = authorize::client_id(params).map_err(Failure::Authorize)?;
    let app = state
        .store
        .find_app(client_id)
        .await
        .map_err(PageError::from)?;
    let view = app.as_ref().map(app_view);
    let resolved = match &app {
        Some(app) => match request_object::resolve(state, app, params).await {
            Ok(resolved) => resolved,
            Err(Refusal::Refused(code, description)) => {
                let refused = authorize::refuse(params, view.as_ref(), code, &description);
                return Err(Failure::Authorize(refused));
            }
            Err(Refusal::Failed(e)) => return Err(PageError::from(e).into()),
        },
        None => None,
    };
    let params = resolved.as_ref().unwrap_or(params);
    let request = authorize::validate(params, view.as_ref()).map_err(Failure::Authorize)?;
    let Some(app) = app else {
        let unknown = "client_id is not a known app";
        return Err(PageError::authorize(ErrorCode::InvalidRequest, unknown).into());
    };
    Ok(interaction::start(state, headers, &app, request).await?)
}
