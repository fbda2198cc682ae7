//! Lending and returning on one thread: LIFO reuse, room, broken and panicking returns, close.

use challenge_harness::{ConnectionPool, PoolError};

use super::support::*;

#[test]
fn idle_connections_are_reused_most_recently_returned_first() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(3), &backend);
    let (a, b, c) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    let ids = [a.id(), b.id(), c.id()];
    assert_eq!(ids, [1, 2, 3]);
    expect(&pool, Expect { open: 3, in_use: 3, created: 3, ..Expect::default() });
    // Returned in the order b, a, c: lent back c, a, b.
    drop(b);
    drop(a);
    drop(c);
    assert_eq!(pool.idle_ids(), [3, 1, 2]);
    expect(&pool, Expect { open: 3, idle: 3, created: 3, ..Expect::default() });
    let again: Vec<_> = (0..3).map(|_| pool.acquire(None).unwrap()).collect();
    assert_eq!(again.iter().map(|g| g.id()).collect::<Vec<_>>(), [3, 1, 2]);
    assert_eq!(backend.opens(), 3, "nothing new was opened");
}

#[test]
fn a_connection_is_opened_only_when_nothing_is_idle() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(2), &backend);
    for _ in 0..5 {
        let conn = pool.acquire(None).unwrap();
        assert_eq!(conn.id(), 1);
    }
    expect(&pool, Expect { open: 1, idle: 1, created: 1, ..Expect::default() });
}

#[test]
fn a_full_pool_times_out_without_opening_more() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(2), &backend);
    let _held = [pool.acquire(None).unwrap(), pool.acquire(None).unwrap()];
    assert_eq!(pool.acquire(Some(ms(20))).unwrap_err(), PoolError::Timeout);
    assert_eq!(pool.acquire(Some(ns(0))).unwrap_err(), PoolError::Timeout);
    expect(&pool, Expect { open: 2, in_use: 2, created: 2, timeouts: 2, ..Expect::default() });
    assert_eq!(backend.peak(), 2);
}

#[test]
fn a_broken_connection_is_closed_on_return_and_its_room_reused() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(1), &backend);
    let conn = pool.acquire(None).unwrap();
    backend.break_conn(conn.id());
    drop(conn);
    assert!(!backend.is_alive(1));
    expect(&pool, Expect { created: 1, broken: 1, ..Expect::default() });
    assert_eq!(pool.acquire(None).unwrap().id(), 2);
    expect(&pool, Expect { open: 1, idle: 1, created: 2, broken: 1, ..Expect::default() });
}

#[test]
fn a_connection_returned_by_a_panicking_borrower_is_closed_as_broken() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(2), &backend);
    let conn = pool.acquire(None).unwrap();
    // `resume_unwind` unwinds without running the panic hook, so the test prints nothing.
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _held = conn;
        std::panic::resume_unwind(Box::new("the borrower's code failed"));
    }));
    assert!(unwound.is_err());
    assert_eq!(backend.alive(), 0);
    expect(&pool, Expect { created: 1, broken: 1, ..Expect::default() });
}

#[test]
fn close_closes_idle_at_once_lent_on_return_and_refuses_later_acquires() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(3), &backend);
    let (a, b, c) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    drop(a);
    drop(b);
    pool.close();
    assert_eq!(backend.alive(), 1, "the two idle ones closed at once");
    expect(&pool, Expect { open: 1, in_use: 1, created: 3, shutdown: 2, ..Expect::default() });
    assert_eq!(pool.acquire(None).unwrap_err(), PoolError::Closed);
    drop(c);
    assert_eq!(backend.alive(), 0);
    pool.close();
    expect(&pool, Expect { created: 3, shutdown: 3, ..Expect::default() });
    assert_eq!(pool.acquire(Some(ns(0))).unwrap_err(), PoolError::Closed);
}

#[test]
fn a_guard_outlives_its_pool_and_closes_on_return() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(2), &backend);
    let idle = pool.acquire(None).unwrap();
    let lent = pool.acquire(None).unwrap();
    drop(idle);
    drop(pool);
    assert_eq!(backend.alive(), 1);
    assert_eq!(lent.id(), 2);
    drop(lent);
    assert_eq!((backend.alive(), backend.closes()), (0, 2));
}

#[test]
fn after_close_a_returned_connection_is_closed_as_shutdown_whatever_its_state() {
    let backend = TestBackend::new();
    let (_, pool) = pool(config(2), &backend);
    let (a, b) = (pool.acquire(None).unwrap(), pool.acquire(None).unwrap());
    pool.close();
    backend.break_conn(a.id());
    drop(a);
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _held = b;
        std::panic::resume_unwind(Box::new("mid-transaction"));
    }));
    assert!(unwound.is_err());
    expect(&pool, Expect { created: 2, shutdown: 2, ..Expect::default() });
    assert_eq!(backend.alive(), 0);
}
