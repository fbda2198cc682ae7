//! What every test module shares: a queue on a `ManualClock` at scenario time 0, and the little
//! helpers that make a scenario read like the brief.

use std::time::Duration;

use challenge_harness::{Delivery, ManualClock, MessageQueue, QueueConfig, QueueStats};

use crate::ReferenceQueue;

/// Scenario time 0: far from zero, as under the grader.
pub(crate) const T0: u64 = 1_000 * 3_600 * 1_000_000_000;
pub(crate) const SEC: Duration = Duration::from_secs(1);

pub(crate) fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

/// Visibility timeout 30s, 3 attempts, backoff 1s doubling up to 60s.
pub(crate) fn config() -> QueueConfig {
    QueueConfig { visibility_timeout: 30 * SEC, max_attempts: 3, backoff_base: SEC, backoff_max: 60 * SEC }
}

pub(crate) fn queue_with(config: QueueConfig) -> (ManualClock, ReferenceQueue) {
    let clock = ManualClock::new(T0);
    (clock.clone(), ReferenceQueue::new(config, clock.clock()))
}

pub(crate) fn queue() -> (ManualClock, ReferenceQueue) {
    queue_with(config())
}

/// Moves the clock to scenario time `offset`.
pub(crate) fn at(clock: &ManualClock, offset: Duration) {
    clock.set(T0 + offset.as_nanos() as u64);
}

/// Scenario time `offset` as an absolute virtual time, as dead letters report it.
pub(crate) fn t(offset: Duration) -> u64 {
    T0 + offset.as_nanos() as u64
}

/// `(id, attempt)` of each delivery, in order.
pub(crate) fn ids(deliveries: &[Delivery]) -> Vec<(u64, u32)> {
    deliveries.iter().map(|d| (d.id, d.attempt)).collect()
}

/// Receives exactly one delivery.
pub(crate) fn one(q: &ReferenceQueue) -> Delivery {
    let mut got = q.receive(10);
    assert_eq!(got.len(), 1, "expected one delivery, got {:?}", ids(&got));
    got.pop().unwrap()
}

pub(crate) fn stats(ready: u64, delayed: u64, in_flight: u64, dead: u64, acked: u64, retried: u64) -> QueueStats {
    QueueStats { ready, delayed, in_flight, dead, acked, retried }
}

/// The queue's stats, after checking its internal bookkeeping.
pub(crate) fn checked_stats(q: &ReferenceQueue) -> QueueStats {
    q.inspect(|s| s.check_invariants());
    q.stats()
}

/// xorshift64*: deterministic, dependency-free randomness for the property tests.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}
