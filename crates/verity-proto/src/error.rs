//! Error codes of RFC 6749 (4.1.2.1, 5.2), RFC 6750 (3.1), RFC 7009, OIDC Core 3.1.2.6.

use serde::{Deserialize, Serialize};

/// Every error code Verity answers with, spelled as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 9101 / OIDC Core 3.1.2.6: a request object that does not verify or is out of date.
    InvalidRequestObject,
    /// RFC 9126 / OIDC Core 3.1.2.6: a `request_uri` unknown, used, expired or another app's.
    InvalidRequestUri,
    /// RFC 9449 5 and 7.1: a DPoP proof that is missing, malformed or does not match.
    InvalidDpopProof,
    /// RFC 9449 8: the proof must carry the nonce the server sends in `DPoP-Nonce`.
    UseDpopNonce,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    NotFound,
    Conflict,
    Unauthorized,
    /// The caller is known but may not do this (the admin API: a reviewer's own case).
    Forbidden,
    /// Over a limit on what one address, account or organization may do (answered 429 with
    /// `Retry-After`).
    TooManyRequests,
}

impl ErrorCode {
    /// The code as it appears in a query string or JSON body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::TooManyRequests => "too_many_requests",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON error body of RFC 6749 section 5.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}
