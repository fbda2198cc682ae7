//! The queue's state and every rule of the contract, as plain single-threaded code: the caller
//! ([`crate::ReferenceQueue`]) holds the one lock around each call.
//!
//! Each call starts with [`Store::tick`]: one clock reading, made monotonic
//! (`max(reading, latest)`), then every lease whose deadline has come is expired (a failed
//! attempt, at the deadline instant) and every message whose delay or backoff has ended is moved
//! among the ready ones. Nothing can observe the queue between a deadline and the next call, so
//! doing this lazily, at the start of each call, is exactly as if it had happened on time: the
//! counts are as of now, the expired message sorts by its expiry instant, and a dead letter's
//! `dead_at` is the deadline, not the call that noticed it. Expiries are processed before
//! anything else in the call, so an `ack` at the deadline meets a lease already gone.

use core::time::Duration;

use challenge_harness::{Clock, DeadReason, Delivery, LeaseToken, QueueConfig, QueueStats, StaleLease};

use crate::dead::{Dead, DeadLetterQueue};
use crate::leases::{Lease, LeaseQueue};
use crate::ready::{Entry, ReadyQueue};
use crate::slab::{self, Slab, MAX_ATTEMPTS};

/// The error a lease expiry records.
const LEASE_EXPIRED: &str = "lease expired";

