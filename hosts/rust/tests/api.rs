//! The library API: runs, Python errors, sessions, host functions, files,
//! environment, arguments and the command module.

use std::fs;

use micropython_wasm::{json, Error, HostError, Sandbox, Value};

fn sandbox() -> Sandbox {
    Sandbox::new().unwrap()
}

#[test]
fn run_captures_stdout_and_stderr() {
    let output = micropython_wasm::run("import sys\nprint(1 + 1)\nsys.stderr.write('warn\\n')").unwrap();
    assert_eq!(output.stdout, "2\n");
    assert_eq!(output.stderr, "warn\n");
    assert_eq!(output.exit_code, 0);
    assert_eq!(output.fuel_consumed, None);
}

#[test]
fn each_run_starts_afresh() {
    let sandbox = sandbox();
    sandbox.run("x = 1").unwrap();
    let error = sandbox.run("print(x)").unwrap_err();
    assert!(matches!(&error, Error::Exception { exception, .. } if exception.type_name == "NameError"), "{error:?}");
}

#[test]
fn uncaught_exception_is_an_error_with_its_traceback() {
    let error = sandbox().run("print('before')\ndef f():\n    raise ValueError('boom')\nf()").unwrap_err();
    let Error::Exception { exception, output } = &error else { panic!("{error:?}") };
    assert_eq!((exception.type_name.as_str(), exception.message.as_str()), ("ValueError", "boom"));
    assert!(exception.traceback.starts_with("Traceback (most recent call last):"), "{exception:?}");
    assert!(exception.traceback.ends_with("ValueError: boom\n"), "{exception:?}");
    assert_eq!(output.stdout, "before\n");
    assert_eq!(output.stderr, exception.traceback, "the traceback is printed as CPython does");
    assert_eq!((output.exit_code, error.exit_code()), (1, 1));
    assert_eq!(error.to_string(), "ValueError: boom");
}

#[test]
fn system_exit_maps_to_exit_codes() {
    let sandbox = sandbox();
    assert_eq!(sandbox.run("print('x')\nimport sys\nsys.exit(0)").unwrap().stdout, "x\n");
    assert!(sandbox.run("raise SystemExit").is_ok());
    let error = sandbox.run("raise SystemExit(7)").unwrap_err();
    assert!(matches!(error, Error::Exit { code: 7, .. }), "{error:?}");
    assert_eq!(error.exit_code(), 7);
    let error = sandbox.run("import sys\nsys.exit('bye')").unwrap_err();
    let Error::Exit { code: 1, output } = &error else { panic!("{error:?}") };
    assert_eq!(output.stderr, "bye\n");
}

#[test]
fn syntax_errors_are_exceptions() {
    let error = sandbox().run("def f(:\n  pass").unwrap_err();
    assert!(matches!(&error, Error::Exception { exception, .. } if exception.type_name == "SyntaxError"), "{error:?}");
}

#[test]
fn session_keeps_state_between_snippets() {
    let mut session = sandbox().session().unwrap();
    session.run("import json\ndata = {'a': [1, 2]}").unwrap();
    session.run("data['b'] = 3").unwrap();
    assert_eq!(session.run("print(json.dumps(data))").unwrap().stdout, "{\"a\": [1, 2], \"b\": 3}\n");
    // Errors and SystemExit leave the interpreter usable.
    assert!(matches!(session.run("1/0"), Err(Error::Exception { .. })));
    assert!(matches!(session.run("raise SystemExit(3)"), Err(Error::Exit { code: 3, .. })));
    assert_eq!(session.run("print(len(data))").unwrap().stdout, "2\n");
    session.reset().unwrap();
    assert!(matches!(session.run("data"), Err(Error::Exception { .. })));
}

#[test]
fn interactive_input_echoes_expression_values() {
    let mut session = sandbox().session().unwrap();
    assert_eq!(session.run_interactive("x = 6 * 7").unwrap().stdout, "");
    assert_eq!(session.run_interactive("x").unwrap().stdout, "42\n");
    assert_eq!(session.run_interactive("'a' + 'b'").unwrap().stdout, "'ab'\n");
    assert_eq!(session.run("x").unwrap().stdout, "", "run() does not echo");
}

#[test]
fn needs_more_input_follows_the_repl_rules() {
    let mut session = sandbox().session().unwrap();
    assert!(!session.needs_more_input("x = 1").unwrap());
    assert!(session.needs_more_input("for i in range(3):").unwrap());
    assert!(session.needs_more_input("for i in range(3):\n    print(i)").unwrap());
    assert!(!session.needs_more_input("for i in range(3):\n    print(i)\n").unwrap());
    assert!(session.needs_more_input("f(1,").unwrap());
    assert!(session.needs_more_input("s = '''abc").unwrap());
}

#[test]
fn host_functions_take_and_return_json() {
    let sandbox = Sandbox::builder()
        .host_function("add", |args: &[Value]| {
            let number = |i: usize| args.get(i).and_then(Value::as_i64).ok_or(HostError::new("add takes integers"));
            Ok(json!(number(0)? + number(1)?))
        })
        .host_function("echo", |args: &[Value]| Ok(Value::Array(args.to_vec())))
        .build()
        .unwrap();
    let output = sandbox
        .run("import host\nprint(host.add(2, 3), host.call('add', 40, 2))\nback = host.echo(None, True, 1.5, 'é', [1, {'k': 'v'}])\nprint(back[:3], back[3] == 'é', back[4])")
        .unwrap();
    assert_eq!(output.stdout, "5 42\n[None, True, 1.5] True [1, {'k': 'v'}]\n");
}

