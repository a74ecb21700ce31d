//! One store and instance: linking a module, setting the store up from a
//! sandbox's settings, arming each run's limits, and turning what stopped a
//! run into the matching [`Error`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use wasmtime::{Engine, InstancePre, Linker, Memory, Store, Trap, TypedFunc, UpdateDeadline};

use crate::deadline::Deadline;
use crate::engine::{self, EngineKind, TickerGuard};
use crate::error::Error;
use crate::host::{self, HostCalls};
use crate::limiter::Limiter;
use crate::output::{Capture, Output};
use crate::settings::Settings;
use crate::source::ModuleSource;
use crate::wasi::{self, Captured, Wasi};

/// What a store holds besides wasmtime's own state.
pub(crate) struct State {
    wasi: Wasi,
    host: HostCalls,
    limiter: Limiter,
    deadline: Deadline,
}

/// A module compiled for one engine and linked against WASI and the host
/// functions, ready to instantiate.
pub(crate) struct Linked {
    pre: InstancePre<State>,
    /// Bytes of linear memory the module starts with.
    pub initial_memory: u64,
}

type Slot = Arc<Mutex<Option<Arc<Linked>>>>;

/// `source` compiled for the `kind` engine and linked, once per process; the
/// compiled code comes from (and goes to) `cache_dir` when there is one.
pub(crate) fn linked(kind: EngineKind, source: &ModuleSource, cache_dir: Option<&Path>) -> Result<Arc<Linked>, Error> {
    static LINKED: OnceLock<Mutex<HashMap<(EngineKind, String), Slot>>> = OnceLock::new();
    let slot = {
        let mut map = LINKED.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        map.entry((kind, source.digest.to_string())).or_default().clone()
    };
    // Holding the slot while compiling makes other threads wait for this
    // compilation instead of starting their own.
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(linked) = &*slot {
        return Ok(linked.clone());
    }
    let module = engine::compile(kind, source, cache_dir)?;
    let initial_memory = match module.get_export("memory") {
        Some(wasmtime::ExternType::Memory(memory)) => memory.minimum() * memory.page_size(),
        _ => 0,
    };
    let linked = Arc::new(Linked { pre: linker(module.engine())?.instantiate_pre(&module)?, initial_memory });
    *slot = Some(linked.clone());
    Ok(linked)
}

fn linker(engine: &Engine) -> Result<Linker<State>, Error> {
    let mut linker = Linker::new(engine);
    wasi::add_to_linker(&mut linker, |state: &mut State| &mut state.wasi)?;
    host::add_to_linker(&mut linker, |state: &mut State| &mut state.host)?;
    Ok(linker)
}

/// A store under a sandbox's settings: its streams, its limits, and the
/// bookkeeping that turns a trap into the matching [`Error`].
pub(crate) struct Guest {
    pub store: Store<State>,
    settings: Arc<Settings>,
    captured: Option<Captured>,
}

/// An instance of a module in its own store.
pub(crate) struct Instance {
    pub guest: Guest,
    instance: wasmtime::Instance,
    /// Bytes of linear memory the module starts with.
    pub initial_memory: u64,
}

impl Instance {
    /// Instantiates `source` under `settings`, with `args` as its WASI
    /// arguments. The limits are armed first, so that the module's start
    /// function spends the first run's fuel and time.
    pub(crate) fn new(settings: &Arc<Settings>, source: &ModuleSource, args: &[String]) -> Result<Instance, Error> {
        let kind = settings.engine_kind();
        let linked = linked(kind, source, settings.cache_dir.as_deref())?;
        let deadline = Deadline::default();
        let (wasi, captured) = Wasi::new(settings, args, &deadline)?;
        let state = State {
            wasi,
            host: HostCalls::new(settings.host.clone(), deadline.clone()),
            limiter: Limiter::new(settings.memory),
            deadline,
        };
        let mut store = Store::new(linked.pre.module().engine(), state);
        store.limiter(|state| &mut state.limiter);
        if kind.epochs {
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|context| {
                Ok(if context.data().deadline.check() {
                    UpdateDeadline::Interrupt
                } else {
                    UpdateDeadline::Continue(1)
                })
            });
        }
        let mut guest = Guest { store, settings: settings.clone(), captured };
        guest.arm();
        let instance = guest.call(|store| linked.pre.instantiate(store))?;
        Ok(Instance { guest, instance, initial_memory: linked.initial_memory })
    }

    pub(crate) fn func<P, R>(&mut self, name: &str) -> Result<TypedFunc<P, R>, Error>
    where
        P: wasmtime::WasmParams,
        R: wasmtime::WasmResults,
    {
        Ok(self.instance.get_typed_func(&mut self.guest.store, name)?)
    }

    /// The module's exported linear memory.
    pub(crate) fn memory(&mut self) -> Result<Memory, Error> {
        self.instance
            .get_memory(&mut self.guest.store, "memory")
            .ok_or_else(|| Error::Wasmtime(wasmtime::format_err!("the module exports no memory")))
    }
}

