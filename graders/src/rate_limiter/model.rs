//! The executable form of the brief's conventions: a plain, single-threaded, obviously-exact
//! limiter. The judge replays seeded traces through it and compares every decision the learner
//! made. It is written for clarity, not speed; the reference solution is the fast one, and the
//! two are developed independently so that each checks the other.

use std::collections::{HashMap, VecDeque};

use super::{Config, Outcome};
use crate::Nanos;

/// The model limiter.
#[derive(Debug)]
pub struct Model {
    config: Config,
    keys: HashMap<String, KeyState>,
}

#[derive(Clone, Debug, Default)]
struct KeyState {
    latest: u64,
    /// Fixed window and sliding counter: the current window index and its count.
    window: u64,
    count: u64,
    /// Sliding counter: the count of window `window - 1`.
    prev: u64,
    /// Sliding log: (admitted at, permits), oldest first.
    log: VecDeque<(u64, u64)>,
    /// Token bucket: theoretical arrival time in units of ns × limit.
    tat: u128,
}

impl Model {
    /// A limiter with no keys.
    pub fn new(config: Config) -> Model {
        Model { config, keys: HashMap::new() }
    }

    /// `try_acquire(key, cost)` at clock reading `now` (absolute nanoseconds).
    pub fn acquire(&mut self, key: &str, cost: u64, now: u64) -> Outcome {
        let (l, w) = (self.config.limit, self.config.window.0);
        if cost > l {
            return Outcome::CostExceedsCapacity;
        }
        let state = self.keys.entry(key.to_owned()).or_default();
        let t = now.max(state.latest);
        state.latest = t;
        let d = match self.config.algorithm.algorithm() {
            challenge_harness::Algorithm::FixedWindow => fixed_window(state, l, w, t, cost),
            challenge_harness::Algorithm::SlidingLog => sliding_log(state, l, w, t, cost),
            challenge_harness::Algorithm::SlidingCounter => sliding_counter(state, l, w, t, cost),
            challenge_harness::Algorithm::TokenBucket => token_bucket(state, l, w, t, cost),
        };
        Outcome::Decision { allowed: d.0, remaining: d.1, retry_after: Nanos(d.2), reset_after: Nanos(d.3) }
    }

    /// Keys stored after a `cleanup()` at `now`.
    pub fn cleanup(&mut self, now: u64) {
        let config = self.config;
        self.keys.retain(|_, state| {
            let t = now.max(state.latest);
            // Probe a copy with cost 0 to read its `remaining`; the key itself must not move, or
            // a later backwards clock would see state pruned at a time the key never saw.
            let mut probe = state.clone();
            let remaining = match config.algorithm.algorithm() {
                challenge_harness::Algorithm::FixedWindow => {
                    fixed_window(&mut probe, config.limit, config.window.0, t, 0).1
                }
                challenge_harness::Algorithm::SlidingLog => {
                    sliding_log(&mut probe, config.limit, config.window.0, t, 0).1
                }
                challenge_harness::Algorithm::SlidingCounter => {
                    sliding_counter(&mut probe, config.limit, config.window.0, t, 0).1
                }
                challenge_harness::Algorithm::TokenBucket => {
                    token_bucket(&mut probe, config.limit, config.window.0, t, 0).1
                }
            };
            remaining < config.limit
        });
    }

    /// `tracked_keys()`.
    pub fn tracked_keys(&self) -> u64 {
        self.keys.len() as u64
    }
}

/// (allowed, remaining, retry_after, reset_after)
type Decided = (bool, u64, u64, u64);

fn fixed_window(s: &mut KeyState, l: u64, w: u64, t: u64, c: u64) -> Decided {
    let i = t / w;
    if s.window != i {
        s.window = i;
        s.count = 0;
    }
    let allowed = s.count + c <= l;
    if allowed {
        s.count += c;
    }
    let to_next = (i + 1) * w - t;
    let retry = if allowed { 0 } else { to_next };
    let reset = if s.count > 0 { to_next } else { 0 };
    (allowed, l - s.count, retry, reset)
}

fn sliding_log(s: &mut KeyState, l: u64, w: u64, t: u64, c: u64) -> Decided {
    while s.log.front().is_some_and(|&(at, _)| at as u128 + w as u128 <= t as u128) {
        s.log.pop_front();
    }
    let mut n: u64 = s.log.iter().map(|&(_, permits)| permits).sum();
    let allowed = n + c <= l;
    if allowed && c > 0 {
        s.log.push_back((t, c));
        n += c;
    }
    let retry = if allowed {
        0
    } else {
        // The j-th oldest counting permit must expire, j = n + c - l.
        let j = n + c - l;
        let mut seen = 0;
        let oldest_needed = s.log.iter().find(|&&(_, permits)| {
            seen += permits;
            seen >= j
        });
        oldest_needed.map_or(0, |&(at, _)| at + w - t)
    };
    let reset = s.log.back().map_or(0, |&(at, _)| at + w - t);
    (allowed, l - n, retry, reset)
}

fn sliding_counter(s: &mut KeyState, l: u64, w: u64, t: u64, c: u64) -> Decided {
    let i = t / w;
    if s.window != i {
        s.prev = if s.window + 1 == i { s.count } else { 0 };
        s.count = 0;
        s.window = i;
    }
    let e = (t - i * w) as u128;
    let (l, w, c, prev) = (l as u128, w as u128, c as u128, s.prev as u128);
    let allowed = prev * (w - e) + (s.count as u128 + c) * w <= l * w;
    if allowed {
        s.count += c as u64;
    }
    let curr = s.count as u128;
    let remaining = l.saturating_sub(curr + (prev * (w - e)).div_ceil(w));
    let retry = if allowed {
        0
    } else if prev > 0 && curr + c <= l && (l - curr - c) * w / prev > 0 {
        // Still inside this window: prev * (w - e - d) <= (l - curr - c) * w.
        w - e - (l - curr - c) * w / prev
    } else if curr == 0 {
        w - e
    } else {
        // In the next window prev' = curr, curr' = 0: curr * (w - e') <= (l - c) * w.
        let wait_in_next = w.saturating_sub((l - c) * w / curr);
        w - e + wait_in_next
    };
    let reset = if curr > 0 {
        2 * w - e
    } else if prev > 0 {
        w - e
    } else {
        0
    };
    (allowed, remaining as u64, retry as u64, reset as u64)
}

