//! The component bundle made by `cargo xtask dist` (`dist/component/`),
//! embedded the way a WIT user embeds it: wasmtime's component bindings
//! generated from the bundle's own WIT files, WASI 0.2 from wasmtime-wasi.
//! The command component runs through wasmtime-wasi's `wasi:cli/command`
//! bindings (the `wasmtime` CLI is not built here: it is far too heavy to
//! compile for a test), and jco runs the legacy-encoding component in Node.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use support::{repo_root, run_checked, xtask};

wasmtime::component::bindgen!({ path: "../ports/wasm/wit", world: "library" });

use exports::mpwasm::micropython::interpreter::{Limits, Output, PythonError};

/// `dist/component/`, built once per test binary.
fn bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        xtask(&["dist"]);
        support::dist_dir().join("component")
    })
}

/// What the embedder's side of a store holds: WASI, the host functions'
/// log, and the memory limit.
struct Embedder {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    host_calls: Vec<(String, String)>,
}

impl WasiView for Embedder {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The embedder's functions that Python reaches through `host`.
impl mpwasm::micropython::host::Host for Embedder {
    fn call(&mut self, name: String, args_json: String) -> Result<String, String> {
        self.host_calls.push((name.clone(), args_json.clone()));
        let args: Vec<serde_json::Value> = serde_json::from_str(&args_json).map_err(|err| err.to_string())?;
        match name.as_str() {
            "add" => Ok((args.iter().map(|arg| arg.as_i64().unwrap_or(0)).sum::<i64>()).to_string()),
            "greet" => Ok(serde_json::json!({ "hello": args[0] }).to_string()),
            "fail" => Err(format!("fail was called with {args_json}")),
            _ => Err(format!("no host function named {name}")),
        }
    }
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_exceptions(true).consume_fuel(true).epoch_interruption(true);
        Engine::new(&config).unwrap()
    })
}

fn library_component() -> &'static Component {
    static COMPONENT: OnceLock<Component> = OnceLock::new();
    COMPONENT.get_or_init(|| Component::from_file(engine(), bundle().join("micropython-library.wasm")).unwrap())
}

/// A fresh instance with `memory_bytes` of linear memory at most, fuel
/// `fuel` and no epoch deadline.
fn instantiate(memory_bytes: usize, fuel: u64) -> (Store<Embedder>, Library) {
    instantiate_from(library_component(), memory_bytes, fuel)
}

fn instantiate_from(component: &Component, memory_bytes: usize, fuel: u64) -> (Store<Embedder>, Library) {
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    Library::add_to_linker::<_, HasSelf<Embedder>>(&mut linker, |state| state).unwrap();
    let embedder = Embedder {
        wasi: WasiCtxBuilder::new().build(),
        table: ResourceTable::new(),
        limits: StoreLimitsBuilder::new().memory_size(memory_bytes).build(),
        host_calls: Vec::new(),
    };
    let mut store = Store::new(engine(), embedder);
    store.limiter(|state| &mut state.limits);
    store.set_fuel(fuel).unwrap();
    store.set_epoch_deadline(u64::MAX / 2);
    let library = Library::instantiate(&mut store, component, &linker).unwrap();
    (store, library)
}

const PLENTY_OF_FUEL: u64 = 10_000_000_000;
const PLENTY_OF_MEMORY: usize = 256 << 20;

fn default_limits() -> Limits {
    Limits { heap_bytes: None, output_bytes: None }
}

struct Session<'a> {
    store: &'a mut Store<Embedder>,
    library: &'a Library,
    handle: ResourceAny,
}

// The error type is the WIT record, as bindgen! generates it.
#[allow(clippy::result_large_err)]
impl<'a> Session<'a> {
    fn new(store: &'a mut Store<Embedder>, library: &'a Library, limits: Limits) -> Session<'a> {
        let handle = library.mpwasm_micropython_interpreter().session().call_constructor(&mut *store, limits).unwrap();
        Session { store, library, handle }
    }

    fn run(&mut self, code: &str) -> Result<Output, PythonError> {
        self.try_run(code).unwrap()
    }

    fn try_run(&mut self, code: &str) -> wasmtime::Result<Result<Output, PythonError>> {
        self.library.mpwasm_micropython_interpreter().session().call_run(&mut *self.store, self.handle, code)
    }

    fn eval(&mut self, expression: &str) -> Result<String, PythonError> {
        self.library
            .mpwasm_micropython_interpreter()
            .session()
            .call_eval(&mut *self.store, self.handle, expression)
            .unwrap()
    }
}

