//! The sandbox: limits, files, environment and host functions, and the ways
//! to run code under them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::cache;
use crate::embedded;
use crate::engine::EngineKind;
use crate::error::Error;
use crate::host::HostError;
use crate::instance;
use crate::interpreter::{self, Interpreter};
use crate::output::Output;
use crate::session::Session;
use crate::settings::{Preopen, Settings, Stdin};
use crate::source::ModuleSource;

/// Captured bytes per stream unless [`SandboxBuilder::max_output`] says otherwise.
const DEFAULT_MAX_OUTPUT: usize = 16 << 20;

/// A configured sandbox for running MicroPython.
///
/// Cheap to clone and safe to share between threads: every
/// [`run`](Sandbox::run) gets a fresh interpreter in a store of its own, and
/// the compiled code is shared by the whole process (and cached on disk).
///
/// ```no_run
/// use std::time::Duration;
/// use micropython_wasm::Sandbox;
///
/// let sandbox = Sandbox::builder().memory(32 << 20).fuel(50_000_000).timeout(Duration::from_secs(2)).build()?;
/// let output = sandbox.run("print(sum(range(10)))")?;
/// assert_eq!(output.stdout, "45\n");
/// # Ok::<(), micropython_wasm::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sandbox {
    settings: Arc<Settings>,
}

impl Sandbox {
    /// Starts configuring a sandbox. The defaults: an 8 MiB heap, no memory
    /// limit beyond wasm's 4 GiB, no fuel metering, no timeout, 16 MiB of
    /// captured output per stream, no files, no environment, empty stdin,
    /// and the compiled-code cache in [`default_cache_dir`](crate::default_cache_dir).
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// A sandbox with the default settings.
    pub fn new() -> Result<Sandbox, Error> {
        Sandbox::builder().build()
    }

    /// Runs `code` as the `__main__` module of a fresh interpreter and
    /// returns what it printed.
    ///
    /// `Ok` means it ran to the end, or called `sys.exit()` / `sys.exit(0)`.
    /// An uncaught exception is [`Error::Exception`] (its traceback is also
    /// on stderr), `sys.exit(n)` is [`Error::Exit`], and a limit is its own
    /// variant; each carries the output so far ([`Error::output`]).
    pub fn run(&self, code: &str) -> Result<Output, Error> {
        Interpreter::start(&self.settings)?.exec(code, 0)
    }

    /// Starts an interpreter that keeps its state from one snippet to the
    /// next; see [`Session`].
    pub fn session(&self) -> Result<Session, Error> {
        Session::start(self.settings.clone())
    }

    /// Runs the WASI command module (the same program as the WASI bundle's
    /// `micropython.wasm`) with `args` after the program name, as in
    /// `["-c", "print(1)"]`, `["/app/main.py", "x"]` or `["-m", "module"]`.
    ///
    /// Its exit status decides the outcome: 0 is `Ok`, anything else is
    /// [`Error::Exit`] (an uncaught exception exits with 1 and its traceback
    /// on stderr; a command module cannot report more). Files must be
    /// reachable through [`SandboxBuilder::dir`]. Host functions are not
    /// available to the command module, and [`SandboxBuilder::args`] does not
    /// apply: `args` is the whole command line.
    pub fn run_command<S: AsRef<str>>(&self, args: &[S]) -> Result<Output, Error> {
        let settings = &self.settings;
        let mut argv = vec!["micropython".to_owned()];
        let embedded = settings.command.digest == embedded::COMMAND_SHA256;
        if embedded && (settings.heap.is_some() || settings.memory.is_some()) {
            let linked = instance::linked(self.kind(), &settings.command, settings.cache_dir.as_deref())?;
            argv.extend(["-X".to_owned(), format!("heapsize={}", settings.heap_size(linked.initial_memory)?)]);
        }
        argv.extend(args.iter().map(|arg| arg.as_ref().to_owned()));
        interpreter::run_command(settings, &settings.command, &argv)
    }

    /// Compiles both modules for this sandbox's configuration now (or loads
    /// them from the cache), so that the first run does not pay for it.
    pub fn precompile(&self) -> Result<(), Error> {
        let dir = self.settings.cache_dir.as_deref();
        instance::linked(self.kind(), &self.settings.library, dir)?;
        instance::linked(self.kind(), &self.settings.command, dir)?;
        Ok(())
    }

    fn kind(&self) -> EngineKind {
        self.settings.engine_kind()
    }
}

