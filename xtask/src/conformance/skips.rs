//! `micropython/conformance-skips.toml`: the tests that pass natively but are
//! allowed not to pass in wasm, each with its reason.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipsFile {
    #[serde(default)]
    skip: Vec<Skip>,
}

/// Which runs of the suite a skip applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Normal,
    Torture,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    /// Path below MicroPython's `tests/`, e.g. `extmod/vfs_posix.py`.
    pub test: String,
    /// The runs it applies to; all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Mode>,
    pub reason: String,
}

impl Skip {
    pub fn applies_to(&self, mode: Mode) -> bool {
        self.only.is_none_or(|only| only == mode)
    }
}

pub fn load(path: &Path) -> Result<Vec<Skip>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: SkipsFile = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    for skip in &file.skip {
        anyhow::ensure!(
            !skip.reason.trim().is_empty(),
            "{}: the skip of {} gives no reason",
            path.display(),
            skip.test
        );
        // The core language has no excuse to differ between targets.
        anyhow::ensure!(!skip.test.starts_with("basics/"), "{}: {} may not be skipped", path.display(), skip.test);
    }
    Ok(file.skip)
}
