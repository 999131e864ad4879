//! The per-execution limits: the memory limit (a resource limiter) and the time limit (a
//! deadline checked at each epoch tick), and the errors that stop a guest at them.

use std::fmt;
use std::time::Instant;

use wasmtime::{ResourceLimiter, Result, UpdateDeadline};

/// The guest asked for more linear memory than its limit: it is stopped at that `memory.grow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimitExceeded {
    /// The limit, in MiB.
    pub limit_mb: u64,
}

impl fmt::Display for MemoryLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the function exceeded its memory limit of {} MiB and was stopped",
            self.limit_mb
        )
    }
}

impl std::error::Error for MemoryLimitExceeded {}

/// The guest was still running at its deadline: it is stopped at the next epoch tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimitExceeded {
    /// The limit, in ms.
    pub limit_ms: u64,
}

impl fmt::Display for TimeLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the function did not finish within its time limit of {} ms",
            self.limit_ms
        )
    }
}

impl std::error::Error for TimeLimitExceeded {}

/// Memory and table growth of one store: linear memory up to the limit (growing past it
/// traps with [`MemoryLimitExceeded`]), tables up to a fixed number of elements.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit_bytes: u64,
    /// Set when the guest hit the limit.
    exceeded: bool,
}

/// Table elements a store may have (function references of the guest's indirect calls).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimiter {
    /// A limiter for `limit_bytes` of linear memory (all memories of the instance each).
    pub fn new(limit_bytes: u64) -> MemoryLimiter {
        MemoryLimiter {
            limit_bytes,
            exceeded: false,
        }
    }

    /// Whether the guest hit the limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    fn error(&self) -> MemoryLimitExceeded {
        MemoryLimitExceeded {
            limit_mb: self.limit_bytes >> 20,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        if u64::try_from(desired).unwrap_or(u64::MAX) > self.limit_bytes {
            self.exceeded = true;
            return Err(self.error().into());
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> Result<()> {
        // Within the limit but the host could not map it (the pool's slot is smaller, or the
        // machine is out of memory): stopped like a guest past its limit.
        self.exceeded = true;
        Err(self.error().into())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// What the epoch callback of a store decides at each tick: go on (after yielding to the
/// other tasks of the thread), or stop the guest past its deadline.
pub fn at_epoch_tick(deadline: Instant, limit_ms: u64) -> Result<UpdateDeadline> {
    if Instant::now() >= deadline {
        return Err(TimeLimitExceeded { limit_ms }.into());
    }
    Ok(UpdateDeadline::Yield(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_past_the_limit_traps_and_is_recorded() {
        let mut limiter = MemoryLimiter::new(64 << 20);
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!limiter.exceeded());
        let error = limiter
            .memory_growing(1 << 20, (64 << 20) + 65536, None)
            .unwrap_err();
        assert!(limiter.exceeded());
        assert_eq!(
            error.downcast_ref::<MemoryLimitExceeded>(),
            Some(&MemoryLimitExceeded { limit_mb: 64 })
        );
        assert_eq!(
            error.to_string(),
            "the function exceeded its memory limit of 64 MiB and was stopped"
        );
    }

    #[test]
    fn past_the_deadline_the_guest_stops() {
        let past = Instant::now() - std::time::Duration::from_millis(1);
        let Err(error) = at_epoch_tick(past, 250) else {
            panic!("past its deadline the guest goes on")
        };
        assert_eq!(
            error.downcast_ref::<TimeLimitExceeded>(),
            Some(&TimeLimitExceeded { limit_ms: 250 })
        );
        let future = Instant::now() + std::time::Duration::from_secs(60);
        assert!(matches!(
            at_epoch_tick(future, 250).unwrap(),
            UpdateDeadline::Yield(1)
        ));
    }
}
