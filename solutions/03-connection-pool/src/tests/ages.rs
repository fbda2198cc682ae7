//! Virtual time: `max_lifetime` on checkout, on return and in `maintain`; idle reaping down to
//! `min_idle`, longest idle first; the `min_idle` top-up. Each boundary on both sides
//! (`t - 1ns`, `t`).

use challenge_harness::{ConnectionPool, PoolConfig};

use super::support::*;

fn aged(max_size: usize, min_idle: usize, idle: Option<u64>, lifetime: Option<u64>) -> PoolConfig {
    PoolConfig {
        min_idle,
        idle_timeout: idle.map(|s| SEC * s as u32),
        max_lifetime: lifetime.map(|s| SEC * s as u32),
        ..config(max_size)
    }
}

#[test]
fn a_connection_past_max_lifetime_is_closed_on_checkout_and_another_opened() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(2, 0, None, Some(10)), &backend);
    drop(pool.acquire(None).unwrap());
    at(&clock, SEC * 10 - ns(1));
    assert_eq!(pool.acquire(None).unwrap().id(), 1, "1ns short of its lifetime: reused");
    at(&clock, SEC * 10);
    assert_eq!(pool.acquire(None).unwrap().id(), 2, "at its lifetime exactly: closed");
    assert!(!backend.is_alive(1));
    expect(&pool, Expect { open: 1, idle: 1, created: 2, lifetime: 1, ..Expect::default() });
}

#[test]
fn checkout_skips_every_expired_idle_connection() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(3, 0, None, Some(10)), &backend);
    let (a, b) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    at(&clock, SEC * 5);
    let c = pool.acquire(None).unwrap();
    drop(a);
    drop(b);
    drop(c);
    // Idle, most recent first: 3 (born at 5s), 2, 1 (born at 0). 3 is on top, so it is lent.
    at(&clock, SEC * 12);
    let first = pool.acquire(None).unwrap();
    assert_eq!(first.id(), 3);
    // Next on top are 2 and 1, both expired: both close, and a fourth opens in their room.
    let second = pool.acquire(None).unwrap();
    assert_eq!(second.id(), 4);
    expect(&pool, Expect { open: 2, in_use: 2, created: 4, lifetime: 2, ..Expect::default() });
    assert_eq!(backend.peak(), 3);
}

#[test]
fn a_connection_past_max_lifetime_is_closed_on_return() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(2, 0, None, Some(10)), &backend);
    let (a, b) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    at(&clock, SEC * 10 - ns(1));
    drop(a);
    at(&clock, SEC * 10);
    drop(b);
    assert_eq!(pool.idle_ids(), [1]);
    expect(&pool, Expect { open: 1, idle: 1, created: 2, lifetime: 1, ..Expect::default() });
}

#[test]
fn maintain_closes_idle_connections_past_max_lifetime_and_never_lent_ones() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(3, 0, None, Some(10)), &backend);
    let (a, b) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    at(&clock, SEC * 4);
    let c = pool.acquire(None).unwrap();
    drop(a);
    drop(c);
    at(&clock, SEC * 10);
    pool.maintain();
    assert_eq!(pool.idle_ids(), [3], "1 expired; 3 (born at 4s) stays");
    assert!(backend.is_alive(2), "lent, so maintain leaves it alone");
    expect(&pool, Expect { open: 2, idle: 1, in_use: 1, created: 3, lifetime: 1, ..Expect::default() });
    drop(b);
    expect(&pool, Expect { open: 1, idle: 1, created: 3, lifetime: 2, ..Expect::default() });
}

#[test]
fn maintain_reaps_idle_connections_longest_idle_first_down_to_min_idle() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(4, 1, Some(5), None), &backend);
    assert_eq!(backend.opens(), 1, "new opened min_idle");
    let conns: Vec<_> = (0..4).map(|_| pool.acquire(None).unwrap()).collect();
    // Returned one second apart: 1 at 0s, 2 at 1s, 3 at 2s, 4 at 3s.
    for (i, conn) in conns.into_iter().enumerate() {
        at(&clock, SEC * i as u32);
        drop(conn);
    }
    at(&clock, SEC * 6 - ns(1));
    pool.maintain();
    assert_eq!(pool.idle_ids(), [4, 3, 2], "1 idle 6s - 1ns: closed; 2 idle 5s - 1ns: kept");
    at(&clock, SEC * 6);
    pool.maintain();
    assert_eq!(pool.idle_ids(), [4, 3], "2 idle 5s exactly: closed");
    at(&clock, SEC * 100);
    pool.maintain();
    assert_eq!(pool.idle_ids(), [4], "all stale: down to min_idle, the most recently returned kept");
    expect(&pool, Expect { open: 1, idle: 1, created: 4, idle_closed: 3, ..Expect::default() });
}

#[test]
fn maintain_reaps_lifetime_before_idle_and_then_tops_up() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(3, 2, Some(5), Some(20)), &backend);
    assert_eq!(pool.idle_ids(), [2, 1]);
    at(&clock, SEC * 20);
    pool.maintain();
    // Both past their lifetime (not counted idle), then two new ones for min_idle.
    assert_eq!(pool.idle_ids(), [4, 3]);
    expect(&pool, Expect { open: 2, idle: 2, created: 4, lifetime: 2, ..Expect::default() });
    assert_eq!(backend.peak(), 2);
}

#[test]
fn min_idle_is_opened_by_new_and_topped_up_by_maintain_until_full() {
    let backend = TestBackend::new();
    let (_, pool) = pool(aged(3, 2, None, None), &backend);
    expect(&pool, Expect { open: 2, idle: 2, created: 2, ..Expect::default() });
    let (a, b) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    pool.maintain();
    expect(&pool, Expect { open: 3, idle: 1, in_use: 2, created: 3, ..Expect::default() });
    drop(a);
    drop(b);
    pool.maintain();
    expect(&pool, Expect { open: 3, idle: 3, created: 3, ..Expect::default() });
}

#[test]
fn the_top_up_stops_at_the_first_factory_failure() {
    let backend = TestBackend::new();
    backend.script(&[Open::Ok, Open::Fail, Open::Ok]);
    let (_, pool) = pool(aged(4, 3, None, None), &backend);
    expect(&pool, Expect { open: 1, idle: 1, created: 1, ..Expect::default() });
    pool.maintain();
    expect(&pool, Expect { open: 3, idle: 3, created: 3, ..Expect::default() });
    assert_eq!(backend.connect_timeouts(), vec![LONG; 4], "each top-up connect gets acquire_timeout");
}

#[test]
fn no_clock_means_no_reaping() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(2, 0, None, None), &backend);
    drop(pool.acquire(None).unwrap());
    at(&clock, SEC * 1_000_000);
    pool.maintain();
    assert_eq!(pool.acquire(None).unwrap().id(), 1);
}

#[test]
fn a_broken_connection_past_max_lifetime_is_closed_as_broken() {
    let backend = TestBackend::new();
    let (clock, pool) = pool(aged(1, 0, None, Some(10)), &backend);
    let conn = pool.acquire(None).unwrap();
    at(&clock, SEC * 10);
    backend.break_conn(conn.id());
    drop(conn);
    expect(&pool, Expect { created: 1, broken: 1, ..Expect::default() });
}
