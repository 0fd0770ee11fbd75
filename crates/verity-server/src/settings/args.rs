//! The flags of `verity serve` as read from the command line, the environment and the TOML
//! file, before [`super::Settings::resolve`] merges them and fills in the defaults.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Sandbox,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret setting: prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The flags of `verity serve` (and `verity migrate`); each also reads its environment variable.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeArgs {
    /// A TOML file of settings (same names as the flags, with underscores).
    #[arg(long, env = "VERITY_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "VERITY_LISTEN")]
    pub listen: Option<String>,
    /// Public base URL; the issuer is <public URL>/oidc [default: http://<listen address>].
    #[arg(long, env = "VERITY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB [default: sqlite://<data dir>/verity.db].
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for the embedded database and the master key [default: ./verity-data].
    #[arg(long, env = "VERITY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sandbox or production [default: production; --sandbox sets sandbox].
    #[arg(long, env = "VERITY_ENV", value_enum)]
    pub env: Option<Environment>,
    /// Run in the sandbox environment: seed the test personas (veteran@sandbox.test and others,
    /// password sandbox-password) and two apps, sandbox-confidential and sandbox-public.
    #[arg(long)]
    #[serde(default)]
    pub sandbox: bool,
    /// Bearer token of the admin API (disabled when unset).
    #[arg(long, env = "VERITY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// text or json [default: text].
    #[arg(long, env = "VERITY_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// 32-byte key (hex or base64) that encrypts private keys at rest [default: <data dir>/master.key, created if missing].
    #[arg(long, env = "VERITY_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<Secret>,
    /// Master keys this one replaced, comma-separated: what they sealed still opens, everything
    /// new is sealed under VERITY_MASTER_KEY (a rotation; see the operators' guide).
    #[arg(long, env = "VERITY_PREVIOUS_MASTER_KEYS", hide_env_values = true)]
    pub previous_master_keys: Option<Secret>,
    /// argon2id memory cost in KiB [default: 19456, OWASP's minimum].
    #[arg(long, env = "VERITY_ARGON2_MEMORY_KIB")]
    pub argon2_memory_kib: Option<u32>,
    /// argon2id iterations [default: 2].
    #[arg(long, env = "VERITY_ARGON2_ITERATIONS")]
    pub argon2_iterations: Option<u32>,
    /// argon2id parallelism [default: 1].
    #[arg(long, env = "VERITY_ARGON2_PARALLELISM")]
    pub argon2_parallelism: Option<u32>,
    /// Lifetime of a sign-in session at the provider, in seconds [default: 28800].
    #[arg(long, env = "VERITY_SESSION_TTL")]
    pub session_ttl: Option<i64>,
    /// Seconds during which a rotated refresh token, presented again before its successor is
    /// used, gets the same answer again (a lost response); 0: strict [default: 60].
    #[arg(long, env = "VERITY_REFRESH_RETRY_WINDOW")]
    pub refresh_retry_window: Option<i64>,
    /// Require DPoP proofs to carry a nonce from the server (RFC 9449 8), which bounds how long
    /// a proof made in advance stays usable [default: off].
    #[arg(long, env = "VERITY_DPOP_NONCE", action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "on|off")]
    pub dpop_nonce: Option<bool>,
    /// Seconds between publishing a new signing key and signing with it [default: 3600].
    #[arg(long, env = "VERITY_KEY_PUBLICATION_DELAY")]
    pub key_publication_delay: Option<i64>,
    /// Rotate signing keys automatically every this many days; 0 turns it off [default: 0].
    #[arg(long, env = "VERITY_KEY_ROTATION_DAYS")]
    pub key_rotation_days: Option<i64>,
    /// Seconds between maintenance runs: purge expired rows, reload keys, rotate when due [default: 60].
    #[arg(long, env = "VERITY_MAINTENANCE_INTERVAL")]
    pub maintenance_interval: Option<u64>,
    /// SMTP relay for invitations (plain SMTP, no authentication); unset: outbox files only.
    #[arg(long, env = "VERITY_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port [default: 25].
    #[arg(long, env = "VERITY_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// Sender address of invitations [default: verity@localhost].
    #[arg(long, env = "VERITY_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed: comma-separated addresses or CIDR
    /// blocks, e.g. `127.0.0.1,10.0.0.0/8` [default: none: the TCP peer is the client].
    #[arg(long, env = "VERITY_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Internal address blocks Verity's own calls (apps' `jwks_uri`, back-channel logout) may
    /// reach, for apps inside the operator's network: comma-separated addresses or CIDR blocks,
    /// e.g. `10.20.0.0/16` [default: none: only public addresses; the sandbox adds loopback].
    #[arg(long, env = "VERITY_OUTBOUND_ALLOW")]
    pub outbound_allow: Option<String>,
    /// Most database connections this node holds [default: 16; SQLite: at most 8].
    #[arg(long, env = "VERITY_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// Seconds a request waits for a database connection before it is answered 503 [default: 3].
    #[arg(long, env = "VERITY_DB_ACQUIRE_TIMEOUT")]
    pub db_acquire_timeout: Option<u64>,
    /// Threads that answer requests; signatures, password hashes and checkpoints run on threads
    /// of their own beside them [default: one per core].
    #[arg(long, env = "VERITY_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
    /// The email domains that verify a group (a code sent to an address there), replacing the
    /// defaults of the groups named: `teacher=*.k12.ca.us,schools.example;nurse=*.hospital.example`
    /// [default: government=*.gov,*.mil;student=*.edu].
    #[arg(long, env = "VERITY_VERIFICATION_DOMAINS")]
    pub verification_domains: Option<String>,
    /// How many days a group's verification lasts, 0 for until revoked:
    /// `student=365;teacher=365` [default: student and teacher 365, the others 0].
    #[arg(long, env = "VERITY_VERIFICATION_LIFETIMES")]
    pub verification_lifetimes: Option<String>,
    /// Days a decided case's documents are kept before they are deleted [default: 30].
    #[arg(long, env = "VERITY_EVIDENCE_RETENTION_DAYS")]
    pub evidence_retention_days: Option<i64>,
    /// Days audit rows are kept before the maintenance task deletes them; 0 keeps them forever
    /// [default: 400].
    #[arg(long, env = "VERITY_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<i64>,
    /// Seconds a client has to send a request's headers, and that a kept-alive connection may
    /// wait for its next request [default: 10].
    #[arg(long, env = "VERITY_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u64>,
    /// Connections served at once; more are answered 503 and closed [default: 4096].
    #[arg(long, env = "VERITY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Uploads read at once; more get 503 (each may hold up to 50 MiB in memory) [default: 4].
    #[arg(long, env = "VERITY_MAX_CONCURRENT_UPLOADS")]
    pub max_concurrent_uploads: Option<usize>,
    /// Bearer token that reads `/metrics` on the main port (without it, and without
    /// `--metrics-listen`, `/metrics` is not served).
    #[arg(long, env = "VERITY_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
    /// A separate address serving `/metrics` without a token, for a scraper on a private
    /// network (e.g. `127.0.0.1:9464`).
    #[arg(long, env = "VERITY_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Accounts created per client address, as <count>/<length><unit> (s, m, h, d) or off
    /// [default: 10/10m].
    #[arg(long, env = "VERITY_LIMIT_SIGNUP")]
    pub limit_signup: Option<String>,
    /// Codes (and other mail a person asks for) sent to one email address [default: 5/1h].
    #[arg(long, env = "VERITY_LIMIT_EMAIL_CODE")]
    pub limit_email_code: Option<String>,
    /// Codes (and other mail a person asks for) sent from one client address [default: 20/1h].
    #[arg(long, env = "VERITY_LIMIT_EMAIL_CODE_ADDRESS")]
    pub limit_email_code_address: Option<String>,
    /// Invitations sent per organization from the console [default: 50/1d].
    #[arg(long, env = "VERITY_LIMIT_INVITATIONS")]
    pub limit_invitations: Option<String>,
    /// Organizations created per account in the console [default: 10/1d].
    #[arg(long, env = "VERITY_LIMIT_ORGS")]
    pub limit_orgs: Option<String>,
    /// Apps registered per account in the console [default: 10/1d].
    #[arg(long, env = "VERITY_LIMIT_APPS")]
    pub limit_apps: Option<String>,
}

impl ServeArgs {
    /// The settings of a TOML file (`--config`); an unknown name is an error.
    pub(super) fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}
