//! What the worker saw the learner's limiter do: plain data, streamed to the parent, which alone
//! decides the verdict.

use serde::{Deserialize, Serialize};

use crate::Nanos;

/// The result of one `try_acquire`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// `Ok(Decision)`.
    Decision {
        /// `allowed`.
        allowed: bool,
        /// `remaining`.
        remaining: u64,
        /// `retry_after`.
        retry_after: Nanos,
        /// `reset_after`.
        reset_after: Nanos,
    },
    /// `Err(CostExceedsCapacity)`.
    CostExceedsCapacity,
    /// The call panicked.
    Panic {
        /// The panic message.
        message: String,
    },
}

impl Outcome {
    /// Whether the call was allowed.
    pub fn allowed(&self) -> bool {
        matches!(self, Outcome::Decision { allowed: true, .. })
    }
}

/// One observation record from a rate limiter scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// A script step is about to run: if the worker dies before the matching `Step`, this names
    /// the call that never returned.
    StepStarted {
        /// 0-based step index.
        index: usize,
        /// Scenario time when it starts.
        at: Nanos,
    },
    /// A script step finished.
    Step {
        /// 0-based step index.
        index: usize,
        /// Scenario time when it ran (the last call's, for multi-call steps).
        at: Nanos,
        /// What came back.
        observed: Observed,
    },
    /// One round of `concurrent-frozen`.
    Round(Round),
    /// Every outcome of a `differential` trace, in order.
    Trace {
        /// One per traced call.
        outcomes: Vec<Outcome>,
    },
    /// `performance`: per-trial wall times in nanoseconds, and what each side admitted.
    Timing {
        /// The learner's trials.
        learner_nanos: Vec<u64>,
        /// The reference's trials.
        reference_nanos: Vec<u64>,
        /// Calls admitted by the learner in one trial.
        learner_admitted: u64,
        /// Calls admitted by the reference in one trial.
        reference_admitted: u64,
    },
}

/// What a step observed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observed {
    /// `acquire`: one outcome per call; stops at the first panic.
    Calls(Vec<Outcome>),
    /// `burst`, `poll`, `fill-keys`: how many of how many calls were allowed.
    Admitted {
        /// Allowed calls.
        admitted: u64,
        /// Calls made.
        calls: u64,
    },
    /// `cleanup` returned.
    CleanedUp,
    /// `tracked_keys` returned.
    Keys(u64),
    /// A call in the step panicked; the scenario stops here.
    Panic {
        /// The panic message.
        message: String,
    },
}

/// One round of the frozen-clock concurrency check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// Permits left for the contended key when the threads were released.
    pub budget: u64,
    /// Calls made by all threads.
    pub calls: u64,
    /// Calls allowed.
    pub admitted: u64,
    /// Latest start stamp among allowed calls (stamps are a global order consistent with real time).
    pub last_admitted_start: Option<u64>,
    /// Earliest end stamp among denied calls.
    pub first_denied_end: Option<u64>,
    /// A panic in any thread.
    pub panic: Option<String>,
}


crate::scenario::progress!(Observation);
