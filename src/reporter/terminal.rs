//! The human report: a line per scenario as it finishes, then each failure in full (step,
//! virtual time, a diff of expected against actual, a hint), then the rubric table.

use std::io::Write;

use colored::Colorize;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use similar::{ChangeTag, TextDiff};

use super::Reporter;
use crate::events::RunEvent;
use crate::results::{BuildOutcome, ScenarioResult, SubmissionReport};
use crate::spec::Visibility;
use crate::verdict::Verdict;
use challenge_graders::PanicReport;

/// How much a report shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// A learner's own run: every failure in full, and what to do next.
    Learner,
    /// An instructor's run over many crates: a line per scenario and the score; hidden scenarios
    /// show no steps.
    Instructor,
}

/// Longest value shown in a diff line before its middle is elided.
const MAX_VALUE_CHARS: usize = 160;

/// `text`, with its middle replaced by `…` when it is too long to read in a diff.
fn elide(text: &str) -> String {
    let count = text.chars().count();
    if count <= MAX_VALUE_CHARS {
        return text.to_owned();
    }
    let keep = MAX_VALUE_CHARS / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(count - keep).collect();
    format!("{head}…({} chars)…{tail}", count - 2 * keep)
}

/// Failures shown in full before the rest are only named.
const MAX_FAILURE_BLOCKS: usize = 5;

/// Writes the human report.
pub struct TerminalReporter {
    out: Box<dyn Write>,
    color: bool,
    detail: Detail,
    progress: Option<ProgressBar>,
    /// The command that shows hints for the challenge being reported, for the closing line.
    hint_command: Option<String>,
    /// How many submissions the run grades. With more than one they finish out of order, so
    /// each one's text is held until it finishes; instructors then get one line per submission.
    submissions: usize,
    /// Text held per submission until it finishes.
    held: std::collections::HashMap<usize, String>,
    /// Built, graded and failed counts, for the progress bar of a class.
    counts: (usize, usize, usize),
}

