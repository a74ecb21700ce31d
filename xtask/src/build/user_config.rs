//! The user's build configuration (`micropython-wasm.toml`): their own
//! Python frozen into the image and their own C modules compiled into it.
//!
//! ```toml
//! [frozen]
//! manifest = "manifest.py"          # a MicroPython manifest, or:
//! packages = ["src/app"]            # folders frozen as packages
//! modules = ["src/util.py"]         # single files frozen as modules
//! opt = 2                           # mpy-cross -O level for the two lists
//!
//! [c_modules]
//! paths = ["cmod/fastmath"]         # USER_C_MODULES folders
//! ```
//!
//! Relative paths are relative to the configuration file's folder. Every
//! error names `file:line:column`, because the file is the user's, not ours.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    frozen: Option<FrozenTable>,
    c_modules: Option<CModulesTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrozenTable {
    manifest: Option<Spanned<String>>,
    #[serde(default)]
    modules: Vec<Spanned<String>>,
    #[serde(default)]
    packages: Vec<Spanned<String>>,
    opt: Option<Spanned<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CModulesTable {
    paths: Vec<Spanned<String>>,
}

/// A loaded configuration, its paths resolved and checked to exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserConfig {
    /// The configuration file itself.
    pub path: PathBuf,
    pub frozen: Option<UserFrozen>,
    /// Folders of C files, each compiled and scanned for qstrs and modules.
    pub c_module_dirs: Vec<PathBuf>,
}

/// Which Python to freeze after the port's own manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum UserFrozen {
    /// A MicroPython `manifest.py`, with its full semantics.
    Manifest(PathBuf),
    /// Listed files and folders, compiled at one optimisation level.
    Listed { modules: Vec<PathBuf>, packages: Vec<PathBuf>, opt: Option<u8> },
}

impl UserConfig {
    pub fn load(path: &Path) -> Result<UserConfig> {
        let text =
            fs::read_to_string(path).with_context(|| format!("reading the build configuration {}", path.display()))?;
        let path = path.canonicalize().with_context(|| format!("resolving {}", path.display()))?;
        Parser { path: &path, text: &text }.parse()
    }

    /// Eight hex digits naming this configuration, for its build folder:
    /// builds with different configurations never share objects.
    pub fn key(&self) -> String {
        let json = serde_json::to_vec(self).expect("a configuration always serialises");
        hex::encode(Sha256::digest(json))[..8].to_owned()
    }
}

struct Parser<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Parser<'_> {
    fn parse(&self) -> Result<UserConfig> {
        let file: ConfigFile = toml::from_str(self.text).map_err(|err| {
            let span = err.span().unwrap_or(0..0);
            self.error(span, err.message())
        })?;
        let frozen = match file.frozen {
            Some(table) => Some(self.frozen(table)?),
            None => None,
        };
        let c_module_dirs = match file.c_modules {
            Some(table) => table.paths.iter().map(|path| self.existing(path, Kind::Folder)).collect::<Result<_>>()?,
            None => Vec::new(),
        };
        Ok(UserConfig { path: self.path.to_path_buf(), frozen, c_module_dirs })
    }

    fn frozen(&self, table: FrozenTable) -> Result<UserFrozen> {
        if let Some(manifest) = table.manifest {
            if let Some(other) = table.modules.first().or(table.packages.first()) {
                return Err(self.error(other.span(), "`manifest` and `modules`/`packages` exclude each other"));
            }
            if let Some(opt) = table.opt {
                return Err(self
                    .error(opt.span(), "`opt` applies to `modules` and `packages`; a manifest sets `opt=` per entry"));
            }
            return Ok(UserFrozen::Manifest(self.existing(&manifest, Kind::File)?));
        }
        if let Some(opt) = &table.opt {
            if *opt.get_ref() > 3 {
                return Err(self.error(opt.span(), "`opt` is an mpy-cross optimisation level, 0 to 3"));
            }
        }
        for module in &table.modules {
            if !module.get_ref().ends_with(".py") {
                return Err(self.error(module.span(), "a frozen module is a .py file (use `packages` for folders)"));
            }
        }
        Ok(UserFrozen::Listed {
            modules: table.modules.iter().map(|module| self.existing(module, Kind::File)).collect::<Result<_>>()?,
            packages: table
                .packages
                .iter()
                .map(|package| self.existing(package, Kind::Folder))
                .collect::<Result<_>>()?,
            opt: table.opt.map(Spanned::into_inner),
        })
    }

    /// `value` resolved against the configuration's folder; it must exist
    /// as a file or a folder.
    fn existing(&self, value: &Spanned<String>, kind: Kind) -> Result<PathBuf> {
        let dir = self.path.parent().expect("a canonical file path has a parent");
        let resolved = dir.join(value.get_ref());
        let found = match kind {
            Kind::File => resolved.is_file(),
            Kind::Folder => resolved.is_dir(),
        };
        if !found {
            let what = match kind {
                Kind::File => "file",
                Kind::Folder => "folder",
            };
            return Err(self.error(value.span(), &format!("no such {what}: {}", resolved.display())));
        }
        resolved.canonicalize().with_context(|| format!("resolving {}", resolved.display()))
    }

    fn error(&self, span: Range<usize>, message: &str) -> anyhow::Error {
        let (line, column) = line_and_column(self.text, span.start);
        anyhow::anyhow!("{}:{line}:{column}: {message}", self.path.display())
    }
}