fn stdout(result: Result<Output, PythonError>) -> String {
    match result {
        Ok(output) => output.stdout,
        Err(error) => panic!("Python failed: {error:?}"),
    }
}

#[test]
fn a_session_keeps_its_globals_and_evaluates_to_json() {
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, PLENTY_OF_FUEL);
    let mut session = Session::new(&mut store, &library, default_limits());
    assert_eq!(stdout(session.run("x = 21\nimport json")), "");
    assert_eq!(stdout(session.run("print(x * 2)\nprint('é')")), "42\né\n");
    let value: serde_json::Value = serde_json::from_str(&session.eval("[x, 'a', None, {'k': 1.5}]").unwrap()).unwrap();
    assert_eq!(value, serde_json::json!([21, "a", null, { "k": 1.5 }]));
    let output = session.run("import sys\nsys.stderr.write('warn\\n')\nsys.stdout.buffer.write(b'\\xff!')").unwrap();
    assert_eq!(output.stderr, "warn\n");
    assert_eq!(output.stdout, "\u{fffd}!", "bytes that are not UTF-8 arrive as U+FFFD");
    assert!(!output.truncated);
}

#[test]
fn python_errors_are_records_and_the_session_survives_them() {
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, PLENTY_OF_FUEL);
    let mut session = Session::new(&mut store, &library, default_limits());
    let error = session.run("print('before')\ndef f():\n    return 1 / 0\nf()").unwrap_err();
    assert_eq!(error.type_, "ZeroDivisionError");
    assert_eq!(error.message, "divide by zero");
    assert!(error.traceback.contains("line 3, in f"), "{}", error.traceback);
    assert_eq!(error.output.stdout, "before\n");
    assert_eq!(session.run("x = (").unwrap_err().type_, "SyntaxError");
    let exit = session.run("import sys\nsys.exit(3)").unwrap_err();
    assert_eq!((exit.type_.as_str(), exit.message.as_str()), ("SystemExit", "3"));
    assert_eq!(session.eval("undefined_name").unwrap_err().type_, "NameError");
    let not_json = session.eval("object()").unwrap_err();
    assert_eq!(not_json.type_, "TypeError", "a value JSON cannot hold: {not_json:?}");
    assert_eq!(session.eval("1 +").unwrap_err().type_, "SyntaxError");
    assert_eq!(session.eval("1 + 1").unwrap(), "2");
}

#[test]
fn a_new_session_or_one_shot_run_replaces_the_previous_session() {
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, PLENTY_OF_FUEL);
    let interpreter = library.mpwasm_micropython_interpreter();
    let first = interpreter.session().call_constructor(&mut store, default_limits()).unwrap();
    interpreter.session().call_run(&mut store, first, "x = 1").unwrap().unwrap();
    let second = interpreter.session().call_constructor(&mut store, default_limits()).unwrap();
    let closed = interpreter.session().call_run(&mut store, first, "print(x)").unwrap().unwrap_err();
    assert_eq!(closed.type_, "SessionClosed", "{closed:?}");
    let fresh = interpreter.session().call_run(&mut store, second, "print(x)").unwrap().unwrap_err();
    assert_eq!(fresh.type_, "NameError", "the new session starts empty");
    first.resource_drop(&mut store).unwrap();
    interpreter.session().call_run(&mut store, second, "y = 2").unwrap().unwrap();

    let once = interpreter.call_run(&mut store, "print(sum(range(10)))", default_limits()).unwrap().unwrap();
    assert_eq!(once.stdout, "45\n");
    let error = interpreter.call_run(&mut store, "raise KeyError('k')", default_limits()).unwrap().unwrap_err();
    assert_eq!((error.type_.as_str(), error.message.as_str()), ("KeyError", "k"));
    let closed = interpreter.session().call_run(&mut store, second, "print(y)").unwrap().unwrap_err();
    assert_eq!(closed.type_, "SessionClosed");
    second.resource_drop(&mut store).unwrap();

    let third = interpreter.session().call_constructor(&mut store, default_limits()).unwrap();
    let output = interpreter.session().call_run(&mut store, third, "print('third')").unwrap().unwrap();
    assert_eq!(output.stdout, "third\n");
}

