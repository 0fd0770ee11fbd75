//! `verity-client`: the relying-party side of Verity and ID.me, following every integration step
//! of OpenID Connect's authorization-code flow and the usual best practices.
//!
//! It depends on `verity-proto` at most and never on the provider's crates, so it stays an
//! independent check of the server.
//!
//! # Module map
//!
//! - [`config`]: [`ClientConfig`] (issuer, registration, skew, clock), [`ClientAuth`]
//!   (`client_secret_basic`, `client_secret_post`, `private_key_jwt`, public), [`Secret`].
//! - [`discovery`]: the provider metadata, read leniently and checked (issuer exact, endpoints
//!   https or loopback).
//! - [`authorize`]: the authorization URL (always `state`, `nonce`, PKCE S256) and the callback
//!   (`state` checked, `error` typed).
//! - [`assurance`]: OpenID Connect for Identity Assurance: the `claims` request
//!   ([`ClaimsRequest`]), the typed `verified_claims` answer ([`VerifiedClaims`]) and the check
//!   that it answers what was asked.
//! - [`par`]: [`Client::begin`]: the request pushed (RFC 9126 PAR) when the provider offers it,
//!   as a signed request object (RFC 9101 JAR) when configured.
//! - [`dpop`]: RFC 9449 DPoP: a key per sign-in ([`DpopKey`]), proofs, the provider's nonces.
//! - [`client`]: [`Client`]: code exchange, ID-token validation (OIDC Core 3.1.3.7), the cached
//!   JWKS, userinfo in its three wire forms, `attributes.json`, refresh, revocation, logout URL.
//! - [`id_token`]: the claim rules of 3.1.3.7, as a pure function.
//! - [`jose`]: JWS verification (RS256 and ES256 only) and lenient JWKS reading (ID.me quirks).
//! - [`userinfo`]: telling the userinfo wire forms apart; [`UserInfo`], the claims read.
//! - [`verified`]: [`Verified`], a completed sign-in (tokens, ID token, userinfo, identity).
//! - [`identity`]: [`Identity`]: attributes by handle in both claim-name families, groups.
//! - [`inspect`]: a report on any provider from its discovery and JWKS (`verity check`).
//! - [`session`]: [`Session`]: tokens refreshed with single flight.
//! - [`error`]: typed, `#[non_exhaustive]` errors.
//!
//! # The flow
//!
//! ```no_run
//! use verity_client::{CallbackQuery, Client, ClientAuth, ClientConfig, AuditLog};
//!
//! # async fn run() -> Result<(), verity_client::Error> {
//! // 1. Discovery.
//! let config = ClientConfig::new(
//!     "http://127.0.0.1:8080/oidc",
//!     "sandbox-confidential",
//!     ClientAuth::SecretBasic("sandbox-secret".into()),
//!     "http://127.0.0.1:8090/callback",
//! );
//! let client = Client::discover(config).await?;
//! // 2. Redirect: keep `pending` server-side, keyed by the browser's session.
//! let (url, pending) = client.authorization_request().scope("military").build()?;
//! println!("redirect the browser to {url}");
//! // 3-6. Callback, code exchange, ID token, userinfo and attributes.
//! let callback = CallbackQuery::parse("code=...&state=...");
//! let mut audit = AuditLog::default();
//! let verified = client.complete(&callback, &pending, &mut audit).await?;
//! // 7. Use the verified attributes, by handle.
//! let first_name = verified.identity.text("fname");
//! let veteran = verified.identity.group("military").is_some_and(|g| g.verified);
//! # let _ = (first_name, veteran);
//! # Ok(())
//! # }
//! ```
//!
//! Building a request needs no network:
//!
//! ```
//! use verity_client::discovery::Metadata;
//! use verity_client::{Client, ClientAuth, ClientConfig};
//!
//! let metadata: Metadata = serde_json::from_value(serde_json::json!({
//!     "issuer": "https://api.idmelabs.com/oidc",
//!     "authorization_endpoint": "https://api.idmelabs.com/oauth/authorize",
//!     "token_endpoint": "https://api.idmelabs.com/oauth/token",
//!     "userinfo_endpoint": "https://api.idmelabs.com/api/public/v3/userinfo",
//!     "jwks_uri": "https://api.idmelabs.com/oidc/.well-known/jwks",
//! })).unwrap();
//! let config = ClientConfig::new(
//!     "https://api.idmelabs.com/oidc",
//!     "my-client-id",
//!     ClientAuth::SecretPost("my-secret".into()),
//!     "https://app.example/callback",
//! );
//! let client = Client::from_metadata(config, metadata).unwrap();
//! let (url, pending) = client
//!     .authorization_request()
//!     .scope("http://idmanagement.gov/ns/assurance/ial/2/aal/2")
//!     .build()
//!     .unwrap();
//! assert!(url.as_str().contains("code_challenge_method=S256"));
//! assert!(url.as_str().contains(&pending.state));
//! ```
//!
//! # Requesting verified claims (identity assurance)
//!
//! An app that must know *how* a person was verified (which document, issued by whom, when)
//! asks for `verified_claims` (OpenID Connect for Identity Assurance 1.0) through the `claims`
//! parameter, then keeps only the answers that match what it asked:
//!
//! ```no_run
//! use verity_client::assurance::{ClaimsRequest, VerifiedClaimsRequest};
//! # fn run(
//! #     client: verity_client::Client,
//! #     verified: verity_client::Verified,
//! #     now: i64,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! let wanted = ClaimsRequest::new()
//!     // Identity, verified under NIST SP 800-63A within the last year.
//!     .userinfo(
//!         VerifiedClaimsRequest::new()
//!             .trust_framework("nist_800_63A")
//!             .max_age(365 * 24 * 3600)
//!             .claim("given_name")
//!             .claim("family_name")
//!             .essential_claim("birthdate")
//!             .purpose("To confirm your age"),
//!     )
//!     // Group membership, verified under Verity's own rules.
//!     .userinfo(VerifiedClaimsRequest::new().trust_framework("verity").claim("group").claim("subgroups"));
//! let (url, pending) = client
//!     .authorization_request()
//!     .scopes(["military", "http://idmanagement.gov/ns/assurance/ial/2/aal/2"])
//!     .claims(wanted.clone())
//!     .build()?;
//! // ... redirect, callback, `client.complete(...)` as above, giving `verified` ...
//! let answers = wanted.answers(&verified, now)?;
//! for answer in &answers.kept {
//!     let v = &answer.verification;
//!     for evidence in &v.evidence {
//!         if let Some(doc) = &evidence.document_details {
//!             println!("{:?} checked on {:?} from a {}", answer.claims.keys(), v.time, doc.kind);
//!         }
//!     }
//! }
//! // `answers.refused` holds what the provider sent but was not asked (with the reason).
//! # let _ = (url, pending);
//! # Ok(())
//! # }
//! ```

