//! The memory limit: one byte budget for everything a store grows, linear
//! memory, the GC heap that holds exceptions, and tables alike, so that a
//! module cannot get past the limit by growing a table instead of its
//! memory (wasmtime's `StoreLimits` caps each memory and each table on its
//! own, and tables not at all unless told).

use wasmtime::ResourceLimiter;

/// What a table element is counted as: the pointer wasmtime keeps for a
/// function reference.
const TABLE_ELEMENT_BYTES: usize = size_of::<usize>();

/// The store's limiter, remembering whether it ever said no.
pub(crate) struct Limiter {
    /// `None`: no limit.
    limit: Option<usize>,
    /// Bytes granted so far, counted from creation: memories never shrink,
    /// and tables rarely do.
    granted: usize,
    denied: bool,
}

impl Limiter {
    pub(crate) fn new(limit: Option<u64>) -> Limiter {
        Limiter { limit: limit.map(|limit| usize::try_from(limit).unwrap_or(usize::MAX)), granted: 0, denied: false }
    }

    /// True once the limit refused something.
    pub(crate) fn denied(&self) -> bool {
        self.denied
    }

    /// Grants growth from `current` to `desired` units of `unit` bytes if
    /// the budget allows.
    fn grow(&mut self, current: usize, desired: usize, maximum: Option<usize>, unit: usize) -> bool {
        if maximum.is_some_and(|maximum| desired > maximum) {
            // The module's own maximum: wasmtime refuses this anyway, and
            // it is not the sandbox's refusal.
            return false;
        }
        let granted = self.granted.saturating_add(desired.saturating_sub(current).saturating_mul(unit));
        if self.limit.is_some_and(|limit| granted > limit) {
            self.denied = true;
            return false;
        }
        self.granted = granted;
        true
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired, maximum, 1))
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired, maximum, TABLE_ELEMENT_BYTES))
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_tables_share_the_budget() {
        let mut limiter = Limiter::new(Some(1 << 20));
        assert!(limiter.memory_growing(0, 512 << 10, None).unwrap());
        let half = (512 << 10) / TABLE_ELEMENT_BYTES;
        assert!(limiter.table_growing(0, half, None).unwrap(), "exactly the rest");
        assert!(!limiter.table_growing(half, half + 1, None).unwrap());
        assert!(limiter.denied());
        assert!(!limiter.memory_growing(512 << 10, (512 << 10) + 1, None).unwrap());
    }

    #[test]
    fn a_module_maximum_is_not_the_sandbox_refusing() {
        let mut limiter = Limiter::new(Some(1 << 20));
        assert!(!limiter.table_growing(10, 20, Some(15)).unwrap());
        assert!(!limiter.denied());
        let mut unlimited = Limiter::new(None);
        assert!(unlimited.memory_growing(0, usize::MAX, None).unwrap());
        assert!(unlimited.table_growing(0, usize::MAX, None).unwrap());
    }
}
