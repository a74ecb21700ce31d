//! The `micropython-wasm` program: what it runs, what it may see, and its
//! exit statuses.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_micropython-wasm"))
}

fn run(args: &[&str]) -> Output {
    run_in(args, Path::new("."), "")
}

fn run_in(args: &[&str], dir: &Path, stdin: &str) -> Output {
    let mut child = cli()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// (exit status, stdout, stderr)
fn outcome(output: &Output) -> (i32, String, String) {
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

#[test]
fn runs_code_with_dash_c() {
    assert_eq!(outcome(&run(&["-c", "print(1 + 1)"])), (0, "2\n".into(), String::new()));
    let (status, stdout, _) = outcome(&run(&["-c", "import sys; print(sys.argv)", "a", "b"]));
    assert_eq!((status, stdout.as_str()), (0, "['-c', 'a', 'b']\n"));
}

#[test]
fn exit_statuses_follow_cpython() {
    let (status, _, stderr) = outcome(&run(&["-c", "def f():\n    raise ValueError('boom')\nf()"]));
    assert_eq!(status, 1);
    assert!(
        stderr.starts_with("Traceback (most recent call last):") && stderr.ends_with("ValueError: boom\n"),
        "{stderr}"
    );
    assert_eq!(outcome(&run(&["-c", "raise SystemExit(7)"])).0, 7);
    assert_eq!(outcome(&run(&["-c", "import sys; sys.exit()"])).0, 0);
    let (status, _, stderr) = outcome(&run(&["-c", "import sys; sys.exit('bye')"]));
    assert_eq!((status, stderr.as_str()), (1, "bye\n"));
}

#[test]
fn usage_errors_exit_two() {
    let (status, _, stderr) = outcome(&run(&["--frobnicate"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("unknown option --frobnicate") && stderr.contains("usage:"), "{stderr}");
    let (status, _, stderr) = outcome(&run(&["/no/such/script.py"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("can't open '/no/such/script.py'"), "{stderr}");
    assert_eq!(outcome(&run(&["--dir", "/no/such/folder", "-c", "1"])).0, 2);
    assert_eq!(outcome(&run(&["-c"])).0, 2);
}

#[test]
fn help_and_version() {
    let (status, stdout, _) = outcome(&run(&["--help"]));
    assert_eq!(status, 0);
    assert!(stdout.contains("--timeout SECONDS"), "{stdout}");
    let (status, stdout, _) = outcome(&run(&["--version"]));
    assert_eq!(status, 0);
    assert!(stdout.contains(micropython_wasm::MICROPYTHON_VERSION), "{stdout}");
}

#[test]
fn runs_a_script_that_imports_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("helper.py"), "def double(x):\n    return 2 * x\n").unwrap();
    fs::write(
        dir.path().join("main.py"),
        "import sys, helper\nprint(sys.argv[1:], helper.double(21))\nprint(open(__file__).readline().strip())\n",
    )
    .unwrap();
    let (status, stdout, stderr) = outcome(&run_in(&["main.py", "x", "y"], dir.path(), ""));
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stdout, "['x', 'y'] 42\nimport sys, helper\n");
}

#[test]
fn runs_a_module_from_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    // (`__name__` should be "__main__": the port's -m passes the wrong
    // marker to __import__, which the command module shows under any host.)
    fs::write(dir.path().join("greet.py"), "import sys\nprint('hello', sys.argv[1:])\n").unwrap();
    let (status, stdout, stderr) = outcome(&run_in(&["-m", "greet", "you"], dir.path(), ""));
    assert_eq!((status, stdout.as_str()), (0, "hello ['you']\n"), "{stderr}");
}

#[test]
fn reads_the_program_or_statements_from_stdin() {
    let (status, stdout, _) = outcome(&run_in(&["-", "arg"], Path::new("."), "import sys\nprint(sys.argv)\n"));
    assert_eq!((status, stdout.as_str()), (0, "['-', 'arg']\n"));
    // Not a terminal: statements are read and run one by one, as `python < file`.
    let session = "x = 20\nx + 1\nfor i in range(2):\n    print('loop', i)\n\nimport sys\nsys.exit(4)\n";
    let (status, stdout, _) = outcome(&run_in(&[], Path::new("."), session));
    assert_eq!((status, stdout.as_str()), (4, "21\nloop 0\nloop 1\n"));
}

#[test]
fn directories_are_read_only_unless_rw() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "data").unwrap();
    let host = dir.path().to_str().unwrap();
    let write = "open('/d/out.txt', 'w').write('x')";
    let (status, stdout, _) = outcome(&run(&["--dir", &format!("{host}:/d"), "-c", "print(open('/d/in.txt').read())"]));
    assert_eq!((status, stdout.as_str()), (0, "data\n"));
    let (status, _, stderr) = outcome(&run(&["--dir", &format!("{host}:/d"), "-c", write]));
    assert_eq!(status, 1);
    assert!(stderr.contains("OSError"), "{stderr}");
    assert_eq!(outcome(&run(&["--dir", &format!("{host}:/d:rw"), "-c", write])).0, 0);
    assert_eq!(fs::read_to_string(dir.path().join("out.txt")).unwrap(), "x");
    // Without a guest path the folder keeps its own absolute path.
    let code = format!("print(open('{host}/in.txt').read())");
    assert_eq!(outcome(&run(&["--dir", host, "-c", &code])).1, "data\n");
}

#[test]
fn passes_only_the_environment_it_is_given() {
    let code = "import os; print(os.getenv('GREETING'), os.getenv('HOME'))";
    assert_eq!(outcome(&run(&["--env", "GREETING=hi there", "-c", code])).1, "hi there None\n");
}

#[test]
fn limits_give_their_own_exit_statuses() {
    let (status, stdout, stderr) = outcome(&run(&["--fuel", "5000000", "-c", "print('go')\nwhile True: pass"]));
    assert_eq!((status, stdout.as_str()), (152, "go\n"));
    assert!(stderr.contains("out of fuel"), "{stderr}");
    let (status, _, stderr) = outcome(&run(&["--timeout", "300ms", "-c", "while True: pass"]));
    assert_eq!(status, 124);
    assert!(stderr.contains("timed out"), "{stderr}");
    let (status, _, stderr) = outcome(&run(&["--memory", "4m", "-c", "x = bytearray(8 << 20)"]));
    assert_eq!(status, 1);
    assert!(stderr.contains("MemoryError"), "{stderr}");
    let (status, _, stderr) = outcome(&run(&["--memory", "4m", "--heap", "16m", "-c", "pass"]));
    assert_eq!(status, 137);
    assert!(stderr.contains("memory limit"), "{stderr}");
    assert_eq!(outcome(&run(&["--fuel", "100000000", "--timeout", "30", "-c", "print(sum(range(100)))"])).1, "4950\n");
}

#[test]
fn runs_another_command_module() {
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("wasm/micropython.wasm");
    let (status, stdout, stderr) = outcome(&run(&["--wasm", module.to_str().unwrap(), "-c", "print(3 * 14)"]));
    assert_eq!((status, stdout.as_str()), (0, "42\n"), "{stderr}");
    assert_eq!(outcome(&run(&["--wasm", "/no/such.wasm", "-c", "1"])).0, 1);
}
