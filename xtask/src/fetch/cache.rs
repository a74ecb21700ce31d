//! The content-addressed source cache.
//!
//! ```text
//! <cache>/archives/<sha256>.tar.xz   verified archives, for offline re-extraction
//! <cache>/src/<sha256>/              extracted trees (top_dir stripped)
//! <cache>/src/<sha256>/.mpwasm-source   completion marker: sha256 + version
//! ```
//!
//! A tree is extracted into a temporary directory beside its final place,
//! gets its marker last, and is renamed into place in one step. A directory
//! without a valid marker is left over from something that did not finish:
//! it is never used, and the next install replaces it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const MARKER: &str = ".mpwasm-source";

#[derive(Serialize, Deserialize, PartialEq)]
struct Marker {
    sha256: String,
    version: String,
}

pub struct SourceCache {
    root: PathBuf,
}

/// A tree being extracted; dropped without `commit`, it disappears.
pub struct Staging {
    dir: TempDir,
}

impl Staging {
    /// Where the extracted tree goes; does not exist yet.
    pub fn tree(&self) -> PathBuf {
        self.dir.path().join("tree")
    }
}

impl SourceCache {
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_path_buf() }
    }

    pub fn archives_dir(&self) -> PathBuf {
        self.root.join("archives")
    }

    pub fn archive_path(&self, sha256: &str) -> PathBuf {
        self.archives_dir().join(format!("{sha256}.tar.xz"))
    }

    pub fn tree_path(&self, sha256: &str) -> PathBuf {
        self.root.join("src").join(sha256)
    }

    /// The completed tree for this archive, if there is one.
    pub fn lookup(&self, sha256: &str, version: &str) -> Option<PathBuf> {
        let tree = self.tree_path(sha256);
        is_complete(&tree, sha256, version).then_some(tree)
    }

    /// A kept archive whose bytes still match `sha256`. One that does not
    /// (disk corruption, a wrong file placed by hand) is deleted.
    pub fn kept_archive(&self, sha256: &str) -> io::Result<Option<PathBuf>> {
        let path = self.archive_path(sha256);
        let mut file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher)?;
        let actual = hex::encode(hasher.finalize());
        if actual == sha256 {
            return Ok(Some(path));
        }
        eprintln!("warning: {} has sha256 {actual}; deleting it", path.display());
        fs::remove_file(&path)?;
        Ok(None)
    }

    /// Keeps a verified archive so the tree can be rebuilt without network.
    pub fn keep_archive(&self, file: tempfile::NamedTempFile, sha256: &str) -> io::Result<()> {
        file.persist(self.archive_path(sha256)).map(drop).map_err(|err| err.error)
    }

    pub fn stage(&self, sha256: &str) -> io::Result<Staging> {
        let src = self.root.join("src");
        fs::create_dir_all(&src)?;
        let dir = tempfile::Builder::new().prefix(&format!(".tmp-{sha256}-")).tempdir_in(&src)?;
        Ok(Staging { dir })
    }

    /// Marks the staged tree complete and moves it into place.
    pub fn commit(&self, staging: Staging, sha256: &str, version: &str) -> io::Result<PathBuf> {
        let tree = staging.tree();
        let marker = Marker { sha256: sha256.to_string(), version: version.to_string() };
        let text = toml::to_string(&marker).map_err(io::Error::other)?;
        let mut file = fs::File::create(tree.join(MARKER))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;

        let dest = self.tree_path(sha256);
        if fs::symlink_metadata(&dest).is_ok() {
            if is_complete(&dest, sha256, version) {
                // Another process finished the same tree first.
                return Ok(dest);
            }
            // Moved aside first so the replacement is a single rename even if
            // deleting the stale tree fails halfway.
            let stale = tempfile::Builder::new().prefix(".stale-").tempdir_in(self.root.join("src"))?;
            fs::rename(&dest, stale.path().join("tree"))?;
        }
        match fs::rename(&tree, &dest) {
            Ok(()) => Ok(dest),
            Err(_) if is_complete(&dest, sha256, version) => Ok(dest),
            Err(err) => Err(err),
        }
    }
}

fn is_complete(tree: &Path, sha256: &str, version: &str) -> bool {
    let Ok(text) = fs::read_to_string(tree.join(MARKER)) else { return false };
    let expected = Marker { sha256: sha256.to_string(), version: version.to_string() };
    toml::from_str::<Marker>(&text).is_ok_and(|marker| marker == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged_tree(cache: &SourceCache, sha: &str, file: &str) -> Staging {
        let staging = cache.stage(sha).unwrap();
        fs::create_dir(staging.tree()).unwrap();
        fs::write(staging.tree().join(file), "x").unwrap();
        staging
    }

    #[test]
    fn commit_moves_the_tree_into_place_with_its_marker() {
        let root = tempfile::tempdir().unwrap();
        let cache = SourceCache::new(root.path());
        let sha = "ab".repeat(32);
        assert_eq!(cache.lookup(&sha, "1.0.0"), None);
        let tree = cache.commit(staged_tree(&cache, &sha, "a.c"), &sha, "1.0.0").unwrap();
        assert_eq!(tree, root.path().join("src").join(&sha));
        assert!(tree.join("a.c").is_file());
        assert_eq!(cache.lookup(&sha, "1.0.0"), Some(tree.clone()));
        assert_eq!(cache.lookup(&sha, "2.0.0"), None, "a marker for another version is not valid");
        let leftovers: Vec<_> = fs::read_dir(root.path().join("src")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "staging and stale dirs are cleaned up");
    }

    #[test]
    fn a_tree_without_marker_is_absent_and_replaced() {
        let root = tempfile::tempdir().unwrap();
        let cache = SourceCache::new(root.path());
        let sha = "cd".repeat(32);
        let half = cache.tree_path(&sha);
        fs::create_dir_all(&half).unwrap();
        fs::write(half.join("half-written.c"), "").unwrap();
        assert_eq!(cache.lookup(&sha, "1.0.0"), None);

        let tree = cache.commit(staged_tree(&cache, &sha, "whole.c"), &sha, "1.0.0").unwrap();
        assert!(tree.join("whole.c").is_file());
        assert!(!tree.join("half-written.c").exists());
        assert_eq!(fs::read_dir(root.path().join("src")).unwrap().count(), 1);
    }

    #[test]
    fn a_corrupt_kept_archive_is_deleted() {
        let root = tempfile::tempdir().unwrap();
        let cache = SourceCache::new(root.path());
        let good = hex::encode(Sha256::digest(b"archive"));
        fs::create_dir_all(cache.archives_dir()).unwrap();
        fs::write(cache.archive_path(&good), b"archive").unwrap();
        assert_eq!(cache.kept_archive(&good).unwrap(), Some(cache.archive_path(&good)));

        fs::write(cache.archive_path(&good), b"archivf").unwrap();
        assert_eq!(cache.kept_archive(&good).unwrap(), None);
        assert!(!cache.archive_path(&good).exists());
    }
}
