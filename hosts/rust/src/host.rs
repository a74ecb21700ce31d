//! Rust functions that Python calls through the `host` module:
//!
//! ```python
//! import host
//! host.add(2, 3)            # or host.call("add", 2, 3)
//! ```
//!
//! Arguments cross as a JSON array and the result as one JSON value; an
//! error or a panic becomes `host.HostError` in Python.
//!
//! Without a timeout a host function runs on the guest's thread. With one,
//! it runs on a helper thread of the store's that the guest waits for until
//! the deadline: a function that outlasts it ends the run with
//! [`Error::Timeout`](crate::Error::Timeout) on time, and finishes in the
//! background (its result dropped), since a thread cannot be stopped from
//! outside. Either way no guest code runs while a host function does.

use std::any::Any;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Once};
use std::time::Instant;

use serde_json::Value;
use wasmtime::{Caller, Extern, Linker, Memory};

use crate::deadline::{Deadline, DeadlineReached};
use crate::error::Error;

/// A host function's failure, raised in Python as `host.HostError(message)`.
///
/// Any error that implements `Display` converts into it, so `?` works
/// inside host functions. (It does not implement `Display` itself, which is
/// what makes that blanket conversion possible; use [`HostError::message`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    message: String,
}

impl HostError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> HostError {
        HostError { message: message.into() }
    }

    /// The message Python sees as the exception's argument.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: fmt::Display> From<E> for HostError {
    fn from(error: E) -> HostError {
        HostError::new(error.to_string())
    }
}

type HostFn = dyn Fn(&[Value]) -> Result<Value, HostError> + Send + Sync;

/// The functions one sandbox offers to Python, by name.
#[derive(Clone, Default)]
pub(crate) struct HostFunctions {
    functions: HashMap<String, Arc<HostFn>>,
}

/// A host call, looked up: the function to call, or the answer already.
enum Lookup {
    Call(Arc<HostFn>, Vec<Value>),
    Answer(Result<Value, String>),
}

impl HostFunctions {
    pub(crate) fn insert(&mut self, name: String, function: Arc<HostFn>) {
        self.functions.insert(name, function);
    }

    /// Finds `name` and reads its JSON array `args`, turning every failure
    /// into the message Python will see.
    fn lookup(&self, name: &str, args: &[u8]) -> Lookup {
        let Some(function) = self.functions.get(name) else {
            // `import host` calls host.__init__, which the module's
            // __getattr__ turns into a host call: unless registered, it is
            // answered with None.
            return Lookup::Answer(if name == "__init__" {
                Ok(Value::Null)
            } else {
                Err(format!("no host function named {name:?}"))
            });
        };
        match serde_json::from_slice(args) {
            Ok(args) => Lookup::Call(function.clone(), args),
            Err(err) => Lookup::Answer(Err(format!("arguments of {name} are not a JSON array: {err}"))),
        }
    }
}

/// What a helper thread runs: one host call.
type Job = Box<dyn FnOnce() -> Result<Value, String> + Send>;

/// The thread a store's host functions run on while a deadline is armed.
struct Helper {
    jobs: Sender<Job>,
    outcomes: Receiver<Result<Value, String>>,
}

impl Helper {
    fn start() -> std::io::Result<Helper> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (answer, outcomes) = mpsc::channel();
        std::thread::Builder::new().name("micropython-wasm-host".into()).spawn(move || {
            // Ends when the store drops its helper, or stops waiting for it.
            for job in queue {
                if answer.send(job()).is_err() {
                    break;
                }
            }
        })?;
        Ok(Helper { jobs, outcomes })
    }
}

thread_local! {
    /// Set while a host function runs on this thread.
    static IN_HOST_FUNCTION: Cell<bool> = const { Cell::new(false) };
}

/// Calls `function`, catching a panic as the error Python sees. The panic's
/// message goes to Python, not to this process's stderr.
fn call_quietly(name: &str, function: &HostFn, args: &[Value]) -> Result<Value, String> {
    quiet_panics_in_host_functions();
    IN_HOST_FUNCTION.set(true);
    let outcome = catch_unwind(AssertUnwindSafe(|| function(args)));
    IN_HOST_FUNCTION.set(false);
    match outcome {
        Ok(result) => result.map_err(|err| err.message),
        Err(payload) => Err(format!("host function {name} panicked: {}", panic_message(payload.as_ref()))),
    }
}

/// Installs, once per process, a panic hook that says nothing about panics
/// in host functions (Python gets them as `HostError`) and hands every other
/// panic to the hook installed before it.
fn quiet_panics_in_host_functions() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_HOST_FUNCTION.get() {
                previous(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    match payload.downcast_ref::<&str>() {
        Some(message) => message,
        None => payload.downcast_ref::<String>().map_or("(no message)", String::as_str),
    }
}

impl fmt::Debug for HostFunctions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.functions.keys()).finish()
    }
}

