//! The source pin (`micropython/source.toml`): which release, from where, with
//! which checksum.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;

use crate::project;

/// The pin the build uses unless `--pin` says otherwise.
pub fn default_path() -> PathBuf {
    project::repo_root().join("micropython").join("source.toml")
}

/// One MicroPython release and the archives it can be fetched as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePin {
    pub version: String,
    /// Tried in order.
    #[serde(rename = "mirror")]
    pub mirrors: Vec<Mirror>,
}

/// One downloadable archive. Different mirrors may serve different archives
/// of the same release (e.g. Debian's repacked `+ds` tarball), so each
/// carries its own checksum and layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    pub name: String,
    pub url: String,
    /// Lowercase hex sha256 of the archive bytes; also its cache key.
    pub sha256: String,
    /// The single directory every archive entry lives under.
    pub top_dir: String,
}

impl SourcePin {
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading the source pin {}", path.display()))?;
        Self::parse(&text).map_err(|err| {
            // file:line:column, as compilers print it, so editors can jump there.
            let span = err.downcast_ref::<toml::de::Error>().and_then(toml::de::Error::span);
            let place = match span.map(|span| line_column(&text, span.start)) {
                Some((line, column)) => format!("{}:{line}:{column}", path.display()),
                None => path.display().to_string(),
            };
            err.context(format!("invalid source pin {place}"))
        })
    }

    pub fn parse(text: &str) -> Result<Self> {
        let mut pin: SourcePin = toml::from_str(text)?;
        pin.validate()?;
        for mirror in &mut pin.mirrors {
            mirror.sha256.make_ascii_lowercase();
        }
        Ok(pin)
    }

    fn validate(&self) -> Result<()> {
        ensure!(!self.version.trim().is_empty(), "`version` is empty");
        ensure!(!self.mirrors.is_empty(), "no [[mirror]] entries");
        for mirror in &self.mirrors {
            let name = &mirror.name;
            if !(mirror.url.starts_with("http://") || mirror.url.starts_with("https://")) {
                bail!("mirror `{name}`: url must start with http:// or https://, got `{}`", mirror.url);
            }
            if mirror.sha256.len() != 64 || !mirror.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("mirror `{name}`: sha256 must be 64 hex digits, got `{}`", mirror.sha256);
            }
            // The top_dir is joined onto paths we write to, so it must be one
            // plain name.
            let mut parts = Path::new(&mirror.top_dir).components();
            if !matches!((parts.next(), parts.next()), (Some(Component::Normal(_)), None)) {
                bail!("mirror `{name}`: top_dir must be a single directory name, got `{}`", mirror.top_dir);
            }
        }
        Ok(())
    }
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
version = "1.26.1"

[[mirror]]
name = "debian"
url = "http://deb.example/mp.tar.xz"
sha256 = "F5AD2EC89D3E921F753D448955AF98B6005655F84BA26087DDE6BA0E8D062F34"
top_dir = "micropython-1.26.1"
"#;

    fn error_text(text: &str) -> String {
        format!("{:#}", SourcePin::parse(text).expect_err("pin should be rejected"))
    }

    #[test]
    fn parses_mirrors_in_order_and_normalises_the_checksum() {
        let two = format!(
            "{GOOD}\n[[mirror]]\nname = \"b\"\nurl = \"https://b/x\"\nsha256 = \"{}\"\ntop_dir = \"x\"\n",
            "0".repeat(64)
        );
        let pin = SourcePin::parse(&two).unwrap();
        assert_eq!(pin.version, "1.26.1");
        let names: Vec<_> = pin.mirrors.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["debian", "b"]);
        assert_eq!(pin.mirrors[0].sha256, "f5ad2ec89d3e921f753d448955af98b6005655f84ba26087dde6ba0e8d062f34");
    }

    #[test]
    fn the_repository_pin_is_valid() {
        let pin = SourcePin::load(&default_path()).unwrap();
        assert!(!pin.mirrors.is_empty());
    }

    #[test]
    fn unknown_mirror_key_names_the_valid_ones() {
        let message = error_text(&GOOD.replace("top_dir", "topdir"));
        assert!(message.contains("topdir"), "{message}");
        for key in ["name", "url", "sha256", "top_dir"] {
            assert!(message.contains(&format!("`{key}`")), "{key} missing from: {message}");
        }
    }

    #[test]
    fn unknown_top_level_key_names_the_valid_ones() {
        let message = error_text(&format!("revision = 3\n{GOOD}"));
        assert!(message.contains("revision"), "{message}");
        assert!(message.contains("`version`") && message.contains("`mirror`"), "{message}");
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin.toml");
        std::fs::write(&path, GOOD.replace("name =", "nick =")).unwrap();
        let message = format!("{:#}", SourcePin::load(&path).unwrap_err());
        // `nick` is on line 5 of GOOD.
        assert!(message.contains(&format!("{}:5:1", path.display())), "{message}");
        assert!(message.contains("nick"), "{message}");
    }

    #[test]
    fn missing_fields_are_named() {
        let message = error_text(&GOOD.replace("top_dir = \"micropython-1.26.1\"", ""));
        assert!(message.contains("missing field `top_dir`"), "{message}");
        let message = error_text("version = \"1.26.1\"\n");
        assert!(message.contains("missing field `mirror`"), "{message}");
    }

    #[test]
    fn rejects_bad_values() {
        assert!(error_text(&GOOD.replace("F5AD", "F5")).contains("64 hex digits"));
        assert!(error_text(&GOOD.replace("micropython-1.26.1", "../up")).contains("single directory name"));
        assert!(error_text(&GOOD.replace("http://deb", "ftp://deb")).contains("http://"));
        assert!(error_text("version = \"1.26.1\"\nmirror = []\n").contains("no [[mirror]]"));
    }
}
