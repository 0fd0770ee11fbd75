//! The relying-party side of the `verity` command: `rp`, `demo` and `check` (SPEC 1 and 10).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use verity_client::SystemClock;
use verity_rp::{Rp, RpArgs, RpSettings};
use verity_server::{ServeArgs, Settings, Verity};

/// The demo provider's address, and the reference app's (its redirect URI is registered for the
/// sandbox apps).
const DEMO_PROVIDER: &str = "127.0.0.1:8080";
const DEMO_RP: &str = "127.0.0.1:8090";
/// What the demo asks for: the military group and a verified identity, so the veteran persona
/// fills every field of the profile form.
const DEMO_SCOPES: &str = "openid military http://idmanagement.gov/ns/assurance/ial/2/aal/2";

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Directory for both embedded databases and the master key [default: ./verity-data].
    #[arg(long, env = "VERITY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The issuer to probe, e.g. https://api.idmelabs.com/oidc.
    #[arg(long)]
    pub issuer: String,
}

/// `verity rp`: the reference relying party against any issuer.
pub async fn rp(args: RpArgs) -> anyhow::Result<()> {
    let settings = RpSettings::resolve(args).context("reading settings")?;
    let rp = Rp::build(settings, Arc::new(SystemClock)).await?;
    println!("The reference app is ready: http://{}/", rp.local_addr());
    rp.run(verity_server::startup::shutdown_signal()).await
}

/// `verity demo`: a sandbox provider and the reference app wired to it.
pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| PathBuf::from("./verity-data"));
    let settings = Settings::resolve(ServeArgs {
        listen: Some(DEMO_PROVIDER.into()),
        data_dir: Some(data_dir.clone()),
        sandbox: true,
        ..ServeArgs::default()
    })
    .context("reading settings")?;
    let server = Verity::build(settings, Arc::new(verity_server::state::SystemClock))
        .await
        .context("starting the sandbox provider")?;
    let issuer = server.issuer().to_owned();
    // The provider answers as soon as it runs; the app's discovery needs it.
    let provider = tokio::spawn(server.run(verity_server::startup::shutdown_signal()));
    let rp_settings = RpSettings::resolve(RpArgs {
        issuer: Some(issuer.clone()),
        client_id: Some("sandbox-confidential".into()),
        client_secret: Some("sandbox-secret".into()),
        scopes: Some(DEMO_SCOPES.into()),
        listen: Some(DEMO_RP.into()),
        provider_name: Some("the Verity sandbox".into()),
        data_dir: Some(data_dir),
        ..RpArgs::default()
    })?;
    let rp = Rp::build(rp_settings, Arc::new(SystemClock))
        .await
        .context("starting the reference app")?;
    println!("Verity sandbox provider: issuer {issuer}");
    println!();
    println!("Open http://{DEMO_RP}/ and verify as veteran@sandbox.test");
    println!(
        "(password sandbox-password; authenticator code: oathtool --totp -b JBSWY3DPEHPK3PXP)"
    );
    let app = tokio::spawn(rp.run(verity_server::startup::shutdown_signal()));
    let (p, a) = tokio::join!(provider, app);
    p.context("the provider task")??;
    a.context("the reference app task")??;
    Ok(())
}

/// `verity check --issuer URL`: discovery and JWKS of any provider, as a client sees them.
pub async fn check(args: CheckArgs) -> anyhow::Result<()> {
    let report = verity_client::inspect::inspect(&args.issuer)
        .await
        .with_context(|| format!("probing {}", args.issuer))?;
    print!("{report}");
    if report.problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} problem(s) found", report.problems.len())
    }
}