/// Each session's heap is a block of C memory that dropping the session
/// gives back: many sessions and one-shot runs, one after another, fit in
/// memory for a few heaps (the allocator reuses and merges freed blocks).
#[test]
fn sessions_dropped_one_after_another_reuse_their_memory() {
    let heap_bytes = 4u32 << 20;
    let limits = || Limits { heap_bytes: Some(heap_bytes), output_bytes: None };
    let (mut store, library) = instantiate(3 * (heap_bytes as usize) + (4 << 20), PLENTY_OF_FUEL);
    let interpreter = library.mpwasm_micropython_interpreter();
    for round in 0..25 {
        let session = interpreter.session().call_constructor(&mut store, limits()).unwrap();
        let code = format!("data = bytearray({})\nprint(len(data))", 1000 * (round + 1));
        let output = interpreter.session().call_run(&mut store, session, &code).unwrap().unwrap();
        assert_eq!(output.stdout, format!("{}\n", 1000 * (round + 1)), "round {round}");
        session.resource_drop(&mut store).unwrap();
        let once = interpreter.call_run(&mut store, "print('once')", limits()).unwrap().unwrap();
        assert_eq!(once.stdout, "once\n", "round {round}");
    }
}

#[test]
fn python_calls_the_embedder_through_host() {
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, PLENTY_OF_FUEL);
    let mut session = Session::new(&mut store, &library, default_limits());
    assert_eq!(stdout(session.run("import host\nprint(host.add(1, 2, 39), host.call('add', 5))")), "42 5\n");
    assert_eq!(session.eval("host.greet('wasm')").unwrap(), r#"{"hello": "wasm"}"#);
    let caught = session.run("try:\n    host.fail([1])\nexcept host.HostError as e:\n    print('caught', e)").unwrap();
    assert_eq!(caught.stdout, "caught fail was called with [[1]]\n");
    let error = session.run("host.missing()").unwrap_err();
    assert_eq!((error.type_.as_str(), error.message.as_str()), ("HostError", "no host function named missing"));
    let calls = &store.data().host_calls;
    assert_eq!(calls[0], ("add".to_owned(), "[1, 2, 39]".to_owned()));
    assert_eq!(calls.len(), 5);
}

#[test]
fn the_heap_and_output_limits_hold() {
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, PLENTY_OF_FUEL);
    let small = Limits { heap_bytes: Some(256 * 1024), output_bytes: Some(1000) };
    let mut session = Session::new(&mut store, &library, small);
    let bomb = session.run("a = []\nwhile True:\n    a.append(bytearray(10000))").unwrap_err();
    assert_eq!(bomb.type_, "MemoryError");
    let flood = session.run("for i in range(1000):\n    print('0123456789')").unwrap();
    assert!(flood.truncated);
    assert_eq!(flood.stdout.len(), 1000);
    assert_eq!(stdout(session.run("a = None\nprint('still here')")), "still here\n");
    let tiny =
        Session::new(&mut store, &library, Limits { heap_bytes: Some(100), output_bytes: None }).run("1").unwrap_err();
    assert_eq!(tiny.type_, "ValueError");
    assert!(tiny.message.contains("at least"), "{}", tiny.message);
}

#[test]
fn the_engine_limits_memory_fuel_and_time() {
    // Linear memory: a heap past the store's limit cannot be allocated, and
    // the session says so instead of trapping.
    let (mut store, library) = instantiate(24 << 20, PLENTY_OF_FUEL);
    let refused = Session::new(&mut store, &library, Limits { heap_bytes: Some(64 << 20), output_bytes: None })
        .run("print(1)")
        .unwrap_err();
    assert_eq!(refused.type_, "ValueError");
    assert!(refused.message.contains("could not be allocated"), "{}", refused.message);
    assert_eq!(stdout(Session::new(&mut store, &library, default_limits()).run("print(1)")), "1\n");

    // Fuel: a runaway loop traps when the fuel runs out; the next instance
    // runs normally.
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, 200_000_000);
    let mut session = Session::new(&mut store, &library, default_limits());
    let trap = session.try_run("while True:\n    pass").unwrap_err();
    assert_eq!(trap.downcast_ref::<wasmtime::Trap>(), Some(&wasmtime::Trap::OutOfFuel), "{trap:?}");
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, PLENTY_OF_FUEL);
    assert_eq!(stdout(Session::new(&mut store, &library, default_limits()).run("print(2)")), "2\n");

    // Wall clock: an epoch deadline stops a runaway loop within its time.
    let (mut store, library) = instantiate(PLENTY_OF_MEMORY, u64::MAX / 2);
    let mut session = Session::new(&mut store, &library, default_limits());
    session.store.set_epoch_deadline(1);
    let ticker = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(200));
        engine().increment_epoch();
    });
    let started = Instant::now();
    let trap = session.try_run("n = 0\nwhile True:\n    n += 1").unwrap_err();
    ticker.join().unwrap();
    assert_eq!(trap.downcast_ref::<wasmtime::Trap>(), Some(&wasmtime::Trap::Interrupt), "{trap:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped after {:?}", started.elapsed());
}

