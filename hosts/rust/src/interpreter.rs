//! Running the two embedded programs: the WASI command module to the end,
//! and the library module as an interpreter that runs snippet after snippet.

use std::sync::Arc;

use wasmtime::Memory;
use wasmtime_wasi::I32Exit;

use crate::abi::{Api, EXEC_QUIET, FORCED_EXIT};
use crate::error::{Error, PythonException};
use crate::instance::{Guest, Instance};
use crate::output::Output;
use crate::settings::Settings;
use crate::source::ModuleSource;

/// Runs a WASI command module to completion, its start function and `_start`
/// on one budget: its exit status decides between `Ok` and [`Error::Exit`].
pub(crate) fn run_command(settings: &Arc<Settings>, source: &ModuleSource, args: &[String]) -> Result<Output, Error> {
    let mut instance = Instance::new(settings, source, args)?;
    let start = instance.func::<(), ()>("_start")?;
    let guest = &mut instance.guest;
    let code = match guest.call_raw(|store| start.call(store, ())) {
        Ok(()) => 0,
        Err(error) => match error.downcast_ref::<I32Exit>() {
            // As a POSIX process, whose parent sees the low byte: exit(256)
            // is success, exit(-1) is 255.
            Some(exit) => exit.0 & 0xff,
            None => return Err(guest.stopped(error)),
        },
    };
    if code != 0 && guest.memory_denied() {
        // The program gave up because the sandbox refused it memory.
        return Err(guest.out_of_memory("the program ran out of memory"));
    }
    let output = guest.take_output(code);
    if code == 0 {
        Ok(output)
    } else {
        Err(Error::Exit { code, output: Box::new(output) })
    }
}

/// The library module, started: one MicroPython VM whose state lives on
/// from call to call.
pub(crate) struct Interpreter {
    guest: Guest,
    api: Api,
    memory: Memory,
}

impl Interpreter {
    /// Instantiates the library module and starts MicroPython with the
    /// sandbox's heap size and `sys.argv`, all within one run's fuel and
    /// time, which the first [`exec`](Self::exec) continues unless
    /// [`arm`](Self::arm) starts a new run.
    pub(crate) fn start(settings: &Arc<Settings>) -> Result<Interpreter, Error> {
        let mut instance = Instance::new(settings, &settings.library, &[])?;
        let heap = settings.heap_size(instance.initial_memory)?;
        let initialize = instance.func::<(), ()>("_initialize")?;
        let api = Api::load(&mut instance)?;
        let memory = instance.memory()?;
        let status = instance.guest.call(|store| {
            initialize.call(&mut *store, ())?;
            api.init.call(store, heap)
        })?;
        if status != 0 {
            return Err(instance.guest.out_of_memory(&format!("MicroPython could not allocate its {heap}-byte heap")));
        }
        let mut interpreter = Interpreter { guest: instance.guest, api, memory };
        if !settings.args.is_empty() {
            // The library module has no argv of its own; a JSON array of
            // strings is also a Python list literal.
            let argv = serde_json::to_string(&settings.args).expect("strings serialise");
            interpreter.exec(&format!("__import__('sys').argv.extend({argv})"), EXEC_QUIET)?;
        }
        Ok(interpreter)
    }

    /// Starts a new run: the sandbox's full fuel budget and timeout.
    pub(crate) fn arm(&mut self) {
        self.guest.arm();
    }

    /// Runs `code` with `flags`, within the current run's limits.
    pub(crate) fn exec(&mut self, code: &str, flags: u32) -> Result<Output, Error> {
        let (ptr, len) = self.copy_in(code.as_bytes())?;
        let Interpreter { guest, api, .. } = self;
        let result = guest.call_raw(|store| {
            let status = api.exec.call(&mut *store, (ptr, len, flags))?;
            api.free.call(store, ptr)?;
            Ok(status)
        });
        let status = result.map_err(|error| guest.stopped(error))?;
        match status {
            0 => Ok(guest.take_output(0)),
            1 => {
                let output = guest.take_output(1);
                let exception = self.last_exception(&output.stderr)?;
                Err(Error::Exception { exception, output: Box::new(output) })
            }
            status if status & FORCED_EXIT as i32 != 0 => match status & 0xff {
                0 => Ok(guest.take_output(0)),
                code => Err(Error::Exit { code, output: Box::new(guest.take_output(code)) }),
            },
            other => Err(Error::Trap {
                message: format!("mpwasm_exec returned {other}"),
                output: Box::new(guest.take_output(134)),
            }),
        }
    }

    /// True if `code` is an unfinished statement a REPL should keep reading.
    pub(crate) fn needs_more_input(&mut self, code: &str) -> Result<bool, Error> {
        let (ptr, len) = self.copy_in(code.as_bytes())?;
        let Interpreter { guest, api, .. } = self;
        let more = guest.call(|store| {
            let more = api.needs_more_input.call(&mut *store, (ptr, len))?;
            api.free.call(store, ptr)?;
            Ok(more)
        })?;
        Ok(more != 0)
    }

    /// Copies `bytes` into memory the guest allocated for them.
    fn copy_in(&mut self, bytes: &[u8]) -> Result<(u32, u32), Error> {
        let len = u32::try_from(bytes.len()).map_err(|_| Error::Config("source text over 4 GiB".into()))?;
        let Interpreter { guest, api, memory } = self;
        let ptr = guest.call(|store| api.alloc.call(store, len))?;
        if ptr == 0 {
            return Err(guest.out_of_memory("the interpreter could not allocate room for the source text"));
        }
        memory.write(&mut guest.store, ptr as usize, bytes).map_err(wasmtime::Error::from)?;
        Ok((ptr, len))
    }

    /// The exception of the last failed `mpwasm_exec`, from its JSON report.
    fn last_exception(&mut self, stderr: &str) -> Result<PythonException, Error> {
        let Interpreter { guest, api, memory } = self;
        let (ptr, len) =
            guest.call(|store| Ok((api.error_json.call(&mut *store, ())?, api.error_json_len.call(store, ())?)))?;
        let mut json = vec![0; len as usize];
        memory.read(&guest.store, ptr as usize, &mut json).map_err(wasmtime::Error::from)?;
        match serde_json::from_slice::<serde_json::Value>(&json) {
            Ok(value) => {
                let field = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
                Ok(PythonException {
                    type_name: field("type"),
                    message: field("message"),
                    traceback: field("traceback"),
                })
            }
            // The report can be damaged when the heap is full (its buffer is not
            // a GC root in this port version): the printed traceback says the same.
            Err(_) => Ok(exception_from_traceback(stderr)),
        }
    }
}

/// The exception whose traceback ends `stderr`, as far as the text tells.
fn exception_from_traceback(stderr: &str) -> PythonException {
    let traceback = stderr.rfind("Traceback (most recent call last):").map_or("", |at| &stderr[at..]);
    let last = traceback.trim_end().lines().last().unwrap_or_default();
    let (type_name, message) = last.split_once(": ").unwrap_or((last, ""));
    PythonException { type_name: type_name.to_owned(), message: message.to_owned(), traceback: traceback.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exception_can_be_read_back_from_its_traceback() {
        let stderr = "noise\nTraceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nMemoryError: memory allocation failed, allocating 400 bytes\n";
        let exception = exception_from_traceback(stderr);
        assert_eq!(exception.type_name, "MemoryError");
        assert_eq!(exception.message, "memory allocation failed, allocating 400 bytes");
        assert!(exception.traceback.starts_with("Traceback") && exception.traceback.ends_with("bytes\n"));
        assert_eq!(exception_from_traceback("").type_name, "");
    }
}
