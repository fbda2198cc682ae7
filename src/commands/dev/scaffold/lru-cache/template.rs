//! Your thread-safe LRU cache with TTL and metrics.
//!
//! Implement [`LruCache`] for [`MyCache`], then run `challenge test`. The brief (the challenge's
//! README.md) pins every convention; its section names are quoted below as "README → …".

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use challenge_harness::{CacheConfig, CacheMetrics, Clock, LruCache};

/// Every method takes `&self` and is called from many threads at once, so shared state needs a
/// lock. One `Mutex` around everything is correct and a fine start.
pub struct MyCache {
    /// The only source of time. Never use `Instant::now()` or `SystemTime`: the grader moves this
    /// clock in jumps while real time stands still.
    clock: Clock,
    inner: Mutex<Inner>,
}

/// Everything behind the lock. This is one workable shape; change it as you like.
struct Inner {
    capacity: usize,
    default_ttl: Option<Duration>,
    /// key → (value, expiry instant in clock nanoseconds, or `None` for never).
    entries: HashMap<u64, (u64, Option<u64>)>,
    /// Keys from least to most recently used (README → Recency and eviction).
    recency: VecDeque<u64>,
    metrics: CacheMetrics,
}

impl LruCache for MyCache {
    fn new(config: CacheConfig, clock: Clock) -> Self {
        let inner = Inner {
            capacity: config.capacity,
            default_ttl: config.default_ttl,
            entries: HashMap::new(),
            recency: VecDeque::new(),
            metrics: CacheMetrics::default(),
        };
        MyCache { clock, inner: Mutex::new(inner) }
    }

    fn get(&self, key: u64) -> Option<u64> {
        todo!("get: drop expired entries, then a hit (promote) or a miss (README → Recency and eviction)")
    }

    fn peek(&self, key: u64) -> Option<u64> {
        todo!("peek: the live value, without promoting or counting anything")
    }

    fn contains(&self, key: u64) -> bool {
        todo!("contains: whether the key is live, without promoting or counting anything")
    }

    fn put(&self, key: u64, value: u64, ttl: Option<Duration>) -> Option<u64> {
        todo!("put: replace (promote, restart the TTL) or insert (evicting the LRU live entry at capacity)")
    }

    fn remove(&self, key: u64) -> Option<u64> {
        todo!("remove: the live value, or None for an absent or expired key")
    }

    fn len(&self) -> usize {
        todo!("len: live entries only, as of now (README → Time and liveness)")
    }

    fn clear(&self) {
        todo!("clear: remove every entry, keep the counters (README → Metrics)")
    }

    fn resize(&self, capacity: usize) {
        todo!("resize: set the capacity, evicting LRU live entries beyond it (README → Recency and eviction)")
    }

    fn metrics(&self) -> CacheMetrics {
        todo!("metrics: the counters as of now, expirations included even if nobody read them (README → Metrics)")
    }

    fn get_or_insert_with(&self, key: u64, ttl: Option<Duration>, load: &mut dyn FnMut() -> u64) -> u64 {
        todo!("get_or_insert_with: a hit, or one load per missing key with no lock held across it (README → get_or_insert_with)")
    }
}

// This line makes your cache loadable by the grader. Keep it.
challenge_harness::export_lru_cache!(MyCache);
