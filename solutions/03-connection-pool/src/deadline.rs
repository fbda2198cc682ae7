//! [`Deadline`]: the one real-time deadline of an `acquire`, read from `Instant` only when a
//! step must block.
//!
//! An `acquire` that finds an idle connection never blocks, so it never needs the time: the
//! clock starts at the first step that can take time (a ping, a wait or a connect), and that
//! step gets the whole timeout. The few nanoseconds between the call and that first reading are
//! spent under the pool's lock, not waiting, so the deadline is still "`timeout` from the call"
//! to within a lock acquisition. Every later step gets what is left.

use std::time::{Duration, Instant};

/// One `acquire`'s deadline.
pub(crate) struct Deadline {
    timeout: Duration,
    /// When the first blocking step began; `None` until then.
    start: Option<Instant>,
}

impl Deadline {
    pub(crate) fn new(timeout: Duration) -> Deadline {
        Deadline { timeout, start: None }
    }

    /// The time a step that may be followed by others gets: the whole timeout for the first
    /// (which starts the clock), what is left for later ones, `None` once it has passed.
    pub(crate) fn step(&mut self) -> Option<Duration> {
        match self.start {
            None => {
                self.start = Some(Instant::now());
                Some(self.timeout)
            }
            Some(_) => self.left(),
        }
    }

    /// The time the call's last step gets (a connect: whatever it returns, the call returns).
    /// As [`Deadline::step`], but a first step needs no reading: nothing follows it.
    pub(crate) fn last_step(&self) -> Option<Duration> {
        match self.start {
            None => Some(self.timeout),
            Some(_) => self.left(),
        }
    }

    /// When a wait must give up: `None` for a timeout too long to be an `Instant` (never).
    pub(crate) fn wait_until(&mut self) -> Option<Instant> {
        let start = *self.start.get_or_insert_with(Instant::now);
        start.checked_add(self.timeout)
    }

    /// Whether the clock has started and the deadline has passed.
    pub(crate) fn passed(&self) -> bool {
        self.start.is_some() && self.left().is_none()
    }

    fn left(&self) -> Option<Duration> {
        let start = self.start?;
        let left = self.timeout.saturating_sub(start.elapsed());
        (!left.is_zero()).then_some(left)
    }
}
