//! Challenge 4: a message queue with leases, retries and a dead-letter queue.
//!
//! Implement [`MessageQueue`] for [`MyQueue`], then run `challenge test 4`. The brief (the
//! challenge's README.md) pins every convention; its section names are quoted below as
//! "README → …". `cargo test` runs your own tests (there is one at the bottom to start from).

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use challenge_harness::{
    Clock, DeadLetter, DeadReason, Delivery, LeaseToken, MessageQueue, QueueConfig, QueueStats, StaleLease,
};

/// What a lapsed lease records as the message's error (README → Attempts, and how each one ends).
const LEASE_EXPIRED: &str = "lease expired";

/// Every method takes `&self` and is called from many consumer threads at once, so the state
/// needs a lock. One `Mutex` around everything is correct and a fine start: each call is then one
/// step that no other call can see half done (README → Threads).
pub struct MyQueue {
    /// The only source of time. Never use `Instant::now()` or `SystemTime`: the grader moves this
    /// clock between calls while real time stands still.
    clock: Clock,
    inner: Mutex<Inner>,
}

/// Everything behind the lock. This is one workable shape; change it as you like.
///
/// Every message that is neither acked nor dead has one record in `messages`, and is in exactly
/// one of `available` (waiting) or `leases` (in flight). Acked messages leave for good: only the
/// counter remembers them. Moving a message means updating all of these in one critical section.
struct Inner {
    config: QueueConfig,
    /// The id of the next enqueue: 1, 2, 3… (README → Ids and availability).
    next_id: u64,
    /// The next token to hand out. Never reuse one, not even for the same message
    /// (README → Fencing).
    next_token: u64,
    /// Waiting and leased messages, by id.
    messages: HashMap<u64, Message>,
    /// `(available_at, id)` of every waiting message. Ordered like this, it is the delivery order
    /// (README → Delivery order): the first entries with `available_at <= now` are what `receive`
    /// hands out, and the rest are `delayed`. Skip nothing that is available, stop at nothing
    /// that is not.
    available: BTreeSet<(u64, u64)>,
    /// The live leases: token → message id.
    leases: HashMap<LeaseToken, u64>,
    /// `(deadline, token)` of every live lease, soonest first, so that settling the lapsed ones
    /// reads only the front (README → Time, and no background thread).
    deadlines: BTreeSet<(u64, LeaseToken)>,
    /// The dead-letter queue under `(dead_at, id)`: the order `dead_letters()` returns
    /// (README → Dead letters).
    dead: BTreeMap<(u64, u64), DeadLetter>,
    /// Id → `dead_at` of every dead letter, to find it by id for `redrive` (README → Redrive).
    dead_at: HashMap<u64, u64>,
    /// Lifetime counters (README → Stats); `ready`, `delayed`, `in_flight` and `dead` can be
    /// counted from the collections above.
    acked: u64,
    retried: u64,
}

/// One message that is waiting or leased.
struct Message {
    /// The bytes exactly as enqueued: any bytes, empty included, not always UTF-8.
    payload: Vec<u8>,
    /// Deliveries since it was enqueued or last redriven: the next delivery is `attempts + 1`
    /// (README → Attempts, and how each one ends).
    attempts: u32,
    /// The clock reading of its first failure since it was enqueued or redriven, if any.
    first_failure_at: Option<u64>,
    state: State,
}

/// Where a message that is neither acked nor dead is.
enum State {
    /// In `available` under `(available_at, id)`: delayed until then, ready from then on.
    Waiting { available_at: u64 },
    /// In `leases` and `deadlines`: leased while `now < deadline` (README → Leases).
    Leased { token: LeaseToken, deadline: u64 },
}

impl MyQueue {
    /// Locks the state, even if a thread panicked while holding it: a poisoned lock must not turn
    /// every later call into a panic.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Brings the state up to `now`: every lease with `deadline <= now` lapsed, in deadline order,
    /// each **at its deadline**, not at `now` (README → Time, and no background thread). Call it
    /// at the start of every method, under the lock, with the time read under the lock.
    fn expire(&mut self, now: u64) {
        // For each lapsed lease: a failed attempt (first_failure_at, if unset, is the deadline).
        // Attempts left: waiting again, available at the deadline itself (no backoff); count a
        // retry. Last attempt: a dead letter (MaxAttempts, "lease expired", dead_at = deadline).
        todo!("expire: settle every lease that lapsed by now, each at its own deadline (README → Leases)")
    }
}

