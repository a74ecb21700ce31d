//! The Rust bundle made by `cargo xtask dist`: copied out of the repository
//! it builds on its own and passes its own tests (examples, the CLI, the REPL
//! on a pseudo-terminal, every limit), and its CLI runs the WASI bundle's
//! exnref module under wasmtime, the second host beside Node
//! (tests/wasi_module.rs).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use support::{repo_root, wasi_bundle};

const CRATE: &str = "micropython-wasm";

/// Where the copied crate is compiled: shared between runs (and CI runs on
/// the same machine) so that wasmtime is compiled once.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MPWASM_BUNDLE_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache/mpwasm/target-bundle")
}

/// A fresh copy of `dist/rust/micropython-wasm` outside the repository, as
/// a user would get it, made once per run of this test binary.
fn copied_crate() -> &'static Path {
    static COPY: OnceLock<PathBuf> = OnceLock::new();
    COPY.get_or_init(|| {
        wasi_bundle();
        let source = support::dist_dir().join("rust").join(CRATE);
        let copy = std::env::temp_dir().join("mpwasm-rust-bundle").join(CRATE);
        let _ = fs::remove_dir_all(&copy);
        copy_dir(&source, &copy);
        assert!(!copy.starts_with(repo_root()), "the copy must live outside the repository");
        copy
    })
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap_or_else(|err| panic!("reading {}: {err}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `cargo ARGS` in the copied crate, with the shared target folder.
fn cargo(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO"))
        .current_dir(copied_crate())
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} in the copied crate failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The crate's CLI, built once.
fn cli() -> &'static Path {
    static CLI: OnceLock<PathBuf> = OnceLock::new();
    CLI.get_or_init(|| {
        let build = cargo(&["build", "--locked", "--bin", CRATE]);
        // Users compile the crate: it must build cleanly (the copy is fresh,
        // so the crate itself is always recompiled and its warnings shown).
        let stderr = String::from_utf8_lossy(&build.stderr);
        assert!(!stderr.contains("warning"), "the crate builds with warnings:\n{stderr}");
        target_dir().join("debug").join(CRATE)
    })
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.status, self.stdout, self.stderr)
    }
}

