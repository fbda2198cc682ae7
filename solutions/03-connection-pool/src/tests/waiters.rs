//! Blocked callers: served strictly first come, first served, with no barging; a timed-out
//! waiter's turn passes on; room freed by a broken return or a failed open goes to the longest
//! waiter; `close` releases them all. Threads are sequenced on `stats().waiting`.

use std::sync::Mutex;
use std::thread;

use challenge_harness::{ConnectionPool, PoolError};

use super::support::*;
use crate::ReferencePool;

/// Starts `n` waiters one after the other (each queued before the next starts); each records
/// its index and connection id once served, then returns the connection at once.
fn queue_up<'s>(
    scope: &'s thread::Scope<'s, '_>,
    pool: &'s ReferencePool,
    served: &'s Mutex<Vec<(usize, Result<u64, PoolError>)>>,
    n: usize,
) -> Vec<thread::ScopedJoinHandle<'s, ()>> {
    let already = pool.stats().waiting;
    (0..n)
        .map(|i| {
            let handle = scope.spawn(move || {
                let got = pool.acquire(Some(LONG));
                // Recorded while still holding the connection, so the order is the serving order.
                served.lock().unwrap().push((i, got.as_ref().map(|conn| conn.id()).map_err(Clone::clone)));
                drop(got);
            });
            until_waiting(pool, already + i as u64 + 1);
            handle
        })
        .collect()
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    let served = Mutex::new(Vec::new());
    thread::scope(|s| {
        let held = pool.acquire(None).unwrap();
        let handles = queue_up(s, &pool, &served, 5);
        drop(held);
        handles.into_iter().for_each(|h| h.join().unwrap());
    });
    let order: Vec<_> = served.into_inner().unwrap();
    assert_eq!(order, (0..5).map(|i| (i, Ok(1))).collect::<Vec<_>>());
    expect(&pool, Expect { open: 1, idle: 1, created: 1, ..Expect::default() });
}

#[test]
fn a_returned_connection_goes_to_the_waiter_not_to_a_newer_acquire() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    thread::scope(|s| {
        let held = pool.acquire(None).unwrap();
        let (tried, told) = std::sync::mpsc::channel::<()>();
        let shared = &pool;
        let waiter = s.spawn(move || {
            let conn = shared.acquire(Some(LONG));
            // Kept until the newer acquire below has tried.
            told.recv().unwrap();
            conn.map(|conn| conn.id())
        });
        until_waiting(&pool, 1);
        drop(held);
        // The waiter has not necessarily run yet, but the connection is already its own.
        assert_eq!(pool.acquire(Some(ns(0))).unwrap_err(), PoolError::Timeout);
        tried.send(()).unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(1));
    });
    expect(&pool, Expect { open: 1, idle: 1, created: 1, timeouts: 1, ..Expect::default() });
}

#[test]
fn a_waiter_that_times_out_leaves_and_its_turn_passes_on() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    thread::scope(|s| {
        let held = pool.acquire(None).unwrap();
        let impatient = s.spawn(|| pool.acquire(Some(ms(50))).map(|conn| conn.id()));
        until_waiting(&pool, 1);
        let patient = s.spawn(|| pool.acquire(Some(LONG)).map(|conn| conn.id()));
        until_waiting(&pool, 2);
        assert_eq!(impatient.join().unwrap(), Err(PoolError::Timeout));
        expect(&pool, Expect { open: 1, in_use: 1, waiting: 1, created: 1, timeouts: 1, ..Expect::default() });
        drop(held);
        assert_eq!(patient.join().unwrap(), Ok(1));
    });
    expect(&pool, Expect { open: 1, idle: 1, created: 1, timeouts: 1, ..Expect::default() });
}

#[test]
fn the_room_a_broken_return_frees_goes_to_the_longest_waiter() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    let served = Mutex::new(Vec::new());
    thread::scope(|s| {
        let held = pool.acquire(None).unwrap();
        let handles = queue_up(s, &pool, &served, 2);
        backend.break_conn(held.id());
        drop(held);
        handles.into_iter().for_each(|h| h.join().unwrap());
    });
    assert_eq!(served.into_inner().unwrap(), [(0, Ok(2)), (1, Ok(2))], "the first opened 2, then passed it on");
    expect(&pool, Expect { open: 1, idle: 1, created: 2, broken: 1, ..Expect::default() });
    assert_eq!(backend.peak(), 1, "1 was closed before 2 was opened");
}

#[test]
fn a_waiter_whose_open_fails_returns_the_error_and_the_next_waiter_tries() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    let served = Mutex::new(Vec::new());
    thread::scope(|s| {
        let held = pool.acquire(None).unwrap();
        let handles = queue_up(s, &pool, &served, 3);
        backend.script(&[Open::Fail, Open::Fail]);
        backend.break_conn(held.id());
        drop(held);
        handles.into_iter().for_each(|h| h.join().unwrap());
    });
    // Sorted: a refused waiter passes the room on before it records its own result.
    let mut served = served.into_inner().unwrap();
    served.sort_by_key(|(i, _)| *i);
    let refused = Err(PoolError::Factory("refused".to_owned()));
    assert_eq!(served, [(0, refused.clone()), (1, refused), (2, Ok(2))], "each in its turn");
    expect(&pool, Expect { open: 1, idle: 1, created: 2, broken: 1, ..Expect::default() });
}

#[test]
fn close_releases_every_waiter_with_closed() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    let served = Mutex::new(Vec::new());
    thread::scope(|s| {
        let held = pool.acquire(None).unwrap();
        let handles = queue_up(s, &pool, &served, 3);
        let start = std::time::Instant::now();
        pool.close();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert!(start.elapsed() < SEC, "promptly, not at their deadlines");
        expect(&pool, Expect { open: 1, in_use: 1, created: 1, ..Expect::default() });
        drop(held);
    });
    let mut served = served.into_inner().unwrap();
    served.sort_by_key(|(i, _)| *i);
    assert_eq!(served, (0..3).map(|i| (i, Err(PoolError::Closed))).collect::<Vec<_>>());
    expect(&pool, Expect { created: 1, shutdown: 1, ..Expect::default() });
    assert_eq!(backend.alive(), 0);
}

#[test]
fn a_factory_failure_returns_at_once_frees_its_room_and_the_pool_recovers() {
    let backend = TestBackend::new();
    backend.script(&[Open::Fail]);
    let (_, pool) = pool(config(1), &backend);
    assert_eq!(pool.acquire(None).unwrap_err(), PoolError::Factory("refused".to_owned()));
    expect(&pool, Expect::default());
    assert_eq!(pool.acquire(None).unwrap().id(), 1);
    expect(&pool, Expect { open: 1, idle: 1, created: 1, ..Expect::default() });
}

#[test]
fn maintain_hands_a_top_up_connection_to_a_waiter_first() {
    let backend = TestBackend::new();
    let cfg = challenge_harness::PoolConfig { min_idle: 1, ..config(2) };
    backend.script(&[Open::Ok, Open::Slow(ms(100))]);
    let (_, pool) = pool(cfg, &backend);
    let held = pool.acquire(None).unwrap();
    thread::scope(|s| {
        // maintain reserves the last room and opens slowly; meanwhile a caller must wait.
        let maintain = s.spawn(|| pool.maintain());
        until("the top-up connect", || backend.connect_timeouts().len() == 2);
        let waiter = s.spawn(|| pool.acquire(Some(LONG)).map(|conn| conn.id()));
        until_waiting(&pool, 1);
        maintain.join().unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(2));
    });
    drop(held);
    expect(&pool, Expect { open: 2, idle: 2, created: 2, ..Expect::default() });
}
