//! The route table: one module per endpoint, merged here so the whole API reads in one place.

pub mod account;
pub mod admin_api;
pub mod assets;
pub mod authorize;
pub mod client;
pub mod console;
pub mod discovery;
pub mod group_methods;
pub mod health;
pub mod interaction;
pub mod introspect;
pub mod logout;
pub mod metrics;
pub mod policies;
pub mod review;
pub mod revoke;
pub mod sandbox;
pub mod token;
pub mod userinfo;
pub mod verifications;

use axum::Router;
use axum::response::IntoResponse;
use verity_proto::error::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(health::router())
        .merge(discovery::router())
        .merge(authorize::router())
        .merge(interaction::router())
        .merge(token::router())
        .merge(revoke::router())
        .merge(introspect::router())
        .merge(logout::router())
        .merge(userinfo::router())
        .merge(policies::router())
        .merge(account::router())
        .merge(verifications::router())
        .merge(console::router())
        .merge(review::router())
        .merge(sandbox::router())
        .merge(admin_api::router(state.clone()))
        .merge(assets::router())
        .route("/metrics", axum::routing::get(metrics::metrics))
        .route_layer(axum::middleware::from_fn(crate::metrics::route_label))
        .fallback(not_found)
        .with_state(state.clone());
    crate::middleware::layers(routes, state)
}

async fn not_found() -> impl IntoResponse {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}