/// A store's side of the host calls: the functions, the deadline they must
/// meet, and the result waiting for the guest to copy it out.
pub(crate) struct HostCalls {
    functions: Arc<HostFunctions>,
    deadline: Deadline,
    helper: Option<Helper>,
    pending: Vec<u8>,
}

impl HostCalls {
    pub(crate) fn new(functions: Arc<HostFunctions>, deadline: Deadline) -> HostCalls {
        HostCalls { functions, deadline, helper: None, pending: Vec::new() }
    }

    /// Calls `name` with the JSON array `args`: its result, or the message
    /// Python sees as `HostError`; [`DeadlineReached`] if the deadline
    /// passes first.
    fn call(&mut self, name: &str, args: &[u8]) -> Result<Result<Value, String>, DeadlineReached> {
        let (function, args) = match self.functions.lookup(name, args) {
            Lookup::Call(function, args) => (function, args),
            Lookup::Answer(answer) => return Ok(answer),
        };
        let Some(at) = self.deadline.at() else {
            return Ok(call_quietly(name, function.as_ref(), &args));
        };
        let helper = match &mut self.helper {
            Some(helper) => helper,
            None => match Helper::start() {
                Ok(helper) => self.helper.insert(helper),
                Err(err) => return Ok(Err(format!("host function {name} could not start a thread: {err}"))),
            },
        };
        let owned_name = name.to_owned();
        // A helper that is gone reports itself below, as disconnected.
        let _ = helper.jobs.send(Box::new(move || call_quietly(&owned_name, function.as_ref(), &args)));
        match helper.outcomes.recv_timeout(at.saturating_duration_since(Instant::now())) {
            Ok(outcome) => Ok(outcome),
            Err(RecvTimeoutError::Timeout) => {
                // Still busy with the call: leave it to finish alone.
                self.helper = None;
                Err(self.deadline.expire())
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.helper = None;
                Ok(Err(format!("host function {name} ended without a result")))
            }
        }
    }
}

/// Defines the library module's `mpwasm.host_call` and
/// `mpwasm.host_take_result` imports, for stores whose data holds
/// [`HostCalls`] where `view` finds them. The command module imports neither.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> &mut HostCalls,
) -> Result<(), Error> {
    linker.func_wrap(
        "mpwasm",
        "host_call",
        move |mut caller: Caller<'_, T>,
              name_ptr: u32,
              name_len: u32,
              args_ptr: u32,
              args_len: u32|
              -> wasmtime::Result<i32> {
            let memory = exported_memory(&mut caller, "host_call")?;
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let calls = view(state);
            let name = guest_slice(data, name_ptr, name_len)?;
            let args = guest_slice(data, args_ptr, args_len)?;
            let outcome = match std::str::from_utf8(name) {
                Ok(name) => calls.call(name, args)?,
                Err(_) => Err("host function names are UTF-8".to_owned()),
            };
            let (payload, failed) = match outcome {
                Ok(value) => (serde_json::to_vec(&value).expect("a serde_json Value always serialises"), false),
                Err(message) => (message.into_bytes(), true),
            };
            let len = i32::try_from(payload.len()).map_err(|_| wasmtime::format_err!("host result too large"))?;
            calls.pending = payload;
            Ok(if failed { -(len + 1) } else { len })
        },
    )?;
    linker.func_wrap(
        "mpwasm",
        "host_take_result",
        move |mut caller: Caller<'_, T>, ptr: u32, len: u32| -> wasmtime::Result<()> {
            let memory = exported_memory(&mut caller, "host_take_result")?;
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let pending = std::mem::take(&mut view(state).pending);
            let start = ptr as usize;
            let target = data
                .get_mut(start..start + len as usize)
                .ok_or_else(|| wasmtime::format_err!("host_take_result: buffer outside memory"))?;
            let n = pending.len().min(target.len());
            target[..n].copy_from_slice(&pending[..n]);
            Ok(())
        },
    )?;
    Ok(())
}

/// The calling module's linear memory, which an import (named in the
/// error) needs to read its arguments.
pub(crate) fn exported_memory<T>(caller: &mut Caller<'_, T>, import: &str) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => wasmtime::bail!("{import}: the module exports no memory"),
    }
}

fn guest_slice(data: &[u8], ptr: u32, len: u32) -> wasmtime::Result<&[u8]> {
    let start = ptr as usize;
    data.get(start..start + len as usize).ok_or_else(|| wasmtime::format_err!("host_call: argument outside memory"))
}
