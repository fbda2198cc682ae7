//! `challenge solution N`: the reference solution, once the learner has passed (or with
//! `--force`, after a warning): reading it first would spoil the challenge.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::{print, CommandError, Context};
use crate::progress::{Progress, Status};

pub(super) fn run(cx: &Context, query: &str, force: bool) -> Result<u8, CommandError> {
    let spec = cx.catalog.find(query)?;
    let passed = matches!(Progress::open()?.status(&spec.slug)?, Status::Passed { .. });
    if !passed && !force {
        return Err(CommandError::Usage(format!(
            "the reference solution is shown once every visible scenario passes (`challenge test {}`); pass --force to look now",
            spec.id
        )));
    }
    if !passed {
        eprintln!("warning: you have not passed challenge {} yet; reading the reference now takes away the puzzle.", spec.id);
    }
    let dir = cx.catalog.reference_dir(spec);
    let mut files = Vec::new();
    collect(&dir.join("src"), &mut files).map_err(CommandError::io(format!("failed to read {}", dir.display())))?;
    files.sort();
    let mut out = format!("Reference solution for challenge {}: {}\n", spec.id, dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(CommandError::io(format!("failed to read {}", file.display())))?;
        let _ = write!(out, "\n// ---- {} ----\n{text}", file.display());
    }
    print(&out)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}
