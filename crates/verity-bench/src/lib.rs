//! `verity-bench`: a load tool for any running OpenID provider over loopback (`verity bench`).
//!
//! It walks the real authorization-code flow (HTML sign-in and consent forms with their CSRF
//! tokens and cookies, PKCE S256, a confidential client, RS256 ID tokens) or hammers one
//! endpoint, bounded in count and time, and reports throughput, p50/p90/p99 latency, errors, and
//! the provider's CPU time per operation read from `/proc/<pid>/stat`. The same flows drive
//! node-oidc-provider's development interactions, for side-by-side comparisons
//! (`bench/compare-node-oidc.sh`).
//!
//! # Module map
//!
//! - [`args`]: the command line ([`BenchArgs`]), modes, providers, userinfo profiles.
//! - [`browser`]: a cookie jar and an HTML form reader, enough for sign-in pages.
//! - [`flow`]: an [`flow::Agent`] per worker: the flow, token, userinfo, introspection, JWKS.
//! - [`run`]: preparation, warm-up, the measured loop, CPU and memory from `/proc`.
//! - [`procfs`]: `/proc/<pid>/stat` and `/proc/<pid>/status` readers.
//! - [`report`]: percentiles and the text and JSON reports.
//! - [`floor`]: the `signature` mode, RS256 signatures in this process: the floor of a flow.
//!
//! The criterion micro-benchmarks of signing, ID-token validation, password hashing and
//! authorization-request parsing live in this crate's `benches/` (`cargo bench -p verity-bench`).

pub mod args;
pub mod browser;
pub mod dpop;
pub mod floor;
pub mod flow;
pub mod procfs;
pub mod report;
pub mod run;

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;

pub use args::{BenchArgs, Mode, Profile, Provider};
pub use report::Report;
use run::{Plan, measure, prepare};

/// Runs `verity bench` with parsed arguments: one mode, or with `--quick` a few operations of
/// every mode. Prints the report on standard output; fails when any operation failed in
/// `--quick`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    if args.quick {
        return quick(&args).await;
    }
    let Some(mode) = args.mode else {
        bail!("name a mode, or pass --quick");
    };
    let plan = Plan {
        mode,
        workers: args.workers,
        count: args.count,
        duration: Duration::from_secs_f64(args.duration.max(0.0)),
        warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
        pid: args.pid,
        show_errors: args.show_errors,
    };
    let report = if mode == Mode::Signature {
        signatures(plan).await?
    } else {
        measure(Arc::new(prepare(&args, None).await?), &plan).await?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// [`floor::signatures`] off the async threads.
async fn signatures(plan: Plan) -> anyhow::Result<Report> {
    tokio::task::spawn_blocking(move || floor::signatures(&plan)).await?
}

/// `--quick`: every mode with two workers and a handful of operations, no warm-up; both userinfo
/// profiles when the provider can serve both.
async fn quick(args: &BenchArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let main = Arc::new(prepare(args, None).await?);
    let mut runs: Vec<(Mode, Arc<flow::Target>)> =
        Mode::ALL.iter().map(|m| (*m, Arc::clone(&main))).collect();
    if args.provider == Provider::Verity && args.admin_token.is_some() {
        let other = match main.profile {
            Profile::Idme => Profile::Oidc,
            Profile::Oidc => Profile::Idme,
        };
        let position = runs
            .iter()
            .position(|(m, _)| *m == Mode::Userinfo)
            .map_or(runs.len(), |p| p + 1);
        runs.insert(
            position,
            (Mode::Userinfo, Arc::new(prepare(args, Some(other)).await?)),
        );
    }
    let mut reports = Vec::new();
    for (mode, target) in runs {
        let count = match mode {
            Mode::Signin => 2,
            Mode::Sso => 5,
            _ => 10,
        };
        let plan = Plan {
            mode,
            workers: args.workers.min(2),
            count: args.count.min(count),
            duration: Duration::from_secs(30),
            warmup: Duration::ZERO,
            pid: args.pid,
            show_errors: args.show_errors,
        };
        let report = if mode == Mode::Signature {
            signatures(plan).await?
        } else {
            measure(target, &plan).await?
        };
        if !args.json {
            println!("{}", report.line());
            for e in &report.first_errors {
                println!("  error: {e}");
            }
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        println!("quick run: {:.1} s", started.elapsed().as_secs_f64());
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.errors > 0 || r.ops == 0)
        .map(|r| r.mode.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("errors in: {}", failed.join(", "));
    }
    Ok(())
}
