//! `verity sandbox ...`: the sandbox's personas from the shell.

use anyhow::Context;
use verity_server::{ServeArgs, Settings};

#[derive(Debug, clap::Subcommand)]
pub enum SandboxCommand {
    /// Put the test personas' verifications back as they were first seeded.
    ///
    /// A verification done on the sandbox's pages (say, the student's identity) sticks to the
    /// persona until this is run. It deletes the personas' verifications, verification cases and uploaded
    /// documents, then records their seeded verifications again; their accounts, passwords,
    /// second factors, attributes and sign-ins are left alone, and so is every other account.
    /// Works on the sandbox database of --data-dir (or DATABASE_URL) only: a database that
    /// `verity demo` or `verity serve --sandbox` did not create is refused, unchanged.
    Reset(ServeArgs),
}

pub async fn run(command: SandboxCommand) -> anyhow::Result<()> {
    match command {
        SandboxCommand::Reset(args) => reset(args).await,
    }
}

/// `verity sandbox reset`.
async fn reset(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args).context("reading settings")?;
    let shown = crate::redact_url(&settings.database_url);
    // Opening a SQLite file that is not there would create an empty database.
    if let Some(file) = sqlite_file(&settings.database_url)
        && !file.exists()
    {
        anyhow::bail!(
            "no sandbox database at {}: `verity sandbox reset` resets the sandbox that \
             `verity demo` or `verity serve --sandbox` created in a data directory (--data-dir or \
             VERITY_DATA_DIR, default ./verity-data); nothing was changed",
            file.display()
        );
    }
    let store = verity_server::startup::open_store(&settings).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let done = verity_server::sandbox::reset(&store, now).await;
    store.close().await;
    let done = done.with_context(|| format!("resetting the sandbox in {shown}"))?;
    println!(
        "Reset the verifications of {} sandbox personas in {shown}:",
        done.len()
    );
    for p in done {
        let verified = if p.verified.is_empty() {
            "nothing verified".to_owned()
        } else {
            format!("verified: {}", p.verified.join(", "))
        };
        println!("  {}: {verified}", p.email);
    }
    println!(
        "Their accounts, passwords, second factors and sign-ins are unchanged; other accounts \
         were not touched."
    );
    Ok(())
}

/// The file of a `sqlite://FILE` URL (without its `?options`).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}
