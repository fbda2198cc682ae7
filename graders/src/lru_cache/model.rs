//! The exact model of the brief: what a correct cache returns for every call at every instant.
//! The judge replays scripts and seeded traces through it; the worker uses it only to guide the
//! shrinking of a failing trace, whose result the judge checks again.
//!
//! Expired entries are purged at the start of every call, which is exactly the brief's
//! definition of `expirations` ("counted as of now") and of liveness.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::call::{Call, Outcome};
use super::observation::Metrics;
use super::script::Config;

#[derive(Clone, Copy, Debug)]
struct Entry {
    value: u64,
    expiry: Option<u64>,
    /// Recency: larger is more recent.
    tick: u64,
}

/// A strict LRU with TTL and lifetime counters, on scenario time in nanoseconds.
#[derive(Clone, Debug)]
pub struct Model {
    capacity: u64,
    default_ttl: Option<u64>,
    entries: HashMap<u64, Entry>,
    recency: BTreeMap<u64, u64>,
    expiring: BTreeSet<(u64, u64)>,
    next_tick: u64,
    metrics: Metrics,
}

impl Model {
    /// An empty cache.
    pub fn new(config: &Config) -> Model {
        Model {
            capacity: config.capacity,
            default_ttl: config.default_ttl.map(|t| t.0),
            entries: HashMap::new(),
            recency: BTreeMap::new(),
            expiring: BTreeSet::new(),
            next_tick: 0,
            metrics: Metrics::default(),
        }
    }

    /// What a correct cache returns for `call` at scenario time `now`.
    pub fn apply(&mut self, call: &Call, now: u64) -> Outcome {
        self.purge(now);
        match *call {
            Call::Get { key } => Outcome::Value(self.read(key)),
            Call::Peek { key } => Outcome::Value(self.entries.get(&key).map(|e| e.value)),
            Call::Contains { key } => Outcome::Bool(self.entries.contains_key(&key)),
            Call::Put { key, value, ttl } => Outcome::Value(self.put(key, value, ttl.map(|t| t.0), now)),
            Call::Remove { key } => Outcome::Value(self.unlink(key).map(|e| e.value)),
            Call::Len => Outcome::Len(self.entries.len() as u64),
            Call::Clear => {
                let keys: Vec<u64> = self.entries.keys().copied().collect();
                for key in keys {
                    self.unlink(key);
                }
                Outcome::Done
            }
            Call::Resize { capacity } => {
                self.capacity = capacity;
                self.evict_down_to(capacity);
                Outcome::Done
            }
            Call::Metrics => Outcome::Metrics(self.metrics),
            Call::GetOrInsert { key, ttl, load } => match self.read(key) {
                Some(value) => Outcome::Loaded { value, loads: 0 },
                None => {
                    self.put(key, load, ttl.map(|t| t.0), now);
                    Outcome::Loaded { value: load, loads: 1 }
                }
            },
            Call::LoaderPanics { key } => match self.read(key) {
                Some(value) => Outcome::Loaded { value, loads: 0 },
                None => Outcome::LoaderPanicked,
            },
        }
    }

    /// The live keys, least recently used first (for failure context).
    pub fn keys_by_recency(&self) -> Vec<u64> {
        self.recency.values().copied().collect()
    }

    fn purge(&mut self, now: u64) {
        while let Some(&(expiry, key)) = self.expiring.first() {
            if expiry > now {
                break;
            }
            self.unlink(key);
            self.metrics.expirations += 1;
        }
    }

    /// A counted read that promotes.
    fn read(&mut self, key: u64) -> Option<u64> {
        let Some(entry) = self.entries.get(&key).copied() else {
            self.metrics.misses += 1;
            return None;
        };
        self.metrics.hits += 1;
        self.recency.remove(&entry.tick);
        let tick = self.tick();
        self.recency.insert(tick, key);
        self.entries.insert(key, Entry { tick, ..entry });
        Some(entry.value)
    }

