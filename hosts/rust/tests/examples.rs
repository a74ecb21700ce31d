//! The programs in `examples/` run and print what they promise. Cargo
//! builds them for `cargo test`; they sit beside this test's own binary.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> String {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().and_then(|deps| deps.parent()).unwrap();
    let path: PathBuf = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let output = Command::new(&path).output().unwrap_or_else(|err| panic!("running {}: {err}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{name} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[test]
fn run() {
    assert_eq!(example("run"), "hello from micropython\nZeroDivisionError raised after printing \"before\\n\"\n");
}

#[test]
fn session() {
    assert_eq!(example("session"), "[('ada', 36), ('alan', 41)]\n['ada', 'alan']\n");
}

#[test]
fn host_function() {
    assert_eq!(example("host_function"), "5.0\n['deep', 'thought']\nHostError: no entry named question\n");
}

#[test]
fn limits() {
    let stdout = example("limits");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("sum(range(1000)) used ") && lines[0].ends_with(" fuel"), "{stdout}");
    assert!(lines[1].starts_with("fuel: out of fuel") && lines[1].ends_with("(exit status 152)"), "{stdout}");
    assert_eq!(lines[2], "timeout: timed out after 200ms (exit status 124)");
    assert_eq!(lines[3], "memory: MemoryError: memory allocation failed, allocating 1000000001 bytes (exit status 1)");
    assert_eq!(lines[4], "memory: memory limit exceeded: the sandbox allows 4194304 bytes (exit status 137)");
    assert_eq!(lines[5], "output: stdout exceeded its limit of 1024 bytes (exit status 153)");
}
