//! CORS for browser apps on the token, userinfo and revocation endpoints (SPEC section 11;
//! Fetch standard 3.2). An answer is readable by a page only when the page's origin is one the
//! answering app allows (`verity_core::origin::allows`: its redirect URIs' origins and its
//! `allowed_origins`), so a page on any other origin gets a network error where the answer would
//! be. Never with credentials: these endpoints take no cookies.
//!
//! A preflight carries no client and no token, so it cannot name the app: like Keycloak and
//! node-oidc-provider, Verity tells any origin that asks which methods and headers the endpoint
//! takes, and decides on the actual request. The preflight unlocks nothing a plain form post could
//! not already send; what it would let a page read is decided per app.
//!
//! Discovery and the JWKS are public documents with their own `*` (`routes::discovery`).
//! Introspection and the admin API answer no CORS at all.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use verity_store::apps::App;

/// The request headers a browser app may send: a bearer or basic credential, a form or JSON
/// body, a DPoP proof.
const ALLOW_HEADERS: &str = "authorization, content-type, dpop";
/// How long a browser may keep a preflight's answer, seconds.
const MAX_AGE: &str = "600";

/// The answer to an `OPTIONS` preflight of an endpoint taking `methods`.
pub fn preflight(headers: &HeaderMap, methods: &'static str) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin(headers) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
    }
    resp
}

/// The `OPTIONS` handler of an endpoint that takes only `POST` (token, revocation).
pub async fn preflight_post(headers: HeaderMap) -> Response {
    preflight(&headers, "POST")
}

/// The request's `Origin` when `app` allows it to read the answer.
pub fn readable_by(request: &HeaderMap, app: &App) -> Option<HeaderValue> {
    let origin = origin(request)?;
    let allowed = origin
        .to_str()
        .is_ok_and(|o| verity_core::origin::allows(&app.redirect_uris, &app.allowed_origins, o));
    allowed.then(|| origin.clone())
}

/// Makes `resp` readable by `origin` (from [`readable_by`]). Every answer of these endpoints
/// varies by `Origin` (for caches), whether or not it carries the permission.
pub fn expose(resp: &mut Response, origin: Option<HeaderValue>) {
    let h = resp.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        // A browser app reads a bearer challenge and (DPoP) a nonce from these.
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("www-authenticate, dpop-nonce"),
        );
    }
}

/// The request's `Origin`, when it names one.
fn origin(headers: &HeaderMap) -> Option<&HeaderValue> {
    headers
        .get(header::ORIGIN)
        .filter(|o| !o.is_empty() && o.as_bytes() != b"null")
}
