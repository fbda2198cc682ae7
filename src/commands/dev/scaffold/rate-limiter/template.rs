//! Your per-key fixed-window rate limiter.
//!
//! Implement [`RateLimiter`] for [`MyLimiter`], then run `challenge test`. The brief (the
//! challenge's README.md) pins every convention; its section names are quoted below as
//! "README → …".

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use challenge_harness::{Clock, CostExceedsCapacity, Decision, RateLimiter, RateLimiterConfig};

/// Every method takes `&self` and is called from many threads at once, so shared state needs a
/// lock.
pub struct MyLimiter {
    config: RateLimiterConfig,
    /// The only source of time. Never use `Instant::now()` or `SystemTime`: the grader moves this
    /// clock in jumps while real time stands still.
    clock: Clock,
    /// Every key has its own independent budget (README → Keys and cleanup).
    keys: Mutex<HashMap<String, KeyState>>,
}

/// Everything remembered about one key.
struct KeyState {
    /// The latest effective time this key has seen, in nanoseconds (README → Time).
    latest: u64,
    /// Permits admitted in the window that holds `latest`.
    count: u64,
}

impl RateLimiter for MyLimiter {
    fn new(config: RateLimiterConfig, clock: Clock) -> Self {
        MyLimiter { config, clock, keys: Mutex::new(HashMap::new()) }
    }

    fn try_acquire(&self, key: &str, cost: u64) -> Result<Decision, CostExceedsCapacity> {
        todo!("try_acquire: reject cost > limit, then lock, compute the effective time t, and decide (README → Conventions)")
    }

    fn cleanup(&self) {
        todo!("cleanup: forget every key whose `remaining` is back to the limit (README → Keys and cleanup)")
    }

    fn tracked_keys(&self) -> usize {
        todo!("tracked_keys: how many keys are stored right now")
    }
}

// This line makes your limiter loadable by the grader. Keep it.
challenge_harness::export_rate_limiter!(MyLimiter);
