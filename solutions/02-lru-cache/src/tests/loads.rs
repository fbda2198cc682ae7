//! `get_or_insert_with`, and the cache under threads: one load per key, loaders that panic,
//! linearizable effects, counters that add up; and the exported table around a failing loader.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use challenge_harness::LruCache;

use super::support::*;

// ---- get_or_insert_with --------------------------------------------------------------------

#[test]
fn get_or_insert_with_loads_on_a_miss_only() {
    let (_, c) = cache(4, None);
    let mut calls = 0;
    assert_eq!(
        c.get_or_insert_with(1, None, &mut || {
            calls += 1;
            10
        }),
        10
    );
    assert_eq!(c.get_or_insert_with(1, None, &mut || unreachable!("a hit does not load")), 10);
    assert_eq!(calls, 1);
    assert_eq!(c.metrics(), metrics(1, 1, 1, 0, 0, 0));
    assert_eq!(order(&c), [1]);
}

#[test]
fn get_or_insert_with_promotes_on_a_hit() {
    let (_, c) = cache(2, None);
    c.put(1, 10, None);
    c.put(2, 20, None);
    assert_eq!(c.get_or_insert_with(1, None, &mut || unreachable!()), 10);
    c.put(3, 30, None);
    assert_eq!((c.contains(1), c.contains(2)), (true, false));
}

#[test]
fn loader_runs_once_under_contention() {
    const THREADS: usize = 8;
    let (_, c) = cache(16, None);
    let calls = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS);
    let results: Vec<u64> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    c.get_or_insert_with(42, None, &mut || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(50));
                        4242
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(results.iter().all(|&v| v == 4242));
    assert_eq!(c.metrics(), metrics(THREADS as u64 - 1, 1, 1, 0, 0, 0));
    assert_eq!(c.inspect(|s| s.flights()), 0);
}

#[test]
fn callers_for_other_keys_never_wait_for_a_loader() {
    let (_, c) = cache(16, None);
    let (release, released) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let c = &c;
        let slow = s.spawn(move || {
            c.get_or_insert_with(1, None, &mut || {
                released.recv_timeout(Duration::from_secs(20)).expect("released");
                10
            })
        });
        while c.inspect(|s| s.flights()) == 0 {
            thread::yield_now();
        }
        // Key 1 is loading; everything else goes ahead.
        let started = Instant::now();
        assert_eq!(c.get_or_insert_with(2, None, &mut || 20), 20);
        assert_eq!(c.put(3, 30, None), None);
        assert_eq!(c.get(3), Some(30));
        assert_eq!(c.get(1), None, "key 1 is not there until its loader returns");
        assert_eq!(c.len(), 2);
        c.metrics();
        assert!(started.elapsed() < Duration::from_secs(5));
        release.send(()).unwrap();
        assert_eq!(slow.join().unwrap(), 10);
    });
    assert_eq!(c.get(1), Some(10));
}

