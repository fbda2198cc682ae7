//! Reference solution: a strict LRU cache with TTL and lifetime counters, exactly as the brief's
//! conventions pin it. Simple rather than fast: one `Mutex` around a map, a recency `VecDeque`
//! (promotion scans it) and an expiry index. Every trait method is implemented in full, so that
//! scenarios you add can grade against it.
//!
//! Every call first drops the entries that have expired by now, counting each as an expiration
//! once: that is the brief's "as of now" for `len`, `metrics` and capacity, kept in one place.
//!
//! Every call takes effect in one critical section. `get_or_insert_with` does too: its hit, or,
//! when it loads, the section after the loader returns, where it is a miss and an insert (or a
//! hit, if a `put` stored the key meanwhile), with the hits of the callers that waited for it
//! counted in that same section. The loader runs with no lock held.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use challenge_harness::{CacheConfig, CacheMetrics, Clock, LruCache};

/// The reference cache.
pub struct Cache {
    clock: Clock,
    inner: Mutex<Inner>,
}

/// Everything behind the lock.
struct Inner {
    capacity: usize,
    /// In nanoseconds; `None`: entries put without a TTL never expire.
    default_ttl: Option<u64>,
    /// Live entries only, once `purge` has run for the current call.
    entries: HashMap<u64, Entry>,
    /// The keys of `entries`, least recently used first.
    recency: VecDeque<u64>,
    /// `(expiry, key)` for every entry of `entries` that expires, soonest first.
    expiring: BTreeSet<(u64, u64)>,
    /// Keys whose loader is running, so that later callers wait instead of loading again.
    loading: HashMap<u64, Flight>,
    metrics: CacheMetrics,
}

#[derive(Clone, Copy)]
struct Entry {
    value: u64,
    /// Clock nanoseconds from which the entry is expired; `None`: never.
    expiry: Option<u64>,
}

/// One load in progress: the callers waiting for it, and where they wait.
struct Flight {
    slot: Arc<Slot>,
    waiters: u64,
}

/// Where waiting callers learn how a load ended. It has its own lock, so they wait holding none
/// of the cache's.
struct Slot {
    state: Mutex<Load>,
    settled: Condvar,
}

#[derive(Clone, Copy)]
enum Load {
    Pending,
    /// The value every waiter returns.
    Done(u64),
    /// The loader panicked: every waiter tries again, and one of them loads.
    Abandoned,
}

/// What `get_or_insert_with` found under the lock.
enum Begin {
    Hit(u64),
    Wait(Arc<Slot>),
    Load(Arc<Slot>),
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Slot {
    /// The loaded value, or `None` if the loader panicked.
    fn wait(&self) -> Option<u64> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = self
            .settled
            .wait_while(state, |state| matches!(state, Load::Pending))
            .unwrap_or_else(PoisonError::into_inner);
        match *state {
            Load::Done(value) => Some(value),
            Load::Abandoned => None,
            Load::Pending => unreachable!("wait_while returns once the load is settled"),
        }
    }

    fn settle(&self, load: Load) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = load;
        self.settled.notify_all();
    }
}

impl Inner {
    /// Drops every entry whose expiry is `<= now`, each an expiration.
    fn purge(&mut self, now: u64) {
        while let Some(&(expiry, key)) = self.expiring.first() {
            if expiry > now {
                break;
            }
            self.unlink(key);
            self.metrics.expirations += 1;
        }
    }

    /// Removes `key` from every index, counting nothing.
    fn unlink(&mut self, key: u64) -> Option<Entry> {
        let entry = self.entries.remove(&key)?;
        if let Some(i) = self.recency.iter().position(|&k| k == key) {
            self.recency.remove(i);
        }
        if let Some(expiry) = entry.expiry {
            self.expiring.remove(&(expiry, key));
        }
        Some(entry)
    }

    /// A counted read that promotes: a hit or a miss.
    fn read(&mut self, key: u64) -> Option<u64> {
        let Some(entry) = self.entries.get(&key).copied() else {
            self.metrics.misses += 1;
            return None;
        };
        self.metrics.hits += 1;
        if let Some(i) = self.recency.iter().position(|&k| k == key) {
            self.recency.remove(i);
        }
        self.recency.push_back(key);
        Some(entry.value)
    }

    fn put(&mut self, key: u64, value: u64, ttl: Option<Duration>, now: u64) -> Option<u64> {
        let old = self.unlink(key).map(|entry| entry.value);
        if old.is_some() {
            self.metrics.replacements += 1;
        } else {
            self.metrics.inserts += 1;
            self.evict_down_to(self.capacity.saturating_sub(1));
        }
        let expiry = ttl.map(nanos).or(self.default_ttl).map(|ttl| now.saturating_add(ttl));
        if let Some(expiry) = expiry {
            self.expiring.insert((expiry, key));
        }
        self.recency.push_back(key);
        self.entries.insert(key, Entry { value, expiry });
        old
    }

    /// Evicts least recently used entries (all live, after `purge`) until at most `live` remain.
    fn evict_down_to(&mut self, live: usize) {
        while self.entries.len() > live {
            let key = *self.recency.front().expect("recency holds every entry's key");
            self.unlink(key);
            self.metrics.evictions += 1;
        }
    }

