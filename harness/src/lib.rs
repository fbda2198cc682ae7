//! # challenge-harness
//!
//! The contract between your solution and the `challenge` grader. For each system there is one
//! safe trait to implement and one macro to export it:
//!
//! ```ignore
//! use challenge_harness::{RateLimiter, /* … */};
//!
//! pub struct MyLimiter { /* … */ }
//! impl RateLimiter for MyLimiter { /* … */ }
//!
//! challenge_harness::export_rate_limiter!(MyLimiter);
//! ```
//!
//! Your crate is built as a `cdylib` and loaded into an isolated worker process, which drives it
//! through scripted scenarios on a virtual [`Clock`]. Read time only from that clock, never from
//! `std::time::Instant` or `SystemTime`: the grader jumps virtual time forward in an instant.
//!
//! Panics inside your methods are caught and reported with their message; the scenario that hit
//! one stops there and the next scenario starts in a fresh process.
#![deny(missing_docs)]

mod clock;
mod connection_pool;
pub mod ffi;
mod lru_cache;
mod message_queue;
mod migrations;
mod rate_limiter;
#[doc(hidden)]
pub mod shim;

pub use clock::{Clock, ManualClock};
pub use connection_pool::{
    Backend, Connection, ConnectionPool, Factory, FactoryError, PoolConfig, PoolError, PoolStats,
};
pub use lru_cache::{CacheConfig, CacheMetrics, LruCache};
pub use message_queue::{
    DeadLetter, DeadReason, Delivery, LeaseToken, MessageQueue, QueueConfig, QueueStats, StaleLease,
};
pub use migrations::{
    MigrateError, Migration, MigrationRunner, MigrationStatus, MigratorConfig, HISTORY_DDL, HISTORY_TABLE,
};
pub use rate_limiter::{Algorithm, CostExceedsCapacity, Decision, RateLimiter, RateLimiterConfig};

/// Exports a [`RateLimiter`] implementation so the grader can load it.
///
/// Call it once, at the top level of your crate's `lib.rs`, with your type:
/// `challenge_harness::export_rate_limiter!(MyLimiter);`. It defines the entry symbol
/// `challenge_rate_limiter_v1`; your `Cargo.toml` must say `crate-type = ["cdylib"]`.
#[macro_export]
macro_rules! export_rate_limiter {
    ($ty:ty) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn challenge_rate_limiter_v1() -> &'static $crate::ffi::RateLimiterTable {
            static TABLE: $crate::ffi::RateLimiterTable = $crate::shim::rate_limiter_table::<$ty>();
            &TABLE
        }
    };
}

/// Exports an [`LruCache`] implementation so the grader can load it.
///
/// Call it once, at the top level of your crate's `lib.rs`, with your type:
/// `challenge_harness::export_lru_cache!(MyCache);`. It defines the entry symbol
/// `challenge_lru_cache_v1`; your `Cargo.toml` must say `crate-type = ["cdylib"]`.
#[macro_export]
macro_rules! export_lru_cache {
    ($ty:ty) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn challenge_lru_cache_v1() -> &'static $crate::ffi::LruCacheTable {
            static TABLE: $crate::ffi::LruCacheTable = $crate::shim::lru_cache_table::<$ty>();
            &TABLE
        }
    };
}

/// Exports a [`ConnectionPool`] implementation so the grader can load it.
///
/// Call it once, at the top level of your crate's `lib.rs`, with your type:
/// `challenge_harness::export_connection_pool!(MyPool);`. It defines the entry symbol
/// `challenge_connection_pool_v1`; your `Cargo.toml` must say `crate-type = ["cdylib"]`.
#[macro_export]
macro_rules! export_connection_pool {
    ($ty:ty) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn challenge_connection_pool_v1() -> &'static $crate::ffi::ConnectionPoolTable {
            static TABLE: $crate::ffi::ConnectionPoolTable = $crate::shim::connection_pool_table::<$ty>();
            &TABLE
        }
    };
}

/// Exports a [`MessageQueue`] implementation so the grader can load it.
///
/// Call it once, at the top level of your crate's `lib.rs`, with your type:
/// `challenge_harness::export_message_queue!(MyQueue);`. It defines the entry symbol
/// `challenge_message_queue_v1`; your `Cargo.toml` must say `crate-type = ["cdylib"]`.
#[macro_export]
macro_rules! export_message_queue {
    ($ty:ty) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn challenge_message_queue_v1() -> &'static $crate::ffi::MessageQueueTable {
            static TABLE: $crate::ffi::MessageQueueTable = $crate::shim::message_queue_table::<$ty>();
            &TABLE
        }
    };
}

/// Exports a [`MigrationRunner`] implementation so the grader can load it.
///
/// Call it once, at the top level of your crate's `lib.rs`, with your type:
/// `challenge_harness::export_migration_runner!(MyRunner);`. It defines the entry symbol
/// `challenge_migration_runner_v1`; your `Cargo.toml` must say `crate-type = ["cdylib"]`.
#[macro_export]
macro_rules! export_migration_runner {
    ($ty:ty) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn challenge_migration_runner_v1() -> &'static $crate::ffi::MigrationRunnerTable {
            static TABLE: $crate::ffi::MigrationRunnerTable = $crate::shim::migration_runner_table::<$ty>();
            &TABLE
        }
    };
}