impl MessageQueue for MyQueue {
    fn new(config: QueueConfig, clock: Clock) -> Self {
        // An empty `Inner`, ids and tokens starting from 1, inside a `Mutex`, with the clock.
        todo!("new: an empty queue whose first id is 1 (README → Ids and availability)")
    }

    fn enqueue(&self, payload: &[u8], delay: Option<Duration>) -> u64 {
        // Lock, read the clock, expire. Take the next id; the message waits, available from
        // `now + delay` (`None` is now).
        todo!("enqueue: the next id, available from now + delay (README → Ids and availability)")
    }

    fn receive(&self, max: usize) -> Vec<Delivery> {
        // Lock, read the clock, expire. Then, up to `max` times, the first `(available_at, id)`
        // with `available_at <= now`: out of `available`, one more attempt, a fresh token, a lease
        // until `now + visibility_timeout`, all in this one critical section.
        todo!("receive: lease up to max available messages in (available_at, id) order (README → Delivery order)")
    }

    fn ack(&self, token: LeaseToken) -> Result<(), StaleLease> {
        // Lock, read the clock, expire (so a lease that lapsed at exactly now is already gone).
        // A live lease with this token: the message leaves for good (acked + 1). Otherwise
        // `Err(StaleLease)`, and nothing changes.
        todo!("ack: only the current, unexpired token settles the message (README → Fencing)")
    }

    fn nack(&self, token: LeaseToken, error: &str, retry: bool) -> Result<(), StaleLease> {
        // The same fencing as `ack`. Then a failed attempt n at now: `retry` with attempts left
        // waits until `now + config.backoff(n)` (retried + 1); the last attempt is dead
        // (MaxAttempts); `retry = false` is dead at once (Rejected), attempts left or not.
        todo!("nack: retry after backoff(attempt), or dead-letter it (README → Attempts, and how each one ends)")
    }

    fn dead_letters(&self) -> Vec<DeadLetter> {
        todo!("dead_letters: every dead letter, oldest dead_at first, ties by id (README → Dead letters)")
    }

    fn redrive(&self, ids: Option<&[u64]>) -> usize {
        // Each listed dead letter (all of them with `None`) leaves the dead-letter queue and
        // waits again, available now, with its attempts and first failure reset, in this one
        // critical section. Ids not in the dead-letter queue are skipped. Return how many moved.
        todo!("redrive: move dead letters back once each, available now, attempts reset (README → Redrive)")
    }

    fn stats(&self) -> QueueStats {
        // Lock, read the clock, expire, then count: as of now, so that
        // ready + delayed + in_flight + dead + acked is the number of messages ever enqueued.
        todo!("stats: the counters as of now (README → Stats)")
    }
}

// This line makes your queue loadable by the grader. Keep it.
challenge_harness::export_message_queue!(MyQueue);

#[cfg(test)]
mod tests {
    use super::*;
    use challenge_harness::ManualClock;

    /// Time starts far from zero under the grader too.
    const START: u64 = 1_000_000 * 1_000_000_000;

    fn queue(max_attempts: u32) -> (ManualClock, MyQueue) {
        let manual = ManualClock::new(START);
        let config = QueueConfig {
            visibility_timeout: Duration::from_secs(30),
            max_attempts,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(60),
        };
        let queue = MyQueue::new(config, manual.clock());
        (manual, queue)
    }

    #[test]
    fn a_lease_lapses_at_exactly_the_visibility_timeout() {
        let (manual, queue) = queue(3);
        assert_eq!(queue.enqueue(b"m", None), 1);
        let first = queue.receive(10);
        assert_eq!((first.len(), first[0].attempt), (1, 1));

        // Leased while now < delivery + 30s: invisible 1ns before, available again at 30s.
        manual.advance(Duration::from_secs(30) - Duration::from_nanos(1));
        assert!(queue.receive(10).is_empty());
        manual.advance(Duration::from_nanos(1));
        assert_eq!(queue.stats().retried, 1, "the lapse is a failed attempt, counted as of now");
        let second = queue.receive(10);
        assert_eq!(second[0].attempt, 2);

        // The slow first consumer is fenced off; the second one settles the message, once.
        assert_eq!(queue.ack(first[0].token), Err(StaleLease));
        assert_eq!(queue.ack(second[0].token), Ok(()));
        assert_eq!(queue.ack(second[0].token), Err(StaleLease));
        let stats = queue.stats();
        assert_eq!((stats.ready, stats.in_flight, stats.acked), (0, 0, 1));
    }
}