/// The command component through wasmtime-wasi's `wasi:cli/command`
/// bindings: `-c CODE`, a file in a preopened folder, and exit statuses.
fn run_command(args: &[&str], dir: Option<&Path>) -> (Result<(), i32>, String) {
    run_command_component(command_component(), args, dir, "")
}

fn command_component() -> &'static Component {
    static COMPONENT: OnceLock<Component> = OnceLock::new();
    COMPONENT.get_or_init(|| Component::from_file(engine(), bundle().join("micropython-command.wasm")).unwrap())
}

fn run_command_component(
    component: &Component,
    args: &[&str],
    dir: Option<&Path>,
    stdin: &str,
) -> (Result<(), i32>, String) {
    let stdout = MemoryOutputPipe::new(1 << 20);
    let stderr = MemoryOutputPipe::new(1 << 20);
    let mut wasi = WasiCtxBuilder::new();
    wasi.args(&[["micropython"].as_slice(), args].concat())
        .stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(stdin.to_owned()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    if let Some(dir) = dir {
        wasi.preopened_dir(dir, "/app", wasmtime_wasi::FsPerms::ReadOnly).unwrap();
    }
    let embedder = Embedder {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limits: StoreLimitsBuilder::new().build(),
        host_calls: Vec::new(),
    };
    let mut store = Store::new(engine(), embedder);
    store.set_fuel(PLENTY_OF_FUEL).unwrap();
    store.set_epoch_deadline(u64::MAX / 2);
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let command = wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, component, &linker).unwrap();
    let status = match command.wasi_cli_run().call_run(&mut store) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(())) => Err(1),
        Err(err) => Err(err
            .downcast_ref::<wasmtime_wasi::I32Exit>()
            .unwrap_or_else(|| panic!("{err:?}\n--- stderr\n{}", String::from_utf8_lossy(&stderr.contents())))
            .0),
    };
    drop(store);
    (status, String::from_utf8_lossy(&stdout.contents()).into_owned())
}

#[test]
fn the_command_component_runs_code_files_and_exits() {
    assert_eq!(run_command(&["-c", "print(6 * 7)"], None), (Ok(()), "42\n".to_owned()));
    // WASI 0.2's exit carries success or failure, not a number.
    assert_eq!(run_command(&["-c", "import sys; sys.exit(3)"], None).0, Err(1));
    assert_eq!(run_command(&["-c", "import sys; print('bye'); sys.exit(0)"], None), (Ok(()), "bye\n".to_owned()));
    assert_eq!(run_command(&["-c", "1/0"], None).0, Err(1));
    let app = tempfile::tempdir().unwrap();
    support::write_script_app(app.path());
    let (status, out) = run_command(&["/app/main.py", "arg"], Some(app.path()));
    assert_eq!(status, Ok(()));
    assert_eq!(out, "['/app/main.py', 'arg'] 42\n");
    // No program: the REPL reads stdin and echoes an expression's value.
    let (status, out) = run_command_component(command_component(), &[], None, "x = 6\nx * 7\n");
    assert_eq!(status, Ok(()));
    assert_eq!(out, "42\n");
}

/// `cargo xtask dist --config`: the example configuration's frozen package
/// and C module are in both components.
#[test]
#[ignore = "full tier: a build with the example configuration takes minutes when cold"]
fn a_configured_build_puts_user_modules_into_the_components() {
    let dist = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-config-dist");
    let config = repo_root().join("examples/micropython-wasm.toml");
    let output = support::xtask_command(&["dist", "--config", config.to_str().unwrap()])
        .env("MPWASM_DIST_DIR", &dist)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let code = "import textstats, fastmath\nprint(textstats.summary('a bb'), fastmath.gcd(84, 36))";
    let expected = "{'words': 2, 'longest': 'bb'} 12\n";

    let library = Component::from_file(engine(), dist.join("component/micropython-library.wasm")).unwrap();
    let (mut store, library) = instantiate_from(&library, PLENTY_OF_MEMORY, PLENTY_OF_FUEL);
    assert_eq!(stdout(Session::new(&mut store, &library, default_limits()).run(code)), expected);

    let command = Component::from_file(engine(), dist.join("component/micropython-command.wasm")).unwrap();
    assert_eq!(run_command_component(&command, &["-c", code], None, ""), (Ok(()), expected.to_owned()));
}

