//! Provenance: what a module was built from, stored in the module itself as
//! a custom section so every bundle can read it back.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Name of the custom section holding the provenance JSON.
pub const SECTION_NAME: &str = "mpwasm.provenance";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub micropython_version: String,
    pub source: SourceRecord,
    pub variant: String,
    pub profile: String,
    pub gc: String,
    /// `command` or `library`.
    pub artifact: String,
    /// `legacy` (try/catch, for Node and browsers) or `exnref` (try_table,
    /// for wasmtime).
    pub exception_handling: String,
    /// Frozen `.mpy` files and their sha256.
    pub frozen_modules: BTreeMap<String, String>,
    pub toolchain: ToolchainRecord,
    /// `git describe`-style revision of this repository (`-dirty` if the
    /// work tree had changes).
    pub repository_revision: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceRecord {
    Archive { url: String, sha256: String },
    LocalDirectory,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolchainRecord {
    pub clang: String,
    pub binaryen: String,
    pub walrus: String,
}

impl Provenance {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("provenance always serialises") + "\n"
    }

    /// Reads the provenance section of a module, if it has one.
    pub fn read(module_bytes: &[u8]) -> Result<Option<Provenance>> {
        for payload in wasmparser::Parser::new(0).parse_all(module_bytes) {
            if let wasmparser::Payload::CustomSection(section) = payload.context("parsing the module")? {
                if section.name() == SECTION_NAME {
                    let provenance =
                        serde_json::from_slice(section.data()).context("the provenance section is not valid JSON")?;
                    return Ok(Some(provenance));
                }
            }
        }
        Ok(None)
    }
}

/// This repository's revision, for provenance.
pub fn repository_revision() -> String {
    let root = crate::project::repo_root();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(&root)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(revision) = git(&["rev-parse", "--short=12", "HEAD"]) else { return "unknown".to_owned() };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|status| !status.is_empty());
    if dirty {
        format!("{revision}-dirty")
    } else {
        revision
    }
}
