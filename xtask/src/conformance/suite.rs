//! One run of MicroPython's own `tests/run-tests.py` against one executable,
//! read back from the `_results.json` it writes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// How one test ended, as run-tests.py judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// Why a failed test failed, read from the output run-tests.py kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Failure {
    /// The wasm engine stopped the module (out-of-bounds access, stack
    /// exhaustion, unreachable).
    Trap,
    /// A non-zero exit without a trap: an uncaught exception or a fatal error.
    Crash,
    Timeout,
    /// The program ran to the end but printed something else.
    WrongOutput,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Outcome {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// How the first attempt failed, for a test that passed when run again
    /// on its own (see [`retry_failures`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed_on_retry_after: Option<Failure>,
}

/// Every test's outcome in one run, keyed by path below `tests/`.
#[derive(Debug, Default)]
pub struct SuiteRun {
    pub outcomes: BTreeMap<String, Outcome>,
    pub seconds: f64,
    /// Why run-tests.py ran no tests at all (e.g. the target crashed while
    /// it probed the target's features).
    pub error: Option<String>,
}

impl SuiteRun {
    pub fn count(&self, status: Status) -> usize {
        self.outcomes.values().filter(|outcome| outcome.status == status).count()
    }

    pub fn status(&self, test: &str) -> Option<Status> {
        self.outcomes.get(test).map(|outcome| outcome.status)
    }
}

/// What to run and how.
pub struct SuiteJob<'a> {
    /// MicroPython's `tests/` folder.
    pub tests_dir: &'a Path,
    /// The executable run-tests.py starts for each test (MICROPY_MICROPYTHON).
    pub executable: &'a Path,
    pub dirs: &'a [String],
    /// run-tests.py `-i`/`-e` filters, in order: (include?, regex).
    pub filters: &'a [(bool, String)],
    pub jobs: usize,
    /// Seconds one test may take before it counts as a failure.
    pub timeout: u32,
    pub results_dir: &'a Path,
}

#[derive(Deserialize)]
struct ResultsFile {
    results: Vec<(String, Status, String)>,
}

pub fn run(job: &SuiteJob) -> Result<SuiteRun> {
    let started = Instant::now();
    // Results of an earlier run must not be mistaken for this one's.
    let _ = fs::remove_dir_all(job.results_dir);
    fs::create_dir_all(job.results_dir)?;
    let mut command = Command::new("python3");
    command
        .current_dir(job.tests_dir)
        .arg("run-tests.py")
        .arg("-j")
        .arg(job.jobs.to_string())
        .arg("-r")
        .arg(job.results_dir)
        .env("MICROPY_MICROPYTHON", job.executable)
        .env("MICROPY_TEST_TIMEOUT", job.timeout.to_string());
    for (include, regex) in job.filters {
        command.arg(if *include { "-i" } else { "-e" }).arg(regex);
    }
    command.arg("-d").args(job.dirs);
    let output = command.output().context("running python3 tests/run-tests.py")?;
    fs::write(job.results_dir.join("run-tests.log"), &output.stdout)?;
    let results_path = job.results_dir.join("_results.json");
    let Ok(text) = fs::read_to_string(&results_path) else {
        let log = String::from_utf8_lossy(&output.stderr);
        let reason = log.lines().last().unwrap_or("no output").to_owned();
        return Ok(SuiteRun {
            error: Some(format!("run-tests.py ran no tests ({}): {reason}", output.status)),
            seconds: started.elapsed().as_secs_f64(),
            ..SuiteRun::default()
        });
    };
    let parsed: ResultsFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", results_path.display()))?;
    let outcomes = parsed
        .results
        .into_iter()
        .map(|(test, status, _reason)| {
            let failure = (status == Status::Fail).then(|| classify(&output_file(job.results_dir, &test)));
            (test, Outcome { status, failure, passed_on_retry_after: None })
        })
        .collect();
    Ok(SuiteRun { outcomes, seconds: started.elapsed().as_secs_f64(), error: None })
}

/// Runs again, alone and one at a time, the tests that failed in `first` but
/// passed in `reference`. Some tests race the clock (asyncio's scheduler
/// tests expect wake-ups within 10 ms), which a loaded machine can lose
/// once; a test that passes on its second run is recorded as such, with
/// how it first failed, and one that fails again keeps its first outcome.
/// Returns how many passed on retry.
pub fn retry_failures(job: &SuiteJob, first: &mut SuiteRun, reference: &SuiteRun) -> Result<usize> {
    let suspects: Vec<String> = first
        .outcomes
        .iter()
        .filter(|(test, outcome)| outcome.status == Status::Fail && reference.status(test) == Some(Status::Pass))
        .map(|(test, _)| test.clone())
        .collect();
    if suspects.is_empty() {
        return Ok(0);
    }
    let filters: Vec<(bool, String)> =
        suspects.iter().map(|test| (true, format!("^{}$", regex_escape(test)))).collect();
    let retry_dir = job.results_dir.with_extension("retry");
    let again = run(&SuiteJob { filters: &filters, jobs: 1, results_dir: &retry_dir, ..*job })?;
    let mut passed = 0;
    for test in suspects {
        if again.status(&test) == Some(Status::Pass) {
            let outcome = first.outcomes.get_mut(&test).expect("a suspect comes from the run");
            *outcome = Outcome { status: Status::Pass, failure: None, passed_on_retry_after: outcome.failure };
            passed += 1;
        }
    }
    Ok(passed)
}

/// A test path as a regex that matches only itself.
pub fn regex_escape(text: &str) -> String {
    text.chars().flat_map(|c| if "\\.+*?()|[]{}^$".contains(c) { vec!['\\', c] } else { vec![c] }).collect()
}

/// Where run-tests.py keeps a failed test's output (its `test_basename`).
pub fn output_file(results_dir: &Path, test: &str) -> PathBuf {
    results_dir.join(format!("{}.out", test.replace("..", "_").replace("./", "").replace('/', "_")))
}

fn classify(output: &Path) -> Failure {
    let text = fs::read(output).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    if text.contains("[wasm trap]") {
        Failure::Trap
    } else if text.ends_with("TIMEOUT") {
        Failure::Timeout
    } else if text.ends_with("CRASH") {
        Failure::Crash
    } else {
        Failure::WrongOutput
    }
}

/// Tests that import `unittest`, which lives in micropython-lib: the Debian
/// source tarball lacks it, and run-tests.py aborts the whole run when a test
/// cannot import it, so these are left out of every run.
pub fn unittest_tests(tests_dir: &Path, dirs: &[String]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for dir in dirs {
        let folder = tests_dir.join(dir);
        for entry in fs::read_dir(&folder).with_context(|| format!("listing {}", folder.display()))? {
            let path = entry?.path();
            if path.extension().is_none_or(|ext| ext != "py") {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap_or_default();
            if text.lines().any(|line| line.starts_with("import unittest") || line.starts_with("from unittest")) {
                let name = path.file_name().expect("a file").to_string_lossy();
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found.sort();
    Ok(found)
}
