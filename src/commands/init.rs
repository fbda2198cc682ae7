//! `challenge init [DIR]`: make (or complete) a learner workspace, and `--update-harness`:
//! replace its harness copy with this tool's after an upgrade.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::{print, CommandError, Context};
use crate::progress::Progress;
use crate::workspace::{self, HarnessState, Workspace};

pub(super) fn run(cx: &Context, dir: Option<PathBuf>, update_harness: bool) -> Result<u8, CommandError> {
    let dir = match dir {
        Some(dir) => dir,
        // Updating means this workspace's harness, from anywhere inside it.
        None if update_harness => cx.workspace.as_ref().map_or_else(|| PathBuf::from("."), |w| w.root().to_owned()),
        None => PathBuf::from("."),
    };
    let before = Workspace::at(&dir).map(|w| w.harness_state());
    let created = workspace::init(&dir, update_harness)?;
    let root = created.workspace.root();
    // The progress store is part of the workspace; the first command would create it anyway.
    Progress::open_in(root)?;

    let shown =
        if dir == std::path::Path::new(".") { "the current directory".to_owned() } else { dir.display().to_string() };
    let abi = challenge_harness::ffi::ABI_VERSION;
    let version = env!("CARGO_PKG_VERSION");
    let mut out = String::new();
    if update_harness {
        let was = match before {
            Some(HarnessState::Current) => " (it was current already)",
            Some(HarnessState::Outdated | HarnessState::Mismatched { .. }) | None => "",
        };
        let _ = writeln!(
            out,
            "Updated the harness copy in {} to challenge {version}'s, ABI v{abi}{was}.",
            created.workspace.harness_dir().display()
        );
        let _ = writeln!(out, "Your crates were not touched; `challenge test N` builds them against the new copy.");
        return print(&out);
    }
    if created.existed {
        let _ = writeln!(out, "{} is a learner workspace already.", capitalized(&shown));
        if !created.written.is_empty() {
            let _ = writeln!(out, "Added what it lacked:");
            describe(&mut out, &created.written);
        }
        match created.workspace.harness_state() {
            HarnessState::Current => {
                let _ = writeln!(out, "Its harness copy matches this challenge {version} (ABI v{abi}).");
            }
            HarnessState::Outdated => {
                let _ = writeln!(out, "Its harness copy speaks this tool's ABI v{abi} but differs from the harness challenge {version} ships; `challenge init --update-harness` refreshes it.");
            }
            HarnessState::Mismatched { found_version, found_hash } => {
                let _ =
                    writeln!(out, "Warning: {}.", created.workspace.mismatch_message(found_version, found_hash, ""));
            }
        }
        return print(&out);
    }
    let _ = writeln!(out, "Made a learner workspace in {shown} (challenge {version}, harness ABI v{abi}):");
    describe(&mut out, &created.written);
    match crate::reference::prefetch(&cx.catalog) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "The reference solutions' dependencies are in your cargo cache, so everything works offline."
            );
        }
        Err(warning) => eprintln!("warning: {warning}"),
    }
    let _ = writeln!(out, "Next:");
    if dir != std::path::Path::new(".") {
        let _ = writeln!(out, "  cd {}", dir.display());
    }
    let _ = writeln!(out, "  challenge list                what there is to do");
    if let Some(first) = cx.catalog.challenges.first() {
        let _ = writeln!(
            out,
            "  challenge start {}             your crate for challenge {}: {}",
            first.id, first.id, first.title
        );
    }
    print(&out)
}

/// One line per file written, saying what it is for.
fn describe(out: &mut String, written: &[String]) {
    for name in written {
        let what = match name.as_str() {
            "README.md" => "how to work here",
            "Cargo.toml" => "the Cargo workspace: `challenge start` adds each crate to it",
            ".gitignore" => "ignores build output, your progress and a local gradebook",
            _ => "the harness your crates depend on, at this tool's ABI",
        };
        let _ = writeln!(out, "  {name:<20} {what}");
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
