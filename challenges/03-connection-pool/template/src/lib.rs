//! Challenge 3: a database connection pool.
//!
//! Implement [`ConnectionPool`] for [`MyPool`], then run `challenge test 3`. The brief (the
//! challenge's README.md) pins every convention; its section names are quoted below as
//! "README → …". `cargo test` runs your own tests (there is one at the bottom to start from).

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::{HashMap, VecDeque};
use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use challenge_harness::{Clock, Connection, ConnectionPool, Factory, FactoryError, PoolConfig, PoolError, PoolStats};

/// The pool. Guards outlive the borrow of the pool and drop on any thread, so everything lives in
/// one [`Shared`] behind an `Arc` that every guard clones.
pub struct MyPool {
    shared: Arc<Shared>,
}

/// What the pool and its guards share.
struct Shared {
    config: PoolConfig,
    factory: Factory,
    /// The source of *ages* only (README → Two clocks): when a connection was opened, when it
    /// became idle. The grader jumps it forward. Waiting is real time: use `Instant` for it.
    clock: Clock,
    /// One `Mutex` around the whole state is correct and a fine start. Never hold it while
    /// `connect` or `ping` runs (README → acquire).
    state: Mutex<State>,
}

/// Everything behind the lock. This is one workable shape; change it as you like.
struct State {
    /// The idle stack: push on return, pop to lend, so the most recently returned connection is
    /// reused first (README → Idle connections are reused last in, first out).
    idle: Vec<Idle>,
    /// Connections open *or being opened*: reserve a unit here before calling `connect`, give it
    /// back if the connect fails. Never above `max_size` (README → Size).
    size: usize,
    /// Callers waiting, oldest first (README → Waiters are served first come, first served).
    /// Each waiter has its own `Condvar` (all used with `state`), so a release can wake exactly
    /// the one at the front, not whichever thread the OS picks.
    waiters: VecDeque<Waiter>,
    /// What a release handed to a waiter, by ticket: the waiter takes it when it wakes. A waiter
    /// that times out leaves the queue; if something was handed to it meanwhile, it passes it on
    /// to the next waiter (or to the idle stack).
    handed: HashMap<u64, Handoff>,
    next_ticket: u64,
    closed: bool,
    /// Keep the counters exact as you go (README → Stats); `open`, `idle`, `in_use` and `waiting`
    /// can also be computed when `stats()` is called.
    stats: PoolStats,
}

/// An idle connection and its ages, in clock nanoseconds (README → Ages and boundaries).
struct Idle {
    conn: Connection,
    opened_at: u64,
    idle_since: u64,
}

/// One caller in the queue.
struct Waiter {
    ticket: u64,
    wake: Arc<Condvar>,
}

/// What a waiter can be given.
enum Handoff {
    /// A returned connection, lent as is.
    Connection { conn: Connection, opened_at: u64 },
    /// Room freed by a connection that was closed: the waiter opens its own, with its time left.
    Room,
    /// The pool was closed: `Err(PoolError::Closed)`.
    Closed,
}

impl Shared {
    /// Locks the state, even if a thread panicked while holding it: a poisoned lock must not
    /// turn every later call (and every guard's `Drop`) into a panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A guard's connection comes back (README → Returning a connection). Runs on the borrower's
    /// thread, maybe while it unwinds from a panic: a panic here then aborts the whole process,
    /// so this must not panic once written.
    fn give_back(&self, conn: Connection, opened_at: u64, panicking: bool) {
        // 1. Closed pool: close it (closed_shutdown).
        // 2. Broken or panicking: close it (closed_broken). Past max_lifetime: close it
        //    (closed_lifetime). Either way, the room goes to the oldest waiter.
        // 3. Otherwise: to the oldest waiter, or on top of the idle stack, idle from now.
        // Closing is dropping the `Connection`; do it after releasing the lock.
        todo!("give_back: close it (shutdown, broken, lifetime) or hand it on (README → Returning a connection)")
    }
}

/// What `acquire` lends. It derefs to the [`Connection`]; dropping it gives the connection back.
pub struct PooledConnection {
    /// Always `Some` until `drop` takes it.
    conn: Option<Connection>,
    opened_at: u64,
    shared: Arc<Shared>,
}

impl Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("a guard holds its connection until it drops")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.shared.give_back(conn, self.opened_at, std::thread::panicking());
        }
    }
}

