//! What every shim shares: panics caught and reported, and out-params written.

use core::time::Duration;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ffi::{HostApi, Status, Str, STATUS_LOADER_PANICKED, STATUS_OK, STATUS_PANIC};

/// The panic payload a failed host loader raises inside the learner's `get_or_insert_with`, so
/// that it unwinds through the learner's code exactly as a panicking closure would.
pub(crate) struct LoaderFailed;

/// Runs `f`, turning a panic into [`STATUS_PANIC`] after telling the host its message, or into
/// [`STATUS_LOADER_PANICKED`] when it is the host loader's own failure passing through.
pub(crate) fn guarded<R>(host: *const HostApi, f: impl FnOnce() -> R) -> Result<R, Status> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        if payload.is::<LoaderFailed>() {
            return STATUS_LOADER_PANICKED;
        }
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

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Writes `value` to `out` and returns [`STATUS_OK`], or passes a failed call's status on.
pub(crate) fn write_out<T>(out: *mut T, value: Result<T, Status>) -> Status {
    match value {
        Ok(value) => {
            // SAFETY: the host passes a valid out-param for the duration of the call.
            unsafe { out.write(value) };
            STATUS_OK
        }
        Err(status) => status,
    }
}

/// The status of a call with no out-param.
pub(crate) fn unit(result: Result<(), Status>) -> Status {
    result.map_or_else(|status| status, |()| STATUS_OK)
}
