//! The pool's books, and every rule that decides where a connection or a unit of room goes, as
//! plain single-threaded code: [`crate::ReferencePool`] holds the one lock around each call and
//! does everything slow (the factory, pings, closes, waking threads) outside it.
//!
//! **Room.** At no instant may more than `max_size` connections exist on the host, counting
//! those being opened *and those being closed*: room is reused only once the connection that held
//! it is closed. So three counts add up to the room in use:
//! - `open`: connections on the books, idle or lent;
//! - `opening`: room reserved and not yet a connection: a connect in flight, room granted to a
//!   waiter that has not used it yet, or room a caller holds while it looks again;
//! - `retiring`: connections taken off the books (counted closed) but not yet closed.
//!
//! **Invariant.** While anyone waits, nothing is idle and there is no free room. A caller joins
//! the queue only when it finds neither, under the lock; and every event that makes a connection
//! idle or frees room serves the longest waiter first ([`State::hand_over`], [`State::free_room`]).
//! That is also why a new `acquire` that sees waiters queues behind them without looking further.

use challenge_harness::{Connection, PoolStats};
use std::thread::Thread;

use crate::waiter::{Grant, WaitQueue, Waiter};

/// A connection and its opening time on the virtual clock (0 when no `max_lifetime` is set,
/// since nothing reads it then).
pub(crate) struct Pooled {
    pub(crate) conn: Connection,
    pub(crate) born: u64,
}

/// An idle connection and when it was returned (0 when no `idle_timeout` is set).
pub(crate) struct Idle {
    pub(crate) pooled: Pooled,
    pub(crate) since: u64,
}

/// Why a returned connection is not fit to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unfit {
    /// [`Connection::is_broken`], or the borrower's thread was panicking.
    Broken,
    /// Past `max_lifetime`.
    Expired,
}

/// What `acquire` does next, decided under the lock.
pub(crate) enum Checkout {
    /// The pool is closed (any room the caller held is released).
    Closed,
    /// Lend this connection (ping it first with `test_on_checkout`).
    Lend(Idle),
    /// This idle connection is past `max_lifetime`: it is off the books and retiring; close it,
    /// then [`State::retired`], and look again.
    Expired(Pooled),
    /// Open a connection in room reserved for the caller.
    Open,
    /// Nothing to take and no room: join the queue.
    Wait,
}

/// Where a connection went on return.
pub(crate) enum Checkin {
    /// Back to the idle set.
    Idle,
    /// To the longest waiter: wake it.
    Handed(Thread),
    /// The pool is closed: the connection is off the books; close it.
    Shutdown(Connection),
    /// Unfit: off the books and retiring; close it, then [`State::retired`].
    Retire(Connection),
}

/// The books. Every method runs under the pool's lock.
pub(crate) struct State {
    /// Most recently returned last: `pop` lends LIFO, the front is the longest idle.
    idle: Vec<Idle>,
    max_size: usize,
    open: usize,
    opening: usize,
    retiring: usize,
    /// Opens in flight for `maintain`'s top-up, so that concurrent top-ups do not overshoot.
    filling: usize,
    waiters: WaitQueue,
    closed: bool,
    created: u64,
    closed_broken: u64,
    closed_invalid: u64,
    closed_lifetime: u64,
    closed_idle: u64,
    closed_shutdown: u64,
    timeouts: u64,
}

impl State {
    pub(crate) fn new(max_size: usize) -> State {
        State {
            // Never more than `max_size` idle, so it never reallocates.
            idle: Vec::with_capacity(max_size),
            max_size,
            open: 0,
            opening: 0,
            retiring: 0,
            filling: 0,
            waiters: WaitQueue::new(),
            closed: false,
            created: 0,
            closed_broken: 0,
            closed_invalid: 0,
            closed_lifetime: 0,
            closed_idle: 0,
            closed_shutdown: 0,
            timeouts: 0,
        }
    }

    fn has_room(&self) -> bool {
        self.open + self.opening + self.retiring < self.max_size
    }

