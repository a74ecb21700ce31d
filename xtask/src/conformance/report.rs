//! The conformance report: every test's outcome in every run, what differs
//! between wasm and native, and whether the differences are all accounted for.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::Serialize;

use super::perfbench::BenchOutcome;
use super::skips::{Mode, Skip};
use super::suite::{self, Failure, Outcome, Status, SuiteRun};
use crate::build::BuildOutput;
use crate::project;

pub struct Inputs<'a> {
    pub built: &'a BuildOutput,
    pub wasm: &'a Path,
    pub native: &'a Path,
    pub dirs: &'a [String],
    pub excluded: &'a [String],
    /// Each run's name ("wasm", "native-torture", ...), mode and results.
    pub runs: &'a [(&'static str, Mode, SuiteRun)],
    pub skips: &'a [Skip],
    pub perfbench: Option<Vec<BenchOutcome>>,
    pub results_dir: &'a Path,
}

#[derive(Debug, Serialize)]
pub struct Report {
    host: String,
    revision: String,
    micropython_version: String,
    variant: String,
    wasm_module: ModuleInfo,
    native_executable: String,
    test_dirs: Vec<String>,
    /// Tests left out of every run, with why.
    excluded: Vec<Excluded>,
    runs: BTreeMap<String, RunSummary>,
    /// Per mode, tests that pass natively but not in wasm.
    wasm_only_failures: BTreeMap<String, Vec<WasmOnlyFailure>>,
    /// Listed skips that no longer hold (the test passes in wasm, or does not
    /// pass natively), so the list stays honest.
    stale_skips: Vec<String>,
    /// Tests whose wasm outcome changes under GC torture.
    torture_differences: Vec<TortureDifference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    perfbench: Option<PerfbenchReport>,
    /// Headline figures as `{name: [value, unit]}`.
    metrics: BTreeMap<String, (f64, &'static str)>,
    /// test → run → outcome.
    tests: BTreeMap<String, BTreeMap<String, Outcome>>,
}

#[derive(Debug, Serialize)]
struct ModuleInfo {
    path: String,
    size_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Excluded {
    test: String,
    reason: &'static str,
}

#[derive(Debug, Serialize)]
struct RunSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    passed: usize,
    failed: usize,
    skipped: usize,
    traps: usize,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct WasmOnlyFailure {
    test: String,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
    /// The listed reason, or none when this failure is unexpected.
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_reason: Option<String>,
    /// What the test printed in wasm.
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
}

#[derive(Debug, Serialize)]
struct TortureDifference {
    test: String,
    wasm: Status,
    wasm_torture: Status,
    native: Option<Status>,
    native_torture: Option<Status>,
}

#[derive(Debug, Serialize)]
struct PerfbenchReport {
    heap_size: &'static str,
    programs: usize,
    same_as_native: usize,
    skipped: usize,
    results: Vec<BenchOutcome>,
}

const UNITTEST_REASON: &str = "imports unittest from micropython-lib, which the Debian source tarball lacks";

impl Report {
    pub fn new(inputs: &Inputs) -> Result<Report> {
        let wasm_path = inputs.wasm;
        let mut report = Report {
            host: host_name(),
            revision: revision(),
            micropython_version: inputs.built.source.version.clone(),
            variant: inputs.built.variant.clone(),
            wasm_module: ModuleInfo {
                path: wasm_path.display().to_string(),
                size_bytes: fs::metadata(wasm_path).map(|meta| meta.len()).unwrap_or(0),
            },
            native_executable: inputs.native.display().to_string(),
            test_dirs: inputs.dirs.to_vec(),
            excluded: inputs
                .excluded
                .iter()
                .map(|test| Excluded { test: test.clone(), reason: UNITTEST_REASON })
                .collect(),
            runs: BTreeMap::new(),
            wasm_only_failures: BTreeMap::new(),
            stale_skips: Vec::new(),
            torture_differences: Vec::new(),
            perfbench: None,
            metrics: BTreeMap::new(),
            tests: BTreeMap::new(),
        };

        for (name, _, run) in inputs.runs {
            let traps = run.outcomes.values().filter(|outcome| outcome.failure == Some(Failure::Trap)).count();
            let summary = RunSummary {
                error: run.error.clone(),
                passed: run.count(Status::Pass),
                failed: run.count(Status::Fail),
                skipped: run.count(Status::Skip),
                traps,
                seconds: run.seconds,
            };
            let key = name.replace('-', "_");
            report.metrics.insert(format!("{key}_passed"), (summary.passed as f64, "tests"));
            report.metrics.insert(format!("{key}_seconds"), (summary.seconds.round(), "s"));
            report.runs.insert(name.to_string(), summary);
            for (test, outcome) in &run.outcomes {
                report.tests.entry(test.clone()).or_default().insert(name.to_string(), *outcome);
            }
        }

        let find = |name: &str| inputs.runs.iter().find(|(run, _, _)| *run == name).map(|(_, _, run)| run);
        for (mode, native_name, wasm_name) in
            [(Mode::Normal, "native", "wasm"), (Mode::Torture, "native-torture", "wasm-torture")]
        {
            let (Some(native), Some(wasm)) = (find(native_name), find(wasm_name)) else { continue };
            let results_dir = inputs.results_dir.join(wasm_name);
            let failures = report.compare(native, wasm, mode, inputs.skips, &results_dir);
            report.wasm_only_failures.insert(wasm_name.to_owned(), failures);
        }
        if let (Some(wasm), Some(wasm_torture)) = (find("wasm"), find("wasm-torture")) {
            for (test, outcome) in &wasm.outcomes {
                let Some(tortured) = wasm_torture.status(test) else { continue };
                if tortured != outcome.status {
                    report.torture_differences.push(TortureDifference {
                        test: test.clone(),
                        wasm: outcome.status,
                        wasm_torture: tortured,
                        native: find("native").and_then(|run| run.status(test)),
                        native_torture: find("native-torture").and_then(|run| run.status(test)),
                    });
                }
            }
        }
        if let Some(results) = &inputs.perfbench {
            let same = results.iter().filter(|outcome| outcome.same_as_native && !outcome.skipped).count();
            let skipped = results.iter().filter(|outcome| outcome.skipped).count();
            report.metrics.insert("perfbench_1m_same_as_native".into(), (same as f64, "programs"));
            report.perfbench = Some(PerfbenchReport {
                heap_size: super::BENCH_HEAP,
                programs: results.len(),
                same_as_native: same,
                skipped,
                results: results.clone(),
            });
        }
        Ok(report)
    }

