//! The WASI side of a store: the context a sandbox's settings describe, and
//! the preview-1 functions this crate answers instead of wasmtime-wasi.
//!
//! - `poll_oneoff`, so that sleeps end at the run's deadline ([`crate::poll`]);
//! - `proc_exit`, which wasmtime-wasi turns into a trap for statuses of 126
//!   and up, where a POSIX process reports them: `sys.exit(200)` is an exit
//!   with status 200, not a crash.
//!
//! Stdin inherited from this process also stops waiting at the deadline.

use std::time::Instant;

use bytes::Bytes;
use wasmtime::{AsContextMut, Caller, Linker};
use wasmtime_wasi::cli::{IsTerminal, StdinStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError};
use wasmtime_wasi::{FsPerms, HostMonotonicClock, I32Exit, WasiCtxBuilder};

use crate::deadline::{Deadline, DeadlineReached};
use crate::error::Error;
use crate::host::exported_memory;
use crate::output::{Capture, InheritedStderr, Stream};
use crate::poll::{Call, Poller};
use crate::settings::{Settings, Stdin};

/// A store's WASI state.
pub(crate) struct Wasi {
    ctx: WasiP1Ctx,
    deadline: Deadline,
    /// The zero of the guest's monotonic clock.
    clock_zero: Instant,
}

/// The streams a run's output is captured in, unless it is streamed.
pub(crate) struct Captured {
    pub stdout: Capture,
    pub stderr: Capture,
}

impl Wasi {
    /// The WASI context `settings` describe, with `args` as the program's
    /// arguments, for a store whose runs end at `deadline`.
    pub(crate) fn new(
        settings: &Settings,
        args: &[String],
        deadline: &Deadline,
    ) -> Result<(Wasi, Option<Captured>), Error> {
        let clock_zero = Instant::now();
        let mut wasi = WasiCtxBuilder::new();
        // Blocking file operations run on the guest's own thread instead of a
        // Tokio pool: no hop per read. (Sleeps no longer block it: see poll.)
        wasi.args(args).envs(&settings.env).allow_blocking_current_thread(true).monotonic_clock(GuestClock(clock_zero));
        let captured = if settings.inherit_output {
            wasi.inherit_stdout().stderr(InheritedStderr::default());
            None
        } else {
            let captured = Captured {
                stdout: Capture::new(Stream::Stdout, settings.max_stdout),
                stderr: Capture::new(Stream::Stderr, settings.max_stderr),
            };
            wasi.stdout(captured.stdout.clone()).stderr(captured.stderr.clone());
            Some(captured)
        };
        match &settings.stdin {
            Stdin::Empty => {}
            Stdin::Bytes(bytes) => {
                wasi.stdin(MemoryInputPipe::new(bytes.clone()));
            }
            Stdin::Inherit => {
                wasi.stdin(InheritedStdin(deadline.clone()));
            }
        }
        for dir in &settings.dirs {
            let perms = if dir.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&dir.host, &dir.guest, perms).map_err(|err| Error::Io {
                context: format!("opening {} for the sandbox", dir.host.display()),
                source: std::io::Error::other(format!("{err:?}")),
            })?;
        }
        Ok((Wasi { ctx: wasi.build_p1(), deadline: deadline.clone(), clock_zero }, captured))
    }
}

/// Defines WASI preview 1 for stores whose data holds [`Wasi`] where `view`
/// finds it.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> &mut Wasi,
) -> Result<(), Error> {
    wasmtime_wasi::p1::add_to_linker_sync(linker, move |data: &mut T| &mut view(data).ctx)?;
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "poll_oneoff",
        move |mut caller: Caller<'_, T>,
              subscriptions: u32,
              events: u32,
              n: u32,
              count: u32|
              -> wasmtime::Result<i32> {
            let hostcall_fuel = caller.as_context_mut().hostcall_fuel();
            let memory = exported_memory(&mut caller, "poll_oneoff")?;
            let (memory, data) = memory.data_and_store_mut(&mut caller);
            let wasi = view(data);
            let poller =
                Poller { wasi: &mut wasi.ctx, deadline: &wasi.deadline, clock_zero: wasi.clock_zero, hostcall_fuel };
            poller.poll_oneoff(memory, Call { subscriptions, events, n, count })
        },
    )?;
    linker.func_wrap("wasi_snapshot_preview1", "proc_exit", |status: i32| -> wasmtime::Result<()> {
        Err(I32Exit(status).into())
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The guest's monotonic clock, counted from a zero this crate knows, so
/// that [`crate::poll`] can wait for absolute times on it.
struct GuestClock(Instant);

impl HostMonotonicClock for GuestClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// This process's stdin, read through wasmtime-wasi's reader thread, except
/// that a guest waiting for input stops waiting at the deadline.
struct InheritedStdin(Deadline);

impl IsTerminal for InheritedStdin {
    fn is_terminal(&self) -> bool {
        wasmtime_wasi::cli::stdin().is_terminal()
    }
}

impl StdinStream for InheritedStdin {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(UntilDeadline { inner: wasmtime_wasi::cli::stdin().p2_stream(), deadline: self.0.clone() })
    }

    /// WASIp3 reads through this; preview 1, which is all this crate links,
    /// reads through [`p2_stream`](Self::p2_stream).
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        wasmtime_wasi::cli::stdin().async_stream()
    }
}

/// An input stream whose wait for data ends at the deadline, and whose
/// next read then traps.
struct UntilDeadline {
    inner: Box<dyn InputStream>,
    deadline: Deadline,
}

#[wasmtime_wasi::async_trait]
impl Pollable for UntilDeadline {
    async fn ready(&mut self) {
        match self.deadline.at() {
            Some(at) => {
                let _ = tokio::time::timeout_at(at.into(), self.inner.ready()).await;
            }
            None => self.inner.ready().await,
        }
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for UntilDeadline {
    fn read(&mut self, size: usize) -> Result<Bytes, StreamError> {
        if self.deadline.check() {
            return Err(StreamError::Trap(DeadlineReached.into()));
        }
        self.inner.read(size)
    }
}
