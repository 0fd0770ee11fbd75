//! `verity`: the commands of SPEC section 1.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
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
    /// Run the OpenID Connect provider.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(ServeArgs),
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VERITY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let settings = Settings::resolve(args).context("reading settings")?;
            init_logging(settings.log_format);
            let server =
                Verity::build(settings, Arc::new(verity_server::state::SystemClock)).await?;
            println!("Verity is ready: issuer {}", server.issuer());
            server.run(verity_server::startup::shutdown_signal()).await
        }
        Command::Migrate(args) => {
            let settings = Settings::resolve(args).context("reading settings")?;
            init_logging(settings.log_format);
            verity_server::startup::open_store(&settings).await?;
            println!(
                "migrations applied to {}",
                redact_url(&settings.database_url)
            );
            Ok(())
        }
    }
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://[redacted]@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}