impl TerminalReporter {
    /// A reporter writing to `out` about a run of `submissions`; `progress` shows a bar on stderr
    /// (only pass true for a terminal).
    pub fn new(
        out: Box<dyn Write>,
        color: bool,
        detail: Detail,
        progress: bool,
        submissions: usize,
    ) -> TerminalReporter {
        let progress = progress.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template("  {spinner} {pos}/{len} {wide_msg}").expect("valid template"));
            // Redraw while a long scenario runs, so the spinner shows the tool is alive.
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        if let Some(bar) = progress.as_ref().filter(|_| submissions > 1) {
            bar.set_length(submissions as u64);
        }
        TerminalReporter {
            out,
            color,
            detail,
            progress,
            hint_command: None,
            submissions,
            held: std::collections::HashMap::new(),
            counts: (0, 0, 0),
        }
    }

    fn paint(&self, text: &str, style: fn(&str) -> colored::ColoredString) -> String {
        if self.color {
            style(text).to_string()
        } else {
            text.to_owned()
        }
    }

    /// Whether this run prints one line per submission.
    fn compact(&self) -> bool {
        self.detail == Detail::Instructor && self.submissions > 1
    }

    /// Text for `submission`: written at once when it is the only one, held otherwise.
    fn emit_for(&mut self, submission: usize, text: &str) -> std::io::Result<()> {
        if self.submissions <= 1 {
            return self.emit(text);
        }
        self.held.entry(submission).or_default().push_str(text);
        Ok(())
    }

    fn class_progress(&self) {
        if let (Some(bar), true) = (&self.progress, self.submissions > 1) {
            let (built, graded, failed) = self.counts;
            bar.set_message(format!("built {built} · graded {graded} · failed {failed}"));
        }
    }

    /// Writes with the progress bar out of the way.
    fn emit(&mut self, text: &str) -> std::io::Result<()> {
        let out = &mut self.out;
        match &self.progress {
            Some(bar) => bar.suspend(|| out.write_all(text.as_bytes()).and_then(|()| out.flush())),
            None => out.write_all(text.as_bytes()).and_then(|()| out.flush()),
        }
    }

    fn verdict_label(&self, verdict: &Verdict) -> String {
        let label = format!("{:<12}", verdict.kind());
        if verdict.is_pass() {
            self.paint(&format!("✓ {label}"), |s| s.green())
        } else {
            self.paint(&format!("✗ {label}"), |s| s.red().bold())
        }
    }

    fn scenario_line(&self, r: &ScenarioResult) -> String {
        let points = format!("{}/{}", r.points, r.max_points);
        let hidden =
            if r.visibility == Visibility::Hidden { self.paint(" (hidden)", |s| s.dimmed()) } else { String::new() };
        let mut line =
            format!("  {} {:<40} {:<12} {:>5}{hidden}", self.verdict_label(&r.verdict), r.name, r.criterion, points);
        match (&r.verdict, self.detail) {
            (Verdict::Pass { note: Some(note) }, _) => line.push_str(&self.paint(&format!("  {note}"), |s| s.dimmed())),
            (Verdict::Pass { note: None }, _) | (_, Detail::Learner) => {}
            // Instructors see no failure blocks, so each failing row carries its reason.
            (_, Detail::Instructor) => {
                let reason: String = crate::reporter::plain::message(r).chars().take(140).collect();
                line.push_str(&format!("  {reason}"));
            }
        }
        line.push('\n');
        line
    }

    fn failure_block(&self, r: &ScenarioResult) -> String {
        let mut out = String::new();
        let title = format!("✗ {} ({}, {}/{} points)", r.name, r.criterion, r.points, r.max_points);
        out.push_str(&format!("\n{}\n", self.paint(&title, |s| s.red().bold())));
        if r.visibility == Visibility::Hidden {
            out.push_str(&format!("  hidden scenario: {}\n", crate::reporter::plain::message(r)));
            return out;
        }
        out.push_str(&format!("  {}\n", r.description));
        if let Some(note) = r.clock_note() {
            out.push_str(&format!("  {} {note}\n", self.paint("likely cause:", |s| s.yellow().bold())));
        }
        if r.seeded {
            out.push_str(&format!(
                "  {}\n",
                self.paint(&format!("seed {} (replay this run with --seed {})", r.seed, r.seed), |s| s.dimmed())
            ));
        }
        match &r.verdict {
            Verdict::Fail(f) => {
                let mut place = Vec::new();
                if let Some(step) = f.step {
                    place.push(format!("step {step}"));
                }
                if let Some(at) = f.at {
                    place.push(format!("at t={at}"));
                }
                let place = if place.is_empty() { String::new() } else { format!("{}: ", place.join(" ")) };
                out.push_str(&format!("  {}{}\n", self.paint(&place, |s| s.bold()), f.summary));
                if !f.context.is_empty() {
                    for line in &f.context {
                        out.push_str(&format!("    {line}\n"));
                    }
                }
                if !f.expected.is_empty() || !f.actual.is_empty() {
                    out.push_str(&self.diff(&f.expected, &f.actual));
                }
                if let Some(hint) = &f.hint {
                    out.push_str(&format!("  {} {hint}\n", self.paint("hint:", |s| s.yellow().bold())));
                }
            }
            Verdict::Panic(PanicReport { step, at, message }) => {
                let place = match (step, at) {
                    (Some(step), Some(at)) => format!("step {step} at t={at}: "),
                    (None, Some(at)) => format!("at t={at}: "),
                    _ => String::new(),
                };
                out.push_str(&format!("  {place}your code panicked: {message}\n"));
                out.push_str(&self.output_excerpt("stderr", &r.stderr));
            }
            other => {
                out.push_str(&format!("  {}\n", other.explain()));
                if let Some(during) = &r.during {
                    out.push_str(&format!(
                        "  {} {during}, which never returned\n",
                        self.paint("it was running", |s| s.bold())
                    ));
                }
                out.push_str(&self.output_excerpt("stderr", &r.stderr));
                out.push_str(&self.output_excerpt("stdout", &r.stdout));
            }
        }
        if let Some(usually) = &r.usually {
            out.push_str(&format!("  {} {usually}\n", self.paint("usually:", |s| s.yellow())));
        }
        out
    }

    /// Failures in full, most informative first: scenarios that failed for one shared cause (the
    /// same panic, the same crash) collapse into one block that names the others.
    fn failure_blocks(&self, failures: &[&ScenarioResult]) -> String {
        let mut groups: Vec<(&ScenarioResult, Vec<&str>)> = Vec::new();
        for r in failures {
            let shared = match &r.verdict {
                Verdict::Fail(_) => None,
                other => groups.iter_mut().find(|(first, _)| {
                    !matches!(first.verdict, Verdict::Fail(_)) && first.verdict.explain() == other.explain()
                }),
            };
            match shared {
                Some((_, others)) => others.push(&r.name),
                None => groups.push((r, Vec::new())),
            }
        }
        let mut out = String::new();
        for (first, others) in groups.iter().take(MAX_FAILURE_BLOCKS) {
            out.push_str(&self.failure_block(first));
            if !others.is_empty() {
                out.push_str(&format!("  the same failure also stopped: {}\n", others.join(", ")));
            }
        }
        if groups.len() > MAX_FAILURE_BLOCKS {
            let rest: Vec<&str> = groups[MAX_FAILURE_BLOCKS..].iter().map(|(r, _)| r.name.as_str()).collect();
            out.push_str(&format!("\n  also failing (fix the ones above first): {}\n", rest.join(", ")));
        }
        out
    }

    /// `- expected` / `+ actual` lines; in color, the words that differ within a line stand out.
    fn diff(&self, expected: &str, actual: &str) -> String {
        let mut out =
            format!("    {}\n    {}\n", self.paint("- expected", |s| s.red()), self.paint("+ actual", |s| s.green()));
        let diff = TextDiff::from_lines(expected, actual);
        for op in diff.ops() {
            for change in diff.iter_inline_changes(op) {
                let (sign, base, strong): (
                    &str,
                    fn(&str) -> colored::ColoredString,
                    fn(&str) -> colored::ColoredString,
                ) = match change.tag() {
                    ChangeTag::Delete => ("-", |s| s.red(), |s| s.red().bold().underline()),
                    ChangeTag::Insert => ("+", |s| s.green(), |s| s.green().bold().underline()),
                    ChangeTag::Equal => (" ", |s| s.normal(), |s| s.normal()),
                };
                let mut line = self.paint(&format!("{sign} "), base);
                for (emphasized, value) in change.iter_strings_lossy() {
                    let value = elide(value.trim_end_matches('\n'));
                    line.push_str(&self.paint(&value, if emphasized { strong } else { base }));
                }
                out.push_str(&format!("    {line}\n"));
            }
        }
        out
    }

    fn output_excerpt(&self, stream: &str, text: &str) -> String {
        // The backtrace note is std's advice, but learners cannot set the worker's environment.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .take(8)
            .collect();
        if lines.is_empty() {
            return String::new();
        }
        let mut out = format!("  {}\n", self.paint(&format!("your code's {stream} (first lines):"), |s| s.dimmed()));
        for line in lines {
            out.push_str(&format!("    {line}\n"));
        }
        out
    }

    /// One line for a submission in a class run: who, what, the score, and what failed.
    fn submission_line(&self, r: &SubmissionReport) -> String {
        let mark = if r.score.passed { self.paint("✓", |s| s.green()) } else { self.paint("✗", |s| s.red()) };
        let failing: Vec<&str> = r.results.iter().filter(|x| !x.verdict.is_pass()).map(|x| x.name.as_str()).collect();
        let detail = match &r.build {
            BuildOutcome::Failed { message, .. } => format!("  {message}"),
            BuildOutcome::Built { .. } if failing.is_empty() => String::new(),
            BuildOutcome::Built { .. } => format!("  failed: {}", failing.join(", ")),
        };
        format!(
            "  {mark} {:<16} {:<16} {:>6.1}%  level {}{}\n",
            r.student,
            r.challenge.slug,
            r.score.percent,
            r.score.level,
            self.paint(&detail, |s| s.dimmed())
        )
    }

    fn score_table(&self, report: &SubmissionReport) -> String {
        let s = &report.score;
        let mut out = String::from("\n");
        for c in &s.criteria {
            let filled = ((c.points as f64 / c.max_points as f64) * 10.0).round() as usize;
            let bar = format!("{}{}", "█".repeat(filled), "░".repeat(10 - filled));
            let bar = if c.points == c.max_points {
                self.paint(&bar, |t| t.green())
            } else {
                self.paint(&bar, |t| t.yellow())
            };
            out.push_str(&format!(
                "  {:<14} {bar} {:>3}/{:<3} points  {:>5.1}/{:.0}\n",
                c.name, c.points, c.max_points, c.score, c.weight
            ));
        }
        let verdict = if s.passed {
            self.paint("passed", |t| t.green().bold())
        } else {
            self.paint("below the pass mark", |t| t.red().bold())
        };
        out.push_str(&format!(
            "  {} {:.1}%  level {} ({})  pass mark {:.0}%: {verdict}\n",
            self.paint("total", |t| t.bold()),
            s.percent,
            s.level,
            s.level_label,
            s.pass_percent
        ));
        if report.hidden_not_run > 0 {
            out.push_str(&format!(
                "  {}\n",
                self.paint(
                    &match report.hidden_not_run {
                        1 => "1 hidden scenario runs only in `challenge grade`; this score counts visible ones."
                            .to_owned(),
                        n => format!(
                            "{n} hidden scenarios run only in `challenge grade`; this score counts visible ones."
                        ),
                    },
                    |t| t.dimmed()
                )
            ));
        }
        out
    }
}

