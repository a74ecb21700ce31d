//! How a run can fail, and what it printed before it did.

use std::fmt;
use std::time::Duration;

use crate::errno;
use crate::output::{Output, Stream};

/// Why a run did not end normally.
///
/// Every variant raised while code was running carries the [`Output`] captured
/// up to that point (see [`Error::output`]). [`Error::exit_code`] maps each
/// variant to the exit status the command-line program uses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An uncaught Python exception (CPython would exit with status 1). Its
    /// traceback was also written to stderr. `MemoryError` lands here too:
    /// MicroPython's heap is full, but the sandbox is intact.
    #[error("{exception}")]
    Exception {
        /// The exception's type, message and traceback.
        exception: PythonException,
        /// What the run printed.
        output: Box<Output>,
    },
    /// `SystemExit` (`sys.exit(n)`) with a non-zero status, or a WASI command
    /// module that exited with one. The status is `n` modulo 256, as a POSIX
    /// process reports it: `sys.exit(-1)` is 255, and `sys.exit()`,
    /// `sys.exit(0)` and `sys.exit(256)` are success.
    #[error("exited with status {code}")]
    Exit {
        /// The exit status, 1 to 255.
        code: i32,
        /// What the run printed.
        output: Box<Output>,
    },
    /// The fuel budget ([`SandboxBuilder::fuel`](crate::SandboxBuilder::fuel)) ran out.
    #[error("out of fuel: the budget of {fuel} units is spent")]
    OutOfFuel {
        /// The budget that was exhausted.
        fuel: u64,
        /// What the run printed.
        output: Box<Output>,
    },
    /// The wall-clock limit ([`SandboxBuilder::timeout`](crate::SandboxBuilder::timeout))
    /// passed, while the guest ran or while it waited in a host call.
    #[error("timed out after {timeout:?}")]
    Timeout {
        /// The limit that passed.
        timeout: Duration,
        /// What the run printed.
        output: Box<Output>,
    },
    /// The module needed more memory (linear memory, tables) than
    /// [`SandboxBuilder::memory`](crate::SandboxBuilder::memory) allows.
    #[error("memory limit exceeded: the sandbox allows {limit} bytes")]
    MemoryLimit {
        /// The limit, in bytes.
        limit: u64,
        /// What the run printed.
        output: Box<Output>,
    },
    /// The run wrote more than the capture limit to one stream
    /// ([`SandboxBuilder::max_output`](crate::SandboxBuilder::max_output)).
    /// The output keeps the bytes up to the limit.
    #[error("{stream} exceeded its limit of {limit} bytes")]
    OutputLimit {
        /// The stream that overflowed.
        stream: Stream,
        /// The limit, in bytes.
        limit: usize,
        /// What the run printed, cut at the limit.
        output: Box<Output>,
    },
    /// The WebAssembly code trapped (a bug in the interpreter or a host
    /// function), with wasmtime's description and backtrace.
    #[error("WebAssembly trap: {message}")]
    Trap {
        /// wasmtime's description of the trap.
        message: String,
        /// What the run printed.
        output: Box<Output>,
    },
    /// A [`Session`](crate::Session) was stopped mid-run by an earlier error
    /// (a limit or a trap) and cannot run more code until
    /// [`Session::reset`](crate::Session::reset).
    #[error("the session was stopped by an earlier error ({cause}); reset it to continue")]
    SessionStopped {
        /// The error that stopped it.
        cause: String,
    },
    /// The sandbox was configured with values that cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file or directory of the configuration could not be used.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// wasmtime could not compile, load or instantiate a module.
    #[error("wasmtime: {0:?}")]
    Wasmtime(wasmtime::Error),
}

impl Error {
    /// What the run printed before it failed, for the variants raised while
    /// code was running.
    pub fn output(&self) -> Option<&Output> {
        match self {
            Error::Exception { output, .. }
            | Error::Exit { output, .. }
            | Error::OutOfFuel { output, .. }
            | Error::Timeout { output, .. }
            | Error::MemoryLimit { output, .. }
            | Error::OutputLimit { output, .. }
            | Error::Trap { output, .. } => Some(output),
            Error::SessionStopped { .. } | Error::Config(_) | Error::Io { .. } | Error::Wasmtime(_) => None,
        }
    }

    /// The exit status the command-line program reports for this error.
    ///
    /// Python's own outcomes follow CPython: 1 for an uncaught exception and
    /// `n` modulo 256 for `SystemExit(n)`. The sandbox's limits borrow what a
    /// native process would report under the equivalent operating-system limit:
    /// 124 for a timeout (as `timeout(1)`), 152 for fuel (`SIGXCPU`, CPU time
    /// limit), 137 for memory (killed, as by the OOM killer), 153 for output
    /// (`SIGXFSZ`, file size limit) and 134 for a trap (`SIGABRT`). Errors
    /// before the code ran give 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Exception { .. } => 1,
            Error::Exit { code, .. } => *code,
            Error::Timeout { .. } => 124,
            Error::OutOfFuel { .. } => 152,
            Error::MemoryLimit { .. } => 137,
            Error::OutputLimit { .. } => 153,
            Error::Trap { .. } => 134,
            Error::SessionStopped { .. } | Error::Config(_) | Error::Io { .. } | Error::Wasmtime(_) => 1,
        }
    }

    /// True for the errors that stop a [`Session`](crate::Session) for good:
    /// the interpreter was interrupted at an arbitrary instruction.
    pub(crate) fn stops_the_interpreter(&self) -> bool {
        matches!(
            self,
            Error::OutOfFuel { .. }
                | Error::Timeout { .. }
                | Error::MemoryLimit { .. }
                | Error::OutputLimit { .. }
                | Error::Trap { .. }
        )
    }
}

impl From<wasmtime::Error> for Error {
    fn from(error: wasmtime::Error) -> Self {
        Error::Wasmtime(error)
    }
}

/// An uncaught Python exception, as the interpreter described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonException {
    /// The exception's class name, e.g. `ValueError`.
    pub type_name: String,
    /// `str()` of the exception.
    pub message: String,
    /// The traceback as Python prints it, ending with `Type: message`.
    pub traceback: String,
}

/// `Type: message`, followed by what a WASI error number means where its
/// name does not say (`OSError: [Errno 76] ENOTCAPABLE (errno 76 is WASI's
/// ENOTCAPABLE: ...)`).
impl fmt::Display for PythonException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.type_name)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        match errno::explain(&self.type_name, &self.message) {
            Some(explanation) => write!(f, " ({explanation})"),
            None => Ok(()),
        }
    }
}
