//! One scenario's result as plain text and as Markdown, shared by the CI formats (JUnit,
//! Gradescope, GitHub) so that each shows the same detail, and hidden scenarios are redacted in
//! this one place: a hidden scenario shows its verdict's generic message and nothing the learner's
//! code printed, nor any step, time or value.

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

use crate::results::ScenarioResult;
use crate::spec::Visibility;
use crate::verdict::Verdict;
use challenge_graders::PanicReport;

/// Lines of the learner's stdout or stderr shown under a visible failure.
const EXCERPT_LINES: usize = 8;

/// One line: what happened. Visible scenarios get `json::message` (step, time, expected and
/// actual on one line); hidden ones a generic sentence per verdict.
pub(crate) fn message(r: &ScenarioResult) -> String {
    let mut message = super::json::message(&r.verdict, r.visibility);
    if let (Some(during), Visibility::Visible) = (&r.during, r.visibility) {
        message.push_str(&format!("; it was running {during}"));
    }
    if let Some(note) = r.conduct_note() {
        message.push_str(&format!("; {note}"));
    }
    // The number of clock reads is the learner's choice too: shown for visible scenarios only.
    match (r.visibility, r.clock_note()) {
        (Visibility::Visible, Some(note)) => format!("{message}; {note}"),
        (Visibility::Visible, None) | (Visibility::Hidden, _) => message,
    }
}

/// A failure in full, as plain text: the step, the virtual time, the diff, the hint and the start
/// of the learner's output. A hidden scenario gets only [`message`].
pub(crate) fn failure_text(r: &ScenarioResult) -> String {
    if r.visibility == Visibility::Hidden {
        return message(r);
    }
    let mut out = String::new();
    match &r.verdict {
        Verdict::Fail(f) => {
            out.push_str(&format!("{}{}\n", place(f.step, f.at), f.summary));
            if !f.context.is_empty() {
                for line in &f.context {
                    out.push_str(&format!("  {line}\n"));
                }
            }
            if !f.expected.is_empty() || !f.actual.is_empty() {
                out.push_str(&diff(&f.expected, &f.actual));
            }
            if let Some(hint) = &f.hint {
                out.push_str(&format!("hint: {hint}\n"));
            }
        }
        Verdict::Panic(PanicReport { step, at, message }) => {
            out.push_str(&format!("{}your code panicked: {message}\n", place(*step, *at)));
            out.push_str(&excerpt("stderr", &r.stderr));
        }
        Verdict::Pass { .. }
        | Verdict::Crash { .. }
        | Verdict::Exited { .. }
        | Verdict::Timeout { .. }
        | Verdict::CpuLimit { .. }
        | Verdict::MemoryLimit { .. }
        | Verdict::OutputLimit { .. }
        | Verdict::BuildError
        | Verdict::AbiMismatch { .. }
        | Verdict::GraderError { .. } => {
            out.push_str(&format!("{}\n", r.verdict.explain()));
            out.push_str(&excerpt("stderr", &r.stderr));
            out.push_str(&excerpt("stdout", &r.stdout));
        }
    }
    if let Some(note) = r.clock_note() {
        out.push_str(&format!("likely cause: {note}\n"));
    }
    // After a failed build nothing ran, so no seed was used.
    if r.seeded && !matches!(r.verdict, Verdict::BuildError) {
        out.push_str(&format!("seed {} (the same seed replays the same run)\n", r.seed));
    }
    out
}

/// A failure as Markdown: the description and the plain text in a code block, or for a hidden
/// scenario only its generic message.
pub(crate) fn failure_markdown(r: &ScenarioResult) -> String {
    match r.visibility {
        Visibility::Hidden => format!("*Hidden scenario:* {}\n", markdown_inline(&message(r))),
        Visibility::Visible => format!("{}\n\n{}", markdown_inline(&r.description), code_block(&failure_text(r))),
    }
}

