//! Cross-cutting answers: `tower-http` layers ([`layers`]) give every request a fresh request id
//! (copied to the answer) and every answer the security headers; [`request_context`] keeps what
//! is Verity's own: the client address behind trusted proxies, the request's span and its one
//! access-log line (method, path and status; never the query string, which may hold a bearer
//! token), the time limit (answered as Verity's JSON error), the metrics, and the HTML rendering
//! of [`PageError`]s.
//!
//! tower-http's `TraceLayer` (with `tracing-appender`'s writer) was measured in place of this
//! span and line and of the batched log writer: together they cost `userinfo` and `introspect`
//! about a quarter more CPU per request (BENCHMARKS.md, issue 21); the span and line here say
//! the same, for less.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::set_header::{SetRequestHeaderLayer, SetResponseHeaderLayer};
use tracing::Instrument;

use verity_proto::error::ErrorCode;

use crate::error::{ApiError, PageError};
use crate::extract::{CLIENT_ADDRESS_HEADER, REQUEST_ID_HEADER};
use crate::pages::Page;
use crate::state::AppState;

/// The longest any request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
                   img-src 'self' data: https:; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The layers every answer goes through, outermost first, around [`request_context`]:
///
/// - `x-request-id` is always Verity's own (an incoming one is replaced, never reused: it could
///   forge a line in the logs) and is copied to the answer;
/// - anti-framing, `nosniff`, `no-referrer`, a strict CSP unless the answer carries its own (the
///   form-post page's one script, by its hash), and `no-store` on pages (they carry CSRF tokens
///   and personal data) unless the answer says otherwise.
pub fn layers(router: axum::Router, state: AppState) -> axum::Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let no_store_pages = |resp: &Response| {
        let html = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"));
        html.then(|| HeaderValue::from_static("no-store"))
    };
    // One stack, applied once: axum boxes each `Router::layer` call's service per request, and
    // eight separate calls cost `userinfo` about 15 % more CPU per request (BENCHMARKS.md).
    router.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestHeaderLayer::overriding(
                request_id.clone(),
                |_: &Request| {
                    let id = verity_core::secret::hex(&verity_core::secret::random_bytes::<8>());
                    HeaderValue::from_str(&id).ok()
                },
            ))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                no_store_pages,
            ))
            .layer(axum::middleware::from_fn_with_state(state, request_context)),
    )
}

/// Verity's own part of every request: the client address (named by `X-Forwarded-For` only
/// behind a trusted proxy), the span and access-log line, the time limit, the metrics, and
/// error pages rendered.
pub async fn request_context(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
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
    let id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    // Every request, body reading included, finishes within the limit: a slow or stalled client
    // cannot hold a handler (and its database connection) forever. (tower-http's timeout answers
    // an empty 408; Verity answers its JSON error, and a page error as a page.)
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
    resp
}

fn render_error_page(state: &AppState, err: &PageError, request_id: &str) -> Response {
    let page = ErrorPage {
        title: &err.title,
        message: &err.message,
        next: err.next,
        detail: err.detail.as_deref(),
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
    next: Option<&'a str>,
    detail: Option<&'a str>,
    request_id: &'a str,
}

impl Page for ErrorPage<'_> {
    const TEMPLATE: &'static str = "error.html";
}
