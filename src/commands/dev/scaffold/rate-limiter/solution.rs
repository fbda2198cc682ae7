//! Reference solution: a per-key fixed-window limiter, exactly as the brief's conventions pin it.
//! It implements only the algorithm the scenarios use; extend it as you add scenarios.
//!
//! Each key keeps its latest effective time and the permits counted in the window that holds that
//! time, so no window index needs storing: when the effective time lands in a later window, the
//! count is stale and restarts at 0.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use challenge_harness::{Algorithm, Clock, CostExceedsCapacity, Decision, RateLimiter, RateLimiterConfig};

/// The reference limiter.
pub struct Limiter {
    limit: u64,
    /// `W`, in nanoseconds.
    window: u64,
    clock: Clock,
    keys: Mutex<HashMap<String, KeyState>>,
}

#[derive(Default)]
struct KeyState {
    /// The latest effective time this key has seen.
    latest: u64,
    /// Permits admitted in the window that holds `latest`.
    count: u64,
}

impl Limiter {
    /// Whether `state` is indistinguishable from a key never seen at `now`: its budget is full.
    fn is_full(&self, state: &KeyState, now: u64) -> bool {
        state.count == 0 || now.max(state.latest) / self.window != state.latest / self.window
    }
}

impl RateLimiter for Limiter {
    fn new(config: RateLimiterConfig, clock: Clock) -> Self {
        assert!(
            config.algorithm == Algorithm::FixedWindow,
            "this reference implements only the fixed window, not {:?}",
            config.algorithm
        );
        let window = u64::try_from(config.window.as_nanos()).unwrap_or(u64::MAX);
        Limiter { limit: config.limit, window, clock, keys: Mutex::new(HashMap::new()) }
    }

    fn try_acquire(&self, key: &str, cost: u64) -> Result<Decision, CostExceedsCapacity> {
        if cost > self.limit {
            return Err(CostExceedsCapacity { cost, capacity: self.limit });
        }
        let now = self.clock.now();
        // One lock from the read to the write: two threads must never spend the same permit.
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if !keys.contains_key(key) {
            keys.insert(key.to_owned(), KeyState::default());
        }
        let state = keys.get_mut(key).expect("inserted above");
        let t = now.max(state.latest);
        let index = t / self.window;
        if index != state.latest / self.window {
            state.count = 0;
        }
        state.latest = t;
        // (i+1)W - t, computed as W - e so that it cannot overflow.
        let until_next = Duration::from_nanos(self.window - (t - index * self.window));
        // count <= L always, so `L - count` cannot underflow where `count + cost` could overflow.
        let allowed = cost <= self.limit - state.count;
        if allowed {
            state.count += cost;
        }
        Ok(Decision {
            allowed,
            remaining: self.limit - state.count,
            retry_after: if allowed { Duration::ZERO } else { until_next },
            reset_after: if state.count > 0 { until_next } else { Duration::ZERO },
        })
    }

    fn cleanup(&self) {
        let now = self.clock.now();
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).retain(|_, state| !self.is_full(state, now));
    }

    fn tracked_keys(&self) -> usize {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

challenge_harness::export_rate_limiter!(Limiter);
