//! The worker's side of `HostApi`: the virtual clock every plugin reads, and the slot where a
//! plugin's shim drops a panic message just before it returns `STATUS_PANIC`.

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

use challenge_harness::ffi::{HostApi, Str};

use crate::Nanos;

/// Scenario time 0 on the plugin's clock: 1000 days, far from zero so that "time starts at 0"
/// assumptions fail, and a multiple of every window that divides a day.
pub const EPOCH: u64 = 1000 * 86_400 * 1_000_000_000;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The host state behind one `HostApi`. Leaked: plugins may keep the pointer forever.
pub struct Host {
    now: AtomicU64,
    api: HostApi,
}

impl Host {
    /// A host whose clock reads scenario time 0.
    pub fn leak() -> &'static Host {
        let host: &'static mut Host = Box::leak(Box::new(Host {
            now: AtomicU64::new(EPOCH),
            api: HostApi { ctx: std::ptr::null_mut(), now_nanos, report_panic },
        }));
        host.api.ctx = (&host.now as *const AtomicU64).cast_mut().cast::<c_void>();
        host
    }

    /// The table handed to plugins.
    pub fn api(&'static self) -> &'static HostApi {
        &self.api
    }

    /// Moves the clock to scenario time `at` (it may move backwards).
    pub fn set_time(&self, at: Nanos) {
        self.now.store(EPOCH + at.0, Ordering::SeqCst);
    }

    /// The current scenario time.
    pub fn time(&self) -> Nanos {
        Nanos(self.now.load(Ordering::SeqCst) - EPOCH)
    }

    /// The message of the panic this thread's last call reported, if any.
    pub fn take_panic() -> String {
        LAST_PANIC.with(|slot| slot.borrow_mut().take()).unwrap_or_else(|| "panic without a message".to_owned())
    }
}

extern "C" fn now_nanos(ctx: *mut c_void) -> u64 {
    // SAFETY: ctx points at the leaked `Host::now`.
    unsafe { &*ctx.cast::<AtomicU64>() }.load(Ordering::SeqCst)
}

extern "C" fn report_panic(_ctx: *mut c_void, message: Str) {
    // SAFETY: the shim passes a string borrowed for this call; we copy it.
    let message = unsafe { message.as_str() }.to_owned();
    LAST_PANIC.with(|slot| *slot.borrow_mut() = Some(message));
}

/// The real monotonic clock, read by raw syscall: the worker counts every `clock_gettime` call as
/// the learner's, and the grader's own timing must not be among them.
pub fn monotonic_nanos() -> u64 {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer for the duration of the call.
    unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut time) };
    time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64
}
