//! Reference solution for challenge 3: a bounded, thread-safe connection pool with LIFO reuse,
//! strictly FIFO waiters served by direct handoff, one real-time deadline per `acquire`, ages on
//! the virtual clock and exact stats, as the `ConnectionPool` trait's docs
//! (`harness/src/connection_pool.rs`) pin them.
//!
//! Layout:
//! - `pool`: [`ReferencePool`], the trait implementation: one lock, and everything slow (the
//!   factory, pings, closes, wake-ups) outside it.
//! - `state`: the books and every rule of where a connection or room goes, as single-threaded
//!   code run under that lock.
//! - `waiter`: the FIFO queue of blocked callers, nodes on their own stacks, and the handoff.
//! - `deadline`: an `acquire`'s one deadline, read from `Instant` only when a step may block.
//! - `lent`: [`Lent`], the guard.
//!
//! Where the contract leaves room, this solution reads it as follows:
//! - A connection handed straight from a return to a waiter is not pinged, even with
//!   `test_on_checkout`: it never sat idle, and it was checked (`is_broken`, `max_lifetime`) on
//!   its way back. Only connections taken from the idle set are pinged.
//! - A waiter whose deadline passes but whose connection was handed over first (the lock orders
//!   the two) returns that connection: it was granted in time, and nothing is lost. A waiter
//!   granted *room* whose deadline has passed cannot open in no time: it times out and passes
//!   the room to the next waiter.
//! - A caller that closes a connection it took (past `max_lifetime` on checkout, or a ping that
//!   failed or timed out) keeps that connection's room while it looks again, ahead of waiters
//!   who queued meanwhile: it arrived before them. A failed ping that leaves no time ends the
//!   call with `Timeout` (counted in `timeouts`, besides `closed_invalid`).
//! - The first step of an `acquire` that blocks gets the whole timeout; once the deadline has
//!   passed, no further ping or connect is started.
//! - A connect that completes after `close` (an `acquire` or a top-up in flight) counts as
//!   created and `closed_shutdown`, and that `acquire` returns `Closed`. A waiter granted a
//!   connection before `close` still gets it (it closes on return).
//! - `maintain`'s top-up opens with `acquire_timeout`, serves a waiter first if one queued
//!   meanwhile, and stops at the first failure; its factory timeouts are not `timeouts` (that
//!   counter is `acquire`'s).
//! - `max_size` 0 is taken as 1 and `min_idle` is capped at `max_size`.
//! - Dropping the pool closes it.

mod deadline;
mod lent;
mod pool;
mod state;
mod waiter;

#[cfg(test)]
mod tests;

pub use lent::Lent;
pub use pool::ReferencePool;

challenge_harness::export_connection_pool!(ReferencePool);