    fn put(&mut self, key: u64, value: u64, ttl: Option<u64>, now: u64) -> Option<u64> {
        let old = self.unlink(key).map(|e| e.value);
        if old.is_some() {
            self.metrics.replacements += 1;
        } else {
            self.metrics.inserts += 1;
            self.evict_down_to(self.capacity - 1);
        }
        let expiry = ttl.or(self.default_ttl).map(|t| now.saturating_add(t));
        let tick = self.tick();
        self.recency.insert(tick, key);
        if let Some(expiry) = expiry {
            self.expiring.insert((expiry, key));
        }
        self.entries.insert(key, Entry { value, expiry, tick });
        old
    }

    fn evict_down_to(&mut self, live: u64) {
        while self.entries.len() as u64 > live {
            let (_, &key) = self.recency.first_key_value().expect("entries and recency agree");
            self.unlink(key);
            self.metrics.evictions += 1;
        }
    }

    fn unlink(&mut self, key: u64) -> Option<Entry> {
        let entry = self.entries.remove(&key)?;
        self.recency.remove(&entry.tick);
        if let Some(expiry) = entry.expiry {
            self.expiring.remove(&(expiry, key));
        }
        Some(entry)
    }

    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Nanos;

    fn model(capacity: u64, ttl: Option<u64>) -> Model {
        Model::new(&Config { capacity, default_ttl: ttl.map(Nanos) })
    }

    fn put(key: u64, value: u64) -> Call {
        Call::Put { key, value, ttl: None }
    }

    #[test]
    fn evicts_the_least_recently_used_and_counts_replacements_apart() {
        let mut m = model(3, None);
        for k in 1..=3 {
            assert_eq!(m.apply(&put(k, k * 10), 0), Outcome::Value(None));
        }
        assert_eq!(m.apply(&Call::Get { key: 1 }, 0), Outcome::Value(Some(10)));
        assert_eq!(m.apply(&put(2, 21), 0), Outcome::Value(Some(20)));
        assert_eq!(m.apply(&put(4, 40), 0), Outcome::Value(None));
        assert_eq!(m.keys_by_recency(), vec![1, 2, 4]);
        let Outcome::Metrics(metrics) = m.apply(&Call::Metrics, 0) else { panic!() };
        assert_eq!((metrics.evictions, metrics.replacements, metrics.inserts, metrics.hits), (1, 1, 4, 1));
    }

    #[test]
    fn expiry_is_exact_and_counted_as_of_now() {
        let mut m = model(2, Some(10));
        m.apply(&put(1, 1), 100);
        assert_eq!(m.apply(&Call::Peek { key: 1 }, 109), Outcome::Value(Some(1)));
        let Outcome::Metrics(metrics) = m.apply(&Call::Metrics, 110) else { panic!() };
        assert_eq!(metrics.expirations, 1, "counted without any read");
        assert_eq!(m.apply(&Call::Get { key: 1 }, 110), Outcome::Value(None));
        assert_eq!(m.apply(&Call::Len, 110), Outcome::Len(0));
    }

    #[test]
    fn expired_entries_never_push_out_live_ones() {
        let mut m = model(2, None);
        m.apply(&Call::Put { key: 1, value: 1, ttl: Some(Nanos(5)) }, 0);
        m.apply(&put(2, 2), 0);
        m.apply(&put(3, 3), 10);
        assert_eq!(m.keys_by_recency(), vec![2, 3]);
        let Outcome::Metrics(metrics) = m.apply(&Call::Metrics, 10) else { panic!() };
        assert_eq!((metrics.evictions, metrics.expirations), (0, 1));
    }

    #[test]
    fn loaders_run_only_on_a_miss() {
        let mut m = model(2, None);
        let call = Call::GetOrInsert { key: 1, ttl: None, load: 7 };
        assert_eq!(m.apply(&call, 0), Outcome::Loaded { value: 7, loads: 1 });
        assert_eq!(m.apply(&call, 0), Outcome::Loaded { value: 7, loads: 0 });
        assert_eq!(m.apply(&Call::LoaderPanics { key: 2 }, 0), Outcome::LoaderPanicked);
        assert_eq!(m.apply(&Call::Contains { key: 2 }, 0), Outcome::Bool(false));
    }
}
