//! Bad input to the toolchain: a broken pin, a corrupt, truncated or
//! mismatched archive in the cache, a missing compiler, an unwritable
//! `dist/`. Each stops `cargo xtask` with an error that says where and what
//! to do, and leaves the caches and `dist/` as they were.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use support::{repo_root, xtask_command};

/// Runs `cargo xtask ARGS` with `envs`, expecting it to fail; returns stderr.
fn xtask_fails(args: &[&str], envs: &[(&str, &Path)]) -> String {
    let mut command = xtask_command(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "cargo xtask {args:?} should have failed:\n{stderr}");
    stderr
}

fn repository_pin() -> String {
    fs::read_to_string(repo_root().join("micropython/source.toml")).unwrap()
}

/// The pin's first mirror's checksum.
fn pinned_sha256() -> String {
    let pin = repository_pin();
    let line = pin.lines().find(|line| line.starts_with("sha256")).expect("the pin has a sha256");
    line.split('"').nth(1).unwrap().to_owned()
}

/// The pinned archive as the fetch keeps it, fetching it once if needed.
fn genuine_archive() -> PathBuf {
    support::xtask(&["fetch"]);
    let cache = std::env::var_os("MPWASM_CACHE_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap();
        std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".cache")).join("mpwasm")
    });
    let archive = cache.join("archives").join(format!("{}.tar.xz", pinned_sha256()));
    assert!(archive.is_file(), "the fetch keeps {}", archive.display());
    archive
}

/// Writes `pin` to a file in `dir` and returns its path.
fn pin_file(dir: &Path, pin: &str) -> PathBuf {
    let path = dir.join("source.toml");
    fs::write(&path, pin).unwrap();
    path
}

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|line| line.starts_with(prefix)).unwrap() + 1
}

#[test]
fn an_unknown_pin_key_names_file_line_and_the_valid_keys() {
    let dir = tempfile::tempdir().unwrap();
    let pin = repository_pin().replacen("top_dir", "topdir", 1);
    let path = pin_file(dir.path(), &pin);
    let stderr = xtask_fails(&["fetch", "--offline", "--pin", path.to_str().unwrap()], &[]);
    assert!(stderr.contains(&format!("{}:{}:1", path.display(), line_of(&pin, "topdir"))), "{stderr}");
    assert!(stderr.contains("unknown field `topdir`"), "{stderr}");
    for key in ["name", "url", "sha256", "top_dir"] {
        assert!(stderr.contains(&format!("`{key}`")), "{key} is not named:\n{stderr}");
    }
}

#[test]
fn a_wrongly_typed_pin_value_names_file_line_and_the_type() {
    let dir = tempfile::tempdir().unwrap();
    let pin = repository_pin().replacen("version = \"1.26.1\"", "version = 1.26", 1);
    let path = pin_file(dir.path(), &pin);
    let stderr = xtask_fails(&["fetch", "--offline", "--pin", path.to_str().unwrap()], &[]);
    assert!(stderr.contains(&format!("{}:{}:11", path.display(), line_of(&pin, "version"))), "{stderr}");
    assert!(stderr.contains("expected a string"), "{stderr}");
}

/// An empty cache with `archive` kept under `sha256`, as if downloaded.
fn cache_with(archive: &[u8], sha256: &str) -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    fs::create_dir_all(cache.path().join("archives")).unwrap();
    fs::write(cache.path().join("archives").join(format!("{sha256}.tar.xz")), archive).unwrap();
    cache
}

