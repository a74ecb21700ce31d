//! `cargo xtask conformance`: MicroPython's own test suite (`tests/run-tests.py`
//! from the fetched tree) against the wasm build and against a native build of
//! the same sources and port, which is the reference. With `--torture` both
//! run again with a collection before every allocation, and `--perfbench` runs
//! every perf_bench program with a 1 MiB heap. A test that passes natively
//! but not in wasm fails the command unless `micropython/conformance-skips.toml`
//! lists it with a reason. Per-test results go to dist/report/conformance.json.

pub(crate) mod native;
mod perfbench;
mod report;
mod skips;
mod suite;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::build::{self, BuildArgs};
use crate::{dirlock, project};
use skips::Mode;
use suite::SuiteJob;

/// The folders of MicroPython's tests/ that the suite covers.
pub const TEST_DIRS: &[&str] = &["basics", "float", "extmod", "micropython", "misc", "stress", "unicode", "import"];

/// Heap for the perf_bench programs: small enough that the collector runs
/// all the time, as on a microcontroller.
const BENCH_HEAP: &str = "1m";

#[derive(clap::Args, Debug, Clone)]
pub struct ConformanceArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Also run the suite with a collection before every allocation.
    #[arg(long)]
    pub torture: bool,
    /// Also run every perf_bench program with a 1 MiB heap.
    #[arg(long)]
    pub perfbench: bool,
    /// Shorthand for --torture --perfbench.
    #[arg(long)]
    pub all: bool,
    /// Test folders to run (default: basics float extmod micropython misc
    /// stress unicode import).
    #[arg(long = "dir", value_name = "DIR")]
    pub dirs: Vec<String>,
    /// Run only the tests whose path (e.g. `basics/gc1.py`) matches a regex.
    #[arg(long, value_name = "REGEX")]
    pub include: Vec<String>,
    /// Tests run at the same time.
    #[arg(long, short, default_value_t = 2)]
    pub jobs: usize,
    /// Where the JSON report goes.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Test this command module instead of the one `cargo xtask build` makes.
    #[arg(long, value_name = "WASM")]
    pub module: Option<PathBuf>,
}

/// One configuration the suite runs under.
struct Target {
    name: &'static str,
    mode: Mode,
    /// Command prefix that runs MicroPython with the test's arguments.
    command: Vec<String>,
}

