//! Challenge 2: the LRU cache trait and the values it speaks in.
//!
//! The brief (`challenges/02-lru-cache/README.md`) pins every convention; the docs here repeat
//! the ones a signature cannot say. Keys and values are `u64` so the challenge is about recency,
//! time and concurrency rather than ownership of generic values.

use core::time::Duration;

use crate::Clock;

/// How a cache is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Live entries the cache may hold: 1 to 2^24.
    pub capacity: usize,
    /// The TTL of entries put with `ttl = None`; `None` here means such entries never expire.
    pub default_ttl: Option<Duration>,
}

/// Lifetime counters. [`LruCache::clear`] does not reset them.
///
/// Every `get` and `get_or_insert_with` counts exactly one hit or one miss; `peek`, `contains`,
/// `len` and `metrics` count nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheMetrics {
    /// Reads that returned a live entry (including a `get_or_insert_with` that waited for another
    /// caller's loader and returned its value).
    pub hits: u64,
    /// Reads that found no live entry (absent or expired).
    pub misses: u64,
    /// Entries added for a key with no live entry.
    pub inserts: u64,
    /// `put`s on a key with a live entry.
    pub replacements: u64,
    /// Live entries removed to make room: by an insert at capacity, or by a shrinking `resize`.
    pub evictions: u64,
    /// Entries that reached their expiry instant while in the cache, whether or not the cache has
    /// noticed yet: `metrics()` at time `t` counts every entry whose expiry is `<= t` and that was
    /// not removed, replaced, evicted or cleared before it.
    pub expirations: u64,
}

/// A thread-safe, strictly least-recently-used cache from `u64` keys to `u64` values, with
/// optional per-entry TTL on the virtual [`Clock`].
///
/// The conventions (the brief has examples of each):
/// - **Live.** An entry put at time `t` with TTL `d` is live while `now < t + d` and expired from
///   `t + d` on, exactly. An expired entry is never returned, never promoted, and never counts
///   towards `len()` or capacity.
/// - **Recency.** `get`, `put` and a `get_or_insert_with` that returns a value make the key the
///   most recently used. `peek` and `contains` change nothing.
/// - **Capacity.** After every call, at most `capacity` entries are live. Inserting a new key when
///   `capacity` entries are live evicts the least recently used live entry first. Expired entries
///   never push out live ones.
/// - **Time** never moves backwards in this challenge. Read it only from the `Clock`.
///
/// ```
/// use challenge_harness::{CacheConfig, CacheMetrics, Clock, LruCache, ManualClock};
/// use std::sync::Mutex;
/// use std::time::Duration;
///
/// /// Remembers one entry and never expires it: a start, not a solution.
/// pub struct OneSlot {
///     slot: Mutex<Option<(u64, u64)>>,
/// }
///
/// impl LruCache for OneSlot {
///     fn new(_config: CacheConfig, _clock: Clock) -> Self {
///         OneSlot { slot: Mutex::new(None) }
///     }
///     fn get(&self, key: u64) -> Option<u64> {
///         self.peek(key)
///     }
///     fn peek(&self, key: u64) -> Option<u64> {
///         self.slot.lock().unwrap().filter(|&(k, _)| k == key).map(|(_, v)| v)
///     }
///     fn contains(&self, key: u64) -> bool {
///         self.peek(key).is_some()
///     }
///     fn put(&self, key: u64, value: u64, _ttl: Option<Duration>) -> Option<u64> {
///         let old = self.peek(key);
///         *self.slot.lock().unwrap() = Some((key, value));
///         old
///     }
///     fn remove(&self, key: u64) -> Option<u64> {
///         let old = self.peek(key);
///         if old.is_some() {
///             *self.slot.lock().unwrap() = None;
///         }
///         old
///     }
///     fn len(&self) -> usize {
///         self.slot.lock().unwrap().is_some() as usize
///     }
///     fn clear(&self) {
///         *self.slot.lock().unwrap() = None;
///     }
///     fn resize(&self, _capacity: usize) {}
///     fn metrics(&self) -> CacheMetrics {
///         CacheMetrics::default()
///     }
///     fn get_or_insert_with(&self, key: u64, ttl: Option<Duration>, load: &mut dyn FnMut() -> u64) -> u64 {
///         match self.get(key) {
///             Some(value) => value,
///             None => {
///                 let value = load();
///                 self.put(key, value, ttl);
///                 value
///             }
///         }
///     }
/// }
///
/// challenge_harness::export_lru_cache!(OneSlot);
///
/// let manual = ManualClock::new(0);
/// let cache = OneSlot::new(CacheConfig { capacity: 1, default_ttl: None }, manual.clock());
/// assert_eq!(cache.put(7, 70, None), None);
/// assert_eq!(cache.get(7), Some(70));
/// assert_eq!(cache.get_or_insert_with(8, None, &mut || 80), 80);
/// ```
pub trait LruCache: Send + Sync + 'static {
    /// Builds an empty cache. Read time only from `clock`.
    fn new(config: CacheConfig, clock: Clock) -> Self
    where
        Self: Sized;

    /// The live value for `key`, promoting it to most recently used: a hit. `None` is a miss.
    fn get(&self, key: u64) -> Option<u64>;

    /// The live value for `key`, without promoting it or counting anything.
    fn peek(&self, key: u64) -> Option<u64>;

    /// Whether `key` has a live entry, without promoting it or counting anything.
    fn contains(&self, key: u64) -> bool;

    /// Stores `value` under `key`, expiring after `ttl` (or the config's `default_ttl` when
    /// `None`; a TTL is at least 1ns). The key becomes most recently used and its expiry restarts
    /// from now.
    ///
    /// On a live key: replaces the value and returns the old one (a replacement, not an
    /// eviction). Otherwise: inserts, evicting the least recently used live entry first if
    /// `capacity` entries are live, and returns `None`.
    fn put(&self, key: u64, value: u64, ttl: Option<Duration>) -> Option<u64>;

    /// Removes `key`, returning its live value. Removing an expired or absent key returns `None`.
    fn remove(&self, key: u64) -> Option<u64>;

    /// How many entries are live now.
    fn len(&self) -> usize;

    /// Whether no entry is live. Provided; the grader never calls it.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry. Lifetime counters keep their values.
    fn clear(&self);

    /// Changes the capacity (at least 1). Shrinking below the live count evicts least recently
    /// used live entries until `len() == capacity`; each counts as an eviction.
    fn resize(&self, capacity: usize);

    /// The lifetime counters, as of now.
    fn metrics(&self) -> CacheMetrics;

    /// The live value for `key` (a hit, promoted); otherwise a miss: calls `load` once, stores
    /// its value as `put(key, value, ttl)` would (an insert), and returns it.
    ///
    /// Under contention, `load` runs once per missing key: other callers for the same key wait for
    /// it and return its value, each counting a hit. Callers for other keys must not wait for it.
    /// If `load` panics, the panic propagates to this caller, the key stays absent, the cache
    /// stays usable, and a waiting caller (if any) runs its own loader instead.
    fn get_or_insert_with(&self, key: u64, ttl: Option<Duration>, load: &mut dyn FnMut() -> u64) -> u64;
}
