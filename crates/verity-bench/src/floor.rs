//! `signature`: the floor of every operation that carries an RS256 ID token, measured on this
//! machine in this process, so that a report can set a flow's cost beside it (BENCHMARKS.md,
//! "Targets").
//!
//! Each `sso` flow and `refresh` grant of Verity carries one RSASSA-PKCS1-v1_5 SHA-256 signature
//! by a 2048-bit key (two with an `idme`-profile app, whose userinfo is a signed JWT), made with
//! aws-lc-rs. Its cost differs several times between machines of the same kind (0.21 to 0.85 ms
//! here so far), far more than anything else in a flow: a figure in milliseconds means little
//! without the signature's cost measured beside it. This mode makes those signatures, with the
//! same library and key size, on `--workers` threads for the same window as any other mode, and
//! reports their rate, their latency and this process's CPU per signature, which is what the
//! provider pays for one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use anyhow::{Context, anyhow};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use crate::args::Mode;
use crate::procfs;
use crate::report::{Latency, Report, rate};
use crate::run::Plan;

/// A JWS signing input of an ID token's usual size (header and claims, base64url).
const SIGNING_INPUT_LEN: usize = 700;

/// Signs on `plan.workers` threads for the plan's warm-up and window (or count); the "provider"
/// figures of the report are this process's, the signer.
pub fn signatures(plan: &Plan) -> anyhow::Result<Report> {
    let key = Arc::new(
        RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| anyhow!("generating an RSA key"))?,
    );
    let input: Vec<u8> = (0..SIGNING_INPUT_LEN)
        .map(|i| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i % 64])
        .collect();
    let input = Arc::new(input);
    let ticks = procfs::clock_ticks();
    let start = Arc::new(Barrier::new(plan.workers + 1));
    let issued = Arc::new(AtomicU64::new(0));
    let begin = Instant::now() + plan.warmup;
    let end = begin + plan.duration;
    let mut handles = Vec::with_capacity(plan.workers);
    for _ in 0..plan.workers {
        let (key, input, start, issued) = (
            Arc::clone(&key),
            Arc::clone(&input),
            Arc::clone(&start),
            Arc::clone(&issued),
        );
        let count = plan.count;
        handles.push(thread::spawn(move || -> anyhow::Result<Vec<u32>> {
            let rng = SystemRandom::new();
            let mut signature = vec![0; key.public_modulus_len()];
            let mut latencies = Vec::new();
            start.wait();
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let measured = now >= begin;
                if measured && issued.fetch_add(1, Ordering::Relaxed) >= count {
                    break;
                }
                key.sign(&RSA_PKCS1_SHA256, &rng, &input, &mut signature)
                    .map_err(|_| anyhow!("signing"))?;
                if measured {
                    latencies.push(u32::try_from(now.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
            }
            Ok(latencies)
        }));
    }
    start.wait();
    // Measuring starts with the window: the warm-up's CPU is left out.
    thread::sleep(begin.saturating_duration_since(Instant::now()));
    let cpu_start = procfs::cpu_seconds("self", ticks)?;
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(
            h.join()
                .map_err(|_| anyhow!("a signing thread panicked"))??,
        );
    }
    let seconds = begin.elapsed().as_secs_f64();
    let cpu =
        procfs::cpu_seconds("self", ticks).context("reading this process's CPU time")? - cpu_start;
    let ops = latencies.len() as u64;
    let per_op = (ops > 0).then(|| cpu * 1000.0 / ops as f64);
    Ok(Report {
        mode: Mode::Signature,
        provider: None,
        issuer: "this process (aws-lc-rs, RS256, 2048-bit key)".to_owned(),
        profile: None,
        workers: plan.workers,
        dpop: false,
        ops,
        errors: 0,
        seconds,
        per_second: rate(ops, seconds),
        latency_ms: Latency::from_micros(&mut latencies),
        steps: Vec::new(),
        provider_cpu_ms_per_op: per_op,
        provider_cpu_seconds: Some(cpu),
        provider_cores_busy: Some(cpu / seconds.max(1e-9)),
        tool_cpu_ms_per_op: per_op,
        provider_rss_kib: None,
        provider_peak_rss_kib: None,
        first_errors: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn signs_until_the_count_and_reports_the_cost_of_one() {
        let plan = Plan {
            mode: Mode::Signature,
            workers: 2,
            count: 6,
            duration: Duration::from_secs(30),
            warmup: Duration::ZERO,
            pid: None,
            show_errors: 3,
        };
        let report = signatures(&plan).expect("signing runs");
        assert_eq!(report.ops, 6, "stops at the count, not the 30 s window");
        assert!(report.seconds < 30.0);
        assert!(report.latency_ms.max > 0.0);
        assert!(report.provider.is_none());
        let cpu = report.provider_cpu_ms_per_op.expect("CPU per signature");
        assert!(cpu >= 0.0 && cpu.is_finite());
    }
}