    /// `acquire`'s next move. `held`: the caller holds reserved room (it is looking again after
    /// closing a connection it had taken), which it keeps or gives back here. `expired` says
    /// whether a connection born then is past `max_lifetime` now.
    #[inline]
    pub(crate) fn checkout(&mut self, held: bool, expired: impl Fn(u64) -> bool) -> Checkout {
        if self.closed {
            if held {
                self.opening -= 1;
            }
            return Checkout::Closed;
        }
        // No barging: those already waiting go first. (A caller holding room is not new: it
        // arrived before them, and by the invariant nothing is idle for it to take anyway.)
        if !held && !self.waiters.is_empty() {
            return Checkout::Wait;
        }
        if let Some(idle) = self.idle.pop() {
            if expired(idle.pooled.born) {
                self.open -= 1;
                self.closed_lifetime += 1;
                self.retiring += 1;
                return Checkout::Expired(idle.pooled);
            }
            if held {
                // Something idle means nobody waits (the invariant): the room is simply free.
                debug_assert!(self.waiters.is_empty());
                self.opening -= 1;
            }
            return Checkout::Lend(idle);
        }
        if held {
            return Checkout::Open;
        }
        if self.has_room() {
            self.opening += 1;
            return Checkout::Open;
        }
        Checkout::Wait
    }

    /// Links a caller that [`Checkout::Wait`]ed into the queue.
    ///
    /// # Safety
    /// As [`WaitQueue::join`].
    pub(crate) unsafe fn join(&mut self, waiter: &Waiter) {
        unsafe { self.waiters.join(waiter) }
    }

    /// A waiter whose deadline passed: its grant if one came first, else it has left the
    /// queue and its call times out.
    pub(crate) fn leave(&mut self, waiter: &Waiter) -> Option<Grant> {
        let grant = self.waiters.leave(waiter);
        if grant.is_none() {
            self.timeouts += 1;
        }
        grant
    }

    /// A retiring connection has been closed: its room is free again. `claim`: the caller keeps
    /// it as its own reservation (it looks again); otherwise it goes to the longest waiter.
    pub(crate) fn retired(&mut self, claim: bool) -> Option<Thread> {
        self.retiring -= 1;
        match claim {
            true => {
                self.opening += 1;
                None
            }
            false => self.free_room(),
        }
    }

    /// Room has just been freed: reserve it for the longest waiter, if any.
    fn free_room(&mut self) -> Option<Thread> {
        if self.waiters.is_empty() {
            return None;
        }
        self.opening += 1;
        Some(self.waiters.serve(Grant::Room))
    }

    /// Gives back room the caller reserved and did not use.
    pub(crate) fn unreserve(&mut self) -> Option<Thread> {
        self.opening -= 1;
        self.free_room()
    }

    /// A connect into reserved room failed (`timed_out`: the factory timed out, so the call
    /// returns `Timeout`).
    pub(crate) fn open_failed(&mut self, timed_out: bool) -> Option<Thread> {
        self.timeouts += u64::from(timed_out);
        self.unreserve()
    }

    /// A connect into reserved room succeeded. `Err`: the pool closed meanwhile, and the
    /// connection is already counted created and closed; close it.
    pub(crate) fn opened(&mut self, conn: Connection, born: u64) -> Result<Pooled, Connection> {
        self.opening -= 1;
        self.created += 1;
        if self.closed {
            self.closed_shutdown += 1;
            return Err(conn);
        }
        self.open += 1;
        Ok(Pooled { conn, born })
    }

    /// A ping on checkout failed or timed out and the connection was closed. `look_again`: the
    /// caller keeps its room to look again; otherwise (no time left) its call times out and the
    /// room goes to a waiter.
    pub(crate) fn ping_failed(&mut self, look_again: bool) -> Option<Thread> {
        self.open -= 1;
        self.closed_invalid += 1;
        if look_again {
            self.opening += 1;
            return None;
        }
        self.timeouts += 1;
        self.free_room()
    }

    /// A connection comes back (`since`: now, for idle ages; `unfit`: why it must not be kept,
    /// as seen before the lock). A closed pool closes it whatever its state; an unfit one
    /// leaves the books as retiring (its room is handed on once it is closed); a fit one goes
    /// to the longest waiter, or on top of the idle stack.
    #[inline]
    pub(crate) fn checkin(&mut self, pooled: Pooled, since: u64, unfit: Option<Unfit>) -> Checkin {
        if self.closed {
            self.open -= 1;
            self.closed_shutdown += 1;
            return Checkin::Shutdown(pooled.conn);
        }
        if let Some(unfit) = unfit {
            self.open -= 1;
            self.retiring += 1;
            match unfit {
                Unfit::Broken => self.closed_broken += 1,
                Unfit::Expired => self.closed_lifetime += 1,
            }
            return Checkin::Retire(pooled.conn);
        }
        match self.hand_over(pooled, since) {
            Some(thread) => Checkin::Handed(thread),
            None => Checkin::Idle,
        }
    }

