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
    link: LinkSection,
    artifacts: BTreeMap<String, Artifact>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesSection {
    micropython: Vec<String>,
    port: Vec<String>,
}

/// Link-time settings shared by every artifact.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    pub stack_size: u32,
    /// Symbols whose callers the linker routes to `__wrap_<name>`.
    #[serde(default)]
    pub wrap: Vec<String>,
}

impl LinkSection {
    /// The linker flags (through the compiler driver) for `wrap`.
    pub fn wrap_flags(&self) -> Vec<std::ffi::OsString> {
        self.wrap.iter().map(|symbol| format!("-Wl,--wrap={symbol}").into()).collect()
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
    /// order (and so the output bytes) never depends on directory order.
    pub fn micropython_sources(&self, source_root: &Path) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for pattern in &self.micropython_patterns {
            files.extend(expand(source_root, pattern)?);
        }
        files.sort();
        files.dedup();
        Ok(files)
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
}
