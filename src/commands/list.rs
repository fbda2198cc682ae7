//! `challenge list`.

use std::fmt::Write;

use colored::Colorize;

use super::{print, CommandError, Context};
use crate::progress::{Progress, Status};

pub(super) fn run(cx: &Context) -> Result<u8, CommandError> {
    let progress = Progress::open()?;
    let mut out = String::new();
    for c in &cx.catalog.challenges {
        let status = match progress.status(&c.slug)? {
            // A crate made before progress was kept (or by hand) still counts as started.
            Status::NotStarted if cx.crate_dir(c).is_dir() => Status::Started,
            status => status,
        };
        let label = status.label();
        let label = if cx.color && matches!(status, Status::Passed { .. }) { label.green().to_string() } else { label };
        let _ = writeln!(out, "{:>3}  {:<16} {:<28} {:<13} {label}", c.id, c.slug, c.title, c.difficulty.label());
        let _ = writeln!(out, "     {}", c.summary);
    }
    print(&out)
}
