//! Answers that several routes give the same way: `303 See Other` after a form post, a
//! `Set-Cookie` added to an answer, and the redirect back to an app with the result of an
//! authorization request.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use verity_core::authorize::ResponseMode;
use verity_core::redirect::RedirectUri;

use crate::error::PageError;
use crate::pages::Page;
use crate::state::AppState;

/// Whether the request comes from a browser that would rather read a page than JSON: its
/// `Accept` names `text/html` (browsers do on navigation; API clients and `curl` do not).
pub fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            range
                .split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
        })
}

/// `303 See Other` to `location` (after every POST that changes state).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => PageError::bad_request("Invalid location.").into_response(),
    }
}

/// `resp` (a page shown again) as a refusal to try again yet: 429 with `Retry-After: seconds`.
/// A redirect (the step moved on meanwhile) stays as it is.
pub fn retry_later(mut resp: Response, seconds: i64) -> Response {
    if !resp.status().is_redirection() {
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    resp
}

/// Adds a `Set-Cookie` header.
pub fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// How the browser reached the answer: a 302 answers a GET, a 303 a form post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Get,
    Post,
}

/// `redirect_uri?code=...&state=...&iss=...` (RFC 6749 4.1.2, RFC 9207). Only a URI that matched
/// the app's registration exactly can be given ([`RedirectUri`]: `verity_core::authorize` makes
/// them).
///
/// With `response_mode=form_post` the same parameters are posted by the browser instead
/// ([`form_post`]).
pub fn redirect_to_client(
    redirect_uri: &RedirectUri,
    mode: ResponseMode,
    params: &[(&str, &str)],
    state: Option<&str>,
    app_state: &AppState,
    after: After,
) -> Response {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(s) = state {
        all.push(("state", s));
    }
    all.push(("iss", &app_state.issuer));
    if mode == ResponseMode::FormPost {
        return form_post(app_state, redirect_uri, &all);
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &all {
        query.append_pair(k, v);
    }
    let redirect_uri = redirect_uri.as_str();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{}", query.finish());
    let status = match after {
        After::Post => StatusCode::SEE_OTHER,
        After::Get => StatusCode::FOUND,
    };
    match HeaderValue::from_str(&location) {
        Ok(v) => (
            status,
            [
                (header::LOCATION, v),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => PageError::bad_request("The redirect URI cannot be used.").into_response(),
    }
}

/// The form-post page: the redirect URI, the answer's parameters, and the one script.
#[derive(serde::Serialize)]
struct FormPostPage<'a> {
    action: &'a str,
    params: &'a [(&'a str, &'a str)],
    script: &'static str,
}

impl Page for FormPostPage<'_> {
    const TEMPLATE: &'static str = "form_post.html";
}

/// The one script of the form-post page: it submits the form at once.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// OAuth 2.0 Form Post Response Mode: a page whose form posts `params` to the redirect URI,
/// submitted by a script the page's content security policy allows by its hash (and by hand,
/// with the button, where scripts do not run). Never cached.
fn form_post(state: &AppState, redirect_uri: &RedirectUri, params: &[(&str, &str)]) -> Response {
    let page = FormPostPage {
        action: redirect_uri.as_str(),
        params,
        script: FORM_POST_SCRIPT,
    };
    let body = match state.pages.show(false, &page) {
        Ok(html) => html.0,
        Err(e) => return e.into_response(),
    };
    let hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        verity_core::secret::sha256(FORM_POST_SCRIPT.as_bytes()),
    );
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; frame-ancestors 'none'; base-uri 'none'"
    );
    let mut resp = (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}
