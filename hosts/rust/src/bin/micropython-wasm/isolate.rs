//! `--isolated` for FILE: the script runs from a private folder that holds
//! only a copy of it, so that it can read itself and nothing beside it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A private folder holding a copy of one script, deleted when dropped.
pub struct ScriptCopy {
    folder: PathBuf,
}

impl ScriptCopy {
    /// Copies `script` (a file) into a new folder under the temporary
    /// folder, readable by this user alone.
    pub fn new(script: &Path) -> io::Result<ScriptCopy> {
        let name = script.file_name().ok_or_else(|| io::Error::other("a script path ends in a file name"))?;
        let base = std::env::temp_dir();
        let mut attempt = 0;
        let folder = loop {
            let folder = base.join(format!("micropython-wasm-{}-{attempt}", std::process::id()));
            let mut builder = fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&folder) {
                Ok(()) => break folder,
                // Left behind by an earlier process with the same id.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(err) => return Err(err),
            }
        };
        let copy = ScriptCopy { folder };
        fs::copy(script, copy.folder.join(name))?;
        Ok(copy)
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

impl Drop for ScriptCopy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.folder);
    }
}