#[test]
fn host_errors_raise_host_error_in_python() {
    let sandbox = Sandbox::builder()
        .host_function("fail", |_: &[Value]| Err(HostError::new("nope")))
        .host_function("parse", |args: &[Value]| {
            let number: i64 = args[0].as_str().unwrap_or_default().parse()?;
            Ok(json!(number))
        })
        .host_function("panics", |_: &[Value]| panic!("host bug"))
        .build()
        .unwrap();
    let code = "import host\n\
                for call in (lambda: host.fail(), lambda: host.parse('x'), lambda: host.panics(), lambda: host.missing()):\n    \
                    try:\n        call()\n    except host.HostError as e:\n        print(e)\n\
                print(host.parse('12'))";
    let output = sandbox.run(code).unwrap();
    assert_eq!(
        output.stdout,
        "nope\ninvalid digit found in string\nhost function panics panicked: host bug\nno host function named \"missing\"\n12\n"
    );
    let error = sandbox.run("import host\nhost.fail()").unwrap_err();
    assert!(matches!(&error, Error::Exception { exception, .. } if exception.type_name == "HostError"), "{error:?}");
}

#[test]
fn host_functions_work_in_sessions() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let seen = counter.clone();
    let sandbox = Sandbox::builder()
        .host_function("tick", move |_: &[Value]| Ok(json!(seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)))
        .build()
        .unwrap();
    let mut session = sandbox.session().unwrap();
    session.run("import host").unwrap();
    session.run("host.tick()").unwrap();
    assert_eq!(session.run("print(host.tick())").unwrap().stdout, "2\n");
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn argv_environment_and_stdin() {
    let sandbox = Sandbox::builder()
        .args(["prog.py", "--flag", "ü"])
        .env("GREETING", "hello")
        .stdin("line one\nline two\n")
        .build()
        .unwrap();
    let output = sandbox
        .run("import sys, os\nprint(sys.argv[:2], sys.argv[2] == 'ü')\nprint(os.getenv('GREETING'), os.getenv('HOME'))\nprint(sys.stdin.read().split())")
        .unwrap();
    assert_eq!(output.stdout, "['prog.py', '--flag'] True\nhello None\n['line', 'one', 'line', 'two']\n");
}

#[test]
fn directories_are_read_only_unless_asked() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    fs::write(dir.join("data.txt"), "payload").unwrap();
    let read_only = Sandbox::builder().dir(dir, "/data").build().unwrap();
    let output = read_only
        .run("import os\nprint(os.listdir('/data'))\nprint(open('/data/data.txt').read())\ntry:\n    open('/data/new.txt', 'w').write('x')\nexcept OSError as e:\n    print('refused', e.errno)")
        .unwrap();
    assert!(output.stdout.starts_with("['data.txt']\npayload\nrefused "), "{output:?}");
    assert!(!dir.join("new.txt").exists());

    let writable = Sandbox::builder().dir_rw(dir, "/data").build().unwrap();
    writable.run("with open('/data/new.txt', 'w') as f:\n    f.write('written')").unwrap();
    assert_eq!(fs::read_to_string(dir.join("new.txt")).unwrap(), "written");

    let outside = sandbox().run("import os\nos.listdir('/data')").unwrap_err();
    assert!(matches!(outside, Error::Exception { .. }), "nothing is visible without a dir: {outside:?}");
}

#[test]
fn bad_configuration_is_reported_at_build() {
    let error = Sandbox::builder().dir("/definitely/not/here", "/x").build().unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(matches!(Sandbox::builder().heap(1).build(), Err(Error::Config(_))));
}

#[test]
fn command_module_runs_scripts_with_exit_codes() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    fs::write(dir.join("helper.py"), "def double(x):\n    return 2 * x\n").unwrap();
    fs::write(dir.join("main.py"), "import sys, helper\nprint(sys.argv, helper.double(21))\nsys.exit(5)\n").unwrap();
    let sandbox = Sandbox::builder().dir(dir, "/app").build().unwrap();
    assert_eq!(sandbox.run_command(&["-c", "print('hi')"]).unwrap().stdout, "hi\n");
    let error = sandbox.run_command(&["/app/main.py", "x"]).unwrap_err();
    let Error::Exit { code: 5, output } = &error else { panic!("{error:?}") };
    assert_eq!(output.stdout, "['/app/main.py', 'x'] 42\n");
    let error = sandbox.run_command(&["-c", "1/0"]).unwrap_err();
    let Error::Exit { code: 1, output } = &error else { panic!("{error:?}") };
    assert!(output.stderr.ends_with("ZeroDivisionError: divide by zero\n"), "{output:?}");
}

#[test]
fn sandboxes_run_in_parallel_threads() {
    let sandbox = sandbox();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let sandbox = sandbox.clone();
            std::thread::spawn(move || sandbox.run(&format!("print(sum(range({i} * 1000)))")).unwrap().stdout)
        })
        .collect();
    let sums: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sums, ["0\n", "499500\n", "1999000\n", "4498500\n"]);
}

#[test]
fn sandboxes_are_shareable_and_sessions_movable() {
    fn shareable<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shareable::<Sandbox>();
    shareable::<Error>();
    movable::<micropython_wasm::Session>();
}
