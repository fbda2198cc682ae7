//! Reporters turn run events into output. Each writes to an injected writer; the runner fans
//! events out to every active reporter and never prints itself.

mod github;
mod gradescope;
mod json;
mod junit;
mod plain;
mod terminal;

pub use github::GithubReporter;
pub use gradescope::GradescopeReporter;
pub(crate) use json::instructor_message;
pub use json::JsonReporter;
pub use junit::JunitReporter;
pub use terminal::{Detail, TerminalReporter};

use crate::events::RunEvent;
use crate::results::SubmissionReport;

/// A sink for run events.
pub trait Reporter {
    /// One event, as it happens.
    fn report(&mut self, event: &RunEvent<'_>) -> std::io::Result<()>;

    /// The run is over; `reports` holds every submission.
    fn finish(&mut self, reports: &[SubmissionReport]) -> std::io::Result<()>;
}

/// Several reporters fed the same events in order.
pub struct Fanout(pub Vec<Box<dyn Reporter>>);

impl Reporter for Fanout {
    fn report(&mut self, event: &RunEvent<'_>) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.report(event))
    }

    fn finish(&mut self, reports: &[SubmissionReport]) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.finish(reports))
    }
}
