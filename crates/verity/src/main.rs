//! `verity`: the commands of SPEC section 1.

mod admin_cmds;
mod log_writer;
mod rp_cmds;
mod sandbox_cmds;

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use verity_server::{LogFormat, ServeArgs, Settings, Verity};

/// Verity: an identity-verification OpenID Connect provider, ID.me-compatible.
#[derive(Debug, Parser)]
#[command(name = "verity", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Organizations, apps, secrets, users, verifications and keys from the shell: the admin
    /// API's operations, answered as JSON on standard output.
    Admin(admin_cmds::AdminArgs),
    /// Run the OpenID Connect provider.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(ServeArgs),
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run the reference relying-party app (the sample app integrators copy) against any issuer.
    Rp(verity_rp::RpArgs),
    /// A sandbox provider and the reference app wired together; prints the URL to open.
    Demo(rp_cmds::DemoArgs),
    /// The sandbox's test personas.
    Sandbox {
        #[command(subcommand)]
        command: sandbox_cmds::SandboxCommand,
    },
    /// Probe any provider from the client side: discovery, JWKS, algorithms, quirks.
    Check(rp_cmds::CheckArgs),
    /// Load-test a running provider over loopback: throughput, latency, CPU per operation.
    Bench(verity_bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Start a signing-key rollover: a new key per algorithm, published at once, signing after the
    /// publication delay; the old keys retire once their tokens have expired. Running servers
    /// pick it up at their next maintenance run.
    Rotate(ServeArgs),
    /// Finish a master-key rotation: seal again under VERITY_MASTER_KEY everything sealed under
    /// a key in VERITY_PREVIOUS_MASTER_KEYS (signing keys, TOTP secrets, verification documents).
    /// Run once every node has the new key; afterwards drop the previous keys.
    Rewrap(ServeArgs),
}

/// Logs go to standard error: standard output carries answers (JSON from `verity admin`). Off a
/// terminal, lines are written in batches ([`log_writer`]); keep the returned guard until exit.
fn init_logging(format: LogFormat) -> Option<log_writer::Flush> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VERITY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colours only on a terminal, never into a log file or journal.
        .with_ansi(terminal);
    let batched = if terminal {
        None
    } else {
        log_writer::BatchedWriter::new(Box::new(std::io::stderr())).ok()
    };
    let (writer, flush) = match batched {
        Some((writer, flush)) => {
            // A panic's message follows the lines logged before it.
            let previous = std::panic::take_hook();
            let on_panic = writer.clone();
            std::panic::set_hook(Box::new(move |info| {
                on_panic.flush_now();
                previous(info);
            }));
            (BoxMakeWriter::new(writer), Some(flush))
        }
        None => (BoxMakeWriter::new(std::io::stderr), None),
    };
    let builder = builder.with_writer(writer);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    flush
}

/// Runs `job` to its end on a multi-threaded runtime with `workers` async worker threads.
fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(
    workers: usize,
    job: F,
) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(job)
}