#[test]
fn a_panicking_loader_leaves_the_key_absent_and_the_cache_usable() {
    let (_, c) = cache(4, None);
    c.put(7, 70, None);
    let outcome = catch_unwind(AssertUnwindSafe(|| c.get_or_insert_with(1, None, &mut || panic!("loader failed"))));
    let payload = outcome.expect_err("the loader's panic reaches the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"loader failed"));
    assert!(!c.contains(1));
    assert_eq!(c.inspect(|s| s.flights()), 0);
    assert_eq!(c.metrics(), metrics(0, 1, 1, 0, 0, 0), "one miss, no insert");
    // Nothing is locked: every call works, and the next caller for the key loads it.
    assert_eq!(c.get(7), Some(70));
    assert_eq!(c.get_or_insert_with(1, None, &mut || 10), 10);
    assert_eq!(c.metrics(), metrics(1, 2, 2, 0, 0, 0));
}

#[test]
fn a_panicking_loader_wakes_its_waiters_and_one_of_them_loads() {
    const WAITERS: u64 = 3;
    let (_, c) = cache(4, None);
    let calls = AtomicUsize::new(0);
    let (release, released) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let c = &c;
        let first = s.spawn(move || {
            catch_unwind(AssertUnwindSafe(|| {
                c.get_or_insert_with(1, None, &mut || {
                    released.recv_timeout(Duration::from_secs(20)).expect("released");
                    panic!("first loader failed")
                })
            }))
        });
        while c.inspect(|s| s.flights()) == 0 {
            thread::yield_now();
        }
        let waiters: Vec<_> = (0..WAITERS)
            .map(|_| {
                s.spawn(|| {
                    c.get_or_insert_with(1, None, &mut || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(20));
                        77
                    })
                })
            })
            .collect();
        while c.inspect(|s| s.waiters()) < WAITERS {
            thread::yield_now();
        }
        release.send(()).unwrap();
        assert!(first.join().unwrap().is_err());
        for w in waiters {
            assert_eq!(w.join().unwrap(), 77);
        }
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1, "exactly one waiter ran its own loader");
    // The panicking call's miss, the new loader's miss and insert, the other waiters' hits.
    assert_eq!(c.metrics(), metrics(WAITERS - 1, 2, 1, 0, 0, 0));
    assert_eq!(c.inspect(|s| s.flights()), 0);
}

#[test]
fn a_put_during_the_load_wins_and_the_call_is_a_hit() {
    let (_, c) = cache(4, None);
    // The loader runs outside the lock, so it may even call the cache itself.
    let got = c.get_or_insert_with(1, None, &mut || {
        assert_eq!(c.put(1, 99, None), None);
        5
    });
    assert_eq!(got, 99, "the call takes effect after the put, as a hit on its value");
    assert_eq!(c.get(1), Some(99));
    assert_eq!(c.metrics(), metrics(2, 0, 1, 0, 0, 0));
}

// ---- concurrency ---------------------------------------------------------------------------

#[test]
fn threads_on_disjoint_keys_read_their_own_writes() {
    const THREADS: u64 = 8;
    let (_, c) = cache(THREADS as usize * 64, None);
    thread::scope(|s| {
        for t in 0..THREADS {
            let c = &c;
            s.spawn(move || {
                for k in t * 64..(t + 1) * 64 {
                    assert_eq!(c.put(k, k * 3, None), None);
                    assert_eq!(c.get(k), Some(k * 3));
                    if k % 4 == 0 {
                        assert_eq!(c.remove(k), Some(k * 3));
                    }
                }
            });
        }
    });
    assert_eq!(c.len(), THREADS as usize * 48);
    assert_eq!(c.metrics(), metrics(THREADS * 64, 0, THREADS * 64, 0, 0, 0));
}

