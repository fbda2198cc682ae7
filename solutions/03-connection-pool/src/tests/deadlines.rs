//! One real-time deadline per `acquire`: a hanging connect or ping gets what is left of it, a
//! factory timeout is a `Timeout`, and `test_on_checkout` closes what fails its ping.

use std::thread;
use std::time::Instant;

use challenge_harness::{ConnectionPool, PoolConfig, PoolError};

use super::support::*;

fn tested(max_size: usize) -> PoolConfig {
    PoolConfig { test_on_checkout: true, ..config(max_size) }
}

#[test]
fn a_hanging_connect_times_out_at_the_deadline() {
    let backend = TestBackend::new();
    backend.script(&[Open::Hang]);
    let (_, pool) = pool(config(1), &backend);
    let start = Instant::now();
    assert_eq!(pool.acquire(Some(ms(80))).unwrap_err(), PoolError::Timeout);
    let took = start.elapsed();
    assert!(took >= ms(80) && took < ms(800), "took {took:?}");
    assert_eq!(backend.connect_timeouts(), [ms(80)]);
    expect(&pool, Expect { timeouts: 1, ..Expect::default() });
    assert_eq!(pool.acquire(None).unwrap().id(), 1, "its room was freed");
}

#[test]
fn a_waiter_granted_room_connects_with_what_is_left_of_its_deadline() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    thread::scope(|s| {
        let held = pool.acquire(None).unwrap();
        let start = Instant::now();
        let waiter = s.spawn(|| pool.acquire(Some(ms(300))).map(|conn| conn.id()));
        until_waiting(&pool, 1);
        thread::sleep(ms(100));
        backend.script(&[Open::Hang]);
        backend.break_conn(held.id());
        drop(held);
        assert_eq!(waiter.join().unwrap(), Err(PoolError::Timeout));
        let took = start.elapsed();
        assert!(took >= ms(300) && took < ms(1_000), "one deadline for the whole call: took {took:?}");
    });
    let given = backend.connect_timeouts()[1];
    assert!(given <= ms(200) && given > ms(50), "the connect got the time left, not a fresh timeout: {given:?}");
    expect(&pool, Expect { created: 1, broken: 1, timeouts: 1, ..Expect::default() });
}

#[test]
fn test_on_checkout_pings_with_the_time_left_and_closes_what_fails() {
    let backend = TestBackend::new();
    backend.script(&[Open::PingFails]);
    let (_, pool) = pool(tested(2), &backend);
    let (bad, good) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    drop(good);
    drop(bad);
    // 1 (fails its ping) is on top: closed as invalid, then 2 is pinged and lent.
    assert_eq!(pool.acquire(Some(ms(500))).unwrap().id(), 2);
    expect(&pool, Expect { open: 1, idle: 1, created: 2, invalid: 1, ..Expect::default() });
    let pings = backend.ping_timeouts();
    assert_eq!(pings.len(), 2);
    assert_eq!(pings[0], ms(500));
    assert!(pings[1] < ms(500), "the second ping got the time left: {:?}", pings[1]);
}

#[test]
fn a_failed_ping_with_nothing_idle_opens_a_new_connection_in_its_room() {
    let backend = TestBackend::new();
    backend.script(&[Open::PingFails]);
    let (_, pool) = pool(tested(1), &backend);
    drop(pool.acquire(None).unwrap());
    assert_eq!(pool.acquire(None).unwrap().id(), 2);
    expect(&pool, Expect { open: 1, idle: 1, created: 2, invalid: 1, ..Expect::default() });
    assert_eq!(backend.peak(), 1);
}

#[test]
fn a_hanging_ping_times_out_at_the_deadline_and_is_closed_as_invalid() {
    let backend = TestBackend::new();
    backend.script(&[Open::PingHangs]);
    let (_, pool) = pool(tested(1), &backend);
    drop(pool.acquire(None).unwrap());
    let start = Instant::now();
    assert_eq!(pool.acquire(Some(ms(80))).unwrap_err(), PoolError::Timeout);
    let took = start.elapsed();
    assert!(took >= ms(80) && took < ms(800), "took {took:?}");
    assert_eq!(backend.ping_timeouts(), [ms(80)]);
    expect(&pool, Expect { created: 1, invalid: 1, timeouts: 1, ..Expect::default() });
    assert_eq!(backend.alive(), 0);
}

#[test]
fn without_test_on_checkout_nothing_is_pinged() {
    let backend = TestBackend::new();
    backend.script(&[Open::PingFails]);
    let (_, pool) = pool(config(1), &backend);
    drop(pool.acquire(None).unwrap());
    assert_eq!(pool.acquire(None).unwrap().id(), 1);
    assert!(backend.ping_timeouts().is_empty());
}

#[test]
fn a_slow_connect_within_the_deadline_succeeds() {
    let backend = TestBackend::new();
    backend.script(&[Open::Slow(ms(30))]);
    let (_, pool) = pool(config(1), &backend);
    assert_eq!(pool.acquire(Some(ms(500))).unwrap().id(), 1);
    expect(&pool, Expect { open: 1, in_use: 0, idle: 1, created: 1, ..Expect::default() });
}
