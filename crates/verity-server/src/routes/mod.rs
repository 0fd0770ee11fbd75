//! The route table: one module per endpoint, merged here so the whole API reads in one place.

pub mod account;
pub mod account_data;
pub mod account_delete;
pub mod account_passkeys;
pub mod account_password;
pub mod admin_api;
pub mod assets;
pub mod authorize;
pub mod client;
pub mod console;
pub mod discovery;
pub mod email_confirm;
pub mod group_methods;
pub mod health;
pub mod interaction;
pub mod introspect;
pub mod logout;
pub mod metrics;
pub mod par;
pub mod password_reset;
pub mod policies;
pub mod review;
pub mod revoke;
pub mod sandbox;
pub mod token;
pub mod userinfo;
pub mod verifications;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use verity_proto::error::ErrorCode;

use crate::error::{ApiError, PageError};
use crate::pages::Page;
use crate::respond::wants_html;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(health::router())
        .merge(discovery::router())
        .merge(authorize::router())
        .merge(par::router())
        .merge(interaction::router())
        .merge(token::router())
        .merge(revoke::router())
        .merge(introspect::router())
        .merge(logout::router())
        .merge(userinfo::router())
        .merge(policies::router())
        .merge(account::router())
        .merge(account_data::router())
        .merge(account_delete::router())
        .merge(account_password::router())
        .merge(account_passkeys::router())
        .merge(password_reset::router())
        .merge(email_confirm::router())
        .merge(verifications::router())
        .merge(console::router())
        .merge(review::router())
        .merge(sandbox::router())
        .merge(admin_api::router(state.clone()))
        .merge(assets::router())
        .route("/metrics", axum::routing::get(metrics::metrics))
        .route("/", axum::routing::get(home))
        .route_layer(axum::middleware::from_fn(crate::metrics::route_label))
        .fallback(not_found)
        .with_state(state.clone());
    crate::middleware::layers(routes, state)
}

/// An address with no route: a page for a browser, RFC 6749-style JSON for an API client.
async fn not_found(headers: HeaderMap) -> Response {
    if wants_html(&headers) {
        PageError::no_page().into_response()
    } else {
        ApiError::new(ErrorCode::NotFound, "no such endpoint").into_response()
    }
}

/// The provider's own home for a person who typed its address: what Verity is and where to go.
#[derive(Debug, serde::Serialize)]
struct HomePage {}

impl Page for HomePage {
    const TEMPLATE: &'static str = "home.html";
}

/// GET `/`: the home page for a browser; API clients keep the JSON 404 of any unknown path.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !wants_html(&headers) {
        return not_found(headers).await;
    }
    match state.pages.show(state.sandbox(), &HomePage {}) {
        Ok(html) => html.into_response(),
        Err(e) => e.into_response(),
    }
}
