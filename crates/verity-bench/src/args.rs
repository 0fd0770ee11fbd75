//! The command line of `verity bench` (and of the standalone `verity-bench` binary).

use clap::{Args, ValueEnum};
use serde::Serialize;

/// Drive a running OpenID provider over loopback and report throughput, latency, errors and the
/// provider's CPU time per operation.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// What to measure (not needed with --quick).
    #[arg(value_enum, required_unless_present = "quick")]
    pub mode: Option<Mode>,
    /// The provider's issuer: discovery is read from `<issuer>/.well-known/openid-configuration`.
    #[arg(
        long,
        env = "VERITY_BENCH_ISSUER",
        default_value = "http://127.0.0.1:8080/oidc"
    )]
    pub issuer: String,
    /// Whose sign-in pages to expect: Verity's, or node-oidc-provider's development interactions.
    #[arg(long, value_enum, default_value_t = Provider::Verity)]
    pub provider: Provider,
    /// Stop after this many measured operations (a flow for sso and signin, a request otherwise).
    #[arg(
        long = "flows",
        visible_alias = "requests",
        default_value_t = 1_000_000
    )]
    pub count: u64,
    /// Stop after this many seconds of measurement.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Concurrent workers, each with its own keep-alive connection and cookie jar.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Seconds of load before measuring starts (caches, node's JIT).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// The provider's process id, for CPU time per operation and memory (read from /proc/<pid>).
    /// Without it those figures are "n/a".
    #[arg(long)]
    pub pid: Option<u32>,
    /// A confidential client (client_secret_basic) allowed the authorization-code and
    /// refresh-token grants.
    #[arg(
        long,
        env = "VERITY_BENCH_CLIENT_ID",
        default_value = "sandbox-confidential"
    )]
    pub client_id: String,
    #[arg(
        long,
        env = "VERITY_BENCH_CLIENT_SECRET",
        default_value = "sandbox-secret",
        hide_env_values = true
    )]
    pub client_secret: String,
    /// A redirect URI registered for the client; nothing needs to listen there.
    #[arg(long, default_value = "http://127.0.0.1:8090/callback")]
    pub redirect_uri: String,
    /// The account that signs in. The default sandbox persona has no second factor and no
    /// missing verification, so sign-in is one password form.
    #[arg(long, default_value = "student@sandbox.test")]
    pub username: String,
    #[arg(
        long,
        env = "VERITY_BENCH_PASSWORD",
        default_value = "sandbox-password",
        hide_env_values = true
    )]
    pub password: String,
    /// Scopes requested by every flow.
    #[arg(long, default_value = "openid profile email")]
    pub scope: String,
    /// The userinfo wire form the client gets (the app's response format): `idme`, a JSON string
    /// holding a signed JWT, or `oidc`, a JSON object. Default: `idme` for Verity, `oidc` for
    /// node-oidc-provider.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Admin API token of the Verity under test. With `--profile oidc` the tool registers a
    /// confidential app with the `oidc` profile (same redirect URI and scopes) and uses it.
    #[arg(long, env = "VERITY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Bind the tokens to a DPoP key (RFC 9449): each worker keeps one ES256 key, and every token
    /// request and userinfo call carries a proof (sso, signin, refresh, userinfo).
    #[arg(long)]
    pub dpop: bool,
    /// Print the report as JSON (one object; an array with --quick).
    #[arg(long)]
    pub json: bool,
    /// A few operations of every mode, no warm-up: a smoke test for CI. Fails on any error.
    #[arg(long)]
    pub quick: bool,
    /// How many failing answers to print.
    #[arg(long, default_value_t = 3)]
    pub show_errors: usize,
}

/// What one run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Each worker signs in once; then authorize (live session, remembered consent) -> code ->
    /// token (RS256 ID token) -> userinfo, repeated. One operation is one flow.
    Sso,
    /// Whole flows with a password sign-in each time (a fresh cookie jar per flow).
    Signin,
    /// Refresh-token grants with rotation (one ID token each).
    Refresh,
    /// Userinfo calls with one access token.
    Userinfo,
    /// Token introspection (RFC 7662) of an access token.
    Introspect,
    /// The JWKS document.
    Jwks,
    /// The discovery document.
    Discovery,
    /// No provider: RS256 signatures (a 2048-bit key, aws-lc-rs) in this process, the floor of
    /// every flow and refresh grant on this machine; CPU per operation is this process's.
    Signature,
}

impl Mode {
    /// Every mode, in the order `--quick` runs them.
    pub const ALL: [Mode; 8] = [
        Mode::Sso,
        Mode::Signin,
        Mode::Refresh,
        Mode::Userinfo,
        Mode::Introspect,
        Mode::Jwks,
        Mode::Discovery,
        Mode::Signature,
    ];

    /// The name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sso => "sso",
            Mode::Signin => "signin",
            Mode::Refresh => "refresh",
            Mode::Userinfo => "userinfo",
            Mode::Introspect => "introspect",
            Mode::Jwks => "jwks",
            Mode::Discovery => "discovery",
            Mode::Signature => "signature",
        }
    }

    /// Whether one operation is a whole flow (reported as flows/s).
    pub fn is_flow(self) -> bool {
        matches!(self, Mode::Sso | Mode::Signin)
    }
}

/// Whose sign-in pages the flows walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Verity: `email`/`password` sign-in form, consent with `decision=allow`, CSRF tokens.
    Verity,
    /// node-oidc-provider's development interactions: `login`/`password`, then a consent form.
    NodeOidc,
}

impl Provider {
    /// The name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Verity => "verity",
            Provider::NodeOidc => "node-oidc",
        }
    }
}

/// The userinfo wire form (SPEC 7): `idme`, a JSON string holding a signed JWT; `oidc`, a JSON
/// object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Idme,
    Oidc,
}
