//! The port's own description of what to compile (`ports/<port>/port.toml`)
//! and the variant chosen for this build.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortFile {
    sources: SourcesSection,
    /// MicroPython file (relative to its tree) → unified diff (relative to
    /// the port) applied to a copy of it.
    #[serde(default)]
    patches: BTreeMap<String, String>,
    link: LinkSection,
    artifacts: BTreeMap<String, Artifact>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesSection {
    micropython: Vec<String>,
    port: Vec<String>,
}

/// `text` with the unified diff `diff` applied; every hunk must match.
fn apply_patch(text: &str, diff: &str) -> Result<String> {
    let patch = diffy::Patch::from_str(diff).map_err(|err| anyhow::anyhow!("not a unified diff: {err}"))?;
    if patch.hunks().is_empty() {
        bail!("not a unified diff: it has no hunks");
    }
    diffy::apply(text, &patch).map_err(|err| anyhow::anyhow!("{err}"))
}

/// Link-time settings shared by every artifact.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    pub stack_size: u32,
    /// Symbols whose callers the linker routes to `__wrap_<name>`.
    #[serde(default)]
    pub wrap: Vec<String>,
    /// Port files compiled to regular objects even when the profile links
    /// the whole program with LTO.
    #[serde(default)]
    pub outside_lto: Vec<String>,
}

impl LinkSection {
    /// The linker flags (through the compiler driver) for `wrap` and an
    /// artifact's own `extra` symbols.
    pub fn wrap_flags(&self, extra: &[String]) -> Vec<std::ffi::OsString> {
        self.wrap.iter().chain(extra).map(|symbol| format!("-Wl,--wrap={symbol}").into()).collect()
    }
}

/// How WASI starts a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecModel {
    /// `_start` runs main() once.
    Command,
    /// `_initialize`, then the host calls exports as often as it likes.
    Reactor,
}

/// One wasm module the port produces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub output: String,
    pub exec_model: ExecModel,
    /// Port files compiled for this artifact only (with its defines).
    pub sources: Vec<String>,
    #[serde(default)]
    pub defines: Vec<String>,
    /// Host functions the module may import, as "module.name".
    #[serde(default)]
    pub host_imports: Vec<String>,
    /// The module's complete export list.
    pub exports: Vec<String>,
    /// A world of the port's WIT package (`wit/`) this module implements:
    /// its canonical-ABI glue is generated and compiled in.
    #[serde(default)]
    pub wit_world: Option<String>,
    /// Symbols routed to `__wrap_<name>` in this module only (besides
    /// `[link] wrap`).
    #[serde(default)]
    pub wrap: Vec<String>,
}

/// A port with one variant selected, its paths resolved.
#[derive(Debug, Clone)]
pub struct Port {
    pub dir: PathBuf,
    pub variant: String,
    pub variant_dir: PathBuf,
    pub link: LinkSection,
    pub artifacts: BTreeMap<String, Artifact>,
    micropython_patterns: Vec<String>,
    patches: BTreeMap<String, String>,
    port_sources: Vec<String>,
}

impl Port {
    pub fn load(dir: &Path, variant: &str) -> Result<Port> {
        let manifest = dir.join("port.toml");
        let text = fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
        let parsed: PortFile = toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
        let variant_dir = dir.join("variants").join(variant);
        if !variant_dir.join("mpconfigvariant.h").is_file() {
            bail!("unknown variant `{variant}`; available: {}", Port::variants(dir)?.join(", "));
        }
        Ok(Port {
            dir: dir.to_path_buf(),
            variant: variant.to_owned(),
            variant_dir,
            link: parsed.link,
            artifacts: parsed.artifacts,
            micropython_patterns: parsed.sources.micropython,
            patches: parsed.patches,
            port_sources: parsed.sources.port,
        })
    }

