//! [`ReferenceQueue`]: the [`MessageQueue`] the grader loads — one lock around the [`Store`],
//! with the allocations and frees that need no lock done outside it.
//!
//! Why one lock: every call may have to expire leases (whoever first sees the clock past a
//! deadline does it), and a receive must hand out the earliest available message of the *whole*
//! queue, so each call is ordered against every other one anyway. The work is to keep the
//! critical section short: an enqueue copies its payload before taking the lock, an ack frees
//! the payload after releasing it, and in between each is a slab slot, a deque push or pop and a
//! few counters (see [`crate::ready`], [`crate::leases`], [`crate::slab`]). Only a receive
//! allocates under the lock: each delivery's copy of its payload, which the trait's `Vec<u8>`
//! requires, since the queue must keep its own for a redelivery.
//!
//! Linearizability: every call is one critical section, reads the clock inside it, and takes
//! effect there.

use core::time::Duration;

use challenge_harness::{Clock, DeadLetter, Delivery, LeaseToken, MessageQueue, QueueConfig, QueueStats, StaleLease};
use parking_lot::Mutex;

use crate::store::Store;

/// The reference queue.
pub struct ReferenceQueue {
    store: Padded<Mutex<Store>>,
}

/// Aligned to its own pair of cache lines (adjacent-line prefetch pairs them on x86), so that the
/// lock and the fields it guards travel between cores together and alone.
#[repr(align(128))]
struct Padded<T>(T);

impl ReferenceQueue {
    #[inline(always)]
    fn store(&self) -> parking_lot::MutexGuard<'_, Store> {
        self.store.0.lock()
    }
}

impl MessageQueue for ReferenceQueue {
    fn new(config: QueueConfig, clock: Clock) -> Self {
        ReferenceQueue { store: Padded(Mutex::new(Store::new(config, clock))) }
    }

    #[inline]
    fn enqueue(&self, payload: &[u8], delay: Option<Duration>) -> u64 {
        let payload = Box::from(payload);
        self.store().enqueue(payload, delay)
    }

    #[inline]
    fn receive(&self, max: usize) -> Vec<Delivery> {
        if max == 0 {
            return Vec::new();
        }
        self.store().receive(max)
    }

    #[inline]
    fn ack(&self, token: LeaseToken) -> Result<(), StaleLease> {
        // The guard is a temporary of this statement: the payload is dropped after the unlock.
        let payload = self.store().ack(token)?;
        drop(payload);
        Ok(())
    }

    fn nack(&self, token: LeaseToken, error: &str, retry: bool) -> Result<(), StaleLease> {
        self.store().nack(token, error, retry)
    }

    fn dead_letters(&self) -> Vec<DeadLetter> {
        self.store().dead_letters()
    }

    fn redrive(&self, ids: Option<&[u64]>) -> usize {
        self.store().redrive(ids)
    }

    fn stats(&self) -> QueueStats {
        self.store().stats()
    }
}

#[cfg(test)]
impl ReferenceQueue {
    /// Runs `f` on the store, under the lock (tests inspect what the trait does not show).
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.store())
    }
}
