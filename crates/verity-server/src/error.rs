//! Errors as answers: [`ApiError`] for machines (JSON, RFC 6749 5.2 / RFC 6750 3), [`PageError`]
//! for people (an HTML page with a request id). Internal failures answer an opaque
//! `server_error` and are logged once with their context; their text never reaches a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use verity_proto::error::{ErrorCode, ErrorResponse};

/// A JSON error answer. Its HTTP status follows from its code ([`status_of`]), decided here only.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub description: String,
    pub www_authenticate: Option<String>,
    /// The body was over the limit: 413 rather than the code's 400.
    body_too_large: bool,
    /// Seconds for `Retry-After` (a 429).
    retry_after: Option<i64>,
    /// RFC 9449 8: the nonce a DPoP proof must carry next (`DPoP-Nonce`).
    dpop_nonce: Option<String>,
    /// A resource's answer about how a token was presented: 401 with its challenge (RFC 6750 3,
    /// RFC 9449 7.1), whatever the code.
    at_resource: bool,
}

/// The HTTP status of each error code: RFC 6749 5.2 (400, and 401 for `invalid_client`),
/// RFC 6750 3.1 (401 `invalid_token`, 403 `insufficient_scope`), SPEC section 11 (404, 409).
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken | ErrorCode::Unauthorized => {
            StatusCode::UNAUTHORIZED
        }
        ErrorCode::InsufficientScope | ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        ApiError {
            code,
            description: description.into(),
            www_authenticate: None,
            body_too_large: false,
            retry_after: None,
            dpop_nonce: None,
            at_resource: false,
        }
    }

    /// RFC 9449: a DPoP proof refused, at the token endpoint (400) or at a resource (401 with
    /// a `DPoP` challenge); with the nonce to use next when the refusal is `use_dpop_nonce`.
    pub fn dpop(
        e: &verity_core::dpop::DpopError,
        at_resource: bool,
        nonce: Option<String>,
    ) -> Self {
        let code = e.code();
        let description = e.to_string();
        let challenge = at_resource.then(|| {
            format!(
                r#"DPoP algs="{}", error="{}", error_description="{}""#,
                verity_core::dpop::ALGS.join(" "),
                code.as_str(),
                description.replace('"', "'")
            )
        });
        ApiError {
            www_authenticate: challenge,
            dpop_nonce: nonce.filter(|_| code == ErrorCode::UseDpopNonce),
            at_resource,
            ..Self::new(code, description)
        }
    }

    /// 429 `too_many_requests` with `Retry-After: retry_after` (seconds): a limit refused the
    /// action (`crate::limits::Refused` gives both its message and its wait).
    pub fn too_many_requests(description: impl Into<String>, retry_after: i64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::TooManyRequests, description)
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// 413 `invalid_request`: the body is over the limit.
    pub fn body_too_large(description: impl Into<String>) -> Self {
        ApiError {
            body_too_large: true,
            ..Self::invalid_request(description)
        }
    }

    /// 401 `invalid_client` with a `WWW-Authenticate` challenge (RFC 6749 5.2).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        ApiError {
            www_authenticate: Some(r#"Basic realm="verity", charset="UTF-8""#.into()),
            ..Self::new(ErrorCode::InvalidClient, description)
        }
    }

    /// 401 for a bearer endpoint (RFC 6750 3.1): no error code when no token was sent.
    pub fn bearer_missing() -> Self {
        ApiError {
            www_authenticate: Some(r#"Bearer realm="verity""#.into()),
            ..Self::new(ErrorCode::InvalidToken, "an access token is required")
        }
    }

    pub fn invalid_token(description: &str) -> Self {
        ApiError {
            www_authenticate: Some(format!(
                r#"Bearer realm="verity", error="invalid_token", error_description="{}""#,
                description.replace('"', "'")
            )),
            ..Self::new(ErrorCode::InvalidToken, description)
        }
    }

    /// 401 for the admin API without a valid admin token.
    pub fn admin_token_required() -> Self {
        ApiError {
            www_authenticate: Some(r#"Bearer realm="verity-admin""#.into()),
            ..Self::new(ErrorCode::Unauthorized, "a valid admin token is required")
        }
    }

    /// An internal failure: logged here, answered as an opaque `server_error`.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(ErrorCode::ServerError, "an internal error occurred")
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        if self.body_too_large {
            StatusCode::PAYLOAD_TOO_LARGE
        } else if self.at_resource {
            StatusCode::UNAUTHORIZED
        } else {
            status_of(self.code)
        }
    }
}