    /// Names of the variants this port defines, sorted.
    pub fn variants(dir: &Path) -> Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(dir.join("variants"))
            .with_context(|| format!("listing {}/variants", dir.display()))?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().join("mpconfigvariant.h").is_file())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The MicroPython files to compile, expanded and sorted so the link
    /// order (and so the output bytes) never depends on directory order. A
    /// file the port patches is replaced by its patched copy, written under
    /// `patched_root` at the same relative path (the fetched tree stays as
    /// verified); compile with `patched_root` mapped to the tree's name.
    pub fn micropython_sources(&self, source_root: &Path, patched_root: &Path) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for pattern in &self.micropython_patterns {
            files.extend(expand(source_root, pattern)?);
        }
        files.sort();
        files.dedup();
        for (target, patch) in &self.patches {
            let original = source_root.join(target);
            let slot = files
                .iter_mut()
                .find(|file| **file == original)
                .with_context(|| format!("port.toml patches {target}, which is not among the files it compiles"))?;
            *slot = self.patched_copy(&original, &patched_root.join(target), patch)?;
        }
        Ok(files)
    }

    /// Writes `original` with `patch` applied to `copy`, leaving an
    /// identical copy untouched so the incremental build sees no change.
    fn patched_copy(&self, original: &Path, copy: &Path, patch: &str) -> Result<PathBuf> {
        let patch_path = self.dir.join(patch);
        let diff = fs::read_to_string(&patch_path).with_context(|| format!("reading {}", patch_path.display()))?;
        let text = fs::read_to_string(original).with_context(|| format!("reading {}", original.display()))?;
        let patched = apply_patch(&text, &diff).with_context(|| {
            format!(
                "applying {} to {}: the patch no longer fits this MicroPython; update or drop it",
                patch_path.display(),
                original.display()
            )
        })?;
        if fs::read_to_string(copy).ok().as_deref() != Some(patched.as_str()) {
            fs::create_dir_all(copy.parent().expect("a patched file lives in a folder"))?;
            fs::write(copy, patched).with_context(|| format!("writing {}", copy.display()))?;
        }
        Ok(copy.to_path_buf())
    }

    /// Port files shared by every artifact.
    pub fn port_sources(&self) -> Vec<PathBuf> {
        self.port_sources.iter().map(|name| self.dir.join(name)).collect()
    }

    /// Port files of one artifact.
    pub fn artifact_sources(&self, artifact: &Artifact) -> Vec<PathBuf> {
        artifact.sources.iter().map(|name| self.dir.join(name)).collect()
    }

    /// Every port file, shared or not, once: what the qstr scan reads.
    pub fn all_port_sources(&self) -> Vec<PathBuf> {
        let mut files = self.port_sources();
        files.extend(self.artifacts.values().flat_map(|artifact| self.artifact_sources(artifact)));
        files.sort();
        files.dedup();
        files
    }

    /// The port's WIT package.
    pub fn wit_dir(&self) -> PathBuf {
        self.dir.join("wit")
    }

    pub fn frozen_manifest(&self) -> PathBuf {
        self.variant_dir.join("manifest.py")
    }
}

/// `dir/*.c` lists a folder; anything else names one file that must exist.
fn expand(root: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    if let Some(dir) = pattern.strip_suffix("/*.c") {
        let folder = root.join(dir);
        let mut files: Vec<PathBuf> = fs::read_dir(&folder)
            .with_context(|| format!("listing {} (from the port's source list)", folder.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
            .collect();
        files.sort();
        return Ok(files);
    }
    let file = root.join(pattern);
    if !file.is_file() {
        bail!("{} is listed in the port's sources but is not in the MicroPython tree at {}", pattern, root.display());
    }
    Ok(vec![file])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_port_describes_both_artifacts() {
        let port = Port::load(&crate::project::repo_root().join("ports/wasm"), "standard").unwrap();
        assert_eq!(port.artifacts["command"].exec_model, ExecModel::Command);
        assert_eq!(port.artifacts["library"].exec_model, ExecModel::Reactor);
        assert!(port.artifacts["library"].exports.contains(&"mpwasm_exec".to_owned()));
        for file in port.all_port_sources() {
            assert!(file.is_file(), "{} is listed in port.toml but missing", file.display());
        }
    }

    #[test]
    fn a_patch_applies_hunk_by_hunk_or_names_the_mismatch() {
        let diff = "--- a/f.c\n+++ b/f.c\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n";
        assert_eq!(apply_patch("one\ntwo\nthree\n", diff).unwrap(), "one\nTWO\nthree\n");
        assert!(apply_patch("one\n2\nthree\n", diff).is_err(), "a hunk that no longer fits fails");
        assert!(apply_patch("x\n", "not a diff").is_err());
    }

    /// The port's patches apply to the pinned tree; the copy goes beside it,
    /// the fetched tree is left as verified.
    #[test]
    fn the_port_patches_apply_to_the_pinned_sources() {
        let source = crate::fetch::run(&crate::fetch::FetchArgs::default()).unwrap();
        let port = Port::load(&crate::project::repo_root().join("ports/wasm"), "standard").unwrap();
        let patched = tempfile::tempdir().unwrap();
        let files = port.micropython_sources(&source.root, patched.path()).unwrap();
        for target in port.patches.keys() {
            let copy = patched.path().join(target);
            assert!(files.contains(&copy), "{target} is compiled from its patched copy");
            assert!(!files.contains(&source.root.join(target)));
            assert_ne!(fs::read(&copy).unwrap(), fs::read(source.root.join(target)).unwrap());
        }
    }
}
