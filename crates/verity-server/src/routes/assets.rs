//! Static assets of the pages: the stylesheet and the scripts the CSP allows from the origin.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/verity.css",
            get(|| asset(CSS, crate::pages::STYLESHEET)),
        )
        .route(
            "/static/local-time.js",
            get(|| asset(JS, crate::pages::LOCAL_TIME_SCRIPT)),
        )
        .route(
            "/static/copy.js",
            get(|| asset(JS, crate::pages::COPY_SCRIPT)),
        )
        .route(
            "/static/passkey.js",
            get(|| asset(JS, crate::pages::PASSKEY_SCRIPT)),
        )
}

/// One file compiled into the binary, cacheable for an hour.
async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