/// Configures a [`Sandbox`]; see [`Sandbox::builder`] for the defaults.
#[derive(Debug)]
pub struct SandboxBuilder {
    settings: Settings,
    command_file: Option<PathBuf>,
    problems: Vec<String>,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            settings: Settings {
                memory: None,
                heap: None,
                fuel: None,
                timeout: None,
                max_stdout: DEFAULT_MAX_OUTPUT,
                max_stderr: DEFAULT_MAX_OUTPUT,
                dirs: Vec::new(),
                env: Vec::new(),
                args: Vec::new(),
                stdin: Stdin::Empty,
                inherit_output: false,
                host: Arc::default(),
                cache_dir: cache::default_cache_dir(),
                command: ModuleSource::embedded("micropython", embedded::COMMAND_WASM, embedded::COMMAND_SHA256),
                library: ModuleSource::embedded("micropython-lib", embedded::LIBRARY_WASM, embedded::LIBRARY_SHA256),
            },
            command_file: None,
            problems: Vec::new(),
        }
    }
}

impl SandboxBuilder {
    /// Caps everything the module can grow at `bytes` together: its linear
    /// memory, the GC heap that holds exceptions, and its tables (each
    /// element counted as a pointer). MicroPython's heap is carved out of
    /// the linear memory: unless [`heap`](Self::heap) is set, the heap
    /// shrinks below its 8 MiB default to fit. Going over the limit is
    /// [`Error::MemoryLimit`]; filling the heap is a Python `MemoryError`.
    pub fn memory(mut self, bytes: u64) -> Self {
        self.settings.memory = Some(bytes);
        self
    }

    /// Sets the size of MicroPython's garbage-collected heap, fixed for the
    /// interpreter's life (16 KiB to 1 GiB; default 8 MiB).
    pub fn heap(mut self, bytes: u32) -> Self {
        if !(16 << 10..=1 << 30).contains(&bytes) {
            self.problems.push(format!("the heap must be 16 KiB to 1 GiB, not {bytes} bytes"));
        }
        self.settings.heap = Some(bytes);
        self
    }

