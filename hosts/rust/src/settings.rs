//! A sandbox's configuration, in the form the layers below the public API
//! read it, and the heap size it implies.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::EngineKind;
use crate::error::Error;
use crate::host::HostFunctions;
use crate::source::ModuleSource;

/// MicroPython's heap when nothing else is said: the port's default.
const DEFAULT_HEAP: u64 = 8 << 20;
/// Linear memory kept free beside the heap for the source text being run
/// and for error reports.
const MALLOC_RESERVE: u64 = 256 << 10;
const MIN_HEAP: u64 = 64 << 10;

/// Everything a [`SandboxBuilder`](crate::SandboxBuilder) can set.
#[derive(Debug)]
pub(crate) struct Settings {
    pub memory: Option<u64>,
    pub heap: Option<u32>,
    pub fuel: Option<u64>,
    pub timeout: Option<Duration>,
    pub max_stdout: usize,
    pub max_stderr: usize,
    pub dirs: Vec<Preopen>,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    pub stdin: Stdin,
    pub inherit_output: bool,
    pub host: Arc<HostFunctions>,
    pub cache_dir: Option<PathBuf>,
    pub command: ModuleSource,
    pub library: ModuleSource,
}

/// A host directory the guest sees at `guest`.
#[derive(Debug, Clone)]
pub(crate) struct Preopen {
    pub host: PathBuf,
    pub guest: String,
    pub writable: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Stdin {
    Empty,
    Bytes(bytes::Bytes),
    Inherit,
}

impl Settings {
    /// The engine whose instrumentation these limits need.
    pub(crate) fn engine_kind(&self) -> EngineKind {
        EngineKind { fuel: self.fuel.is_some(), epochs: self.timeout.is_some() }
    }

    /// The heap to give MicroPython in a module whose memory starts at
    /// `initial_memory` bytes: as configured, else the default shrunk to fit
    /// under the memory limit.
    pub(crate) fn heap_size(&self, initial_memory: u64) -> Result<u32, Error> {
        let heap = match (self.heap, self.memory) {
            (Some(heap), _) => u64::from(heap),
            (None, None) => DEFAULT_HEAP,
            (None, Some(limit)) => {
                let room = limit.saturating_sub(initial_memory + MALLOC_RESERVE);
                if room < MIN_HEAP {
                    return Err(Error::Config(format!(
                        "a memory limit of {limit} bytes leaves no room for a heap: the interpreter itself takes {} bytes",
                        initial_memory + MALLOC_RESERVE
                    )));
                }
                room.min(DEFAULT_HEAP)
            }
        };
        Ok(u32::try_from(heap).expect("heap sizes are checked to fit in 32 bits"))
    }
}
