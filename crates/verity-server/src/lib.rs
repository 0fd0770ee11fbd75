//! The Verity OpenID Connect provider as a library, so that the `verity` binary and the tests
//! start the very same server (tests on port 0 with a fresh database each).
//!
//! - [`settings`]: flags, `VERITY_*` environment variables and the optional TOML file.
//! - [`startup`]: opening the database, migrating, loading keys, seeding the sandbox, serving.
//! - [`state`]: what every handler shares ([`state::AppState`]).
//! - [`keyring`]: the signing keys in memory and the published JWKS.
//! - [`maintenance`]: purge, automatic key rotation, key reload: one step, run periodically.
//! - [`sandbox`]: the personas and apps of SPEC section 9.
//! - [`admin`]: the operations of SPEC 11, shared by the admin API, the console and the CLI.
//! - [`backchannel`]: OIDC Back-Channel Logout notifications.
//! - [`error`]: `ApiError` (JSON, RFC 6749 5.2) and `PageError` (an HTML page for a person).
//! - [`extract`]: our own request parsing, so malformed input becomes `invalid_request`.
//! - [`middleware`]: request ids, client addresses, access logs (never query strings), security
//!   headers.
//! - [`metrics`]: `/metrics` for Prometheus.
//! - [`outbox`]: outgoing mail (invitations): files, logs, SMTP.
//! - [`pages`]: the templates of the sign-in journey.
//! - [`routes`]: one module per endpoint; `routes::router` is the whole route table.

pub mod admin;
pub mod backchannel;
pub mod error;
pub mod extract;
pub mod keyring;
pub mod maintenance;
pub mod metrics;
pub mod middleware;
pub mod outbox;
pub mod pages;
pub mod routes;
pub mod sandbox;
pub mod settings;
pub mod startup;
pub mod state;

pub use axum::http::HeaderMap;
pub use settings::{Environment, LogFormat, ServeArgs, Settings};
pub use startup::Verity;
