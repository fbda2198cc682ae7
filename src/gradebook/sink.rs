//! The gradebook as a reporter: it records each submission the moment it finishes, so a run
//! killed halfway keeps everything already graded. It never steers the run.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use super::{Gradebook, RunEnv, RunRecord};
use crate::events::RunEvent;
use crate::reporter::Reporter;
use crate::results::SubmissionReport;

/// Records runs into a gradebook and warns (on `warnings`) when unchanged code changes score.
pub struct GradebookSink {
    book: Gradebook,
    env: RunEnv,
    /// Source hash per crate path, computed before the run.
    hashes: HashMap<PathBuf, String>,
    started: HashMap<usize, String>,
    warnings: Box<dyn Write>,
}

/// The current time as RFC 3339, to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl GradebookSink {
    /// A sink writing to `book`.
    pub fn new(
        book: Gradebook,
        env: RunEnv,
        hashes: HashMap<PathBuf, String>,
        warnings: Box<dyn Write>,
    ) -> GradebookSink {
        GradebookSink { book, env, hashes, started: HashMap::new(), warnings }
    }
}

impl Reporter for GradebookSink {
    fn report(&mut self, event: &RunEvent<'_>) -> std::io::Result<()> {
        match event {
            RunEvent::SubmissionStarted { submission, .. } => {
                self.started.insert(*submission, now());
            }
            RunEvent::SubmissionFinished { submission, report } => {
                let hash = self.hashes.get(&report.path).map_or("unknown", String::as_str);
                let started_at = self.started.remove(submission).unwrap_or_else(now);
                let run =
                    RunRecord { student: &report.student, source_hash: hash, report, started_at, finished_at: now() };
                let recorded = self.book.record(&self.env, &run).map_err(std::io::Error::other)?;
                if let Some(before) = recorded.changed_from {
                    writeln!(
                        self.warnings,
                        "warning: {} {}: the same source scored {before:.1}% before and {:.1}% now: a flaky scenario or a \
                         grader change (flagged in the gradebook, run {})",
                        report.student, report.challenge.slug, report.score.percent, recorded.run_id
                    )?;
                }
            }
            RunEvent::BuildFinished { .. } | RunEvent::ScenarioStarted { .. } | RunEvent::ScenarioFinished { .. } => {}
        }
        Ok(())
    }

    fn finish(&mut self, _reports: &[SubmissionReport]) -> std::io::Result<()> {
        Ok(())
    }
}
