//! `--format gradescope`: Gradescope's `results.json` on stdout when the run ends, for an
//! autograder's `run_autograder` to write to `/autograder/results/results.json`.
//!
//! Scores: the top-level `score` is the rubric-weighted score, which Gradescope shows in place of
//! the sum of the tests, and each test carries its scenario's own all-or-nothing points. The two
//! scales differ on purpose: the rubric weights criteria, not scenarios, so a test's points are
//! what it is worth within its criterion. Gradescope has no top-level `max_score`; the rubric's
//! maximum (and percent, level, pass mark) travel in `extra_data`, and the assignment's autograder
//! points should be set to that maximum.
//!
//! One results.json describes one submission, so a run that graded any other number is an error
//! rather than a guess at how to merge them.

use std::io::Write;

use serde::Serialize;

use super::{plain, Reporter};
use crate::events::RunEvent;
use crate::results::{BuildOutcome, SubmissionReport};
use crate::spec::Visibility;

/// Lines of cargo's diagnostics kept in the overall output.
const BUILD_LINES: usize = 200;

/// Writes `results.json`.
pub struct GradescopeReporter {
    out: Box<dyn Write>,
}

impl GradescopeReporter {
    /// A reporter writing to `out`.
    pub fn new(out: Box<dyn Write>) -> GradescopeReporter {
        GradescopeReporter { out }
    }
}

#[derive(Serialize)]
struct Results<'a> {
    score: f64,
    /// Whole seconds, as Gradescope's spec shows it.
    execution_time: u64,
    output: String,
    output_format: &'static str,
    /// What `run_autograder` printed (the human report, hidden scenarios included) is for
    /// instructors only; this says so rather than relying on the default.
    stdout_visibility: &'static str,
    extra_data: Extra<'a>,
    tests: Vec<Test<'a>>,
}

/// Stored by Gradescope, not shown.
#[derive(Serialize)]
struct Extra<'a> {
    challenge: &'a str,
    challenge_id: u32,
    path: String,
    max_score: f64,
    percent: f64,
    level: u8,
    level_label: &'a str,
    passed: bool,
    pass_percent: f64,
    build_ok: bool,
}

#[derive(Serialize)]
struct Test<'a> {
    name: &'a str,
    score: u32,
    max_score: u32,
    status: &'static str,
    /// Hidden scenarios are shown once grades are published, and even then without detail.
    visibility: &'static str,
    output: String,
    output_format: &'static str,
    tags: [&'a str; 1],
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The document for one submission.
fn results(r: &SubmissionReport) -> Results<'_> {
    let s = &r.score;
    let build_seconds = match &r.build {
        BuildOutcome::Built { duration } => duration.as_secs_f64(),
        BuildOutcome::Failed { .. } => 0.0,
    };
    let run_seconds: f64 = r.results.iter().map(|x| x.duration.as_secs_f64()).sum();
    let tests = r
        .results
        .iter()
        .map(|x| Test {
            name: &x.name,
            score: x.points,
            max_score: x.max_points,
            status: if x.verdict.is_pass() { "passed" } else { "failed" },
            visibility: match x.visibility {
                Visibility::Visible => "visible",
                Visibility::Hidden => "after_published",
            },
            output: if x.verdict.is_pass() {
                plain::markdown_inline(&plain::message(x))
            } else {
                plain::failure_markdown(x)
            },
            output_format: "md",
            tags: [&x.criterion],
        })
        .collect();
    Results {
        score: round2(s.score),
        execution_time: (build_seconds + run_seconds).ceil() as u64,
        output: overall(r),
        output_format: "md",
        stdout_visibility: "hidden",
        extra_data: Extra {
            challenge: &r.challenge.slug,
            challenge_id: r.challenge.id,
            path: r.path.display().to_string(),
            max_score: round2(s.max_score),
            percent: round2(s.percent),
            level: s.level,
            level_label: &s.level_label,
            passed: s.passed,
            pass_percent: s.pass_percent,
            build_ok: matches!(r.build, BuildOutcome::Built { .. }),
        },
        tests,
    }
}

/// The text for the whole submission: the rubric total, the criteria, and a failed build.
fn overall(r: &SubmissionReport) -> String {
    let s = &r.score;
    let verdict = if s.passed { "passed" } else { "below the pass mark" };
    let mut out = format!(
        "**Challenge {} · {}**: {:.1}% ({:.1} of {:.0} rubric points), level {} ({}), pass mark {:.0}%: {verdict}.\n\n",
        r.challenge.id,
        plain::markdown_inline(&r.challenge.title),
        s.percent,
        s.score,
        s.max_score,
        s.level,
        plain::markdown_inline(&s.level_label),
        s.pass_percent
    );
    out.push_str(&plain::criteria_markdown(s));
    out.push_str(
        "\nEach test shows its scenario's own points; the total weights each criterion by the rubric. \
         Hidden scenarios show only their verdict and points.\n",
    );
    if let BuildOutcome::Failed { message, rendered } = &r.build {
        out.push_str(&format!("\n**The crate did not build:** {}\n", plain::markdown_inline(message)));
        if let Some(rendered) = rendered {
            let lines: Vec<&str> = rendered.lines().take(BUILD_LINES).collect();
            out.push('\n');
            out.push_str(&plain::code_block(&lines.join("\n")));
        }
    }
    out
}

impl Reporter for GradescopeReporter {
    fn report(&mut self, _event: &RunEvent<'_>) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, reports: &[SubmissionReport]) -> std::io::Result<()> {
        let [report] = reports else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "--format gradescope writes one submission's results.json, but this run graded {}: \
                     grade exactly one crate (one already in the gradebook is skipped unless --regrade)",
                    reports.len()
                ),
            ));
        };
        serde_json::to_writer_pretty(&mut self.out, &results(report))?;
        writeln!(self.out)?;
        self.out.flush()
    }
}
