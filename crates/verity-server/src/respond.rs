//! Answers that several routes give the same way: `303 See Other` after a form post, a
//! `Set-Cookie` added to an answer, and the redirect back to an app with the result of an
//! authorization request.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use verity_core::redirect::RedirectUri;

use crate::error::PageError;

/// `303 See Other` to `location` (after every POST that changes state).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => PageError::bad_request("Invalid location.").into_response(),
    }
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
pub fn redirect_to_client(
    redirect_uri: &RedirectUri,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
    after: After,
) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    if let Some(s) = state {
        query.append_pair("state", s);
    }
    query.append_pair("iss", issuer);
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
