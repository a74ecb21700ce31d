//! One store and instance: setting it up from a sandbox's settings, metering
//! each call into it, and turning what happened into an [`Output`] or an
//! [`Error`].

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Memory, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap, TypedFunc, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::abi::{Api, EXEC_QUIET, FORCED_EXIT};
use crate::engine::{self, EngineKind, ModuleSource, TickerGuard};
use crate::error::{PythonException, Stream};
use crate::host::HostFunctions;
use crate::output::Capture;
use crate::sandbox::{Settings, Stdin};
use crate::{Error, Output};

/// What a store holds besides wasmtime's own state.
pub(crate) struct State {
    pub wasi: WasiP1Ctx,
    limiter: Limiter,
    pub host: Arc<HostFunctions>,
    /// The result (or error message) of the last host call, until the guest
    /// copies it out with `host_take_result`.
    pub pending: Vec<u8>,
    pub memory: Option<Memory>,
    /// When the current call must stop; checked at each epoch tick.
    deadline: Option<Instant>,
    timed_out: bool,
}

/// wasmtime's [`StoreLimits`], remembering whether it ever said no.
struct Limiter {
    limits: StoreLimits,
    denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.denied |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

/// A store under a sandbox's settings: its streams, its limits, and the
/// bookkeeping that turns a trap into the matching [`Error`].
pub(crate) struct Guest {
    pub store: Store<State>,
    settings: Arc<Settings>,
    kind: EngineKind,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
}

/// An instance of `source` in its own store.
pub(crate) struct Instance {
    pub guest: Guest,
    instance: wasmtime::Instance,
    /// Bytes of linear memory the module starts with.
    pub initial_memory: u64,
}

impl Instance {
    /// Instantiates `source` under `settings`, with `args` as its WASI arguments.
    pub(crate) fn new(settings: &Arc<Settings>, source: &ModuleSource, args: &[String]) -> Result<Instance, Error> {
        let kind = settings.engine_kind();
        let compiled = engine::compiled(kind, source, settings.cache_dir.as_deref())?;

        let mut wasi = WasiCtxBuilder::new();
        wasi.args(args).envs(&settings.env).allow_blocking_current_thread(true);
        let (stdout, stderr) = if settings.inherit_output {
            wasi.inherit_stdout().inherit_stderr();
            (None, None)
        } else {
            let stdout = Capture::new(Stream::Stdout, settings.max_stdout);
            let stderr = Capture::new(Stream::Stderr, settings.max_stderr);
            wasi.stdout(stdout.clone()).stderr(stderr.clone());
            (Some(stdout), Some(stderr))
        };
        match &settings.stdin {
            Stdin::Empty => {}
            Stdin::Bytes(bytes) => {
                wasi.stdin(MemoryInputPipe::new(bytes.clone()));
            }
            Stdin::Inherit => {
                wasi.inherit_stdin();
            }
        }
        for dir in &settings.dirs {
            let perms = if dir.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&dir.host, &dir.guest, perms).map_err(|err| Error::Io {
                context: format!("opening {} for the sandbox", dir.host.display()),
                source: std::io::Error::other(format!("{err:?}")),
            })?;
        }

        let mut limits = StoreLimitsBuilder::new().instances(1).memories(1);
        if let Some(limit) = settings.memory {
            limits = limits.memory_size(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        let state = State {
            wasi: wasi.build_p1(),
            limiter: Limiter { limits: limits.build(), denied: false },
            host: settings.host.clone(),
            pending: Vec::new(),
            memory: None,
            deadline: None,
            timed_out: false,
        };
        let mut store = Store::new(compiled.pre.module().engine(), state);
        store.limiter(|state| &mut state.limiter);
        if kind.epochs {
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|mut context| {
                let state = context.data_mut();
                if state.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    state.timed_out = true;
                    return Ok(UpdateDeadline::Interrupt);
                }
                Ok(UpdateDeadline::Continue(1))
            });
        }
        let mut guest = Guest { store, settings: settings.clone(), kind, stdout, stderr };
        let instance = guest.metered(None, |store| compiled.pre.instantiate(store))?;
        let memory = instance.get_memory(&mut guest.store, "memory");
        guest.store.data_mut().memory = memory;
        Ok(Instance { guest, instance, initial_memory: compiled.initial_memory })
    }

    pub(crate) fn func<P, R>(&mut self, name: &str) -> Result<TypedFunc<P, R>, Error>
    where
        P: wasmtime::WasmParams,
        R: wasmtime::WasmResults,
    {
        Ok(self.instance.get_typed_func(&mut self.guest.store, name)?)
    }
}

