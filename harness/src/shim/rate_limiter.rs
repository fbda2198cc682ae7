//! The rate limiter's `extern "C"` shims, instantiated by `export_rate_limiter!`.

use core::ffi::c_void;
use core::time::Duration;

use super::guard::{guarded, nanos, unit, write_out};
use crate::ffi::{
    AbiHeader, DecisionC, HostApi, RateLimiterConfigC, RateLimiterTable, Status, Str, STATUS_COST_EXCEEDS_CAPACITY,
    STATUS_INVALID_CONFIG,
};
use crate::{Algorithm, Clock, RateLimiter, RateLimiterConfig};

/// `RateLimiterTable::create` for `T`.
pub extern "C" fn rate_limiter_create<T: RateLimiter>(
    host: *const HostApi,
    config: RateLimiterConfigC,
    out: *mut *mut c_void,
) -> Status {
    let Some(algorithm) = Algorithm::from_code(config.algorithm) else { return STATUS_INVALID_CONFIG };
    let config =
        RateLimiterConfig { algorithm, limit: config.limit, window: Duration::from_nanos(config.window_nanos) };
    // SAFETY: the host's `HostApi` is leaked for the life of the worker.
    let clock = Clock::from_host(unsafe { &*host });
    write_out(out, guarded(host, || Box::into_raw(Box::new(T::new(config, clock))).cast()))
}

/// `RateLimiterTable::try_acquire` for `T`.
pub extern "C" fn rate_limiter_try_acquire<T: RateLimiter>(
    host: *const HostApi,
    this: *const c_void,
    key: Str,
    cost: u64,
    out: *mut DecisionC,
) -> Status {
    // SAFETY: `this` came from `rate_limiter_create::<T>`; `key` is borrowed for this call.
    let (limiter, key) = unsafe { (&*this.cast::<T>(), key.as_str()) };
    let decision = guarded(host, || limiter.try_acquire(key, cost)).and_then(|decision| match decision {
        Ok(d) => Ok(DecisionC {
            allowed: d.allowed,
            remaining: d.remaining,
            retry_after_nanos: nanos(d.retry_after),
            reset_after_nanos: nanos(d.reset_after),
        }),
        Err(_) => Err(STATUS_COST_EXCEEDS_CAPACITY),
    });
    write_out(out, decision)
}

/// `RateLimiterTable::cleanup` for `T`.
pub extern "C" fn rate_limiter_cleanup<T: RateLimiter>(host: *const HostApi, this: *const c_void) -> Status {
    // SAFETY: `this` came from `rate_limiter_create::<T>`.
    let limiter = unsafe { &*this.cast::<T>() };
    unit(guarded(host, || limiter.cleanup()))
}

/// `RateLimiterTable::tracked_keys` for `T`.
pub extern "C" fn rate_limiter_tracked_keys<T: RateLimiter>(
    host: *const HostApi,
    this: *const c_void,
    out: *mut u64,
) -> Status {
    // SAFETY: `this` came from `rate_limiter_create::<T>`.
    let limiter = unsafe { &*this.cast::<T>() };
    write_out(out, guarded(host, || limiter.tracked_keys() as u64))
}

/// `RateLimiterTable::destroy` for `T`: frees with the plugin's own allocator.
pub extern "C" fn rate_limiter_destroy<T: RateLimiter>(host: *const HostApi, this: *mut c_void) -> Status {
    // SAFETY: `this` came from `Box::into_raw` in `rate_limiter_create::<T>` and is destroyed once.
    let limiter = unsafe { Box::from_raw(this.cast::<T>()) };
    unit(guarded(host, move || drop(limiter)))
}

/// The table [`crate::export_rate_limiter!`] exports for `T`.
pub const fn rate_limiter_table<T: RateLimiter>() -> RateLimiterTable {
    RateLimiterTable {
        header: AbiHeader::for_table::<RateLimiterTable>(),
        create: rate_limiter_create::<T>,
        try_acquire: rate_limiter_try_acquire::<T>,
        cleanup: rate_limiter_cleanup::<T>,
        tracked_keys: rate_limiter_tracked_keys::<T>,
        destroy: rate_limiter_destroy::<T>,
    }
}
