//! The plugin side of the boundary: generic `extern "C"` shims around a learner's trait impl.
//!
//! The export macros instantiate these for the learner's type. Every shim catches panics, so a
//! learner's bug becomes a reported [`STATUS_PANIC`] instead of an abort, and every pointer the
//! host passes is only borrowed for the call.

use core::ffi::c_void;
use core::time::Duration;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ffi::{
    AbiHeader, DecisionC, HostApi, RateLimiterConfigC, RateLimiterTable, Status, Str, STATUS_COST_EXCEEDS_CAPACITY,
    STATUS_INVALID_CONFIG, STATUS_OK, STATUS_PANIC,
};
use crate::{Algorithm, Clock, RateLimiter, RateLimiterConfig};

/// Runs `f`, turning a panic into [`STATUS_PANIC`] after telling the host its message.
fn guarded<R>(host: *const HostApi, f: impl FnOnce() -> R) -> Result<R, Status> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        report_panic(host, payload);
        STATUS_PANIC
    })
}

fn report_panic(host: *const HostApi, payload: Box<dyn Any + Send>) {
    let message = match payload.downcast_ref::<&str>() {
        Some(s) => (*s).to_owned(),
        None => match payload.downcast_ref::<String>() {
            Some(s) => s.clone(),
            None => "panic with a non-string payload".to_owned(),
        },
    };
    // SAFETY: the host passes a pointer to a `HostApi` that lives for the whole process.
    let host = unsafe { &*host };
    (host.report_panic)(host.ctx, Str::new(&message));
    // A payload whose Drop panics would abort the worker; leaking one payload is harmless.
    core::mem::forget(payload);
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

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
    match guarded(host, || Box::into_raw(Box::new(T::new(config, clock)))) {
        Ok(limiter) => {
            // SAFETY: `out` is a valid out-param for this call.
            unsafe { *out = limiter.cast() };
            STATUS_OK
        }
        Err(status) => status,
    }
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
    match guarded(host, || limiter.try_acquire(key, cost)) {
        Ok(Ok(d)) => {
            let decision = DecisionC {
                allowed: d.allowed,
                remaining: d.remaining,
                retry_after_nanos: nanos(d.retry_after),
                reset_after_nanos: nanos(d.reset_after),
            };
            // SAFETY: `out` is a valid out-param for this call.
            unsafe { *out = decision };
            STATUS_OK
        }
        Ok(Err(_)) => STATUS_COST_EXCEEDS_CAPACITY,
        Err(status) => status,
    }
}

/// `RateLimiterTable::cleanup` for `T`.
pub extern "C" fn rate_limiter_cleanup<T: RateLimiter>(host: *const HostApi, this: *const c_void) -> Status {
    // SAFETY: `this` came from `rate_limiter_create::<T>`.
    let limiter = unsafe { &*this.cast::<T>() };
    guarded(host, || limiter.cleanup()).map_or_else(|status| status, |()| STATUS_OK)
}

/// `RateLimiterTable::tracked_keys` for `T`.
pub extern "C" fn rate_limiter_tracked_keys<T: RateLimiter>(
    host: *const HostApi,
    this: *const c_void,
    out: *mut u64,
) -> Status {
    // SAFETY: `this` came from `rate_limiter_create::<T>`.
    let limiter = unsafe { &*this.cast::<T>() };
    match guarded(host, || limiter.tracked_keys()) {
        Ok(n) => {
            // SAFETY: `out` is a valid out-param for this call.
            unsafe { *out = n as u64 };
            STATUS_OK
        }
        Err(status) => status,
    }
}

/// `RateLimiterTable::destroy` for `T`: frees with the plugin's own allocator.
pub extern "C" fn rate_limiter_destroy<T: RateLimiter>(host: *const HostApi, this: *mut c_void) -> Status {
    // SAFETY: `this` came from `Box::into_raw` in `rate_limiter_create::<T>` and is destroyed once.
    let limiter = unsafe { Box::from_raw(this.cast::<T>()) };
    guarded(host, move || drop(limiter)).map_or_else(|status| status, |()| STATUS_OK)
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
