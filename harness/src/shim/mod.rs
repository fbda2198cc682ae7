//! The plugin side of the boundary: generic `extern "C"` shims around a learner's trait impl.
//!
//! The export macros instantiate these for the learner's type. Every shim catches panics, so a
//! learner's bug becomes a reported [`crate::ffi::STATUS_PANIC`] instead of an abort, and every
//! pointer the host passes is only borrowed for the call.

mod connection_pool;
mod guard;
mod lru_cache;
mod message_queue;
mod migrations;
mod rate_limiter;

pub use connection_pool::connection_pool_table;
pub use lru_cache::lru_cache_table;
pub use message_queue::message_queue_table;
pub use migrations::migration_runner_table;
pub use rate_limiter::rate_limiter_table;
