//! What every test module shares: a cache on a `ManualClock` at scenario time 0, and the
//! little helpers that make a scenario read like the brief.

use std::time::Duration;

use challenge_harness::{CacheConfig, CacheMetrics, LruCache, ManualClock};

use crate::ReferenceCache;

/// Scenario time 0: far from zero, as under the grader.
pub(crate) const T0: u64 = 1_000 * 3_600 * 1_000_000_000;
pub(crate) const SEC: Duration = Duration::from_secs(1);

pub(crate) fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

pub(crate) fn cache(capacity: usize, default_ttl: Option<Duration>) -> (ManualClock, ReferenceCache) {
    let clock = ManualClock::new(T0);
    (clock.clone(), ReferenceCache::new(CacheConfig { capacity, default_ttl }, clock.clock()))
}

pub(crate) fn at(clock: &ManualClock, offset: Duration) {
    clock.set(T0 + offset.as_nanos() as u64);
}

/// Resident keys, most recently used first (expired ones included until noticed).
pub(crate) fn order(c: &ReferenceCache) -> Vec<u64> {
    c.inspect(|s| s.keys_mru_first())
}

pub(crate) fn metrics(
    hits: u64,
    misses: u64,
    inserts: u64,
    replacements: u64,
    evictions: u64,
    expirations: u64,
) -> CacheMetrics {
    CacheMetrics { hits, misses, inserts, replacements, evictions, expirations }
}

/// xorshift64*: deterministic, dependency-free randomness for the property tests.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}