fn token_bucket(s: &mut KeyState, l: u64, w: u64, t: u64, c: u64) -> Decided {
    let (l, w, c) = (l as u128, w as u128, c as u128);
    let now = t as u128 * l;
    let capacity = l * w;
    let debt = s.tat.saturating_sub(now);
    let allowed = debt + c * w <= capacity;
    let debt_after = if allowed { debt + c * w } else { debt };
    if allowed && c > 0 {
        s.tat = now + debt_after;
    }
    let retry = if allowed { 0 } else { (debt + c * w - capacity).div_ceil(l) };
    let remaining = (capacity - debt_after) / w;
    (allowed, remaining as u64, retry as u64, debt_after.div_ceil(l) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limiter::AlgorithmName;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    fn model(algorithm: AlgorithmName, limit: u64, window: u64) -> Model {
        Model::new(Config { algorithm, limit, window: Nanos(window) })
    }

    fn decide(m: &mut Model, t: u64) -> (bool, u64, u64, u64) {
        match m.acquire("k", 1, t) {
            Outcome::Decision { allowed, remaining, retry_after, reset_after } => {
                (allowed, remaining, retry_after.0, reset_after.0)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn fixed_window_boundary() {
        let mut m = model(AlgorithmName::FixedWindow, 2, S);
        assert!(decide(&mut m, 0).0);
        assert!(decide(&mut m, 0).0);
        assert_eq!(decide(&mut m, S - 1), (false, 0, 1, 1));
        assert_eq!(decide(&mut m, S), (true, 1, 0, S));
    }

    #[test]
    fn sliding_log_permit_exactly_one_window_old_no_longer_counts() {
        let mut m = model(AlgorithmName::SlidingLog, 1, S);
        assert!(decide(&mut m, 10).0);
        assert_eq!(decide(&mut m, 10 + S - 1), (false, 0, 1, 1));
        assert_eq!(decide(&mut m, 10 + S), (true, 0, 0, S));
    }

    #[test]
    fn sliding_counter_worked_example() {
        // limit 7, window 10s: 5 admitted in the previous window. 30% into this one they weigh
        // 5 * 0.7 = 3.5, so 3 more fit (3.5 + 3 = 6.5) and a 4th would make 7.5 > 7.
        let mut m = model(AlgorithmName::SlidingCounter, 7, 10 * S);
        for _ in 0..5 {
            assert!(decide(&mut m, 0).0);
        }
        for _ in 0..3 {
            assert!(decide(&mut m, 13 * S).0);
        }
        let (allowed, remaining, retry, reset) = decide(&mut m, 13 * S);
        assert!(!allowed);
        assert_eq!(remaining, 0);
        // 5 * (7s - d) / 10s + 3 + 1 <= 7  ⇔  d >= 1s.
        assert_eq!(retry, S);
        assert_eq!(reset, 17 * S);
        assert!(!decide(&mut m, 14 * S - 1).0);
        assert!(decide(&mut m, 14 * S).0);
    }

    #[test]
    fn token_bucket_burst_rate_and_no_extra_cell_after_idle() {
        let mut m = model(AlgorithmName::TokenBucket, 5, S);
        for _ in 0..5 {
            assert!(decide(&mut m, 0).0);
        }
        assert_eq!(decide(&mut m, 0), (false, 0, 200 * MS, S));
        assert!(!decide(&mut m, 200 * MS - 1).0);
        assert!(decide(&mut m, 200 * MS).0);
        let later = 10 * S;
        let admitted = (0..6).filter(|_| decide(&mut m, later).0).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn token_bucket_keeps_fractions() {
        let mut m = model(AlgorithmName::TokenBucket, 3, S);
        let admitted = (0..=10_000u64).filter(|ms| decide(&mut m, ms * MS).0).count();
        assert_eq!(admitted, 33);
    }

    #[test]
    fn backwards_clock_grants_nothing_extra() {
        let mut m = model(AlgorithmName::FixedWindow, 1, S);
        assert!(decide(&mut m, 5 * S).0);
        assert_eq!(decide(&mut m, 0), (false, 0, S, S));
    }

    #[test]
    fn cleanup_does_not_move_a_key_through_time() {
        // Sliding log, limit 3, W = 10ns, permits at t=5 and t=14. A cleanup at t=16 keeps the key
        // (the t=14 permit still counts); back at t=14 the t=5 permit must still count too.
        let mut m = model(AlgorithmName::SlidingLog, 3, 10);
        assert!(decide(&mut m, 5).0);
        assert!(decide(&mut m, 14).0);
        m.cleanup(16);
        assert_eq!(m.tracked_keys(), 1);
        let (allowed, remaining, _, _) = decide(&mut m, 14);
        assert!(allowed);
        assert_eq!(remaining, 0);
    }

    #[test]
    fn cleanup_forgets_only_full_keys() {
        let mut m = model(AlgorithmName::TokenBucket, 2, S);
        assert!(decide(&mut m, 0).0);
        m.acquire("other", 1, S);
        m.cleanup(S);
        assert_eq!(m.tracked_keys(), 1);
    }
}
