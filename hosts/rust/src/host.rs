//! Rust functions that Python calls through the `host` module:
//!
//! ```python
//! import host
//! host.add(2, 3)            # or host.call("add", 2, 3)
//! ```
//!
//! Arguments cross as a JSON array and the result as one JSON value; an
//! error becomes `host.HostError` in Python.

use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use serde_json::Value;
use wasmtime::{Caller, Linker};

use crate::instance::State;
use crate::Error;

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

impl HostFunctions {
    pub(crate) fn insert(&mut self, name: String, function: Arc<HostFn>) {
        self.functions.insert(name, function);
    }

    /// Calls `name` with the JSON array `args`, turning every failure
    /// (unknown name, bad JSON, a panic) into the message Python will see.
    fn call(&self, name: &str, args: &[u8]) -> Result<Value, String> {
        let Some(function) = self.functions.get(name) else {
            // `import host` calls host.__init__, which the module's
            // __getattr__ turns into a host call: unless registered, it is
            // answered with None.
            return if name == "__init__" { Ok(Value::Null) } else { Err(format!("no host function named {name:?}")) };
        };
        let args: Vec<Value> =
            serde_json::from_slice(args).map_err(|err| format!("arguments of {name} are not a JSON array: {err}"))?;
        match catch_unwind(AssertUnwindSafe(|| function(&args))) {
            Ok(result) => result.map_err(|err| err.message),
            Err(_) => Err(format!("host function {name} panicked")),
        }
    }
}

impl fmt::Debug for HostFunctions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.functions.keys()).finish()
    }
}

/// Defines the library module's `mpwasm.host_call` and
/// `mpwasm.host_take_result` imports. The command module imports neither.
pub(crate) fn add_to_linker(linker: &mut Linker<State>) -> Result<(), Error> {
    linker.func_wrap(
        "mpwasm",
        "host_call",
        |mut caller: Caller<'_, State>,
         name_ptr: u32,
         name_len: u32,
         args_ptr: u32,
         args_len: u32|
         -> wasmtime::Result<i32> {
            let memory = caller.data().memory.ok_or_else(|| wasmtime::format_err!("host_call before instantiation"))?;
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let name = guest_slice(data, name_ptr, name_len)?;
            let args = guest_slice(data, args_ptr, args_len)?;
            let outcome = match std::str::from_utf8(name) {
                Ok(name) => state.host.call(name, args),
                Err(_) => Err("host function names are UTF-8".to_owned()),
            };
            let (payload, failed) = match outcome {
                Ok(value) => (serde_json::to_vec(&value).expect("a serde_json Value always serialises"), false),
                Err(message) => (message.into_bytes(), true),
            };
            let len = i32::try_from(payload.len()).map_err(|_| wasmtime::format_err!("host result too large"))?;
            state.pending = payload;
            Ok(if failed { -(len + 1) } else { len })
        },
    )?;
    linker.func_wrap(
        "mpwasm",
        "host_take_result",
        |mut caller: Caller<'_, State>, ptr: u32, len: u32| -> wasmtime::Result<()> {
            let memory =
                caller.data().memory.ok_or_else(|| wasmtime::format_err!("host_take_result before instantiation"))?;
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let pending = std::mem::take(&mut state.pending);
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

fn guest_slice(data: &[u8], ptr: u32, len: u32) -> wasmtime::Result<&[u8]> {
    let start = ptr as usize;
    data.get(start..start + len as usize).ok_or_else(|| wasmtime::format_err!("host_call: argument outside memory"))
}
