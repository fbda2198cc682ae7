//! Challenge 2: a thread-safe LRU cache with TTL and metrics.
//!
//! Implement [`LruCache`] for [`MyCache`], then run `challenge test 2`. The brief (the
//! challenge's README.md) pins every convention; its section names are quoted below as
//! "README → …". `cargo test` runs your own tests (there is one at the bottom to start from).

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
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
    /// Keys from least to most recently used (README → Recency and eviction). A `VecDeque` makes
    /// promotion O(n); an index-linked list over a `Vec` makes it O(1) when you get to speed.
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
        // 1. Lock, then drop the entries that have expired by `self.clock.now()` (README → Time
        //    and liveness: live while `now < expiry`), counting each as an expiration.
        // 2. Found: count a hit, move the key to the most recent end, return the value.
        //    Not found: count a miss.
        todo!("get: purge expired entries, then a hit (promote) or a miss (README → Recency and eviction)")
    }

    fn peek(&self, key: u64) -> Option<u64> {
        todo!("peek: the live value, without promoting or counting anything")
    }

    fn contains(&self, key: u64) -> bool {
        todo!("contains: whether the key is live, without promoting or counting anything")
    }

    fn put(&self, key: u64, value: u64, ttl: Option<Duration>) -> Option<u64> {
        // A live key: replace, promote, restart the TTL, return the old value (a replacement).
        // Otherwise: if `capacity` entries are live, evict the least recently used live one
        // first (expired ones go before that, and are not evictions); insert; return None.
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
        // Start simple: a hit returns the value; on a miss, call `load()` and `put` the result.
        // Then make it right under threads (README → get_or_insert_with): run `load()` with no
        // lock held, once per key, with other callers of the same key waiting (a `Condvar`).
        todo!("get_or_insert_with: a hit, or one load per missing key with no lock held across it")
    }
}

// This line makes your cache loadable by the grader. Keep it.
challenge_harness::export_lru_cache!(MyCache);

#[cfg(test)]
mod tests {
    use super::*;
    use challenge_harness::ManualClock;

    /// Time starts far from zero under the grader too.
    const START: u64 = 1_000_000 * 1_000_000_000;

    fn cache(capacity: usize, default_ttl: Option<Duration>) -> (ManualClock, MyCache) {
        let manual = ManualClock::new(START);
        let cache = MyCache::new(CacheConfig { capacity, default_ttl }, manual.clock());
        (manual, cache)
    }

    #[test]
    fn evicts_the_least_recently_used_and_expires_exactly() {
        let (manual, cache) = cache(2, None);
        cache.put(1, 10, None);
        cache.put(2, 20, Some(Duration::from_secs(10)));
        assert_eq!(cache.get(1), Some(10)); // 1 is now the most recently used
        cache.put(3, 30, None); // evicts 2
        assert_eq!(cache.get(2), None);

        cache.put(4, 40, Some(Duration::from_secs(10)));
        manual.advance(Duration::from_secs(10) - Duration::from_nanos(1));
        assert_eq!(cache.peek(4), Some(40));
        manual.advance(Duration::from_nanos(1));
        assert_eq!(cache.peek(4), None);
    }
}