impl Guest {
    /// Runs `call` with the sandbox's limits armed: `fuel` (when metering is
    /// on; `None` means unmetered) and the timeout. A trap becomes the
    /// matching [`Error`], carrying what was printed.
    pub(crate) fn metered<R: Send>(
        &mut self,
        fuel: Option<u64>,
        call: impl FnOnce(&mut Store<State>) -> wasmtime::Result<R> + Send,
    ) -> Result<R, Error> {
        let (result, fuel_consumed) = self.metered_raw(fuel, call);
        result.map_err(|error| self.stopped(error, fuel_consumed))
    }

    /// As [`Guest::metered`], but hands back wasmtime's error and the fuel
    /// used so that the caller can look at the error first.
    pub(crate) fn metered_raw<R: Send>(
        &mut self,
        fuel: Option<u64>,
        call: impl FnOnce(&mut Store<State>) -> wasmtime::Result<R> + Send,
    ) -> (wasmtime::Result<R>, Option<u64>) {
        let budget = fuel.unwrap_or(u64::MAX);
        if self.kind.fuel {
            self.store.set_fuel(budget).expect("fuel metering is on for this engine");
        }
        let _ticker = self.settings.timeout.map(|timeout| {
            let state = self.store.data_mut();
            state.deadline = Some(Instant::now() + timeout);
            state.timed_out = false;
            TickerGuard::hold()
        });
        let store = &mut self.store;
        let result = engine::on_guest_stack(move || call(store));
        self.store.data_mut().deadline = None;
        let consumed = match (self.kind.fuel, fuel) {
            (true, Some(budget)) => Some(budget - self.store.get_fuel().unwrap_or(0)),
            _ => None,
        };
        (result, consumed)
    }

    /// What was printed since the last call, with `exit_code` and `fuel_consumed`.
    pub(crate) fn take_output(&mut self, exit_code: i32, fuel_consumed: Option<u64>) -> Output {
        let take = |capture: &Option<Capture>| capture.as_ref().map(|c| c.take().0).unwrap_or_default();
        Output { stdout: take(&self.stdout), stderr: take(&self.stderr), exit_code, fuel_consumed }
    }

    /// The [`Error`] for a call that ended in `error`.
    pub(crate) fn stopped(&mut self, error: wasmtime::Error, fuel_consumed: Option<u64>) -> Error {
        let overflow = self.stdout.iter().chain(&self.stderr).find_map(Capture::exceeded);
        let state = self.store.data();
        let output = Box::default();
        let mut stopped = if let Some((stream, limit)) = overflow {
            Error::OutputLimit { stream, limit, output }
        } else if state.timed_out {
            Error::Timeout { timeout: self.settings.timeout.unwrap_or_default(), output }
        } else if matches!(error.downcast_ref::<Trap>(), Some(Trap::OutOfFuel)) {
            Error::OutOfFuel { fuel: fuel_consumed.unwrap_or_default(), output }
        } else if state.limiter.denied {
            Error::MemoryLimit { limit: self.settings.memory.unwrap_or_default(), output }
        } else {
            Error::Trap { message: format!("{error:?}"), output }
        };
        let captured = Box::new(self.take_output(stopped.exit_code(), fuel_consumed));
        set_output(&mut stopped, captured);
        stopped
    }

    /// The error for a call that could not get memory: the sandbox's limit
    /// if it refused some, otherwise a trap described by `what`.
    pub(crate) fn out_of_memory(&mut self, what: &str) -> Error {
        let output = Box::default();
        let mut error = if self.store.data().limiter.denied {
            Error::MemoryLimit { limit: self.settings.memory.unwrap_or_default(), output }
        } else {
            Error::Trap { message: what.to_owned(), output }
        };
        let captured = Box::new(self.take_output(error.exit_code(), None));
        set_output(&mut error, captured);
        error
    }
}

fn set_output(error: &mut Error, captured: Box<Output>) {
    match error {
        Error::OutputLimit { output, .. }
        | Error::Timeout { output, .. }
        | Error::OutOfFuel { output, .. }
        | Error::MemoryLimit { output, .. }
        | Error::Trap { output, .. }
        | Error::Exception { output, .. }
        | Error::Exit { output, .. } => *output = captured,
        _ => {}
    }
}

/// Runs a WASI command module to completion: its exit status decides
/// between `Ok` and [`Error::Exit`].
pub(crate) fn run_command(settings: &Arc<Settings>, source: &ModuleSource, args: &[String]) -> Result<Output, Error> {
    let mut instance = Instance::new(settings, source, args)?;
    let start = instance.func::<(), ()>("_start")?;
    let guest = &mut instance.guest;
    let (result, fuel_consumed) = guest.metered_raw(settings.fuel, |store| start.call(store, ()));
    let code = match result {
        Ok(()) => 0,
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => return Err(guest.stopped(error, fuel_consumed)),
        },
    };
    if code != 0 && guest.store.data().limiter.denied {
        // The program gave up because the sandbox refused it memory.
        return Err(guest.out_of_memory("the program ran out of memory"));
    }
    let output = guest.take_output(code, fuel_consumed);
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
}

