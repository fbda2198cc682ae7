//! Challenge 1: the rate limiter trait and the values it speaks in.
//!
//! The brief (`challenges/01-rate-limiter/README.md`) pins every convention; the docs here
//! repeat the ones a signature cannot say.

use core::fmt;
use core::time::Duration;

use crate::Clock;

/// Which algorithm a limiter must run. One solution implements all four.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Windows aligned to the clock (`now / window`); each holds `limit` permits.
    FixedWindow,
    /// Every admitted permit counts while `now < admitted_at + window`.
    SlidingLog,
    /// `prev * (window - elapsed) / window + curr` permits are in use, computed exactly.
    SlidingCounter,
    /// A bucket of `limit` permits that refills continuously, `limit` per `window` (GCRA).
    TokenBucket,
}

impl Algorithm {
    /// All four, in their wire order.
    pub const ALL: [Algorithm; 4] =
        [Algorithm::FixedWindow, Algorithm::SlidingLog, Algorithm::SlidingCounter, Algorithm::TokenBucket];

    /// The wire code used across the plugin boundary.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The algorithm with this wire code, if any.
    pub fn from_code(code: u32) -> Option<Algorithm> {
        Algorithm::ALL.get(code as usize).copied()
    }
}

/// How a limiter is configured. Every key gets its own independent budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimiterConfig {
    /// The algorithm to run.
    pub algorithm: Algorithm,
    /// Permits per window, or the token bucket's capacity. Always at least 1.
    pub limit: u64,
    /// The window length, or the time a token bucket takes to refill from empty. At least 1ns.
    pub window: Duration,
}

/// The answer to one [`RateLimiter::try_acquire`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether all `cost` permits were granted. A denied request consumes nothing.
    pub allowed: bool,
    /// The largest cost that would be allowed at this same instant, after this decision.
    pub remaining: u64,
    /// Zero when allowed. When denied: the least wait after which the same request would be
    /// allowed, if nothing else happened meanwhile.
    pub retry_after: Duration,
    /// The least wait after which `remaining` would equal `limit` again, if nothing else happened.
    pub reset_after: Duration,
}

/// `cost` is larger than the limiter can ever grant, so waiting would not help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostExceedsCapacity {
    /// What was asked for.
    pub cost: u64,
    /// The configured limit.
    pub capacity: u64,
}

impl fmt::Display for CostExceedsCapacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cost {} exceeds the capacity of {}", self.cost, self.capacity)
    }
}

impl std::error::Error for CostExceedsCapacity {}

/// A per-key rate limiter, shared by many threads.
///
/// Implement it, then export it with one line:
///
/// ```
/// use challenge_harness::{
///     Clock, CostExceedsCapacity, Decision, ManualClock, RateLimiter, RateLimiterConfig, Algorithm,
/// };
/// use std::time::Duration;
///
/// /// Admits everything: a start, not a solution.
/// pub struct Lenient {
///     config: RateLimiterConfig,
/// }
///
/// impl RateLimiter for Lenient {
///     fn new(config: RateLimiterConfig, _clock: Clock) -> Self {
///         Lenient { config }
///     }
///
///     fn try_acquire(&self, _key: &str, cost: u64) -> Result<Decision, CostExceedsCapacity> {
///         if cost > self.config.limit {
///             return Err(CostExceedsCapacity { cost, capacity: self.config.limit });
///         }
///         let zero = Duration::ZERO;
///         Ok(Decision { allowed: true, remaining: self.config.limit, retry_after: zero, reset_after: zero })
///     }
///
///     fn cleanup(&self) {}
///
///     fn tracked_keys(&self) -> usize {
///         0
///     }
/// }
///
/// challenge_harness::export_rate_limiter!(Lenient);
///
/// let manual = ManualClock::new(0);
/// let config = RateLimiterConfig { algorithm: Algorithm::FixedWindow, limit: 5, window: Duration::from_secs(1) };
/// let limiter = Lenient::new(config, manual.clock());
/// assert!(limiter.try_acquire("alice", 1).unwrap().allowed);
/// assert!(limiter.try_acquire("alice", 6).is_err());
/// ```
pub trait RateLimiter: Send + Sync + 'static {
    /// Builds a limiter. Read time only from `clock`.
    fn new(config: RateLimiterConfig, clock: Clock) -> Self
    where
        Self: Sized;

    /// Decides whether `key` may spend `cost` permits now. `cost > limit` is an error, because it
    /// could never succeed; otherwise a denial consumes nothing.
    fn try_acquire(&self, key: &str, cost: u64) -> Result<Decision, CostExceedsCapacity>;

    /// Forgets every key whose state is indistinguishable from a key never seen.
    fn cleanup(&self);

    /// How many keys are stored right now.
    fn tracked_keys(&self) -> usize;
}
