//! Figures of one measurement and their text and JSON forms.

use std::fmt::Write as _;

use serde::Serialize;

use crate::args::{Mode, Profile, Provider};

/// Latency percentiles in milliseconds (nearest rank).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// From samples in microseconds (sorted in place).
    pub fn from_micros(samples: &mut [u32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: f64| {
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            f64::from(samples[i]) / 1000.0
        };
        let sum: u64 = samples.iter().map(|s| u64::from(*s)).sum();
        Self {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: f64::from(samples[n - 1]) / 1000.0,
            mean: sum as f64 / n as f64 / 1000.0,
        }
    }
}

/// The latency of one step of a flow (authorize, token, userinfo).
#[derive(Debug, Clone, Serialize)]
pub struct StepLatency {
    pub step: String,
    pub latency_ms: Latency,
}

/// Everything measured in one run of one mode.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    /// `None` for `signature`, which measures this process.
    pub provider: Option<Provider>,
    pub issuer: String,
    /// The userinfo wire form (userinfo mode only).
    pub profile: Option<Profile>,
    pub workers: usize,
    /// Tokens bound to DPoP keys, with a proof on every token and userinfo request (`--dpop`).
    pub dpop: bool,
    /// Operations that succeeded while measuring.
    pub ops: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Successful operations per second.
    pub per_second: f64,
    pub latency_ms: Latency,
    /// Per step of a flow (authorize, token, userinfo).
    pub steps: Vec<StepLatency>,
    /// Provider CPU (user + system, every thread) over the measurement, per successful operation.
    pub provider_cpu_ms_per_op: Option<f64>,
    pub provider_cpu_seconds: Option<f64>,
    /// The provider's CPU use as a share of the machine's cores (1.0 = one core busy).
    pub provider_cores_busy: Option<f64>,
    /// This tool's own CPU per operation (it shares the machine).
    pub tool_cpu_ms_per_op: Option<f64>,
    pub provider_rss_kib: Option<u64>,
    pub provider_peak_rss_kib: Option<u64>,
    pub first_errors: Vec<String>,
}

/// Operations per second over `seconds` (0 for an empty window).
pub fn rate(ops: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        ops as f64 / seconds
    } else {
        0.0
    }
}

fn opt(v: Option<f64>, digits: usize, unit: &str) -> String {
    match v {
        Some(v) => format!("{v:.digits$}{unit}"),
        None => "n/a".to_owned(),
    }
}

fn mib(kib: Option<u64>) -> String {
    opt(kib.map(|k| k as f64 / 1024.0), 1, " MiB")
}

impl Report {
    /// The report as text for a terminal.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let unit = match self.mode {
            m if m.is_flow() => "flows/s",
            Mode::Signature => "signatures/s",
            _ => "req/s",
        };
        let profile = self
            .profile
            .map(|p| format!(" (profile {p:?})").to_lowercase())
            .unwrap_or_default();
        let against = match self.provider {
            Some(p) => format!("against {} ({})", self.issuer, p.as_str()),
            None => format!("in {}", self.issuer),
        };
        let dpop = if self.dpop { " with DPoP" } else { "" };
        let _ = writeln!(
            s,
            "{}{profile}{dpop} {against}, {} workers, {:.1} s",
            self.mode.as_str(),
            self.workers,
            self.seconds
        );
        let _ = writeln!(
            s,
            "  throughput     {:.1} {unit}  ({} ok, {} errors)",
            self.per_second, self.ops, self.errors
        );
        let l = &self.latency_ms;
        let _ = writeln!(
            s,
            "  latency ms     p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            l.p50, l.p90, l.p99, l.max
        );
        for step in &self.steps {
            let l = &step.latency_ms;
            let _ = writeln!(
                s,
                "    {:<12} p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
                step.step, l.p50, l.p90, l.p99, l.max
            );
        }
        if self.mode == Mode::Signature {
            let _ = writeln!(
                s,
                "  CPU            {} per signature ({} busy)",
                opt(self.provider_cpu_ms_per_op, 3, " ms"),
                opt(self.provider_cores_busy, 2, " cores"),
            );
            return s;
        }
        let _ = writeln!(
            s,
            "  provider CPU   {} per op ({} busy; {} total)",
            opt(self.provider_cpu_ms_per_op, 3, " ms"),
            opt(self.provider_cores_busy, 2, " cores"),
            opt(self.provider_cpu_seconds, 2, " s"),
        );
        let _ = writeln!(
            s,
            "  load tool CPU  {} per op",
            opt(self.tool_cpu_ms_per_op, 3, " ms")
        );
        let _ = writeln!(
            s,
            "  provider RSS   {} at the end, {} peak",
            mib(self.provider_rss_kib),
            mib(self.provider_peak_rss_kib)
        );
        for e in &self.first_errors {
            let _ = writeln!(s, "  error: {e}");
        }
        s
    }

    /// One line for the --quick summary.
    pub fn line(&self) -> String {
        format!(
            "{:<20} {:>6} ok {:>3} err  {:>9.1}/s  p99 {:>7.2} ms  cpu/op {}",
            match self.profile {
                Some(p) => format!("{} {}", self.mode.as_str(), format!("{p:?}").to_lowercase()),
                None => self.mode.as_str().to_owned(),
            },
            self.ops,
            self.errors,
            self.per_second,
            self.latency_ms.p99,
            opt(self.provider_cpu_ms_per_op, 3, " ms"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let l = Latency::from_micros(&mut s);
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        assert!((l.mean - 50.5).abs() < 1e-9);
        assert_eq!(Latency::from_micros(&mut []).p99, 0.0);
    }
}
