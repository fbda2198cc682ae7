//! `challenge hint N`: each call reveals one more hint. The hint tied to the scenario the last
//! `test` failed first comes before the rest; then hints come gentlest tier first. `--all`
//! shows every hint.

use std::fmt::Write;

use super::{print, CommandError, Context};
use crate::progress::Progress;
use crate::spec::Hint;

pub(super) fn run(cx: &Context, query: &str, all: bool) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let mut out = String::new();
    if spec.hints.is_empty() {
        let _ = writeln!(
            out,
            "Challenge {} has no hints yet; its brief pins every convention: `challenge show {}`.",
            spec.id, spec.id
        );
        return print(&out);
    }
    if all {
        for hint in &spec.hints {
            out.push_str(&render(hint));
        }
        return print(&out);
    }
    let progress = Progress::open()?;
    let revealed = progress.revealed(&spec.slug)?;
    match progress.next_hint(&spec.slug, &spec.hints)? {
        Some(i) => {
            progress.reveal(&spec.slug, i)?;
            out.push_str(&render(&spec.hints[i]));
            let shown = revealed.len() + 1;
            let total = spec.hints.len();
            if shown < total {
                let _ = writeln!(
                    out,
                    "{shown} of {total} hints shown. `challenge hint {}` shows the next; --all shows them all.",
                    spec.id
                );
            } else {
                let _ = writeln!(
                    out,
                    "That was the last of {total} hints; `challenge hint {} --all` shows them all again.",
                    spec.id
                );
            }
        }
        None => {
            let _ = writeln!(out, "You have seen all {} hints:\n", spec.hints.len());
            for &i in &revealed {
                out.push_str(&render(&spec.hints[i]));
            }
        }
    }
    print(&out)
}

fn render(hint: &Hint) -> String {
    let about = hint.scenario.as_deref().map(|s| format!(" (for scenario {s})")).unwrap_or_default();
    format!("Hint, tier {}{about}:\n{}\n\n", hint.tier, hint.text)
}