    /// Meters execution with wasmtime fuel: each run (and each session
    /// snippet) may spend `fuel` units, roughly one per WebAssembly
    /// instruction, before [`Error::OutOfFuel`]. Every instruction counts:
    /// a run's budget also pays for starting its interpreter (the module's
    /// start function, `_initialize`, about 200,000 units), and starting a
    /// session has a budget of its own. Without this call the code is
    /// compiled without metering and runs at full speed.
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.settings.fuel = Some(fuel);
        self
    }

    /// Stops each run (and each session snippet) after `timeout` of wall-clock
    /// time with [`Error::Timeout`]: while guest code runs (wasmtime's epoch
    /// interruption, checked every 5 ms) and while it waits in a host call
    /// (a sleep, this process's stdin, a [host function](Self::host_function)).
    /// A timeout too long for the clock to count is no limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// Caps what is captured from stdout and from stderr, each, at `bytes`
    /// per run; writing more ends the run with [`Error::OutputLimit`].
    pub fn max_output(mut self, bytes: usize) -> Self {
        self.settings.max_stdout = bytes;
        self.settings.max_stderr = bytes;
        self
    }

    /// Caps captured stdout alone; see [`max_output`](Self::max_output).
    pub fn max_stdout(mut self, bytes: usize) -> Self {
        self.settings.max_stdout = bytes;
        self
    }

    /// Caps captured stderr alone; see [`max_output`](Self::max_output).
    pub fn max_stderr(mut self, bytes: usize) -> Self {
        self.settings.max_stderr = bytes;
        self
    }

    /// Lets the guest read the host directory `host` at the absolute path
    /// `guest`, read-only.
    pub fn dir(self, host: impl AsRef<Path>, guest: &str) -> Self {
        self.preopen(host.as_ref(), guest, false)
    }

    /// Lets the guest read and write the host directory `host` at `guest`.
    pub fn dir_rw(self, host: impl AsRef<Path>, guest: &str) -> Self {
        self.preopen(host.as_ref(), guest, true)
    }

    fn preopen(mut self, host: &Path, guest: &str, writable: bool) -> Self {
        if !host.is_dir() {
            self.problems.push(format!("{} is not a directory", host.display()));
        }
        if !guest.starts_with('/') {
            self.problems.push(format!("guest paths are absolute, not {guest:?}"));
        }
        self.settings.dirs.push(Preopen { host: host.to_path_buf(), guest: guest.to_owned(), writable });
        self
    }

    /// Sets the environment variable `key` (`os.getenv(key)`) to `value`.
    /// The guest sees no variables of this process unless passed here.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.env.push((key.into(), value.into()));
        self
    }

    /// Sets `sys.argv` for [`Sandbox::run`] and sessions (empty by default).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Gives the guest `bytes` as its standard input (empty by default).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.settings.stdin = Stdin::Bytes(bytes.into().into());
        self
    }

    /// Lets the guest read this process's standard input. A guest waiting
    /// for input stops waiting at the [`timeout`](Self::timeout).
    pub fn inherit_stdin(mut self) -> Self {
        self.settings.stdin = Stdin::Inherit;
        self
    }

    /// Streams the guest's stdout and stderr to this process's own as they
    /// are written, instead of capturing them: [`Output`]'s text stays empty
    /// and the output limits do not apply. An `OSError` line of errno 76 on stderr is
    /// followed by one that says what it means (WASI's ENOTCAPABLE: the path
    /// is outside the granted folders).
    pub fn inherit_output(mut self) -> Self {
        self.settings.inherit_output = true;
        self
    }

    /// Offers `function` to Python as `host.<name>(...)` and
    /// `host.call("<name>", ...)`. It receives the arguments as JSON values
    /// and returns a JSON value, or a [`HostError`] that Python sees as
    /// `host.HostError`. A panic is caught and reported the same way, with
    /// its message, and nothing is printed for it: the crate installs a panic
    /// hook, once, that is quiet for host functions and passes every other
    /// panic to the hook before it.
    ///
    /// No guest code runs while a host function does. Under a
    /// [`timeout`](Self::timeout) the function runs on a helper thread that
    /// the guest waits for until the deadline: one still running then ends
    /// the run with [`Error::Timeout`] on time, and finishes in the
    /// background with its result dropped, since a thread cannot be stopped
    /// from outside. Bound what a host function waits for, and do not count
    /// on its effects once a run has timed out.
    ///
    /// ```no_run
    /// use micropython_wasm::{HostError, Sandbox};
    /// use serde_json::{json, Value};
    ///
    /// let sandbox = Sandbox::builder()
    ///     .host_function("add", |args: &[Value]| {
    ///         let number = |i: usize| args.get(i).and_then(Value::as_i64).ok_or(HostError::new("add takes two integers"));
    ///         Ok(json!(number(0)? + number(1)?))
    ///     })
    ///     .build()?;
    /// assert_eq!(sandbox.run("import host\nprint(host.add(2, 3))")?.stdout, "5\n");
    /// # Ok::<(), micropython_wasm::Error>(())
    /// ```
    pub fn host_function<F>(mut self, name: impl Into<String>, function: F) -> Self
    where
        F: Fn(&[Value]) -> Result<Value, HostError> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.settings.host).insert(name.into(), Arc::new(function));
        self
    }

    /// Keeps compiled code in `dir` instead of the default cache folder.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.settings.cache_dir = Some(dir.into());
        self
    }

    /// Compiles in memory only, never reading or writing a cache folder.
    pub fn no_cache(mut self) -> Self {
        self.settings.cache_dir = None;
        self
    }

    /// Uses the WASI command module at `path` for [`Sandbox::run_command`]
    /// instead of the embedded one: for instance the WASI bundle's
    /// `micropython.exnref.wasm`, or any preview-1 command that uses the
    /// standard (exnref) exception handling or none.
    pub fn command_module(mut self, path: impl Into<PathBuf>) -> Self {
        self.command_file = Some(path.into());
        self
    }

    /// Checks the configuration and makes the sandbox. Compilation happens
    /// on first use (or in [`Sandbox::precompile`]).
    pub fn build(mut self) -> Result<Sandbox, Error> {
        if let Some(problem) = self.problems.into_iter().next() {
            return Err(Error::Config(problem));
        }
        if let Some(path) = self.command_file {
            let bytes = std::fs::read(&path)
                .map_err(|source| Error::Io { context: format!("reading {}", path.display()), source })?;
            let name = path.file_stem().map_or("module".into(), |stem| stem.to_string_lossy().replace('.', "-"));
            self.settings.command = ModuleSource::external(name, bytes);
        }
        Ok(Sandbox { settings: Arc::new(self.settings) })
    }
}