pub mod assertion;
pub mod assurance;
pub mod authorize;
pub mod client;
pub mod config;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod id_token;
pub mod identity;
pub mod inspect;
pub mod jose;
pub mod par;
pub mod session;
pub mod token;
pub mod userinfo;
pub mod verified;

pub use assertion::PrivateKey;
pub use assertion::random_token;
pub use assurance::{ClaimsRequest, VerifiedClaims, VerifiedClaimsRequest};
pub use authorize::{AuthorizationRequest, CallbackQuery, Op, PendingAuthorization, Prompt};
pub use client::{AuditLog, Client, RawResponse};
pub use config::{ClientAuth, ClientConfig, Clock, Secret, SystemClock};
pub use dpop::DpopKey;
pub use error::{CallbackError, DiscoveryError, Error, IdTokenError, JoseError, UserInfoError};
pub use id_token::IdToken;
pub use identity::{Attribute, Attributes, Group, Identity};
pub use session::Session;
pub use token::Tokens;
pub use userinfo::UserInfo;
pub use verified::Verified;

/// The `acr` of a phishing-resistant sign-in (a passkey), as login.gov and Verity spell it: pass
/// it to [`AuthorizationRequest::acr_values`] to demand one.
pub const ACR_PHISHING_RESISTANT: &str =
    "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true";
