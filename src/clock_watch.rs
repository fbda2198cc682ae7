//! Counting the system-clock reads a learner's code makes inside the worker.
//!
//! Time in a scenario is virtual, so a solution that reads `std::time::Instant` or `SystemTime`
//! is wrong, and its failures look like off-by-microseconds noise. This executable defines and
//! exports `clock_gettime` itself (see build.rs); a plugin's own copy of std resolves the symbol
//! through the executable first, so every read lands here, is counted, and is forwarded to the
//! kernel unchanged. The grader's own timing uses the raw syscall, so the count is the learner's.

use std::sync::atomic::{AtomicU64, Ordering};

static READS: AtomicU64 = AtomicU64::new(0);

/// System-clock reads made in this process since it started.
pub fn reads() -> u64 {
    READS.load(Ordering::Relaxed)
}

/// The interposed libc function: count, then do what libc would.
///
/// # Safety
/// Same contract as libc's `clock_gettime`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_gettime(clock: libc::clockid_t, time: *mut libc::timespec) -> libc::c_int {
    READS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: forwarding the caller's arguments to the kernel.
    unsafe { libc::syscall(libc::SYS_clock_gettime, clock, time) as libc::c_int }
}
