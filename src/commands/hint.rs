//! `challenge hint N`: tiered hints, gentlest first.

use std::fmt::Write;

use super::{print, CommandError, Context};

pub(super) fn run(cx: &Context, query: &str, up_to: u32) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let mut out = String::new();
    let shown: Vec<_> = spec.hints.iter().filter(|h| h.tier <= up_to).collect();
    if spec.hints.is_empty() {
        let _ = writeln!(
            out,
            "Challenge {} has no hints yet; its brief pins every convention: `challenge show {}`.",
            spec.id, spec.id
        );
    }
    for h in &shown {
        let about = h.scenario.as_deref().map(|s| format!(" (for scenario {s})")).unwrap_or_default();
        let _ = writeln!(out, "Hint, tier {}{about}:\n{}\n", h.tier, h.text);
    }
    if let Some(next) = spec.hints.iter().map(|h| h.tier).find(|&t| t > up_to) {
        let _ = writeln!(out, "More: `challenge hint {} --tier {next}` (or --all).", spec.id);
    }
    print(&out)
}