    /// Tests that pass in `native` but not in `wasm`, each matched with its
    /// listed skip; records skips that no longer hold.
    fn compare(
        &mut self,
        native: &SuiteRun,
        wasm: &SuiteRun,
        mode: Mode,
        skips: &[Skip],
        results_dir: &Path,
    ) -> Vec<WasmOnlyFailure> {
        let skip_for = |test: &str| skips.iter().find(|skip| skip.test == test && skip.applies_to(mode));
        let mut failures = Vec::new();
        for (test, outcome) in &wasm.outcomes {
            let native_passes = native.status(test) == Some(Status::Pass);
            let skip = skip_for(test);
            if native_passes && outcome.status != Status::Pass {
                let output = fs::read(suite::output_file(results_dir, test))
                    .ok()
                    .map(|bytes| tail(&String::from_utf8_lossy(&bytes), 20));
                failures.push(WasmOnlyFailure {
                    test: test.clone(),
                    status: outcome.status,
                    failure: outcome.failure,
                    skip_reason: skip.map(|skip| skip.reason.clone()),
                    output,
                });
            } else if skip.is_some() {
                let mode_name = if mode == Mode::Normal { "normal" } else { "torture" };
                self.stale_skips.push(format!(
                    "{test} ({mode_name} mode): wasm {:?}, native {:?}",
                    outcome.status,
                    native.status(test)
                ));
            }
        }
        failures
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn print_summary(&self) {
        for (run, failures) in &self.wasm_only_failures {
            let (listed, unlisted): (Vec<_>, Vec<_>) =
                failures.iter().partition(|failure| failure.skip_reason.is_some());
            eprintln!("{run}: {} wasm-only failures listed as skips, {} unexpected", listed.len(), unlisted.len());
            for failure in unlisted {
                eprintln!(
                    "  {} ({:?})",
                    failure.test,
                    failure.failure.map_or("skipped".to_owned(), |f| format!("{f:?}"))
                );
            }
        }
        if !self.torture_differences.is_empty() {
            eprintln!("{} tests change outcome in wasm under GC torture", self.torture_differences.len());
        }
    }

    /// Everything that makes the run a failure, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, run) in &self.runs {
            if let Some(error) = &run.error {
                problems.push(format!("{name}: {error}"));
            }
        }
        for (run, failures) in &self.wasm_only_failures {
            for failure in failures.iter().filter(|failure| failure.skip_reason.is_none()) {
                problems.push(format!("{} passes natively but not in {run}", failure.test));
            }
        }
        for stale in &self.stale_skips {
            problems.push(format!("listed skip no longer needed: {stale}"));
        }
        for difference in &self.torture_differences {
            // A test whose outcome also changes natively under torture is
            // sensitive to collection timing itself; only wasm-specific
            // changes count.
            if difference.native == difference.native_torture {
                problems.push(format!(
                    "{} is {:?} in wasm but {:?} under GC torture",
                    difference.test, difference.wasm, difference.wasm_torture
                ));
            }
        }
        if let Some(bench) = &self.perfbench {
            for outcome in bench.results.iter().filter(|outcome| !outcome.same_as_native) {
                problems.push(format!(
                    "{} with a {} heap: wasm gave {:?}, native {:?}, expected {:?}",
                    outcome.program, bench.heap_size, outcome.wasm.result, outcome.native.result, outcome.truth
                ));
            }
        }
        problems
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The checkout's commit, marked `-dirty` when files differ from it.
fn revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(project::repo_root())
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else { return "unknown".to_owned() };
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(status) if !status.is_empty() => format!("{commit}-dirty"),
        _ => commit,
    }
}