#[derive(Clone, Copy)]
enum Kind {
    File,
    Folder,
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (tempfile::TempDir, Result<UserConfig>) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("app/pkg")).unwrap();
        fs::write(dir.path().join("app/main.py"), "print(1)\n").unwrap();
        fs::write(dir.path().join("manifest.py"), "module('app/main.py')\n").unwrap();
        let path = dir.path().join("micropython-wasm.toml");
        fs::write(&path, text).unwrap();
        let loaded = UserConfig::load(&path);
        (dir, loaded)
    }

    fn error_of(text: &str) -> String {
        let (_dir, loaded) = load(text);
        format!("{:#}", loaded.unwrap_err())
    }

    #[test]
    fn lists_resolve_against_the_configuration_folder() {
        let (dir, loaded) = load("[frozen]\nmodules = [\"app/main.py\"]\npackages = [\"app/pkg\"]\nopt = 2\n");
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(
            loaded.unwrap().frozen,
            Some(UserFrozen::Listed {
                modules: vec![root.join("app/main.py")],
                packages: vec![root.join("app/pkg")],
                opt: Some(2),
            })
        );
    }

    #[test]
    fn unknown_keys_name_the_line_and_the_valid_keys() {
        let message = error_of("[frozen]\nmanifest = \"manifest.py\"\nmodule = []\n");
        assert!(message.contains("micropython-wasm.toml:3:1: unknown field `module`"), "{message}");
        assert!(message.contains("`manifest`, `modules`, `packages`, `opt`"), "{message}");
        let message = error_of("[frozen]\n[c_module]\npaths = []\n");
        assert!(message.contains(":2:"), "{message}");
        assert!(message.contains("expected `frozen` or `c_modules`"), "{message}");
    }

    #[test]
    fn missing_paths_are_named_with_their_line() {
        let message = error_of("[c_modules]\npaths = [\n  \"nowhere/fastmath\",\n]\n");
        assert!(message.contains(":3:3: no such folder: "), "{message}");
        assert!(message.contains("nowhere/fastmath"), "{message}");
        let message = error_of("[frozen]\nmanifest = \"missing.py\"\n");
        assert!(message.contains(":2:12: no such file: ") && message.contains("missing.py"), "{message}");
    }

    #[test]
    fn contradictory_or_out_of_range_settings_are_rejected() {
        assert!(
            error_of("[frozen]\nmanifest = \"manifest.py\"\npackages = [\"app/pkg\"]\n").contains("exclude each other")
        );
        assert!(error_of("[frozen]\nmodules = [\"app/main.py\"]\nopt = 7\n").contains(":3:7: `opt` is an mpy-cross"));
        assert!(error_of("[frozen]\nmodules = [\"app/pkg\"]\n").contains("is a .py file"));
    }

    #[test]
    fn the_example_configurations_load() {
        let examples = crate::project::repo_root().join("examples");
        let combined = UserConfig::load(&examples.join("micropython-wasm.toml")).unwrap();
        assert!(matches!(combined.frozen, Some(UserFrozen::Manifest(_))));
        assert_eq!(combined.c_module_dirs, vec![examples.join("c-module").canonicalize().unwrap()]);
        let listed = UserConfig::load(&examples.join("frozen-app/micropython-wasm.toml")).unwrap();
        assert!(matches!(listed.frozen, Some(UserFrozen::Listed { opt: Some(2), .. })));
    }

    #[test]
    fn the_key_follows_the_configuration() {
        let (dir, first) = load("[frozen]\nmodules = [\"app/main.py\"]\nopt = 1\n");
        let path = dir.path().join("micropython-wasm.toml");
        let again = UserConfig::load(&path).unwrap();
        fs::write(&path, "[frozen]\nmodules = [\"app/main.py\"]\nopt = 2\n").unwrap();
        let changed = UserConfig::load(&path).unwrap();
        assert_eq!(first.as_ref().unwrap().key(), again.key());
        assert_ne!(again.key(), changed.key());
    }
}
