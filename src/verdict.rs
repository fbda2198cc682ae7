//! The verdict on one scenario: one complete enum, decided in the parent from what the worker
//! reported and how its process ended, each variant with its own plain-language explanation.

use std::time::Duration;

use challenge_graders::plugin::LoadProblem;
use challenge_graders::wire::Record;
use challenge_graders::{Failure, Judgement, Observation, PanicReport, ScenarioBody};

use crate::runner::worker_process::{Ending, Limits, WorkerRun};

/// How one scenario ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every expectation held.
    Pass {
        /// A measurement worth showing.
        note: Option<String>,
    },
    /// An expectation did not hold.
    Fail(Failure),
    /// The learner's code panicked (caught by the harness).
    Panic(PanicReport),
    /// The worker died from a signal.
    Crash {
        /// The signal number.
        signal: i32,
        /// What most likely caused it.
        cause: CrashCause,
    },
    /// The worker exited before the scenario finished.
    Exited {
        /// Its exit code.
        code: i32,
    },
    /// The scenario ran past its wall-clock limit.
    Timeout {
        /// The wall-clock limit.
        limit: Duration,
        /// CPU time the worker's processes had used by then, when it could be read: what tells
        /// a loop (busy, but slowed below the CPU-time limit by a loaded machine) from a
        /// deadlock (idle).
        cpu: Option<Duration>,
    },
    /// The worker's threads together used more CPU time than allowed (SIGXCPU).
    CpuLimit {
        /// The CPU-time limit.
        limit: Duration,
    },
    /// The worker ran out of address space.
    MemoryLimit {
        /// The limit in bytes.
        limit: u64,
    },
    /// The worker printed more than allowed.
    OutputLimit {
        /// The limit in bytes.
        limit: u64,
    },
    /// The submission did not build, so nothing ran.
    BuildError,
    /// The library loaded but does not speak this harness's ABI.
    AbiMismatch {
        /// Why.
        problem: LoadProblem,
    },
    /// The grader itself could not run the scenario: not the learner's fault.
    GraderError {
        /// What went wrong.
        detail: String,
    },
}

/// What a crash signal most likely means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashCause {
    /// Rust's handler reported a stack overflow.
    StackOverflow,
    /// `abort()`, or a panic that could not unwind.
    Abort,
    /// Invalid memory access, or an overflow on a thread the learner spawned.
    Segfault,
    /// The file size limit.
    FileTooLarge,
    /// Anything else.
    Other,
}

impl Verdict {
    /// Whether the scenario earns its points.
    pub fn is_pass(&self) -> bool {
        match self {
            Verdict::Pass { .. } => true,
            Verdict::Fail(_)
            | Verdict::Panic(_)
            | Verdict::Crash { .. }
            | Verdict::Exited { .. }
            | Verdict::Timeout { .. }
            | Verdict::CpuLimit { .. }
            | Verdict::MemoryLimit { .. }
            | Verdict::OutputLimit { .. }
            | Verdict::BuildError
            | Verdict::AbiMismatch { .. }
            | Verdict::GraderError { .. } => false,
        }
    }