/// Runs `job` with text logs (see [`init_logging`]), flushed when it ends.
async fn with_text_logs(
    job: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let _logs = init_logging(LogFormat::Text);
    job.await
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let workers = verity_server::settings::default_worker_threads();
    match cli.command {
        Command::Serve(args) => {
            // Read before the runtime starts: they size it.
            let settings = Settings::resolve(args).context("reading settings")?;
            block_on(settings.worker_threads, serve(settings))
        }
        Command::Admin(args) => block_on(workers, with_text_logs(admin_cmds::run(args))),
        Command::Rp(args) => block_on(workers, with_text_logs(rp_cmds::rp(args))),
        Command::Demo(args) => block_on(workers, with_text_logs(rp_cmds::demo(args))),
        Command::Sandbox { command } => {
            block_on(workers, with_text_logs(sandbox_cmds::run(command)))
        }
        Command::Check(args) => block_on(workers, with_text_logs(rp_cmds::check(args))),
        Command::Bench(args) => block_on(workers, verity_bench::run(args)),
        Command::Keys {
            command: KeysCommand::Rotate(args),
        } => block_on(workers, rotate_keys(args)),
        Command::Keys {
            command: KeysCommand::Rewrap(args),
        } => block_on(workers, with_text_logs(rewrap_keys(args))),
        Command::Migrate(args) => block_on(workers, migrate(args)),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let _logs = init_logging(settings.log_format);
    let listen = settings.listen.clone();
    let metrics = settings.metrics_listen.clone().unwrap_or_default();
    let server = Verity::build(settings, Arc::new(verity_server::state::SystemClock))
        .await
        .map_err(|e| address_taken(e, &listen, "Verity", "--listen", "VERITY_LISTEN"))
        .map_err(|e| {
            let (flag, env) = ("--metrics-listen", "VERITY_METRICS_LISTEN");
            address_taken(e, &metrics, "/metrics", flag, env)
        })?;
    println!("Verity is ready: issuer {}", server.issuer());
    server.run(verity_server::startup::shutdown_signal()).await
}

/// `verity keys rotate`.
async fn rotate_keys(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args).context("reading settings")?;
    let _logs = init_logging(settings.log_format);
    let store = verity_server::startup::open_store(&settings).await?;
    let master = verity_server::startup::deployment_master_key(&settings, &store)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    // The key must open the keys already stored: a wrong one would seal new keys that
    // no node can use and retire the good ones.
    verity_server::keyring::KeyRing::load(&store, &master, now)
        .await
        .context("the master key does not open the stored signing keys")?;
    verity_server::keyring::ensure_keys(&store, &master, now).await?;
    let kids =
        verity_server::keyring::rotate_keys(&store, &master, now, settings.key_publication_delay)
            .await?;
    for kid in kids {
        println!(
            "new signing key {kid}: published now, signs in {} s",
            settings.key_publication_delay
        );
    }
    Ok(())
}

/// `verity keys rewrap`.
async fn rewrap_keys(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args).context("reading settings")?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.listen));
    let clock = std::sync::Arc::new(verity_server::state::SystemClock);
    let state = verity_server::startup::prepare_state(settings, clock, public_url, false).await?;
    let done = verity_server::maintenance::rewrap(&state).await;
    state.store.close().await;
    let done = done?;
    println!(
        "re-encrypted under the current master key: {} signing keys, {} TOTP secrets, {} documents",
        done.signing_keys, done.totp_secrets, done.evidence
    );
    Ok(())
}

/// `verity migrate`.
async fn migrate(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args).context("reading settings")?;
    let _logs = init_logging(settings.log_format);
    verity_server::startup::open_store(&settings).await?;
    println!(
        "migrations applied to {}",
        redact_url(&settings.database_url)
    );
    Ok(())
}

/// `err` as it should read when it is the failure to listen on `addr` because another program
/// holds that address: which address, and how to give `what` another one (`flag` or `env`). Any
/// other error is returned as it is.
pub(crate) fn address_taken(
    err: anyhow::Error,
    addr: &str,
    what: &str,
    flag: &str,
    env: &str,
) -> anyhow::Error {
    let in_use = err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::AddrInUse)
    });
    let at = format!(" on {addr}");
    let listening = err.chain().any(|c| {
        let step = c.to_string();
        step.starts_with("listening") && step.ends_with(&at)
    });
    if addr.is_empty() || !in_use || !listening {
        return err;
    }
    let other = match addr.parse::<std::net::SocketAddr>() {
        Ok(mut a) if a.port() != 0 && a.port() < u16::MAX => {
            a.set_port(a.port() + 1);
            a.to_string()
        }
        _ => "127.0.0.1:0".to_owned(),
    };
    err.context(format!(
        "{addr} is already in use: another program listens there (another `verity demo` or \
         `verity serve`?). Stop it, or give {what} another address with {flag} {other} or \
         {env}={other} (port 0 picks a free one)"
    ))
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://[redacted]@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}