impl Guest {
    /// Starts a run: the sandbox's fuel budget and timeout, which the calls
    /// that follow share until the next `arm`.
    pub(crate) fn arm(&mut self) {
        if let Some(fuel) = self.settings.fuel {
            self.store.set_fuel(fuel).expect("fuel metering is on for this engine");
        }
        self.store.data().deadline.arm(self.settings.timeout);
    }

    /// Runs `call` under the armed limits. A trap becomes the matching
    /// [`Error`], carrying what was printed.
    pub(crate) fn call<R: Send>(
        &mut self,
        call: impl FnOnce(&mut Store<State>) -> wasmtime::Result<R> + Send,
    ) -> Result<R, Error> {
        self.call_raw(call).map_err(|error| self.stopped(error))
    }

    /// As [`Guest::call`], but hands back wasmtime's error so that the caller
    /// can look at it first.
    pub(crate) fn call_raw<R: Send>(
        &mut self,
        call: impl FnOnce(&mut Store<State>) -> wasmtime::Result<R> + Send,
    ) -> wasmtime::Result<R> {
        let _ticker = self.settings.timeout.is_some().then(TickerGuard::hold);
        let store = &mut self.store;
        engine::on_guest_stack(move || call(store))
    }

    /// The fuel spent since the run was armed, when metering.
    fn fuel_consumed(&self) -> Option<u64> {
        let budget = self.settings.fuel?;
        Some(budget.saturating_sub(self.store.get_fuel().unwrap_or(0)))
    }

    /// True if the memory limit refused the module something.
    pub(crate) fn memory_denied(&self) -> bool {
        self.store.data().limiter.denied()
    }

    /// What was printed since the last call, with `exit_code`.
    pub(crate) fn take_output(&mut self, exit_code: i32) -> Output {
        let take = |capture: &Capture| capture.take().0;
        let (stdout, stderr) = match &self.captured {
            Some(captured) => (take(&captured.stdout), take(&captured.stderr)),
            None => Default::default(),
        };
        Output { stdout, stderr, exit_code, fuel_consumed: self.fuel_consumed() }
    }

    /// The [`Error`] for a call that ended in `error`.
    pub(crate) fn stopped(&mut self, error: wasmtime::Error) -> Error {
        let overflow =
            self.captured.iter().flat_map(|captured| [&captured.stdout, &captured.stderr]).find_map(Capture::exceeded);
        let output = Box::default();
        let stopped = if let Some((stream, limit)) = overflow {
            Error::OutputLimit { stream, limit, output }
        } else if self.store.data().deadline.expired() {
            Error::Timeout { timeout: self.settings.timeout.unwrap_or_default(), output }
        } else if matches!(error.downcast_ref::<Trap>(), Some(Trap::OutOfFuel)) {
            Error::OutOfFuel { fuel: self.fuel_consumed().unwrap_or_default(), output }
        } else if self.memory_denied() {
            Error::MemoryLimit { limit: self.settings.memory.unwrap_or_default(), output }
        } else {
            Error::Trap { message: format!("{error:?}"), output }
        };
        self.with_output(stopped)
    }

    /// The error for a call that could not get memory: the sandbox's limit
    /// if it refused some, otherwise a trap described by `what`.
    pub(crate) fn out_of_memory(&mut self, what: &str) -> Error {
        let output = Box::default();
        let error = if self.memory_denied() {
            Error::MemoryLimit { limit: self.settings.memory.unwrap_or_default(), output }
        } else {
            Error::Trap { message: what.to_owned(), output }
        };
        self.with_output(error)
    }

    /// `error` carrying what was printed.
    fn with_output(&mut self, mut error: Error) -> Error {
        let captured = Box::new(self.take_output(error.exit_code()));
        match &mut error {
            Error::OutputLimit { output, .. }
            | Error::Timeout { output, .. }
            | Error::OutOfFuel { output, .. }
            | Error::MemoryLimit { output, .. }
            | Error::Trap { output, .. }
            | Error::Exception { output, .. }
            | Error::Exit { output, .. } => *output = captured,
            Error::SessionStopped { .. } | Error::Config(_) | Error::Io { .. } | Error::Wasmtime(_) => {}
        }
        error
    }
}
