//! The reporter a watch run feeds: the learner's terminal report, shortened to the first failure,
//! rendered into memory, with each event also moving the screen's state line along.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use super::view::View;
use crate::events::RunEvent;
use crate::reporter::{Detail, Reporter, TerminalReporter};
use crate::results::SubmissionReport;
use crate::verdict::Verdict;

/// Bytes the terminal reporter wrote, readable while it still owns its end.
#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders one run for the watch screen.
pub(super) struct LiveReporter {
    inner: TerminalReporter,
    buffer: Buffer,
    view: Rc<RefCell<View>>,
    scenarios: usize,
    finished: usize,
}

impl LiveReporter {
    pub(super) fn new(color: bool, view: Rc<RefCell<View>>) -> LiveReporter {
        let buffer = Buffer::default();
        // No progress bar: the state line shows progress, and a bar would draw over the screen.
        let inner = TerminalReporter::new(Box::new(buffer.clone()), color, Detail::Learner, false, 1);
        LiveReporter { inner, buffer, view, scenarios: 0, finished: 0 }
    }

    /// The report so far.
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.borrow()).into_owned()
    }
}

impl Reporter for LiveReporter {
    fn report(&mut self, event: &RunEvent<'_>) -> std::io::Result<()> {
        let step = match *event {
            RunEvent::SubmissionStarted { scenarios, .. } => {
                self.scenarios = scenarios;
                self.inner.report(event)?;
                None
            }
            RunEvent::BuildFinished { .. } => {
                self.inner.report(event)?;
                Some("running the scenarios".to_owned())
            }
            RunEvent::ScenarioStarted { name } => {
                self.inner.report(event)?;
                Some(format!("running {name} ({}/{})", self.finished + 1, self.scenarios))
            }
            RunEvent::ScenarioFinished { .. } => {
                self.finished += 1;
                self.inner.report(event)?;
                None
            }
            RunEvent::SubmissionFinished { submission, report } => {
                let short = first_failure_only(report);
                self.inner.report(&RunEvent::SubmissionFinished { submission, report: &short })?;
                None
            }
        };
        let text = self.text();
        self.view.borrow_mut().progressed(step, &text)
    }

    fn finish(&mut self, reports: &[SubmissionReport]) -> std::io::Result<()> {
        self.inner.finish(reports)
    }
}

/// `report` with every failure but the first left out, so the terminal reporter writes one
/// failure block; its scenario lines and score were already taken from the whole report. Failures
/// it would fold into the first one's block (the same panic everywhere) stay, so that block still
/// names them.
fn first_failure_only(report: &SubmissionReport) -> SubmissionReport {
    let counts = |v: &Verdict| !v.is_pass() && !matches!(v, Verdict::BuildError);
    let first = report.results.iter().find(|r| counts(&r.verdict)).map(|r| &r.verdict);
    let same_cause = |v: &Verdict| match first {
        Some(first) => {
            !matches!(first, Verdict::Fail(_)) && !matches!(v, Verdict::Fail(_)) && first.explain() == v.explain()
        }
        None => false,
    };
    let mut short = report.clone();
    let mut kept_first = false;
    short.results.retain(|r| {
        if !counts(&r.verdict) {
            return true;
        }
        let keep = !kept_first || same_cause(&r.verdict);
        kept_first = true;
        keep
    });
    short
}
