//! The connection pool's `extern "C"` shims, instantiated by `export_connection_pool!`.
//!
//! A guard crosses the boundary as a boxed `T::Guard` the host holds by pointer; releasing it
//! drops the box inside the plugin, so the learner's `Drop` runs exactly as it would in a real
//! program, and `release_panicking` drops it while this thread really unwinds.

use core::ffi::c_void;
use core::time::Duration;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::guard::{guarded, unit, write_out};
use crate::ffi::{
    AbiHeader, AcquireC, ConnectionPoolTable, FactoryC, HostApi, MessageC, PoolConfigC, PoolStatsC, Status,
    ACQUIRED, ACQUIRE_CLOSED, ACQUIRE_FACTORY, ACQUIRE_TIMEOUT, STATUS_INVALID_CONFIG, STATUS_OK, STATUS_PANIC,
};
use crate::{Clock, ConnectionPool, Factory, PoolConfig, PoolError, PoolStats};

/// The pool behind `this`.
///
/// # Safety
/// `this` must have come from `connection_pool_create::<T>` and not yet been destroyed.
unsafe fn pool<'a, T>(this: *const c_void) -> &'a T {
    &*this.cast::<T>()
}

/// `0` on the wire means "none".
fn optional(nanos: u64) -> Option<Duration> {
    (nanos != 0).then(|| Duration::from_nanos(nanos))
}

/// The payload `release_panicking` unwinds with, so the learner's guard drops mid-panic.
struct BorrowerPanicked;

/// `ConnectionPoolTable::create` for `T`.
pub extern "C" fn connection_pool_create<T: ConnectionPool>(
    host: *const HostApi,
    config: PoolConfigC,
    factory: *const FactoryC,
    out: *mut *mut c_void,
) -> Status {
    let (Ok(max_size), Ok(min_idle)) = (usize::try_from(config.max_size), usize::try_from(config.min_idle)) else {
        return STATUS_INVALID_CONFIG;
    };
    let config = PoolConfig {
        max_size,
        min_idle,
        acquire_timeout: Duration::from_nanos(config.acquire_timeout_nanos),
        idle_timeout: optional(config.idle_timeout_nanos),
        max_lifetime: optional(config.max_lifetime_nanos),
        test_on_checkout: config.test_on_checkout,
    };
    // SAFETY: the host's `HostApi` is leaked for the life of the worker, and its factory outlives
    // the pool built on it.
    let (clock, factory) = unsafe { (Clock::from_host(&*host), Factory::from_host(&*factory)) };
    write_out(out, guarded(host, || Box::into_raw(Box::new(T::new(config, factory, clock))).cast()))
}

/// `ConnectionPoolTable::acquire` for `T`.
pub extern "C" fn connection_pool_acquire<T: ConnectionPool>(
    host: *const HostApi,
    this: *const c_void,
    has_timeout: bool,
    timeout_nanos: u64,
    out: *mut AcquireC,
) -> Status {
    // SAFETY: see `pool`.
    let pool = unsafe { pool::<T>(this) };
    let timeout = has_timeout.then(|| Duration::from_nanos(timeout_nanos));
    let result = guarded(host, || {
        let refused = |outcome, message: &str| AcquireC {
            outcome,
            guard: core::ptr::null_mut(),
            connection: 0,
            message: MessageC::new(message),
        };
        match pool.acquire(timeout) {
            Ok(guard) => {
                let connection = guard.id();
                let guard = Box::into_raw(Box::new(guard)).cast();
                AcquireC { outcome: ACQUIRED, guard, connection, message: MessageC::EMPTY }
            }
            Err(PoolError::Timeout) => refused(ACQUIRE_TIMEOUT, ""),
            Err(PoolError::Closed) => refused(ACQUIRE_CLOSED, ""),
            Err(PoolError::Factory(message)) => refused(ACQUIRE_FACTORY, &message),
        }
    });
    write_out(out, result)
}