fn assert_no_tree_installed(cache: &Path) {
    let trees = cache.join("src");
    let installed: Vec<_> =
        fs::read_dir(&trees).map(|dir| dir.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    assert!(installed.is_empty(), "nothing may be installed from a bad archive: {installed:?}");
}

#[test]
fn a_corrupt_or_mismatched_archive_in_the_cache_is_discarded() {
    let genuine = fs::read(genuine_archive()).unwrap();
    let mut corrupt = genuine.clone();
    corrupt[genuine.len() / 2] ^= 0xff;
    // A damaged copy of the pinned archive, and the genuine archive under a
    // pin whose checksum is wrong.
    let zeros = "0".repeat(64);
    let wrong_pin = repository_pin().replacen(&pinned_sha256(), &zeros, 1);
    for (bytes, sha256, pin) in [(&corrupt, pinned_sha256(), repository_pin()), (&genuine, zeros.clone(), wrong_pin)] {
        let cache = cache_with(bytes, &sha256);
        let pin = pin_file(cache.path(), &pin);
        let stderr =
            xtask_fails(&["fetch", "--offline", "--pin", pin.to_str().unwrap()], &[("MPWASM_CACHE_DIR", cache.path())]);
        assert!(stderr.contains("deleting it"), "{stderr}");
        assert!(
            stderr.contains("--offline: the cache at") && stderr.contains("holds no usable micropython 1.26.1"),
            "{stderr}"
        );
        assert!(stderr.contains("Run without --offline"), "{stderr}");
        assert!(!cache.path().join("archives").join(format!("{sha256}.tar.xz")).exists(), "the bad archive is deleted");
        assert_no_tree_installed(cache.path());
    }
}

#[test]
fn a_truncated_archive_fails_to_extract_and_installs_nothing() {
    let genuine = fs::read(genuine_archive()).unwrap();
    let truncated = &genuine[..genuine.len() / 3];
    // Pinned by its own checksum, so that it gets as far as extraction.
    let sha256 = hex::encode(Sha256::digest(truncated));
    let cache = cache_with(truncated, &sha256);
    let pin = pin_file(cache.path(), &repository_pin().replacen(&pinned_sha256(), &sha256, 1));
    let stderr =
        xtask_fails(&["fetch", "--offline", "--pin", pin.to_str().unwrap()], &[("MPWASM_CACHE_DIR", cache.path())]);
    let archive = cache.path().join("archives").join(format!("{sha256}.tar.xz"));
    assert!(stderr.contains(&format!("fetching micropython 1.26.1 from {}", archive.display())), "{stderr}");
    assert_no_tree_installed(cache.path());
    assert!(!cache.path().join("src").join(&sha256).exists());
}

#[test]
fn a_missing_toolchain_names_each_piece_and_the_fix() {
    let empty = tempfile::tempdir().unwrap();
    let stderr = xtask_fails(&["build"], &[("WASI_SDK_PATH", empty.path())]);
    assert!(stderr.contains("the wasm32 C toolchain is incomplete"), "{stderr}");
    for piece in ["wasi-sdk clang", "wasi-sdk wasm-ld", "wasi-sdk sysroot"] {
        assert!(stderr.contains(piece), "{piece} is not named:\n{stderr}");
    }
    assert!(
        stderr.contains(&format!("point WASI_SDK_PATH at an unpacked wasi-sdk (now {})", empty.path().display())),
        "{stderr}"
    );
}

/// Makes `dir` unwritable, even for root (whose writes ignore permissions):
/// read-only permissions, and the immutable attribute where that is needed.
struct Unwritable<'a>(&'a Path);

impl<'a> Unwritable<'a> {
    fn new(dir: &'a Path) -> Unwritable<'a> {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
        if tempfile::tempfile_in(dir).is_ok() {
            let status = Command::new("chattr").arg("+i").arg(dir).status();
            assert!(status.is_ok_and(|s| s.success()), "running as root, and `chattr +i` is not available");
        }
        assert!(tempfile::tempfile_in(dir).is_err(), "{} is still writable", dir.display());
        Unwritable(dir)
    }
}

impl Drop for Unwritable<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
        let _ = fs::set_permissions(self.0, fs::Permissions::from_mode(0o755));
    }
}

/// A `dist/` holding a previous build's bundles, reduced to a marker each.
fn previous_dist(root: &Path) -> Vec<PathBuf> {
    let markers: Vec<PathBuf> = ["wasi", "npm/mpwasm", "rust/micropython-wasm"]
        .iter()
        .map(|bundle| root.join(bundle).join("previous"))
        .collect();
    for marker in &markers {
        fs::create_dir_all(marker.parent().unwrap()).unwrap();
        fs::write(marker, "complete").unwrap();
    }
    markers
}

#[test]
fn an_unwritable_dist_keeps_its_previous_contents() {
    let temp = tempfile::tempdir().unwrap();
    let dist = temp.path().join("dist");
    let markers = previous_dist(&dist);
    {
        let _locked = Unwritable::new(&dist);
        let stderr = xtask_fails(&["dist"], &[("MPWASM_DIST_DIR", &dist)]);
        assert!(
            stderr.contains(&format!("creating a staging folder in {} (is it writable?)", dist.display())),
            "{stderr}"
        );
    }
    for marker in &markers {
        assert_eq!(fs::read_to_string(marker).unwrap(), "complete", "{} was touched", marker.display());
    }
    let names: Vec<_> = fs::read_dir(&dist).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "no staging leftovers: {names:?}");

    // Only the Rust bundle's folder is locked: every bundle is staged before
    // any is swapped in, so all three stay the previous ones.
    let rust = dist.join("rust");
    {
        let _locked = Unwritable::new(&rust);
        let stderr = xtask_fails(&["dist"], &[("MPWASM_DIST_DIR", &dist)]);
        assert!(stderr.contains(&format!("{} (is it writable?)", rust.display())), "{stderr}");
    }
    for marker in &markers {
        assert_eq!(fs::read_to_string(marker).unwrap(), "complete", "{} was replaced", marker.display());
    }
    let names: Vec<_> = fs::read_dir(&dist).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "no staging leftovers in dist/: {names:?}");
    let names: Vec<_> = fs::read_dir(&rust).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["micropython-wasm"], "no staging leftovers");
}
