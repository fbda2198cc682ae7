//! `--format junit`: JUnit XML on stdout when the run ends, for CI test tabs (GitLab, Jenkins,
//! Azure, test-reporter actions). One `<testsuite>` per submission and one `<testcase>` per
//! scenario; a failed expectation is a `<failure>` carrying the diff, every other non-pass verdict
//! an `<error>` whose type is the verdict's kind.

use std::fmt::Write as _;
use std::io::Write;

use super::{plain, Reporter};
use crate::events::RunEvent;
use crate::results::{BuildOutcome, ScenarioResult, SubmissionReport};
use crate::spec::Visibility;
use crate::verdict::Verdict;

/// Writes the JUnit document.
pub struct JunitReporter {
    out: Box<dyn Write>,
}

impl JunitReporter {
    /// A reporter writing to `out`.
    pub fn new(out: Box<dyn Write>) -> JunitReporter {
        JunitReporter { out }
    }
}

impl Reporter for JunitReporter {
    fn report(&mut self, _event: &RunEvent<'_>) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, reports: &[SubmissionReport]) -> std::io::Result<()> {
        self.out.write_all(document(reports).as_bytes())?;
        self.out.flush()
    }
}

/// How a scenario counts in JUnit's tallies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    /// An expectation did not hold: the learner's logic.
    Failure,
    /// The code did not get to an answer (panic, crash, timeout, …) or could not run.
    Error,
}

fn outcome(verdict: &Verdict) -> Outcome {
    match verdict {
        Verdict::Pass { .. } => Outcome::Passed,
        Verdict::Fail(_) => Outcome::Failure,
        Verdict::Panic(_)
        | Verdict::Crash { .. }
        | Verdict::Exited { .. }
        | Verdict::Timeout { .. }
        | Verdict::CpuLimit { .. }
        | Verdict::MemoryLimit { .. }
        | Verdict::OutputLimit { .. }
        | Verdict::BuildError
        | Verdict::AbiMismatch { .. }
        | Verdict::GraderError { .. } => Outcome::Error,
    }
}

/// Tests, failures, errors and seconds.
fn tally<'a>(results: impl Iterator<Item = &'a ScenarioResult>) -> (usize, usize, usize, f64) {
    results.fold((0, 0, 0, 0.0), |(t, f, e, s), r| {
        let o = outcome(&r.verdict);
        (
            t + 1,
            f + usize::from(o == Outcome::Failure),
            e + usize::from(o == Outcome::Error),
            s + plain::seconds(r.duration),
        )
    })
}

/// The whole document.
fn document(reports: &[SubmissionReport]) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (tests, failures, errors, time) = tally(reports.iter().flat_map(|r| &r.results));
    let _ = writeln!(
        x,
        "<testsuites name=\"challenge\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">"
    );
    for report in reports {
        suite(&mut x, report);
    }
    x.push_str("</testsuites>\n");
    x
}

fn suite(x: &mut String, r: &SubmissionReport) {
    let (tests, failures, errors, time) = tally(r.results.iter());
    let name = format!("challenge {} {}", r.challenge.id, r.challenge.slug);
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{time:.3}\">",
        attr(&name)
    );
    // The rubric's verdict has no place in JUnit's counts, so it travels as properties.
    x.push_str("    <properties>\n");
    let s = &r.score;
    let properties = [
        ("path", r.path.display().to_string()),
        ("student", r.student.clone()),
        ("score", format!("{:.2}", s.score)),
        ("max-score", format!("{:.2}", s.max_score)),
        ("percent", format!("{:.2}", s.percent)),
        ("level", s.level.to_string()),
        ("passed", s.passed.to_string()),
    ];
    for (key, value) in properties {
        let _ = writeln!(x, "      <property name=\"{key}\" value=\"{}\"/>", attr(&value));
    }
    x.push_str("    </properties>\n");
    for result in &r.results {
        case(x, &r.challenge.slug, result);
    }
    if let BuildOutcome::Failed { message, rendered } = &r.build {
        // The learner's own compile errors: the same for every scenario, so said once.
        let mut text = rendered.clone().unwrap_or_default();
        text.push_str(message);
        let _ = writeln!(x, "    <system-err>{}</system-err>", text_node(&text));
    }
    x.push_str("  </testsuite>\n");
}

fn case(x: &mut String, slug: &str, r: &ScenarioResult) {
    let _ = write!(
        x,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
        attr(&format!("{slug}.{}", r.criterion)),
        attr(&r.name),
        plain::seconds(r.duration)
    );
    let kind = r.verdict.kind();
    match outcome(&r.verdict) {
        Outcome::Passed => match (&r.verdict, r.visibility) {
            (Verdict::Pass { note: Some(note) }, Visibility::Visible) => {
                let _ = writeln!(x, ">\n      <system-out>{}</system-out>\n    </testcase>", text_node(note));
            }
            _ => x.push_str("/>\n"),
        },
        Outcome::Failure | Outcome::Error => {
            let element = if outcome(&r.verdict) == Outcome::Failure { "failure" } else { "error" };
            let _ = writeln!(
                x,
                ">\n      <{element} message=\"{}\" type=\"{kind}\">{}</{element}>\n    </testcase>",
                attr(&plain::message(r)),
                text_node(&body(r))
            );
        }
    }
}

/// The body of a `<failure>` or `<error>`: the description and the failure in full.
fn body(r: &ScenarioResult) -> String {
    match r.visibility {
        Visibility::Hidden => plain::failure_text(r),
        Visibility::Visible => format!("{}\n{}", r.description, plain::failure_text(r)),
    }
}

/// `c` may appear in an XML 1.0 document (the `Char` production).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text content: markup characters escaped, characters XML 1.0 forbids (most control characters,
/// such as the escape that starts an ANSI color) replaced by U+FFFD, and `\r` kept as a reference
/// because parsers would otherwise turn it into `\n`.
fn text_node(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// An attribute value: as text, plus quotes, and whitespace as references so that attribute-value
/// normalization keeps line breaks and tabs.
fn attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push_str(&text_node(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(text_node("a < b && c > \"d\" 'e'"), "a &lt; b &amp;&amp; c &gt; \"d\" 'e'");
        assert_eq!(text_node("]]>"), "]]&gt;");
        assert_eq!(
            text_node("\u{1b}[31mred\u{1b}[0m\u{0}\u{8}\u{b}\u{c}\u{1f}"),
            "\u{FFFD}[31mred\u{FFFD}[0m\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"
        );
        assert_eq!(text_node("tab\tline\nret\r"), "tab\tline\nret&#13;");
        assert_eq!(text_node("\u{FFFE}\u{FFFF}ok ✓ 𝄞"), "\u{FFFD}\u{FFFD}ok ✓ 𝄞");
    }

    #[test]
    fn attributes_escape_quotes_and_keep_whitespace() {
        assert_eq!(attr("say \"hi\" & 'bye' <x>"), "say &quot;hi&quot; &amp; &apos;bye&apos; &lt;x&gt;");
        assert_eq!(attr("a\nb\tc\rd\u{7}"), "a&#10;b&#9;c&#13;d\u{FFFD}");
    }

    #[test]
    fn verdicts_map_to_failures_and_errors() {
        assert!(outcome(&Verdict::Pass { note: None }) == Outcome::Passed);
        assert!(outcome(&Verdict::Fail(challenge_graders::Failure::new("x"))) == Outcome::Failure);
        assert!(outcome(&Verdict::BuildError) == Outcome::Error);
        assert!(outcome(&Verdict::Exited { code: 3 }) == Outcome::Error);
    }
}
