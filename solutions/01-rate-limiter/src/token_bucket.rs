//! The token bucket, as GCRA in units of `ns × L`: one permit is exactly `W` units, the bucket's
//! capacity is `L × W` units and it refills `L` units per nanosecond, so 3 permits per second
//! refill exactly and no fraction of a permit is ever rounded away between calls.
//!
//! A key's state is `(last time seen, debt)`, where the debt is how far the bucket is below full,
//! in units, *as of the last time seen*: `0` is full, `L × W` is empty. (That is the classic
//! "theoretical arrival time" minus `last × L`, kept relative so it stays within `L × W`.)
//! At effective time `t` the debt has shrunk by `(t - last) × L`, to no less than 0.
//!
//! Two representations of the same rule:
//! - [`Gcra`] when `L × W` fits in a `u64` (every realistic quota: e.g. 10⁶ permits per hour is
//!   3.6 × 10¹⁸). The state packs into one `u128`; the arithmetic is `u64` with one widening
//!   multiply.
//! - [`WideGcra`] otherwise: a `u128` debt. Slower, never wrong.
//!
//! [`DirectGcra`] is a single bucket with no key and no map: the packed state in one atomic
//! 128-bit word ([`AtomicCell`]), updated by a lock-free compare-and-swap.

use core::time::Duration;
use std::sync::{Mutex, PoisonError};

use challenge_harness::{Clock, CostExceedsCapacity, Decision};
use portable_atomic::{AtomicU128, Ordering};

use crate::keyed::Algorithm;
use crate::time::{duration_from_u128, Divisor};

/// GCRA whose capacity `L × W` fits in a `u64`. State: `last_seen << 64 | debt`.
pub(crate) struct Gcra {
    limit: u64,
    window: u64,
    capacity: u64,
    /// Divides by `L` (by 1 when the limit is 0: the debt is then always 0, so the quotient is 0
    /// either way and the division stays defined).
    per_limit: Divisor,
    per_window: Divisor,
}

#[inline(always)]
fn pack(last_seen: u64, debt: u64) -> u128 {
    (u128::from(last_seen) << 64) | u128::from(debt)
}

impl Gcra {
    /// `None` when `L × W` does not fit in a `u64`; use [`WideGcra`] then.
    pub(crate) fn new(limit: u64, window: u64) -> Option<Gcra> {
        let capacity = u64::try_from(u128::from(limit) * u128::from(window)).ok()?;
        Some(Gcra { limit, window, capacity, per_limit: Divisor::new(limit), per_window: Divisor::new(window) })
    }
}

/// What a [`Gcra`] step decided, before it is spelled out as a [`Decision`]: the compare-and-swap
/// loop carries only these three words, and the divisions happen once, after it.
#[derive(Clone, Copy)]
pub(crate) struct Step {
    allowed: bool,
    /// The debt after the decision.
    debt: u64,
    /// When denied: how much debt was too much, `debt + cost × W - L × W`.
    excess: u64,
}

impl Gcra {
    /// The rule itself: the state after a request of `cost` at clock reading `now`, and the verdict.
    #[inline(always)]
    fn step(&self, state: u128, now: u64, cost: u64) -> (u128, Step) {
        let last_seen = (state >> 64) as u64;
        let t = now.max(last_seen);
        // (t - last) × L can exceed u64 after a long idle; it only matters whether it covers the debt.
        let refill = u128::from(t - last_seen) * u128::from(self.limit);
        let debt = (state as u64).saturating_sub(u64::try_from(refill).unwrap_or(u64::MAX));
        // cost <= L, so cost × W <= L × W fits.
        let need = cost * self.window;
        let room = self.capacity - need;
        if debt <= room {
            let debt = debt + need;
            (pack(t, debt), Step { allowed: true, debt, excess: 0 })
        } else {
            // Denied: nothing is consumed; only the time seen moves (rebasing the same debt).
            (pack(t, debt), Step { allowed: false, debt, excess: debt - room })
        }
    }

    /// `remaining` = whole permits in the bucket; `retry_after` = time until the excess debt has
    /// refilled, `reset_after` = time until all of it has, both rounded up to the nanosecond.
    #[inline(always)]
    fn decision(&self, step: Step) -> Decision {
        Decision {
            allowed: step.allowed,
            remaining: self.per_window.div(self.capacity - step.debt),
            retry_after: nanos(self.per_limit.div_ceil(step.excess)),
            reset_after: nanos(self.per_limit.div_ceil(step.debt)),
        }
    }
}

/// `Duration::from_nanos`, minus its division by 10⁹ in the common sub-second case.
#[inline(always)]
fn nanos(n: u64) -> Duration {
    if n < 1_000_000_000 {
        Duration::new(0, n as u32)
    } else {
        Duration::from_nanos(n)
    }
}

impl Algorithm for Gcra {
    type State = u128;

    #[inline(always)]
    fn decide(&self, state: &mut u128, now: u64, cost: u64) -> Decision {
        let (next, step) = self.step(*state, now, cost);
        *state = next;
        self.decision(step)
    }

