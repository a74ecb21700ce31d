//! `print(1)` start-up: a whole process (cold), beside the process it is
//! compared with where a host has one (for Python, `import wasmtime`),
//! timed in the same loop; a load-and-run inside a process that already has
//! the module compiled (warm); and a snippet in a running session.

use std::path::Path;

use anyhow::{Context, Result};

use super::hosts::Host;
use super::report::Startup;
use super::stats;

pub fn measure(hosts: &[Host], runs: usize, scratch: &Path) -> Result<Vec<Startup>> {
    let progress = crate::progress::bar(hosts.len() as u64, "start-up");
    let mut results = Vec::new();
    for host in hosts {
        progress.set_message(host.name.clone());
        let runs = host.start_up_runs(runs);
        results.extend(cold_starts(host, runs, scratch)?);
        if let Some(times) = host.warm_starts(runs, scratch)? {
            results.push(summary(&host.name, "warm", &times));
        }
        if let Some(times) = host.session_snippets(runs, scratch)? {
            results.push(summary(&host.name, "session", &times));
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let native = results.iter().find(|s| s.host == "native" && s.mode == "cold").map(|s| s.median_ms);
    for result in &mut results {
        result.ratio_to_native = native.map(|native| result.median_ms / native);
    }
    Ok(results)
}

/// The host's cold starts and its reference's, one of each in turn, so a
/// drift of the machine lands on both.
fn cold_starts(host: &Host, runs: usize, scratch: &Path) -> Result<Vec<Startup>> {
    // One untimed run fills the page cache and Node's compile cache (and
    // the Python bundle's).
    if host.cold_start(scratch)?.is_none() {
        return Ok(Vec::new());
    }
    let mut reference = host.cold_reference(scratch);
    if let Some(reference) = &mut reference {
        reference.time()?;
    }
    let mut times = Vec::with_capacity(runs);
    let mut reference_times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(host.cold_start(scratch)?.context("a cold start")?);
        if let Some(reference) = &mut reference {
            reference_times.push(reference.time()?);
        }
    }
    let mut results = vec![summary(&host.name, "cold", &times)];
    if let Some(reference) = reference {
        results.push(summary(&reference.name, "cold", &reference_times));
    }
    Ok(results)
}

fn summary(host: &str, mode: &str, times: &[f64]) -> Startup {
    let [median_ms, min_ms, max_ms] = stats::median_min_max(times);
    Startup {
        host: host.to_owned(),
        mode: mode.to_owned(),
        runs: times.len(),
        median_ms,
        min_ms,
        max_ms,
        ratio_to_native: None,
    }
}