/// `ConnectionPoolTable::release` for `T`: the learner's guard drops.
pub extern "C" fn connection_pool_release<T: ConnectionPool>(host: *const HostApi, guard: *mut c_void) -> Status {
    // SAFETY: `guard` came from `Box::into_raw` in `connection_pool_acquire::<T>` and is released once.
    let guard = unsafe { Box::from_raw(guard.cast::<T::Guard>()) };
    unit(guarded(host, move || drop(guard)))
}

/// `ConnectionPoolTable::release_panicking` for `T`: the guard drops during a real unwind, as
/// when a borrower's code panics while holding it.
pub extern "C" fn connection_pool_release_panicking<T: ConnectionPool>(
    _host: *const HostApi,
    guard: *mut c_void,
) -> Status {
    // SAFETY: as in `connection_pool_release`.
    let guard = unsafe { Box::from_raw(guard.cast::<T::Guard>()) };
    let unwound = catch_unwind(AssertUnwindSafe(move || {
        let _held = guard;
        std::panic::resume_unwind(Box::new(BorrowerPanicked));
    }));
    match unwound {
        Err(payload) if payload.is::<BorrowerPanicked>() => STATUS_OK,
        // A learner's `Drop` that panics while unwinding aborts the process before this point.
        Err(_) | Ok(()) => STATUS_PANIC,
    }
}

/// `ConnectionPoolTable::maintain` for `T`.
pub extern "C" fn connection_pool_maintain<T: ConnectionPool>(host: *const HostApi, this: *const c_void) -> Status {
    // SAFETY: see `pool`.
    let pool = unsafe { pool::<T>(this) };
    unit(guarded(host, || pool.maintain()))
}

/// `ConnectionPoolTable::close` for `T`.
pub extern "C" fn connection_pool_close<T: ConnectionPool>(host: *const HostApi, this: *const c_void) -> Status {
    // SAFETY: see `pool`.
    let pool = unsafe { pool::<T>(this) };
    unit(guarded(host, || pool.close()))
}

/// `ConnectionPoolTable::stats` for `T`.
pub extern "C" fn connection_pool_stats<T: ConnectionPool>(
    host: *const HostApi,
    this: *const c_void,
    out: *mut PoolStatsC,
) -> Status {
    // SAFETY: see `pool`.
    let pool = unsafe { pool::<T>(this) };
    let stats = guarded(host, || {
        let PoolStats {
            open,
            idle,
            in_use,
            waiting,
            created,
            closed_broken,
            closed_invalid,
            closed_lifetime,
            closed_idle,
            closed_shutdown,
            timeouts,
        } = pool.stats();
        PoolStatsC {
            open,
            idle,
            in_use,
            waiting,
            created,
            closed_broken,
            closed_invalid,
            closed_lifetime,
            closed_idle,
            closed_shutdown,
            timeouts,
        }
    });
    write_out(out, stats)
}

/// `ConnectionPoolTable::destroy` for `T`: frees with the plugin's own allocator.
pub extern "C" fn connection_pool_destroy<T: ConnectionPool>(host: *const HostApi, this: *mut c_void) -> Status {
    // SAFETY: `this` came from `Box::into_raw` in `connection_pool_create::<T>` and is destroyed once.
    let pool = unsafe { Box::from_raw(this.cast::<T>()) };
    unit(guarded(host, move || drop(pool)))
}

/// The table [`crate::export_connection_pool!`] exports for `T`.
pub const fn connection_pool_table<T: ConnectionPool>() -> ConnectionPoolTable {
    ConnectionPoolTable {
        header: AbiHeader::for_table::<ConnectionPoolTable>(),
        create: connection_pool_create::<T>,
        acquire: connection_pool_acquire::<T>,
        release: connection_pool_release::<T>,
        release_panicking: connection_pool_release_panicking::<T>,
        maintain: connection_pool_maintain::<T>,
        close: connection_pool_close::<T>,
        stats: connection_pool_stats::<T>,
        destroy: connection_pool_destroy::<T>,
    }
}