impl Reporter for TerminalReporter {
    fn report(&mut self, event: &RunEvent<'_>) -> std::io::Result<()> {
        match event {
            RunEvent::SubmissionStarted { submission, path, challenge, scenarios } => {
                self.hint_command = Some(format!("challenge hint {}", challenge.id));
                if let (Some(bar), 1) = (&self.progress, self.submissions) {
                    bar.set_length(*scenarios as u64);
                    bar.set_position(0);
                    bar.set_message(format!("building {}", path.display()));
                }
                if self.compact() {
                    return Ok(());
                }
                let header = format!("challenge {} · {} · {}", challenge.id, challenge.title, path.display());
                let header = self.paint(&header, |s| s.bold());
                self.emit_for(*submission, &format!("{header}\n"))
            }
            RunEvent::BuildFinished { submission, outcome } => {
                if matches!(outcome, BuildOutcome::Built { .. }) {
                    self.counts.0 += 1;
                    self.class_progress();
                }
                if self.compact() {
                    return Ok(());
                }
                let text = match outcome {
                    BuildOutcome::Built { duration } => {
                        self.paint(&format!("  built in {:.1}s\n\n", duration.as_secs_f64()), |s| s.dimmed())
                    }
                    BuildOutcome::Failed { message, rendered } => {
                        let mut text = String::new();
                        if let Some(rendered) = rendered {
                            text.push_str(rendered);
                            if !rendered.ends_with('\n') {
                                text.push('\n');
                            }
                        }
                        text.push_str(&format!("  {} {message}\n\n", self.paint("build failed:", |s| s.red().bold())));
                        text
                    }
                };
                self.emit_for(*submission, &text)
            }
            RunEvent::ScenarioStarted { name } => {
                if let (Some(bar), 1) = (&self.progress, self.submissions) {
                    bar.set_message(format!("running {name}"));
                }
                Ok(())
            }
            RunEvent::ScenarioFinished { submission, result } => {
                if let (Some(bar), 1) = (&self.progress, self.submissions) {
                    bar.inc(1);
                }
                // After a failed build nothing ran; the summary says so once instead of per scenario.
                if self.compact() || matches!(result.verdict, Verdict::BuildError) {
                    return Ok(());
                }
                let line = self.scenario_line(result);
                self.emit_for(*submission, &line)
            }
            RunEvent::SubmissionFinished { submission, report } => {
                let all_passed = report.results.iter().all(|r| r.verdict.is_pass());
                self.counts.1 += 1;
                self.counts.2 += usize::from(!all_passed);
                if let (Some(bar), true) = (&self.progress, self.submissions > 1) {
                    bar.inc(1);
                }
                self.class_progress();
                if self.compact() {
                    let line = self.submission_line(report);
                    return self.emit(&line);
                }
                let mut text = self.held.remove(submission).unwrap_or_default();
                let failures: Vec<&ScenarioResult> = report
                    .results
                    .iter()
                    .filter(|r| !r.verdict.is_pass() && !matches!(r.verdict, Verdict::BuildError))
                    .collect();
                if let BuildOutcome::Failed { .. } = report.build {
                    let max: u32 = report.results.iter().map(|r| r.max_points).sum();
                    text.push_str(&format!(
                        "  no scenario ran: 0 of {max} points in {} scenarios\n",
                        report.results.len()
                    ));
                }
                if self.detail == Detail::Learner {
                    text.push_str(&self.failure_blocks(&failures));
                }
                text.push_str(&self.score_table(report));
                if self.detail == Detail::Learner && !failures.is_empty() {
                    if let Some(hint) = &self.hint_command {
                        text.push_str(&format!("  next: fix the first failure above, or run `{hint}`\n"));
                    }
                }
                text.push('\n');
                self.emit(&text)
            }
        }
    }

