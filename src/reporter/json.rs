//! `--format json`: one document on stdout when the run ends. Later versions may add fields but
//! never remove or rename these.

use std::io::Write;

use serde::Serialize;

use super::Reporter;
use crate::events::RunEvent;
use crate::results::{BuildOutcome, SubmissionReport};
use crate::spec::Visibility;
use crate::verdict::Verdict;

/// Writes the JSON document.
pub struct JsonReporter {
    out: Box<dyn Write>,
}

impl JsonReporter {
    /// A reporter writing to `out`.
    pub fn new(out: Box<dyn Write>) -> JsonReporter {
        JsonReporter { out }
    }
}

#[derive(Serialize)]
struct Document<'a> {
    /// How the learners' code was confined (see `crate::sandbox`), so a CI job can tell a
    /// sandboxed grade from an unconfined one.
    isolation: String,
    submissions: Vec<JsonSubmission<'a>>,
}

#[derive(Serialize)]
struct JsonSubmission<'a> {
    path: String,
    student: &'a str,
    challenge: &'a str,
    challenge_id: u32,
    score: f64,
    max_score: f64,
    percent: f64,
    level: u8,
    passed: bool,
    build: JsonBuild<'a>,
    scenarios: Vec<JsonScenario<'a>>,
}

#[derive(Serialize)]
struct JsonBuild<'a> {
    ok: bool,
    message: Option<&'a str>,
    duration_ms: u64,
}

#[derive(Serialize)]
struct JsonScenario<'a> {
    name: &'a str,
    criterion: &'a str,
    visibility: &'static str,
    verdict: &'static str,
    points: u32,
    max_points: u32,
    message: String,
    /// Lines that help replay a visible failure (a shrunk trace, a non-linearizable history);
    /// always empty for hidden scenarios.
    context: &'a [String],
    seed: u64,
    duration_ms: u64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The learner-facing message for a scenario: full for visible ones. For hidden ones, nothing the
/// learner's code chose: no steps or values, and no panic message or exit code either, since
/// those could carry a hidden scenario's inputs out.
pub(crate) fn message(verdict: &Verdict, visibility: Visibility) -> String {
    match (verdict, visibility) {
        (Verdict::Fail(_), Visibility::Hidden) => "a hidden expectation did not hold".to_owned(),
        (Verdict::Panic(_), Visibility::Hidden) => {
            "your code panicked in a hidden scenario (its message is not shown)".to_owned()
        }
        (Verdict::Exited { .. }, Visibility::Hidden) => {
            "the process exited before this hidden scenario finished: does your code call std::process::exit?"
                .to_owned()
        }
        (Verdict::Fail(f), Visibility::Visible) => {
            let mut m = String::new();
            if let Some(step) = f.step {
                m.push_str(&format!("step {step}: "));
            }
            if let Some(at) = f.at {
                m.push_str(&format!("at t={at}: "));
            }
            m.push_str(&f.summary);
            if !f.expected.is_empty() || !f.actual.is_empty() {
                m.push_str(&format!(
                    "; expected {}; got {}",
                    f.expected.trim().replace('\n', ", "),
                    f.actual.trim().replace('\n', ", ")
                ));
            }
            m
        }
        (other, _) => other.explain(),
    }
}

/// The full message an instructor sees in the gradebook: hidden scenarios included, with the
/// likely cause when the learner's code read the system clock.
pub(crate) fn instructor_message(result: &crate::results::ScenarioResult) -> String {
    let message = message(&result.verdict, Visibility::Visible);
    match result.clock_note() {
        Some(note) => format!("{message}; {note}"),
        None => message,
    }
}

impl Reporter for JsonReporter {
    fn report(&mut self, _event: &RunEvent<'_>) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, reports: &[SubmissionReport]) -> std::io::Result<()> {
        let submissions = reports
            .iter()
            .map(|r| JsonSubmission {
                path: r.path.display().to_string(),
                student: &r.student,
                challenge: &r.challenge.slug,
                challenge_id: r.challenge.id,
                score: round2(r.score.score),
                max_score: round2(r.score.max_score),
                percent: round2(r.score.percent),
                level: r.score.level,
                passed: r.score.passed,
                build: match &r.build {
                    BuildOutcome::Built { duration } => {
                        JsonBuild { ok: true, message: None, duration_ms: duration.as_millis() as u64 }
                    }
                    BuildOutcome::Failed { message, .. } => {
                        JsonBuild { ok: false, message: Some(message), duration_ms: 0 }
                    }
                },
                scenarios: r
                    .results
                    .iter()
                    .map(|s| JsonScenario {
                        name: &s.name,
                        criterion: &s.criterion,
                        visibility: s.visibility.label(),
                        verdict: s.verdict.kind(),
                        points: s.points,
                        max_points: s.max_points,
                        message: super::plain::message(s),
                        context: match (&s.verdict, s.visibility) {
                            (Verdict::Fail(f), Visibility::Visible) => &f.context,
                            _ => &[],
                        },
                        seed: s.seed,
                        duration_ms: s.duration.as_millis() as u64,
                    })
                    .collect(),
            })
            .collect();
        serde_json::to_writer_pretty(&mut self.out, &Document { isolation: crate::sandbox::describe(), submissions })?;
        writeln!(self.out)?;
        self.out.flush()
    }
}
