//! Reference solution for challenge 2: a thread-safe, strictly least-recently-used cache with
//! per-entry TTL, exact lifetime metrics and single-flight loads, as the `LruCache` trait's docs
//! (`harness/src/lru_cache.rs`) pin them.
//!
//! Layout:
//! - [`cache`]: [`ReferenceCache`], the trait implementation: one lock, keys hashed outside it,
//!   loaders run outside it.
//! - [`store`]: the state and every rule of the contract, as single-threaded code over:
//!   - [`slab`]: nodes in one `Vec` addressed by `u32`, and their recency as a log of uses from
//!     which the least recently used entry is popped (exact strict LRU);
//!   - [`expiry`]: a min-heap of expiry records, so expired entries are found before anyone
//!     could count them;
//!   - [`flight`]: the loads in flight that other callers for the same key wait on.
//!
//! Where the contract leaves room, this solution reads it as follows:
//! - A TTL of zero (which the FFI uses for "none given") means "none given": the config's default
//!   TTL applies. A TTL too long for `u64` nanoseconds, or one whose expiry would pass `u64::MAX`,
//!   never expires. Capacity is clamped into `1..=u32::MAX - 1`.
//! - A `get_or_insert_with` that loads takes effect when its loader returns. If a `put` stored the
//!   key in the meantime, the call is a hit on that live value (its loaded value is dropped), as it
//!   would have been had it started then.
//! - A call that finds an expired entry removes it on the spot (counting the expiration it
//!   already was), `peek` and `contains` included: nothing observable changes.

mod cache;
mod expiry;
mod flight;
mod slab;
mod store;

#[cfg(test)]
mod tests;

pub use cache::ReferenceCache;

challenge_harness::export_lru_cache!(ReferenceCache);