pub fn run(args: &ConformanceArgs) -> Result<()> {
    let torture = args.torture || args.all;
    let bench = args.perfbench || args.all;
    let built = build::run(&args.build)?;
    let wasm = match &args.module {
        Some(module) => fs::canonicalize(module).with_context(|| format!("finding {}", module.display()))?,
        None => built.command_module().to_path_buf(),
    };
    let native = native::build(&built.source, &args.build.variant).context("building the native reference")?;
    eprintln!("native reference: {}", native.display());

    let work_dir = project::build_root().join("conformance");
    // One run at a time: each stages its copies of the tests and its results here.
    let _lock = dirlock::lock(&work_dir)?;
    let runner = work_dir.join("runner.mjs");
    fs::write(&runner, include_str!("runner.mjs"))?;
    let node = |extra: &[&str]| -> Vec<String> {
        let mut command: Vec<String> = vec!["node".into(), "--no-warnings".into(), path_arg(&runner), path_arg(&wasm)];
        command.extend(extra.iter().map(|arg| arg.to_string()));
        command
    };
    let exe = |extra: &[&str]| -> Vec<String> {
        let mut command = vec![path_arg(&native)];
        command.extend(extra.iter().map(|arg| arg.to_string()));
        command
    };
    // gcthreshold=1: as gc.threshold(1), a collection before every allocation.
    // In the unix port's 64-bit default heap (2 MiB) rather than our 8 MiB:
    // every collection sweeps the whole heap, so this is 15× quicker on
    // allocation-heavy tests (micropython/extreme_exc.py: 4 min natively in
    // 8 MiB, 15 s in 2 MiB), and a fuller heap is the harsher test.
    let torture_flag = ["-X", "gcthreshold=1", "-X", "heapsize=2m"];
    let mut targets = vec![
        Target { name: "native", mode: Mode::Normal, command: exe(&[]) },
        Target { name: "wasm", mode: Mode::Normal, command: node(&[]) },
    ];
    if torture {
        targets.push(Target { name: "native-torture", mode: Mode::Torture, command: exe(&torture_flag) });
        targets.push(Target { name: "wasm-torture", mode: Mode::Torture, command: node(&torture_flag) });
    }

    let source_tests = built.source.root.join("tests");
    let dirs: Vec<String> =
        if args.dirs.is_empty() { TEST_DIRS.iter().map(|dir| dir.to_string()).collect() } else { args.dirs.clone() };
    let excluded = suite::unittest_tests(&source_tests, &dirs)?;
    let mut filters: Vec<(bool, String)> = args.include.iter().map(|regex| (true, regex.clone())).collect();
    filters.extend(excluded.iter().map(|test| (false, format!("^{}$", suite::regex_escape(test)))));

    let mut runs: Vec<(&str, Mode, suite::SuiteRun)> = Vec::new();
    for target in &targets {
        let target_dir = work_dir.join(target.name);
        let tests_dir = stage_tests(&built.source.root, &target_dir)?;
        let script = target_dir.join("micropython.sh");
        write_launcher(&script, &target.command)?;
        let timeout = if target.mode == Mode::Torture { 300 } else { 60 };
        let results_dir = work_dir.join("results").join(target.name);
        let job = SuiteJob {
            tests_dir: &tests_dir,
            executable: &script,
            dirs: &dirs,
            filters: &filters,
            jobs: args.jobs,
            timeout,
            results_dir: &results_dir,
        };
        let mut run = suite::run(&job).with_context(|| format!("running the suite on {}", target.name))?;
        let reference = runs.iter().find(|(name, mode, _)| *mode == target.mode && name.starts_with("native"));
        if let (true, Some((_, _, reference))) = (target.name.starts_with("wasm"), reference) {
            let passed = suite::retry_failures(&job, &mut run, reference)?;
            if passed > 0 {
                eprintln!("{:>15}: {passed} failing test(s) passed when run again alone", target.name);
            }
        }
        match &run.error {
            Some(error) => eprintln!("{:>15}: {error}", target.name),
            None => eprintln!(
                "{:>15}: {} passed, {} failed, {} skipped in {:.0}s",
                target.name,
                run.count(suite::Status::Pass),
                run.count(suite::Status::Fail),
                run.count(suite::Status::Skip),
                run.seconds
            ),
        }
        runs.push((target.name, target.mode, run));
    }

    let bench_results = if bench {
        let outcomes = perfbench::run(&perfbench::BenchJob {
            tests_dir: &source_tests,
            wasm: &node(&[]),
            native: &exe(&[]),
            heap_size: BENCH_HEAP,
            jobs: args.jobs,
            timeout: Duration::from_secs(600),
        })?;
        let same = outcomes.iter().filter(|outcome| outcome.same_as_native).count();
        eprintln!(
            "{:>15}: {same} of {} programs give native's result with a {BENCH_HEAP} heap",
            "perf_bench",
            outcomes.len()
        );
        Some(outcomes)
    } else {
        None
    };

    let skips = skips::load(&project::repo_root().join("micropython/conformance-skips.toml"))?;
    let report = report::Report::new(&report::Inputs {
        built: &built,
        wasm: &wasm,
        native: &native,
        dirs: &dirs,
        excluded: &excluded,
        runs: &runs,
        skips: &skips,
        perfbench: bench_results,
        results_dir: &work_dir.join("results"),
    })?;
    let report_path = args.report.clone().unwrap_or_else(|| project::dist_root().join("report/conformance.json"));
    report.write(&report_path)?;
    report.print_summary();
    eprintln!("report: {}", report_path.display());
    let problems = report.problems();
    if !problems.is_empty() {
        bail!("conformance failed:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

/// Tests write scratch files and folders beside themselves, and one left
/// behind by a crash makes the next run skip that test. So every run gets a
/// fresh copy of `tests/` in `dir`, beside links to the rest of the
/// (read-only, cached) source tree that run-tests.py reaches through `../`.
fn stage_tests(source_root: &Path, dir: &Path) -> Result<PathBuf> {
    let root = dir.join("micropython");
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    fs::create_dir_all(&root)?;
    for entry in fs::read_dir(source_root).with_context(|| format!("listing {}", source_root.display()))? {
        let entry = entry?;
        let target = root.join(entry.file_name());
        if entry.file_name() == "tests" {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::os::unix::fs::symlink(entry.path(), &target)
                .with_context(|| format!("linking {}", target.display()))?;
        }
    }
    Ok(root.join("tests"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// run-tests.py starts one executable: a shell script that runs `command`
/// with the arguments it is given.
fn write_launcher(path: &Path, command: &[String]) -> Result<()> {
    let quoted: Vec<String> = command.iter().map(|arg| format!("'{}'", arg.replace('\'', r"'\''"))).collect();
    fs::write(path, format!("#!/bin/sh\nexec {} \"$@\"\n", quoted.join(" ")))?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}
