//! [`ReferencePool`]: the [`ConnectionPool`] the grader loads. One lock around the [`State`];
//! the factory, pings, closes and wake-ups all happen outside it.
//!
//! Why one lock and no lock-free fast path: strict FIFO without barging means a return must
//! see, atomically with putting the connection anywhere, whether someone waits, and an acquire
//! must see, atomically with deciding to wait, that nothing is idle. A lock held for a few dozen
//! nanoseconds makes both trivial, and an uncontended acquire costs one lock round trip plus the
//! guard's `Arc` clone: no allocation, no clock read (unless `max_lifetime` is set: the virtual
//! clock is a host call), and no `Instant` read (see [`crate::deadline`]).
//!
//! Connections are closed *before* the room they held is handed on, so the host never sees more
//! than `max_size` connections alive or being opened, even for an instant (see [`crate::state`]).

use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::Thread;

use challenge_harness::{Clock, Connection, ConnectionPool, Factory, FactoryError, PoolConfig, PoolError, PoolStats};
use parking_lot::{Mutex, MutexGuard};

use crate::deadline::Deadline;
use crate::lent::Lent;
use crate::state::{Checkin, Checkout, Idle, Pooled, State, Unfit};
use crate::waiter::{Grant, Waiter};

/// The reference pool.
pub struct ReferencePool {
    shared: Arc<Shared>,
}

/// What the pool and its guards share.
pub(crate) struct Shared {
    state: Padded<Mutex<State>>,
    /// Set under the lock by `close`; read without it by a waiter about to use granted room,
    /// so that nothing is opened after `close` returns.
    closed: AtomicBool,
    factory: Factory,
    clock: Clock,
    config: PoolConfig,
    /// `max_lifetime` and `idle_timeout` in virtual nanoseconds.
    lifetime: Option<u64>,
    idle_timeout: Option<u64>,
}

/// Aligned to its own pair of cache lines (adjacent-line prefetch pairs them on x86), so the
/// lock and the books it guards travel between cores together, and alone.
#[repr(align(128))]
struct Padded<T>(T);

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn wake(thread: Option<Thread>) {
    if let Some(thread) = thread {
        thread.unpark();
    }
}

/// How a ping on checkout ended.
enum Validated {
    Good(Pooled),
    /// It failed and was closed, with time left: the caller holds its room and looks again.
    Bad,
    /// It failed or timed out at the deadline: the call times out.
    GaveUp,
}

