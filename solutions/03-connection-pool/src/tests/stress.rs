//! Many threads at once: the host's ledger (never more than `max_size` alive or being opened,
//! never one connection lent twice, nothing left open after close) and 10,000 waiters.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;

use challenge_harness::{ConnectionPool, PoolConfig, PoolError};

use super::support::*;

/// xorshift64*: deterministic, dependency-free choices per thread.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[test]
fn eight_threads_never_exceed_max_size_nor_share_a_connection_and_leak_nothing() {
    let backend = TestBackend::new();
    // Failures and slow opens, so room is freed and passed on along every path.
    let script: Vec<Open> =
        (0..40).map(|i| [Open::Ok, Open::Fail, Open::Slow(ms(1)), Open::Ok, Open::Hang][i % 5]).collect();
    backend.script(&script);
    let cfg = PoolConfig { acquire_timeout: ms(20), ..config(4) };
    let (_, pool) = pool(cfg, &backend);
    let lent = Mutex::new(HashSet::new());
    let (served, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    thread::scope(|s| {
        for t in 0..8 {
            let (pool, lent, backend, served, refused) = (&pool, &lent, &backend, &served, &refused);
            s.spawn(move || {
                let mut rng = Rng::new(t);
                for _ in 0..2_000 {
                    let conn = match pool.acquire(None) {
                        Ok(conn) => conn,
                        Err(PoolError::Timeout | PoolError::Factory(_)) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        Err(PoolError::Closed) => unreachable!("nobody closes it"),
                    };
                    assert!(lent.lock().unwrap().insert(conn.id()), "connection {} lent twice", conn.id());
                    assert!(backend.is_alive(conn.id()), "a closed connection was lent");
                    match rng.below(100) {
                        0 => backend.break_conn(conn.id()),
                        1..=4 => thread::yield_now(),
                        _ => {}
                    }
                    lent.lock().unwrap().remove(&conn.id());
                    served.fetch_add(1, Ordering::Relaxed);
                    drop(conn);
                }
            });
        }
    });
    assert_eq!(served.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed), 16_000);
    assert!(backend.peak() <= 4, "peak {} alive or being opened", backend.peak());
    let s = stats(&pool);
    assert_eq!((s.in_use, s.waiting), (0, 0));
    assert_eq!(s.created, backend.opens());
    assert_eq!(s.open as usize, backend.alive());
    pool.close();
    assert_eq!(backend.alive(), 0, "nothing left open after close");
    let s = stats(&pool);
    assert_eq!(s.open, 0);
    assert_eq!(backend.closes(), backend.opens());
}

#[test]
fn ten_thousand_waiters_on_three_connections_all_complete() {
    const THREADS: usize = 10_000;
    let backend = TestBackend::new();
    let (_, pool) = pool(config(3), &backend);
    let served = AtomicU64::new(0);
    thread::scope(|s| {
        let held: Vec<_> = (0..3).map(|_| pool.acquire(None).unwrap()).collect();
        for _ in 0..THREADS {
            let (pool, served) = (&pool, &served);
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(s, move || {
                    let conn = pool.acquire(Some(LONG)).expect("served before its deadline");
                    served.fetch_add(1, Ordering::Relaxed);
                    drop(conn);
                })
                .expect("spawn a waiter");
        }
        // Most of them queue up behind the three held connections before any is returned.
        until("the waiters to queue", || pool.stats().waiting >= THREADS as u64 / 2);
        drop(held);
    });
    assert_eq!(served.load(Ordering::Relaxed), THREADS as u64);
    expect(&pool, Expect { open: 3, idle: 3, created: 3, ..Expect::default() });
    assert_eq!(backend.peak(), 3);
}
