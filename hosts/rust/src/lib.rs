//! MicroPython compiled to WebAssembly, run by wasmtime in a sandbox.
//!
//! ```no_run
//! let output = micropython_wasm::run("print(1 + 1)")?;
//! assert_eq!(output.stdout, "2\n");
//! # Ok::<(), micropython_wasm::Error>(())
//! ```
//!
//! The crate embeds two builds of the same interpreter
//! ([`MICROPYTHON_VERSION`]), in the standard (exnref) encoding of
//! WebAssembly exception handling that wasmtime runs:
//!
//! - a WASI *library* module that keeps one interpreter alive and runs
//!   snippets in it: behind [`run`], [`Sandbox::run`], [`Session`] and host
//!   functions;
//! - the WASI *command* module of the WASI bundle (`micropython -c CODE`,
//!   `FILE`, `-m MODULE`): behind [`Sandbox::run_command`] and the
//!   `micropython-wasm` program.
//!
//! # Limits
//!
//! A [`SandboxBuilder`] sets the memory cap, a fuel budget, a wall-clock
//! timeout, the captured-output caps, read-only (or read-write) directories,
//! environment variables and `sys.argv`. Fuel and timeouts change the
//! compiled code, so a sandbox that sets neither pays nothing for them: the
//! process keeps one engine per combination.
//!
//! The limits hold whatever the guest does: the memory cap covers tables
//! as well as memory, fuel meters the interpreter's start-up too, and the
//! timeout holds while the guest waits in a host call (a sleep, stdin, a
//! host function) as well as while it runs. The guest sees no file outside
//! the folders granted with [`SandboxBuilder::dir`], no environment
//! variable it was not given, and no network.
//!
//! # How Python errors surface
//!
//! A run returns `Ok(`[`Output`]`)` when the code ran to the end or called
//! `sys.exit(0)`. An uncaught exception is [`Error::Exception`] with the
//! exception's type, message and traceback (the traceback is on stderr as
//! well, as CPython prints it); `sys.exit(n)` is [`Error::Exit`] with `n`
//! modulo 256, the status a POSIX process would report. A Python
//! `MemoryError` is an exception like any other: the interpreter's heap is
//! full. The sandbox's own limits are [`Error::OutOfFuel`],
//! [`Error::Timeout`], [`Error::MemoryLimit`] and [`Error::OutputLimit`];
//! [`Error::Trap`] is anything else that stopped the WebAssembly code. Every
//! one of these carries the output printed before it
//! ([`Error::output`]).
//!
//! # Compiled code
//!
//! Compiling a module with Cranelift takes about a second, so the compiled
//! code is kept on disk ([`Module::serialize`](wasmtime::Module::serialize))
//! in [`default_cache_dir`], under a name that carries the module's SHA-256,
//! the engine's configuration and wasmtime's compatibility hash; it is
//! written through a temporary file and a rename, with the SHA-256 of the
//! code. A fresh process reads it, checks the checksum and starts in
//! milliseconds; a damaged entry is compiled again and replaced, never run.
//! Within a process, each module is compiled or loaded once and shared by
//! every sandbox.

#![warn(missing_docs)]

// The modules form layers, each using only those of the layers below it:
//
//   sandbox, session          the public API
//   interpreter, abi          the two programs; abi is generated
//   instance                  a store and its instance, its limits armed
//   limiter, wasi, poll       the memory budget; WASI, its waits on the deadline
//   settings, host            what a builder sets; the host functions
//   deadline                  the time limit, shared by whatever waits
//   engine, cache, source     engines, the compiled-code cache, the modules
//   error, output, errno      results; embedded holds the modules' bytes
mod abi;
mod cache;
mod deadline;
mod embedded;
mod engine;
mod errno;
mod error;
mod host;
mod instance;
mod interpreter;
mod limiter;
mod output;
mod poll;
mod sandbox;
mod session;
mod settings;
mod source;
mod wasi;

use std::sync::OnceLock;

pub use cache::{default_cache_dir, CACHE_DIR_ENV};
pub use embedded::MICROPYTHON_VERSION;
pub use error::{Error, PythonException};
pub use host::HostError;
pub use output::{Output, Stream};
pub use sandbox::{Sandbox, SandboxBuilder};
pub use session::Session;

/// Re-exported so that host functions can name their argument and result
/// type without depending on `serde_json` themselves.
pub use serde_json::{json, Value};

/// Runs `code` in a fresh interpreter of a default [`Sandbox`] (no limits
/// beyond the 8 MiB heap and 16 MiB of output per stream).
pub fn run(code: &str) -> Result<Output, Error> {
    static DEFAULT: OnceLock<Sandbox> = OnceLock::new();
    let sandbox = match DEFAULT.get() {
        Some(sandbox) => sandbox,
        None => {
            let sandbox = Sandbox::new()?;
            DEFAULT.get_or_init(|| sandbox)
        }
    };
    sandbox.run(code)
}
