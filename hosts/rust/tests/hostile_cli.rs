//! Hostile code and hostile command lines under the `micropython-wasm`
//! program: each ends with its own exit status and message, promptly,
//! whatever the code tries, and the program itself never panics.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_micropython-wasm"))
}

/// (exit status, stdout, stderr) of `output`, checked for a panic of the CLI.
fn outcome(output: Output) -> (i32, String, String) {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked at"), "the CLI panicked:\n{stderr}");
    (output.status.code().unwrap_or(-1), text(&output.stdout), stderr)
}

/// (exit status, stdout, stderr) of `micropython-wasm ARGS`.
fn run<S: AsRef<OsStr>>(args: &[S]) -> (i32, String, String) {
    outcome(cli().args(args).stdin(Stdio::null()).output().expect("the CLI starts"))
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

#[test]
fn sleeps_and_waits_for_stdin_end_at_the_timeout() {
    let started = Instant::now();
    let (status, _, stderr) = run(&["--timeout", "500ms", "-c", "import time; time.sleep(3)"]);
    let elapsed = started.elapsed();
    assert_eq!(status, 124, "{stderr}");
    assert!(stderr.contains("timed out after 500ms"), "{stderr}");
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    // stdin stays open and silent: the program waits for input.
    for args in [&["-c", "import sys; sys.stdin.read()"][..], &["-c", "input()"], &["-"], &[]] {
        let mut child = cli()
            .args(["--timeout", "300ms"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let stdin = child.stdin.take();
        let output = child.wait_with_output().unwrap();
        let elapsed = started.elapsed();
        drop(stdin);
        let (status, _, stderr) = outcome(output);
        assert_eq!(status, 124, "{args:?}: {stderr}");
        assert!(elapsed < Duration::from_millis(2000), "{args:?}: {elapsed:?}");
    }
}

#[test]
fn every_exit_status_is_defined() {
    // As a POSIX process: the status is n modulo 256.
    for (n, status) in [
        (125, 125),
        (126, 126),
        (127, 127),
        (200, 200),
        (255, 255),
        (256, 0),
        (257, 1),
        (-1, 255),
        // Past the guest's machine word: still the low byte, never a trap.
        (1_i64 << 40 | 3, 3),
    ] {
        let (got, _, stderr) = run(&["-c", &format!("import sys; sys.exit({n})")]);
        assert_eq!((got, stderr.as_str()), (status, ""), "sys.exit({n})");
    }
}

#[test]
fn hostile_command_lines_are_usage_errors_not_panics() {
    let folder = tempfile::tempdir().unwrap();
    let folder = folder.path().to_str().unwrap();
    for (args, message) in [
        (&["--timeout", "1e300", "-c", "1"][..], "longer than a clock can count"),
        (&["--timeout", "inf", "-c", "1"], "longer than a clock can count"),
        (&["--timeout", "NaN", "-c", "1"], "not a duration"),
        (&["--timeout", "-1", "-c", "1"], "not a duration"),
        (&["--memory", "99999999999999g", "-c", "1"], "too large"),
        (&["--fuel", "99999999999999999999999", "-c", "1"], "not a whole number"),
        (&["--heap", "5g", "-c", "1"], "over 4 GiB"),
        (&["--dir", "", "-c", "1"], "--dir expects"),
        (&["--dir", "/tmp:relative", "-c", "1"], "--dir expects"),
        (&["--env", "novalue", "-c", "1"], "--env expects"),
        (&[folder], "it is a folder, not a script"),
        (&["--isolated", "/"], "it is a folder, not a script"),
    ] {
        let (status, _, stderr) = run(args);
        assert_eq!(status, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Long enough never to pass is no limit at all.
    assert_eq!(run(&["--timeout", "1e18", "-c", "print(1)"]).1, "1\n");
    assert_eq!(run(&["--fuel", "18446744073709551615", "-c", "print(1)"]).1, "1\n");
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_work_or_are_refused() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let raw = |bytes: &[u8]| OsString::from_vec(bytes.to_vec());
    let root = tempfile::tempdir().unwrap();
    // A folder whose name is not text can still be granted at a guest path.
    let mut host = root.path().as_os_str().to_owned();
    host.push(raw(b"/data-\xff"));
    fs::create_dir(&host).unwrap();
    fs::write(Path::new(&host).join("f.txt"), "inside").unwrap();
    let mut mapping = host.clone();
    mapping.push(":/d");
    let (status, stdout, stderr) = run(&[raw(b"--dir"), mapping, raw(b"-c"), raw(b"print(open('/d/f.txt').read())")]);
    assert_eq!((status, stdout.as_str()), (0, "inside\n"), "{stderr}");
    // What reaches the guest as text must be text.
    let script = Path::new(&host).join("main.py");
    fs::write(&script, "print(1)").unwrap();
    for args in [
        vec![raw(b"-c"), raw(b"print('\xff')")],
        vec![raw(b"-c"), raw(b"1"), raw(b"\xfe")],
        vec![raw(b"-m"), raw(b"mod\xff")],
        vec![raw(b"--env"), raw(b"KEY=\xff"), raw(b"-c"), raw(b"1")],
        vec![raw(b"--dir"), raw(b"/tmp:/\xff"), raw(b"-c"), raw(b"1")],
        vec![raw(b"--memory"), raw(b"\xff")],
        vec![raw(b"--\xff")],
        vec![script.into_os_string()],
        vec![host],
    ] {
        let (status, _, stderr) = run(&args);
        assert_eq!(status, 2, "{args:?}: {stderr}");
        assert!(
            ["UTF-8", "unknown option", "not a script"].iter().any(|word| stderr.contains(word)),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    for args in [&["--help"][..], &["--version"], &["-c", "print(1)"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = cli().args(args).stdout(writer).stderr(Stdio::piped()).output().unwrap();
        let (status, _, _) = outcome(output);
        assert!(status == 0 || status == 1, "{args:?}: {status}");
    }
}

#[test]
fn a_denied_path_is_named() {
    let (status, _, stderr) = run(&["-c", "open('/etc/passwd')"]);
    assert_eq!(status, 1);
    assert!(
        stderr.ends_with(
            "OSError: [Errno 76] ENOTCAPABLE\n(errno 76 is WASI's ENOTCAPABLE: the path is outside the folders granted to the sandbox)\n"
        ),
        "{stderr}"
    );
    // Errors MicroPython names are left alone.
    let dir = tempfile::tempdir().unwrap();
    let mapping = format!("{}:/d", dir.path().display());
    let (_, _, stderr) = run(&["--dir", &mapping, "-c", "open('/d/nothing')"]);
    assert!(stderr.ends_with("OSError: [Errno 44] ENOENT\n"), "{stderr}");
}

/// A folder with a script, a module beside it and a secret in a subfolder.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("private")).unwrap();
    fs::write(dir.path().join("private/secret.txt"), "SECRET").unwrap();
    fs::write(dir.path().join("helper.py"), "VALUE = 42\n").unwrap();
    let script = "import sys\n\
                  print(open(__file__).readline().strip())\n\
                  for path in sys.argv[1:]:\n    \
                      try:\n        print(open(path).read())\n    \
                      except OSError as e:\n        print('denied', e.errno)\n";
    fs::write(dir.path().join("main.py"), script).unwrap();
    dir
}

#[test]
fn a_script_sees_its_folder_unless_isolated() {
    let dir = project();
    let folder = fs::canonicalize(dir.path()).unwrap();
    let script = folder.join("main.py");
    let secret = folder.join("private/secret.txt").to_str().unwrap().to_owned();
    // FILE grants the script's folder, everything below it included.
    let (status, stdout, _) = run(&[script.to_str().unwrap(), &secret]);
    assert_eq!((status, stdout.as_str()), (0, "import sys\nSECRET\n"));
    // --isolated grants a copy of the script alone, deleted afterwards.
    let child = cli()
        .args(["--isolated", script.to_str().unwrap(), &secret, "/etc/passwd"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let copy = std::env::temp_dir().join(format!("micropython-wasm-{}-0", child.id()));
    let (status, stdout, stderr) = outcome(child.wait_with_output().unwrap());
    assert_eq!((status, stdout.as_str()), (0, "import sys\ndenied 44\ndenied 76\n"), "{stderr}");
    assert!(!copy.exists(), "{} is left behind", copy.display());
    let (status, _, stderr) = run(&["--isolated", "-c", "import helper"]);
    assert_eq!(status, 1);
    assert!(stderr.contains("ImportError"), "{stderr}");
}

#[test]
fn a_module_sees_the_current_folder_unless_isolated() {
    let dir = project();
    let in_project =
        |args: &[&str]| outcome(cli().args(args).current_dir(dir.path()).stdin(Stdio::null()).output().unwrap());
    let (status, stdout, stderr) = in_project(&["-m", "main", "/private/secret.txt"]);
    assert_eq!((status, stdout.as_str()), (0, "import sys\nSECRET\n"), "{stderr}");
    let (status, _, stderr) = in_project(&["--isolated", "-m", "main"]);
    assert_eq!(status, 1);
    assert!(stderr.contains("ImportError"), "{stderr}");
}