impl Shared {
    #[inline(always)]
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.0.lock()
    }

    /// Now on the virtual clock if `max_lifetime` is set (0 otherwise: nothing reads it).
    #[inline(always)]
    fn lifetime_now(&self) -> u64 {
        match self.lifetime {
            Some(_) => self.clock.now(),
            None => 0,
        }
    }

    /// Now on the virtual clock if any age is configured (0 otherwise).
    #[inline(always)]
    fn ages_now(&self) -> u64 {
        match self.lifetime.is_some() || self.idle_timeout.is_some() {
            true => self.clock.now(),
            false => 0,
        }
    }

    /// Whether a connection born at `born` is past `max_lifetime` at `now`: from
    /// `born + max_lifetime` on, exactly.
    #[inline(always)]
    fn expired(&self, born: u64, now: u64) -> bool {
        self.lifetime.is_some_and(|lifetime| born.saturating_add(lifetime) <= now)
    }

    /// A guard dropped: the connection comes back.
    #[inline]
    pub(crate) fn checkin(&self, conn: Connection, born: u64) {
        // `panicking` first: a panicking borrower's connection is broken whatever it says, and
        // needs no host call to say so.
        let broken = std::thread::panicking() || conn.is_broken();
        let now = self.ages_now();
        let unfit = match (broken, self.expired(born, now)) {
            (true, _) => Some(Unfit::Broken),
            (false, true) => Some(Unfit::Expired),
            (false, false) => None,
        };
        let checkin = self.lock().checkin(Pooled { conn, born }, now, unfit);
        self.settle(checkin);
    }

    /// Carries out a [`Checkin`] once the lock is released.
    fn settle(&self, checkin: Checkin) {
        match checkin {
            Checkin::Idle => {}
            Checkin::Handed(thread) => thread.unpark(),
            Checkin::Shutdown(conn) => drop(conn),
            Checkin::Retire(conn) => {
                // Closed before its room is handed on (module doc).
                drop(conn);
                let woken = self.lock().retired(false);
                wake(woken);
            }
        }
    }

    /// Opens a connection in room reserved for this caller, within what is left of `deadline`.
    fn open(&self, deadline: &Deadline) -> Result<Pooled, PoolError> {
        if self.closed.load(Ordering::Acquire) {
            let woken = self.lock().unreserve();
            wake(woken);
            return Err(PoolError::Closed);
        }
        let Some(time) = deadline.last_step() else {
            let woken = {
                let mut state = self.lock();
                state.timed_out();
                state.unreserve()
            };
            wake(woken);
            return Err(PoolError::Timeout);
        };
        match self.factory.connect(time) {
            Ok(conn) => {
                let born = self.lifetime_now();
                let opened = self.lock().opened(conn, born);
                // Closed meanwhile: the connection is counted and closes here, outside the lock.
                opened.map_err(|_conn| PoolError::Closed)
            }
            Err(err) => {
                let timed_out = err == FactoryError::TimedOut;
                let woken = self.lock().open_failed(timed_out);
                wake(woken);
                Err(match err {
                    FactoryError::Failed(message) => PoolError::Factory(message),
                    FactoryError::TimedOut => PoolError::Timeout,
                })
            }
        }
    }

    /// Pings an idle connection just taken, with the time left.
    fn validate(&self, idle: Idle, deadline: &mut Deadline) -> Validated {
        let Some(time) = deadline.step() else {
            // Only after an earlier failed ping used up the time: put this one back untouched.
            let checkin = {
                let mut state = self.lock();
                state.timed_out();
                state.checkin(idle.pooled, idle.since, None)
            };
            self.settle(checkin);
            return Validated::GaveUp;
        };
        if idle.pooled.conn.ping(time).is_ok() {
            return Validated::Good(idle.pooled);
        }
        // Failed or timed out alike: look again while there is time. (A ping that timed out used
        // all of it, so that one ends the call.)
        let look_again = !deadline.passed();
        // Closed before its room is reused, by this caller or a waiter.
        drop(idle);
        let woken = self.lock().ping_failed(look_again);
        wake(woken);
        match look_again {
            true => Validated::Bad,
            false => Validated::GaveUp,
        }
    }

    /// Waits in the queue (joined under `state`, which the caller found with nothing to take).
    fn wait(&self, mut state: MutexGuard<'_, State>, deadline: &mut Deadline) -> Result<Pooled, PoolError> {
        let waiter = Waiter::new();
        // SAFETY: `waiter` stays in this frame, unmoved, until it is served (`wait` returns its
        // grant) or `leave` returns for it; nothing in between can unwind.
        unsafe { state.join(&waiter) };
        drop(state);
        let grant = match waiter.wait(deadline.wait_until()) {
            Some(grant) => grant,
            None => {
                let left = self.lock().leave(&waiter);
                match left {
                    Some(grant) => grant,
                    None => return Err(PoolError::Timeout),
                }
            }
        };
        match grant {
            Grant::Connection(pooled) => Ok(pooled),
            Grant::Room => self.open(deadline),
            Grant::Closed => Err(PoolError::Closed),
        }
    }

    /// `maintain`'s (and `new`'s) top-up: opens connections one at a time, each with
    /// `acquire_timeout`, until `min_idle` are idle or the pool is full; stops at the first
    /// factory failure, leaving the rest to a later `maintain`.
    fn top_up(&self, now: u64) {
        let min_idle = self.config.min_idle;
        loop {
            let reserved = self.lock().reserve_fill(min_idle);
            if !reserved {
                return;
            }
            let conn = self.factory.connect(self.config.acquire_timeout).ok();
            let failed = conn.is_none();
            let filled = self.lock().filled(conn, now);
            match filled {
                Ok(woken) => wake(woken),
                Err(_closed_meanwhile) => return,
            }
            if failed {
                return;
            }
        }
    }

    fn close(&self) {
        let closed = {
            let mut state = self.lock();
            let closed = state.close();
            self.closed.store(state.is_closed(), Ordering::Release);
            closed
        };
        let Some((idle, waiters)) = closed else {
            return;
        };
        waiters.iter().for_each(Thread::unpark);
        drop(idle);
    }
}

