//! The Python tools xtask runs: the wheel's build front-end and back-end,
//! pytest, and wasmtime for the tests and the benchmark, pinned in
//! `hosts/python/requirements-tools.txt` and installed with pip into a
//! virtual environment of their own in the cache, never into the user's
//! Python. The benchmark builds its own environments the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::project;

/// The pinned tool list, relative to the repository.
pub const REQUIREMENTS: &str = "hosts/python/requirements-tools.txt";

/// The tools environment's Python, installing the environment first if it
/// is missing.
pub fn tools_python() -> Result<PathBuf> {
    let requirements = project::repo_root().join(REQUIREMENTS);
    let pinned = std::fs::read(&requirements).with_context(|| format!("reading {}", requirements.display()))?;
    let venv = venv("venv", &pinned, &format!("the Python tools ({REQUIREMENTS})"), |staging| {
        run(pip(&python_in(staging)).arg("install").arg("-r").arg(&requirements)).with_context(|| {
            format!(
                "installing the Python tools with pip failed (is PyPI reachable?); the list is {}",
                requirements.display()
            )
        })
    })?;
    Ok(python_in(&venv))
}

/// The folder of a virtual environment in the cache,
/// `python/<name>-<hash of key>`, made by `install` if it is missing.
/// `install` gets a fresh environment in a temporary folder, renamed into
/// place once it succeeds, so a failed install never leaves one that looks
/// ready; a change to `key` (a pin list, a wheel) makes a new environment.
pub fn venv(name: &str, key: &[u8], what: &str, install: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    let digest = hex::encode(Sha256::digest(key));
    let root = project::cache_root().join("python");
    let venv = root.join(format!("{name}-{}", &digest[..16]));
    if python_in(&venv).is_file() {
        return Ok(venv);
    }
    let host = super::which("python3").context("python3 is missing; install it (apt-get install -y python3)")?;
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".venv-staging-")
        .tempdir_in(&root)
        .with_context(|| format!("creating a folder in {}", root.display()))?;
    eprintln!("installing {what} into {}", venv.display());
    run(Command::new(&host).args(["-m", "venv"]).arg(staging.path())).context(
        "creating a Python virtual environment failed; on Debian, install the venv module: apt-get install -y python3-venv",
    )?;
    install(staging.path())?;
    let staged = staging.keep();
    if let Err(err) = std::fs::rename(&staged, &venv) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another run may have installed the same environment meanwhile.
        if !python_in(&venv).is_file() {
            return Err(err).with_context(|| format!("moving the environment to {}", venv.display()));
        }
    }
    Ok(venv)
}

/// The Python of the virtual environment in `venv`.
pub fn python_in(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

/// `python -m pip`, quiet, without its version check; the subcommand and
/// its arguments follow.
pub fn pip(python: &Path) -> Command {
    let mut command = Command::new(python);
    command.args(["-m", "pip", "--quiet", "--disable-pip-version-check"]);
    command
}

/// Runs `command`, failing with the last lines it wrote to stderr.
pub fn run(command: &mut Command) -> Result<()> {
    let out = command.output().with_context(|| format!("running {command:?}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
        bail!("{command:?} exited with {}: {}", out.status, lines[lines.len().saturating_sub(3)..].join(" / "));
    }
    Ok(())
}
