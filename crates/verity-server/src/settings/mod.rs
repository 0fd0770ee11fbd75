//! Settings of SPEC section 1: flags first, then environment variables, then the TOML file given
//! with `--config`, then defaults. Parsed once into [`Settings`] and passed explicitly.
//!
//! - `args`: [`ServeArgs`], the flags as given (clap derive, also read from the TOML file).
//! - here: [`Settings`], the resolved settings every part of the server reads.

mod args;

use std::path::{Path, PathBuf};

use anyhow::Context;
use verity_core::limits::{Kind, Limits};
use verity_core::net::Cidr;
use verity_core::password::Cost;
use verity_store::PoolOptions;

pub use args::{Environment, LogFormat, Secret, ServeArgs};

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    /// `None`: derived from the address actually bound (tests listen on port 0).
    pub public_url: Option<String>,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub environment: Environment,
    pub admin_token: Option<Secret>,
    pub log_format: LogFormat,
    pub master_key: Option<Secret>,
    /// Master keys the current one replaced (comma-separated in the setting).
    pub previous_master_keys: Option<Secret>,
    pub password_cost: Cost,
    pub session_ttl: i64,
    /// How long a person has to finish the sign-in pages of one authorization request.
    pub interaction_ttl: i64,
    pub key_publication_delay: i64,
    /// 0: strict rotation, no second answer.
    pub refresh_retry_window: i64,
    /// DPoP proofs must carry a server nonce.
    pub dpop_nonce: bool,
    /// 0: no automatic rotation.
    pub key_rotation_days: i64,
    /// 0: no background maintenance task (tests drive `maintenance::run_once`).
    pub maintenance_interval: u64,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_from: String,
    pub trusted_proxies: Vec<Cidr>,
    /// Internal blocks Verity's own calls may reach all the same (empty: public addresses only).
    pub outbound_allow: Vec<Cidr>,
    pub db_pool: PoolOptions,
    /// The async runtime's worker threads (`verity serve` builds its runtime with them).
    pub worker_threads: usize,
    /// How each group is verified (SPEC 12): accepted email domains and lifetimes.
    pub verification_methods: Vec<verity_core::verification::GroupMethods>,
    /// Days a decided case's documents are kept.
    pub evidence_retention_days: i64,
    /// Days audit rows are kept (0: forever).
    pub audit_retention_days: i64,
    /// Uploads read at once (each may hold up to 50 MiB in memory); more are answered 503.
    pub max_concurrent_uploads: usize,
    /// Seconds for a request's headers, and for an idle kept-alive connection.
    pub header_read_timeout: u64,
    /// Connections served at once.
    pub max_connections: usize,
    /// Who may read `/metrics` on the main port (nobody when unset).
    pub metrics_token: Option<Secret>,
    /// The separate `/metrics` listener's address, if any.
    pub metrics_listen: Option<String>,
    /// What one address, account or organization may create or send (`VERITY_LIMIT_*`).
    pub limits: Limits,
}

