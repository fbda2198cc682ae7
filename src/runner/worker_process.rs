//! Spawning one worker process for one scenario (`challenge-worker`, or `challenge __worker`
//! where that is missing), under resource limits, and collecting everything it did: its records
//! (from fd 3), a capped prefix of its stdout and stderr, how it ended, and at a timeout how much
//! CPU it had used. Deciding what that means is `verdict`'s job.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use challenge_graders::wire::{Job, Record, RECORD_FD};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

use crate::spec::ResourceLimits;

/// The executable a worker runs: the learner's library is loaded into it, so whatever it carries
/// the learner's code can read (`/proc/self/exe`, or its own memory).
#[derive(Clone, Debug)]
pub enum WorkerExe {
    /// `challenge-worker`, beside this executable: built without the catalogue, so neither hidden
    /// scenarios nor the reference solutions' sources are in it.
    Dedicated(PathBuf),
    /// This executable run as `challenge __worker`, for want of `challenge-worker` (`cargo run`
    /// builds only the binary it runs): it carries the whole catalogue.
    Itself(PathBuf),
}

/// The dedicated worker's file name.
const WORKER_BINARY: &str = "challenge-worker";

impl WorkerExe {
    /// `challenge-worker` beside this executable if it is there, else this executable.
    pub fn locate() -> std::io::Result<WorkerExe> {
        let exe = std::env::current_exe()?;
        let dedicated = exe.with_file_name(WORKER_BINARY);
        Ok(if dedicated.is_file() { WorkerExe::Dedicated(dedicated) } else { WorkerExe::Itself(exe) })
    }

    /// What carries the catalogue on disk when workers run another executable, for the sandbox
    /// to hide: the grader's own executable, or, where it sits in a cargo profile directory
    /// (`target/release`), every profile directory of that target dir (`deps/` holds hard links
    /// to the executable and the library it was linked from, and `target/debug` a build of its
    /// own). The worker executable among them is bound back alone.
    pub fn catalogue_carriers(&self) -> Vec<PathBuf> {
        let WorkerExe::Dedicated(_) = self else { return Vec::new() };
        let Ok(exe) = std::env::current_exe() else { return Vec::new() };
        let is_profile = |dir: &Path| dir.join(".fingerprint").is_dir();
        match exe.parent().filter(|p| is_profile(p)).and_then(Path::parent) {
            Some(target) => {
                let entries = std::fs::read_dir(target).into_iter().flatten().flatten();
                entries.map(|e| e.path()).filter(|dir| is_profile(dir)).collect()
            }
            None => vec![exe],
        }
    }

    /// The executable a worker runs.
    pub fn path(&self) -> &Path {
        self.program().0
    }

    fn program(&self) -> (&Path, &'static [&'static str]) {
        match self {
            WorkerExe::Dedicated(path) => (path, &[]),
            WorkerExe::Itself(path) => (path, &["__worker"]),
        }
    }

    /// One clause for the isolation line.
    pub fn summary(&self) -> String {
        match self {
            WorkerExe::Dedicated(_) => format!("workers run {WORKER_BINARY}, which carries no catalogue"),
            WorkerExe::Itself(exe) => format!(
                "workers run {} itself, which carries the catalogue, hidden scenarios and reference sources included, where a submission can read them: `cargo build --release` builds {WORKER_BINARY} beside it",
                exe.display()
            ),
        }
    }
}

/// The limits one worker runs under.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Wall-clock limit; the whole process group is killed after it.
    pub wall: Duration,
    /// `RLIMIT_AS` in bytes (address space, not resident memory).
    pub address_space: u64,
    /// `RLIMIT_CPU` soft limit in seconds; the hard limit is 2 s higher so SIGXCPU comes first.
    pub cpu_seconds: u64,
    /// `RLIMIT_FSIZE` in bytes.
    pub file_size: u64,
    /// `RLIMIT_NOFILE`.
    pub open_files: u64,
    /// Bytes of stdout and of stderr kept for the report.
    pub output_kept: usize,
    /// Bytes of stdout plus stderr after which the worker is killed.
    pub output_max: u64,
}

impl Limits {
    /// Limits for a worker with wall-clock `timeout` and the spec's other `resources`.
    pub fn new(timeout: Duration, resources: &ResourceLimits) -> Limits {
        Limits {
            wall: timeout,
            address_space: resources.memory,
            // RLIMIT_CPU counts whole seconds: round up, so the limit is never below the spec's.
            cpu_seconds: resources.cpu.as_nanos().div_ceil(1_000_000_000).max(1) as u64,
            file_size: 16 << 20,
            open_files: 256,
            output_kept: 16 << 10,
            output_max: resources.output,
        }
    }

    /// The CPU-time limit in force.
    pub fn cpu(&self) -> Duration {
        Duration::from_secs(self.cpu_seconds)
    }
}

/// How the worker process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It exited (or was killed by a signal) on its own.
    Exited,
    /// We killed it at the wall-clock limit.
    TimedOut,
    /// We killed it for printing too much.
    OutputFlood,
}

