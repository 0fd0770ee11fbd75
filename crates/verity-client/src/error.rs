//! Typed errors. Every failure a relying party must tell apart has its own variant, so an app can
//! show "you declined" differently from "the provider sent a forged token".

use thiserror::Error;

/// Anything that can go wrong talking to the provider.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The settings given to the client are not usable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The request could not be sent or its answer not read.
    #[error("HTTP request to {endpoint} failed")]
    Http {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// The provider answered with an unexpected HTTP status and no OAuth error body.
    #[error("{endpoint} answered HTTP {status}")]
    Status { endpoint: &'static str, status: u16 },
    /// The provider answered with an OAuth error body (RFC 6749 5.2).
    #[error("{endpoint} refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Provider {
        endpoint: &'static str,
        error: String,
        description: Option<String>,
    },
    /// An answer was larger than the client accepts.
    #[error("the answer of {endpoint} is larger than {limit} bytes")]
    TooLarge {
        endpoint: &'static str,
        limit: usize,
    },
    /// An answer could not be parsed.
    #[error("the answer of {endpoint} is malformed: {reason}")]
    Malformed {
        endpoint: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error(transparent)]
    Callback(#[from] CallbackError),
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
    #[error(transparent)]
    UserInfo(#[from] UserInfoError),
    #[error(transparent)]
    Jose(#[from] JoseError),
}

/// The discovery document is unusable.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryError {
    #[error("the discovery document names issuer {found:?}, not {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the discovery document lacks {0}")]
    Missing(&'static str),
    #[error("{name} is not an absolute https URL (or http on a loopback host): {value:?}")]
    InsecureEndpoint { name: &'static str, value: String },
    #[error("the provider does not support {0}")]
    Unsupported(&'static str),
}

/// What came back on the redirect URI is not a success for this request.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// The provider sent an error (`access_denied` when the person declined).
    #[error("the provider answered {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Provider {
        error: String,
        description: Option<String>,
    },
    /// `state` is missing or is not the one this browser's request sent (CSRF, OAuth 2.0 10.12).
    #[error("the state parameter does not match the request")]
    StateMismatch,
    /// Neither `code` nor `error` is present.
    #[error("the callback carries no code")]
    MissingCode,
    /// RFC 9207: the `iss` parameter names another provider (mix-up attack).
    #[error("the callback names issuer {0:?}")]
    IssuerMismatch(String),
}

/// An ID token failed one of the steps of OIDC Core 3.1.3.7.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenError {
    #[error("the token response has no id_token")]
    Missing,
    #[error(transparent)]
    Jose(#[from] JoseError),
    #[error("claim {0} is missing or has the wrong type")]
    MissingClaim(&'static str),
    #[error("iss is {found:?}, expected {expected:?}")]
    Issuer { expected: String, found: String },
    #[error("aud does not contain this client")]
    Audience,
    #[error("aud contains an audience this client does not trust: {0:?}")]
    UntrustedAudience(String),
    #[error("azp is {0:?}, not this client")]
    AuthorizedParty(String),
    #[error("several audiences and no azp")]
    MissingAuthorizedParty,
    #[error("the token expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("the token is issued in the future (iat {iat}, now {now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("the token is not valid before {nbf} (now {now})")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("nonce does not match the request")]
    Nonce,
    #[error("the token carries no nonce but the request sent one")]
    MissingNonce,
    #[error("at_hash does not match the access token")]
    AtHash,
    #[error("the authentication is older than max_age")]
    AuthTooOld,
    #[error("acr {found:?} is not one of the acr_values asked for ({asked})")]
    Acr {
        asked: String,
        found: Option<String>,
    },
    #[error("sub changed from {expected:?} to {found:?}")]
    Subject { expected: String, found: String },
}

/// A userinfo answer is unusable.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserInfoError {
    #[error("userinfo sub {found:?} differs from the ID token's {expected:?}")]
    Subject { expected: String, found: String },
    #[error("the userinfo answer is neither a JWT nor a JSON object")]
    Form,
    #[error(transparent)]
    Jose(#[from] JoseError),
    #[error("the signed userinfo names issuer {0:?}")]
    Issuer(String),
    #[error("the signed userinfo is not for this client")]
    Audience,
    #[error("the signed userinfo expired")]
    Expired,
}

/// A JWS could not be verified.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum JoseError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("the JWS is larger than {0} bytes")]
    TooLarge(usize),
    #[error("encrypted tokens (JWE) are not supported")]
    Encrypted,
    /// `none`, HMAC, or anything but RS256 and ES256 (RFC 8725 3.1).
    #[error("algorithm {0:?} is not accepted (RS256 or ES256 only)")]
    Algorithm(String),
    #[error("the JWS header marks extensions as critical: {0}")]
    Critical(String),
    /// No signing key of the provider has this `kid`, even after fetching the JWKS again.
    #[error("no signing key with kid {0:?}")]
    UnknownKey(String),
    #[error("no signing key fits the token")]
    NoKey,
    #[error("the signature does not verify")]
    Signature,
}
