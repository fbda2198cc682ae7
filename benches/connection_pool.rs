//! The challenge-3 reference pool against `r2d2`, side by side in one run: acquire+release
//! throughput at 1, 2 and 8 threads on `max_size` 4, and the acquire latency under contention.
//!
//! Run: `cargo bench --bench connection_pool` (a plain binary, `harness = false`; about 35 s on
//! 2 cores, depending on what else runs).
//!
//! Workload: every thread loops `acquire`, read the connection's id, return it, with nothing
//! held in between: this measures the pool's own bookkeeping, locking and handoff, which is all
//! that differs between pools on a trivial connection. With 1 and 2 threads nobody ever waits
//! (4 connections); with 8 threads on 4 connections callers queue, so handoff and waking
//! dominate. The latency run is the 8-thread loop again with every `acquire` timed.
//!
//! Fairness:
//! - Both pools get a trivial connection (an id; connect, ping and `is_broken` do nothing), the
//!   same `max_size` 4, all 4 connections opened before the timed run (r2d2's default `min_idle`
//!   is `max_size`, and ours is given `min_idle` 4), and then an untimed warm-up on one thread.
//! - No health check on either side: r2d2 `test_on_check_out(false)` against ours with
//!   `test_on_checkout: false`. r2d2's default (`true`) pings on every checkout; on a trivial
//!   manager that would measure one call each, and on a real database a round trip that would
//!   swamp what a pool does, so the fair comparison is the pool with checks off on both sides.
//! - No ages on either side: r2d2 `max_lifetime(None)` and `idle_timeout(None)` (so it runs no
//!   reaper thread), ours with both `None` (so it never reads the clock).
//! - The reference is called through the `ConnectionPool` trait directly (no FFI shim), as r2d2
//!   is through its own API. Both use parking_lot 0.12's mutex.
//! - Trials alternate which contestant goes first; each figure is the median over trials.
//!   ops/s is operations over wall time from a barrier to the last thread's end; CPU ns/op is all
//!   threads' CPU time over all operations, shown because the bench shares its 2 cores with
//!   whatever else runs (spinning counts as CPU, parked time does not).
//! - The pools do not promise the same thing under contention, and the 8-thread rows show it:
//!   r2d2 wakes one waiter with `notify_one` on a shared condvar and lets any thread take the
//!   returned connection (barging), while ours hands it to the longest waiter, as challenge 3
//!   requires. Barging lets a running thread keep a connection instead of waking a parked one, so
//!   it is cheaper per operation, and pays in the tail: the p99 wait.
//!
//! Why not deadpool: its pools are async (`Pool::get().await`), so driving it from plain threads
//! means a `block_on` per acquire, and the figures would measure the executor as much as the
//! pool; with tasks on a runtime instead, waiting is a task switch rather than a parked thread.
//! Either way it is not the same job, so it is left out.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use challenge_harness::{Backend, ConnectionPool, Factory, FactoryError, ManualClock, PoolConfig};
use connection_pool_reference::ReferencePool;

const MAX_SIZE: usize = 4;
const TRIALS: usize = 5;
/// Untimed operations on one thread before each timed run.
const WARM: usize = 50_000;
/// Timed runs: (threads, operations for all threads together, whether a borrower yields its
/// core while it holds the connection).
const RUNS: [(usize, usize, Hold); 4] =
    [(1, 2_000_000, Hold::No), (2, 2_000_000, Hold::No), (8, 2_000_000, Hold::No), (8, 80_000, Hold::Yield)];
/// Latency runs (8 threads together, each acquire timed): operations and hold.
const LATENCY_THREADS: usize = 8;
const LATENCY_RUNS: [(usize, Hold); 2] = [(400_000, Hold::No), (80_000, Hold::Yield)];

/// What a borrower does while it holds the connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Nothing: it returns it at once. Callers rarely wait, even with 8 threads, because a
    /// thread is seldom preempted in the few nanoseconds it holds one.
    No,
    /// `thread::yield_now()`: its core goes to another thread while the connection is out, as
    /// when a borrower blocks on a query. With 8 threads on 4 connections callers really queue,
    /// and every return to a waiter is a handoff and a wake-up.
    Yield,
}

impl Hold {
    #[inline(always)]
    fn hold(self) {
        if self == Hold::Yield {
            std::thread::yield_now();
        }
    }

    fn label(self) -> &'static str {
        match self {
            Hold::No => "",
            Hold::Yield => " yield",
        }
    }
}

/// One contestant, built fresh for each trial.
trait Contestant: Sync + Sized {
    const NAME: &'static str;
    fn new() -> Self;
    /// One acquire, `hold`, release; the connection's id, so nothing is optimised away.
    fn cycle(&self, hold: Hold) -> u64;
    /// As `cycle`, returning also how long the acquire took.
    fn timed_cycle(&self, hold: Hold) -> (u64, Duration);
}

