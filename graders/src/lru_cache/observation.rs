//! What the worker saw the learner's cache do: plain data, streamed to the parent, which alone
//! decides the verdict.

use serde::{Deserialize, Serialize};

use super::call::Outcome;
use super::lin_spec::{LinOp, LinRet};
use super::trace::TracedCall;
use crate::linearizability::Call as HistoryCall;
use crate::Nanos;

/// The cache's lifetime counters, as `metrics()` returned them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// `hits`.
    pub hits: u64,
    /// `misses`.
    pub misses: u64,
    /// `inserts`.
    pub inserts: u64,
    /// `replacements`.
    pub replacements: u64,
    /// `evictions`.
    pub evictions: u64,
    /// `expirations`.
    pub expirations: u64,
}

/// One recorded concurrent history.
pub type History = Vec<HistoryCall<LinOp, LinRet>>;

/// One observation record from a cache scenario.
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
    /// A script step finished: one outcome per call, stopping at the first panic.
    Step {
        /// 0-based step index.
        index: usize,
        /// Scenario time when it ran.
        at: Nanos,
        /// What came back.
        outcomes: Vec<Outcome>,
    },
    /// Every outcome of a `differential` trace, in order, stopping at the first panic.
    Trace {
        /// One per traced call.
        outcomes: Vec<Outcome>,
    },
    /// The worker's proposal for a shortest failing trace, and what the cache returned on it.
    /// The judge replays it through the model before believing it.
    Shrunk {
        /// The calls, each with the clock advance before it.
        calls: Vec<TracedCall>,
        /// What came back.
        outcomes: Vec<Outcome>,
    },
    /// `zipf-hit-ratio`: one character per request, `1` for a hit and `0` for a miss.
    Hits {
        /// The hit string.
        hits: String,
        /// A panic that cut the trace short.
        panic: Option<String>,
    },
    /// `concurrent-invariants`.
    Tally(Tally),
    /// `linearizable`: one run's history.
    History {
        /// 0-based run.
        run: u32,
        /// The calls, stamped.
        calls: History,
        /// A panic in any thread.
        panic: Option<String>,
    },
    /// `loader-once`.
    LoaderOnce {
        /// How many times the loader ran.
        loads: u64,
        /// What each thread's call returned.
        outcomes: Vec<Outcome>,
        /// The counters afterwards.
        metrics: Outcome,
        /// Whether the key held the loaded value afterwards (`peek`).
        after: Outcome,
    },
    /// `loader-does-not-block-others`.
    Blocking {
        /// Whether the calls on the other key finished while the loader was still stalled.
        finished_during_load: bool,
        /// Real time the other calls took, in nanoseconds.
        others_took: u64,
        /// What the stalled `get_or_insert_with` returned.
        loader_call: Outcome,
        /// What the other calls returned.
        others: Vec<Outcome>,
    },
    /// `performance`: per-trial wall times, and the hits each side scored in one trial.
    Timing {
        /// The learner's trials, in nanoseconds.
        learner_nanos: Vec<u64>,
        /// The reference's trials, in nanoseconds.
        reference_nanos: Vec<u64>,
        /// Hits in the learner's last trial.
        learner_hits: u64,
        /// Hits in the reference's last trial.
        reference_hits: u64,
    },
}

/// What all threads of `concurrent-invariants` saw, added up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// `get` calls.
    pub gets: u64,
    /// `get` calls that returned a value.
    pub gets_found: u64,
    /// `put` calls.
    pub puts: u64,
    /// `put` calls that returned a replaced value.
    pub puts_replaced: u64,
    /// `remove` calls that returned a value.
    pub removed: u64,
    /// The largest `len()` any thread sampled.
    pub max_len: u64,
    /// `len()` after every thread finished.
    pub final_len: u64,
    /// `metrics()` after every thread finished.
    pub metrics: Metrics,
    /// A panic in any thread.
    pub panic: Option<String>,
}


crate::scenario::progress!(Observation);
