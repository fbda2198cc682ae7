//! Seeded workloads that the worker runs and the parent regenerates: the same seed yields the
//! same calls on both sides of the process boundary.

use serde::{Deserialize, Serialize};

use super::call::Call;
use super::lin_spec::LinOp;
use super::script::Config;
use crate::rng::Rng;
use crate::Nanos;

/// One call of a trace, with the clock advance before it. Advances are relative, so any subset
/// of a trace is a trace too (what shrinking needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracedCall {
    /// Virtual time to add before the call.
    pub gap: Nanos,
    /// The call.
    pub call: Call,
}

/// The `differential` trace: every call in the vocabulary, TTLs of three kinds, and clock advances
/// biased towards the instants where conventions bite (an expiry exactly, or 1ns either side).
pub fn differential(config: &Config, seed: u64, ops: u32, keys: u32, max_gap: Nanos) -> Vec<TracedCall> {
    let mut rng = Rng::new(seed);
    let max_gap = max_gap.0.max(1);
    let ttls = [None, Some(Nanos(max_gap)), Some(Nanos(max_gap * 3 + 1))];
    let capacity = config.capacity;
    let (mut now, mut next_value) = (0u64, 1u64);
    let mut expiries: Vec<u64> = Vec::new();
    let mut calls = Vec::with_capacity(ops as usize);
    for _ in 0..ops {
        let target = match rng.below(20) {
            0..=9 => now,
            10..=16 => now + rng.below(max_gap + 1),
            _ => {
                expiries.retain(|&e| e + 1 >= now);
                match expiries.len() {
                    0 => now + rng.below(max_gap + 1),
                    n => (expiries[rng.below(n as u64) as usize] + rng.below(3)).saturating_sub(1).max(now),
                }
            }
        };
        let gap = Nanos(target - now);
        now = target;
        let key = rng.below(keys as u64);
        let mut value = || {
            next_value += 1;
            next_value
        };
        let call = match rng.below(200) {
            0..=69 => Call::Get { key },
            70..=129 => Call::Put { key, value: value(), ttl: ttls[rng.below(3) as usize] },
            130..=139 => Call::Peek { key },
            140..=149 => Call::Contains { key },
            150..=165 => Call::Remove { key },
            166..=174 => Call::Len,
            175..=183 => Call::Metrics,
            184..=194 => Call::GetOrInsert { key, ttl: ttls[rng.below(3) as usize], load: value() },
            195..=196 => Call::LoaderPanics { key },
            197..=198 => Call::Resize { capacity: 1 + rng.below(capacity * 2) },
            _ => Call::Clear,
        };
        if let Call::Put { ttl, .. } | Call::GetOrInsert { ttl, .. } = call {
            if let Some(ttl) = ttl.or(config.default_ttl) {
                expiries.push(now + ttl.0);
            }
        }
        calls.push(TracedCall { gap, call });
    }
    calls
}

/// Zipf-distributed keys in `0..keys` with exponent `s`: key `k` has weight `1 / (k + 1)^s`.
pub fn zipf(seed: u64, ops: u32, keys: u32, s: f64) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(keys as usize);
    let mut total = 0.0;
    for k in 0..keys {
        total += 1.0 / f64::from(k + 1).powf(s);
        cdf.push(total);
    }
    let mut rng = Rng::new(seed);
    (0..ops)
        .map(|_| {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
            cdf.partition_point(|&c| c <= u).min(keys as usize - 1) as u64
        })
        .collect()
}

/// One request of the performance workload: a `get` (then a `put` on a miss), or a `put`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Cache-aside read.
    Read(u64),
    /// Write.
    Write(u64),
}

/// The performance workload of one thread: Zipf keys, 90% reads and 10% writes.
pub fn performance(seed: u64, thread: u32, ops: u32, keys: u32) -> Vec<Request> {
    let thread_seed = seed ^ (u64::from(thread) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng::new(thread_seed ^ 1);
    zipf(thread_seed, ops, keys, 0.9)
        .into_iter()
        .map(|key| if rng.below(10) == 0 { Request::Write(key) } else { Request::Read(key) })
        .collect()
}

/// The calls of one thread in one `linearizable` run; put values are unique per thread and call
/// and readable: thread 2's fifth put stores 3004 (`ops` is at most 500).
pub fn linearizable(seed: u64, run: u32, thread: u32, ops: u32, keys: u32) -> Vec<LinOp> {
    let mut rng = Rng::new(seed ^ (u64::from(run) << 32 | u64::from(thread)).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..ops)
        .map(|n| {
            let key = rng.below(keys as u64);
            match rng.below(20) {
                0..=7 => LinOp::Get(key),
                8..=14 => LinOp::Put(key, (u64::from(thread) + 1) * 1000 + u64::from(n)),
                15..=16 => LinOp::Remove(key),
                17 => LinOp::Peek(key),
                18 => LinOp::Contains(key),
                _ => LinOp::Len,
            }
        })
        .collect()
}

/// The calls of one thread in `concurrent-invariants`.
pub fn invariants(seed: u64, thread: u32, ops: u32, keys: u32) -> Vec<LinOp> {
    let mut rng = Rng::new(seed ^ (u64::from(thread) + 7).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    (0..ops)
        .map(|n| {
            let key = rng.below(keys as u64);
            match rng.below(20) {
                0..=9 => LinOp::Get(key),
                10..=16 => LinOp::Put(key, u64::from(thread) << 32 | u64::from(n)),
                17..=18 => LinOp::Remove(key),
                _ => LinOp::Len,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_is_skewed_and_replays() {
        let keys = zipf(7, 20_000, 1_000, 0.9);
        assert_eq!(keys, zipf(7, 20_000, 1_000, 0.9));
        let hot = keys.iter().filter(|&&k| k == 0).count();
        let cold = keys.iter().filter(|&&k| k == 999).count();
        assert!(hot > 50 * cold.max(1), "key 0 drawn {hot} times, key 999 {cold} times");
    }

    #[test]
    fn differential_traces_land_on_expiry_instants() {
        let config = Config { capacity: 3, default_ttl: Some(Nanos(50)) };
        let calls = differential(&config, 1, 2_000, 6, Nanos(100));
        assert_eq!(calls, differential(&config, 1, 2_000, 6, Nanos(100)));
        assert!(calls.iter().any(|c| matches!(c.call, Call::Resize { .. })));
        assert!(calls.iter().filter(|c| c.gap.0 == 0).count() > 500);
    }
}
