//! Variants × profiles, provenance and reproducible bytes (issue: post-
//! processing and variants).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use support::{run_node, xtask_command};

/// One build folder shared by the tests of this file, so a configuration
/// two tests need is built once; the lock keeps builds from overlapping. It
/// lives in the cache outside the clone, so that the nine configurations of
/// the full tier build incrementally from one CI run to the next (the
/// reproducibility test below still builds from nothing).
fn shared_build(variant: &str, profile: &str) -> PathBuf {
    static FOLDER: OnceLock<Mutex<PathBuf>> = OnceLock::new();
    let folder = FOLDER.get_or_init(|| Mutex::new(support::cache_dir().join("test-builds/variants"))).lock().unwrap();
    build(&folder, variant, profile)
}

/// Every profile of every variant with MPWASM_FULL=1 (CI's full run); the
/// three profiles of the default variant otherwise.
fn configurations() -> Vec<(&'static str, &'static str)> {
    let full = std::env::var_os("MPWASM_FULL").is_some();
    let variants: &[&str] = if full { &["minimal", "standard", "full"] } else { &["standard"] };
    variants.iter().flat_map(|variant| ["size", "speed", "debug"].map(|profile| (*variant, profile))).collect()
}

/// Builds one configuration into `build_dir` and returns the folder of its
/// modules.
fn build(build_dir: &Path, variant: &str, profile: &str) -> PathBuf {
    let output = xtask_command(&["build", "--variant", variant, "--profile", profile])
        .env("MPWASM_BUILD_DIR", build_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "build {variant}/{profile} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    build_dir.join(format!("{variant}-{profile}"))
}

#[test]
fn every_variant_and_profile_builds_and_runs() {
    for (variant, profile) in configurations() {
        let modules = shared_build(variant, profile);
        let run = run_node(&modules.join("micropython.wasm"), &[], &["-c", "print(1)"], "");
        assert_eq!((run.status, run.stdout.as_str()), (0, "1\n"), "{variant}/{profile}: {run:?}");

        let inspect =
            xtask_command(&["inspect", modules.join("micropython.exnref.wasm").to_str().unwrap()]).output().unwrap();
        let text = String::from_utf8_lossy(&inspect.stdout);
        assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
        assert!(text.contains(&format!("\"variant\": \"{variant}\"")), "{text}");
        assert!(text.contains(&format!("\"profile\": \"{profile}\"")), "{text}");
        assert!(text.contains("\"exception_handling\": \"exnref\""), "{text}");
    }
}

#[test]
fn variants_differ_in_their_modules() {
    let probe = "import sys\nfor name in ('json', 'framebuf', 'uctypes'):\n    try:\n        __import__(name)\n        print(name, 'yes')\n    except ImportError:\n        print(name, 'no')";
    let expected = [
        ("minimal", "json no\nframebuf no\nuctypes no\n"),
        ("standard", "json yes\nframebuf no\nuctypes no\n"),
        ("full", "json yes\nframebuf yes\nuctypes yes\n"),
    ];
    for (variant, modules_present) in expected {
        let modules = shared_build(variant, "size");
        let run = run_node(&modules.join("micropython.wasm"), &[], &["-c", probe], "");
        assert_eq!(run.stdout, modules_present, "{variant}: {run:?}");
    }
}

#[test]
fn two_clean_builds_in_different_folders_are_byte_identical() {
    let a = shared_build("standard", "size");
    let second = tempfile::tempdir().unwrap();
    let b = build(second.path(), "standard", "size");
    for name in [
        "micropython.wasm",
        "micropython.exnref.wasm",
        "micropython-lib.wasm",
        "micropython-lib.exnref.wasm",
        "micropython-component.wasm",
        "micropython-component.exnref.wasm",
    ] {
        let (left, right) = (fs::read(a.join(name)).unwrap(), fs::read(b.join(name)).unwrap());
        assert!(left == right, "{name} differs between two clean builds");
    }
}