    fn finish(&mut self, _reports: &[SubmissionReport]) -> std::io::Result<()> {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_values_lose_their_middle() {
        let long = "x".repeat(500);
        let shown = super::elide(&long);
        assert!(shown.chars().count() < 200, "{shown}");
        assert!(shown.contains("…(340 chars)…"), "{shown}");
        assert_eq!(super::elide("short"), "short");
    }

    use std::cell::RefCell;
    use std::path::Path;
    use std::rc::Rc;
    use std::time::Duration;

    use challenge_graders::{Failure, Nanos};

    use super::*;
    use crate::results::{ChallengeRef, Score};
    use crate::spec::{Criterion, Level, Rubric};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn result(name: &str, verdict: Verdict, points: u32) -> ScenarioResult {
        let mut r = ScenarioResult::sample(name, verdict);
        r.points = points;
        r
    }

    /// Renders a whole run of `results` through the events the runner would send.
    fn render_run(results: Vec<ScenarioResult>, hidden_not_run: usize, color: bool) -> String {
        let rubric = Rubric {
            pass_percent: 60.0,
            criteria: vec![Criterion { name: "correctness".into(), weight: 40.0, description: String::new() }],
            levels: (1..=5)
                .map(|l| Level { level: l, min_percent: f64::from(l - 1) * 20.0, label: format!("band {l}") })
                .collect(),
        };
        let challenge = ChallengeRef { id: 1, slug: "rate-limiter".into(), title: "Per-key rate limiter".into() };
        let report = SubmissionReport {
            path: "mine".into(),
            student: "you".into(),
            challenge: challenge.clone(),
            build: BuildOutcome::Built { duration: Duration::from_millis(400) },
            score: Score::compute(&rubric, &results),
            results,
            hidden_not_run,
        };
        let out = Shared::default();
        let mut reporter = TerminalReporter::new(Box::new(out.clone()), color, Detail::Learner, false, 1);
        let started = RunEvent::SubmissionStarted { submission: 0, path: Path::new("mine"), challenge: &challenge, scenarios: 2 };
        reporter.report(&started).unwrap();
        reporter.report(&RunEvent::BuildFinished { submission: 0, outcome: &report.build }).unwrap();
        for r in &report.results {
            reporter.report(&RunEvent::ScenarioFinished { submission: 0, result: r }).unwrap();
        }
        reporter.report(&RunEvent::SubmissionFinished { submission: 0, report: &report }).unwrap();
        reporter.finish(std::slice::from_ref(&report)).unwrap();
        let bytes = out.0.borrow().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn render(color: bool) -> String {
        let mut failure = Failure::new("try_acquire(\"u1\", 1)");
        failure.step = Some(2);
        failure.at = Some(Nanos(999_999_999));
        failure.expected = "allowed: false\nretry_after: 1ns\n".into();
        failure.actual = "allowed: true\nretry_after: 0s\n".into();
        failure.hint = Some("Windows are aligned to the clock.".into());
        let results = vec![result("basics", Verdict::Pass { note: None }, 2), result("boundary", Verdict::Fail(failure), 0)];
        render_run(results, 1, color)
    }

    /// Each verdict that is neither a pass nor a failed expectation, as the learner sees it.
    fn crash_blocks() -> String {
        use challenge_graders::plugin::LoadProblem;
        let verdicts = [
            (Verdict::Panic(PanicReport { step: Some(3), at: Some(Nanos(1_000_000_000)), message: "boom".into() }), "thread '<unnamed>' panicked at src/lib.rs:42:9:\nboom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"),
            (Verdict::Crash { signal: libc::SIGSEGV, cause: crate::verdict::CrashCause::Segfault }, ""),
            (Verdict::Crash { signal: libc::SIGABRT, cause: crate::verdict::CrashCause::StackOverflow }, "\nthread 'main' has overflowed its stack\n"),
            (Verdict::Crash { signal: libc::SIGABRT, cause: crate::verdict::CrashCause::Abort }, ""),
            (Verdict::Exited { code: 0 }, ""),
            (Verdict::Timeout { limit: Duration::from_secs(10), cpu: None }, ""),
            (Verdict::CpuLimit { limit: Duration::from_secs(20) }, ""),
            (Verdict::MemoryLimit { limit: 1 << 30 }, "memory allocation of 67108864 bytes failed\n"),
            (Verdict::OutputLimit { limit: 8 << 20 }, ""),
            (Verdict::AbiMismatch { problem: LoadProblem::MissingExport { symbol: "challenge_rate_limiter_v1".into() } }, ""),
        ];
        let reporter = TerminalReporter::new(Box::new(Shared::default()), false, Detail::Learner, false, 1);
        let mut out = String::new();
        for (verdict, stderr) in verdicts {
            let mut r = result(verdict.kind(), verdict, 0);
            r.stderr = stderr.to_owned();
            if matches!(r.verdict, Verdict::Timeout { .. }) {
                r.during = Some("step 2 at t=1s: try_acquire(\"u1\", 1)".into());
            }
            out.push_str(&reporter.failure_block(&r));
        }
        out
    }

    #[test]
    fn each_crash_verdict_explains_itself() {
        let expected = "
✗ panic (correctness, 0/2 points)
  Five permits per window.
  step 3 at t=1s: your code panicked: boom
  your code's stderr (first lines):
    thread '<unnamed>' panicked at src/lib.rs:42:9:
    boom

✗ crash (correctness, 0/2 points)
  Five permits per window.
  segmentation fault (SIGSEGV): most often a stack overflow on a thread your code spawned (unbounded recursion), or unsafe code touching invalid memory

✗ crash (correctness, 0/2 points)
  Five permits per window.
  stack overflow (SIGABRT): look for unbounded recursion
  your code's stderr (first lines):
    thread 'main' has overflowed its stack

✗ crash (correctness, 0/2 points)
  Five permits per window.
  the process aborted (SIGABRT): std::process::abort, or a panic that could not unwind (a panic inside a Drop during a panic?)

✗ exited (correctness, 0/2 points)
  Five permits per window.
  the process exited with code 0 before the scenario finished: does your code call std::process::exit?

✗ timeout (correctness, 0/2 points)
  Five permits per window.
  no result within 10s (the wall-clock limit): look for an infinite loop, a deadlock, or a wait on real time that never comes (time here is virtual)
  it was running step 2 at t=1s: try_acquire(\"u1\", 1), which never returned

✗ cpu-limit (correctness, 0/2 points)
  Five permits per window.
  used more than 20s of CPU time across its threads (the CPU-time limit): look for threads that spin, busy-wait loops, or a thread spawned per call

✗ memory-limit (correctness, 0/2 points)
  Five permits per window.
  ran out of memory (the address-space limit, 1024 MiB): look for unbounded growth, such as state that is never pruned, or one huge allocation
  your code's stderr (first lines):
    memory allocation of 67108864 bytes failed

✗ output-limit (correctness, 0/2 points)
  Five permits per window.
  printed more than 8 MiB (the output limit): remove debug printing from hot paths

✗ abi-mismatch (correctness, 0/2 points)
  Five permits per window.
  the library does not export `challenge_rate_limiter_v1`: add the export macro line (for example `challenge_harness::export_rate_limiter!(YourType);`) to lib.rs
";
        assert_eq!(crash_blocks(), expected);
    }

    #[test]
    fn renders_a_passing_run() {
        let results = vec![
            result("basics", Verdict::Pass { note: None }, 2),
            result("boundary", Verdict::Pass { note: Some("50 rounds of 8 threads".into()) }, 2),
        ];
        let text = render_run(results, 0, false);
        let expected = "\
challenge 1 · Per-key rate limiter · mine
  built in 0.4s

  ✓ pass         basics                                   correctness    2/2
  ✓ pass         boundary                                 correctness    2/2  50 rounds of 8 threads

  correctness    ██████████   4/4   points   40.0/40
  total 100.0%  level 5 (band 5)  pass mark 60%: passed

";
        assert_eq!(text, expected);
    }

    #[test]
    fn renders_a_failure_with_step_time_diff_and_hint() {
        let expected = "\
challenge 1 · Per-key rate limiter · mine
  built in 0.4s

  ✓ pass         basics                                   correctness    2/2
  ✗ fail         boundary                                 correctness    0/2

✗ boundary (correctness, 0/2 points)
  Five permits per window.
  step 2 at t=999ms 999us 999ns: try_acquire(\"u1\", 1)
    - expected
    + actual
    - allowed: false
    - retry_after: 1ns
    + allowed: true
    + retry_after: 0s
  hint: Windows are aligned to the clock.

  correctness    █████░░░░░   2/4   points   20.0/40
  total 50.0%  level 3 (band 3)  pass mark 60%: below the pass mark
  1 hidden scenario runs only in `challenge grade`; this score counts visible ones.
  next: fix the first failure above, or run `challenge hint 1`

";
        assert_eq!(render(false), expected);
        // Colored output is the same text with escapes around the parts that carry meaning.
        colored::control::set_override(true);
        let colored = render(true);
        // Within a changed line, the words that differ are emphasised (bold, underlined).
        assert!(colored.contains("\u{1b}[31mallowed: \u{1b}[0m\u{1b}[1;4;31mfalse\u{1b}[0m"), "{colored}");
        assert!(colored.contains("\u{1b}[32mallowed: \u{1b}[0m\u{1b}[1;4;32mtrue\u{1b}[0m"), "{colored}");
        let stripped: String = {
            let mut out = String::new();
            let mut chars = colored.chars();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    chars.by_ref().find(|&c| c == 'm');
                } else {
                    out.push(c);
                }
            }
            out
        };
        assert_eq!(stripped, expected);
    }
}
