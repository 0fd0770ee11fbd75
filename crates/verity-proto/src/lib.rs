//! Wire types of Verity's API: what goes over HTTP, and nothing else.
//!
//! Serde only, no I/O, no logic, so that the provider (`verity-server`) and the
//! relying-party library (`verity-client`) speak the same payloads.
//!
//! - [`error`]: the OAuth 2.0 / OIDC error codes and the `{error, error_description}` body.
//! - [`discovery`]: the OpenID Provider metadata document.
//! - [`jwks`]: JSON Web Keys and key sets.
//! - [`token`]: the token endpoint's success body.
//! - [`attributes`]: ID.me's `attributes.json` and `policies` payloads.

pub mod attributes;
pub mod discovery;
pub mod error;
pub mod jwks;
pub mod token;