    fn is_full(&self, state: &u128, now: u64) -> bool {
        let last_seen = (*state >> 64) as u64;
        let refill = u128::from(now.max(last_seen) - last_seen) * u128::from(self.limit);
        refill >= *state & u128::from(u64::MAX)
    }
}

/// A [`Gcra`] state in one atomic 128-bit word (`cmpxchg16b`, detected at run time by
/// portable-atomic), updated by a compare-and-swap loop: no lock, and a request that changes
/// nothing (a repeated denial at the same instant) does not even write.
pub(crate) struct AtomicCell(AtomicU128);

impl AtomicCell {
    pub(crate) const fn new() -> Self {
        AtomicCell(AtomicU128::new(0))
    }

    #[inline(always)]
    pub(crate) fn acquire(&self, gcra: &Gcra, now: u64, cost: u64) -> Decision {
        // Relaxed is enough: the word is the whole state, and a decision publishes nothing else.
        let mut current = self.0.load(Ordering::Relaxed);
        let step = loop {
            let (next, step) = gcra.step(current, now, cost);
            if next == current {
                break step;
            }
            match self.0.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break step,
                Err(actual) => current = actual,
            }
        };
        gcra.decision(step)
    }
}

/// GCRA for quotas whose `L × W` exceeds `u64`: the same rule with a `u128` debt.
pub(crate) struct WideGcra {
    limit: u128,
    window: u128,
    capacity: u128,
}

#[derive(Clone, Default)]
pub(crate) struct WideState {
    last_seen: u64,
    debt: u128,
}

impl WideGcra {
    pub(crate) fn new(limit: u64, window: u64) -> WideGcra {
        let (limit, window) = (u128::from(limit), u128::from(window));
        // Only chosen when L × W > u64::MAX, so L >= 1 and the divisions are defined.
        WideGcra { limit: limit.max(1), window, capacity: limit * window }
    }
}

impl Algorithm for WideGcra {
    type State = WideState;

    fn decide(&self, state: &mut WideState, now: u64, cost: u64) -> Decision {
        let t = now.max(state.last_seen);
        // Both factors < 2^64, so the product fits in u128.
        let refill = u128::from(t - state.last_seen) * self.limit;
        let debt = state.debt.saturating_sub(refill);
        let need = u128::from(cost) * self.window;
        let room = self.capacity - need;
        state.last_seen = t;
        if debt <= room {
            state.debt = debt + need;
            Decision {
                allowed: true,
                remaining: ((self.capacity - state.debt) / self.window) as u64,
                retry_after: Duration::ZERO,
                reset_after: duration_from_u128(state.debt.div_ceil(self.limit)),
            }
        } else {
            state.debt = debt;
            Decision {
                allowed: false,
                remaining: ((self.capacity - debt) / self.window) as u64,
                retry_after: duration_from_u128((debt - room).div_ceil(self.limit)),
                reset_after: duration_from_u128(debt.div_ceil(self.limit)),
            }
        }
    }

    fn is_full(&self, state: &WideState, now: u64) -> bool {
        u128::from(now.max(state.last_seen) - state.last_seen) * self.limit >= state.debt
    }
}

/// A single token bucket with no key and no map: the same rule and conventions as the keyed
/// limiter's token bucket, its state in one atomic word so no lock is ever taken. Public so
/// benches (and anyone who needs one bucket) can use it directly.
pub struct DirectGcra {
    clock: Clock,
    limit: u64,
    bucket: DirectBucket,
}

enum DirectBucket {
    Narrow(Gcra, AtomicCell),
    Wide(WideGcra, Mutex<WideState>),
}

impl DirectGcra {
    /// A full bucket of `limit` permits refilling `limit` per `window`, reading time from `clock`.
    pub fn new(limit: u64, window: Duration, clock: Clock) -> DirectGcra {
        let window = crate::time::window_nanos(window);
        let bucket = match Gcra::new(limit, window) {
            Some(gcra) => DirectBucket::Narrow(gcra, AtomicCell::new()),
            None => DirectBucket::Wide(WideGcra::new(limit, window), Mutex::new(WideState::default())),
        };
        DirectGcra { clock, limit, bucket }
    }

    /// Takes `cost` permits if the bucket holds them; same conventions as the keyed limiter.
    // Inlined into the caller's loop, the quota's constants (divisor magics, capacity) stay in
    // registers instead of being reloaded on every call.
    #[inline(always)]
    pub fn try_acquire(&self, cost: u64) -> Result<Decision, CostExceedsCapacity> {
        if cost > self.limit {
            return Err(CostExceedsCapacity { cost, capacity: self.limit });
        }
        let now = self.clock.now();
        Ok(match &self.bucket {
            DirectBucket::Narrow(gcra, cell) => cell.acquire(gcra, now, cost),
            DirectBucket::Wide(gcra, state) => Self::acquire_wide(gcra, state, now, cost),
        })
    }

