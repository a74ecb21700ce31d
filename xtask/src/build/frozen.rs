//! Frozen Python modules: MicroPython manifests (the port's, then the
//! user's) compiled by mpy-cross and turned into C by
//! tools/makemanifest.py against this build's qstr table.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::genhdr::write_if_changed;

pub struct FreezeJob<'a> {
    pub source_root: &'a Path,
    pub port_dir: &'a Path,
    pub build_dir: &'a Path,
    /// The port's manifest, always executed first.
    pub manifest: &'a Path,
    pub mpy_cross: &'a Path,
}

impl FreezeJob<'_> {
    /// The port's manifest, then the user's: makemanifest.py executes them
    /// in order into one manifest, as it does for a board's list.
    fn manifests<'a>(&'a self, user_manifest: Option<&'a Path>) -> Vec<&'a Path> {
        std::iter::once(self.manifest).chain(user_manifest).collect()
    }
}

/// One file a manifest freezes.
#[derive(Debug, Clone, Deserialize)]
pub struct FrozenFile {
    /// Which manifest listed it: 0 for the port's, 1 for the user's.
    pub manifest: usize,
    pub source: PathBuf,
    /// Its path in the frozen filesystem, e.g. `app/util.py`.
    pub target: String,
    pub kind: FrozenKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrozenKind {
    /// Python source, compiled to bytecode by mpy-cross.
    Py,
    /// Bytecode compiled elsewhere.
    Mpy,
    /// Source text frozen as a string.
    Str,
}

impl FrozenFile {
    /// The top-level module or package this file belongs to: what an
    /// `import` statement names first.
    pub fn top_level_name(&self) -> &str {
        let first = self.target.split('/').next().unwrap_or(&self.target);
        first.strip_suffix(".py").or_else(|| first.strip_suffix(".mpy")).unwrap_or(first)
    }

    /// Where makemanifest.py puts the bytecode of a `.py` file.
    pub fn compiled_path(&self, build_dir: &Path) -> PathBuf {
        let stem = self.target.strip_suffix(".py").unwrap_or(&self.target);
        build_dir.join("frozen_mpy").join(format!("{stem}.mpy"))
    }
}

/// Every file the manifests freeze, by MicroPython's own manifest
/// semantics, without compiling anything.
pub fn list(job: &FreezeJob, user_manifest: Option<&Path>) -> Result<Vec<FrozenFile>> {
    let script = job.build_dir.join("list_manifest.py");
    write_if_changed(&script, include_str!("list_manifest.py").as_bytes())?;
    let vars = path_vars(job);
    let output = Command::new("python3")
        .current_dir(job.source_root)
        .arg(&script)
        .args(vars.iter().map(|(_, path)| path))
        .args(job.manifests(user_manifest))
        .output()
        .context("running python3 to read the manifests")?;
    if !output.status.success() {
        bail!("reading the frozen manifests: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    serde_json::from_slice(&output.stdout).context("reading the manifest listing")
}

/// Writes `frozen_content.c` for the port's manifest alone.
pub fn freeze(job: &FreezeJob) -> Result<PathBuf> {
    freeze_with(job, None)
}

/// Writes `frozen_content.c` in the build folder (only when its content
/// changes) and returns its path.
pub fn freeze_with(job: &FreezeJob, user_manifest: Option<&Path>) -> Result<PathBuf> {
    let output = job.build_dir.join("frozen_content.c");
    let temp = job.build_dir.join("frozen_content.c.new");
    // makemanifest.py reuses a .mpy newer than its source, even when the
    // optimisation level changed or the module left the manifest; compiling
    // afresh is milliseconds, and frozen_content.c is only replaced (and so
    // recompiled) when it changes.
    let compiled = job.build_dir.join("frozen_mpy");
    if compiled.exists() {
        fs::remove_dir_all(&compiled).with_context(|| format!("clearing {}", compiled.display()))?;
    }
    let mut command = Command::new("python3");
    command
        .current_dir(job.source_root)
        .arg(job.source_root.join("tools/makemanifest.py"))
        .arg("-o")
        .arg(&temp)
        .arg("-b")
        .arg(job.build_dir);
    for (name, path) in path_vars(job) {
        command.arg("-v").arg(format!("{name}={}", path.display()));
    }
    let manifests = job.manifests(user_manifest);
    let result = command
        .args(&manifests)
        .env("MICROPY_MPYCROSS", job.mpy_cross)
        .env("GIT_CEILING_DIRECTORIES", job.source_root.parent().unwrap_or(job.source_root))
        .output()
        .context("running tools/makemanifest.py")?;
    if !result.status.success() {
        bail!(
            "freezing {} failed:\n{}{}",
            manifests.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(" and "),
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let content = fs::read(&temp).with_context(|| format!("reading {}", temp.display()))?;
    fs::remove_file(&temp)?;
    write_if_changed(&output, &content)?;
    Ok(output)
}

/// The `$(NAME)` variables manifests may use, in the order
/// list_manifest.py takes them.
fn path_vars(job: &FreezeJob) -> [(&'static str, PathBuf); 3] {
    [
        ("MPY_DIR", job.source_root.to_path_buf()),
        ("MPY_LIB_DIR", job.source_root.join("lib/micropython-lib")),
        ("PORT_DIR", job.port_dir.to_path_buf()),
    ]
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

/// The manifest for a configuration that lists files rather than naming a
/// manifest: `module()` and `package()` calls, written into the build
/// folder. Paths are JSON strings, which Python reads as the same strings.
pub fn listed_manifest(
    modules: &[PathBuf],
    packages: &[PathBuf],
    opt: Option<u8>,
    build_dir: &Path,
) -> Result<PathBuf> {
    let opt = opt.map_or_else(String::new, |level| format!(", opt={level}"));
    let quoted = |text: &str| serde_json::to_string(text).expect("strings always serialise");
    let mut text = String::from("# Written by cargo xtask from the [frozen] lists of the build configuration.\n");
    for (function, path) in
        modules.iter().map(|path| ("module", path)).chain(packages.iter().map(|path| ("package", path)))
    {
        let name = path.file_name().context("a frozen path names a file or folder")?.to_string_lossy();
        let base = path.parent().context("a frozen path has a parent folder")?.to_string_lossy();
        text.push_str(&format!("{function}({}, base_path={}{opt})\n", quoted(&name), quoted(&base)));
    }
    let manifest = build_dir.join("user-manifest.py");
    write_if_changed(&manifest, text.as_bytes())?;
    Ok(manifest)
}
