//! The trait's conventions one by one, through the public trait on a `ManualClock`, on both
//! sides of every boundary (`t - 1ns`, `t`): recency and capacity, then time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use challenge_harness::{CacheConfig, LruCache};

use super::support::*;
use crate::ReferenceCache;

// ---- recency and capacity ------------------------------------------------------------------

#[test]
fn get_promotes_and_the_least_recently_used_is_evicted() {
    let (_, c) = cache(3, None);
    for k in [1, 2, 3] {
        assert_eq!(c.put(k, k * 10, None), None);
    }
    assert_eq!(c.get(1), Some(10));
    assert_eq!(c.put(4, 40, None), None);
    assert_eq!(c.get(2), None, "2 was the least recently used");
    assert_eq!(order(&c), [4, 1, 3]);
    assert_eq!(c.len(), 3);
    assert_eq!(c.metrics(), metrics(1, 1, 4, 0, 1, 0));
}

#[test]
fn put_on_a_live_key_replaces_promotes_and_is_not_an_eviction() {
    let (_, c) = cache(2, None);
    c.put(1, 10, None);
    c.put(2, 20, None);
    assert_eq!(c.put(1, 11, None), Some(10));
    assert_eq!(order(&c), [1, 2]);
    c.put(3, 30, None);
    assert_eq!(c.peek(1), Some(11));
    assert!(!c.contains(2), "2, not the replaced 1, was the least recently used");
    assert_eq!(c.metrics(), metrics(0, 0, 3, 1, 1, 0));
}

#[test]
fn peek_and_contains_neither_promote_nor_count() {
    let (_, c) = cache(2, None);
    c.put(1, 10, None);
    c.put(2, 20, None);
    assert_eq!(c.peek(1), Some(10));
    assert!(c.contains(1));
    assert_eq!(c.peek(9), None);
    assert!(!c.contains(9));
    c.put(3, 30, None);
    assert!(!c.contains(1), "peek and contains did not save 1");
    assert_eq!(c.metrics(), metrics(0, 0, 3, 0, 1, 0));
}

#[test]
fn capacity_one() {
    let (_, c) = cache(1, None);
    c.put(1, 10, None);
    assert_eq!(c.put(1, 11, None), Some(10));
    c.put(2, 20, None);
    assert_eq!((c.get(1), c.get(2), c.len()), (None, Some(20), 1));
    assert_eq!(c.metrics(), metrics(1, 1, 2, 1, 1, 0));
}

#[test]
fn remove_returns_live_values_only_and_counts_nothing() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, None);
    c.put(2, 20, Some(SEC));
    assert_eq!(c.remove(1), Some(10));
    assert_eq!(c.remove(1), None);
    assert_eq!(c.remove(7), None);
    at(&clock, SEC);
    assert_eq!(c.remove(2), None, "expired");
    assert_eq!(c.len(), 0);
    assert_eq!(c.metrics(), metrics(0, 0, 2, 0, 0, 1));
    // Removing frees room: no eviction for the next inserts.
    for k in 0..4 {
        c.put(k, k, None);
    }
    assert_eq!(c.metrics().evictions, 0);
}

#[test]
fn resize_shrinks_in_lru_order_and_grows() {
    let (_, c) = cache(10, None);
    for k in 0..10 {
        c.put(k, k, None);
    }
    c.get(0);
    c.resize(3);
    assert_eq!(order(&c), [0, 9, 8]);
    assert_eq!(c.metrics().evictions, 7);
    c.resize(5);
    c.put(20, 0, None);
    c.put(21, 0, None);
    assert_eq!(c.len(), 5);
    assert_eq!(c.metrics().evictions, 7, "growing made room");
    c.put(22, 0, None);
    assert_eq!(c.metrics().evictions, 8);
}

#[test]
fn clear_keeps_the_counters() {
    let (_, c) = cache(4, None);
    c.put(1, 10, None);
    c.get(1);
    c.get(2);
    c.clear();
    assert_eq!(c.len(), 0);
    assert_eq!(c.get(1), None);
    assert_eq!(c.metrics(), metrics(1, 2, 1, 0, 0, 0));
    // Usable afterwards, with its full capacity.
    for k in 0..4 {
        c.put(k, k, None);
    }
    assert_eq!((c.len(), c.metrics().evictions), (4, 0));
}

// ---- time ----------------------------------------------------------------------------------

#[test]
fn ttl_is_exact_to_the_nanosecond() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, Some(10 * SEC));
    at(&clock, 10 * SEC - ns(1));
    assert_eq!(c.get(1), Some(10));
    assert_eq!(c.len(), 1);
    at(&clock, 10 * SEC);
    assert_eq!(c.peek(1), None);
    assert!(!c.contains(1));
    assert_eq!(c.get(1), None);
    assert_eq!(c.len(), 0);
    assert_eq!(c.metrics(), metrics(1, 1, 1, 0, 0, 1));
}