/// `step 2 at t=1s: `, or as much of it as is known.
fn place(step: Option<usize>, at: Option<challenge_graders::Nanos>) -> String {
    match (step, at) {
        (Some(step), Some(at)) => format!("step {step} at t={at}: "),
        (Some(step), None) => format!("step {step}: "),
        (None, Some(at)) => format!("at t={at}: "),
        (None, None) => String::new(),
    }
}

/// A line diff of expected against actual, under a `- expected` / `+ actual` legend.
pub(crate) fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::from("- expected\n+ actual\n");
    for change in TextDiff::from_lines(expected, actual).iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        out.push_str(&format!("{sign} {line}\n"));
    }
    out
}

/// The first lines of what the learner's code printed on `stream`, or nothing.
fn excerpt(stream: &str, text: &str) -> String {
    // The backtrace note is std's advice, but learners cannot set the worker's environment.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .take(EXCERPT_LINES)
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let mut out = format!("your code's {stream} (first lines):\n");
    for line in lines {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// Text that Markdown shows as written, on one line (fit for a table cell).
pub(crate) fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` in a fenced code block whose fence is longer than any run of backticks inside it.
pub(crate) fn code_block(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = text.trim_end_matches('\n');
    format!("{fence}text\n{body}\n{fence}\n")
}

/// Seconds with millisecond precision, as CI formats write durations.
pub(crate) fn seconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use challenge_graders::{Failure, Nanos};

    fn result(visibility: Visibility, verdict: Verdict) -> ScenarioResult {
        let mut r = ScenarioResult::sample("fixed-window-basics", verdict);
        r.visibility = visibility;
        r.stderr = "secret stderr line\n".to_owned();
        r.stdout = "secret stdout line\n".to_owned();
        r
    }

    fn failure() -> Verdict {
        let mut f = Failure::new("try_acquire(\"u1\", 1), call 5 of 5");
        f.step = Some(1);
        f.at = Some(Nanos(0));
        f.expected = "allowed: true\nremaining: 0\n".into();
        f.actual = "allowed: false\nremaining: 0\n".into();
        Verdict::Fail(f)
    }

    #[test]
    fn a_visible_failure_shows_step_time_and_diff() {
        let text = failure_text(&result(Visibility::Visible, failure()));
        let expected = "\
step 1 at t=0s: try_acquire(\"u1\", 1), call 5 of 5
- expected
+ actual
- allowed: true
+ allowed: false
  remaining: 0
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_hidden_scenario_shows_only_a_generic_message() {
        let panic = Verdict::Panic(PanicReport { step: Some(3), at: Some(Nanos(5)), message: "key=u9".into() });
        let crash = Verdict::Crash { signal: libc::SIGSEGV, cause: crate::verdict::CrashCause::Segfault };
        for verdict in [failure(), panic, crash, Verdict::Exited { code: 42 }] {
            let mut r = result(Visibility::Hidden, verdict);
            r.clock_reads = 17;
            for text in [failure_text(&r), failure_markdown(&r), message(&r)] {
                for secret in ["step", "t=", "allowed", "u1", "u9", "secret", "42", "17"] {
                    assert!(!text.contains(secret), "{secret:?} leaked: {text}");
                }
            }
        }
    }

    #[test]
    fn markdown_escapes_and_fences() {
        assert_eq!(markdown_inline("a|b *c* <d>\nx_y"), "a\\|b \\*c\\* \\<d\\> x\\_y");
        assert_eq!(code_block("a ```` b\n"), "`````text\na ```` b\n`````\n");
        assert_eq!(code_block("plain"), "```text\nplain\n```\n");
    }
}

/// The rubric's criteria as Markdown table rows, under a header.
pub(crate) fn criteria_markdown(score: &crate::results::Score) -> String {
    let mut out = String::from("| criterion | scenario points | rubric score |\n|---|---:|---:|\n");
    for c in &score.criteria {
        out.push_str(&format!(
            "| {} | {}/{} | {:.1}/{:.0} |\n",
            markdown_inline(&c.name),
            c.points,
            c.max_points,
            c.score,
            c.weight
        ));
    }
    out
}
