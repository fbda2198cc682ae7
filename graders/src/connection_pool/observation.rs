//! What the worker saw the learner's pool do, and what the host's factory counted meanwhile:
//! plain data, streamed to the parent, which alone decides the verdict.

use serde::{Deserialize, Serialize};

use crate::Nanos;

/// The pool's counters, as `stats()` returned them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// `open`.
    pub open: u64,
    /// `idle`.
    pub idle: u64,
    /// `in_use`.
    pub in_use: u64,
    /// `waiting`.
    pub waiting: u64,
    /// `created`.
    pub created: u64,
    /// `closed_broken`.
    pub closed_broken: u64,
    /// `closed_invalid`.
    pub closed_invalid: u64,
    /// `closed_lifetime`.
    pub closed_lifetime: u64,
    /// `closed_idle`.
    pub closed_idle: u64,
    /// `closed_shutdown`.
    pub closed_shutdown: u64,
    /// `timeouts`.
    pub timeouts: u64,
}

impl Stats {
    /// Every `closed_*` counter added up.
    pub fn closed(&self) -> u64 {
        self.closed_broken + self.closed_invalid + self.closed_lifetime + self.closed_idle + self.closed_shutdown
    }

    /// `(name, value)` for every counter, in the trait's order.
    pub fn fields(&self) -> [(&'static str, u64); 11] {
        [
            ("open", self.open),
            ("idle", self.idle),
            ("in_use", self.in_use),
            ("waiting", self.waiting),
            ("created", self.created),
            ("closed_broken", self.closed_broken),
            ("closed_invalid", self.closed_invalid),
            ("closed_lifetime", self.closed_lifetime),
            ("closed_idle", self.closed_idle),
            ("closed_shutdown", self.closed_shutdown),
            ("timeouts", self.timeouts),
        ]
    }
}

/// What the host's factory knows, whatever the pool says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCounts {
    /// Connections open now.
    pub alive: u64,
    /// Of those, lent to a caller now.
    pub lent: u64,
    /// Connections opened.
    pub created: u64,
    /// Connections closed.
    pub closed: u64,
    /// The most connections open or being opened at one instant.
    pub peak: u64,
}

/// What one call on the pool returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// `acquire` lent connection `id`.
    Acquired {
        /// The connection's id.
        id: u64,
        /// Whether the factory opened it during this call.
        fresh: bool,
        /// Real time the call took, in nanoseconds.
        took: u64,
    },
    /// `acquire` returned an error.
    Refused {
        /// Which.
        error: PoolError,
        /// Real time the call took, in nanoseconds.
        took: u64,
    },
    /// `release`, `maintain`, `close`, a host action.
    Done,
    /// `stats()`.
    Stats(Stats),
    /// A query on a lent connection: `None` when it succeeded, else SQLite's message.
    Query(Option<String>),
    /// The learner's code panicked.
    Panic {
        /// The panic message.
        message: String,
    },
}

/// `PoolError` as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolError {
    /// `Timeout`.
    Timeout,
    /// `Closed`.
    Closed,
    /// `Factory(message)`.
    Factory(String),
}

impl Outcome {
    /// The outcome as a learner would read a return value.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Acquired { id, fresh: true, .. } => format!("Ok(connection {id}, newly opened)"),
            Outcome::Acquired { id, fresh: false, .. } => format!("Ok(connection {id})"),
            Outcome::Refused { error: PoolError::Timeout, took } => {
                format!("Err(PoolError::Timeout) after {}", Nanos(*took))
            }
            Outcome::Refused { error: PoolError::Closed, .. } => "Err(PoolError::Closed)".to_owned(),
            Outcome::Refused { error: PoolError::Factory(m), .. } => format!("Err(PoolError::Factory({m:?}))"),
            Outcome::Done => "()".to_owned(),
            Outcome::Stats(s) => s.fields().iter().map(|(n, v)| format!("{n} {v}")).collect::<Vec<_>>().join(" · "),
            Outcome::Query(None) => "the query succeeded".to_owned(),
            Outcome::Query(Some(e)) => format!("the query failed: {e}"),
            Outcome::Panic { message } => format!("panic: {message}"),
        }
    }

    /// Whether the learner's code panicked (the scenario stops there).
    pub fn is_panic(&self) -> bool {
        matches!(self, Outcome::Panic { .. })
    }

    /// The panic message, if this is one.
    pub fn panic(&self) -> Option<&str> {
        match self {
            Outcome::Panic { message } => Some(message),
            _ => None,
        }
    }

    /// Real time an `acquire` took.
    pub fn took(&self) -> Option<Nanos> {
        match self {
            Outcome::Acquired { took, .. } | Outcome::Refused { took, .. } => Some(Nanos(*took)),
            _ => None,
        }
    }
}

/// The pool and the host side by side when nothing is in progress, and every rule the host saw
/// broken before then.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// `stats()`, or its panic message.
    pub stats: Option<Stats>,
    /// A panic in `stats()`.
    pub panic: Option<String>,
    /// The host's count.
    pub host: HostCounts,
    /// Rules the host saw broken, in order ("lent connection 3, which another caller holds").
    pub violations: Vec<String>,
}

/// One observation record from a pool scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// A script step is about to run: if the worker dies before the matching `Step`, this names
    /// the call that never returned.
    StepStarted {
        /// 0-based step index.
        index: usize,
        /// Virtual time when it starts.
        at: Nanos,
    },
    /// A script step finished.
    Step {
        /// 0-based step index.
        index: usize,
        /// Virtual time when it ran.
        at: Nanos,
        /// What came back.
        outcome: Outcome,
        /// The host's count after it.
        host: HostCounts,
        /// Rules the host saw broken during it.
        violations: Vec<String>,
    },
    /// A check is about to do something that may block: names it for a timeout's report.
    Phase {
        /// What, in a learner's words.
        what: String,
    },
    /// One named case of a check: what each caller got, and what it took.
    Case {
        /// The case, as the report names it.
        name: String,
        /// Each caller's outcome, in the check's order.
        outcomes: Vec<Outcome>,
        /// Measurements the judge needs (named real times, orders, counts).
        facts: Vec<(String, u64)>,
        /// The pool and the host afterwards.
        audit: Audit,
        /// After every connection came back and `close()`: the host's count shows leaks. `None`
        /// when a panic cut the case short.
        after_close: Option<Audit>,
    },
    /// At the end of every scenario: every connection returned, then `close()`; the host's count
    /// afterwards shows leaks.
    Closed(Audit),
    /// `performance`: per-trial wall times.
    Timing {
        /// The learner's trials, in nanoseconds.
        learner_nanos: Vec<u64>,
        /// The reference's trials, in nanoseconds.
        reference_nanos: Vec<u64>,
        /// A panic in the learner's pool.
        panic: Option<String>,
    },
}


crate::scenario::progress!(Observation, phase);