    /// `get_or_insert_with`, step 1: a hit, a load to wait for, or a load to run.
    fn begin_load(&mut self, key: u64) -> Begin {
        if self.entries.contains_key(&key) {
            return Begin::Hit(self.read(key).expect("the entry is live"));
        }
        if let Some(flight) = self.loading.get_mut(&key) {
            flight.waiters += 1;
            return Begin::Wait(Arc::clone(&flight.slot));
        }
        let slot = Arc::new(Slot { state: Mutex::new(Load::Pending), settled: Condvar::new() });
        self.loading.insert(key, Flight { slot: Arc::clone(&slot), waiters: 0 });
        Begin::Load(slot)
    }

    /// Step 2: the loader returned `value`. The whole call takes effect here, with its waiters'
    /// hits: a miss and an insert, or a hit if a `put` stored the key meanwhile. Returns the value
    /// the caller and every waiter return.
    fn finish_load(&mut self, key: u64, value: u64, ttl: Option<Duration>, now: u64) -> u64 {
        self.metrics.hits += self.end_flight(key);
        if self.entries.contains_key(&key) {
            return self.read(key).expect("the entry is live");
        }
        self.metrics.misses += 1;
        self.put(key, value, ttl, now);
        value
    }

    /// Step 2 when the loader panicked: a miss that stores nothing. The waiters try again.
    fn abandon_load(&mut self, key: u64) {
        self.end_flight(key);
        self.metrics.misses += 1;
    }

    /// Forgets the key's flight; returns how many callers were waiting for it.
    fn end_flight(&mut self, key: u64) -> u64 {
        self.loading.remove(&key).expect("only its loader ends a flight").waiters
    }
}

impl Cache {
    /// The state, locked, with the entries expired by now already dropped; and now.
    fn lock(&self) -> (MutexGuard<'_, Inner>, u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        inner.purge(now);
        (inner, now)
    }

    /// Runs `load` for `key` with no lock held, stores its value, and settles `slot`.
    fn load(&self, key: u64, ttl: Option<Duration>, load: &mut dyn FnMut() -> u64, slot: &Slot) -> u64 {
        let abandon = Abandon { cache: self, key, slot };
        let value = load();
        // The loader returned: disarm the guard (it owns nothing, so forgetting it leaks nothing).
        std::mem::forget(abandon);
        let value = {
            let (mut inner, now) = self.lock();
            inner.finish_load(key, value, ttl, now)
        };
        slot.settle(Load::Done(value));
        value
    }
}

/// Cleans up after a loader that panicked: dropped only while the panic unwinds, which it then
/// continues to do out of `get_or_insert_with`.
struct Abandon<'a> {
    cache: &'a Cache,
    key: u64,
    slot: &'a Slot,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        self.cache.lock().0.abandon_load(self.key);
        self.slot.settle(Load::Abandoned);
    }
}

impl LruCache for Cache {
    fn new(config: CacheConfig, clock: Clock) -> Self {
        let inner = Inner {
            capacity: config.capacity,
            default_ttl: config.default_ttl.map(nanos),
            entries: HashMap::new(),
            recency: VecDeque::new(),
            expiring: BTreeSet::new(),
            loading: HashMap::new(),
            metrics: CacheMetrics::default(),
        };
        Cache { clock, inner: Mutex::new(inner) }
    }

    fn get(&self, key: u64) -> Option<u64> {
        self.lock().0.read(key)
    }

    fn peek(&self, key: u64) -> Option<u64> {
        self.lock().0.entries.get(&key).map(|entry| entry.value)
    }

    fn contains(&self, key: u64) -> bool {
        self.lock().0.entries.contains_key(&key)
    }

    fn put(&self, key: u64, value: u64, ttl: Option<Duration>) -> Option<u64> {
        let (mut inner, now) = self.lock();
        inner.put(key, value, ttl, now)
    }

    fn remove(&self, key: u64) -> Option<u64> {
        self.lock().0.unlink(key).map(|entry| entry.value)
    }

    fn len(&self) -> usize {
        self.lock().0.entries.len()
    }

    fn clear(&self) {
        let (mut inner, _) = self.lock();
        inner.entries.clear();
        inner.recency.clear();
        inner.expiring.clear();
        // Loads in flight go on: their values are stored when they return.
    }

    fn resize(&self, capacity: usize) {
        let (mut inner, _) = self.lock();
        inner.capacity = capacity;
        inner.evict_down_to(capacity);
    }

    fn metrics(&self) -> CacheMetrics {
        self.lock().0.metrics
    }

    fn get_or_insert_with(&self, key: u64, ttl: Option<Duration>, load: &mut dyn FnMut() -> u64) -> u64 {
        loop {
            // A statement of its own, so that the lock is released before the loader runs.
            let begin = self.lock().0.begin_load(key);
            let slot = match begin {
                Begin::Hit(value) => return value,
                Begin::Load(slot) => return self.load(key, ttl, load, &slot),
                Begin::Wait(slot) => slot,
            };
            if let Some(value) = slot.wait() {
                return value;
            }
            // That loader panicked: look again, and wait for the next loader or become it.
        }
    }
}

challenge_harness::export_lru_cache!(Cache);