impl ConnectionPool for MyPool {
    type Guard = PooledConnection;

    fn new(config: PoolConfig, factory: Factory, clock: Clock) -> Self {
        // Build the state, then open `min_idle` connections, each with `acquire_timeout`; one that
        // fails is left to a later `maintain` (README → maintain()).
        todo!("new: build the shared state and open min_idle connections (README → maintain())")
    }

    fn acquire(&self, timeout: Option<Duration>) -> Result<PooledConnection, PoolError> {
        // One deadline: `Instant::now() + timeout.unwrap_or(acquire_timeout)`. Under the lock:
        // closed → Closed; anyone waiting → join the queue behind them; an idle connection →
        // pop it; room → reserve it; neither → join the queue and `wait_timeout` on your own
        // `Condvar` until handed something or the deadline passes. Ping and connect with the
        // lock released, passing `deadline.saturating_duration_since(Instant::now())`.
        todo!("acquire: idle (lifetime, ping), else room (connect), else wait in FIFO order, all within one deadline (README → acquire)")
    }

    fn maintain(&self) {
        // Idle connections past max_lifetime; then idle_timeout, longest idle first, down to
        // min_idle; then open up to min_idle idle, within max_size. Never touch lent ones.
        todo!("maintain: lifetime, then idle_timeout down to min_idle, then top up to min_idle (README → maintain())")
    }

    fn close(&self) {
        todo!("close: mark it closed, wake every waiter with Closed, close the idle connections (README → close())")
    }

    fn stats(&self) -> PoolStats {
        todo!("stats: the counters as of now (README → Stats)")
    }
}

// This line makes your pool loadable by the grader. Keep it.
challenge_harness::export_connection_pool!(MyPool);

#[cfg(test)]
mod tests {
    use super::*;
    use challenge_harness::{Backend, ManualClock};
    use std::collections::HashSet;

    /// Time starts far from zero under the grader too.
    const START: u64 = 1_000_000 * 1_000_000_000;

    /// A backend that counts what it opens and closes. Add what your tests need: connects that
    /// fail or sleep, pings that fail, ids marked broken.
    #[derive(Clone, Default)]
    struct TestBackend {
        state: Arc<Mutex<BackendState>>,
    }

    #[derive(Default)]
    struct BackendState {
        next_id: u64,
        open: HashSet<u64>,
    }

    impl TestBackend {
        fn open(&self) -> usize {
            self.state.lock().unwrap().open.len()
        }
    }

    impl Backend for TestBackend {
        fn connect(&self, _timeout: Duration) -> Result<u64, FactoryError> {
            let mut state = self.state.lock().unwrap();
            state.next_id += 1;
            let id = state.next_id;
            state.open.insert(id);
            Ok(id)
        }
        fn ping(&self, _id: u64, _timeout: Duration) -> Result<(), FactoryError> {
            Ok(())
        }
        fn is_broken(&self, _id: u64) -> bool {
            false
        }
        fn close(&self, id: u64) {
            assert!(self.state.lock().unwrap().open.remove(&id), "connection {id} closed twice");
        }
    }

    fn config(max_size: usize) -> PoolConfig {
        PoolConfig {
            max_size,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(1),
            idle_timeout: None,
            max_lifetime: None,
            test_on_checkout: false,
        }
    }

    #[test]
    fn a_full_pool_times_out_and_the_returned_connection_is_reused() {
        let (manual, backend) = (ManualClock::new(START), TestBackend::default());
        let pool = MyPool::new(config(1), Factory::new(backend.clone()), manual.clock());

        let a = pool.acquire(None).unwrap();
        let id = a.id();
        // max_size 1 and A holds the only connection: a second caller waits, then times out.
        assert!(matches!(pool.acquire(Some(Duration::from_millis(20))), Err(PoolError::Timeout)));
        drop(a);
        // The connection went back to the idle stack and comes out again.
        assert_eq!(pool.acquire(None).unwrap().id(), id);

        let stats = pool.stats();
        assert_eq!((stats.open, stats.idle, stats.in_use, stats.created, stats.timeouts), (1, 1, 0, 1, 1));
        assert_eq!(backend.open(), 1);
        drop(pool);
        assert_eq!(backend.open(), 0, "dropping the pool closes its idle connections");
    }
}
