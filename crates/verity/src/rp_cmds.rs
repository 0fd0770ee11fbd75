//! The relying-party side of the `verity` command: `rp`, `demo` and `check` (SPEC 1 and 10).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use verity_client::SystemClock;
use verity_rp::{Rp, RpArgs, RpSettings};
use verity_server::{ServeArgs, Settings, Verity};

use crate::address_taken;

/// The demo provider's address, and the reference app's (its redirect URI is registered for the
/// sandbox apps) when none is given.
const DEMO_PROVIDER: &str = "127.0.0.1:8080";
const DEMO_RP: &str = "127.0.0.1:8090";
/// What the demo asks for: the military group and a verified identity, so the veteran persona
/// fills every field of the profile form.
const DEMO_SCOPES: &str = "openid military http://idmanagement.gov/ns/assurance/ial/2/aal/2";
/// What every Verity issuer ends in.
const ISSUER_PATH: &str = "/oidc";

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Directory for both embedded databases and the master key [default: ./verity-data].
    #[arg(long, env = "VERITY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The sandbox provider's address; port 0 picks a free one [default: 127.0.0.1:8080].
    #[arg(long, env = "VERITY_LISTEN")]
    pub listen: Option<String>,
    /// The reference app's address; port 0 picks a free one. Its callback is registered on the
    /// sandbox apps [default: 127.0.0.1:8090].
    #[arg(long, env = "VERITY_RP_LISTEN")]
    pub rp_listen: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The issuer to probe, an absolute URL: Verity's ends in /oidc
    /// (http://127.0.0.1:8080/oidc), ID.me's sandbox is https://api.idmelabs.com/oidc.
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
    let listen = args.listen.unwrap_or_else(|| DEMO_PROVIDER.to_owned());
    // The app's address is settled first (port 0 made a real port): its callback must be
    // registered before anyone signs in.
    let rp_listen = args.rp_listen.unwrap_or_else(|| DEMO_RP.to_owned());
    let (rp_addr, rp_base) = free_address(&rp_listen).map_err(|e| {
        address_taken(
            e,
            &rp_listen,
            "the reference app",
            "--rp-listen",
            "VERITY_RP_LISTEN",
        )
    })?;
    let settings = Settings::resolve(ServeArgs {
        listen: Some(listen.clone()),
        data_dir: Some(data_dir.clone()),
        sandbox: true,
        ..ServeArgs::default()
    })
    .context("reading settings")?;
    let server = Verity::build(settings, Arc::new(verity_server::state::SystemClock))
        .await
        .context("starting the sandbox provider")
        .map_err(|e| address_taken(e, &listen, "the provider", "--listen", "VERITY_LISTEN"))?;
    let issuer = server.issuer().to_owned();
    let state = server.state();
    verity_server::sandbox::register_app_address(&state.store, &rp_base, state.now())
        .await
        .context("registering the reference app's address on the sandbox apps")?;
    // The provider answers as soon as it runs; the app's discovery needs it.
    let provider = tokio::spawn(server.run(verity_server::startup::shutdown_signal()));
    let rp_settings = RpSettings::resolve(RpArgs {
        issuer: Some(issuer.clone()),
        client_id: Some("sandbox-confidential".into()),
        client_secret: Some("sandbox-secret".into()),
        scopes: Some(DEMO_SCOPES.into()),
        listen: Some(rp_addr.clone()),
        redirect_uri: Some(format!("{rp_base}/callback")),
        provider_name: Some("the Verity sandbox".into()),
        data_dir: Some(data_dir),
        ..RpArgs::default()
    })?;
    let rp = Rp::build(rp_settings, Arc::new(SystemClock))
        .await
        .context("starting the reference app")
        .map_err(|e| {
            let (flag, env) = ("--rp-listen", "VERITY_RP_LISTEN");
            address_taken(e, &rp_addr, "the reference app", flag, env)
        })?;
    println!("Verity sandbox provider: issuer {issuer}");
    println!();
    println!("Open {rp_base}/ and verify as veteran@sandbox.test");
    println!(
        "(password sandbox-password; authenticator code: oathtool --totp -b JBSWY3DPEHPK3PXP)"
    );
    let app = tokio::spawn(rp.run(verity_server::startup::shutdown_signal()));
    let (p, a) = tokio::join!(provider, app);
    p.context("the provider task")??;
    a.context("the reference app task")??;
    Ok(())
}

/// Where the app will listen, checked free now (else the error of binding it): the address to
/// bind (port 0 replaced by a free port) and its base URL (an unspecified host such as 0.0.0.0
/// said as loopback, which a browser can open).
fn free_address(listen: &str) -> anyhow::Result<(String, String)> {
    let probe =
        std::net::TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    let bound = probe.local_addr()?;
    if listen.parse::<std::net::SocketAddr>().is_err() {
        // A host name (localhost:8090): as given.
        return Ok((listen.to_owned(), format!("http://{listen}")));
    }
    let mut shown = bound;
    if shown.ip().is_unspecified() {
        shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok((bound.to_string(), format!("http://{shown}")))
}

/// `verity check --issuer URL`: discovery and JWKS of any provider, as a client sees them.
pub async fn check(args: CheckArgs) -> anyhow::Result<()> {
    let issuer = args.issuer.trim();
    if !is_absolute_http(issuer) {
        anyhow::bail!(
            "{issuer:?} is not an absolute URL: the issuer must be an absolute URL such as \
             https://id.example.com/oidc (Verity's ends in /oidc, e.g. http://127.0.0.1:8080/oidc)"
        );
    }
    let report = match verity_client::inspect::inspect(issuer).await {
        Ok(report) => report,
        Err(e) => return Err(explain_unreachable(issuer, e).await),
    };
    print!("{report}");
    if report.problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} problem(s) found", report.problems.len())
    }
}

/// Whether `issuer` is an absolute `http` or `https` URL with a host (`host:8080` parses as a
/// URL of scheme `host`, and is not one).
fn is_absolute_http(issuer: &str) -> bool {
    url::Url::parse(issuer)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Why `issuer` could not be probed. Discovery not found at an issuer that does not end in
/// `/oidc` gets a hint: Verity's issuer does, and the `/oidc` variant is tried.
async fn explain_unreachable(issuer: &str, e: verity_client::Error) -> anyhow::Error {
    let not_found = matches!(
        e,
        verity_client::Error::Status {
            endpoint: "discovery",
            status: 404,
        }
    );
    let tried = verity_client::discovery::discovery_url(issuer);
    let e = anyhow::Error::new(e).context(format!("probing {issuer}"));
    let trimmed = issuer.trim_end_matches('/');
    if !not_found || trimmed.ends_with(ISSUER_PATH) {
        return e;
    }
    // `.../oidc/more` is likely a Verity issuer with a path too many; anything else, one short.
    let candidate = match trimmed.find(&format!("{ISSUER_PATH}/")) {
        Some(at) => trimmed[..at + ISSUER_PATH.len()].to_owned(),
        None => format!("{trimmed}{ISSUER_PATH}"),
    };
    let hint = if verity_client::inspect::inspect(&candidate).await.is_ok() {
        format!(
            "nothing at {tried}, but {candidate} answers: Verity's issuer ends in {ISSUER_PATH}. \
             Run: verity check --issuer {candidate}"
        )
    } else {
        format!(
            "nothing at {tried}: is the issuer {candidate}? Verity's issuer ends in {ISSUER_PATH}"
        )
    };
    e.context(hint)
}
