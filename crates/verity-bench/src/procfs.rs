//! CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status` (Linux).

use anyhow::{Context, anyhow};

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// User plus system CPU seconds of every thread of `pid` (`"self"` for this process).
pub fn cpu_seconds(pid: &str, ticks: f64) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| anyhow!("{path}: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // proc(5): utime is field 14 and stime field 15; `rest` starts at field 3.
    let field = |i: usize| -> anyhow::Result<f64> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("{path}: no field {i}"))
    };
    Ok((field(14)? + field(15)?) / ticks)
}

/// `(VmRSS, VmHWM)` of `pid` in KiB: resident now, and the peak.
pub fn memory_kib(pid: &str) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = |key: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Some((value("VmRSS:")?, value("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_cpu_and_memory() {
        let t = clock_ticks();
        assert!(cpu_seconds("self", t).is_ok_and(|s| s >= 0.0));
        assert!(memory_kib("self").is_some_and(|(rss, hwm)| rss > 0 && hwm >= rss));
    }
}
