//! The build stage as a whole: clean and incremental builds, driven through
//! `cargo xtask build` exactly as a user runs it.

mod support;

use std::fs;
use std::time::{Duration, SystemTime};

use support::xtask_command;

/// Runs `cargo xtask build` with its own build folder and returns stderr.
fn build_in(build_dir: &std::path::Path) -> String {
    let output = xtask_command(&["build"]).env("MPWASM_BUILD_DIR", build_dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "build failed:\n{stderr}");
    stderr
}

fn compiled_count(stderr: &str) -> usize {
    let line = stderr.lines().find(|line| line.starts_with("compiled ")).expect("build reports what it compiled");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn rebuilds_nothing_when_nothing_changed_and_one_object_per_changed_file() {
    let build_dir = tempfile::tempdir().unwrap();
    let first = build_in(build_dir.path());
    assert!(compiled_count(&first) > 100, "a clean build compiles everything:\n{first}");
    let module = build_dir.path().join("standard-size/micropython.wasm");
    let clean_bytes = fs::read(&module).unwrap();

    let second = build_in(build_dir.path());
    assert_eq!(compiled_count(&second), 0, "{second}");

    // A newer timestamp on one port file must recompile exactly that file.
    let port_file = support::repo_root().join("ports/wasm/mphalport.c");
    let later = SystemTime::now() + Duration::from_secs(2);
    fs::File::options().write(true).open(&port_file).unwrap().set_modified(later).unwrap();
    let third = build_in(build_dir.path());
    assert_eq!(compiled_count(&third), 1, "{third}");
    assert_eq!(fs::read(&module).unwrap(), clean_bytes, "same sources must give the same module");
}

#[test]
fn unknown_variant_names_the_available_ones() {
    let output = xtask_command(&["build", "--variant", "nonesuch"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown variant `nonesuch`; available: full, minimal, standard"), "{stderr}");
}
