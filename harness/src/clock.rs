//! Time, as the grader controls it.
//!
//! Solutions must read time only from [`Clock`]. The grader moves it explicitly, so windows,
//! TTLs and refills are exact to the nanosecond and a scenario that spans an hour runs instantly.
//! A solution that calls `std::time::Instant::now()` sees real time stand still while the
//! scenario jumps ahead, and fails.

use core::time::Duration;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::ffi::HostApi;

/// A monotonic clock in nanoseconds, handed to your constructor.
///
/// Cloning is cheap and every clone shows the same time. Under the grader the clock starts far
/// from zero, so never assume that time begins at 0.
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Host(&'static HostApi),
    Manual(Arc<AtomicU64>),
}

// SAFETY: the host's `now_nanos` is thread-safe and the `HostApi` lives for the whole process
// (see `ffi::HostApi`); the manual source is an atomic.
unsafe impl Send for Clock {}
unsafe impl Sync for Clock {}

impl Clock {
    /// The clock the grader provides. Used by the export shims, not by learners.
    #[doc(hidden)]
    pub fn from_host(host: &'static HostApi) -> Clock {
        Clock { source: Source::Host(host) }
    }

    /// The current time in nanoseconds.
    #[inline]
    pub fn now(&self) -> u64 {
        match &self.source {
            Source::Host(host) => (host.now_nanos)(host.ctx),
            Source::Manual(nanos) => nanos.load(Ordering::SeqCst),
        }
    }
}

impl core::fmt::Debug for Clock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Clock").field("now", &self.now()).finish()
    }
}

/// A clock you move by hand, for your own unit tests.
///
/// ```
/// use challenge_harness::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new(1_000);
/// let clock = manual.clock();
/// manual.advance(Duration::from_millis(5));
/// assert_eq!(clock.now(), 1_000 + 5_000_000);
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `start_nanos` until moved.
    pub fn new(start_nanos: u64) -> ManualClock {
        ManualClock { nanos: Arc::new(AtomicU64::new(start_nanos)) }
    }

    /// A [`Clock`] that follows this one; pass it to your constructor.
    pub fn clock(&self) -> Clock {
        Clock { source: Source::Manual(Arc::clone(&self.nanos)) }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the time; it may move backwards, as real clocks sometimes do.
    pub fn set(&self, nanos: u64) {
        self.nanos.store(nanos, Ordering::SeqCst);
    }
}
