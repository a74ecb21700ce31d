//! The Python bundle (`dist/python/`): a wheel and an sdist of the
//! `micropython-wasm` distribution, whose sources live in `hosts/python/`.
//!
//! The package is copied into a build folder with the generated pieces
//! added (the exnref library module as `artifacts/micropython-wasi.wasm`,
//! the API constants as `_abi.py`, MicroPython's licence, the versions),
//! then built by the standard PEP 517 front-end (`python -m build`) with
//! hatchling, both pinned and installed by `cargo xtask setup`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::abi::{self, Api};
use super::checksums::Checksums;
use super::staging::Staging;
use crate::build::BuildOutput;
use crate::postprocess::Provenance;
use crate::{project, toolchain};

/// The distribution's own version; the MicroPython version is in its description.
pub const PACKAGE_VERSION: &str = "0.2.0";
/// Where the package's sources live in this repository.
const SOURCE_DIR: &str = "hosts/python";
/// Files of the source folder that are not part of the package.
const NOT_PACKAGED: &[&str] =
    &[".gitignore", "requirements-tools.txt", "__pycache__", "_abi.py", "_artifact.py", "artifacts"];
const MODULE_PATH: &str = "src/micropython_wasm/artifacts/micropython-wasi.wasm";
/// Wheels and sdists record file times: a fixed one (1980-01-01, the
/// earliest a zip can hold) makes the same inputs give the same bytes.
const SOURCE_DATE_EPOCH: &str = "315532800";

/// Stages `dist/python/`: the wheel, the sdist, the README, checksums and provenance.
pub fn write_bundle(build: &BuildOutput, api: &Api, dist: &Path) -> Result<Staging> {
    let python = toolchain::python::tools_python()?;
    let staging = Staging::new(&dist.join("python"))?;
    let work = tempfile::tempdir().context("creating a folder to build the wheel in")?;
    let tree = work.path().join("micropython-wasm");
    copy_sources(&project::repo_root().join(SOURCE_DIR), &tree)?;
    let fill = |text: String| {
        text.replace("{{version}}", PACKAGE_VERSION).replace("{{micropython_version}}", &build.source.version)
    };
    for file in ["pyproject.toml", "README.md"] {
        let path = tree.join(file);
        let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        fs::write(&path, fill(text))?;
    }
    let library = build.exnref_modules.get("library").context("the port builds no `library` module for Python")?;
    let module = fs::read(library).with_context(|| format!("reading {}", library.display()))?;
    write(&tree.join(MODULE_PATH), &module)?;
    write(&tree.join("src/micropython_wasm/_abi.py"), abi::python_constants(api).as_bytes())?;
    write(&tree.join("src/micropython_wasm/_artifact.py"), artifact_record(&module).as_bytes())?;
    // The module is MicroPython: its licence travels with it.
    let licence = build.source.root.join("LICENSE");
    fs::copy(&licence, tree.join("LICENSE")).with_context(|| format!("copying {}", licence.display()))?;

    let built = work.path().join("built");
    let output = Command::new(&python)
        .args(["-m", "build", "--no-isolation", "--outdir"])
        .arg(&built)
        .arg(&tree)
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .output()
        .with_context(|| format!("running {} -m build", python.display()))?;
    if !output.status.success() {
        bail!(
            "building the Python wheel failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let mut sums = Checksums::new(staging.path());
    let mut artifacts: Vec<PathBuf> =
        fs::read_dir(&built)?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    artifacts.sort();
    let wheels = artifacts.iter().filter(|path| path.extension().is_some_and(|ext| ext == "whl")).count();
    if wheels != 1 || artifacts.len() != 2 {
        bail!("python -m build made {artifacts:?}; expected one wheel and one sdist");
    }
    for artifact in &artifacts {
        let name = artifact.file_name().expect("build outputs are files").to_string_lossy();
        sums.write(&name, &fs::read(artifact)?)?;
    }
    fs::copy(tree.join("README.md"), staging.path().join("README.md"))?;
    let provenance =
        Provenance::read(&module)?.with_context(|| format!("{} has no provenance section", library.display()))?;
    sums.finish(&provenance)?;
    Ok(staging)
}

/// `_artifact.py`: the packaged module's sha256 (the compiled-code cache's
/// key), size and CRC-32, so that a process confirms it has that module
/// without loading a sha256 implementation.
fn artifact_record(module: &[u8]) -> String {
    format!(
        "# The packaged module, recorded by `cargo xtask dist`. Do not edit.\n\
         SHA256 = \"{}\"\nSIZE = {}\nCRC32 = {}\n",
        hex::encode(Sha256::digest(module)),
        module.len(),
        crc32fast::hash(module)
    )
}

/// Copies the package's sources, leaving out what the build generates.
fn copy_sources(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if NOT_PACKAGED.iter().any(|skip| name == *skip) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_sources(&path, &to.join(&name))?;
        } else {
            fs::copy(&path, to.join(&name)).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(path.parent().expect("package files live in the package folder"))?;
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
