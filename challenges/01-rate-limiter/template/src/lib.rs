//! Challenge 1: a per-key rate limiter.
//!
//! Implement [`RateLimiter`] for [`MyLimiter`], then run `challenge test 1`. The brief (the
//! challenge's README.md) pins every convention; its section names are quoted below as
//! "README → …". `cargo test` runs your own tests (there is one at the bottom to start from).

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use challenge_harness::{Algorithm, Clock, CostExceedsCapacity, Decision, RateLimiter, RateLimiterConfig};

/// One limiter serves all four algorithms; the grader picks one per scenario through
/// `config.algorithm`. Every method takes `&self` and is called from many threads at once, so
/// shared state needs a lock (or atomics, if you want to go further).
pub struct MyLimiter {
    config: RateLimiterConfig,
    /// The only source of time. Never use `Instant::now()` or `SystemTime`: the grader moves this
    /// clock in jumps while real time stands still.
    clock: Clock,
    /// Every key has its own independent budget (README → Keys and cleanup). A single `Mutex`
    /// around the map is correct and fast enough to start with.
    keys: Mutex<HashMap<String, KeyState>>,
}

/// Everything remembered about one key.
struct KeyState {
    /// The latest effective time this key has seen, in nanoseconds (README → Time → Effective
    /// time): a call uses `t = max(clock.now(), latest)`, so a clock that goes backwards never
    /// panics and never grants extra permits.
    latest: u64,
    algo: AlgoState,
}

/// Per-key state for each algorithm. This is one workable shape; change it if you like.
enum AlgoState {
    /// README → Fixed window: the index `t / W` of the window `count` belongs to.
    FixedWindow { index: u64, count: u64 },
    /// README → Sliding log: admitted permits, oldest first, as `(admitted at, how many)`.
    SlidingLog { permits: VecDeque<(u64, u64)> },
    /// README → Sliding window counter: `curr` permits in window `index`, `prev` in `index - 1`.
    SlidingCounter { index: u64, prev: u64, curr: u64 },
    /// README → Token bucket (GCRA): the theoretical arrival time in units of `ns × L`, so that
    /// one permit is exactly `W` units and nothing is ever rounded between calls. `u128`:
    /// `t × L` does not fit in a `u64`.
    TokenBucket { tat: u128 },
}

impl RateLimiter for MyLimiter {
    fn new(config: RateLimiterConfig, clock: Clock) -> Self {
        MyLimiter { config, clock, keys: Mutex::new(HashMap::new()) }
    }

    fn try_acquire(&self, key: &str, cost: u64) -> Result<Decision, CostExceedsCapacity> {
        // One way through, step by step:
        // 1. `cost > L`: return `Err(CostExceedsCapacity { cost, capacity: L })` and change
        //    nothing (README → Costs).
        // 2. Lock the map and find the key's state, or create a full one for a new key. Keep the
        //    lock until the decision is written back: checking under one lock and writing under
        //    another lets two threads spend the same permit.
        // 3. `t = max(self.clock.now(), state.latest)`; store `t` as the new `latest`.
        // 4. Decide with the algorithm's own rule (the methods below), then fill in all four
        //    fields of the `Decision` (README → What a `Decision` says). A denied request
        //    consumes nothing.
        todo!("try_acquire: reject cost > limit, then lock, compute the effective time t, and decide (README → Conventions)")
    }

    fn cleanup(&self) {
        todo!("cleanup: forget every key whose `remaining` is back to the limit at the current time (README → Keys and cleanup)")
    }

    fn tracked_keys(&self) -> usize {
        todo!("tracked_keys: how many keys are stored right now")
    }
}

impl MyLimiter {
    /// `L`.
    fn limit(&self) -> u64 {
        self.config.limit
    }

    /// `W`, in nanoseconds.
    fn window(&self) -> u64 {
        u64::try_from(self.config.window.as_nanos()).unwrap_or(u64::MAX)
    }

    /// README → Fixed window. Windows are aligned to the clock: `[i*W, (i+1)*W)` with `i = t / W`,
    /// and a request exactly at `(i+1)*W` belongs to the next window.
    fn fixed_window(&self, index: &mut u64, count: &mut u64, t: u64, cost: u64) -> Decision {
        todo!("fixed window: allowed iff count(i) + cost <= L; retry_after = (i+1)*W - t when denied")
    }

    /// README → Sliding log. A permit admitted at `s` counts at `t` iff `t < s + W`.
    fn sliding_log(&self, permits: &mut VecDeque<(u64, u64)>, t: u64, cost: u64) -> Decision {
        todo!("sliding log: drop permits with s + W <= t, then allowed iff n + cost <= L; log only admitted permits")
    }

    /// README → Sliding window counter: `prev * (W - e) / W + curr` permits in use, exactly.
    fn sliding_counter(&self, index: &mut u64, prev: &mut u64, curr: &mut u64, t: u64, cost: u64) -> Decision {
        todo!("sliding counter: roll the windows forward, then allowed iff prev*(W-e) + (curr+cost)*W <= L*W, in u128")
    }

    /// README → Token bucket (GCRA). Full when `tat <= t × L`; one permit is `W` units; the
    /// bucket holds `L × W` units.
    fn token_bucket(&self, tat: &mut u128, t: u64, cost: u64) -> Decision {
        todo!("token bucket: allowed iff max(tat, t*L) + cost*W - t*L <= L*W; round waits up to the next nanosecond")
    }
}

// This line makes your limiter loadable by the grader. Keep it.
challenge_harness::export_rate_limiter!(MyLimiter);

#[cfg(test)]
mod tests {
    use super::*;
    use challenge_harness::ManualClock;

    /// Time starts far from zero under the grader too; this start is a multiple of 1 s.
    const START: u64 = 1_000_000 * 1_000_000_000;

    fn limiter(algorithm: Algorithm, limit: u64, window: Duration) -> (ManualClock, MyLimiter) {
        let manual = ManualClock::new(START);
        let limiter = MyLimiter::new(RateLimiterConfig { algorithm, limit, window }, manual.clock());
        (manual, limiter)
    }

    #[test]
    fn fixed_window_admits_the_limit_then_waits_for_the_next_window() {
        let (manual, limiter) = limiter(Algorithm::FixedWindow, 5, Duration::from_secs(1));
        for _ in 0..5 {
            assert!(limiter.try_acquire("alice", 1).unwrap().allowed);
        }
        let denied = limiter.try_acquire("alice", 1).unwrap();
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after, Duration::from_secs(1));

        // One nanosecond before the next window: still denied. Exactly at it: allowed.
        manual.advance(Duration::from_secs(1) - Duration::from_nanos(1));
        assert!(!limiter.try_acquire("alice", 1).unwrap().allowed);
        manual.advance(Duration::from_nanos(1));
        assert!(limiter.try_acquire("alice", 1).unwrap().allowed);

        // Another key has its own budget.
        assert!(limiter.try_acquire("bob", 5).unwrap().allowed);
    }
}
