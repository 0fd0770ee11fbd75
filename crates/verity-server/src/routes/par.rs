//! RFC 9126: the pushed authorization request endpoint. An authenticated app posts what it
//! would have put in the authorization request (or a signed request object, RFC 9101); it is
//! validated as the authorization endpoint would, kept for a minute, and named by a
//! `request_uri` the app then sends with its `client_id` alone.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use verity_core::authorize::{self, Params};
use verity_core::jar;
use verity_store::pushed::PushedRequest;

use crate::error::ApiError;
use crate::request_object::{self, Refusal};
use crate::routes::authorize::app_view;
use crate::routes::client::ClientRequest;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/par", post(push))
}

/// RFC 9126 2.1-2.3: `201 {"request_uri", "expires_in"}`, or a JSON error (never a redirect).
async fn push(State(state): State<AppState>, req: ClientRequest) -> Result<Response, ApiError> {
    let (app, params) = (&req.app, &req.params);
    if params.get("request_uri").is_some() {
        return Err(ApiError::invalid_request(
            "request_uri must not be sent to the pushed authorization request endpoint",
        ));
    }
    if params
        .get("client_id")
        .is_some_and(|id| id != app.client_id.as_str())
    {
        return Err(ApiError::invalid_request(
            "client_id differs from the authenticated client",
        ));
    }
    // Where the pushed parameters are (RFC 9101 by value or plain); a request_uri was refused.
    let demands = jar::Demands {
        pushed: false,
        signed: app.require_signed_request_object,
    };
    let source = jar::source(params, demands).map_err(|(code, said)| ApiError::new(code, said))?;
    let object;
    let request: &Params = match source {
        jar::Source::Object(jwt) => {
            object = request_object::verify(&state, app, jwt)
                .await
                .map_err(refused)?;
            &object
        }
        jar::Source::Plain | jar::Source::Pushed(_) => params,
    };
    let view = app_view(app);
    let mut kept = jar::kept_when_pushed(request);
    if request.get("client_id").is_none() {
        kept.push(("client_id".into(), app.client_id.to_string()));
    }
    let kept_params = Params::from_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    authorize::validate(&kept_params, Some(&view))
        .map_err(|e| ApiError::new(e.code, e.description))?;
    let (request_uri, reference_hash) = jar::new_request_uri();
    let pushed = PushedRequest {
        reference_hash,
        client_id: app.client_id.to_string(),
        params: kept,
        expires_at: state.now() + jar::PUSHED_LIFETIME,
    };
    state.store.push_request(&pushed).await?;
    let body = json!({"request_uri": request_uri, "expires_in": jar::PUSHED_LIFETIME});
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Refused(code, description) => ApiError::new(code, description),
        Refusal::Failed(e) => e.into(),
    }
}