#[test]
fn a_put_restarts_the_ttl_and_a_get_does_not() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, Some(10 * SEC));
    at(&clock, 5 * SEC);
    assert_eq!(c.get(1), Some(10));
    at(&clock, 9 * SEC);
    assert_eq!(c.put(1, 11, Some(10 * SEC)), Some(10));
    at(&clock, 19 * SEC - ns(1));
    assert_eq!(c.get(1), Some(11));
    at(&clock, 19 * SEC);
    assert_eq!(c.get(1), None);
    assert_eq!(c.metrics(), metrics(2, 1, 1, 1, 0, 1));
}

#[test]
fn a_put_may_drop_or_change_the_ttl() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, Some(SEC));
    c.put(1, 11, None);
    c.put(2, 20, None);
    c.put(2, 21, Some(SEC));
    at(&clock, 100 * SEC);
    assert_eq!((c.get(1), c.get(2)), (Some(11), None));
    assert_eq!(c.metrics(), metrics(1, 1, 2, 2, 0, 1));
}

#[test]
fn put_on_an_expired_key_is_an_insert_not_a_replacement() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, Some(SEC));
    at(&clock, SEC);
    assert_eq!(c.put(1, 11, None), None);
    assert_eq!(c.get(1), Some(11));
    assert_eq!(c.metrics(), metrics(1, 0, 2, 0, 0, 1));
}

#[test]
fn default_ttl_applies_to_puts_without_one() {
    let (clock, c) = cache(4, Some(SEC));
    c.put(1, 10, None);
    c.put(2, 20, Some(3 * SEC));
    // A zero TTL is what the FFI sends for "none given": the default applies.
    c.put(3, 30, Some(Duration::ZERO));
    at(&clock, SEC - ns(1));
    assert_eq!(c.len(), 3);
    at(&clock, SEC);
    assert_eq!((c.peek(1), c.peek(2), c.peek(3)), (None, Some(20), None));
    assert_eq!(c.get_or_insert_with(4, None, &mut || 40), 40);
    at(&clock, 2 * SEC);
    assert_eq!(c.peek(4), None, "the loaded entry took the default TTL too");
    assert_eq!(c.metrics().expirations, 3);
}

#[test]
fn expired_entries_never_push_out_live_ones() {
    let (clock, c) = cache(2, None);
    c.put(1, 10, Some(SEC));
    c.put(2, 20, None);
    at(&clock, 2 * SEC);
    // 1 is the least recently used *resident* entry but it is expired: it goes, 2 stays.
    c.put(3, 30, None);
    assert_eq!((c.peek(2), c.peek(3), c.len()), (Some(20), Some(30), 2));
    assert_eq!(c.metrics(), metrics(0, 0, 3, 0, 0, 1));
}

#[test]
fn an_insert_at_capacity_drops_every_expired_entry_before_evicting() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, None);
    c.put(2, 20, Some(SEC));
    c.put(3, 30, Some(2 * SEC));
    c.put(4, 40, Some(SEC));
    at(&clock, SEC);
    c.put(5, 50, None);
    c.put(6, 60, None);
    assert_eq!(c.len(), 4);
    assert_eq!(order(&c), [6, 5, 3, 1]);
    assert_eq!(c.metrics(), metrics(0, 0, 6, 0, 0, 2));
    at(&clock, 2 * SEC);
    c.put(7, 70, None);
    c.put(8, 80, None);
    assert_eq!(order(&c), [8, 7, 6, 5], "3 expired, then the LRU live entry 1 was evicted");
    assert_eq!(c.metrics(), metrics(0, 0, 8, 0, 1, 3));
}

#[test]
fn expirations_are_counted_as_of_the_metrics_call() {
    let (clock, c) = cache(8, None);
    c.put(1, 0, Some(SEC));
    c.put(2, 0, Some(SEC));
    c.put(3, 0, Some(2 * SEC));
    c.put(4, 0, Some(SEC)); // removed before it expires: not an expiration
    c.put(5, 0, Some(SEC)); // replaced without a TTL: never expires
    c.remove(4);
    c.put(5, 1, None);
    at(&clock, SEC - ns(1));
    assert_eq!(c.metrics().expirations, 0);
    at(&clock, SEC);
    // Nothing has looked at 1 or 2 since; they expired all the same.
    assert_eq!(c.metrics().expirations, 2);
    assert_eq!(c.metrics().expirations, 2, "each counted once");
    at(&clock, 5 * SEC);
    assert_eq!(c.metrics(), metrics(0, 0, 5, 1, 0, 3));
    assert_eq!(c.len(), 1);
}

#[test]
fn entries_evicted_or_cleared_before_their_expiry_are_not_expirations() {
    let (clock, c) = cache(1, None);
    c.put(1, 0, Some(SEC));
    c.put(2, 0, Some(SEC)); // evicts 1
    c.clear(); // clears 2
    at(&clock, 5 * SEC);
    assert_eq!(c.metrics(), metrics(0, 0, 2, 0, 1, 0));
}

