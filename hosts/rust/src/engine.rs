//! The process-wide wasmtime engines, compiling for them, the thread guest
//! code runs on, and the thread that advances epochs while a time-limited
//! run is in progress.
//!
//! Fuel metering and epoch interruption change the generated machine code,
//! so a run that uses neither pays for neither: there is one engine per
//! combination, created on first use and shared by every sandbox.

use std::path::Path;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, Module};

use crate::cache;
use crate::error::Error;
use crate::source::ModuleSource;

/// Which instrumentation an engine compiles into the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EngineKind {
    pub fuel: bool,
    pub epochs: bool,
}

impl EngineKind {
    const ALL: [EngineKind; 4] = [
        EngineKind { fuel: false, epochs: false },
        EngineKind { fuel: true, epochs: false },
        EngineKind { fuel: false, epochs: true },
        EngineKind { fuel: true, epochs: true },
    ];

    fn index(self) -> usize {
        usize::from(self.fuel) | usize::from(self.epochs) << 1
    }

    /// Names the kind in cache file names.
    fn tag(self) -> &'static str {
        ["plain", "fuel", "epoch", "fuel-epoch"][self.index()]
    }
}

/// The deepest the guest's WebAssembly frames may go. MicroPython stops
/// recursion in C (repr or json of nested data, re's backtracking, the
/// parser) by measuring its shadow stack in linear memory, which Cranelift's
/// native frames outgrow about eightfold: with wasmtime's 512 KiB default
/// that recursion trapped ("call stack exhausted") instead of raising
/// `RuntimeError: maximum recursion depth exceeded`.
const WASM_STACK: usize = 4 << 20;
/// The native stack guest code runs on: its frames, plus room for the host
/// calls (WASI, host functions) made at the deepest point.
const GUEST_THREAD_STACK: usize = WASM_STACK + (2 << 20);

/// Runs `call` on a thread of its own whose stack fits [`WASM_STACK`]: the
/// caller's thread may have less (2 MiB for spawned Rust threads), and
/// overflowing it would abort the process rather than trap the guest.
pub(crate) fn on_guest_stack<R: Send>(call: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("micropython-wasm-guest".into())
            .stack_size(GUEST_THREAD_STACK)
            .spawn_scoped(scope, call)
            .expect("spawning a thread for the guest");
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

static ENGINES: [OnceLock<Engine>; 4] = [const { OnceLock::new() }; 4];

fn engine(kind: EngineKind) -> Result<&'static Engine, Error> {
    let slot = &ENGINES[kind.index()];
    if let Some(engine) = slot.get() {
        return Ok(engine);
    }
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .consume_fuel(kind.fuel)
        .epoch_interruption(kind.epochs)
        .max_wasm_stack(WASM_STACK)
        // Checked against max_wasm_stack even though nothing here is async.
        .async_stack_size(WASM_STACK);
    let engine = Engine::new(&config)?;
    Ok(slot.get_or_init(|| engine))
}

/// Compiles `source` for the `kind` engine, or loads it from the cache in
/// `cache_dir`.
pub(crate) fn compile(kind: EngineKind, source: &ModuleSource, cache_dir: Option<&Path>) -> Result<Module, Error> {
    cache::load_or_compile(engine(kind)?, kind.tag(), source, cache_dir)
}

/// How often the epoch advances while a time-limited run is in progress; a
/// timeout is noticed at most this late.
const TICK: Duration = Duration::from_millis(5);

/// Keeps the epoch ticker running while alive.
pub(crate) struct TickerGuard(());

static ACTIVE_TIMERS: Mutex<usize> = Mutex::new(0);
static TIMERS_CHANGED: Condvar = Condvar::new();

impl TickerGuard {
    pub(crate) fn hold() -> TickerGuard {
        static STARTED: OnceLock<()> = OnceLock::new();
        STARTED.get_or_init(|| {
            std::thread::Builder::new()
                .name("micropython-wasm-epochs".into())
                .spawn(tick_while_needed)
                .expect("spawning the epoch thread");
        });
        *ACTIVE_TIMERS.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        TIMERS_CHANGED.notify_all();
        TickerGuard(())
    }
}

impl Drop for TickerGuard {
    fn drop(&mut self) {
        *ACTIVE_TIMERS.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
    }
}

/// Advances the epoch of every epoch-interruptible engine, sleeping while no
/// run has a deadline.
fn tick_while_needed() {
    loop {
        {
            let mut active = ACTIVE_TIMERS.lock().unwrap_or_else(|p| p.into_inner());
            while *active == 0 {
                active = TIMERS_CHANGED.wait(active).unwrap_or_else(|p| p.into_inner());
            }
        }
        std::thread::sleep(TICK);
        for kind in EngineKind::ALL.into_iter().filter(|kind| kind.epochs) {
            if let Some(engine) = ENGINES[kind.index()].get() {
                engine.increment_epoch();
            }
        }
    }
}
