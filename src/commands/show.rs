//! `challenge show N`: the brief.

use std::fmt::Write;

use colored::Colorize;

use super::{print, CommandError, Context};

pub(super) fn run(cx: &Context, query: &str) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let path = spec.dir.join("README.md");
    let brief =
        std::fs::read_to_string(&path).map_err(CommandError::io(format!("failed to read {}", path.display())))?;
    let mut out = String::new();
    for line in brief.lines() {
        let line = if cx.color && line.starts_with('#') { line.bold().to_string() } else { line.to_owned() };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\nRubric (pass mark {}%):", spec.rubric.pass_percent);
    for c in &spec.rubric.criteria {
        let _ = writeln!(out, "  {:<14} weight {:>3}  {}", c.name, c.weight, c.description);
    }
    let _ = writeln!(out, "\nStart with `challenge start {}`, then `challenge test {}`.", spec.id, spec.id);
    print(&out)
}
