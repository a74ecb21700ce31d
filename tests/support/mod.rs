//! Helpers shared by the integration tests: building through `cargo xtask`
//! and running modules under the hosts.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs `cargo xtask ARGS` in the repository and returns its output,
/// panicking with everything it printed if it fails.
pub fn xtask(args: &[&str]) -> Output {
    let output = xtask_command(args).output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo xtask {args:?} failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The cache xtask uses (`MPWASM_CACHE_DIR`, else `~/.cache/mpwasm`).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MPWASM_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"));
    base.join("mpwasm")
}

/// `cargo xtask ARGS`, writing its bundles to [`dist_dir`] and its build
/// trees to [`build_dir`] (a test may point either elsewhere).
pub fn xtask_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(repo_root())
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .env("MPWASM_DIST_DIR", dist_dir())
        .env("MPWASM_BUILD_DIR", build_dir());
    command
}

/// Where the tests' own output lives: a folder of the test target, never
/// the checkout's `dist/` and `build/`, so that the release artifacts and
/// the full report of a user's `cargo xtask release` survive the tests.
/// CI keeps the target folder between runs, so builds there are
/// incremental.
pub fn test_output() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mpwasm")
}

/// The tests' `dist/`.
pub fn dist_dir() -> PathBuf {
    test_output().join("dist")
}

/// The tests' `build/`.
pub fn build_dir() -> PathBuf {
    test_output().join("build")
}

/// The tests' `dist/wasi`, built once per test binary by `cargo xtask dist`.
pub fn wasi_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        xtask(&["dist"]);
        dist_dir().join("wasi")
    })
}

/// What a run of a module printed and how it ended.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.status, self.stdout, self.stderr)
    }
}

/// Runs the module under Node's WASI with `dirs` preopened (host, guest).
pub fn run_node(module: &Path, dirs: &[(&Path, &str)], args: &[&str], stdin: &str) -> Run {
    let mut command = Command::new("node");
    command.arg("--no-warnings").arg(repo_root().join("tests/support/run-wasi.mjs")).arg(module);
    for (host, guest) in dirs {
        command.arg("--dir").arg(format!("{}:{guest}", host.display()));
    }
    command.arg("--").args(args);
    run_with_stdin(command, stdin)
}

pub fn run_with_stdin(mut command: Command, stdin: &str) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("starting {command:?}: {err}"));
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A two-file app (`main.py` importing `helper.py`) that prints its argv and
/// 42: the same script every host is asked to run.
pub fn write_script_app(dir: &Path) {
    std::fs::write(dir.join("helper.py"), "def double(x):\n    return 2 * x\n").unwrap();
    std::fs::write(dir.join("main.py"), "import sys, helper\nprint(sys.argv, helper.double(21))\n").unwrap();
}

/// Fails the calling test, saying how to install it, when there is no
/// headless Chromium to drive: Debian's, or the one `MPWASM_CHROMIUM` names
/// (as `chromium.mjs`, beside it, finds it).
pub fn require_chromium() {
    let chromium =
        std::env::var_os("MPWASM_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        chromium.exists(),
        "this test drives a page in headless Chromium, which is not at {}: install it with \
         `apt-get install -y chromium` (or point MPWASM_CHROMIUM at one)",
        chromium.display()
    );
}

/// Runs `command`, returning its stdout; panics with all it printed if it
/// fails or cannot start.
pub fn run_checked(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("starting {command:?} (is it installed? `cargo xtask doctor` says): {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
