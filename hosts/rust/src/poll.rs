//! WASI's `poll_oneoff`, the call behind every sleep, answered so that a
//! wait ends at the run's deadline.
//!
//! wasmtime-wasi sleeps in `std::thread::sleep` (or a Tokio timer), which no
//! epoch check can interrupt: `time.sleep(3)` under a 500 ms timeout took the
//! whole 3 s, and `time.sleep(1e9)` never ended. A poll on clocks alone,
//! which is what a sleep is, is answered here and wakes at the earlier of its
//! own time and the deadline. A poll that also waits on file descriptors is
//! handed on to wasmtime-wasi, where it is bounded too: files and output
//! streams are always ready, and the stdin that can block (this process's)
//! is given to the guest wrapped so that its wait ends at the deadline.

use std::time::{Duration, Instant, SystemTime};

use wasmtime_wasi::p1::wasi_snapshot_preview1::{self, WasiSnapshotPreview1};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::deadline::Deadline;

/// The layout of preview 1's `subscription` and `event` records.
const SUBSCRIPTION_SIZE: usize = 48;
const EVENT_SIZE: usize = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const CLOCKID_REALTIME: u32 = 0;
const CLOCKID_MONOTONIC: u32 = 1;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;

/// What `poll_oneoff` needs of the store, besides the guest's memory.
pub(crate) struct Poller<'a> {
    pub wasi: &'a mut WasiP1Ctx,
    pub deadline: &'a Deadline,
    /// The zero of the guest's monotonic clock, for absolute times on it.
    pub clock_zero: Instant,
    /// The store's limit on the bytes a host call copies in, which
    /// wasmtime-wasi checks.
    pub hostcall_fuel: usize,
}

/// Where the guest's arguments are: `n` subscriptions at `subscriptions`,
/// room for `n` events at `events`, and the event count to write at
/// `count`.
#[derive(Clone, Copy)]
pub(crate) struct Call {
    pub subscriptions: u32,
    pub events: u32,
    pub n: u32,
    pub count: u32,
}

/// A subscription to a clock.
struct Alarm {
    userdata: u64,
    /// `None`: past the end of what `Instant` can count.
    wake: Option<Instant>,
}

impl Poller<'_> {
    /// Runs `call` against `memory`; `Ok` holds the errno, `Err` a trap
    /// (the deadline passed).
    pub(crate) fn poll_oneoff(self, memory: &mut [u8], call: Call) -> wasmtime::Result<i32> {
        let alarms = match alarms(memory, call, self.clock_zero) {
            Ok(Some(alarms)) => alarms,
            Ok(None) => return self.hand_on(memory, call),
            Err(errno) => return Ok(errno),
        };
        // Checked before waiting, so that the wait is not for nothing.
        let events = range(call.events, (call.n as usize).saturating_mul(EVENT_SIZE));
        let count = range(call.count, 4);
        if memory.get(events.clone()).is_none() || memory.get(count.clone()).is_none() {
            return Ok(ERRNO_FAULT);
        }
        let earliest = alarms.iter().filter_map(|alarm| alarm.wake).min();
        match self.deadline.at() {
            Some(deadline) if earliest.is_none_or(|wake| deadline < wake) => {
                sleep_until(Some(deadline));
                return Err(self.deadline.expire().into());
            }
            _ => sleep_until(earliest),
        }
        let now = Instant::now();
        let rang: Vec<u64> = alarms
            .iter()
            .filter(|alarm| alarm.wake.is_some_and(|wake| wake <= now))
            .map(|alarm| alarm.userdata)
            .collect();
        for (event, userdata) in memory[events].chunks_exact_mut(EVENT_SIZE).zip(&rang) {
            event.fill(0);
            event[..8].copy_from_slice(&userdata.to_le_bytes());
            event[10] = EVENTTYPE_CLOCK;
        }
        memory[count].copy_from_slice(&(rang.len() as u32).to_le_bytes());
        Ok(ERRNO_SUCCESS)
    }

    /// wasmtime-wasi's own `poll_oneoff`, for polls on file descriptors.
    fn hand_on(self, memory: &mut [u8], call: Call) -> wasmtime::Result<i32> {
        self.wasi.set_hostcall_fuel(self.hostcall_fuel);
        let mut memory = wiggle::GuestMemory::Unshared(memory);
        // The ABI takes the pointers as i32: the same bits.
        let poll = wasi_snapshot_preview1::poll_oneoff(
            self.wasi,
            &mut memory,
            call.subscriptions as i32,
            call.events as i32,
            call.n as i32,
            call.count as i32,
        );
        wasmtime_wasi::runtime::in_tokio(poll)
    }
}

/// The subscriptions of `call` if all of them are clocks (`None` if some
/// wait on a file descriptor), or the errno that refuses them.
fn alarms(memory: &[u8], call: Call, clock_zero: Instant) -> Result<Option<Vec<Alarm>>, i32> {
    if call.n == 0 {
        // It would wait for nothing, forever.
        return Err(ERRNO_INVAL);
    }
    let records = memory
        .get(range(call.subscriptions, (call.n as usize).saturating_mul(SUBSCRIPTION_SIZE)))
        .ok_or(ERRNO_FAULT)?
        .chunks_exact(SUBSCRIPTION_SIZE);
    if records.clone().any(|record| record[8] != EVENTTYPE_CLOCK) {
        return Ok(None);
    }
    let now = Instant::now();
    let field = |record: &[u8], at: usize| u64::from_le_bytes(record[at..at + 8].try_into().expect("8 bytes"));
    records
        .map(|record| {
            let id = u32::from_le_bytes(record[16..20].try_into().expect("4 bytes"));
            let timeout = Duration::from_nanos(field(record, 24));
            let absolute = u16::from_le_bytes([record[40], record[41]]) & SUBCLOCKFLAGS_ABSTIME != 0;
            let wake = match (id, absolute) {
                (CLOCKID_REALTIME | CLOCKID_MONOTONIC, false) => now.checked_add(timeout),
                (CLOCKID_MONOTONIC, true) => clock_zero.checked_add(timeout),
                (CLOCKID_REALTIME, true) => {
                    let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
                    now.checked_add(timeout.saturating_sub(since_epoch))
                }
                // CPU-time clocks, as wasmtime-wasi.
                _ => return Err(ERRNO_INVAL),
            };
            Ok(Alarm { userdata: field(record, 0), wake })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// `len` bytes from the guest address `at` (which may lie outside memory).
fn range(at: u32, len: usize) -> std::ops::Range<usize> {
    let start = at as usize;
    start..start.saturating_add(len)
}

/// Sleeps until `at`; `None` is further than a clock can tell.
fn sleep_until(at: Option<Instant>) {
    std::thread::sleep(at.map_or(Duration::MAX, |at| at.saturating_duration_since(Instant::now())));
}
