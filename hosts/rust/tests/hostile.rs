//! Hostile code: whatever a snippet does, it ends in a Python exception or a
//! typed limit error, the host process carries on, and the next run works.

use std::fs;
use std::time::{Duration, Instant};

use micropython_wasm::{Error, Sandbox, Session, Stream};

/// The Python exception type an error carries, or its variant's name.
fn outcome(result: Result<micropython_wasm::Output, Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(Error::Exception { exception, .. }) => exception.type_name,
        Err(Error::OutOfFuel { .. }) => "OutOfFuel".to_owned(),
        Err(Error::Timeout { .. }) => "Timeout".to_owned(),
        Err(Error::MemoryLimit { .. }) => "MemoryLimit".to_owned(),
        Err(Error::OutputLimit { .. }) => "OutputLimit".to_owned(),
        // Display, not Debug: the captured output of a flood is huge.
        Err(other) => format!("Trap or other: {}", other.to_string().chars().take(500).collect::<String>()),
    }
}

/// After a hostile snippet the session either still answers, or it was
/// stopped by a limit and answers again once reset.
fn still_answers(session: &mut Session) {
    if session.is_stopped() {
        session.reset().unwrap();
    }
    assert_eq!(session.run("print(1 + 1)").unwrap().stdout, "2\n");
}

/// Loops that try to outlast the limits: catching every exception,
/// recursing in `finally`, sleeping, or grinding a huge number.
const RUNAWAYS: &[&str] = &[
    "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
    "def f():\n    try:\n        while True:\n            pass\n    finally:\n        f()\nf()",
    "def gen():\n    while True:\n        yield 1\nfor _ in gen():\n    pass",
    "import time\nwhile True:\n    try:\n        time.sleep(1)\n    except BaseException:\n        pass",
    "x = 10 ** 10 ** 8",
];

#[test]
fn runaway_code_is_stopped_by_fuel() {
    let sandbox = Sandbox::builder().fuel(20_000_000).build().unwrap();
    let mut session = sandbox.session().unwrap();
    for code in RUNAWAYS {
        // time.sleep burns no fuel: only the clock can stop it.
        let expected = if code.contains("sleep") { continue } else { "OutOfFuel" };
        assert_eq!(outcome(sandbox.run(code)), expected, "{code}");
        assert_eq!(outcome(session.run(code)), expected, "{code}");
        still_answers(&mut session);
    }
}

#[test]
fn runaway_code_is_stopped_by_the_clock() {
    let limit = Duration::from_millis(300);
    let sandbox = Sandbox::builder().timeout(limit).build().unwrap();
    sandbox.precompile().unwrap();
    let mut session = sandbox.session().unwrap();
    for code in RUNAWAYS {
        let started = Instant::now();
        assert_eq!(outcome(sandbox.run(code)), "Timeout", "{code}");
        assert_eq!(outcome(session.run(code)), "Timeout", "{code}");
        assert!(started.elapsed() < 2 * limit + Duration::from_secs(3), "{code}: {:?}", started.elapsed());
        still_answers(&mut session);
    }
}

#[test]
fn memory_bombs_are_memory_errors() {
    let sandbox = Sandbox::builder().memory(32 << 20).timeout(Duration::from_secs(60)).build().unwrap();
    let mut session = sandbox.session().unwrap();
    // (code, exception, whether a global keeps the heap full afterwards)
    let bombs = [
        ("x = 'x' * 10**9", "MemoryError", false),
        // A repeat count past a machine word is refused before any allocation.
        ("x = 'x' * 10**10", "OverflowError", false),
        ("x = bytearray(1 << 30)", "MemoryError", false),
        ("x = [0] * 10**9", "MemoryError", false),
        ("s = 'x'\nwhile True:\n    s += s", "MemoryError", false),
        ("d = {}\ni = 0\nwhile True:\n    d[i] = str(i) * 10\n    i += 1", "MemoryError", true),
        ("keep = []\nwhile True:\n    keep.append([0] * 100)", "MemoryError", true),
    ];
    for (code, expected, keeps_heap_full) in bombs {
        assert_eq!(outcome(sandbox.run(code)), expected, "{code}");
        assert_eq!(outcome(session.run(code)), expected, "{code}");
        let cleanup = session.run("keep = d = s = x = None");
        if keeps_heap_full {
            // Not even `keep = None` compiles in a full heap: every snippet
            // is a clean MemoryError until the session is reset.
            assert_eq!(outcome(cleanup), "MemoryError", "{code}");
            assert!(!session.is_stopped());
            session.reset().unwrap();
        } else {
            cleanup.unwrap();
        }
        still_answers(&mut session);
    }
    // A bomb the heap could hold but the memory limit cannot is the limit's error.
    let tight = Sandbox::builder().memory(8 << 20).heap(64 << 20).build().unwrap();
    assert_eq!(outcome(tight.run("x = bytearray(32 << 20)")), "MemoryLimit");
}

