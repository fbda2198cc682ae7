//! What the runner tells reporters, as it happens. Submissions are graded concurrently, so events
//! that carry output name their submission by its index in the run. Plain data, flowing one way: the runner never
//! prints, and reporters never steer the run.

use std::path::Path;

use crate::results::{BuildOutcome, ChallengeRef, ScenarioResult, SubmissionReport};

/// One step of a run.
#[derive(Clone, Copy, Debug)]
pub enum RunEvent<'a> {
    /// Work on a submission begins with its build.
    SubmissionStarted {
        /// Index of the submission in the run.
        submission: usize,
        /// The crate.
        path: &'a Path,
        /// Its challenge.
        challenge: &'a ChallengeRef,
        /// Scenarios that will run.
        scenarios: usize,
    },
    /// The build is over.
    BuildFinished {
        /// Index of the submission in the run.
        submission: usize,
        /// How it went.
        outcome: &'a BuildOutcome,
    },
    /// A scenario's worker is starting.
    ScenarioStarted {
        /// Its name.
        name: &'a str,
    },
    /// A scenario has its verdict.
    ScenarioFinished {
        /// Index of the submission in the run.
        submission: usize,
        /// The result.
        result: &'a ScenarioResult,
    },
    /// A submission is fully graded.
    SubmissionFinished {
        /// Index of the submission in the run.
        submission: usize,
        /// The report.
        report: &'a SubmissionReport,
    },
}
