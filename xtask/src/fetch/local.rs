//! Recognising a MicroPython source tree and reading its version, for both
//! `--source DIR` and freshly extracted archives.

use std::path::{Path, PathBuf};

/// Files the build reads first; their absence means "not MicroPython".
const REQUIRED: [&str; 2] = ["py/mpconfig.h", "py/makeqstrdata.py"];

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{} does not look like a MicroPython source tree: missing {}", .dir.display(), .missing.join(", "))]
    Missing { dir: PathBuf, missing: Vec<&'static str> },
    #[error("{}: no MICROPY_VERSION_{part} definition", .file.display())]
    NoVersion { file: PathBuf, part: &'static str },
    #[error("reading {}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The release in `dir`, as "1.26.1" (or "1.27.0-preview").
pub fn version_of(dir: &Path) -> Result<String, TreeError> {
    let missing: Vec<_> = REQUIRED.into_iter().filter(|file| !dir.join(file).is_file()).collect();
    if !missing.is_empty() {
        return Err(TreeError::Missing { dir: dir.to_path_buf(), missing });
    }
    let file = dir.join(REQUIRED[0]);
    let text = std::fs::read_to_string(&file).map_err(|source| TreeError::Io { path: file.clone(), source })?;
    let part = |name: &'static str| {
        define(&text, &format!("MICROPY_VERSION_{name}"))
            .ok_or_else(|| TreeError::NoVersion { file: file.clone(), part: name })
    };
    let mut version = format!("{}.{}.{}", part("MAJOR")?, part("MINOR")?, part("MICRO")?);
    if define(&text, "MICROPY_VERSION_PRERELEASE").is_some_and(|v| v != "0") {
        version.push_str("-preview");
    }
    Ok(version)
}

/// The value of `#define NAME value`, without surrounding parentheses.
fn define<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix('#')?.trim_start().strip_prefix("define")?;
        let mut words = rest.split_whitespace();
        (words.next()? == name).then_some(())?;
        let value = words.next()?.trim_start_matches('(').trim_end_matches(')');
        (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())).then_some(value)
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// The smallest tree `version_of` accepts.
    pub fn write_tree(dir: &Path, version: &str) {
        std::fs::create_dir_all(dir.join("py")).unwrap();
        std::fs::write(dir.join("py/mpconfig.h"), mpconfig_h(version)).unwrap();
        std::fs::write(dir.join("py/makeqstrdata.py"), "# qstr generator\n").unwrap();
    }

    pub fn mpconfig_h(version: &str) -> String {
        let parts: Vec<&str> = version.split('.').collect();
        format!(
            "// MicroPython\n#define MICROPY_VERSION_MAJOR {}\n#define MICROPY_VERSION_MINOR ({})\n#  define MICROPY_VERSION_MICRO {}\n#define MICROPY_VERSION_PRERELEASE 0\n",
            parts[0], parts[1], parts[2]
        )
    }

    #[test]
    fn reads_the_version() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), "1.26.1");
        assert_eq!(version_of(dir.path()).unwrap(), "1.26.1");
    }

    #[test]
    fn prerelease_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), "1.27.0");
        let header = mpconfig_h("1.27.0").replace("PRERELEASE 0", "PRERELEASE 1");
        std::fs::write(dir.path().join("py/mpconfig.h"), header).unwrap();
        assert_eq!(version_of(dir.path()).unwrap(), "1.27.0-preview");
    }

    #[test]
    fn names_every_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = version_of(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, TreeError::Missing { ref missing, .. } if missing.len() == 2), "{message}");
        assert!(message.contains(&dir.path().display().to_string()), "{message}");
        assert!(message.contains("py/mpconfig.h") && message.contains("py/makeqstrdata.py"), "{message}");
    }

    #[test]
    fn a_header_without_version_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), "1.26.1");
        std::fs::write(dir.path().join("py/mpconfig.h"), "#define MICROPY_VERSION_MAJOR 1\n").unwrap();
        let message = version_of(dir.path()).unwrap_err().to_string();
        assert!(message.contains("MICROPY_VERSION_MINOR"), "{message}");
    }
}
