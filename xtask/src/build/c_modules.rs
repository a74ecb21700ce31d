//! The user's C modules, in MicroPython's USER_C_MODULES layout: a folder
//! per module holding its `.c` files (and a `micropython.mk` that this
//! build does not need), or a folder of such folders, as USER_C_MODULES
//! itself points at. Every `.c` file is compiled and scanned for qstrs and
//! `MP_REGISTER_MODULE`, and each module folder is on the include path.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The module folders and C files below the configured paths, sorted so
/// the link order never depends on directory order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CModules {
    pub dirs: Vec<PathBuf>,
    pub sources: Vec<PathBuf>,
}

impl CModules {
    pub fn find(paths: &[PathBuf]) -> Result<CModules> {
        let mut found = CModules::default();
        for path in paths {
            let own = c_files(path)?;
            if !own.is_empty() {
                found.dirs.push(path.clone());
                found.sources.extend(own);
                continue;
            }
            let mut modules = Vec::new();
            for entry in fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
                let dir = entry?.path();
                if dir.is_dir() && dir.join("micropython.mk").is_file() {
                    modules.push(dir);
                }
            }
            if modules.is_empty() {
                bail!(
                    "{} has no .c files and no module folders (with micropython.mk) to compile as a C module",
                    path.display()
                );
            }
            modules.sort();
            for dir in modules {
                found.sources.extend(c_files(&dir)?);
                found.dirs.push(dir);
            }
        }
        Ok(found)
    }
}

fn c_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_folder_or_a_folder_of_modules() {
        let root = tempfile::tempdir().unwrap();
        let one = root.path().join("one");
        fs::create_dir_all(&one).unwrap();
        fs::write(one.join("b.c"), "").unwrap();
        fs::write(one.join("a.c"), "").unwrap();
        fs::write(one.join("micropython.mk"), "").unwrap();
        let found = CModules::find(std::slice::from_ref(&one)).unwrap();
        assert_eq!(found, CModules { dirs: vec![one.clone()], sources: vec![one.join("a.c"), one.join("b.c")] });

        let two = root.path().join("two");
        fs::create_dir_all(&two).unwrap();
        fs::write(two.join("micropython.mk"), "").unwrap();
        fs::write(two.join("two.c"), "").unwrap();
        let found = CModules::find(&[root.path().to_path_buf()]).unwrap();
        assert_eq!(found.dirs, vec![one.clone(), two.clone()]);
        assert_eq!(found.sources, vec![one.join("a.c"), one.join("b.c"), two.join("two.c")]);

        let empty = root.path().join("empty");
        fs::create_dir_all(&empty).unwrap();
        let message = CModules::find(&[empty]).unwrap_err().to_string();
        assert!(message.contains("empty has no .c files"), "{message}");
    }
}