/// The default of [`Settings::worker_threads`]: one per core, as tokio's own default.
///
/// RS256 signatures, argon2id and SQLite checkpoints run on tokio's blocking pool beside the
/// workers, so fewer workers still use every core under load. On a 2-core machine shared with a
/// database or a load generator, one worker costs `userinfo` and `introspect` about 10 % less
/// CPU and halves their p99 (a sleeping worker is woken for fewer requests), but it caps the
/// requests' own work at one core: `jwks` and discovery lost a quarter of their throughput, and
/// on a node of its own the `sso` flows would too (BENCHMARKS.md, "Worker threads").
pub fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Settings {
    /// Merges flags and environment (already in `args`) over the TOML file, over defaults.
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => ServeArgs::from_file(path)?,
            None => ServeArgs::default(),
        };
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./verity-data"));
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let environment = if args.sandbox || file.sandbox {
            Environment::Sandbox
        } else {
            args.env.or(file.env).unwrap_or(Environment::Production)
        };
        let database_url = args
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("verity.db").display()));
        let public_url = args
            .public_url
            .or(file.public_url)
            .map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            let parsed = url::Url::parse(u)
                .with_context(|| format!("VERITY_PUBLIC_URL {u:?} is not a URL"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https")
                    && parsed.query().is_none()
                    && parsed.fragment().is_none()
                    && parsed.path() == "/",
                "VERITY_PUBLIC_URL must be an http(s) origin such as https://id.example.com, \
                 without a path (Verity's endpoints live at fixed paths), query or fragment"
            );
        }
        let trusted_proxies = match args.trusted_proxies.or(file.trusted_proxies) {
            Some(text) => verity_core::net::parse_list(&text).context("VERITY_TRUSTED_PROXIES")?,
            None => Vec::new(),
        };
        let outbound_allow = match args.outbound_allow.or(file.outbound_allow) {
            Some(text) => verity_core::net::parse_list(&text).context("VERITY_OUTBOUND_ALLOW")?,
            None => Vec::new(),
        };
        let pool_defaults = PoolOptions::default();
        let db_pool = PoolOptions {
            max_connections: args
                .db_max_connections
                .or(file.db_max_connections)
                .unwrap_or(pool_defaults.max_connections)
                .max(1),
            acquire_timeout: args.db_acquire_timeout.or(file.db_acquire_timeout).map_or(
                pool_defaults.acquire_timeout,
                std::time::Duration::from_secs,
            ),
        };
        let mut limits = Limits::default();
        for (kind, given, in_file) in [
            (Kind::Signup, args.limit_signup, file.limit_signup),
            (
                Kind::EmailCode,
                args.limit_email_code,
                file.limit_email_code,
            ),
            (
                Kind::EmailCodeAddress,
                args.limit_email_code_address,
                file.limit_email_code_address,
            ),
            (
                Kind::Invitation,
                args.limit_invitations,
                file.limit_invitations,
            ),
            (Kind::Org, args.limit_orgs, file.limit_orgs),
            (Kind::App, args.limit_apps, file.limit_apps),
        ] {
            if let Some(text) = given.or(in_file) {
                let limit = verity_core::limits::parse_setting(&text)
                    .with_context(|| kind.setting().to_owned())?;
                limits.set(kind, limit);
            }
        }
        let d = Cost::PRODUCTION;
        Ok(Settings {
            limits,
            trusted_proxies,
            outbound_allow,
            db_pool,
            worker_threads: args
                .worker_threads
                .or(file.worker_threads)
                .filter(|n| *n > 0)
                .unwrap_or_else(default_worker_threads),
            listen,
            public_url,
            database_url,
            data_dir,
            environment,
            admin_token: args
                .admin_token
                .or(file.admin_token)
                .filter(|t| !t.0.is_empty()),
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            master_key: args.master_key.or(file.master_key),
            previous_master_keys: args.previous_master_keys.or(file.previous_master_keys),
            password_cost: Cost {
                memory_kib: args
                    .argon2_memory_kib
                    .or(file.argon2_memory_kib)
                    .unwrap_or(d.memory_kib),
                iterations: args
                    .argon2_iterations
                    .or(file.argon2_iterations)
                    .unwrap_or(d.iterations),
                parallelism: args
                    .argon2_parallelism
                    .or(file.argon2_parallelism)
                    .unwrap_or(d.parallelism),
            },
            session_ttl: args.session_ttl.or(file.session_ttl).unwrap_or(8 * 3600),
            interaction_ttl: 1800,
            key_publication_delay: args
                .key_publication_delay
                .or(file.key_publication_delay)
                .unwrap_or(3600),
            refresh_retry_window: args
                .refresh_retry_window
                .or(file.refresh_retry_window)
                .unwrap_or(60)
                .max(0),
            dpop_nonce: args.dpop_nonce.or(file.dpop_nonce).unwrap_or(false),
            key_rotation_days: args
                .key_rotation_days
                .or(file.key_rotation_days)
                .unwrap_or(0),
            maintenance_interval: args
                .maintenance_interval
                .or(file.maintenance_interval)
                .unwrap_or(60),
            smtp_host: args.smtp_host.or(file.smtp_host),
            smtp_port: args.smtp_port.or(file.smtp_port).unwrap_or(25),
            smtp_from: args
                .smtp_from
                .or(file.smtp_from)
                .unwrap_or_else(|| "verity@localhost".to_owned()),
            verification_methods: verity_core::verification::configure(
                args.verification_domains
                    .or(file.verification_domains)
                    .as_deref(),
                args.verification_lifetimes
                    .or(file.verification_lifetimes)
                    .as_deref(),
            )
            .map_err(|e| anyhow::anyhow!("verification settings: {e}"))?,
            evidence_retention_days: args
                .evidence_retention_days
                .or(file.evidence_retention_days)
                .unwrap_or(30)
                .clamp(0, 3650),
            audit_retention_days: args
                .audit_retention_days
                .or(file.audit_retention_days)
                .unwrap_or(400)
                .clamp(0, 36_500),
            header_read_timeout: args
                .header_read_timeout
                .or(file.header_read_timeout)
                .unwrap_or(10)
                .clamp(1, 3600),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(4096)
                .clamp(1, 1_000_000),
            max_concurrent_uploads: args
                .max_concurrent_uploads
                .or(file.max_concurrent_uploads)
                .unwrap_or(4)
                .clamp(1, 1024),
            metrics_token: args
                .metrics_token
                .or(file.metrics_token)
                .filter(|t| !t.0.is_empty()),
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
        })
    }

    /// Settings for a test or an embedded server: sandbox, port 0, the given data dir, and a
    /// cheap argon2 cost (a test setting, never the production default).
    pub fn for_tests(data_dir: &Path) -> Self {
        Settings {
            listen: "127.0.0.1:0".into(),
            public_url: None,
            database_url: format!("sqlite://{}", data_dir.join("verity.db").display()),
            data_dir: data_dir.to_owned(),
            environment: Environment::Sandbox,
            admin_token: None,
            log_format: LogFormat::Text,
            master_key: None,
            previous_master_keys: None,
            password_cost: Cost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            session_ttl: 8 * 3600,
            interaction_ttl: 1800,
            key_publication_delay: 3600,
            refresh_retry_window: 60,
            dpop_nonce: false,
            key_rotation_days: 0,
            maintenance_interval: 0,
            smtp_host: None,
            smtp_port: 25,
            smtp_from: "verity@localhost".into(),
            trusted_proxies: Vec::new(),
            outbound_allow: Vec::new(),
            db_pool: PoolOptions::default(),
            worker_threads: default_worker_threads(),
            verification_methods: verity_core::verification::default_methods(),
            evidence_retention_days: 30,
            audit_retention_days: 400,
            max_concurrent_uploads: 4,
            header_read_timeout: 10,
            max_connections: 4096,
            metrics_token: None,
            metrics_listen: None,
            limits: Limits::default(),
        }
    }

    pub fn sandbox(&self) -> bool {
        self.environment == Environment::Sandbox
    }

    /// Where Verity's own calls may connect: public addresses, the allowed blocks, and loopback
    /// in the sandbox (its test apps run on this machine).
    pub fn outbound_policy(&self) -> verity_core::net::OutboundPolicy {
        verity_core::net::OutboundPolicy {
            allow: self.outbound_allow.clone(),
            loopback: self.sandbox(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = std::env::temp_dir().join(format!("verity-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("verity.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\npublic_url = \"https://id.example.com/\"\nenv = \"sandbox\"\nworker_threads = 3\n").unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            listen: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        let s = Settings::resolve(args).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9100");
        assert_eq!(s.public_url.as_deref(), Some("https://id.example.com"));
        assert_eq!(s.environment, Environment::Sandbox);
        assert_eq!(s.password_cost, Cost::PRODUCTION);
        assert!(s.database_url.ends_with("verity-data/verity.db"));
        assert_eq!(s.worker_threads, 3);
        // 0 (or nothing) is the default, never a runtime without workers.
        let unset = Settings::resolve(ServeArgs {
            worker_threads: Some(0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(unset.worker_threads, default_worker_threads());
        assert!(unset.worker_threads >= 1);
        std::fs::write(&file, "nonsense = 1\n").unwrap();
        assert!(
            Settings::resolve(ServeArgs {
                config: Some(file),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn outbound_allow_is_a_list_of_blocks_and_the_sandbox_adds_loopback() {
        let resolve = |allow: &str, sandbox: bool| {
            Settings::resolve(ServeArgs {
                outbound_allow: Some(allow.into()),
                sandbox,
                ..Default::default()
            })
        };
        let s = resolve("10.20.0.0/16, fd00:1::/32", false).unwrap();
        assert_eq!(s.outbound_allow.len(), 2);
        assert!(!s.outbound_policy().loopback);
        assert!(resolve("", true).unwrap().outbound_policy().loopback);
        let bad = resolve("10.0.0.0/33", false).unwrap_err();
        assert!(
            format!("{bad:#}").contains("VERITY_OUTBOUND_ALLOW"),
            "{bad:#}"
        );
    }

    #[test]
    fn limits_default_to_the_issues_and_can_be_set_or_turned_off() {
        let s = Settings::resolve(ServeArgs::default()).unwrap();
        assert_eq!(s.limits, Limits::default());
        let s = Settings::resolve(ServeArgs {
            limit_signup: Some("3/1h".into()),
            limit_apps: Some("off".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.limits.signup, Some("3/1h".parse().unwrap()));
        assert_eq!(s.limits.apps, None);
        assert_eq!(s.limits.orgs, Limits::default().orgs);
        let e = Settings::resolve(ServeArgs {
            limit_invitations: Some("many".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("VERITY_LIMIT_INVITATIONS"),
            "{e:#}"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let args = ServeArgs {
            admin_token: Some(Secret("tok".into())),
            ..Default::default()
        };
        let s = Settings::resolve(args).unwrap();
        assert!(!format!("{s:?}").contains("tok\""));
        assert!(format!("{s:?}").contains("[redacted]"));
    }
}
