//! The sequential spec as a plain model, and random histories (with clock advances landing on
//! expiry instants) replayed through both and compared call by call.

use challenge_harness::{CacheConfig, CacheMetrics, LruCache, ManualClock};

use super::support::*;
use crate::ReferenceCache;

/// The contract at its plainest: entries least recently used first, every call first dropping
/// whatever has expired (which is what "expired entries do not exist" means).
struct Model {
    capacity: usize,
    default_ttl: Option<u64>,
    entries: Vec<(u64, u64, u64)>,
    m: CacheMetrics,
}

impl Model {
    fn purge(&mut self, now: u64) {
        let before = self.entries.len();
        self.entries.retain(|&(_, _, expires)| expires > now);
        self.m.expirations += (before - self.entries.len()) as u64;
    }

    fn position(&mut self, now: u64, key: u64) -> Option<usize> {
        self.purge(now);
        self.entries.iter().position(|&(k, _, _)| k == key)
    }

    fn read(&mut self, now: u64, key: u64) -> Option<u64> {
        let p = self.position(now, key)?;
        let entry = self.entries.remove(p);
        self.entries.push(entry);
        Some(entry.1)
    }

    fn get(&mut self, now: u64, key: u64) -> Option<u64> {
        let value = self.read(now, key);
        if value.is_some() {
            self.m.hits += 1;
        } else {
            self.m.misses += 1;
        }
        value
    }

    fn peek(&mut self, now: u64, key: u64) -> Option<u64> {
        self.position(now, key).map(|p| self.entries[p].1)
    }

    fn put(&mut self, now: u64, key: u64, value: u64, ttl: Option<u64>) -> Option<u64> {
        let expires = ttl.or(self.default_ttl).map_or(u64::MAX, |ttl| now.saturating_add(ttl));
        if let Some(p) = self.position(now, key) {
            let old = self.entries.remove(p).1;
            self.entries.push((key, value, expires));
            self.m.replacements += 1;
            return Some(old);
        }
        if self.entries.len() == self.capacity {
            self.entries.remove(0);
            self.m.evictions += 1;
        }
        self.entries.push((key, value, expires));
        self.m.inserts += 1;
        None
    }

    fn remove(&mut self, now: u64, key: u64) -> Option<u64> {
        self.position(now, key).map(|p| self.entries.remove(p).1)
    }

    fn resize(&mut self, now: u64, capacity: usize) {
        self.purge(now);
        self.capacity = capacity;
        while self.entries.len() > capacity {
            self.entries.remove(0);
            self.m.evictions += 1;
        }
    }

    fn get_or_insert(&mut self, now: u64, key: u64, ttl: Option<u64>, value: u64) -> u64 {
        if let Some(live) = self.get(now, key) {
            return live;
        }
        self.put(now, key, value, ttl);
        value
    }
}

#[test]
fn matches_the_sequential_model_on_random_histories() {
    for seed in 0..200 {
        let mut rng = Rng::new(seed);
        let capacity = 1 + rng.below(6) as usize;
        let default_ttl = [None, Some(3), Some(20)][rng.below(3) as usize];
        let clock = ManualClock::new(T0);
        let c = ReferenceCache::new(CacheConfig { capacity, default_ttl: default_ttl.map(ns) }, clock.clock());
        let mut model = Model { capacity, default_ttl, entries: Vec::new(), m: CacheMetrics::default() };
        for step in 0..400 {
            if rng.below(4) == 0 {
                clock.advance(ns(rng.below(5)));
            }
            let now = clock.clock().now();
            let key = rng.below(10);
            let ttl = [None, None, Some(1), Some(2), Some(5), Some(12), Some(50)][rng.below(7) as usize];
            let at = format!("seed {seed}, step {step}, key {key}");
            match rng.below(20) {
                0..=5 => assert_eq!(c.get(key), model.get(now, key), "get, {at}"),
                6..=10 => assert_eq!(c.put(key, step, ttl.map(ns)), model.put(now, key, step, ttl), "put, {at}"),
                11 => assert_eq!(c.peek(key), model.peek(now, key), "peek, {at}"),
                12 => assert_eq!(c.contains(key), model.peek(now, key).is_some(), "contains, {at}"),
                13 => assert_eq!(c.remove(key), model.remove(now, key), "remove, {at}"),
                14 | 15 => {
                    let got = c.get_or_insert_with(key, ttl.map(ns), &mut || step);
                    assert_eq!(got, model.get_or_insert(now, key, ttl, step), "get_or_insert_with, {at}");
                }
                16 => {
                    model.purge(now);
                    assert_eq!(c.len(), model.entries.len(), "len, {at}");
                    // After a purge the resident entries are exactly the live ones, in order.
                    let expected: Vec<u64> = model.entries.iter().rev().map(|e| e.0).collect();
                    assert_eq!(order(&c), expected, "order, {at}");
                }
                17 => {
                    model.purge(now);
                    assert_eq!(c.metrics(), model.m, "metrics, {at}");
                }
                18 => {
                    let capacity = 1 + rng.below(6) as usize;
                    c.resize(capacity);
                    model.resize(now, capacity);
                }
                _ => {
                    if rng.below(5) == 0 {
                        c.clear();
                        model.purge(now);
                        model.entries.clear();
                    }
                }
            }
        }
        let now = clock.clock().now();
        model.purge(now);
        assert_eq!(c.metrics(), model.m, "final metrics, seed {seed}");
        assert_eq!(c.inspect(|s| s.flights()), 0);
    }
}
