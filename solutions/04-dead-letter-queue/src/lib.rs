//! Reference solution for challenge 4: a thread-safe message queue with leases, fencing tokens,
//! retries on an exact backoff, a dead-letter queue and redrive, as the `MessageQueue` trait's
//! docs (`harness/src/message_queue.rs`) pin them.
//!
//! Layout:
//! - [`queue`]: [`ReferenceQueue`], the trait implementation: one lock, payloads copied and freed
//!   outside it.
//! - [`store`]: the state and every rule of the contract, as single-threaded code over:
//!   - [`slab`]: the live messages' records by `u32` slot, and lease tokens that are a slot and a
//!     generation, so checking one needs no map;
//!   - [`ready`]: the waiting messages in `(available_at, id)` order: a FIFO for the common case,
//!     heaps for the rest;
//!   - [`leases`]: the leases in deadline order, so lapsed ones are found lazily, in order;
//!   - [`dead`]: the dead letters, by id.
//!
//! Where the contract leaves room, this solution reads it as follows:
//! - A config outside the contract's bounds is clamped into them: a zero `visibility_timeout`
//!   leases for 1ns, `max_attempts` is kept within `1..=1000`.
//! - Waits too long for `u64` nanoseconds (a delay, a backoff, a lease) saturate at `u64::MAX`:
//!   such a message stays delayed (or leased) for good.
//! - Clock readings are made monotonic (`max(reading, latest)`): the contract says time never
//!   moves backwards, and if a clock did, no lease or delay would run backwards with it.
//! - `redrive` makes the messages it moves available at the same instant, so among themselves (and
//!   against anything else available at that instant) they go out by id, whatever order the ids
//!   were listed in. An id listed twice moves once.
//! - `nack(retry = false)` dead-letters as `Rejected` even on the last attempt: the consumer's
//!   verdict, not the attempt count, is why it died.
//! - `first_failure_at` of a message that dies on its first failure is that failure's instant, so
//!   it equals `dead_at`.

mod dead;
mod leases;
mod queue;
mod ready;
mod slab;
mod store;

#[cfg(test)]
mod tests;

pub use queue::ReferenceQueue;

challenge_harness::export_message_queue!(ReferenceQueue);
