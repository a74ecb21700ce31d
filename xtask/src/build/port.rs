//! The port's own description of what to compile (`ports/<port>/port.toml`)
//! and the variant chosen for this build.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortFile {
    sources: SourcesSection,
    link: LinkSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesSection {
    micropython: Vec<String>,
    port: Vec<String>,
}

/// Link-time settings of the port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    pub stack_size: u32,
    pub exports: Vec<String>,
}

/// A port with one variant selected, its paths resolved.
#[derive(Debug, Clone)]
pub struct Port {
    pub dir: PathBuf,
    pub variant: String,
    pub variant_dir: PathBuf,
    pub link: LinkSection,
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

    pub fn port_sources(&self) -> Vec<PathBuf> {
        self.port_sources.iter().map(|name| self.dir.join(name)).collect()
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
