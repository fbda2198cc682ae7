//! Seeded workloads that the worker runs and the parent regenerates: the same seed yields the
//! same calls on both sides of the process boundary.

use super::Config;
use crate::rng::Rng;

/// One traced call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedCall {
    /// Scenario time of the call.
    pub at: u64,
    /// Key index.
    pub key: u32,
    /// Cost.
    pub cost: u64,
}

/// The `differential` trace: gaps up to `max_gap`, with a bias towards the instants where
/// conventions bite (window edges ±1ns, zero gaps) and an occasional step backwards in time.
pub fn differential(config: &Config, seed: u64, ops: u32, keys: u32, max_gap: u64, max_cost: u64) -> Vec<TracedCall> {
    let mut rng = Rng::new(seed);
    let window = config.window.0;
    let mut at: u64 = 0;
    let mut calls = Vec::with_capacity(ops as usize);
    for _ in 0..ops {
        at = match rng.below(16) {
            0..=2 => at,
            3 => {
                // Land on a window edge, or one nanosecond either side of it.
                let edge = (at / window + 1) * window;
                edge + rng.below(3) - 1
            }
            4 => at.saturating_sub(rng.below(max_gap + 1)),
            _ => at + rng.below(max_gap + 1),
        };
        calls.push(TracedCall { at, key: rng.below(keys as u64) as u32, cost: 1 + rng.below(max_cost) });
    }
    calls
}

/// The `performance` workload: each call advances time by 0–2µs and picks a key, skewed so
/// that a quarter of the calls hit one hot key.
pub fn performance(seed: u64, ops: u32, keys: u32) -> Vec<TracedCall> {
    let mut rng = Rng::new(seed);
    let mut at = 0;
    (0..ops)
        .map(|_| {
            at += rng.below(2_001);
            let key = if rng.below(4) == 0 { 0 } else { rng.below(keys as u64) as u32 };
            TracedCall { at, key, cost: 1 }
        })
        .collect()
}