/// Random calls from several threads with a moving clock; afterwards every counter must add up:
/// one hit or miss per read, and every insert accounted for by an eviction, an expiration, a
/// removal or an entry still there.
#[test]
fn metrics_add_up_under_contention() {
    const THREADS: u64 = 4;
    const CAPACITY: usize = 16;
    for with_ttl in [false, true] {
        let (clock, c) = cache(CAPACITY, None);
        let reads = AtomicU64::new(0);
        let removed = AtomicU64::new(0);
        let loads = AtomicU64::new(0);
        let over_capacity = AtomicU64::new(0);
        thread::scope(|s| {
            for t in 0..THREADS {
                let (c, clock, reads, removed, loads, over) = (&c, &clock, &reads, &removed, &loads, &over_capacity);
                s.spawn(move || {
                    let mut rng = Rng::new(t + 1);
                    for _ in 0..20_000 {
                        let key = rng.below(48);
                        let ttl = (with_ttl && rng.below(2) == 0).then(|| ns(1 + rng.below(200)));
                        match rng.below(10) {
                            0..=3 => {
                                c.get(key);
                                reads.fetch_add(1, Ordering::Relaxed);
                            }
                            4..=6 => {
                                c.put(key, key, ttl);
                            }
                            7 => {
                                removed.fetch_add(u64::from(c.remove(key).is_some()), Ordering::Relaxed);
                            }
                            8 => {
                                c.get_or_insert_with(key, ttl, &mut || {
                                    loads.fetch_add(1, Ordering::Relaxed);
                                    key
                                });
                                reads.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {
                                if c.len() > CAPACITY {
                                    over.fetch_add(1, Ordering::Relaxed);
                                }
                                if with_ttl {
                                    clock.advance(ns(rng.below(20)));
                                }
                            }
                        }
                    }
                });
            }
        });
        let m = c.metrics();
        let len = c.len() as u64;
        assert_eq!(over_capacity.load(Ordering::Relaxed), 0);
        assert_eq!(m.hits + m.misses, reads.load(Ordering::Relaxed), "{m:?}");
        assert_eq!(m.inserts, m.evictions + m.expirations + removed.load(Ordering::Relaxed) + len, "{m:?}");
        assert!(m.inserts >= loads.load(Ordering::Relaxed));
        assert_eq!(m.expirations > 0, with_ttl, "{m:?}");
        assert_eq!(c.inspect(|s| s.flights()), 0);
    }
}

// ---- the exported table --------------------------------------------------------------------

#[test]
fn exported_table_round_trip_with_a_failing_host_loader() {
    use challenge_harness::ffi::{
        CacheConfigC, CacheMetricsC, HostApi, LoaderC, OptionU64C, Status, Str, STATUS_LOADER_PANICKED, STATUS_OK,
    };
    use core::ffi::c_void;

    extern "C" fn now(ctx: *mut c_void) -> u64 {
        // SAFETY: ctx is the leaked AtomicU64 below.
        unsafe { &*(ctx as *const AtomicU64) }.load(Ordering::SeqCst)
    }
    extern "C" fn report_panic(_: *mut c_void, _: Str) {}
    extern "C" fn failing(_: *mut c_void, _: u64, _: *mut u64) -> Status {
        1
    }
    extern "C" fn loader(_: *mut c_void, key: u64, out: *mut u64) -> Status {
        // SAFETY: the shim passes a valid out-param.
        unsafe { out.write(key + 1) };
        STATUS_OK
    }

    let time: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(T0)));
    let host: &'static HostApi =
        Box::leak(Box::new(HostApi { ctx: time as *const AtomicU64 as *mut c_void, now_nanos: now, report_panic }));
    let table = crate::challenge_lru_cache_v1();
    let mut this = core::ptr::null_mut();
    assert_eq!((table.create)(host, CacheConfigC { capacity: 2, default_ttl_nanos: 0 }, &mut this), STATUS_OK);
    let mut out = OptionU64C::default();
    assert_eq!((table.put)(host, this, 1, 10, 1_000, &mut out), STATUS_OK);
    assert_eq!((table.get)(host, this, 1, &mut out), STATUS_OK);
    assert_eq!(out, OptionU64C { present: true, value: 10 });
    let mut value = 0;
    let failing = LoaderC { ctx: core::ptr::null_mut(), load: failing };
    assert_eq!((table.get_or_insert_with)(host, this, 2, 0, failing, &mut value), STATUS_LOADER_PANICKED);
    let mut present = true;
    assert_eq!((table.contains)(host, this, 2, &mut present), STATUS_OK);
    assert!(!present);
    let good = LoaderC { ctx: core::ptr::null_mut(), load: loader };
    assert_eq!((table.get_or_insert_with)(host, this, 2, 0, good, &mut value), STATUS_OK);
    assert_eq!(value, 3);
    time.fetch_add(1_000, Ordering::SeqCst);
    let mut m = CacheMetricsC::default();
    assert_eq!((table.metrics)(host, this, &mut m), STATUS_OK);
    assert_eq!(m, CacheMetricsC { hits: 1, misses: 2, inserts: 2, replacements: 0, evictions: 0, expirations: 1 });
    assert_eq!((table.destroy)(host, this), STATUS_OK);
}
