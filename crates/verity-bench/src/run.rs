//! Running a measurement: workers prepare (sign in, obtain tokens) outside the measurement, warm
//! up, then repeat their operation until the count or the time runs out. Provider CPU is read
//! from `/proc/<pid>/stat` when measuring starts and when the last worker stops.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::args::{BenchArgs, Mode, Profile, Provider};
use crate::flow::{Agent, Step, Target, Tokens, discover, http_client};
use crate::procfs;
use crate::report::{Latency, Report, StepLatency, rate};

/// How one measurement runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub workers: usize,
    pub count: u64,
    pub duration: Duration,
    pub warmup: Duration,
    pub pid: Option<u32>,
    pub show_errors: usize,
}

/// Access tokens older than this are replaced (uncounted) before use: Verity's live 300 s.
const TOKEN_REUSE: Duration = Duration::from_secs(200);

/// What a worker keeps between operations.
enum Held {
    Nothing,
    Tokens(Tokens),
}

struct WorkerOut {
    ops: u64,
    errors: u64,
    latencies: Vec<u32>,
    steps: BTreeMap<&'static str, Vec<u32>>,
    first_errors: Vec<String>,
    /// Why preparation failed, if it did.
    setup_error: Option<String>,
}

/// Shared between the workers and the clock keeper.
struct Shared {
    ready: Barrier,
    go: Barrier,
    /// Set before `go`: (measuring starts, measuring ends).
    window: std::sync::OnceLock<(Instant, Instant)>,
    issued: AtomicU64,
    /// Taken by [`setup`]: workers prepare one at a time.
    setup_turn: tokio::sync::Mutex<()>,
}

/// Builds the shared target: discovery, and for `--profile oidc` with an admin token an app
/// registered with that profile.
pub async fn prepare(args: &BenchArgs, mode_profile: Option<Profile>) -> anyhow::Result<Target> {
    let http = http_client()?;
    let endpoints = discover(&http, &args.issuer).await?;
    let default_profile = match args.provider {
        Provider::Verity => Profile::Idme,
        Provider::NodeOidc => Profile::Oidc,
    };
    let profile = mode_profile.or(args.profile).unwrap_or(default_profile);
    let (mut client_id, mut client_secret) = (args.client_id.clone(), args.client_secret.clone());
    if profile == Profile::Oidc && args.provider == Provider::Verity {
        match &args.admin_token {
            Some(token) => {
                (client_id, client_secret) = register_oidc_app(&http, args, token).await?;
            }
            None if args.client_id == "sandbox-confidential" => bail!(
                "--profile oidc: the sandbox app has the idme profile; pass --admin-token to \
                 register an oidc-profile app, or --client-id/--client-secret of one"
            ),
            None => {}
        }
    }
    let mut target = Target::new(
        args.provider,
        args.issuer.clone(),
        endpoints,
        client_id,
        &client_secret,
        args.redirect_uri.clone(),
        args.username.clone(),
        args.password.clone(),
        args.scope.clone(),
        profile,
    )?;
    target.dpop = args.dpop;
    Ok(target)
}