    /// The machine-readable name used in JSON and exports.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Pass { .. } => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::Panic(_) => "panic",
            Verdict::Crash { .. } => "crash",
            Verdict::Exited { .. } => "exited",
            Verdict::Timeout { .. } => "timeout",
            Verdict::CpuLimit { .. } => "cpu-limit",
            Verdict::MemoryLimit { .. } => "memory-limit",
            Verdict::OutputLimit { .. } => "output-limit",
            Verdict::BuildError => "build-error",
            Verdict::AbiMismatch { .. } => "abi-mismatch",
            Verdict::GraderError { .. } => "grader-error",
        }
    }

    /// One plain-language sentence: what happened and what to try.
    pub fn explain(&self) -> String {
        match self {
            Verdict::Pass { note } => note.clone().unwrap_or_else(|| "every expectation held".to_owned()),
            Verdict::Fail(failure) => failure.summary.clone(),
            Verdict::Panic(p) => format!("your code panicked: {}", p.message),
            Verdict::Crash { signal, cause } => {
                let name = signal_name(*signal);
                match cause {
                    CrashCause::StackOverflow => format!("stack overflow ({name}): look for unbounded recursion"),
                    CrashCause::Abort => format!("the process aborted ({name}): std::process::abort, or a panic that could not unwind (a panic inside a Drop during a panic?)"),
                    CrashCause::Segfault => format!("segmentation fault ({name}): most often a stack overflow on a thread your code spawned (unbounded recursion), or unsafe code touching invalid memory"),
                    CrashCause::FileTooLarge => format!("the process wrote a file past the size limit ({name})"),
                    CrashCause::Other => format!("the process was killed by {name}"),
                }
            }
            Verdict::Exited { code } => format!(
                "the process exited with code {code} before the scenario finished: does your code call std::process::exit?"
            ),
            Verdict::Timeout { limit, cpu } => {
                let wall = humantime::format_duration(*limit);
                match cpu {
                    Some(cpu) if *cpu >= *limit / 4 => format!(
                        "no result within {wall} (the wall-clock limit), and it was busy all along ({:.1} s of CPU time): look for an infinite loop or a busy-wait",
                        cpu.as_secs_f64()
                    ),
                    Some(cpu) => format!(
                        "no result within {wall} (the wall-clock limit), and it was waiting, not computing ({:.2} s of CPU time): look for a deadlock, a wakeup that never comes, or a wait on real time (time here is virtual)",
                        cpu.as_secs_f64()
                    ),
                    None => format!(
                        "no result within {wall} (the wall-clock limit): look for an infinite loop, a deadlock, or a wait on real time that never comes (time here is virtual)"
                    ),
                }
            }
            Verdict::CpuLimit { limit } => format!(
                "used more than {} of CPU time across its threads (the CPU-time limit): look for threads that spin, busy-wait loops, or a thread spawned per call",
                humantime::format_duration(*limit)
            ),
            Verdict::MemoryLimit { limit } => format!(
                "ran out of memory (the address-space limit, {} MiB): look for unbounded growth, such as state that is never pruned, or one huge allocation",
                limit >> 20
            ),
            Verdict::OutputLimit { limit } => {
                format!("printed more than {} MiB (the output limit): remove debug printing from hot paths", limit >> 20)
            }
            Verdict::BuildError => "the crate did not build, so this scenario did not run".to_owned(),
            Verdict::AbiMismatch { problem } => match problem {
                LoadProblem::MissingExport { symbol } => format!(
                    "the library does not export `{symbol}`: add the export macro line (for example `challenge_harness::export_rate_limiter!(YourType);`) to lib.rs"
                ),
                LoadProblem::HeaderMismatch { .. } => format!(
                    "{problem}: rebuild against the harness this version of challenge ships (`challenge start` writes the right path)"
                ),
                LoadProblem::Open { .. } => format!("{problem}"),
            },
            Verdict::GraderError { detail } => format!("the grader could not run this scenario (not your fault): {detail}"),
        }
    }

    /// Decides the verdict for one scenario's worker run.
    pub fn decide(run: &WorkerRun, body: &ScenarioBody, seed: u64, limits: &Limits) -> Verdict {
        match run.ending {
            Ending::OutputFlood => return Verdict::OutputLimit { limit: limits.output_max },
            Ending::TimedOut => return Verdict::Timeout { limit: limits.wall, cpu: run.cpu },
            Ending::Exited => {}
        }
        let mut observations: Vec<Observation> = Vec::new();
        let mut done = false;
        for record in &run.records {
            match record {
                Record::Loaded => {}
                Record::LoadFailed { reference: false, problem } => {
                    return Verdict::AbiMismatch { problem: problem.clone() }
                }
                Record::LoadFailed { reference: true, problem } => {
                    return Verdict::GraderError { detail: format!("the reference solution failed to load: {problem}") }
                }
                Record::Panicked { message } => return Verdict::Panic(PanicReport::new(message.clone())),
                Record::Observation(o) => observations.push(o.clone()),
                Record::Done => done = true,
                Record::ClockReads { .. } => {}
            }
        }
        if done {
            return match body.judge(seed, &observations) {
                Judgement::Pass { note } => Verdict::Pass { note },
                Judgement::Fail(failure) => Verdict::Fail(failure),
                Judgement::Panic(p) => Verdict::Panic(p),
            };
        }
        Verdict::from_status(run, limits)
    }

    /// The verdict for a worker that stopped without `Done`.
    fn from_status(run: &WorkerRun, limits: &Limits) -> Verdict {
        use std::os::unix::process::ExitStatusExt;
        let stderr = run.stderr.text();
        match (run.status.signal(), run.status.code()) {
            (Some(libc::SIGXCPU), _) => Verdict::CpuLimit { limit: limits.cpu() },
            (Some(libc::SIGABRT), _) if stderr.contains("memory allocation of") => {
                Verdict::MemoryLimit { limit: limits.address_space }
            }
            (Some(signal), _) => {
                let cause = match signal {
                    _ if stderr.contains("has overflowed its stack") => CrashCause::StackOverflow,
                    libc::SIGABRT => CrashCause::Abort,
                    libc::SIGSEGV | libc::SIGBUS => CrashCause::Segfault,
                    libc::SIGXFSZ => CrashCause::FileTooLarge,
                    _ => CrashCause::Other,
                };
                Verdict::Crash { signal, cause }
            }
            (None, Some(code)) => Verdict::Exited { code },
            (None, None) => {
                Verdict::GraderError { detail: "the worker ended with neither a code nor a signal".to_owned() }
            }
        }
    }
}

/// `SIGSEGV`, `SIGABRT`, …
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGKILL => "SIGKILL",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGTERM => "SIGTERM",
        libc::SIGPIPE => "SIGPIPE",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}
