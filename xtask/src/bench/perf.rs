//! MicroPython's `tests/perf_bench` programs, assembled as run-perfbench.py
//! assembles them (program + benchrun.py + `bm_run(N, M)`), timed by the
//! programs themselves, under every host, as a ratio to native.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::hosts::Host;
use super::stats;

/// Programs of the `--quick` run: short, one heavy on calls and one on
/// allocation (big integers), where the collector's pointer spilling costs.
const QUICK_PROGRAMS: &[&str] = &["bm_nqueens.py", "bm_pidigits.py"];

pub struct Plan {
    /// run-perfbench.py's N (target MHz) and M (heap KiB): they choose each
    /// program's parameter set.
    pub n: u32,
    pub m: u32,
    pub heap_bytes: u64,
    pub repetitions: usize,
    pub quick: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Perf {
    pub n: u32,
    pub m: u32,
    pub heap_bytes: u64,
    pub repetitions: usize,
    pub hosts: Vec<String>,
    pub programs: Vec<ProgramResult>,
    /// The programs every host ran correctly (a peer known to fail some,
    /// 0.1a2, aside): the geomeans are over them.
    pub common_programs: Vec<String>,
    /// Geometric mean over the common programs, of each host's time divided
    /// by native's; a peer left out of the common set has its geomean over
    /// those of them it ran correctly.
    pub geomean_ratio: BTreeMap<String, f64>,
    /// Programs left out, and why (viper needs the native emitter).
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramResult {
    pub name: String,
    pub hosts: BTreeMap<String, Measured>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Median of the program's own timing, in microseconds.
    pub median_us: Option<f64>,
    pub times_us: Vec<f64>,
    /// Time divided by native's median.
    pub ratio: Option<f64>,
    /// The program's result line agrees with native's.
    pub same_result_as_native: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Largest linear memory seen (wasmtime only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<u64>,
}

pub fn run(tests_dir: &Path, hosts: &[Host], plan: &Plan, scratch: &Path) -> Result<Perf> {
    let bench_dir = tests_dir.join("perf_bench");
    let harness = fs::read_to_string(bench_dir.join("benchrun.py"))
        .with_context(|| format!("reading {}", bench_dir.join("benchrun.py").display()))?;
    let mut programs: Vec<PathBuf> = fs::read_dir(&bench_dir)
        .with_context(|| format!("listing {}", bench_dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py") && !path.ends_with("benchrun.py"))
        .collect();
    programs.sort();
    let mut skipped = Vec::new();
    programs.retain(|path| {
        let name = file_name(path);
        if name.starts_with("viper_") {
            skipped.push(format!("{name}: needs the native emitter, which no wasm build has"));
            return false;
        }
        !plan.quick || QUICK_PROGRAMS.contains(&name.as_str())
    });
    let scripts: Vec<(String, String)> = programs
        .iter()
        .map(|path| {
            let source = fs::read_to_string(path)?;
            Ok((file_name(path), format!("{source}\n{harness}\nbm_run({}, {})\n", plan.n, plan.m)))
        })
        .collect::<Result<_>>()?;

    let mut samples: BTreeMap<(usize, usize), Vec<Sample>> = BTreeMap::new();
    let progress = crate::progress::bar((plan.repetitions * scripts.len() * hosts.len()) as u64, "perf_bench");
    // Repetition-major order: a slow drift of the machine spreads over every
    // host instead of landing on one.
    for _ in 0..plan.repetitions {
        for (p, (name, script)) in scripts.iter().enumerate() {
            for (h, host) in hosts.iter().enumerate() {
                progress.set_message(format!("{name} on {}", host.name));
                let sample = match host.run(script, plan.heap_bytes, scratch) {
                    Ok(output) => parse_line(&output.stdout)
                        .map(|(time, result)| Sample::Ok { time_us: time, result, memory: output.memory_bytes })
                        .unwrap_or_else(|| Sample::Failed(format!("unexpected output: {}", last_line(&output.stdout)))),
                    Err(err) => Sample::Failed(format!("{err:#}")),
                };
                samples.entry((p, h)).or_default().push(sample);
                progress.inc(1);
            }
        }
    }
    progress.finish_and_clear();

    let native = hosts.iter().position(|host| host.name == "native");
    let mut results = Vec::new();
    for (p, (name, _)) in scripts.iter().enumerate() {
        let summary: Vec<Measured> = (0..hosts.len()).map(|h| summarise(&samples[&(p, h)])).collect();
        let native_result = native.and_then(|n| first_result(&samples[&(p, n)]));
        let native_median = native.and_then(|n| summary[n].median_us);
        let mut by_host = BTreeMap::new();
        for (h, mut measured) in summary.into_iter().enumerate() {
            measured.same_result_as_native =
                native_result.is_some() && first_result(&samples[&(p, h)]) == native_result;
            measured.ratio = measured.median_us.zip(native_median).map(|(time, native)| time / native);
            by_host.insert(hosts[h].name.clone(), measured);
        }
        results.push(ProgramResult { name: name.clone(), hosts: by_host });
    }

    let common: Vec<&str> =
        hosts.iter().filter(|host| host.sets_common_programs()).map(|host| host.name.as_str()).collect();
    let compared: Vec<&str> = hosts
        .iter()
        .filter(|host| Some(host.name.as_str()) != native.map(|n| hosts[n].name.as_str()))
        .map(|host| host.name.as_str())
        .collect();
    let (common_programs, geomean_ratio) = geomeans(&results, &common, &compared);
    Ok(Perf {
        n: plan.n,
        m: plan.m,
        heap_bytes: plan.heap_bytes,
        repetitions: plan.repetitions,
        hosts: hosts.iter().map(|host| host.name.clone()).collect(),
        programs: results,
        common_programs,
        geomean_ratio,
        skipped,
    })
}

/// The programs every host of `common` ran correctly, and the geomean
/// over them of each of `hosts`' ratios to native: the same set for every
/// host, but a host outside `common` (0.1a2) has its geomean over the
/// programs of the set it ran correctly.
fn geomeans(results: &[ProgramResult], common: &[&str], hosts: &[&str]) -> (Vec<String>, BTreeMap<String, f64>) {
    let correct = |measured: &Measured| measured.ratio.is_some() && measured.same_result_as_native;
    let complete: Vec<&ProgramResult> =
        results.iter().filter(|program| common.iter().all(|host| correct(&program.hosts[*host]))).collect();
    let geomean_ratio = hosts
        .iter()
        .filter_map(|host| {
            let ratios: Vec<f64> = complete
                .iter()
                .map(|program| &program.hosts[*host])
                .filter(|measured| correct(measured))
                .filter_map(|measured| measured.ratio)
                .collect();
            (!ratios.is_empty()).then(|| (host.to_string(), stats::geomean(&ratios)))
        })
        .collect();
    (complete.iter().map(|program| program.name.clone()).collect(), geomean_ratio)
}

enum Sample {
    Ok { time_us: f64, result: String, memory: Option<u64> },
    Failed(String),
}

fn summarise(samples: &[Sample]) -> Measured {
    let times: Vec<f64> = samples
        .iter()
        .filter_map(|sample| match sample {
            Sample::Ok { time_us, .. } => Some(*time_us),
            Sample::Failed(_) => None,
        })
        .collect();
    let error = samples.iter().find_map(|sample| match sample {
        Sample::Failed(why) => Some(why.clone()),
        Sample::Ok { .. } => None,
    });
    let peak = samples
        .iter()
        .filter_map(|sample| match sample {
            Sample::Ok { memory, .. } => *memory,
            Sample::Failed(_) => None,
        })
        .max();
    Measured {
        // A host that failed any repetition has no figure: a median of the
        // survivors would flatter it.
        median_us: if error.is_none() { stats::median(&times) } else { None },
        times_us: times,
        ratio: None,
        same_result_as_native: false,
        error,
        peak_memory_bytes: peak,
    }
}

fn first_result(samples: &[Sample]) -> Option<&str> {
    samples.iter().find_map(|sample| match sample {
        Sample::Ok { result, .. } => Some(result.as_str()),
        Sample::Failed(_) => None,
    })
}

/// benchrun.py's last line: `TIME_US NORM RESULT`.
fn parse_line(stdout: &str) -> Option<(f64, String)> {
    let mut fields = last_line(stdout).splitn(3, ' ');
    let time: i64 = fields.next()?.parse().ok()?;
    let _norm: i64 = fields.next()?.parse().ok()?;
    (time >= 0).then(|| (time as f64, fields.next().unwrap_or("").to_owned()))
}

fn last_line(stdout: &str) -> &str {
    stdout.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("").trim()
}

fn file_name(path: &Path) -> String {
    path.file_name().expect("a file").to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_benchrun_lines() {
        assert_eq!(parse_line("noise\n1234 40 (1, 2)\n"), Some((1234.0, "(1, 2)".to_owned())));
        assert_eq!(parse_line("-1 -1 SKIP: no matching params\n"), None);
        assert_eq!(parse_line("Traceback\n"), None);
    }

    #[test]
    fn a_peer_outside_the_common_set_leaves_no_program_out() {
        let measured = |ratio: Option<f64>| Measured {
            median_us: ratio,
            times_us: Vec::new(),
            ratio,
            same_result_as_native: ratio.is_some(),
            error: ratio.is_none().then(|| "failed".to_owned()),
            peak_memory_bytes: None,
        };
        let program = |name: &str, ours: Option<f64>, peer: Option<f64>| ProgramResult {
            name: name.to_owned(),
            hosts: BTreeMap::from([("ours".to_owned(), measured(ours)), ("peer".to_owned(), measured(peer))]),
        };
        let results =
            [program("a", Some(2.0), Some(3.0)), program("b", Some(8.0), None), program("c", None, Some(1.0))];
        let (common, ratios) = geomeans(&results, &["ours"], &["ours", "peer"]);
        assert_eq!(common, ["a", "b"]);
        assert!((ratios["ours"] - 4.0).abs() < 1e-12);
        assert!((ratios["peer"] - 3.0).abs() < 1e-12);
        // A peer that ran none of the common programs has no geomean.
        let (_, ratios) = geomeans(&results[1..], &["ours"], &["ours", "peer"]);
        assert!(!ratios.contains_key("peer"));
    }
}