impl Interpreter {
    /// Instantiates the library module and starts MicroPython with the
    /// sandbox's heap size and `sys.argv`.
    pub(crate) fn start(settings: &Arc<Settings>) -> Result<Interpreter, Error> {
        let mut instance = Instance::new(settings, &settings.library, &[])?;
        let heap = settings.heap_size(instance.initial_memory)?;
        let initialize = instance.func::<(), ()>("_initialize")?;
        let api = Api::load(&mut instance)?;
        let status = instance.guest.metered(None, |store| {
            initialize.call(&mut *store, ())?;
            api.init.call(store, heap)
        })?;
        if status != 0 {
            return Err(instance.guest.out_of_memory(&format!("MicroPython could not allocate its {heap}-byte heap")));
        }
        let mut interpreter = Interpreter { guest: instance.guest, api };
        if !settings.args.is_empty() {
            // The library module has no argv of its own; a JSON array of
            // strings is also a Python list literal.
            let argv = serde_json::to_string(&settings.args).expect("strings serialise");
            interpreter.exec(&format!("__import__('sys').argv.extend({argv})"), EXEC_QUIET, None)?;
        }
        Ok(interpreter)
    }

    /// Runs `code` with `flags`, metered by `fuel`.
    pub(crate) fn exec(&mut self, code: &str, flags: u32, fuel: Option<u64>) -> Result<Output, Error> {
        let Interpreter { guest, api } = self;
        let (ptr, len) = copy_in(guest, api, code.as_bytes())?;
        let (result, fuel_consumed) = guest.metered_raw(fuel, |store| {
            let status = api.exec.call(&mut *store, (ptr, len, flags))?;
            api.free.call(store, ptr)?;
            Ok(status)
        });
        let status = result.map_err(|error| guest.stopped(error, fuel_consumed))?;
        match status {
            0 => Ok(guest.take_output(0, fuel_consumed)),
            1 => {
                let output = guest.take_output(1, fuel_consumed);
                let exception = last_exception(guest, api, &output.stderr)?;
                Err(Error::Exception { exception, output: Box::new(output) })
            }
            status if status & FORCED_EXIT as i32 != 0 => match status & 0xff {
                0 => Ok(guest.take_output(0, fuel_consumed)),
                code => Err(Error::Exit { code, output: Box::new(guest.take_output(code, fuel_consumed)) }),
            },
            other => Err(Error::Trap {
                message: format!("mpwasm_exec returned {other}"),
                output: Box::new(guest.take_output(134, fuel_consumed)),
            }),
        }
    }

    /// True if `code` is an unfinished statement a REPL should keep reading.
    pub(crate) fn needs_more_input(&mut self, code: &str) -> Result<bool, Error> {
        let Interpreter { guest, api } = self;
        let (ptr, len) = copy_in(guest, api, code.as_bytes())?;
        let more = guest.metered(None, |store| {
            let more = api.needs_more_input.call(&mut *store, (ptr, len))?;
            api.free.call(store, ptr)?;
            Ok(more)
        })?;
        Ok(more != 0)
    }
}

/// Copies `bytes` into memory the guest allocated for them.
fn copy_in(guest: &mut Guest, api: &Api, bytes: &[u8]) -> Result<(u32, u32), Error> {
    let len = u32::try_from(bytes.len()).map_err(|_| Error::Config("source text over 4 GiB".into()))?;
    let ptr = guest.metered(None, |store| api.alloc.call(store, len))?;
    if ptr == 0 {
        return Err(guest.out_of_memory("the interpreter could not allocate room for the source text"));
    }
    let memory = guest.store.data().memory.expect("the library module exports its memory");
    memory.write(&mut guest.store, ptr as usize, bytes).map_err(wasmtime::Error::from)?;
    Ok((ptr, len))
}

/// The exception of the last failed `mpwasm_exec`, from its JSON report.
fn last_exception(guest: &mut Guest, api: &Api, stderr: &str) -> Result<PythonException, Error> {
    let (ptr, len) = guest
        .metered(None, |store| Ok((api.error_json.call(&mut *store, ())?, api.error_json_len.call(store, ())?)))?;
    let memory = guest.store.data().memory.expect("the library module exports its memory");
    let mut json = vec![0; len as usize];
    memory.read(&guest.store, ptr as usize, &mut json).map_err(wasmtime::Error::from)?;
    match serde_json::from_slice::<serde_json::Value>(&json) {
        Ok(value) => {
            let field = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
            Ok(PythonException { type_name: field("type"), message: field("message"), traceback: field("traceback") })
        }
        // The report can be damaged when the heap is full (its buffer is not
        // a GC root in this port version): the printed traceback says the same.
        Err(_) => Ok(exception_from_traceback(stderr)),
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