/// The trivial backend the reference opens from: ids, and nothing else.
struct Ids(AtomicU64);

impl Backend for Ids {
    fn connect(&self, _timeout: Duration) -> Result<u64, FactoryError> {
        Ok(self.0.fetch_add(1, Ordering::Relaxed))
    }
    fn ping(&self, _id: u64, _timeout: Duration) -> Result<(), FactoryError> {
        Ok(())
    }
    fn is_broken(&self, _id: u64) -> bool {
        false
    }
    fn close(&self, _id: u64) {}
}

struct Reference(ReferencePool);

impl Contestant for Reference {
    const NAME: &'static str = "reference (challenge 3)";
    fn new() -> Self {
        let config = PoolConfig {
            max_size: MAX_SIZE,
            min_idle: MAX_SIZE,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: None,
            max_lifetime: None,
            test_on_checkout: false,
        };
        let factory = Factory::new(Ids(AtomicU64::new(1)));
        Reference(ReferencePool::new(config, factory, ManualClock::new(0).clock()))
    }
    #[inline(always)]
    fn cycle(&self, hold: Hold) -> u64 {
        let conn = self.0.acquire(None).expect("a connection");
        hold.hold();
        conn.id()
    }
    #[inline(always)]
    fn timed_cycle(&self, hold: Hold) -> (u64, Duration) {
        let start = Instant::now();
        let conn = self.0.acquire(None).expect("a connection");
        let waited = start.elapsed();
        hold.hold();
        (conn.id(), waited)
    }
}

/// r2d2's side of the trivial connection.
struct Trivial(AtomicU64);

struct TrivialConn(u64);

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl std::error::Error for Never {}

impl r2d2::ManageConnection for Trivial {
    type Connection = TrivialConn;
    type Error = Never;
    fn connect(&self) -> Result<TrivialConn, Never> {
        Ok(TrivialConn(self.0.fetch_add(1, Ordering::Relaxed)))
    }
    fn is_valid(&self, _conn: &mut TrivialConn) -> Result<(), Never> {
        Ok(())
    }
    fn has_broken(&self, _conn: &mut TrivialConn) -> bool {
        false
    }
}

struct R2d2(r2d2::Pool<Trivial>);

impl Contestant for R2d2 {
    const NAME: &'static str = "r2d2 0.8";
    fn new() -> Self {
        let pool = r2d2::Pool::builder()
            .max_size(MAX_SIZE as u32)
            .test_on_check_out(false)
            .max_lifetime(None)
            .idle_timeout(None)
            .connection_timeout(Duration::from_secs(30))
            .build(Trivial(AtomicU64::new(1)))
            .expect("r2d2 opens its connections");
        R2d2(pool)
    }
    #[inline(always)]
    fn cycle(&self, hold: Hold) -> u64 {
        let conn = self.0.get().expect("a connection");
        hold.hold();
        conn.0
    }
    #[inline(always)]
    fn timed_cycle(&self, hold: Hold) -> (u64, Duration) {
        let start = Instant::now();
        let conn = self.0.get().expect("a connection");
        let waited = start.elapsed();
        hold.hold();
        (conn.0, waited)
    }
}

/// CPU time consumed by the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// One throughput trial's figures.
#[derive(Clone, Copy)]
struct Trial {
    wall_ns: u64,
    cpu_ns: u64,
    ops: u64,
}

/// A fresh pool, warmed on one thread.
fn warmed<C: Contestant>() -> C {
    let pool = C::new();
    (0..WARM).for_each(|_| {
        black_box(pool.cycle(Hold::No));
    });
    pool
}