/// Recursion in Python frames and in C (printing, serialising, compiling
/// nested data) ends in a Python exception (MicroPython has no
/// RecursionError: it raises RuntimeError), never in a trap that would stop
/// the session.
const RECURSIONS: &[(&str, &str)] = &[
    ("def f():\n    return f()\nf()", "RuntimeError"),
    ("l = []\nfor _ in range(100000):\n    l = [l]\nrepr(l)", "RuntimeError"),
    ("import json\nd = {}\nfor _ in range(100000):\n    d = {'a': d}\njson.dumps(d)", "RuntimeError"),
    ("import re\nre.compile('(' * 10000 + ')' * 10000)", "ValueError"),
    ("class A:\n    def __getattr__(self, name):\n        return getattr(self, name)\nA().x", "RuntimeError"),
    ("eval('-' * 100000 + '1')", "MemoryError"),
];

#[test]
fn deep_recursion_is_a_python_error() {
    // No fuel: reporting a RecursionError of ten thousand frames alone takes
    // billions of units.
    let sandbox = Sandbox::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let mut session = sandbox.session().unwrap();
    for (code, expected) in RECURSIONS {
        assert_eq!(outcome(session.run(code)), *expected, "{code}");
        assert!(!session.is_stopped(), "{code}");
        still_answers(&mut session);
    }
}

#[test]
fn deep_recursion_is_a_python_error_on_small_thread_stacks() {
    // Spawned threads get 2 MiB of stack, less than the guest may use: the
    // sandbox runs guest code on a stack of its own.
    let sandbox = Sandbox::new().unwrap();
    let handles: Vec<_> = RECURSIONS[..4]
        .iter()
        .map(|&(code, expected)| {
            let sandbox = sandbox.clone();
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || (outcome(sandbox.run(code)), expected))
                .unwrap()
        })
        .collect();
    for handle in handles {
        let (got, expected) = handle.join().unwrap();
        assert_eq!(got, expected);
    }
}

#[test]
fn output_floods_are_cut_at_the_cap() {
    let sandbox = Sandbox::builder().max_output(10_000).build().unwrap();
    let floods = [
        ("while True:\n    try:\n        print('spam')\n    except BaseException:\n        pass", Stream::Stdout),
        ("print('x' * 10**6)", Stream::Stdout),
        ("import sys\nwhile True:\n    sys.stdout.write('y' * 4096)", Stream::Stdout),
        ("def f():\n    f()\nwhile True:\n    try:\n        f()\n    except RuntimeError as e:\n        import sys\n        sys.print_exception(e, sys.stderr)", Stream::Stderr),
    ];
    let mut session = sandbox.session().unwrap();
    for (code, stream) in floods {
        for result in [sandbox.run(code), session.run(code)] {
            let error = result.unwrap_err();
            let Error::OutputLimit { stream: flooded, limit, output } = &error else { panic!("{code}: {error:?}") };
            assert_eq!((*flooded, *limit), (stream, 10_000), "{code}");
            let captured = if stream == Stream::Stdout { &output.stdout } else { &output.stderr };
            assert_eq!(captured.len(), 10_000, "{code}");
        }
        assert!(session.is_stopped());
        still_answers(&mut session);
    }
}

