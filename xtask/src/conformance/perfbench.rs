//! Every program of MicroPython's `tests/perf_bench` under a small heap, the
//! way `run-perfbench.py` assembles and runs them, in wasm and natively. A
//! 1 MiB heap makes the collector run constantly inside deep C call chains,
//! where a root it cannot see becomes a trap or a wrong result.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::suite::Failure;

/// run-perfbench.py's N (target MHz) and M (heap in KiB) for a PC, which pick
/// each program's largest parameter set: what upstream's CI runs.
const PARAM_N: u32 = 1000;
const PARAM_M: u32 = 1000;

pub struct BenchJob<'a> {
    pub tests_dir: &'a Path,
    /// Command prefixes that run a MicroPython program read from stdin.
    pub wasm: &'a [String],
    pub native: &'a [String],
    pub heap_size: &'a str,
    pub jobs: usize,
    pub timeout: Duration,
}

/// One program's run on one target.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRun {
    /// The program's result line (what must match), or why there is none.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The timed part, as the program measured it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_us: Option<u64>,
    pub wall_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchOutcome {
    pub program: String,
    pub skipped: bool,
    pub wasm: BenchRun,
    pub native: BenchRun,
    /// CPython's result or the `.exp` file's.
    pub truth: String,
    /// wasm gave native's result, and native gave the truth.
    pub same_as_native: bool,
}

pub fn run(job: &BenchJob) -> Result<Vec<BenchOutcome>> {
    let bench_dir = job.tests_dir.join("perf_bench");
    let mut programs: Vec<PathBuf> = fs::read_dir(&bench_dir)
        .with_context(|| format!("listing {}", bench_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "py") && !path.ends_with("benchrun.py"))
        .collect();
    programs.sort();
    let harness = fs::read_to_string(bench_dir.join("benchrun.py"))?;
    let native_check = fs::read_to_string(job.tests_dir.join("feature_check/native_check.py"))?;
    let has_native_emitter =
        run_program(job.wasm, &["-".to_owned()], &native_check, job.timeout)?.stdout.trim() == "native";

    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let progress = crate::progress::bar(programs.len() as u64, "perf_bench");
    std::thread::scope(|scope| {
        for _ in 0..job.jobs.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(program) = programs.get(index) else { break };
                match bench_one(job, program, &harness, has_native_emitter) {
                    Ok(outcome) => outcomes.lock().expect("no panics while locked").push(outcome),
                    Err(err) => errors.lock().expect("no panics while locked").push(format!("{err:#}")),
                }
                progress.inc(1);
            });
        }
    });
    progress.finish_and_clear();
    let errors = errors.into_inner().expect("threads joined");
    if let Some(first) = errors.first() {
        anyhow::bail!("{} perf_bench programs could not be run; first: {first}", errors.len());
    }
    let mut outcomes = outcomes.into_inner().expect("threads joined");
    outcomes.sort_by(|a, b| a.program.cmp(&b.program));
    Ok(outcomes)
}

fn bench_one(job: &BenchJob, program: &Path, harness: &str, has_native_emitter: bool) -> Result<BenchOutcome> {
    let name = format!("perf_bench/{}", program.file_name().expect("a file").to_string_lossy());
    let source = fs::read_to_string(program)?;
    let script = format!("import sys\nsys.path.remove('')\n\n{source}{harness}bm_run({PARAM_N}, {PARAM_M})\n");
    let heap = ["-X".to_owned(), format!("heapsize={}", job.heap_size), "-".to_owned()];

    // As run-perfbench.py: viper programs need the native emitter.
    let skipped = !has_native_emitter && name.contains("viper_");
    let (wasm, native) = if skipped {
        let skip = BenchRun { result: "SKIP".into(), failure: None, time_us: None, wall_seconds: 0.0 };
        (skip.clone(), skip)
    } else {
        (
            bench_run(&run_program(job.wasm, &heap, &script, job.timeout)?),
            bench_run(&run_program(job.native, &heap, &script, job.timeout)?),
        )
    };
    let expected = program.with_extension("py.exp");
    let truth = if skipped {
        "SKIP".to_owned()
    } else if expected.is_file() {
        fs::read_to_string(&expected)?.trim().to_owned()
    } else {
        let cpython = ["python3".to_owned(), "-BS".to_owned()];
        bench_run(&run_program(&cpython, &[], &script, job.timeout)?).result
    };
    let same_as_native = skipped || (wasm.failure.is_none() && wasm.result == native.result && native.result == truth);
    Ok(BenchOutcome { program: name, skipped, wasm, native, truth, same_as_native })
}

/// Reads `TIME NORM RESULT`, the last line benchrun.py prints (or `SKIP`).
fn bench_run(run: &ProgramRun) -> BenchRun {
    let last_line = run.stdout.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("").trim();
    let failure = if run.timed_out {
        Some(Failure::Timeout)
    } else if run.stderr.contains("[wasm trap]") {
        Some(Failure::Trap)
    } else if !run.success {
        Some(Failure::Crash)
    } else {
        None
    };
    let mut fields = last_line.splitn(3, ' ');
    let (time, norm, result) = (fields.next(), fields.next(), fields.next());
    let measured = time.and_then(|t| t.parse::<i64>().ok()).zip(norm.and_then(|n| n.parse::<i64>().ok()));
    match (failure, measured) {
        (None, Some((time, _))) => BenchRun {
            result: result.unwrap_or("").trim().to_owned(),
            failure: None,
            time_us: u64::try_from(time).ok(),
            wall_seconds: run.seconds,
        },
        (None, None) if last_line == "SKIP" => {
            BenchRun { result: "SKIP".into(), failure: None, time_us: None, wall_seconds: run.seconds }
        }
        (failure, _) => BenchRun {
            result: format!("{last_line}{}", run.stderr.lines().last().map(|l| format!(" | {l}")).unwrap_or_default()),
            failure: Some(failure.unwrap_or(Failure::WrongOutput)),
            time_us: None,
            wall_seconds: run.seconds,
        },
    }
}

struct ProgramRun {
    stdout: String,
    stderr: String,
    success: bool,
    timed_out: bool,
    seconds: f64,
}

/// Runs `prefix ARGS` with `stdin` as its input, killing it after `timeout`.
fn run_program(prefix: &[String], args: &[String], stdin: &str, timeout: Duration) -> Result<ProgramRun> {
    let started = Instant::now();
    let (program, prefix_args) = prefix.split_first().expect("a command");
    let mut child = Command::new(program)
        .args(prefix_args)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let mut input = child.stdin.take().expect("piped");
    let text = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        stdout.read_to_end(&mut buffer).map(|_| buffer)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        stderr.read_to_end(&mut buffer).map(|_| buffer)
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > timeout {
            child.kill()?;
            child.wait()?;
            timed_out = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // A program that exits without reading all of stdin closes the pipe early.
    let _ = writer.join().expect("writer does not panic");
    let stdout = out_reader.join().expect("reader does not panic")?;
    let stderr = err_reader.join().expect("reader does not panic")?;
    Ok(ProgramRun {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        success: status.is_some_and(|status| status.success()),
        timed_out,
        seconds: started.elapsed().as_secs_f64(),
    })
}