/// Runs the WASI bundle's (standard-encoded) command module through the crate's CLI.
fn run_wasi(options: &[&str], args: &[&str]) -> Run {
    let module = wasi_bundle().join("micropython.wasm");
    let output =
        Command::new(cli()).arg("--wasm").arg(&module).args(options).args(args).output().expect("the CLI starts");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// How long the crate's session fuzzer runs: `MPWASM_FUZZ_SECS`, else 20 s
/// (two minutes in the full tier).
fn fuzz_seconds() -> String {
    let full = std::env::var_os("MPWASM_FULL").is_some_and(|value| !value.is_empty() && value != "0");
    std::env::var("MPWASM_FUZZ_SECS").unwrap_or_else(|_| if full { "120" } else { "20" }.to_owned())
}

#[test]
fn bundle_crate_passes_its_own_tests_outside_the_repo() {
    // The fuzzer mutates MicroPython's own tests beside its built-in seeds.
    let source = String::from_utf8(support::xtask(&["fetch"]).stdout).unwrap();
    let corpus = Path::new(source.trim()).join("tests/basics");
    let load_report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-bundle-load.jsonl");
    let _ = fs::remove_file(&load_report);
    let output = Command::new(env!("CARGO"))
        .current_dir(copied_crate())
        .args(["test", "--locked"])
        .env("CARGO_TARGET_DIR", target_dir())
        .env("MICROPYTHON_WASM_FUZZ_CORPUS", &corpus)
        .env("MICROPYTHON_WASM_FUZZ_SECS", fuzz_seconds())
        .env("MICROPYTHON_WASM_LOAD_REPORT", &load_report)
        .output()
        .expect("cargo runs");
    let log = String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the copied crate's tests failed:\n{log}");
    for suite in ["api", "limits", "cache", "cli", "repl", "examples", "hostile", "hostile_cli", "load", "fuzz"] {
        assert!(log.contains(&format!("Running tests/{suite}.rs")), "suite {suite} did not run:\n{log}");
    }
    assert!(!log.contains(" 0 passed; 0 failed"), "a suite ran no test:\n{log}");
    // The load figures, for the log (and whoever collects it).
    let figures = fs::read_to_string(&load_report).expect("the load tests write their figures");
    assert_eq!(figures.lines().count(), 2, "{figures}");
    eprint!("{figures}");
}

#[test]
fn bundle_crate_is_its_own_workspace_with_docs() {
    let manifest = fs::read_to_string(copied_crate().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    let output = Command::new(env!("CARGO"))
        .current_dir(copied_crate())
        .args(["doc", "--locked", "--no-deps", "--lib"])
        .env("CARGO_TARGET_DIR", target_dir())
        .env("RUSTDOCFLAGS", "-D missing_docs -D rustdoc::broken_intra_doc_links")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn wasi_bundle_prints_under_wasmtime() {
    let run = run_wasi(&[], &["-c", "print(1+1)"]);
    assert_eq!((run.status, run.stdout.as_str()), (0, "2\n"), "{run:?}");
}

#[test]
fn wasi_bundle_runs_a_script_with_arguments_under_wasmtime() {
    let dir = tempfile::tempdir().unwrap();
    support::write_script_app(dir.path());
    // The CLI lets the guest see the script's folder at its own path.
    let script = fs::canonicalize(dir.path().join("main.py")).unwrap();
    let script = script.to_str().unwrap();
    let run = run_wasi(&[], &[script, "x", "y"]);
    assert_eq!((run.status, run.stdout.clone()), (0, format!("['{script}', 'x', 'y'] 42\n")), "{run:?}");
    let mapping = format!("{}:/app", dir.path().display());
    let run = run_wasi(
        &["--dir", &mapping],
        &["-c", "import sys\nsys.path.insert(0, '/app')\nimport helper\nprint(helper.double(4))"],
    );
    assert_eq!((run.status, run.stdout.as_str()), (0, "8\n"), "{run:?}");
}

#[test]
fn wasi_bundle_exit_statuses_under_wasmtime() {
    let run = run_wasi(&[], &["-c", "def f():\n    raise ValueError('boom')\nf()"]);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.starts_with("Traceback (most recent call last):"), "{run:?}");
    assert!(run.stderr.ends_with("ValueError: boom\n"), "{run:?}");
    assert_eq!(run_wasi(&[], &["-c", "raise SystemExit(7)"]).status, 7);
    assert_eq!(run_wasi(&[], &["--frobnicate"]).status, 2);
}

#[test]
fn wasi_bundle_modules_work_under_wasmtime() {
    // Exceptions cross many frames here: the exnref translation at work.
    let code = r#"
import json, re, hashlib, binascii, asyncio, random
assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
assert re.match(r"(\d+)-(\d+)", "12-34").group(2) == "34"
assert binascii.hexlify(hashlib.sha256(b"abc").digest())[:8] == b"ba7816bf"
def deep(n):
    if n == 0:
        raise KeyError(n)
    try:
        return deep(n - 1)
    finally:
        pass
for _ in range(100):
    try:
        deep(50)
    except KeyError:
        pass
async def child(n):
    await asyncio.sleep_ms(1)
    return n * 2
async def main():
    return await asyncio.gather(child(1), child(2))
assert asyncio.run(main()) == [2, 4]
assert 0 <= random.getrandbits(8) < 256
print("ok")
"#;
    let run = run_wasi(&[], &["-c", code]);
    assert_eq!((run.status, run.stdout.as_str()), (0, "ok\n"), "{run:?}");
}

#[test]
fn wasi_bundle_obeys_limits_under_wasmtime() {
    let run = run_wasi(&["--fuel", "5000000"], &["-c", "while True: pass"]);
    assert_eq!(run.status, 152, "{run:?}");
    let run = run_wasi(&["--timeout", "300ms"], &["-c", "while True: pass"]);
    assert_eq!(run.status, 124, "{run:?}");
}
