//! The fixed window: windows aligned to the clock (`i = t / W`, covering `[iW, (i+1)W)`), each
//! holding `L` permits.
//!
//! A key's state is `(last time seen, permits counted)`. The count belongs to the window that
//! contains the last time seen, so no window index needs storing: when the effective time lands
//! in a later window the count is simply stale and restarts at 0.

use core::time::Duration;

use challenge_harness::Decision;

use crate::keyed::Algorithm;

pub(crate) struct FixedWindow {
    limit: u64,
    window: u64,
}

#[derive(Clone, Default, Debug)]
pub(crate) struct FixedState {
    last_seen: u64,
    count: u64,
}

impl FixedWindow {
    pub(crate) fn new(limit: u64, window: u64) -> FixedWindow {
        FixedWindow { limit, window }
    }
}

impl Algorithm for FixedWindow {
    type State = FixedState;

    fn decide(&self, state: &mut FixedState, now: u64, cost: u64) -> Decision {
        let t = now.max(state.last_seen);
        let index = t / self.window;
        if index != state.last_seen / self.window {
            state.count = 0;
        }
        state.last_seen = t;
        // (i+1)W - t, computed as W - e so that it cannot overflow near u64::MAX.
        let until_next = Duration::from_nanos(self.window - (t - index * self.window));
        // count <= L always, so `L - count` cannot underflow, unlike `count + cost` could overflow.
        let allowed = cost <= self.limit - state.count;
        if allowed {
            state.count += cost;
        }
        Decision {
            allowed,
            remaining: self.limit - state.count,
            retry_after: if allowed { Duration::ZERO } else { until_next },
            reset_after: if state.count > 0 { until_next } else { Duration::ZERO },
        }
    }

    fn is_full(&self, state: &FixedState, now: u64) -> bool {
        state.count == 0 || now.max(state.last_seen) / self.window != state.last_seen / self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::support::{check_definitions, Rng};

    #[test]
    fn decisions_match_their_definitions() {
        let mut rng = Rng::new(3);
        for _ in 0..300 {
            let limit = rng.below(8) + 1;
            let window = rng.below(40) + 1;
            check_definitions(&FixedWindow::new(limit, window), limit, window, &mut rng);
        }
    }
}