/// A fresh pool, warmed, then `threads` threads doing `ops` cycles together.
fn trial<C: Contestant>(threads: usize, ops: usize, hold: Hold) -> Trial {
    let pool = warmed::<C>();
    let barrier = Barrier::new(threads);
    let per_thread: Vec<(Instant, Instant, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (pool, barrier) = (&pool, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let (start, cpu) = (Instant::now(), thread_cpu_ns());
                    for _ in 0..ops / threads {
                        black_box(pool.cycle(hold));
                    }
                    (start, Instant::now(), thread_cpu_ns() - cpu)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let start = per_thread.iter().map(|t| t.0).min().unwrap();
    let end = per_thread.iter().map(|t| t.1).max().unwrap();
    Trial {
        wall_ns: (end - start).as_nanos() as u64,
        cpu_ns: per_thread.iter().map(|t| t.2).sum(),
        ops: (ops / threads * threads) as u64,
    }
}

/// A fresh pool, warmed, then the 8-thread loop with every acquire timed: the waits, in ns.
fn latency_trial<C: Contestant>(ops: usize, hold: Hold) -> Vec<u64> {
    let pool = warmed::<C>();
    let barrier = Barrier::new(LATENCY_THREADS);
    let per_thread: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..LATENCY_THREADS)
            .map(|_| {
                let (pool, barrier) = (&pool, &barrier);
                scope.spawn(move || {
                    let n = ops / LATENCY_THREADS;
                    let mut waits = Vec::with_capacity(n);
                    barrier.wait();
                    for _ in 0..n {
                        let (id, waited) = pool.timed_cycle(hold);
                        black_box(id);
                        waits.push(waited.as_nanos() as u64);
                    }
                    waits
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    per_thread.concat()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The `q` quantile of `sorted`.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

struct Row {
    name: &'static str,
    trials: Vec<Trial>,
}

impl Row {
    fn ops_per_sec(&self) -> f64 {
        median(self.trials.iter().map(|t| t.ops as f64 * 1e9 / t.wall_ns as f64).collect())
    }
    fn cpu_ns_per_op(&self) -> f64 {
        median(self.trials.iter().map(|t| t.cpu_ns as f64 / t.ops as f64).collect())
    }
}

/// Both contestants at `threads`, in alternating order, `TRIALS` times each.
fn throughput(threads: usize, ops: usize, hold: Hold) -> [Row; 2] {
    let mut rows = [Row { name: Reference::NAME, trials: Vec::new() }, Row { name: R2d2::NAME, trials: Vec::new() }];
    for t in 0..TRIALS {
        for i in 0..2 {
            match (t + i) % 2 {
                0 => rows[0].trials.push(trial::<Reference>(threads, ops, hold)),
                _ => rows[1].trials.push(trial::<R2d2>(threads, ops, hold)),
            }
        }
    }
    rows
}

/// Both contestants' latency trials, alternating; per contestant, the median over trials of
/// each quantile (p50, p99, p99.9), in ns.
fn latency(ops: usize, hold: Hold) -> [(&'static str, [f64; 3]); 2] {
    let mut samples: [Vec<[f64; 3]>; 2] = [Vec::new(), Vec::new()];
    for t in 0..TRIALS {
        for i in 0..2 {
            let c = (t + i) % 2;
            let mut waits = match c {
                0 => latency_trial::<Reference>(ops, hold),
                _ => latency_trial::<R2d2>(ops, hold),
            };
            waits.sort_unstable();
            samples[c].push([0.5, 0.99, 0.999].map(|q| quantile(&waits, q) as f64));
        }
    }
    let summarise = |s: &[[f64; 3]]| [0, 1, 2].map(|k| median(s.iter().map(|q| q[k]).collect()));
    [(Reference::NAME, summarise(&samples[0])), (R2d2::NAME, summarise(&samples[1]))]
}

fn main() {
    let total = Instant::now();
    println!("command: cargo bench --bench connection_pool");
    println!(
        "workload: acquire + read id (+ yield, where marked) + release in a loop, max_size {MAX_SIZE}, trivial \
         connections, no health check, no ages; each run on a fresh pool warmed by {WARM} untimed cycles; {TRIALS} \
         alternating trials per contestant, median."
    );
    println!();
    println!("{:>9}  {:<24} {:>8} {:>10} {:>9}", "thr", "contestant", "Mops/s", "CPU ns/op", "ours/r2d2");
    for (threads, ops, hold) in RUNS {
        let rows = throughput(threads, ops, hold);
        let ratio = rows[0].ops_per_sec() / rows[1].ops_per_sec();
        for (i, r) in rows.iter().enumerate() {
            let ratio = if i == 0 { format!("{ratio:.2}x") } else { String::new() };
            println!(
                "{:>9}  {:<24} {:>8.2} {:>10.1} {:>9}",
                format!("{threads}{}", hold.label()),
                r.name,
                r.ops_per_sec() / 1e6,
                r.cpu_ns_per_op(),
                ratio
            );
        }
    }
    println!();
    println!("acquire latency (wait), {LATENCY_THREADS} threads on {MAX_SIZE} connections:");
    println!("{:>9}  {:<24} {:>9} {:>9} {:>9}", "thr", "contestant", "p50 µs", "p99 µs", "p99.9 µs");
    for (ops, hold) in LATENCY_RUNS {
        for (name, [p50, p99, p999]) in latency(ops, hold) {
            println!(
                "{:>9}  {:<24} {:>9.2} {:>9.2} {:>9.2}",
                format!("{LATENCY_THREADS}{}", hold.label()),
                name,
                p50 / 1e3,
                p99 / 1e3,
                p999 / 1e3
            );
        }
    }
    println!();
    println!(
        "Mops/s: median over trials of ops / wall time; ours/r2d2: the reference's over r2d2's, above 1 means \
         faster. CPU ns/op: all threads' CPU time per op (spinning counts, parked time does not). yield: each \
         borrower yields its core while holding the connection, so callers really queue. Latency: each quantile's \
         median over trials; the timed runs read Instant twice per op, the same for both."
    );
    println!("total bench time: {:.1} s", total.elapsed().as_secs_f64());
}
