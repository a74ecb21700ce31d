//! `print(1)` start-up: a whole process (cold) and a load-and-run inside a
//! process that already has the module compiled (warm).

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
        // One untimed run fills the page cache and Node's compile cache.
        if host.cold_start(scratch)?.is_some() {
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                times.push(host.cold_start(scratch)?.context("a cold start")?);
            }
            results.push(summary(&host.name, "cold", &times));
        }
        if let Some(times) = host.warm_starts(runs)? {
            results.push(summary(&host.name, "warm", &times));
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

fn summary(host: &str, mode: &str, times: &[f64]) -> Startup {
    Startup {
        host: host.to_owned(),
        mode: mode.to_owned(),
        runs: times.len(),
        median_ms: stats::median(times).unwrap_or(f64::NAN),
        min_ms: times.iter().copied().fold(f64::INFINITY, f64::min),
        max_ms: times.iter().copied().fold(0.0, f64::max),
        ratio_to_native: None,
    }
}