/// How an attempt failed.
#[derive(Clone, Copy)]
enum Failure<'a> {
    /// `nack(retry = true)`: retry after the backoff, unless it was the last attempt.
    Retry(&'a str),
    /// `nack(retry = false)`: dead-letter it now.
    Reject(&'a str),
    /// The lease ran out: retry at once, unless it was the last attempt.
    Expired,
}

/// The queue's state.
pub(crate) struct Store {
    slab: Slab,
    ready: ReadyQueue,
    leases: LeaseQueue,
    dead: DeadLetterQueue,
    /// `visibility_timeout` in nanoseconds, at least 1.
    visibility: u64,
    max_attempts: u32,
    config: QueueConfig,
    clock: Clock,
    /// The latest clock reading seen.
    latest: u64,
    next_id: u64,
    in_flight: u64,
    acked: u64,
    retried: u64,
}

impl Store {
    pub(crate) fn new(config: QueueConfig, clock: Clock) -> Store {
        let latest = clock.now();
        Store {
            slab: Slab::default(),
            ready: ReadyQueue::default(),
            leases: LeaseQueue::default(),
            dead: DeadLetterQueue::default(),
            // The contract's bounds; a config outside them is clamped to the nearest sensible one.
            visibility: nanos(config.visibility_timeout).max(1),
            max_attempts: config.max_attempts.clamp(1, MAX_ATTEMPTS),
            config,
            clock,
            latest,
            next_id: 1,
            in_flight: 0,
            acked: 0,
            retried: 0,
        }
    }

    /// Reads the clock and brings the state up to that instant (see the module docs).
    #[inline]
    fn tick(&mut self) -> u64 {
        let now = self.clock.now().max(self.latest);
        self.latest = now;
        while let Some(lease) = self.leases.front() {
            if !self.slab.is_leased(lease.slot, lease.generation) {
                self.leases.pop_front();
            } else if lease.deadline <= now {
                self.leases.pop_front();
                self.fail(lease.slot, lease.deadline, now, Failure::Expired);
            } else {
                break;
            }
        }
        self.ready.promote(now);
        now
    }

    pub(crate) fn enqueue(&mut self, payload: Box<[u8]>, delay: Option<Duration>) -> u64 {
        let now = self.tick();
        let id = self.next_id;
        self.next_id += 1;
        let at = now.saturating_add(delay.map_or(0, nanos));
        let slot = self.slab.insert(id, at, payload);
        self.ready.push(Entry { at, id, slot }, now);
        id
    }

    pub(crate) fn receive(&mut self, max: usize) -> Vec<Delivery> {
        let now = self.tick();
        let n = max.min(self.ready.ready());
        let mut out = Vec::with_capacity(n);
        let deadline = now.saturating_add(self.visibility);
        for _ in 0..n {
            let entry = self.ready.pop().expect("`ready()` counted it");
            let (token, record) = self.slab.lease(entry.slot, deadline);
            out.push(Delivery { id: record.id, payload: record.payload.to_vec(), attempt: record.attempt, token });
            self.leases.push(Lease { deadline, slot: entry.slot, generation: slab::split(token).1 });
        }
        self.in_flight += n as u64;
        out
    }

    /// Acks `token`'s delivery and hands back its payload, for the caller to free outside the lock.
    pub(crate) fn ack(&mut self, token: LeaseToken) -> Result<Box<[u8]>, StaleLease> {
        self.tick();
        let slot = self.slab.leased(token).ok_or(StaleLease)?;
        self.in_flight -= 1;
        self.acked += 1;
        self.settled();
        Ok(self.slab.remove(slot))
    }

    pub(crate) fn nack(&mut self, token: LeaseToken, error: &str, retry: bool) -> Result<(), StaleLease> {
        let now = self.tick();
        let slot = self.slab.leased(token).ok_or(StaleLease)?;
        self.fail(slot, now, now, if retry { Failure::Retry(error) } else { Failure::Reject(error) });
        self.settled();
        Ok(())
    }

    pub(crate) fn dead_letters(&mut self) -> Vec<challenge_harness::DeadLetter> {
        self.tick();
        self.dead.list()
    }

    pub(crate) fn redrive(&mut self, ids: Option<&[u64]>) -> usize {
        let now = self.tick();
        let moved = self.dead.take(ids);
        let count = moved.len();
        for (id, payload) in moved {
            let slot = self.slab.insert(id, now, payload);
            self.ready.push(Entry { at: now, id, slot }, now);
        }
        count
    }

    pub(crate) fn stats(&mut self) -> QueueStats {
        self.tick();
        QueueStats {
            ready: self.ready.ready() as u64,
            delayed: self.ready.delayed() as u64,
            in_flight: self.in_flight,
            dead: self.dead.len() as u64,
            acked: self.acked,
            retried: self.retried,
        }
    }

    /// Ends the leased message's attempt in `slot` with a failure at `at` (the nack, or the
    /// deadline); `now` is the latest time seen.
    fn fail(&mut self, slot: u32, at: u64, now: u64, failure: Failure<'_>) {
        self.in_flight -= 1;
        let max_attempts = self.max_attempts;
        let record = self.slab.get_mut(slot);
        if !record.failed {
            record.failed = true;
            record.first_failure_at = at;
        }
        let last = record.attempt >= max_attempts;
        let death = match failure {
            Failure::Reject(error) => Some((DeadReason::Rejected, error)),
            Failure::Retry(error) if last => Some((DeadReason::MaxAttempts, error)),
            Failure::Expired if last => Some((DeadReason::MaxAttempts, LEASE_EXPIRED)),
            Failure::Retry(_) | Failure::Expired => None,
        };
        match death {
            None => {
                // An expired lease's message is available again at the expiry instant: it already
                // waited out its lease, so the contract gives it no backoff on top.
                let wait = match failure {
                    Failure::Retry(_) => nanos(self.config.backoff(record.attempt)),
                    Failure::Expired | Failure::Reject(_) => 0,
                };
                let available = at.saturating_add(wait);
                record.state = slab::State::Waiting;
                record.at = available;
                let id = record.id;
                self.retried += 1;
                self.ready.push(Entry { at: available, id, slot }, now);
            }
            Some((reason, error)) => {
                let (id, attempts, first_failure_at) = (record.id, record.attempt, record.first_failure_at);
                let payload = self.slab.remove(slot);
                let dead = Dead { payload, reason, attempts, last_error: error.into(), first_failure_at, dead_at: at };
                self.dead.insert(id, dead);
            }
        }
    }

    /// A lease just ended early: its record in the lease deque is stale now.
    #[inline]
    fn settled(&mut self) {
        if self.leases.needs_compaction(self.in_flight as usize) {
            let slab = &self.slab;
            self.leases.compact(|lease| slab.is_leased(lease.slot, lease.generation));
        }
    }
}

/// `d` in nanoseconds, saturating: a wait too long for `u64` nanoseconds never ends.
#[inline]
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
impl Store {
    /// Checks the internal bookkeeping against the counters (tests call it after every step).
    pub(crate) fn check_invariants(&self) {
        let live = self.ready.ready() + self.ready.delayed() + self.in_flight as usize;
        assert_eq!(self.slab.live(), live, "every live record is waiting or leased");
        assert!(self.leases.len() >= self.in_flight as usize, "every lease in flight has its record");
    }

    pub(crate) fn lease_records(&self) -> usize {
        self.leases.len()
    }
}
