//! Hostile code: whatever a snippet does, it ends in a Python exception or a
//! typed limit error, the host process carries on, and the next run works.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use micropython_wasm::{json, Error, Sandbox, Session, Stream, Value};

/// The Python exception type an error carries, or its variant's name.
fn outcome(result: Result<micropython_wasm::Output, Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(Error::Exception { exception, .. }) => exception.type_name,
        Err(Error::OutOfFuel { .. }) => "OutOfFuel".to_owned(),
        Err(Error::Timeout { .. }) => "Timeout".to_owned(),
        Err(Error::MemoryLimit { .. }) => "MemoryLimit".to_owned(),
        Err(Error::OutputLimit { .. }) => "OutputLimit".to_owned(),
        Err(Error::Exit { code, .. }) => format!("Exit({code})"),
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

/// Waits in host calls, where no epoch check can interrupt the guest: each
/// would outlast the timeout many times over (`time.sleep(1e10)` by 300
/// years), and must end at it.
const WAITS: &[&str] = &[
    "import time\ntime.sleep(30)",
    "import time\ntime.sleep_ms(30_000)",
    "import time\ntime.sleep_us(30_000_000)",
    "import time\ntime.sleep(1e10)",
    "import time\nwhile True:\n    try:\n        time.sleep(30)\n    except BaseException:\n        pass",
    "import asyncio\nasync def main():\n    await asyncio.sleep(30)\nasyncio.run(main())",
    "import select\nselect.poll().poll(30_000)",
    "import host\nhost.slow()",
    "import host\nhost.stuck()",
    "import host\nwhile True:\n    try:\n        host.slow()\n    except BaseException:\n        pass",
];

/// Host functions that take far longer than any timeout here, or forever.
fn with_slow_host_functions(builder: micropython_wasm::SandboxBuilder) -> micropython_wasm::SandboxBuilder {
    builder
        .host_function("slow", |_: &[Value]| {
            std::thread::sleep(Duration::from_secs(30));
            Ok(json!("late"))
        })
        .host_function("stuck", |_: &[Value]| loop {
            std::thread::park();
        })
        .host_function("quick", |_: &[Value]| Ok(json!(42)))
}

#[test]
fn waits_in_host_calls_end_at_the_timeout() {
    let limit = Duration::from_millis(300);
    let sandbox = with_slow_host_functions(Sandbox::builder().timeout(limit)).build().unwrap();
    sandbox.precompile().unwrap();
    let mut session = sandbox.session().unwrap();
    for code in WAITS {
        for run in [&mut |code| sandbox.run(code), &mut |code| session.run(code)] as [&mut dyn FnMut(&str) -> _; 2] {
            let started = Instant::now();
            assert_eq!(outcome(run(code)), "Timeout", "{code}");
            let elapsed = started.elapsed();
            assert!(elapsed >= limit && elapsed < limit + Duration::from_secs(2), "{code}: {elapsed:?}");
        }
        still_answers(&mut session);
        assert_eq!(sandbox.run("import host\nprint(host.quick())").unwrap().stdout, "42\n");
    }
    // The command module sleeps the same way.
    let started = Instant::now();
    assert_eq!(outcome(sandbox.run_command(&["-c", "import time\ntime.sleep(30)"])), "Timeout");
    assert!(started.elapsed() < limit + Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn short_waits_still_wait() {
    let sandbox = with_slow_host_functions(Sandbox::builder().timeout(Duration::from_secs(30))).build().unwrap();
    let code = "import time\nt = time.ticks_ms()\ntime.sleep_ms(50)\ntime.sleep(0.05)\nprint(time.ticks_diff(time.ticks_ms(), t) >= 100)";
    assert_eq!(sandbox.run(code).unwrap().stdout, "True\n");
    let code = "import host\nprint(sum(host.quick() for _ in range(100)))";
    assert_eq!(sandbox.run(code).unwrap().stdout, "4200\n");
}

#[test]
fn a_host_function_panic_reaches_python_not_stderr() {
    const CHILD: &str = "MICROPYTHON_WASM_TEST_PANIC_CHILD";
    let sandbox = Sandbox::builder()
        .host_function("boom", |_: &[Value]| panic!("host bug"))
        .host_function("boom_late", |_: &[Value]| -> Result<Value, micropython_wasm::HostError> {
            panic!("{}", String::from("formatted host bug"))
        })
        .build()
        .unwrap();
    let timed = Sandbox::builder()
        .timeout(Duration::from_secs(30))
        .host_function("boom", |_: &[Value]| panic!("host bug"))
        .build()
        .unwrap();
    let code = "import host\nfor f in (host.boom, host.boom_late):\n    try:\n        f()\n    except host.HostError as e:\n        print(e)";
    let expected = "host function boom panicked: host bug\nhost function boom_late panicked: formatted host bug\n";
    if std::env::var_os(CHILD).is_some() {
        assert_eq!(sandbox.run(code).unwrap().stdout, expected);
        let code = "import host\ntry:\n    host.boom()\nexcept host.HostError as e:\n    print(e)";
        assert_eq!(timed.run(code).unwrap().stdout, "host function boom panicked: host bug\n");
        return;
    }
    // Run again in a child process, whose stderr can be read.
    let name = "a_host_function_panic_reaches_python_not_stderr";
    let child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{}\n{stderr}", String::from_utf8_lossy(&child.stdout));
    assert!(!stderr.contains("panicked") && !stderr.contains("host bug"), "{stderr}");
}

/// `bytes`, a hand-assembled WebAssembly command module, in a file.
fn module_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// `(table 1 8388608 funcref) (memory 1)`, whose `_start` grows the table by
/// 65,536 elements until refused, then traps: 64 MiB of table unless a limit
/// stops it first.
const GROWS_A_TABLE: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: [] -> []
    0x03, 0x02, 0x01, 0x00, // one function
    0x04, 0x08, 0x01, 0x70, 0x01, 0x01, 0x80, 0x80, 0x80, 0x04, // table funcref 1..8388608
    0x05, 0x03, 0x01, 0x00, 0x01, // memory 1
    0x07, 0x13, 0x02, 0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // export "memory"
    0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x00, // export "_start"
    0x0a, 0x16, 0x01, 0x14, 0x00, // code: one body, no locals
    0x03, 0x40, // loop
    0xd0, 0x70, 0x41, 0x80, 0x80, 0x04, 0xfc, 0x0f, 0x00, // table.grow 0 (ref.null func) 65536
    0x41, 0x7f, 0x47, 0x0d, 0x00, // br_if 0 (result != -1)
    0x0b, 0x00, 0x0b, // end, unreachable, end
];

/// A module whose start function, run at instantiation before `_start`,
/// loops forever.
const LOOPS_IN_ITS_START_FUNCTION: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: [] -> []
    0x03, 0x03, 0x02, 0x00, 0x00, // two functions
    0x07, 0x0a, 0x01, 0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x01, // export "_start" = 1
    0x08, 0x01, 0x00, // start = 0
    0x0a, 0x0c, 0x02, // code: two bodies
    0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop { br 0 }
    0x02, 0x00, 0x0b, // nothing
];

#[test]
fn the_memory_limit_covers_tables() {
    let dir = tempfile::tempdir().unwrap();
    let module = module_file(dir.path(), "grows-a-table.wasm", GROWS_A_TABLE);
    let limited = Sandbox::builder().memory(16 << 20).command_module(&module).build().unwrap();
    let error = limited.run_command(&[""; 0]).unwrap_err();
    assert!(matches!(error, Error::MemoryLimit { limit, .. } if limit == 16 << 20), "{error:?}");
    // Unlimited, it stops at its own maximum, which is not the sandbox's doing.
    let unlimited = Sandbox::builder().command_module(&module).build().unwrap();
    let error = unlimited.run_command(&[""; 0]).unwrap_err();
    assert!(matches!(error, Error::Trap { .. }), "{error:?}");
}

#[test]
fn fuel_meters_a_start_function() {
    let dir = tempfile::tempdir().unwrap();
    let module = module_file(dir.path(), "loops-in-its-start-function.wasm", LOOPS_IN_ITS_START_FUNCTION);
    // The timeout only stops the test should fuel miss the start function.
    let sandbox =
        Sandbox::builder().fuel(1_000_000).timeout(Duration::from_secs(30)).command_module(&module).build().unwrap();
    let error = sandbox.run_command(&[""; 0]).unwrap_err();
    assert!(matches!(error, Error::OutOfFuel { fuel: 1_000_000, .. }), "{error:?}");
}

#[test]
fn every_exit_status_is_an_exit() {
    let sandbox = Sandbox::new().unwrap();
    let mut session = sandbox.session().unwrap();
    // (n, the status a POSIX process reports for exit(n))
    for (n, status) in [
        (1_i64, 1),
        (125, 125),
        (126, 126),
        (200, 200),
        (255, 255),
        (256, 0),
        (257, 1),
        (-1, 255),
        (-255, 1),
        // Past the guest's machine word: still the low byte, never a trap.
        (1 << 40 | 3, 3),
    ] {
        let code = format!("import sys\nsys.exit({n})");
        let expected = if status == 0 { "ok".to_owned() } else { format!("Exit({status})") };
        assert_eq!(outcome(sandbox.run(&code)), expected, "{code}");
        assert_eq!(outcome(session.run(&code)), expected, "{code}");
        assert_eq!(outcome(sandbox.run_command(&["-c", &code])), expected, "{code}");
    }
    still_answers(&mut session);
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
    // A path outside every granted folder is WASI's ENOTCAPABLE, which the
    // port names but which says nothing of folders: the error explains it.
    let error = sandbox.run("open('/etc/passwd')").unwrap_err();
    assert!(
        error.to_string().starts_with("OSError: [Errno 76] ENOTCAPABLE (errno 76 is WASI's ENOTCAPABLE"),
        "{error}"
    );
    assert!(error.to_string().contains("outside the folders granted to the sandbox"), "{error}");
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
