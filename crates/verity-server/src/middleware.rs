//! Cross-cutting answers: a request id on every request and response, one access-log line per
//! request (method, path and status; never the query string, which may hold a bearer token),
//! security headers on every answer, and the HTML rendering of [`PageError`]s.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use verity_proto::error::ErrorCode;

use crate::error::{ApiError, PageError};
use crate::extract::{CLIENT_ADDRESS_HEADER, REQUEST_ID_HEADER};
use crate::pages::Page;
use crate::state::AppState;

/// The id of one request, in logs, error pages and the `x-request-id` header.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The longest any request may take.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data: https:; \
                   frame-ancestors 'none'; base-uri 'none'";

pub async fn request_context(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = verity_core::secret::hex(&verity_core::secret::random_bytes::<8>());
    req.extensions_mut().insert(RequestId(id.clone()));
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| {
            // Behind a trusted reverse proxy, the client is named by X-Forwarded-For.
            let forwarded = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok());
            verity_core::net::client_address(c.0.ip(), forwarded, &state.settings.trusted_proxies)
                .to_string()
        });
    let headers = req.headers_mut();
    headers.remove(CLIENT_ADDRESS_HEADER);
    if let Some(ip) = peer.and_then(|p| HeaderValue::from_str(&p).ok()) {
        headers.insert(CLIENT_ADDRESS_HEADER, ip);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID_HEADER, v);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    // Every request, body reading included, finishes within the limit: a slow or stalled client
    // cannot hold a handler (and its database connection) forever.
    let mut resp =
        match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req).instrument(span.clone())).await {
            Ok(resp) => resp,
            Err(_) => {
                span.in_scope(|| tracing::warn!("request timed out"));
                ApiError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the request took too long",
                )
                .into_response()
            }
        };

    let route = crate::metrics::route_of(&resp);
    if let Some(err) = resp.extensions_mut().remove::<PageError>() {
        resp = render_error_page(&state, &err, &id);
    }
    let status = resp.status().as_u16();
    state
        .metrics
        .observe_request(&route, method.as_str(), status, started.elapsed());
    span.in_scope(|| {
        tracing::info!(%method, path = %path, status, latency_ms = started.elapsed().as_secs_f64() * 1000.0, "request");
    });

    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A page that needs more (the form-post page's one script, by its hash) sets its own.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if is_html && !h.contains_key(header::CACHE_CONTROL) {
        // Pages carry CSRF tokens and personal data.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

fn render_error_page(state: &AppState, err: &PageError, request_id: &str) -> Response {
    let page = ErrorPage {
        title: &err.title,
        message: &err.message,
        request_id,
    };
    match state
        .pages
        .render_raw(ErrorPage::TEMPLATE, state.sandbox(), &page)
    {
        Ok(html) => (err.status, axum::response::Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page");
            (
                err.status,
                format!("{}: {}\nrequest id: {request_id}\n", err.title, err.message),
            )
                .into_response()
        }
    }
}

/// A [`PageError`] as a person sees it, with the request id to quote.
#[derive(Debug, serde::Serialize)]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    request_id: &'a str,
}

impl Page for ErrorPage<'_> {
    const TEMPLATE: &'static str = "error.html";
}
