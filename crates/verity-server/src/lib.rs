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
//! - [`outbound`]: the one HTTP client of Verity's own calls to apps, which never connects to an
//!   internal address.
//! - [`error`]: `ApiError` (JSON, RFC 6749 5.2) and `PageError` (an HTML page for a person).
//! - [`issuer`]: mints and signs tokens (token responses, ID tokens, signed userinfo, logout
//!   tokens) for every route that issues them.
//! - [`extract`]: our own request parsing, so malformed input becomes `invalid_request`.
//! - [`middleware`]: request ids, client addresses, access logs (never query strings), security
//!   headers.
//! - [`metrics`]: `/metrics` for Prometheus.
//! - [`outbox`]: outgoing mail (invitations): files, logs, SMTP.
//! - [`email_links`]: mailing the single-use password-reset and email-confirmation links.
//! - [`pages`]: the templates, and the [`pages::Page`] trait a typed page context implements.
//! - [`respond`]: answers several routes share (303 after a post, the redirect back to an app).
//! - [`session`]: the person's session with Verity (cookies, who is signed in, the account
//!   client that sends a person through the sign-in journey).
//! - [`auth`]: passwords, failed-attempt limits and the second factor, in one place each.
//! - [`limits`]: limits on what one address, account or organization may create or send,
//!   taken before the work they guard, refused with 429.
//! - [`audit`]: the [`audit::AuditEvent`] vocabulary of the audit trail.
//! - [`verification`]: verification cases (SPEC 12) decided and revoked.
//! - [`routes`]: one module per endpoint; `routes::router` is the whole route table.

pub mod admin;
pub mod assurance;
pub mod audit;
pub mod auth;
pub mod backchannel;
pub mod cors;
pub mod dpop;
pub mod email_links;
pub mod erase;
pub mod error;
pub mod extract;
pub mod issuer;
pub mod keyring;
pub mod limits;
pub mod maintenance;
pub mod metrics;
pub mod middleware;
pub mod outbound;
pub mod outbox;
pub mod pages;
pub mod passkey;
pub mod request_object;
pub mod respond;
pub mod routes;
pub mod sandbox;
pub mod session;
pub mod settings;
pub mod startup;
pub mod state;
pub mod verification;

pub use axum::http::HeaderMap;
pub use settings::{Environment, LogFormat, ServeArgs, Settings};
pub use startup::Verity;