#[test]
fn files_outside_the_preopened_dir_are_unreachable() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(root.path().join("secret.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink(root.path().join("secret.txt"), data.join("link")).unwrap();
    std::os::unix::fs::symlink(root.path(), data.join("up")).unwrap();
    let sandbox = Sandbox::builder().dir(&data, "/data").build().unwrap();
    let host_path = root.path().join("secret.txt");
    let attempts = [
        "/data/../secret.txt".to_owned(),
        "/data/link".to_owned(),
        "/data/up/secret.txt".to_owned(),
        "../secret.txt".to_owned(),
        "/etc/passwd".to_owned(),
        host_path.display().to_string(),
    ];
    for path in &attempts {
        let code = format!("print(open({path:?}).read())");
        let result = sandbox.run(&code);
        let printed = match &result {
            Ok(output) => Some(output),
            Err(error) => error.output(),
        };
        assert!(printed.is_some_and(|output| output.stdout.is_empty()), "{path}: {result:?}");
        assert_eq!(outcome(result), "OSError", "{path}");
    }
    let listing = sandbox.run("import os\nprint(os.listdir('/data'))\nos.listdir('/')").unwrap_err();
    assert!(
        matches!(&listing, Error::Exception { exception, output } if exception.type_name == "OSError" && output.stdout.contains("'link'")),
        "{listing:?}"
    );
}

#[test]
fn a_read_only_dir_refuses_every_kind_of_write() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keep.txt"), "original").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    let sandbox = Sandbox::builder().dir(dir.path(), "/ro").build().unwrap();
    let writes = [
        "open('/ro/new.txt', 'w')",
        "open('/ro/keep.txt', 'w')",
        "open('/ro/keep.txt', 'a').write('more')",
        "open('/ro/keep.txt', 'r+').write('x')",
        "import os\nos.remove('/ro/keep.txt')",
        "import os\nos.rename('/ro/keep.txt', '/ro/moved.txt')",
        "import os\nos.mkdir('/ro/made')",
        "import os\nos.rmdir('/ro/sub')",
    ];
    for code in writes {
        assert_eq!(outcome(sandbox.run(code)), "OSError", "{code}");
    }
    let mut names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["keep.txt", "sub"]);
    assert_eq!(fs::read_to_string(dir.path().join("keep.txt")).unwrap(), "original");
}

#[test]
fn there_is_no_network() {
    // WASI preview 1 cannot create sockets, and the port builds no socket module.
    let sandbox = Sandbox::new().unwrap();
    for module in ["socket", "usocket", "ssl", "network", "requests", "urequests", "asyncio.streams_open"] {
        let code = format!("import {module}");
        let result = outcome(sandbox.run(&code));
        assert!(result == "ImportError", "{code}: {result}");
    }
    let code =
        "import asyncio\nasync def main():\n    await asyncio.open_connection('example.org', 80)\nasyncio.run(main())";
    let result = outcome(sandbox.run(code));
    assert!(["ImportError", "AttributeError", "OSError"].contains(&result.as_str()), "{result}");
}

#[test]
fn the_host_carries_on_after_every_kind_of_hostile_run() {
    let sandbox = Sandbox::builder()
        .fuel(20_000_000)
        .timeout(Duration::from_secs(2))
        .memory(32 << 20)
        .max_output(10_000)
        .build()
        .unwrap();
    let recursions = RECURSIONS.iter().map(|(code, _)| *code);
    let all = RUNAWAYS.iter().copied().chain(recursions).chain(["while True:\n    print('flood')"]);
    let handles: Vec<_> = all
        .map(|code| {
            let sandbox = sandbox.clone();
            std::thread::spawn(move || {
                let result = outcome(sandbox.run(code));
                assert_ne!(result, "ok", "{code}");
                assert!(!result.starts_with("Trap"), "{code}: {result}");
                sandbox.run("print(6 * 7)").unwrap().stdout
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), "42\n");
    }
}
