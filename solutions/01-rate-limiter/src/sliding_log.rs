//! The sliding log: every admitted permit is logged with its admission time `s` and counts while
//! `t < s + W` (a permit exactly `W` old no longer counts).
//!
//! Permits admitted at the same instant are one *run* `(s, running total)`, so a request of cost
//! `c` is one entry, not `c`. Each run stores the running total of permits ever logged through
//! it, which makes "the `j`-th oldest counting permit" (needed for `retry_after`) a binary search
//! instead of a walk. Totals wrap modulo 2⁶⁴; only differences of at most `L` are ever taken, so
//! wrapping never changes an answer.

use core::time::Duration;
use std::collections::VecDeque;

use challenge_harness::Decision;

use crate::keyed::Algorithm;
use crate::time::duration_from_u128;

pub(crate) struct SlidingLog {
    limit: u64,
    window: u64,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    at: u64,
    /// Permits ever logged for this key, through this run (wrapping).
    total: u64,
}

#[derive(Clone, Default, Debug)]
pub(crate) struct LogState {
    last_seen: u64,
    /// Runs still counting, oldest first.
    runs: VecDeque<Run>,
    /// Permits ever logged before the oldest run in `runs` (wrapping).
    expired: u64,
}

impl LogState {
    fn counting(&self) -> u64 {
        self.runs.back().map_or(0, |run| run.total.wrapping_sub(self.expired))
    }
}

impl SlidingLog {
    pub(crate) fn new(limit: u64, window: u64) -> SlidingLog {
        SlidingLog { limit, window }
    }

    /// Whether a permit admitted at `at` still counts at `t` (`t >= at` always holds here).
    fn counts(&self, at: u64, t: u64) -> bool {
        t - at < self.window
    }
}

impl Algorithm for SlidingLog {
    type State = LogState;

    fn decide(&self, state: &mut LogState, now: u64, cost: u64) -> Decision {
        let t = now.max(state.last_seen);
        state.last_seen = t;
        while let Some(run) = state.runs.front() {
            if self.counts(run.at, t) {
                break;
            }
            state.expired = run.total;
            state.runs.pop_front();
        }
        let n = state.counting();
        // n <= L always, so `L - n` cannot underflow, unlike `n + cost` could overflow.
        let allowed = cost <= self.limit - n;
        let mut retry_after = Duration::ZERO;
        if allowed {
            if cost > 0 {
                let total = state.runs.back().map_or(state.expired, |run| run.total).wrapping_add(cost);
                match state.runs.back_mut() {
                    Some(run) if run.at == t => run.total = total,
                    _ => state.runs.push_back(Run { at: t, total }),
                }
            }
        } else {
            // The same request fits once the j = n + c - L oldest permits have aged out, i.e. at
            // s_j + W. The j-th oldest is in the first run whose running total reaches j.
            // j = n + c - L, written so that it cannot overflow: denied means c > L - n.
            let j = cost - (self.limit - n);
            let index = state.runs.partition_point(|run| run.total.wrapping_sub(state.expired) < j);
            retry_after = self.until_expiry(state.runs[index].at, t);
        }
        let n = state.counting();
        Decision {
            allowed,
            remaining: self.limit - n,
            retry_after,
            reset_after: state.runs.back().map_or(Duration::ZERO, |run| self.until_expiry(run.at, t)),
        }
    }

    fn is_full(&self, state: &LogState, now: u64) -> bool {
        let t = now.max(state.last_seen);
        state.runs.back().is_none_or(|run| !self.counts(run.at, t))
    }
}

impl SlidingLog {
    /// `s + W - t` for a permit logged at `s` that still counts at `t`; in u128 because `s + W`
    /// may pass u64::MAX.
    fn until_expiry(&self, at: u64, t: u64) -> Duration {
        duration_from_u128(u128::from(at) + u128::from(self.window) - u128::from(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::support::{check_definitions, Rng};

    #[test]
    fn decisions_match_their_definitions() {
        let mut rng = Rng::new(5);
        for _ in 0..300 {
            let limit = rng.below(8) + 1;
            let window = rng.below(40) + 1;
            check_definitions(&SlidingLog::new(limit, window), limit, window, &mut rng);
        }
    }

    #[test]
    fn same_instant_permits_share_one_run() {
        let log = SlidingLog::new(100, 1_000);
        let mut state = LogState::default();
        for _ in 0..10 {
            assert!(log.decide(&mut state, 5_000, 3).allowed);
        }
        assert_eq!(state.runs.len(), 1);
        assert_eq!(state.counting(), 30);
    }

    #[test]
    fn running_totals_may_wrap() {
        // Start the running total just below 2^64 so that it wraps mid-log.
        let log = SlidingLog::new(10, 100);
        let mut state = LogState { expired: u64::MAX - 4, ..LogState::default() };
        for i in 0..10 {
            assert!(log.decide(&mut state, 1_000 + i, 1).allowed);
        }
        let d = log.decide(&mut state, 1_050, 3);
        assert!(!d.allowed);
        // j = 10 + 3 - 10 = 3: the third oldest permit, logged at 1_002, expires at 1_102.
        assert_eq!(d.retry_after, Duration::from_nanos(52));
        assert_eq!(d.remaining, 0);
    }
}