/// A bounded prefix of one output stream.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    /// The first `output_kept` bytes.
    pub head: Vec<u8>,
    /// Bytes seen in all.
    pub total: u64,
}

impl Captured {
    /// The kept bytes as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }
}

/// Everything observed about one worker run.
#[derive(Debug)]
pub struct WorkerRun {
    /// Parsed records, in order.
    pub records: Vec<Record>,
    /// How it ended.
    pub ending: Ending,
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stdout.
    pub stdout: Captured,
    /// Its stderr.
    pub stderr: Captured,
    /// Wall time.
    pub elapsed: Duration,
    /// Processes the learner's code left running outside the worker's process group, which the
    /// grader found and killed after the worker ended.
    pub strays: usize,
    /// Lines on the record pipe without the job's key: forgeries, ignored.
    pub forged: usize,
    /// At a timeout, the CPU time its processes had used (see [`cpu_time`]).
    pub cpu: Option<Duration>,
}

impl WorkerRun {
    /// The observations the worker sent, in order.
    pub fn observations(&self) -> Vec<challenge_graders::Observation> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Observation(o) => Some(o.clone()),
                _ => None,
            })
            .collect()
    }

    /// System-clock reads the worker reported (0 if it died before reporting).
    pub fn clock_reads(&self) -> u64 {
        self.records
            .iter()
            .find_map(|r| match r {
                Record::ClockReads { count } => Some(*count),
                _ => None,
            })
            .unwrap_or(0)
    }
}

/// Time allowed for pipes to drain after the process group is gone.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Runs `job` in a fresh worker process under `limits`.
/// Inside the sandbox when there is one, unable to see `hidden`.
pub async fn run(exe: &WorkerExe, job: &Job, limits: Limits, hidden: &[&Path]) -> std::io::Result<WorkerRun> {
    let key = fresh_key();
    let job_json = serde_json::to_vec(&Job { key, ..job.clone() }).map_err(std::io::Error::other)?;
    let (records_read, records_write) = pipe()?;
    let write_fd = records_write.as_raw_fd();

    let token = worker_token();
    let isolation = crate::sandbox::current();
    let needs: Vec<&Path> = [Some(job.learner.as_path()), job.reference.as_deref()].into_iter().flatten().collect();
    let (program, args) = exe.program();
    let mut cmd = isolation.command(program, &[], &needs, hidden);
    cmd.args(args)
        .env_clear()
        // Inherited by everything the worker starts, so what escapes its process group can
        // still be found (see `sweep`).
        .env(TOKEN_VAR, &token)
        // One malloc arena per thread would eat the address-space limit in reservations alone.
        .env("MALLOC_ARENA_MAX", "2")
        .env("RUST_BACKTRACE", "0")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // SAFETY: `limit_child` only makes async-signal-safe calls and allocates nothing.
    unsafe {
        cmd.pre_exec(move || limit_child(write_fd, &limits));
    }
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    drop(records_write);
    let pgid = child.id().map(|id| id as i32);

    let mut stdin = child.stdin.take().expect("stdin is piped");
    tokio::spawn(async move {
        // A worker that dies before reading its job is reported by its exit, not by this write.
        let _ = stdin.write_all(&job_json).await;
    });
    let flood = Arc::new(Notify::new());
    let stdout = tokio::spawn(drain(child.stdout.take().expect("stdout is piped"), limits, Arc::clone(&flood)));
    let stderr = tokio::spawn(drain(child.stderr.take().expect("stderr is piped"), limits, Arc::clone(&flood)));
    let records = tokio::spawn(read_records(records_read, key));

    let ending = tokio::select! {
        _ = child.wait() => Ending::Exited,
        _ = tokio::time::sleep(limits.wall) => Ending::TimedOut,
        _ = flood.notified() => Ending::OutputFlood,
    };
    // Read before the kill, while the processes still count it.
    let cpu = (ending == Ending::TimedOut).then(|| cpu_time(&token)).flatten();
    if let Some(pgid) = pgid {
        // Kill the group even after a normal exit: the learner may have left processes behind.
        // SAFETY: signalling a process group we created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let status = isolation.unwrap_status(child.wait().await?);
    // Inside the sandbox the worker's PID namespace dies with it, taking every process in it
    // along; the sweep there only catches that teardown mid-way, so it kills but reports
    // nothing. Unconfined, what it finds escaped the process group, and the learner is told.
    let swept = sweep(&token);
    let strays = if isolation.is_confined() { 0 } else { swept };
    let elapsed = started.elapsed();
    let (records, forged) =
        tokio::time::timeout(DRAIN_GRACE, records).await.ok().and_then(Result::ok).unwrap_or_default();
    let stdout = tokio::time::timeout(DRAIN_GRACE, stdout).await.ok().and_then(Result::ok).unwrap_or_default();
    let stderr = tokio::time::timeout(DRAIN_GRACE, stderr).await.ok().and_then(Result::ok).unwrap_or_default();
    Ok(WorkerRun { records, ending, status, stdout, stderr, elapsed, strays, forged, cpu })
}

/// The processes that carry the worker's token, by pid.
fn marked(token: &str) -> Vec<std::path::PathBuf> {
    let needle = format!("{TOKEN_VAR}={token}\0");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .map(|e| e.path())
        .filter(|dir| std::fs::read(dir.join("environ")).is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes())))
        .collect()
}

