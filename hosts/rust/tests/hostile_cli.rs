//! Hostile code under the `micropython-wasm` program: each ends with its own
//! exit status and message, promptly, whatever the code tries.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// (exit status, stdout, stderr) of `micropython-wasm ARGS`.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_micropython-wasm"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the CLI starts");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

const CATCH_ALL_LOOP: &str =
    "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass";

#[test]
fn fuel_and_the_clock_stop_loops_that_catch_everything() {
    let (status, _, stderr) = run(&["--fuel", "20000000", "-c", CATCH_ALL_LOOP]);
    assert_eq!(status, 152, "{stderr}");
    assert!(stderr.contains("out of fuel"), "{stderr}");
    let started = Instant::now();
    let (status, _, stderr) = run(&["--timeout", "300ms", "-c", CATCH_ALL_LOOP]);
    assert_eq!(status, 124, "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    let sleeper = "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except BaseException:\n        pass";
    assert_eq!(run(&["--timeout", "300ms", "-c", sleeper]).0, 124);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn memory_bombs_are_memory_errors() {
    for bomb in ["x = 'x' * 10**9", "x = [0] * 10**9", "keep = []\nwhile True:\n    keep.append([0] * 100)"] {
        let (status, _, stderr) = run(&["--memory", "32m", "-c", bomb]);
        assert_eq!(status, 1, "{bomb}: {stderr}");
        assert!(stderr.trim_end().lines().last().unwrap_or_default().starts_with("MemoryError"), "{bomb}: {stderr}");
    }
}

#[test]
fn deep_recursion_is_a_python_error() {
    let nested = "l = []\nfor _ in range(100000):\n    l = [l]\ntext = repr(l)";
    for code in ["def f():\n    return f()\nf()", nested] {
        let (status, stdout, stderr) = run(&["-c", code]);
        assert_eq!((status, stdout.as_str()), (1, ""), "{code}: {}", &stderr[stderr.len().saturating_sub(500)..]);
        assert!(
            stderr.trim_end().ends_with("RuntimeError: maximum recursion depth exceeded")
                || stderr.trim_end().ends_with("RuntimeError: pystack exhausted"),
            "{code}: {}",
            &stderr[stderr.len().saturating_sub(500)..]
        );
    }
}

#[test]
fn an_output_flood_stops_when_the_reader_goes_away() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_micropython-wasm"))
        .args([
            "--timeout",
            "5",
            "-c",
            "while True:\n    try:\n        print('flood' * 100)\n    except OSError:\n        pass",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut head = vec![0; 100_000];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The pipe is closed now: the writes fail, and the code swallows the
    // errors, so only the timeout can stop it; without one it would spin.
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(124));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(head.starts_with(b"floodflood"));
}

#[test]
fn files_outside_the_given_dirs_and_the_network_are_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), "data").unwrap();
    let mapping = format!("{}:/d", dir.path().display());
    for code in [
        "open('/etc/passwd')",
        "open('/d/../etc/passwd')",
        "open('/d/new.txt', 'w')",
        "import os\nos.remove('/d/in.txt')",
        "import os\nos.listdir('/')",
    ] {
        let (status, stdout, stderr) = run(&["--dir", &mapping, "-c", code]);
        assert_eq!((status, stdout.as_str()), (1, ""), "{code}: {stderr}");
        assert!(stderr.contains("OSError"), "{code}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("in.txt")).unwrap(), "data");
    let (status, _, stderr) = run(&["-c", "import socket"]);
    assert_eq!(status, 1);
    assert!(stderr.contains("ImportError"), "{stderr}");
}
