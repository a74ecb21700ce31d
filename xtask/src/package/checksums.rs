//! A bundle's `SHA256SUMS`, listed as its files are written, and the
//! `provenance.json` every bundle carries beside it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::postprocess::Provenance;

/// Writes files into a bundle's folder and lists each with its sha256.
pub struct Checksums {
    dir: PathBuf,
    lines: String,
}

impl Checksums {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), lines: String::new() }
    }

    /// Writes `bytes` to `name`, a path inside the bundle with `/` between
    /// folders (`wit/micropython.wit`), and lists it.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        self.lines.push_str(&format!("{}  {name}\n", hex::encode(Sha256::digest(bytes))));
        Ok(())
    }

    /// Writes `provenance.json` (listed like the rest), then `SHA256SUMS`.
    pub fn finish(mut self, provenance: &Provenance) -> Result<()> {
        self.write("provenance.json", provenance.to_json().as_bytes())?;
        let path = self.dir.join("SHA256SUMS");
        fs::write(&path, self.lines).with_context(|| format!("writing {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postprocess::provenance::{SourceRecord, ToolchainRecord};

    fn provenance() -> Provenance {
        let text = |value: &str| value.to_string();
        Provenance {
            micropython_version: text("1.26.1"),
            source: SourceRecord::LocalDirectory,
            variant: text("standard"),
            profile: text("size"),
            gc: text("spill"),
            artifact: text("command"),
            exception_handling: text("exnref"),
            frozen_modules: Default::default(),
            toolchain: ToolchainRecord { clang: text("19"), binaryen: text("123"), walrus: text("0.23") },
            repository_revision: text("test"),
        }
    }

    #[test]
    fn lists_each_file_in_sha256sum_format() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("wit")).unwrap();
        let mut sums = Checksums::new(dir.path());
        sums.write("a.wasm", b"abc").unwrap();
        sums.write("wit/x.wit", b"").unwrap();
        sums.finish(&provenance()).unwrap();
        let listing = fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines[0], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.wasm");
        assert_eq!(lines[1], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  wit/x.wit");
        assert!(lines[2].ends_with("  provenance.json") && lines.len() == 3, "{listing}");
        assert_eq!(fs::read(dir.path().join("a.wasm")).unwrap(), b"abc");
    }
}
