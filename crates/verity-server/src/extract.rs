//! Request parsing that cannot panic or answer axum's plain-text rejections: query strings and
//! bodies become parameter lists, cookies a lookup. Callers turn problems into `invalid_request`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use verity_core::authorize::Params;

use crate::error::ApiError;

/// Set on every request by [`crate::middleware::request_context`] (any incoming value is replaced), so handlers and
/// the audit trail read the request id and the client's address from the headers.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
pub const CLIENT_ADDRESS_HEADER: &str = "x-verity-client-address";

/// The client's address, as [`crate::middleware::request_context`] recorded it.
pub fn client_address(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(CLIENT_ADDRESS_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
}

/// The most bytes a request body may carry (forms and JSON here are small).
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn query_params(query: Option<&str>) -> Params {
    Params::from_form(query.unwrap_or_default().as_bytes())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
}

/// The media type of the body, if it is one we read.
pub fn body_kind(headers: &HeaderMap) -> Option<BodyKind> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = ct.split(';').next()?.trim();
    if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(BodyKind::Form)
    } else if media.eq_ignore_ascii_case("application/json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

/// Parameters from a form or JSON body (the parsing rules live in `verity_core::authorize::Params`).
pub fn body_params(kind: BodyKind, body: &Bytes) -> Result<Params, &'static str> {
    match kind {
        BodyKind::Form => Ok(Params::from_form(body)),
        BodyKind::Json => Params::from_json(body),
    }
}

/// The parameters of a client's back-channel POST (token, revocation, introspection): a form or
/// JSON body, size-limited, no parameter too long and none repeated.
pub fn client_request_params(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Params, ApiError> {
    let body = body.map_err(|_| ApiError::body_too_large("the request body is too large"))?;
    let kind = body_kind(headers).ok_or_else(|| {
        ApiError::invalid_request(
            "the body must be application/x-www-form-urlencoded or application/json",
        )
    })?;
    let params = body_params(kind, &body).map_err(ApiError::invalid_request)?;
    if params.too_many() {
        return Err(ApiError::invalid_request("too many parameters"));
    }
    if let Some(name) = params.oversized() {
        return Err(ApiError::invalid_request(format!(
            "parameter {name} is too long"
        )));
    }
    Ok(params)
}

/// A JSON body parsed into `T` (the admin API's bodies): 413 over the body limit,
/// `invalid_request` when it is not `application/json`, or with the parser's complaint.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let kind = body_kind(req.headers());
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::body_too_large("the body is too large"))?;
        if kind != Some(BodyKind::Json) {
            return Err(ApiError::invalid_request(
                "the body must be application/json",
            ));
        }
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| ApiError::invalid_request(format!("invalid JSON body: {e}")))
    }
}

/// The parameter `name`, which the request must carry: `invalid_request` when it does not.
pub fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .ok_or_else(|| ApiError::invalid_request(format!("{name} is missing")))
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` when asked.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json_bodies_become_params() {
        let p = body_params(
            BodyKind::Json,
            &Bytes::from_static(br#"{"grant_type":"authorization_code","n":1}"#),
        )
        .unwrap();
        assert_eq!(p.get("grant_type"), Some("authorization_code"));
        assert_eq!(p.get("n"), Some("1"));
        assert!(body_params(BodyKind::Json, &Bytes::from_static(b"[1]")).is_err());
        assert!(body_params(BodyKind::Json, &Bytes::from_static(br#"{"a":{"b":1}}"#)).is_err());
    }

    #[test]
    fn cookies_are_found() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; verity_session=abc".parse().unwrap());
        assert_eq!(cookie(&h, "verity_session"), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
    }

    proptest! {
        #[test]
        fn body_parsing_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let b = Bytes::from(raw);
            let _ = body_params(BodyKind::Form, &b);
            let _ = body_params(BodyKind::Json, &b);
        }
    }
}