    /// A connection on the books is free: to the longest waiter, or idle.
    fn hand_over(&mut self, pooled: Pooled, since: u64) -> Option<Thread> {
        if self.waiters.is_empty() {
            self.idle.push(Idle { pooled, since });
            return None;
        }
        Some(self.waiters.serve(Grant::Connection(pooled)))
    }

    /// Counts a timeout decided outside the books (a deadline that passed between steps).
    pub(crate) fn timed_out(&mut self) {
        self.timeouts += 1;
    }

    /// `maintain`'s reaping: idle connections past `max_lifetime` (per `expired`), then, while
    /// more than `min_idle` are idle, those idle since `idle_before` or earlier, longest idle
    /// first. They leave the books as retiring; close them, then [`State::retired_all`].
    pub(crate) fn reap(
        &mut self,
        expired: Option<impl Fn(u64) -> bool>,
        idle_before: Option<u64>,
        min_idle: usize,
    ) -> Vec<Connection> {
        let mut doomed = Vec::new();
        if self.closed {
            return doomed;
        }
        if let Some(expired) = expired {
            doomed.extend(self.idle.extract_if(.., |i| expired(i.pooled.born)).map(|i| i.pooled.conn));
            self.closed_lifetime += doomed.len() as u64;
        }
        if let Some(cutoff) = idle_before {
            // Returned in order, so the stale ones are a prefix (for a clock that never steps
            // back; one that does makes a connection look younger, never older).
            let surplus = self.idle.len().saturating_sub(min_idle);
            let stale = self.idle[..surplus].iter().take_while(|i| i.since <= cutoff).count();
            doomed.extend(self.idle.drain(..stale).map(|i| i.pooled.conn));
            self.closed_idle += stale as u64;
        }
        self.open -= doomed.len();
        self.retiring += doomed.len();
        doomed
    }

    /// `n` reaped connections are closed: their room goes to waiters (who may have queued
    /// meanwhile, finding the room still taken).
    pub(crate) fn retired_all(&mut self, n: usize) -> Vec<Thread> {
        (0..n).filter_map(|_| self.retired(false)).collect()
    }

    /// Reserves room for one top-up connection, if `maintain` should open one: the pool is
    /// open, nobody waits, fewer than `min_idle` are idle (or being opened for it) and there
    /// is room.
    pub(crate) fn reserve_fill(&mut self, min_idle: usize) -> bool {
        let wanted = !self.closed && self.waiters.is_empty() && self.idle.len() + self.filling < min_idle;
        if !wanted || !self.has_room() {
            return false;
        }
        self.opening += 1;
        self.filling += 1;
        true
    }

    /// A top-up connect finished: `Some` connection went to the books (idle, or handed to a
    /// waiter who queued meanwhile), `None` failed (its room goes to a waiter). `Err`: the pool
    /// closed meanwhile; close the connection.
    pub(crate) fn filled(&mut self, conn: Option<Connection>, now: u64) -> Result<Option<Thread>, Connection> {
        self.filling -= 1;
        let Some(conn) = conn else {
            return Ok(self.unreserve());
        };
        let pooled = self.opened(conn, now)?;
        Ok(self.hand_over(pooled, now))
    }

    /// `close()`: idle connections leave the books (close them), waiters are served `Closed`.
    /// `None` if it was already closed.
    pub(crate) fn close(&mut self) -> Option<(Vec<Connection>, Vec<Thread>)> {
        if self.closed {
            return None;
        }
        self.closed = true;
        let idle: Vec<Connection> = self.idle.drain(..).map(|i| i.pooled.conn).collect();
        self.open -= idle.len();
        self.closed_shutdown += idle.len() as u64;
        Some((idle, self.waiters.close_all()))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let idle = self.idle.len() as u64;
        let open = self.open as u64;
        PoolStats {
            open,
            idle,
            in_use: open - idle,
            waiting: self.waiters.len() as u64,
            created: self.created,
            closed_broken: self.closed_broken,
            closed_invalid: self.closed_invalid,
            closed_lifetime: self.closed_lifetime,
            closed_idle: self.closed_idle,
            closed_shutdown: self.closed_shutdown,
            timeouts: self.timeouts,
        }
    }

    /// Connection ids idle now, most recently returned first (tests check LIFO order with it).
    #[cfg(test)]
    pub(crate) fn idle_ids(&self) -> Vec<u64> {
        self.idle.iter().rev().map(|i| i.pooled.conn.id()).collect()
    }
}
