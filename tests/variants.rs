//! Variants × profiles, provenance and reproducible bytes (issue: post-
//! processing and variants).

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{run_node, xtask_command};

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
    let build_dir = tempfile::tempdir().unwrap();
    for variant in ["minimal", "standard", "full"] {
        for profile in ["size", "speed", "debug"] {
            let modules = build(build_dir.path(), variant, profile);
            let run = run_node(&modules.join("micropython.wasm"), &[], &["-c", "print(1)"], "");
            assert_eq!((run.status, run.stdout.as_str()), (0, "1\n"), "{variant}/{profile}: {run:?}");

            let inspect = xtask_command(&["inspect", modules.join("micropython.exnref.wasm").to_str().unwrap()])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&inspect.stdout);
            assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
            assert!(text.contains(&format!("\"variant\": \"{variant}\"")), "{text}");
            assert!(text.contains(&format!("\"profile\": \"{profile}\"")), "{text}");
            assert!(text.contains("\"exception_handling\": \"exnref\""), "{text}");
        }
    }
}

#[test]
fn variants_differ_in_their_modules() {
    let build_dir = tempfile::tempdir().unwrap();
    let probe = "import sys\nfor name in ('json', 'framebuf', 'uctypes'):\n    try:\n        __import__(name)\n        print(name, 'yes')\n    except ImportError:\n        print(name, 'no')";
    let expected = [
        ("minimal", "json no\nframebuf no\nuctypes no\n"),
        ("standard", "json yes\nframebuf no\nuctypes no\n"),
        ("full", "json yes\nframebuf yes\nuctypes yes\n"),
    ];
    for (variant, modules_present) in expected {
        let modules = build(build_dir.path(), variant, "size");
        let run = run_node(&modules.join("micropython.wasm"), &[], &["-c", probe], "");
        assert_eq!(run.stdout, modules_present, "{variant}: {run:?}");
    }
}

#[test]
fn two_clean_builds_in_different_folders_are_byte_identical() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let a = build(first.path(), "standard", "size");
    let b = build(second.path(), "standard", "size");
    for name in ["micropython.wasm", "micropython.exnref.wasm", "micropython-lib.wasm", "micropython-lib.exnref.wasm"] {
        let (left, right) = (fs::read(a.join(name)).unwrap(), fs::read(b.join(name)).unwrap());
        assert!(left == right, "{name} differs between two clean builds");
    }
}