/// Registers a confidential app with the `oidc` profile through the admin API (SPEC 11).
async fn register_oidc_app(
    http: &reqwest::Client,
    args: &BenchArgs,
    token: &str,
) -> anyhow::Result<(String, String)> {
    let base = args
        .issuer
        .trim_end_matches('/')
        .strip_suffix("/oidc")
        .ok_or_else(|| anyhow!("--admin-token: the issuer does not end with /oidc"))?;
    let api = format!("{base}/api/admin/v1");
    let post = |path: &str, body: Value| {
        http.post(format!("{api}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    // Organization names are unique: one per run.
    let name = format!("Verity Bench {}", crate::flow::random_token(6));
    let org: Value = post("/organizations", json!({"name": name}))
        .await?
        .error_for_status()
        .context("admin API: creating an organization")?
        .json()
        .await?;
    let org_id = org["id"]
        .as_str()
        .ok_or_else(|| anyhow!("admin API: no organization id"))?;
    let policies: Vec<&str> = args
        .scope
        .split(' ')
        .filter(|s| !s.is_empty() && *s != "openid" && *s != "offline_access")
        .collect();
    let app: Value = post(
        &format!("/organizations/{org_id}/apps"),
        json!({
            "name": "Verity Bench OIDC-profile App",
            "redirect_uris": [args.redirect_uri],
            "policies": policies,
            "profile": "oidc",
            "public": false,
            "refresh_tokens": true,
        }),
    )
    .await?
    .error_for_status()
    .context("admin API: registering the oidc-profile app")?
    .json()
    .await?;
    match (app["client_id"].as_str(), app["client_secret"].as_str()) {
        (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned())),
        _ => bail!("admin API: the new app has no client_id/client_secret"),
    }
}

/// Runs one measurement of `plan.mode` against `target`.
pub async fn measure(target: Arc<Target>, plan: &Plan) -> anyhow::Result<Report> {
    let ticks = procfs::clock_ticks();
    let pid = plan.pid.map(|p| p.to_string());
    if let Some(p) = &pid {
        procfs::cpu_seconds(p, ticks).with_context(|| format!("--pid {p}"))?;
    }
    let shared = Arc::new(Shared {
        ready: Barrier::new(plan.workers + 1),
        go: Barrier::new(plan.workers + 1),
        window: std::sync::OnceLock::new(),
        issued: AtomicU64::new(0),
        setup_turn: tokio::sync::Mutex::new(()),
    });
    let mut handles = Vec::with_capacity(plan.workers);
    for _ in 0..plan.workers {
        let (target, shared, plan) = (Arc::clone(&target), Arc::clone(&shared), plan.clone());
        handles.push(tokio::spawn(worker(target, shared, plan)));
    }
    shared.ready.wait().await;
    let begin = Instant::now() + plan.warmup;
    let _ = shared.window.set((begin, begin + plan.duration));
    shared.go.wait().await;
    tokio::time::sleep_until(begin.into()).await;
    let cpu_start = pid
        .as_deref()
        .and_then(|p| procfs::cpu_seconds(p, ticks).ok());
    let tool_start = procfs::cpu_seconds("self", ticks).ok();

    let mut outs = Vec::with_capacity(handles.len());
    for h in handles {
        outs.push(h.await.context("a worker panicked")?);
    }
    let seconds = begin.elapsed().as_secs_f64();
    let cpu_end = pid
        .as_deref()
        .and_then(|p| procfs::cpu_seconds(p, ticks).ok());
    let tool_end = procfs::cpu_seconds("self", ticks).ok();
    let memory = pid.as_deref().and_then(procfs::memory_kib);

    if let Some(e) = outs.iter().find_map(|o| o.setup_error.clone()) {
        bail!("{} preparation failed: {e}", plan.mode.as_str());
    }
    let ops: u64 = outs.iter().map(|o| o.ops).sum();
    let errors: u64 = outs.iter().map(|o| o.errors).sum();
    let mut latencies: Vec<u32> = outs.iter().flat_map(|o| o.latencies.clone()).collect();
    let mut steps: BTreeMap<&'static str, Vec<u32>> = BTreeMap::new();
    for o in &outs {
        for (k, v) in &o.steps {
            steps.entry(k).or_default().extend(v);
        }
    }
    let step_order = ["authorize", "token", "userinfo"];
    let steps: Vec<StepLatency> = step_order
        .iter()
        .filter_map(|name| {
            steps.get_mut(name).map(|v| StepLatency {
                step: (*name).to_owned(),
                latency_ms: Latency::from_micros(v),
            })
        })
        .collect();
    let per_op = |start: Option<f64>, end: Option<f64>| match (start, end) {
        (Some(a), Some(b)) if ops > 0 => Some((b - a) * 1000.0 / ops as f64),
        _ => None,
    };
    let provider_cpu = match (cpu_start, cpu_end) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(Report {
        mode: plan.mode,
        provider: Some(target.provider),
        issuer: target.issuer.clone(),
        profile: (plan.mode == Mode::Userinfo).then_some(target.profile),
        workers: plan.workers,
        dpop: target.dpop,
        ops,
        errors,
        seconds,
        per_second: rate(ops, seconds),
        latency_ms: Latency::from_micros(&mut latencies),
        steps,
        provider_cpu_ms_per_op: per_op(cpu_start, cpu_end),
        provider_cpu_seconds: provider_cpu,
        provider_cores_busy: provider_cpu.map(|c| c / seconds.max(1e-9)),
        tool_cpu_ms_per_op: per_op(tool_start, tool_end),
        provider_rss_kib: memory.map(|m| m.0),
        provider_peak_rss_kib: memory.map(|m| m.1),
        first_errors: outs
            .iter()
            .flat_map(|o| o.first_errors.clone())
            .take(plan.show_errors)
            .collect(),
    })
}

/// Prepares what the mode needs before measuring starts, or again after a failure; one worker
/// at a time (`turn`): the sign-ins use one account, and a provider counts concurrent password
/// attempts on an account against its limit (Verity's is 5), so more workers than that signing
/// in at once would be refused.
async fn setup(
    agent: &mut Agent,
    mode: Mode,
    turn: &tokio::sync::Mutex<()>,
) -> anyhow::Result<Held> {
    let _turn = turn.lock().await;
    let mut steps = Vec::new();
    Ok(match mode {
        Mode::Jwks | Mode::Discovery | Mode::Signature => Held::Nothing,
        // One flow signs in and consents; sso keeps the session, signin the remembered consent.
        Mode::Sso | Mode::Signin => {
            agent.flow(&mut steps).await?;
            Held::Nothing
        }
        Mode::Refresh | Mode::Userinfo | Mode::Introspect => {
            let (tokens, _) = agent.flow(&mut steps).await?;
            Held::Tokens(tokens)
        }
    })
}

/// One operation of the mode.
async fn operation(
    agent: &mut Agent,
    mode: Mode,
    held: &mut Held,
    steps: &mut Vec<Step>,
) -> anyhow::Result<()> {
    match (mode, held) {
        (Mode::Sso | Mode::Signin, _) => {
            if mode == Mode::Signin {
                agent.jar.clear();
            }
            let (tokens, signed_in) = agent.flow(steps).await?;
            if mode == Mode::Sso && signed_in {
                bail!("sso: the provider asked for the password again (session not kept)");
            }
            if mode == Mode::Signin && !signed_in {
                bail!("signin: the provider did not ask for the password");
            }
            let started = Instant::now();
            agent.userinfo(&tokens.access).await?;
            steps.push(("userinfo", started.elapsed()));
            Ok(())
        }
        (Mode::Refresh, Held::Tokens(t)) => {
            *t = agent.refresh(t).await?;
            Ok(())
        }
        (Mode::Userinfo | Mode::Introspect, Held::Tokens(t)) => {
            if t.obtained.elapsed() > TOKEN_REUSE {
                *t = agent.refresh(t).await?;
            }
            if mode == Mode::Userinfo {
                agent.userinfo(&t.access).await
            } else {
                agent.introspect(&t.access).await
            }
        }
        (Mode::Jwks, _) => {
            let url = agent.target.endpoints.jwks.clone();
            agent.document(&url, "keys").await
        }
        (Mode::Discovery, _) => {
            let url = agent.target.endpoints.discovery.clone();
            agent.document(&url, "issuer").await
        }
        (Mode::Signature, _) => bail!("signature measures this process: crate::floor"),
        (_, Held::Nothing) => bail!("no tokens prepared"),
    }
}

async fn worker(target: Arc<Target>, shared: Arc<Shared>, plan: Plan) -> WorkerOut {
    let mut out = WorkerOut {
        ops: 0,
        errors: 0,
        latencies: Vec::new(),
        steps: BTreeMap::new(),
        first_errors: Vec::new(),
        setup_error: None,
    };
    let prepared = match Agent::new(target) {
        Ok(mut agent) => setup(&mut agent, plan.mode, &shared.setup_turn)
            .await
            .map(|h| (agent, h)),
        Err(e) => Err(e),
    };
    shared.ready.wait().await;
    shared.go.wait().await;
    let (mut agent, mut held) = match prepared {
        Ok(p) => p,
        Err(e) => {
            out.setup_error = Some(format!("{e:#}"));
            return out;
        }
    };
    let Some(&(begin, end)) = shared.window.get() else {
        return out;
    };
    let mut steps = Vec::with_capacity(4);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let measured = now >= begin;
        if measured && shared.issued.fetch_add(1, Ordering::Relaxed) >= plan.count {
            break;
        }
        steps.clear();
        let started = Instant::now();
        let result = operation(&mut agent, plan.mode, &mut held, &mut steps).await;
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        if !measured {
            if result.is_err() {
                // Warm-up failures still need a fresh start (below) but are not counted.
                if let Ok(h) = setup(&mut agent, plan.mode, &shared.setup_turn).await {
                    held = h;
                }
            }
            continue;
        }
        match result {
            Ok(()) => {
                out.ops += 1;
                out.latencies.push(micros);
                for (name, d) in &steps {
                    out.steps
                        .entry(name)
                        .or_default()
                        .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
                }
            }
            Err(e) => {
                out.errors += 1;
                if out.first_errors.len() < plan.show_errors {
                    out.first_errors.push(format!("{e:#}"));
                }
                // Start again from a clean state (a lost session, a revoked token family).
                agent.jar.clear();
                match setup(&mut agent, plan.mode, &shared.setup_turn).await {
                    Ok(h) => held = h,
                    Err(e) => {
                        out.errors += 1;
                        if out.first_errors.len() < plan.show_errors {
                            out.first_errors.push(format!("preparing again: {e:#}"));
                        }
                        break;
                    }
                }
            }
        }
    }
    out
}
