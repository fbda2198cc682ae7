//! What the worker saw the learner's queue do: plain data, streamed to the parent, which alone
//! decides the verdict. Concurrent runs travel as one history of stamped events.

use serde::{Deserialize, Serialize};

use crate::Nanos;

/// The queue's counters, as `stats()` returned them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// `ready`.
    pub ready: u64,
    /// `delayed`.
    pub delayed: u64,
    /// `in_flight`.
    pub in_flight: u64,
    /// `dead`.
    pub dead: u64,
    /// `acked`.
    pub acked: u64,
    /// `retried`.
    pub retried: u64,
}

impl Stats {
    /// Messages the counters account for: the number enqueued, if they are right.
    pub fn accounted(&self) -> u64 {
        self.ready + self.delayed + self.in_flight + self.dead + self.acked
    }

    /// `(name, value)` for every counter, in the trait's order.
    pub fn fields(&self) -> [(&'static str, u64); 6] {
        [
            ("ready", self.ready),
            ("delayed", self.delayed),
            ("in_flight", self.in_flight),
            ("dead", self.dead),
            ("acked", self.acked),
            ("retried", self.retried),
        ]
    }

    /// One line, for reports.
    pub fn describe(&self) -> String {
        self.fields().iter().map(|(n, v)| format!("{n} {v}")).collect::<Vec<_>>().join(" · ")
    }
}

/// One delivery, as `receive` returned it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// The message's id.
    pub id: u64,
    /// The payload, as text (lossy).
    pub payload: String,
    /// `attempt`.
    pub attempt: u32,
    /// The lease token.
    pub token: u64,
}

/// One dead letter, as `dead_letters` returned it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dead {
    /// The message's id.
    pub id: u64,
    /// The payload, as text (lossy).
    pub payload: String,
    /// Whether the payload's bytes are exactly those enqueued under that id.
    pub payload_intact: bool,
    /// `true` for `Rejected`, `false` for `MaxAttempts`.
    pub rejected: bool,
    /// `attempts`.
    pub attempts: u32,
    /// `last_error`.
    pub last_error: String,
    /// `first_failure_at`, as scenario time.
    pub first_failure_at: Nanos,
    /// `dead_at`, as scenario time.
    pub dead_at: Nanos,
}

/// What one call returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// `enqueue`: the id.
    Enqueued(u64),
    /// `receive`: the deliveries, in order.
    Received(Vec<Delivered>),
    /// `ack` or `nack`: whether it took effect.
    Settled(bool),
    /// `dead_letters`.
    DeadLetters(Vec<Dead>),
    /// `redrive`: how many moved.
    Redriven(u64),
    /// `stats`.
    Stats(Stats),
    /// The learner's code panicked.
    Panic {
        /// The panic message.
        message: String,
    },
}

impl Outcome {
    /// The panic message, if this is one.
    pub fn panic(&self) -> Option<&str> {
        match self {
            Outcome::Panic { message } => Some(message),
            _ => None,
        }
    }
}

/// What happened in a concurrent run, stamped from one counter before and after each call (a
/// total order consistent with real time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Stamp before the call.
    pub call: u64,
    /// Stamp after it returned.
    pub ret: u64,
    /// Which thread (the main thread is 0, consumers 1..).
    pub thread: u32,
    /// Scenario time during the call (frozen while calls run).
    pub at: Nanos,
    /// The message.
    pub id: u64,
    /// What.
    pub kind: EventKind,
}

/// One event's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// `enqueue` returned this id.
    Enqueued,
    /// `receive` delivered the message.
    Delivered {
        /// `attempt`.
        attempt: u32,
        /// The token.
        token: u64,
        /// Whether the payload was the one enqueued under that id.
        payload_intact: bool,
    },
    /// `ack(token)`.
    Ack {
        /// The token used.
        token: u64,
        /// Whether it took effect.
        ok: bool,
    },
    /// `nack(token, _, retry)`.
    Nack {
        /// The token used.
        token: u64,
        /// Whether it asked for a retry.
        retry: bool,
        /// Whether it took effect.
        ok: bool,
    },
    /// The consumer "crashed": it will never settle this delivery.
    Crashed {
        /// The token dropped.
        token: u64,
    },
}

/// One observation record from a queue scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// A script step is about to run.
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
        /// Scenario time when it ran.
        at: Nanos,
        /// What came back.
        outcome: Outcome,
    },
    /// A check is about to do something that may block: names it for a timeout's report.
    Phase {
        /// What, in a learner's words.
        what: String,
    },
    /// A concurrent run's whole history, and the queue's state when it ended.
    History {
        /// Every event, in the order the calls returned.
        events: Vec<Event>,
        /// Messages enqueued.
        enqueued: u64,
        /// A `stats()` sampled while consumers ran whose counters did not add up to `enqueued`.
        bad_sample: Option<Stats>,
        /// `stats()` at the end.
        stats: Option<Stats>,
        /// `dead_letters()` at the end.
        dead: Vec<Dead>,
        /// Rounds run, and whether the queue drained (nothing ready, delayed or in flight).
        rounds: u32,
        /// A panic in the learner's code.
        panic: Option<String>,
    },
    /// `performance`: per-trial wall times.
    Timing {
        /// The learner's trials, in nanoseconds.
        learner_nanos: Vec<u64>,
        /// The reference's trials, in nanoseconds.
        reference_nanos: Vec<u64>,
        /// A panic in the learner's queue.
        panic: Option<String>,
    },
}


crate::scenario::progress!(Observation, phase);