    #[cold]
    #[inline(never)]
    fn acquire_wide(gcra: &WideGcra, state: &Mutex<WideState>, now: u64, cost: u64) -> Decision {
        gcra.decide(&mut state.lock().unwrap_or_else(PoisonError::into_inner), now, cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::support::{check_definitions, Rng};

    /// The narrow (u64) and wide (u128) forms are the same rule: drive both with the same random
    /// requests, including backwards clock steps, and compare every decision.
    #[test]
    fn narrow_and_wide_agree() {
        let mut rng = Rng::new(7);
        for _ in 0..300 {
            let limit = rng.below(12) + 1;
            let window = rng.below(50) + 1;
            let narrow = Gcra::new(limit, window).unwrap();
            let wide = WideGcra::new(limit, window);
            let (mut a, mut b) = (0u128, WideState::default());
            let mut now = 1_000_000u64;
            for _ in 0..200 {
                now = match rng.below(10) {
                    0 => now - rng.below(20),
                    1..=3 => now,
                    _ => now + rng.below(2 * window),
                };
                let cost = rng.below(limit + 1);
                assert_eq!(narrow.decide(&mut a, now, cost), wide.decide(&mut b, now, cost));
                assert_eq!(narrow.is_full(&a, now), wide.is_full(&b, now));
            }
        }
    }

    /// Every decision's `remaining`, `retry_after` and `reset_after` match their definitions,
    /// probed by replaying on copies of the state.
    #[test]
    fn decisions_match_their_definitions() {
        let mut rng = Rng::new(11);
        for _ in 0..200 {
            let limit = rng.below(8) + 1;
            let window = rng.below(40) + 1;
            check_definitions(&Gcra::new(limit, window).unwrap(), limit, window, &mut rng);
            check_definitions(&WideGcra::new(limit, window), limit, window, &mut rng);
        }
    }

    /// The direct bucket decides exactly as a key of the keyed limiter would, narrow and wide.
    #[test]
    fn direct_bucket_matches_a_keyed_one() {
        use challenge_harness::{Algorithm as Alg, ManualClock, RateLimiter, RateLimiterConfig};
        for (limit, window) in
            [(5u64, Duration::from_secs(1)), (3, Duration::from_nanos(10)), (1 << 40, Duration::from_secs(1 << 30))]
        {
            let manual = ManualClock::new(1 << 62);
            let direct = DirectGcra::new(limit, window, manual.clock());
            let config = RateLimiterConfig { algorithm: Alg::TokenBucket, limit, window };
            let keyed = crate::ReferenceLimiter::new(config, manual.clock());
            let mut rng = Rng::new(limit);
            let step = window.as_nanos() as u64 / limit.min(8) / 3 + 1;
            for _ in 0..500 {
                match rng.below(6) {
                    0 => manual.set(manual.clock().now() - rng.below(step)),
                    1 | 2 => {}
                    _ => manual.advance(Duration::from_nanos(rng.below(step))),
                }
                let cost = rng.below(limit.min(6) + 1);
                assert_eq!(direct.try_acquire(cost), keyed.try_acquire("k", cost));
            }
            assert!(direct.try_acquire(limit + 1).is_err());
        }
    }

    /// Lock-free, yet exact: eight threads on one frozen instant take exactly the bucket.
    #[test]
    fn direct_bucket_under_contention_admits_exactly_limit() {
        use challenge_harness::ManualClock;
        use std::sync::{Arc, Barrier};
        for limit in [1u64, 64, 1000] {
            let manual = ManualClock::new(1_000);
            let bucket = Arc::new(DirectGcra::new(limit, Duration::from_secs(1), manual.clock()));
            let barrier = Arc::new(Barrier::new(8));
            let admitted: u64 = (0..8)
                .map(|_| {
                    let (bucket, barrier) = (Arc::clone(&bucket), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        (0..500).filter(|_| bucket.try_acquire(1).unwrap().allowed).count() as u64
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum();
            assert_eq!(admitted, limit);
        }
    }

    #[test]
    fn wide_quota_is_exact() {
        // L × W = 10^6 × 10^14 = 10^20 > u64::MAX: the wide form must be picked and be exact.
        let (limit, window) = (1_000_000u64, 100_000_000_000_000u64);
        assert!(Gcra::new(limit, window).is_none());
        let gcra = WideGcra::new(limit, window);
        let mut state = WideState::default();
        let t0 = 5_000_000_000_000_000_000u64;
        let d = gcra.decide(&mut state, t0, limit);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert_eq!(d.reset_after, Duration::from_nanos(window));
        let d = gcra.decide(&mut state, t0, 1);
        assert!(!d.allowed);
        // One permit refills every W / L = 10^8 ns.
        assert_eq!(d.retry_after, Duration::from_nanos(100_000_000));
        assert!(!gcra.decide(&mut state, t0 + 99_999_999, 1).allowed);
        assert!(gcra.decide(&mut state, t0 + 100_000_000, 1).allowed);
    }
}
