//! The wall-clock deadline of a run, shared by everything that can notice
//! it passing: the epoch callback while guest code runs, and the host calls
//! that wait (WASI sleeps, stdin, host functions), where no epoch check can
//! interrupt the thread.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// When the current run must stop, and whether it was stopped for that.
/// Clones share one deadline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deadline {
    shared: Arc<Mutex<Shared>>,
}

#[derive(Debug, Default)]
struct Shared {
    at: Option<Instant>,
    expired: bool,
}

impl Deadline {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the clock: from now on the run must end within `timeout`
    /// (`None`: no limit).
    pub(crate) fn arm(&self, timeout: Option<Duration>) {
        let mut shared = self.lock();
        // A timeout too long to add to the clock can never pass.
        shared.at = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        shared.expired = false;
    }

    /// When the run must end, if it must.
    pub(crate) fn at(&self) -> Option<Instant> {
        self.lock().at
    }

    /// True once the deadline has passed; remembered for [`expired`](Self::expired).
    pub(crate) fn check(&self) -> bool {
        let mut shared = self.lock();
        if shared.at.is_some_and(|at| Instant::now() >= at) {
            shared.expired = true;
        }
        shared.expired
    }

    /// Records that a wait reached the deadline, and returns the trap that
    /// ends the run.
    pub(crate) fn expire(&self) -> DeadlineReached {
        self.lock().expired = true;
        DeadlineReached
    }

    /// True if the run was stopped because its deadline passed.
    pub(crate) fn expired(&self) -> bool {
        self.lock().expired
    }
}

/// The trap a host call raises when the deadline passes while the guest
/// waits in it.
#[derive(Debug)]
pub(crate) struct DeadlineReached;

impl fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the deadline passed while the guest waited in a host call")
    }
}

impl std::error::Error for DeadlineReached {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_passes_once_armed_and_is_remembered() {
        let deadline = Deadline::default();
        assert!(!deadline.check(), "unarmed");
        deadline.arm(Some(Duration::ZERO));
        assert!(deadline.check() && deadline.expired());
        deadline.arm(Some(Duration::from_secs(3600)));
        assert!(!deadline.check() && !deadline.expired());
        deadline.arm(Some(Duration::MAX));
        assert_eq!(deadline.at(), None, "too far to ever pass");
    }
}
