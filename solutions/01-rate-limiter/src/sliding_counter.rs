//! The sliding window counter: clock-aligned windows as in the fixed window, where at `e`
//! nanoseconds into window `i` the permits in use are `prev × (W - e) / W + curr`, an exact
//! fraction. Every comparison is multiplied through by `W` and done in `u128`, so nothing is
//! rounded except where the conventions say (`remaining` rounds the `prev` share up).
//!
//! A key's state is `(last time seen, prev, curr)`, the counts of the window containing the last
//! time seen and of the one before it; a later effective time rolls them forward first.

use core::time::Duration;

use challenge_harness::Decision;

use crate::keyed::Algorithm;
use crate::time::duration_from_u128;

pub(crate) struct SlidingCounter {
    limit: u64,
    window: u64,
}

#[derive(Clone, Default, Debug)]
pub(crate) struct CounterState {
    last_seen: u64,
    prev: u64,
    curr: u64,
}

/// The counts as seen from effective time `t`: `e` into the window containing `t`.
struct View {
    prev: u128,
    curr: u128,
    e: u128,
}

impl SlidingCounter {
    pub(crate) fn new(limit: u64, window: u64) -> SlidingCounter {
        SlidingCounter { limit, window }
    }

    /// Rolls the stored counts forward to the window containing `t >= last_seen`.
    fn view(&self, state: &CounterState, t: u64) -> View {
        let index = t / self.window;
        let (prev, curr) = match index - state.last_seen / self.window {
            0 => (state.prev, state.curr),
            1 => (state.curr, 0),
            _ => (0, 0),
        };
        View { prev: prev.into(), curr: curr.into(), e: (t - index * self.window).into() }
    }

    /// `prev × (W - e) + (curr + c) × W <= L × W`, rearranged so that no term can overflow a
    /// `u128` even for `L` and `W` near 2⁶⁴: each side is a product of two numbers below 2⁶⁴.
    fn admits(&self, v: &View, cost: u128) -> bool {
        let (w, l) = (u128::from(self.window), u128::from(self.limit));
        v.curr + cost <= l && v.prev * (w - v.e) <= (l - v.curr - cost) * w
    }

    /// The least `d` such that `cost` would be admitted at `t + d`, for a request denied at `t`.
    /// The admitted load only falls as time passes (within a window the `prev` share shrinks; at
    /// a rollover `prev × (W - e) + curr × W` becomes `curr × W`, no more), so the answer is the
    /// first instant that works, found phase by phase:
    /// 1. still in this window, once `prev × (W - e - d) <= (L - curr - c) × W`;
    /// 2. in the next window (`prev := curr`, `curr := 0`), once `curr × (W - e') <= (L - c) × W`;
    /// 3. at the start of the window after, when nothing counts and `c <= L` always fits.
    fn retry_after(&self, v: &View, cost: u128) -> u128 {
        let (w, l) = (u128::from(self.window), u128::from(self.limit));
        let left = w - v.e;
        if v.prev > 0 && v.curr + cost <= l {
            // Denied now means prev × left > slack, so q < left and d = left - q >= 1.
            let q = (l - v.curr - cost) * w / v.prev;
            if q >= 1 {
                return left - q;
            }
        }
        if v.curr + cost <= l {
            return left;
        }
        // Here curr > L - c, so q < W and the wait into the next window is W - q >= 1.
        let q = (l - cost) * w / v.curr;
        if q >= 1 {
            return left + (w - q);
        }
        left + w
    }

    fn remaining(&self, v: &View) -> u64 {
        let prev_share = (v.prev * (u128::from(self.window) - v.e)).div_ceil(u128::from(self.window));
        u128::from(self.limit).saturating_sub(v.curr + prev_share) as u64
    }
}

impl Algorithm for SlidingCounter {
    type State = CounterState;

    fn decide(&self, state: &mut CounterState, now: u64, cost: u64) -> Decision {
        let t = now.max(state.last_seen);
        let mut v = self.view(state, t);
        let allowed = self.admits(&v, cost.into());
        let retry_after = if allowed {
            v.curr += u128::from(cost);
            Duration::ZERO
        } else {
            duration_from_u128(self.retry_after(&v, cost.into()))
        };
        // Both stay <= L: prev was a window's admitted count, curr was just checked.
        *state = CounterState { last_seen: t, prev: v.prev as u64, curr: v.curr as u64 };
        let w = u128::from(self.window);
        let reset_after = if v.curr > 0 {
            2 * w - v.e
        } else if v.prev > 0 {
            w - v.e
        } else {
            0
        };
        Decision { allowed, remaining: self.remaining(&v), retry_after, reset_after: duration_from_u128(reset_after) }
    }

    fn is_full(&self, state: &CounterState, now: u64) -> bool {
        let v = self.view(state, now.max(state.last_seen));
        v.prev == 0 && v.curr == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::support::{check_definitions, Rng};

    #[test]
    fn decisions_match_their_definitions() {
        let mut rng = Rng::new(13);
        for _ in 0..400 {
            let limit = rng.below(8) + 1;
            let window = rng.below(30) + 1;
            check_definitions(&SlidingCounter::new(limit, window), limit, window, &mut rng);
        }
    }

    /// `retry_after` against a brute-force search over every later instant, from hand-built
    /// states covering each phase of the derivation (including rolling into the next window and
    /// the one after).
    #[test]
    fn retry_after_is_the_least_wait() {
        for limit in 1..=6u64 {
            for window in 1..=12u64 {
                let counter = SlidingCounter::new(limit, window);
                for prev in 0..=limit {
                    for curr in 0..=limit {
                        for e in 0..window {
                            for cost in 1..=limit {
                                let t = 10 * window + e;
                                let state = CounterState { last_seen: t, prev, curr };
                                let d = counter.decide(&mut state.clone(), t, cost);
                                if d.allowed {
                                    continue;
                                }
                                let wait = d.retry_after.as_nanos() as u64;
                                let least = (1..=3 * window)
                                    .find(|&d| counter.decide(&mut state.clone(), t + d, cost).allowed)
                                    .expect("always admitted by two windows later");
                                assert_eq!(wait, least, "L={limit} W={window} prev={prev} curr={curr} e={e} c={cost}");
                            }
                        }
                    }
                }
            }
        }
    }
}