#[test]
fn clear_and_resize_count_what_had_already_expired() {
    let (clock, c) = cache(4, None);
    c.put(1, 0, Some(SEC));
    c.put(2, 0, None);
    at(&clock, SEC);
    c.clear();
    assert_eq!(c.metrics().expirations, 1, "1 expired before the clear");

    c.put(1, 0, None);
    c.put(2, 0, Some(SEC));
    c.put(3, 0, None);
    c.put(4, 0, Some(SEC));
    at(&clock, 2 * SEC);
    c.resize(1);
    assert_eq!(order(&c), [3]);
    assert_eq!(c.metrics(), metrics(0, 0, 6, 0, 1, 3), "two expired, then one live entry evicted");
}

#[test]
fn get_or_insert_with_respects_the_ttl() {
    let (clock, c) = cache(4, None);
    assert_eq!(c.get_or_insert_with(1, Some(SEC), &mut || 10), 10);
    at(&clock, SEC - ns(1));
    assert_eq!(c.get_or_insert_with(1, Some(SEC), &mut || unreachable!()), 10);
    at(&clock, SEC);
    assert_eq!(c.get_or_insert_with(1, Some(SEC), &mut || 11), 11);
    assert_eq!(c.metrics(), metrics(1, 2, 2, 0, 0, 1));
}

#[test]
fn extreme_ttls() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, Some(Duration::MAX));
    c.put(2, 20, Some(ns(u64::MAX - T0)));
    c.put(3, 30, Some(ns(1)));
    at(&clock, ns(1));
    assert_eq!((c.peek(1), c.peek(2), c.peek(3)), (Some(10), Some(20), None));
    clock.set(u64::MAX - 1);
    assert_eq!((c.peek(1), c.peek(2)), (Some(10), Some(20)));
}

#[test]
fn a_clock_stepping_back_revives_nothing() {
    let (clock, c) = cache(4, None);
    c.put(1, 10, Some(SEC));
    at(&clock, SEC);
    assert_eq!(c.get(1), None);
    at(&clock, Duration::ZERO);
    assert_eq!(c.get(1), None);
    // New expiries start from the latest time seen.
    c.put(2, 20, Some(SEC));
    at(&clock, 2 * SEC - ns(1));
    assert_eq!(c.get(2), Some(20));
    at(&clock, 2 * SEC);
    assert_eq!(c.get(2), None);
}

#[test]
fn the_expiry_heap_stays_bounded() {
    let (clock, c) = cache(4, None);
    for i in 0..10_000 {
        // Replaced again and again, at the same instant and at later ones.
        c.put(1, i, Some(SEC));
        c.put(2, i, Some(SEC));
        if i % 3 == 0 {
            clock.advance(ns(1));
        }
        // Freed and reused with the same expiry at the same instant.
        c.put(3, i, Some(SEC));
        c.remove(3);
    }
    assert!(c.inspect(|s| s.expiry_records()) <= 2 * 3 + 64 + 1);
}

/// A clock that counts how often it is read: the grader's is an FFI call.
fn counting_cache(default_ttl: Option<Duration>) -> (&'static AtomicU64, ReferenceCache) {
    use challenge_harness::ffi::{HostApi, Str};
    use challenge_harness::Clock;
    use core::ffi::c_void;

    extern "C" fn now(ctx: *mut c_void) -> u64 {
        // SAFETY: ctx is the leaked AtomicU64 below.
        unsafe { &*(ctx as *const AtomicU64) }.fetch_add(1, Ordering::SeqCst);
        T0
    }
    extern "C" fn report_panic(_: *mut c_void, _: Str) {}
    let reads: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    let host: &'static HostApi =
        Box::leak(Box::new(HostApi { ctx: reads as *const AtomicU64 as *mut c_void, now_nanos: now, report_panic }));
    (reads, ReferenceCache::new(CacheConfig { capacity: 4, default_ttl }, Clock::from_host(host)))
}

#[test]
fn without_ttls_the_clock_is_never_read() {
    let (reads, c) = counting_cache(None);
    for k in 0..10 {
        c.put(k, k, None);
        c.get(k);
        c.get(k + 100);
        c.peek(k);
        c.contains(k);
        c.get_or_insert_with(k + 1000, None, &mut || 1);
    }
    c.remove(9);
    c.len();
    c.metrics();
    c.resize(2);
    c.clear();
    assert_eq!(reads.load(Ordering::SeqCst), 0);
    c.put(1, 1, Some(SEC));
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    c.get(1);
    c.get(2); // absent: no expiry to check
    assert_eq!(reads.load(Ordering::SeqCst), 2, "one read per call, and only when an entry has a TTL");

    let (reads, c) = counting_cache(Some(SEC));
    c.put(1, 1, None);
    assert_eq!(reads.load(Ordering::SeqCst), 1, "a default TTL stamps every put");
}