impl ReferencePool {
    #[cfg(test)]
    pub(crate) fn idle_ids(&self) -> Vec<u64> {
        self.shared.lock().idle_ids()
    }
}

impl ConnectionPool for ReferencePool {
    type Guard = Lent;

    fn new(config: PoolConfig, factory: Factory, clock: Clock) -> Self {
        // The contract bounds these; clamping keeps a bad config from deadlocking the pool.
        let max_size = config.max_size.max(1);
        let config = PoolConfig { max_size, min_idle: config.min_idle.min(max_size), ..config };
        let shared = Arc::new(Shared {
            state: Padded(Mutex::new(State::new(max_size))),
            closed: AtomicBool::new(false),
            factory,
            clock,
            config,
            lifetime: config.max_lifetime.map(nanos),
            idle_timeout: config.idle_timeout.map(nanos),
        });
        shared.top_up(shared.ages_now());
        ReferencePool { shared }
    }

    fn acquire(&self, timeout: Option<Duration>) -> Result<Lent, PoolError> {
        let shared = &*self.shared;
        let mut deadline = Deadline::new(timeout.unwrap_or(shared.config.acquire_timeout));
        // Whether this caller holds reserved room: after closing a connection it had taken, it
        // keeps that connection's room while it looks again.
        let mut held = false;
        loop {
            let now = shared.lifetime_now();
            let mut state = shared.lock();
            let pooled = match state.checkout(held, |born| shared.expired(born, now)) {
                Checkout::Closed => return Err(PoolError::Closed),
                Checkout::Lend(idle) => {
                    drop(state);
                    if !shared.config.test_on_checkout {
                        return Ok(Lent::new(idle.pooled, &self.shared));
                    }
                    match shared.validate(idle, &mut deadline) {
                        Validated::Good(pooled) => pooled,
                        Validated::Bad => {
                            held = true;
                            continue;
                        }
                        Validated::GaveUp => return Err(PoolError::Timeout),
                    }
                }
                Checkout::Expired(pooled) => {
                    drop(state);
                    drop(pooled);
                    let woken = shared.lock().retired(!held);
                    wake(woken);
                    held = true;
                    continue;
                }
                Checkout::Open => {
                    drop(state);
                    shared.open(&deadline)?
                }
                Checkout::Wait => shared.wait(state, &mut deadline)?,
            };
            return Ok(Lent::new(pooled, &self.shared));
        }
    }

    fn maintain(&self) {
        let shared = &*self.shared;
        let now = shared.ages_now();
        let expired = shared.lifetime.map(|lifetime| move |born: u64| born.saturating_add(lifetime) <= now);
        // Idle since `now - idle_timeout` or earlier: idle for at least `idle_timeout`.
        let idle_before = shared.idle_timeout.and_then(|timeout| now.checked_sub(timeout));
        let doomed = shared.lock().reap(expired, idle_before, shared.config.min_idle);
        if !doomed.is_empty() {
            let n = doomed.len();
            // Closed before their room is handed on.
            drop(doomed);
            let woken = shared.lock().retired_all(n);
            woken.iter().for_each(Thread::unpark);
        }
        shared.top_up(now);
    }

    fn close(&self) {
        self.shared.close();
    }

    fn stats(&self) -> PoolStats {
        self.shared.lock().stats()
    }
}

impl Drop for ReferencePool {
    /// Idle connections close now; lent ones close when their guards drop.
    fn drop(&mut self) {
        self.shared.close();
    }
}
