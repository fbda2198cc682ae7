//! What the keys show under the report: the next hint (chosen as `challenge hint N` chooses it, and
//! recorded the same way) and the list of challenges with the learner's status on each.

use std::fmt::Write;

use crate::commands::Context;
use crate::progress::{Progress, ProgressError, Status};
use crate::spec::{ChallengeSpec, Hint};

/// Reveals the next hint for `spec`: the one for the scenario the last run failed first, else the
/// gentlest one not yet shown. Once all are shown, the most useful one again.
pub(super) fn next_hint(spec: &ChallengeSpec) -> Result<String, ProgressError> {
    let mut out = String::new();
    if spec.hints.is_empty() {
        let _ = writeln!(
            out,
            "Challenge {} has no hints yet; its brief pins every convention: `challenge show {}`.",
            spec.id, spec.id
        );
        return Ok(out);
    }
    let progress = Progress::open()?;
    let revealed = progress.revealed(&spec.slug)?;
    let failing = progress.last_failing(&spec.slug)?;
    let for_failing = |i: &usize| failing.is_some() && spec.hints[*i].scenario == failing;
    let total = spec.hints.len();
    match progress.next_hint(&spec.slug, &spec.hints)? {
        Some(i) => {
            progress.reveal(&spec.slug, i)?;
            out.push_str(&render(&spec.hints[i]));
            let shown = revealed.len() + 1;
            if shown < total {
                let _ = writeln!(out, "{shown} of {total} hints shown; h shows the next.");
            } else {
                let _ = writeln!(
                    out,
                    "That was the last of {total} hints; `challenge hint {} --all` prints them all.",
                    spec.id
                );
            }
        }
        None => {
            let again = (0..total).find(for_failing).or(revealed.last().copied()).unwrap_or(0);
            out.push_str(&render(&spec.hints[again]));
            let _ =
                writeln!(out, "You have seen all {total} hints; `challenge hint {} --all` prints them all.", spec.id);
        }
    }
    Ok(out)
}

fn render(hint: &Hint) -> String {
    let about = hint.scenario.as_deref().map(|s| format!(" (for scenario {s})")).unwrap_or_default();
    format!("Hint, tier {}{about}:\n{}\n", hint.tier, reflow(&hint.text))
}

/// Hints are written with hard line breaks for an 80- or 100-column editor; the panel wraps them
/// to the window instead, so each paragraph becomes one line. Indented lines and list items keep
/// their breaks.
fn reflow(text: &str) -> String {
    let paragraphs = text.trim().split("\n\n").map(|paragraph| {
        let structured = paragraph.lines().any(|l| l.starts_with([' ', '\t', '-', '*']) || l.starts_with("```"));
        if structured {
            paragraph.to_owned()
        } else {
            paragraph.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    });
    paragraphs.collect::<Vec<_>>().join("\n\n")
}

/// Every challenge with the learner's status; `current` (an index into the catalogue) is marked.
/// Narrower than `challenge list` (no difficulty, no summary), so a row fits an 80-column window.
pub(super) fn list(cx: &Context, current: usize) -> Result<String, ProgressError> {
    let catalog = &cx.catalog;
    let progress = Progress::open()?;
    let mut out = String::from("Challenges (n moves to the next once this one has passed):\n");
    for (i, c) in catalog.challenges.iter().enumerate() {
        let status = match progress.status(&c.slug)? {
            // A crate made before progress was kept (or by hand) still counts as started.
            Status::NotStarted if cx.crate_dir(c).is_dir() => Status::Started,
            status => status,
        };
        let marker = if i == current { "▶" } else { " " };
        let _ = writeln!(out, "{marker}{:>3}  {:<16} {:<28} {}", c.id, c.slug, c.title, status.label());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hints_reflow_into_paragraphs_but_lists_keep_their_lines() {
        let text = "Read the brief\nwith a pen.\n\nThen:\n- one\n- two\n";
        assert_eq!(super::reflow(text), "Read the brief with a pen.\n\nThen:\n- one\n- two");
    }
}
