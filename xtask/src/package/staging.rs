//! Atomic replacement of a bundle folder.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A folder being filled next to its final place.
pub struct Staging {
    temp: tempfile::TempDir,
    destination: PathBuf,
}

impl Staging {
    /// Starts a new bundle that will replace `destination`.
    pub fn new(destination: &Path) -> Result<Staging> {
        let parent = destination.parent().expect("bundles live inside dist/");
        fs::create_dir_all(parent).with_context(|| format!("creating {} (is it writable?)", parent.display()))?;
        let name = destination.file_name().expect("bundle folders have names").to_string_lossy();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.staging-"))
            .tempdir_in(parent)
            .with_context(|| format!("creating a staging folder in {} (is it writable?)", parent.display()))?;
        Ok(Staging { temp, destination: destination.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Swaps the finished folder into place. The old bundle is moved aside
    /// first and deleted only after the new one is in place.
    pub fn commit(self) -> Result<PathBuf> {
        let staged = self.temp.keep();
        let parent = self.destination.parent().expect("checked in new()");
        let retired = parent.join(format!(
            ".{}.old-{}",
            self.destination.file_name().expect("checked in new()").to_string_lossy(),
            std::process::id()
        ));
        let had_previous = self.destination.exists();
        if had_previous {
            fs::rename(&self.destination, &retired)
                .with_context(|| format!("moving the previous {} aside", self.destination.display()))?;
        }
        if let Err(err) = fs::rename(&staged, &self.destination) {
            if had_previous {
                let _ = fs::rename(&retired, &self.destination);
            }
            let _ = fs::remove_dir_all(&staged);
            return Err(err).with_context(|| format!("moving the new bundle to {}", self.destination.display()));
        }
        if had_previous {
            let _ = fs::remove_dir_all(&retired);
        }
        Ok(self.destination)
    }
}
