//! Frozen Python modules: a MicroPython manifest compiled by mpy-cross and
//! turned into C by tools/makemanifest.py against this build's qstr table.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::genhdr::write_if_changed;

pub struct FreezeJob<'a> {
    pub source_root: &'a Path,
    pub port_dir: &'a Path,
    pub build_dir: &'a Path,
    pub manifest: &'a Path,
    pub mpy_cross: &'a Path,
}

/// Writes `frozen_content.c` in the build folder (only when its content
/// changes) and returns its path.
pub fn freeze(job: &FreezeJob) -> Result<PathBuf> {
    let output = job.build_dir.join("frozen_content.c");
    let temp = job.build_dir.join("frozen_content.c.new");
    let var = |name: &str, path: &Path| format!("{name}={}", path.display());
    let result = Command::new("python3")
        .current_dir(job.source_root)
        .arg(job.source_root.join("tools/makemanifest.py"))
        .arg("-o")
        .arg(&temp)
        .arg("-b")
        .arg(job.build_dir)
        .args(["-v", &var("MPY_DIR", job.source_root)])
        .args(["-v", &var("MPY_LIB_DIR", &job.source_root.join("lib/micropython-lib"))])
        .args(["-v", &var("PORT_DIR", job.port_dir)])
        .arg(job.manifest)
        .env("MICROPY_MPYCROSS", job.mpy_cross)
        .env("GIT_CEILING_DIRECTORIES", job.source_root.parent().unwrap_or(job.source_root))
        .output()
        .context("running tools/makemanifest.py")?;
    if !result.status.success() {
        bail!(
            "freezing {} failed:\n{}{}",
            job.manifest.display(),
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let content = fs::read(&temp).with_context(|| format!("reading {}", temp.display()))?;
    fs::remove_file(&temp)?;
    write_if_changed(&output, &content)?;
    Ok(output)
}

/// sha256 of every frozen `.mpy` in the build, by its path below
/// `frozen_mpy/`, for provenance.
pub fn frozen_module_hashes(build_dir: &Path) -> Result<BTreeMap<String, String>> {
    let root = build_dir.join("frozen_mpy");
    let mut hashes = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "mpy") {
                let name = path.strip_prefix(&root).expect("walked from root").to_string_lossy().into_owned();
                hashes.insert(name, hex::encode(Sha256::digest(fs::read(&path)?)));
            }
        }
    }
    Ok(hashes)
}
