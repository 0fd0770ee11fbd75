//! Verity's protocol and domain rules, with no HTTP and no SQL.
//!
//! Handlers in `verity-server` extract input, call into this crate for every protocol
//! decision, and map the result to a response; `verity-store` persists what it decides.
//!
//! - [`clock`]: the injectable [`clock::Clock`] (tests move time instead of sleeping).
//! - [`secret`]: random tokens, hashing for storage, constant-time comparison.
//! - [`scope`]: space-separated scope sets (RFC 6749 section 3.3).
//! - [`registration`]: what an app's registration must be (names, URLs, lifetimes, algorithms).
//! - [`redirect`]: redirect-URI registration rules and exact matching.
//! - [`pkce`]: RFC 7636 S256 challenges and verifiers.
//! - [`authorize`]: authorization-request validation, and where each error may be delivered.
//! - [`values`]: the protocol values that travel ([`values::ClientId`], [`values::Nonce`],
//!   [`values::PkceChallenge`]).
//! - [`grant`]: the code and refresh grants, from issue to redemption, and what they issue.
//! - [`interaction`]: which page of the sign-in journey comes next.
//! - [`identity`]: attributes, groups, policies, and the claims a grant releases.
//! - [`verification`]: verification cases (SPEC 12): methods, states and transitions, accepted
//!   email domains, lifetimes, emailed codes.
//! - [`evidence`]: the files of a `document` case: which are taken, and how they are sealed.
//! - [`claims`]: the ID-token and userinfo claim sets.
//! - [`assurance`]: OpenID Connect for Identity Assurance: `verified_claims` requests and answers.
//! - [`keys`]: signing keys (RS256, ES256), JWKs, JWT signing, the master key.
//! - [`logout`]: which app a logout names and where the browser may go afterwards.
//! - [`jose`]: verifying JWS from clients (assertions, `id_token_hint`).
//! - [`dpop`]: RFC 9449 proofs, key thumbprints and server nonces.
//! - [`jar`]: RFC 9101 request objects and RFC 9126 pushed requests' references.
//! - [`throttle`]: brute-force limits and their keys.
//! - [`limits`]: limits on what one address, account or organization may create or send, and
//!   their fixed-window counting.
//! - [`totp`]: RFC 6238 one-time codes.
//! - [`authn`]: how a person authenticated (`amr`, `acr`, passkeys) and what an app demands of it.
//! - [`password`]: argon2id hashing with configurable cost.
//! - [`account`]: what a new password and an email address must be.
//! - [`email_link`]: the single-use links mailed for a password reset and an email
//!   confirmation: lifetimes, tokens, when one is usable.
//! - [`client_auth`]: RFC 6749 section 2.3.1 `Basic` client credentials.
//! - [`net`]: the client address behind trusted reverse proxies (`X-Forwarded-For`).

pub mod account;
pub mod assurance;
pub mod authn;
pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod clock;
pub mod dpop;
pub mod email_link;
pub mod evidence;
pub mod grant;
pub mod identity;
pub mod interaction;
pub mod jar;
pub mod jose;
pub mod keys;
pub mod limits;
pub mod logout;
pub mod net;
pub mod origin;
pub mod password;
pub mod pkce;
pub mod redirect;
pub mod registration;
pub mod review;
pub mod scope;
pub mod secret;
pub mod throttle;
pub mod totp;
pub mod values;
pub mod verification;