#[test]
fn the_bundle_lists_its_files_and_imports_only_wasi_0_2_and_host() {
    let bundle = bundle();
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    for name in [
        "micropython-library.wasm",
        "micropython-library.legacy-eh.wasm",
        "micropython-command.wasm",
        "wit/micropython.wit",
        "provenance.json",
    ] {
        let line = sums.lines().find(|line| line.ends_with(&format!("  {name}"))).unwrap_or_else(|| panic!("{name}"));
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(fs::read(bundle.join(name)).unwrap()));
        assert!(line.starts_with(&digest), "{name}: {line}");
    }
    assert!(fs::read_to_string(bundle.join("README.md")).unwrap().contains("legacy exception-handling encoding"));
    // The components' imports as wasmtime sees them.
    for (name, host) in [("micropython-library.wasm", true), ("micropython-command.wasm", false)] {
        let component = Component::from_file(engine(), bundle.join(name)).unwrap();
        let imports: Vec<String> =
            component.component_type().imports(engine()).map(|(name, _)| name.to_owned()).collect();
        for import in &imports {
            let wasi = ["wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:filesystem/", "wasi:random/"]
                .iter()
                .any(|prefix| import.starts_with(prefix) && import.contains("@0.2."));
            let allowed = wasi || (host && import == "mpwasm:micropython/host@0.1.0");
            assert!(allowed, "{name} imports {import}");
        }
        assert_eq!(imports.iter().any(|import| import.starts_with("mpwasm:")), host, "{name}: {imports:?}");
    }
}

/// The legacy-encoding component run in Node through jco's transpiler
/// (pinned in tests/component/package-lock.json; tests/component/).
///
/// jco's translator validates core modules without the exception-handling
/// proposal, so it rejects MicroPython's (whichever encoding). It is given
/// a twin of the component whose main core module has the same imports,
/// exports and data but function bodies of `unreachable` and no tags; the
/// generated JavaScript depends only on those, and the test then puts the
/// real legacy-encoding core module in the twin's place, which Node runs.
#[test]
fn jco_runs_the_legacy_encoding_component_in_node() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-jco");
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    for name in ["package.json", "package-lock.json", "host.js", "component.test.mjs"] {
        fs::copy(repo_root().join("tests/component").join(name), dir.join(name)).unwrap();
    }
    let component = fs::read(bundle().join("micropython-library.legacy-eh.wasm")).unwrap();
    let (range, core) = main_core_module(&component);
    let twin_core = without_exception_handling(core);
    fs::write(dir.join("twin.wasm"), splice_module(&component, range, &twin_core)).unwrap();
    fs::write(dir.join("twin.core.wasm"), &twin_core).unwrap();
    fs::write(dir.join("real.core.wasm"), core).unwrap();
    run_checked(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir));
    run_checked(Command::new("node").args(["--test", "component.test.mjs"]).current_dir(&dir));
}

/// The first core module nested in `component` (wit-component puts the main
/// module first) and its byte range.
fn main_core_module(component: &[u8]) -> (std::ops::Range<usize>, &[u8]) {
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        if let wasmparser::Payload::ModuleSection { unchecked_range, .. } = payload.unwrap() {
            return (unchecked_range.clone(), &component[unchecked_range]);
        }
    }
    panic!("the component holds no core module");
}

/// `core` with every function body `unreachable` and its tags removed.
fn without_exception_handling(core: &[u8]) -> Vec<u8> {
    let mut module = walrus::Module::from_buffer(core).unwrap();
    for (_, function) in module.funcs.iter_local_mut() {
        let builder = function.builder_mut();
        builder.func_body().instrs_mut().clear();
        builder.func_body().unreachable();
    }
    let tags: Vec<_> = module.tags.iter().map(|tag| tag.id()).collect();
    for tag in tags {
        module.tags.delete(tag);
    }
    module.emit_wasm()
}

/// `component` with the module section holding `range` replaced by `module`.
fn splice_module(component: &[u8], range: std::ops::Range<usize>, module: &[u8]) -> Vec<u8> {
    let leb = |mut value: usize| {
        let mut bytes = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            bytes.push(if value == 0 { byte } else { byte | 0x80 });
            if value == 0 {
                return bytes;
            }
        }
    };
    // wasm-encoder writes the section's id (1, a core module) and its size
    // as a minimal LEB128 just before the module.
    let header = [vec![1u8], leb(range.len())].concat();
    let start = range.start - header.len();
    assert_eq!(&component[start..range.start], header.as_slice(), "the module section's header");
    [&component[..start], &[1u8], &leb(module.len()), module, &component[range.end..]].concat()
}
