//! `--format github`: GitHub Actions workflow commands on stdout when the run ends (an `::error`
//! annotation per failing scenario, then the total as a `::notice`, or an `::error` below the
//! pass mark) and a Markdown job summary appended to the file `GITHUB_STEP_SUMMARY` names, or
//! printed after the annotations when it is not set.

use std::io::Write;
use std::path::PathBuf;

use super::{plain, Reporter};
use crate::events::RunEvent;
use crate::results::{BuildOutcome, ScenarioResult, SubmissionReport};
use crate::spec::Visibility;
use crate::verdict::Verdict;

/// Lines of cargo's diagnostics kept in the summary.
const BUILD_LINES: usize = 200;

/// Writes annotations and the job summary.
pub struct GithubReporter {
    out: Box<dyn Write>,
    summary: Option<PathBuf>,
}

impl GithubReporter {
    /// A reporter writing annotations to `out` and appending the job summary to `summary` (the
    /// value of `GITHUB_STEP_SUMMARY`), or writing it to `out` too when there is none.
    pub fn new(out: Box<dyn Write>, summary: Option<PathBuf>) -> GithubReporter {
        GithubReporter { out, summary }
    }
}

impl Reporter for GithubReporter {
    fn report(&mut self, _event: &RunEvent<'_>) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, reports: &[SubmissionReport]) -> std::io::Result<()> {
        self.out.write_all(annotations(reports).as_bytes())?;
        let markdown = summary(reports);
        match &self.summary {
            Some(path) => {
                let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                file.write_all(markdown.as_bytes())?;
            }
            None => self.out.write_all(markdown.as_bytes())?,
        }
        self.out.flush()
    }
}

/// `::name title=…::message`, escaped so that neither part can end the command or start another.
fn command(name: &str, title: &str, message: &str) -> String {
    format!("::{name} title={}::{}\n", escape_property(title), escape_data(message.trim_end()))
}

/// A command's message: `%`, `\r` and `\n` percent-encoded, as the runner decodes them.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A command's property value: as a message, plus `:` and `,`, which end a property.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The annotations for every submission.
fn annotations(reports: &[SubmissionReport]) -> String {
    let mut out = String::new();
    for r in reports {
        // With several submissions in one job, each title says whose it is.
        let whose = if reports.len() > 1 { format!("{}: ", r.path.display()) } else { String::new() };
        if let BuildOutcome::Failed { message, .. } = &r.build {
            out.push_str(&command("error", &format!("{whose}build failed"), message));
        }
        for (x, others) in failure_groups(r) {
            let hidden = if x.visibility == Visibility::Hidden { "hidden, " } else { "" };
            let more = if others.is_empty() { String::new() } else { format!(" and {} more", others.len()) };
            let title = format!(
                "{whose}{} {} ({hidden}{}, {}/{} points){more}",
                x.verdict.kind(),
                x.name,
                x.criterion,
                x.points,
                x.max_points
            );
            let mut message = plain::failure_text(x).trim_end().to_owned();
            if !others.is_empty() {
                message.push_str(&format!("\n{}", also_stopped(&others)));
            }
            out.push_str(&command("error", &title, &message));
        }
        let s = &r.score;
        let title = format!("{whose}challenge {} {}: {:.1}%", r.challenge.id, r.challenge.slug, s.percent);
        let message = format!(
            "level {} ({}), pass mark {:.0}%: {}; {:.1} of {:.0} rubric points",
            s.level,
            s.level_label,
            s.pass_percent,
            if s.passed { "passed" } else { "below the pass mark" },
            s.score,
            s.max_score
        );
        out.push_str(&command(if s.passed { "notice" } else { "error" }, &title, &message));
    }
    out
}