/// User plus system CPU time of every process that carries the worker's token, all threads
/// included (`/proc/PID/stat`, fields 14 and 15); `None` if none could be read.
fn cpu_time(token: &str) -> Option<Duration> {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks <= 0 {
        return None;
    }
    let used: Vec<u64> = marked(token)
        .iter()
        .filter_map(|dir| {
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // The command name may hold spaces: count fields after its closing parenthesis,
            // where field 3 (the state) comes first.
            let mut fields = stat.rsplit_once(") ")?.1.split(' ');
            let utime: u64 = fields.nth(11)?.parse().ok()?;
            let stime: u64 = fields.next()?.parse().ok()?;
            Some(utime + stime)
        })
        .collect();
    (!used.is_empty()).then(|| Duration::from_secs_f64(used.iter().sum::<u64>() as f64 / ticks as f64))
}

/// The environment variable that marks a worker's processes.
const TOKEN_VAR: &str = "CHALLENGE_WORKER";

/// A value of [`TOKEN_VAR`] no other worker, in this grader or another, carries.
fn worker_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Kills every process that still carries the worker's token in its environment: what the
/// learner's code left behind outside the worker's process group (a daemon that called
/// `setsid`). Passes repeat until one finds nothing, since a stray may fork while we look.
/// Returns how many were killed. A process that replaced its environment escapes this; inside
/// the bubblewrap sandbox, the worker's PID namespace takes everything down with it instead.
fn sweep(token: &str) -> usize {
    let mut killed = 0;
    for _ in 0..10 {
        let mut found = 0;
        for pid in marked(token).iter().filter_map(|dir| dir.file_name()?.to_str()?.parse::<i32>().ok()) {
            // SAFETY: signalling a process that carries our worker's token.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                found += 1;
            }
        }
        if found == 0 {
            break;
        }
        killed += found;
        std::thread::sleep(Duration::from_millis(10));
    }
    killed
}

/// Runs in the forked child before `exec`.
fn limit_child(write_fd: RawFd, limits: &Limits) -> std::io::Result<()> {
    let check = |rc: libc::c_int| if rc < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) };
    let set = |resource, soft: u64, hard: u64| {
        let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
        // SAFETY: plain syscall with a valid pointer.
        check(unsafe { libc::setrlimit(resource, &limit) })
    };
    // SAFETY: plain syscalls on descriptors this process owns.
    unsafe {
        if write_fd == RECORD_FD {
            check(libc::fcntl(write_fd, libc::F_SETFD, 0))?;
        } else {
            check(libc::dup2(write_fd, RECORD_FD))?;
        }
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL))?;
    }
    set(libc::RLIMIT_AS, limits.address_space, limits.address_space)?;
    set(libc::RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 2)?;
    set(libc::RLIMIT_FSIZE, limits.file_size, limits.file_size)?;
    set(libc::RLIMIT_NOFILE, limits.open_files, limits.open_files)?;
    set(libc::RLIMIT_CORE, 0, 0)
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills both descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: freshly created descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

async fn drain(mut stream: impl AsyncRead + Unpin, limits: Limits, flood: Arc<Notify>) -> Captured {
    let mut captured = Captured::default();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return captured,
            Ok(n) => {
                let room = limits.output_kept.saturating_sub(captured.head.len());
                captured.head.extend_from_slice(&buf[..n.min(room)]);
                let before = captured.total;
                captured.total += n as u64;
                if before <= limits.output_max && captured.total > limits.output_max {
                    flood.notify_one();
                }
            }
        }
    }
}

/// Reads records until the pipe closes. Lines that are not records are dropped: only the worker
/// writes here, and a verdict never rests on a record's absence alone except `Done`.
/// The genuine records on the pipe, and how many lines lacked `key`.
async fn read_records(fd: OwnedFd, key: u64) -> (Vec<Record>, usize) {
    let (mut records, mut forged) = (Vec::new(), 0);
    let Ok(pipe) = tokio::net::unix::pipe::Receiver::from_owned_fd(fd) else { return (records, forged) };
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match challenge_graders::wire::parse_record_line(key, &line) {
            Ok(Some(record)) => records.push(record),
            Ok(None) => {}
            Err(()) => forged += 1,
        }
    }
    (records, forged)
}

/// A key no one outside this process can predict, from the kernel's random source (with a
/// clock-and-pid fallback, which still differs per worker).
fn fresh_key() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            challenge_harness::ffi::fnv1a(format!("{}-{}-{}", now.as_nanos(), std::process::id(), worker_token()).as_bytes())
        }
    }
}