/// A grant that cannot be redeemed (RFC 6749 5.2: `invalid_grant`, or `invalid_scope`).
impl From<verity_core::grant::GrantError> for ApiError {
    fn from(e: verity_core::grant::GrantError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

/// A client that did not authenticate (`invalid_client` with its challenge) or a malformed
/// authentication (`invalid_request`).
impl From<verity_core::client_auth::ClientAuthError> for ApiError {
    fn from(e: verity_core::client_auth::ClientAuthError) -> Self {
        match e.code() {
            ErrorCode::InvalidClient => ApiError::invalid_client(e.to_string()),
            code => ApiError::new(code, e.to_string()),
        }
    }
}

/// What a store error means to whoever answers it, JSON or a page.
enum StoreFailure {
    /// The database cannot be reached (logged once, here): answer 503.
    Unavailable,
    /// A text with a NUL character, which no database column takes: the request is bad.
    InvalidText,
    /// Anything else: an internal failure.
    Internal(verity_store::StoreError),
}

impl From<verity_store::StoreError> for StoreFailure {
    fn from(e: verity_store::StoreError) -> Self {
        match e {
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable");
                StoreFailure::Unavailable
            }
            verity_store::StoreError::InvalidText => StoreFailure::InvalidText,
            other => StoreFailure::Internal(other),
        }
    }
}

impl From<verity_store::StoreError> for ApiError {
    fn from(e: verity_store::StoreError) -> Self {
        match StoreFailure::from(e) {
            StoreFailure::Unavailable => ApiError::new(
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable (its database cannot be reached); retry shortly",
            ),
            StoreFailure::InvalidText => {
                ApiError::invalid_request("a parameter contains a NUL character")
            }
            StoreFailure::Internal(e) => ApiError::internal("store", e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorResponse {
            error: self.code,
            error_description: Some(self.description),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(nonce) = self.dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            h.insert("dpop-nonce", nonce);
        }
        resp
    }
}

/// An error shown to a person as a page. Rendered by the request middleware, which knows the
/// request id and the templates.
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    /// What the person can do now and who can fix it, in plain words.
    pub next: Option<&'static str>,
    /// The technical reason for whoever fixes it (an app's developer), in small print.
    pub detail: Option<String>,
}

impl PageError {
    fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        PageError {
            status,
            title: title.into(),
            message: message.into(),
            next: None,
            detail: None,
        }
    }

    /// An authorization request Verity must refuse without returning to the app (RFC 6749
    /// 4.1.2.1: the client or its redirect URI cannot be trusted). The person reads what
    /// happened and that the app's developer can fix it; the protocol's words go in small print.
    pub fn authorize(code: ErrorCode, description: &str) -> Self {
        PageError {
            next: Some(
                "Go back to the app and try again. If this keeps happening, tell the app's \
                 support team: only the app's developer can fix it, and the details below help \
                 them.",
            ),
            detail: Some(format!("{description} ({code})", code = code.as_str())),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "This sign-in link does not work",
                "The app that sent you here asked Verity for something it cannot accept, so you \
                 cannot continue from this link. Nothing about you was shared with the app.",
            )
        }
    }

    /// A browser at an address where Verity has no page.
    pub fn no_page() -> Self {
        PageError {
            next: Some(
                "Check the address for a typing mistake, or start again from the app you were using.",
            ),
            ..Self::new(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no page at this address.",
            )
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "This request cannot be completed",
            message,
        )
    }

    /// 401: the person's session ended while they were on a page.
    pub fn signed_out(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Signed out", message)
    }

    /// 403: a form whose CSRF token does not match (stale, or posted from elsewhere).
    pub fn form_expired(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Form expired", message)
    }

    /// 403: the person may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Not allowed", message)
    }

    /// 409: what the form asks was already done (a decision taken meanwhile).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Already done", message)
    }

    /// 413: the form is over the body limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Too large", message)
    }

    /// 503: too much work in progress; the person may retry shortly.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "Busy", message)
    }

    /// 404 for something that is not there, or that this person may not know is there.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here, or you are not a member of its organization.",
        )
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "An internal error occurred. Please try again; if it persists, quote the request id below.",
        )
    }
}

impl From<verity_store::StoreError> for PageError {
    fn from(e: verity_store::StoreError) -> Self {
        match StoreFailure::from(e) {
            StoreFailure::Unavailable => PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The service is temporarily unavailable. Please try again in a moment.",
            ),
            StoreFailure::InvalidText => {
                PageError::bad_request("The request contains a NUL character.")
            }
            StoreFailure::Internal(e) => PageError::internal("store", e),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut resp = status.into_response();
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Why an operation of SPEC section 11 ([`crate::admin`]) failed; the admin API answers it as
/// JSON, the console as a page.
#[derive(Debug)]
pub enum AdminError {
    /// One message per problem, for a person to fix.
    Invalid(Vec<String>),
    NotFound(&'static str),
    Conflict(String),
    Store(verity_store::StoreError),
    Internal(String),
}

impl From<verity_store::StoreError> for AdminError {
    fn from(e: verity_store::StoreError) -> Self {
        match e {
            verity_store::StoreError::Conflict => AdminError::Conflict("it already exists".into()),
            other => AdminError::Store(other),
        }
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Invalid(list) => f.write_str(&list.join("; ")),
            AdminError::NotFound(what) => write!(f, "{what} not found"),
            AdminError::Conflict(what) => f.write_str(what),
            AdminError::Store(e) => write!(f, "{e}"),
            AdminError::Internal(e) => f.write_str(e),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(_) => ApiError::invalid_request(e.to_string()),
            AdminError::NotFound(_) => ApiError::new(ErrorCode::NotFound, e.to_string()),
            AdminError::Conflict(_) => ApiError::new(ErrorCode::Conflict, e.to_string()),
            AdminError::Store(s) => s.into(),
            AdminError::Internal(i) => ApiError::internal("admin operation", i),
        }
    }
}

/// A logout request that names the wrong app or carries a foreign hint: a page.
impl From<verity_core::logout::LogoutError> for PageError {
    fn from(e: verity_core::logout::LogoutError) -> Self {
        PageError::bad_request(e.to_string())
    }
}

impl From<AdminError> for PageError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(_) => PageError::bad_request(e.to_string()),
            AdminError::Conflict(_) => PageError::conflict(e.to_string()),
            AdminError::NotFound(_) => PageError::not_found(),
            AdminError::Store(s) => s.into(),
            AdminError::Internal(i) => PageError::internal("console", i),
        }
    }
}
