//! The compiled-code cache, seen from fresh processes: written once,
//! loaded afterwards, rewritten when damaged, and off when asked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use micropython_wasm::CACHE_DIR_ENV;

/// Runs `-c print(1)` in a fresh process using `cache` and returns how long it took.
fn print_one(cache: &Path) -> Duration {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_micropython-wasm"))
        .args(["-c", "print(1)"])
        .env(CACHE_DIR_ENV, cache)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n", "{output:?}");
    assert!(output.status.success(), "{output:?}");
    elapsed
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir).map_or(Vec::new(), |d| d.map(|e| e.unwrap().path()).collect());
    found.sort();
    found
}

#[test]
fn compiled_code_is_written_once_then_loaded() {
    let cache = tempfile::tempdir().unwrap();
    let cold = print_one(cache.path());
    let files = entries(cache.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("micropython-") && name.contains("-wasmtime48-plain-") && name.ends_with(".cwasm"),
        "{name}"
    );
    let written = fs::metadata(&files[0]).unwrap().modified().unwrap();

    let warm = print_one(cache.path());
    assert_eq!(entries(cache.path()), files, "no new entry");
    assert_eq!(fs::metadata(&files[0]).unwrap().modified().unwrap(), written, "loaded, not rewritten");
    assert!(warm < cold, "a warm start ({warm:?}) should beat compiling ({cold:?})");

    // Limits that change the generated code get entries of their own.
    let output = Command::new(env!("CARGO_BIN_EXE_micropython-wasm"))
        .args(["--fuel", "10000000", "-c", "print(2)"])
        .env(CACHE_DIR_ENV, cache.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "2\n");
    assert!(entries(cache.path()).iter().any(|path| path.to_string_lossy().contains("-fuel-")));
}

#[test]
fn a_damaged_entry_is_replaced() {
    let cache = tempfile::tempdir().unwrap();
    print_one(cache.path());
    let entry = entries(cache.path()).remove(0);
    fs::write(&entry, b"not a compiled module").unwrap();
    print_one(cache.path());
    assert!(fs::metadata(&entry).unwrap().len() > 100_000, "recompiled and written again");
}

#[test]
fn a_flipped_byte_is_never_run_and_the_entry_is_replaced() {
    let cache = tempfile::tempdir().unwrap();
    print_one(cache.path());
    let entry = entries(cache.path()).remove(0);
    let intact = fs::read(&entry).unwrap();
    // In the machine code, in its header, at its end: wasmtime checks the
    // artifact's header and version, but would run damaged code (SIGILL).
    for at in [intact.len() / 2, intact.len() / 3, 100, intact.len() - 1] {
        let mut damaged = intact.clone();
        damaged[at] ^= 0x10;
        fs::write(&entry, &damaged).unwrap();
        print_one(cache.path());
        assert_eq!(entries(cache.path()), std::slice::from_ref(&entry), "byte {at}: replaced in place");
        assert!(fs::read(&entry).unwrap() == intact, "byte {at}: recompiled and written again");
    }
}

#[test]
fn an_empty_cache_variable_turns_the_cache_off() {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_micropython-wasm"))
        .args(["-c", "print(1)"])
        .env(CACHE_DIR_ENV, "")
        .env("HOME", home.path())
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n");
    assert!(entries(home.path()).is_empty());
}

#[test]
fn precompile_fills_a_cache_folder() {
    let cache = tempfile::tempdir().unwrap();
    let sandbox = micropython_wasm::Sandbox::builder()
        .cache_dir(cache.path())
        .timeout(Duration::from_secs(60))
        .fuel(u64::MAX / 2)
        .build()
        .unwrap();
    sandbox.precompile().unwrap();
    let names: Vec<String> =
        entries(cache.path()).iter().map(|path| path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|name| name.contains("-fuel-epoch-")), "{names:?}");
}
