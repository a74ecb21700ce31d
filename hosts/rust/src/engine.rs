//! The process-wide wasmtime engines, the compiled modules, and the thread
//! that advances epochs while a time-limited run is in progress.
//!
//! Fuel metering and epoch interruption change the generated machine code,
//! so a run that uses neither pays for neither: there is one engine per
//! combination, created on first use and shared by every sandbox.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, InstancePre, Linker};

use crate::cache;
use crate::host;
use crate::instance::State;
use crate::Error;

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
    pub(crate) fn tag(self) -> &'static str {
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

pub(crate) fn engine(kind: EngineKind) -> Result<&'static Engine, Error> {
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

/// A WebAssembly module to run: one of the embedded ones, or a WASI command
/// module the caller supplied.
#[derive(Debug, Clone)]
pub(crate) struct ModuleSource {
    pub name: Cow<'static, str>,
    pub bytes: Cow<'static, [u8]>,
    /// Identifies the bytes in the in-process and on-disk caches.
    pub digest: Cow<'static, str>,
}

impl ModuleSource {
    pub(crate) fn embedded(name: &'static str, bytes: &'static [u8], sha256: &'static str) -> ModuleSource {
        ModuleSource { name: Cow::Borrowed(name), bytes: Cow::Borrowed(bytes), digest: Cow::Borrowed(sha256) }
    }

    /// A module read at run time. Its digest is a 64-bit SipHash rather than
    /// a SHA-256, which is plenty to tell a user's files apart in a cache.
    pub(crate) fn external(name: String, bytes: Vec<u8>) -> ModuleSource {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        let digest = format!("sip{:016x}", hasher.finish());
        ModuleSource { name: Cow::Owned(name), bytes: Cow::Owned(bytes), digest: Cow::Owned(digest) }
    }
}

/// A module compiled for one engine and linked against WASI and the host
/// functions, ready to instantiate.
pub(crate) struct Compiled {
    pub pre: InstancePre<State>,
    /// Bytes of linear memory the module starts with.
    pub initial_memory: u64,
}

type Slot = Arc<Mutex<Option<Arc<Compiled>>>>;

/// Compiles `source` for the `kind` engine once per process; the compiled
/// code comes from (and goes to) `cache_dir` when there is one.
pub(crate) fn compiled(
    kind: EngineKind,
    source: &ModuleSource,
    cache_dir: Option<&Path>,
) -> Result<Arc<Compiled>, Error> {
    static COMPILED: OnceLock<Mutex<HashMap<(EngineKind, String), Slot>>> = OnceLock::new();
    let slot = {
        let mut map = COMPILED.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        map.entry((kind, source.digest.to_string())).or_default().clone()
    };
    // Holding the slot while compiling makes other threads wait for this
    // compilation instead of starting their own.
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(compiled) = &*slot {
        return Ok(compiled.clone());
    }
    let engine = engine(kind)?;
    let module = cache::load_or_compile(engine, kind, source, cache_dir)?;
    let initial_memory = match module.get_export("memory") {
        Some(wasmtime::ExternType::Memory(memory)) => memory.minimum() * memory.page_size(),
        _ => 0,
    };
    let compiled = Arc::new(Compiled { pre: linker(engine)?.instantiate_pre(&module)?, initial_memory });
    *slot = Some(compiled.clone());
    Ok(compiled)
}

fn linker(engine: &Engine) -> Result<Linker<State>, Error> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)?;
    host::add_to_linker(&mut linker)?;
    Ok(linker)
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