/// The job summary: per submission, a table of scenarios, the rubric total, then each visible
/// failure in full.
fn summary(reports: &[SubmissionReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let s = &r.score;
        let mark = if s.passed { "✓" } else { "✗" };
        out.push_str(&format!(
            "## {mark} Challenge {} · {} · `{}`\n\n",
            r.challenge.id,
            plain::markdown_inline(&r.challenge.title),
            r.path.display().to_string().replace('`', "'")
        ));
        out.push_str(&format!(
            "**{:.1}%**, level {} ({}), pass mark {:.0}%: **{}**\n\n",
            s.percent,
            s.level,
            plain::markdown_inline(&s.level_label),
            s.pass_percent,
            if s.passed { "passed" } else { "below the pass mark" }
        ));
        if let BuildOutcome::Failed { message, rendered } = &r.build {
            out.push_str(&format!("**The crate did not build:** {}\n\n", plain::markdown_inline(message)));
            if let Some(rendered) = rendered {
                let lines: Vec<&str> = rendered.lines().take(BUILD_LINES).collect();
                out.push_str(&format!(
                    "<details><summary>cargo's diagnostics</summary>\n\n{}\n</details>\n\n",
                    plain::code_block(&lines.join("\n"))
                ));
            }
        }
        out.push_str("| | scenario | criterion | verdict | points |\n|---|---|---|---|---:|\n");
        for x in &r.results {
            out.push_str(&row(x));
        }
        out.push('\n');
        out.push_str(&plain::criteria_markdown(s));
        let (points, max_points) = s.criteria.iter().fold((0, 0), |(p, m), c| (p + c.points, m + c.max_points));
        out.push_str(&format!(
            "| **total** | **{points}/{max_points}** | **{:.1}/{:.0} ({:.1}%)** |\n\n",
            s.score, s.max_score, s.percent
        ));
        // Hidden scenarios have their row and nothing more.
        for (x, others) in failure_groups(r).into_iter().filter(|(x, _)| x.visibility == Visibility::Visible) {
            out.push_str(&format!(
                "<details><summary>✗ {} ({}, {}/{} points)</summary>\n\n{}{}\n</details>\n\n",
                plain::markdown_inline(&x.name),
                plain::markdown_inline(&x.criterion),
                x.points,
                x.max_points,
                plain::failure_markdown(x),
                if others.is_empty() {
                    String::new()
                } else {
                    format!("\n{}\n", plain::markdown_inline(&also_stopped(&others)))
                }
            ));
        }
    }
    out
}

/// The failing scenarios of a submission, with those that failed for one shared cause (the same
/// panic, the same crash) collapsed behind the first, so a crate that panics everywhere is one
/// annotation, not one per scenario (GitHub shows only the first ten of a step). Failed
/// expectations stay apart, and visible and hidden scenarios never share a group, so a hidden
/// one's cause is not revealed through a visible one's. After a failed build nothing ran, and the
/// build's own annotation says so once.
fn failure_groups(r: &SubmissionReport) -> Vec<(&ScenarioResult, Vec<&ScenarioResult>)> {
    let mut groups: Vec<(&ScenarioResult, Vec<&ScenarioResult>)> = Vec::new();
    for x in r.results.iter().filter(|x| !x.verdict.is_pass() && !matches!(x.verdict, Verdict::BuildError)) {
        let shared = if matches!(x.verdict, Verdict::Fail(_)) {
            None
        } else {
            groups.iter_mut().find(|(first, _)| {
                !matches!(first.verdict, Verdict::Fail(_))
                    && first.visibility == x.visibility
                    && plain::message(first) == plain::message(x)
            })
        };
        match shared {
            Some((_, others)) => others.push(x),
            None => groups.push((x, Vec::new())),
        }
    }
    groups
}

/// `the same failure also stopped: a, b`.
fn also_stopped(others: &[&ScenarioResult]) -> String {
    let names: Vec<&str> = others.iter().map(|x| x.name.as_str()).collect();
    format!("the same failure also stopped: {}", names.join(", "))
}

/// One scenario's row: verdict and points, and for a hidden one that it is hidden.
fn row(x: &ScenarioResult) -> String {
    let mark = if x.verdict.is_pass() { "✓" } else { "✗" };
    let hidden = if x.visibility == Visibility::Hidden { " *(hidden)*" } else { "" };
    format!(
        "| {mark} | {}{hidden} | {} | {} | {}/{} |\n",
        plain::markdown_inline(&x.name),
        plain::markdown_inline(&x.criterion),
        x.verdict.kind(),
        x.points,
        x.max_points
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_escape_percent_and_line_breaks() {
        assert_eq!(escape_data("100% done\r\nnext: a, b"), "100%25 done%0D%0Anext: a, b");
        // Encoding `%` first keeps an already encoded sequence literal.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn properties_also_escape_colons_and_commas() {
        assert_eq!(escape_property("fail x (correctness, 0/2): 5%\n"), "fail x (correctness%2C 0/2)%3A 5%25%0A");
    }

    #[test]
    fn a_command_stays_on_one_line() {
        let line = command("error", "a::b", "one\n::warning::injected\n");
        assert_eq!(line, "::error title=a%3A%3Ab::one%0A::warning::injected\n");
        assert_eq!(line.lines().count(), 1);
    }
}
