//! `challenge __worker`: the process that loads a learner's library. It reads one job from
//! stdin, writes records to fd 3 and exits. It never prints and never judges.

use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::process::ExitCode;

use challenge_graders::wire::{Job, Record, RECORD_FD};

/// Runs the job on stdin. Only the parent starts this, with fd 3 open for records.
pub fn worker_main() -> ExitCode {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return ExitCode::from(crate::exit::INTERNAL);
    }
    let Ok(job) = serde_json::from_slice::<Job>(&input) else { return ExitCode::from(crate::exit::INTERNAL) };
    // Move the record pipe off the documented descriptor before any learner code runs (see
    // `wire`): a write to fd 3 then fails, and the new descriptor depends on the key (100 to 199,
    // under the worker's RLIMIT_NOFILE of 256).
    // SAFETY: the parent opened RECORD_FD for us and nothing else in this process owns it.
    let moved = unsafe { libc::fcntl(RECORD_FD, libc::F_DUPFD_CLOEXEC, 100 + (job.key % 100) as libc::c_int) };
    if moved < 0 {
        return ExitCode::from(crate::exit::INTERNAL);
    }
    // SAFETY: as above; `moved` is ours alone from here on.
    let records = unsafe {
        libc::close(RECORD_FD);
        std::fs::File::from_raw_fd(moved)
    };
    let mut emit = |record| {
        let mut line = challenge_graders::wire::record_line(job.key, &record).into_bytes();
        line.push(b'\n');
        // If the parent has gone, there is no one to tell.
        let _ = (&records).write_all(&line);
    };
    let reads_before = crate::clock_watch::reads();
    // SAFETY: we are the worker process, under the limits the parent set before exec.
    unsafe { challenge_graders::run_job(&job, &mut emit) };
    emit(Record::ClockReads { count: crate::clock_watch::reads() - reads_before });
    ExitCode::SUCCESS
}
