//! `challenge progress` (where the learner stands, with a bar) and `challenge reset N`
//! (the template restored over the learner's crate, after asking).

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::{print, CommandError, Context};
use crate::progress::{Progress, Status};

pub(super) fn run(cx: &Context) -> Result<u8, CommandError> {
    let progress = Progress::open()?;
    let mut out = String::new();
    let mut passed = 0;
    for c in &cx.catalog.challenges {
        let status = progress.status(&c.slug)?;
        let best = match status {
            Status::Attempted { best, .. } | Status::Passed { best, .. } => best,
            Status::NotStarted | Status::Started => 0.0,
        };
        passed += usize::from(matches!(status, Status::Passed { .. }));
        let filled = (best / 10.0).round() as usize;
        let _ = writeln!(out, "{:>3}  {:<16} {}{} {:>4.0}%  {}", c.id, c.slug, "█".repeat(filled), "░".repeat(10 - filled), best, status.label());
    }
    let _ = writeln!(out, "\n{passed} of {} challenges passed.", cx.catalog.challenges.len());
    print(&out)
}

pub(super) fn reset(cx: &Context, query: &str, dir: Option<PathBuf>, yes: bool) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let dest = dir.unwrap_or_else(|| cx.crate_dir(spec));
    if !dest.join("Cargo.toml").is_file() {
        return Err(CommandError::Usage(format!("{} holds no crate to reset; `challenge start {}` creates one", dest.display(), spec.id)));
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(CommandError::Usage(format!(
                "resetting replaces {} with the template and loses your changes; pass --yes to do it without a question",
                dest.display()
            )));
        }
        eprint!("Replace {} with the template of challenge {}? Your changes will be lost. [y/N] ", dest.display(), spec.id);
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).map_err(CommandError::io("failed to read the answer"))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing changed.");
            return Ok(crate::exit::PASSED);
        }
    }
    for entry in std::fs::read_dir(&dest).map_err(CommandError::io(format!("failed to read {}", dest.display())))? {
        let path = entry.map_err(CommandError::io("failed to read a directory entry"))?.path();
        // Keep the build output: it is not the learner's work, and keeping it keeps builds warm.
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(CommandError::io(format!("failed to remove {}", path.display())))?;
    }
    // Placed as `start` places it; a workspace member stays in `members`, which lists it already.
    let placement = super::start::placement(cx, &dest)?;
    super::start::create(spec, &dest, &placement)?;
    print(&format!("Reset {} to the template of challenge {}.\n", dest.display(), spec.id))
}
