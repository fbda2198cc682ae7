//! What a judge concludes about one scenario from its observations. The parent turns this, and
//! what it saw of the worker process itself, into the final verdict.

use serde::{Deserialize, Serialize};

use crate::Nanos;

/// A judge's conclusion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Judgement {
    /// Every expectation held.
    Pass {
        /// A measurement worth showing (a performance ratio, rounds checked).
        note: Option<String>,
    },
    /// An expectation did not hold.
    Fail(Failure),
    /// The learner's code panicked.
    Panic(PanicReport),
}

/// Where the learner's code panicked, and with what message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanicReport {
    /// 1-based step, for scripted scenarios.
    pub step: Option<usize>,
    /// Scenario time of the call that panicked.
    pub at: Option<Nanos>,
    /// The panic message.
    pub message: String,
}

impl PanicReport {
    /// A panic whose place the caller does not know yet.
    pub fn new(message: impl Into<String>) -> PanicReport {
        PanicReport { step: None, at: None, message: message.into() }
    }
}

impl Judgement {
    /// Fills in the step and time where a step-level judge could not know them.
    pub fn located(self, step_no: usize, time: Nanos) -> Judgement {
        match self {
            Judgement::Fail(mut failure) => {
                failure.step = failure.step.or(Some(step_no));
                failure.at = failure.at.or(Some(time));
                Judgement::Fail(failure)
            }
            Judgement::Panic(p) => Judgement::Panic(PanicReport {
                step: p.step.or(Some(step_no)),
                at: p.at.or(Some(time)),
                message: p.message,
            }),
            pass @ Judgement::Pass { .. } => pass,
        }
    }
}

/// A failed expectation, with everything the learner needs to reproduce it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// 1-based step, for scripted scenarios.
    pub step: Option<usize>,
    /// Scenario time of the failing call.
    pub at: Option<Nanos>,
    /// What was being done, e.g. `try_acquire("u1", 1), call 6 of 6`.
    pub summary: String,
    /// Expected values, one `field: value` per line.
    pub expected: String,
    /// The same fields as they came back.
    pub actual: String,
    /// Lines that help replay the failure, each self-explanatory (a heading line, if any, first).
    pub context: Vec<String>,
    /// What to try next.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with only a summary; callers fill in the rest.
    pub fn new(summary: impl Into<String>) -> Failure {
        Failure {
            step: None,
            at: None,
            summary: summary.into(),
            expected: String::new(),
            actual: String::new(),
            context: Vec::new(),
            hint: None,
        }
    }
}
