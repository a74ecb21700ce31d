//! The hosts a program runs under: native MicroPython, our modules under
//! wasmtime (in-process, with and without fuel) and Node, upstream's npm
//! build under Node, and the Rust bundle's CLI when it has been built.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

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
    /// Upstream's package folder, under Node.
    Upstream(PathBuf),
    /// The Rust bundle's CLI (wasmtime with its code cache), metering fuel
    /// when the flag is set.
    RustCli {
        binary: PathBuf,
        fuel: bool,
    },
}

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
            HostKind::RustCli { fuel: true, .. } => return Ok(None),
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
            HostKind::Wasmtime(_) => return Ok(None),
        };
        let started = Instant::now();
        let out = command.output().with_context(|| format!("starting {command:?}"))?;
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != "1" {
            bail!("{}: print(1) failed: {}", self.name, String::from_utf8_lossy(&out.stderr));
        }
        Ok(Some(elapsed))
    }

    /// Milliseconds of `runs` loads-and-runs of `print(1)` inside one warm
    /// process, or `None` where the host has no in-process form.
    pub fn warm_starts(&self, runs: usize) -> Result<Option<Vec<f64>>> {
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
            HostKind::Native(_) | HostKind::RustCli { .. } => return Ok(None),
        };
        let out = command.output().with_context(|| format!("starting {command:?}"))?;
        if !out.status.success() {
            bail!("{}: warm runs failed ({}): {}", self.name, out.status, String::from_utf8_lossy(&out.stderr));
        }
        Ok(Some(serde_json::from_slice(&out.stdout).context("reading node-host.mjs's timings")?))
    }
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
