//! The Python tools xtask runs: the wheel's build front-end and back-end,
//! pytest, and wasmtime for the tests and the benchmark, pinned in
//! `hosts/python/requirements-tools.txt` and installed with pip into a
//! virtual environment of their own in the cache, never into the user's
//! Python.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::project;

/// The pinned tool list, relative to the repository.
pub const REQUIREMENTS: &str = "hosts/python/requirements-tools.txt";

/// The environment's Python, installing the environment first if it is
/// missing. An environment is keyed by the requirements' hash and built in
/// a temporary folder renamed into place, so a failed install never leaves
/// one that looks ready.
pub fn tools_python() -> Result<PathBuf> {
    let requirements = project::repo_root().join(REQUIREMENTS);
    let pinned = std::fs::read(&requirements).with_context(|| format!("reading {}", requirements.display()))?;
    let digest = hex::encode(Sha256::digest(&pinned));
    let root = project::cache_root().join("python");
    let venv = root.join(format!("venv-{}", &digest[..16]));
    let python = venv.join("bin/python");
    if python.is_file() {
        return Ok(python);
    }
    let host = super::which("python3").context("python3 is missing; install it (apt-get install -y python3)")?;
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".venv-staging-")
        .tempdir_in(&root)
        .with_context(|| format!("creating a folder in {}", root.display()))?;
    eprintln!("installing the Python tools ({REQUIREMENTS}) into {}", venv.display());
    run(Command::new(&host).args(["-m", "venv"]).arg(staging.path())).context(
        "creating a Python virtual environment failed; on Debian, install the venv module: apt-get install -y python3-venv",
    )?;
    run(Command::new(staging.path().join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))
    .with_context(|| {
        format!("installing the Python tools with pip failed (is PyPI reachable?); the list is {}", requirements.display())
    })?;
    let staged = staging.keep();
    if let Err(err) = std::fs::rename(&staged, &venv) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another run may have installed the same environment meanwhile.
        if !python.is_file() {
            return Err(err).with_context(|| format!("moving the environment to {}", venv.display()));
        }
    }
    Ok(python)
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} exited with {status}");
    }
    Ok(())
}
