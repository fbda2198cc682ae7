//! Reference solution for challenge 1: a per-key rate limiter that runs any of the four
//! algorithms exactly as `challenges/01-rate-limiter/README.md` ("Conventions") pins them.
//!
//! Layout:
//! - [`keyed`]: the sharded key → state map every algorithm shares; its shard locks make each
//!   decision atomic.
//! - [`fixed_window`], [`sliding_log`], [`sliding_counter`], [`token_bucket`]: each algorithm as a
//!   pure decision over one key's state, so its arithmetic can be tested without threads.
//! - [`ReferenceLimiter`] (here): picks the algorithm once, at construction, and forwards.
//!
//! Every decision first turns the clock reading into the key's *effective time*
//! `t = max(now, latest time this key has seen)`, so a clock that steps back never refills
//! anything; each algorithm's state records that time.
//!
//! Where the conventions leave room, this solution reads them as follows:
//! - Every call that is not an error records its effective time as the key's latest time seen:
//!   admitted, denied (a denial consumes and logs nothing, but the key has still *seen* that
//!   time) and `cost == 0` alike. A `cost > limit` error changes nothing at all, not even that.
//! - The first such call on a key stores it, even with `cost == 0`; `cleanup` forgets it again.
//! - `cleanup` asks whether `remaining` is `limit` at the key's effective time
//!   `max(clock.now(), latest seen)`, which is the clock's current time unless the clock has
//!   stepped back behind the key.

mod fixed_window;
mod keyed;
mod sliding_counter;
mod sliding_log;
mod time;
mod token_bucket;

#[cfg(test)]
mod tests;

use challenge_harness::{Algorithm, Clock, CostExceedsCapacity, Decision, RateLimiter, RateLimiterConfig};

use fixed_window::FixedWindow;
use keyed::Keyed;
use sliding_counter::SlidingCounter;
use sliding_log::SlidingLog;
use token_bucket::{Gcra, WideGcra};

pub use token_bucket::DirectGcra;

/// The reference limiter: one type for all four algorithms, chosen by `config.algorithm`.
pub struct ReferenceLimiter {
    clock: Clock,
    limit: u64,
    store: Store,
}

/// One variant per algorithm (the token bucket has two, see [`token_bucket`]), so the algorithm
/// is a single well-predicted branch per call rather than a virtual call.
enum Store {
    FixedWindow(Keyed<FixedWindow>),
    SlidingLog(Keyed<SlidingLog>),
    SlidingCounter(Keyed<SlidingCounter>),
    TokenBucket(Keyed<Gcra>),
    WideTokenBucket(Keyed<WideGcra>),
}

impl ReferenceLimiter {
    /// The configured limit (`L`).
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

impl RateLimiter for ReferenceLimiter {
    fn new(config: RateLimiterConfig, clock: Clock) -> Self {
        let limit = config.limit;
        let window = time::window_nanos(config.window);
        let store = match config.algorithm {
            Algorithm::FixedWindow => Store::FixedWindow(Keyed::new(FixedWindow::new(limit, window))),
            Algorithm::SlidingLog => Store::SlidingLog(Keyed::new(SlidingLog::new(limit, window))),
            Algorithm::SlidingCounter => Store::SlidingCounter(Keyed::new(SlidingCounter::new(limit, window))),
            Algorithm::TokenBucket => match Gcra::new(limit, window) {
                Some(gcra) => Store::TokenBucket(Keyed::new(gcra)),
                None => Store::WideTokenBucket(Keyed::new(WideGcra::new(limit, window))),
            },
        };
        ReferenceLimiter { clock, limit, store }
    }

    #[inline]
    fn try_acquire(&self, key: &str, cost: u64) -> Result<Decision, CostExceedsCapacity> {
        // Checked before the key is even looked up: an impossible request must change nothing,
        // not even the key's latest time seen.
        if cost > self.limit {
            return Err(CostExceedsCapacity { cost, capacity: self.limit });
        }
        let now = self.clock.now();
        Ok(match &self.store {
            Store::TokenBucket(s) => s.acquire(key, now, cost),
            Store::FixedWindow(s) => s.acquire(key, now, cost),
            Store::SlidingLog(s) => s.acquire(key, now, cost),
            Store::SlidingCounter(s) => s.acquire(key, now, cost),
            Store::WideTokenBucket(s) => s.acquire(key, now, cost),
        })
    }

    fn cleanup(&self) {
        let now = self.clock.now();
        match &self.store {
            Store::TokenBucket(s) => s.cleanup(now),
            Store::FixedWindow(s) => s.cleanup(now),
            Store::SlidingLog(s) => s.cleanup(now),
            Store::SlidingCounter(s) => s.cleanup(now),
            Store::WideTokenBucket(s) => s.cleanup(now),
        }
    }

    fn tracked_keys(&self) -> usize {
        match &self.store {
            Store::TokenBucket(s) => s.len(),
            Store::FixedWindow(s) => s.len(),
            Store::SlidingLog(s) => s.len(),
            Store::SlidingCounter(s) => s.len(),
            Store::WideTokenBucket(s) => s.len(),
        }
    }
}

challenge_harness::export_rate_limiter!(ReferenceLimiter);
