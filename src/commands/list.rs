//! `challenge list`.

use std::fmt::Write;

use colored::Colorize;

use super::{print, CommandError, Context};
use crate::progress::Progress;

pub(super) fn run(cx: &Context) -> Result<u8, CommandError> {
    let progress = Progress::load();
    let mut out = String::new();
    for c in &cx.catalog.challenges {
        let status = match progress.challenges.get(&c.slug) {
            Some(e) if e.passed => "passed".to_owned(),
            Some(e) => format!("best {:.0}%", e.best_percent.unwrap_or(0.0)),
            None if std::path::Path::new(&c.dir_name()).is_dir() => "started".to_owned(),
            None => "not started".to_owned(),
        };
        let status = if cx.color && status == "passed" { status.green().to_string() } else { status };
        let _ = writeln!(out, "{:>3}  {:<16} {:<28} {:<13} {status}", c.id, c.slug, c.title, c.difficulty.label());
        let _ = writeln!(out, "     {}", c.summary);
    }
    print(&out)
}
