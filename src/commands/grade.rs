//! `challenge grade PATH...`: grade crates with every scenario, hidden ones included.

use std::path::{Path, PathBuf};

use super::{current_exe, runtime, CommandError, Context};
use crate::cargo_build::Cache;
use crate::catalog::Catalog;
use crate::cli::Format;
use crate::reporter::{Detail, Reporter};
use crate::results::BuildOutcome;
use crate::runner::{Mode, Runner, Submission};

pub(super) fn run(
    cx: &Context,
    paths: &[PathBuf],
    challenge: Option<&str>,
    format: Format,
) -> Result<u8, CommandError> {
    let fixed = challenge.map(|q| cx.catalog.find(q)).transpose()?.map(|spec| spec.id);
    let mut submissions = Vec::new();
    for path in paths {
        for krate in crates_under(path)? {
            let challenge = match fixed {
                Some(id) => index_of(&cx.catalog, id),
                None => infer_challenge(&cx.catalog, &krate)?,
            };
            submissions.push(Submission { path: krate, challenge });
        }
    }
    let mut reporter = super::test::reporters(cx, format, Detail::Instructor);
    let runner = Runner {
        catalog: &cx.catalog,
        cache: Cache::locate(),
        exe: current_exe()?,
        mode: Mode::Grade,
        color: cx.color,
    };
    let reports = runtime()?
        .block_on(runner.run(&submissions, &mut reporter))
        .map_err(CommandError::io("failed to run the scenarios"))?;
    reporter.finish(&reports).map_err(CommandError::io("failed to write the report"))?;
    Ok(if reports.iter().any(|r| matches!(r.build, BuildOutcome::Failed { .. })) {
        crate::exit::BUILD_FAILED
    } else if reports.iter().all(|r| r.score.passed) {
        crate::exit::PASSED
    } else {
        crate::exit::BELOW_PASS
    })
}

fn index_of(catalog: &Catalog, id: u32) -> usize {
    catalog.challenges.iter().position(|c| c.id == id).expect("ids come from the catalogue")
}

/// A crate, or every directory inside a directory that is not itself a crate. Nothing is skipped
/// silently: a subdirectory without Cargo.toml is still graded, and its build reports why.
fn crates_under(path: &Path) -> Result<Vec<PathBuf>, CommandError> {
    if !path.is_dir() {
        return Err(CommandError::Usage(format!(
            "{} is not a directory: pass a crate or a directory of crates",
            path.display()
        )));
    }
    if path.join("Cargo.toml").is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut crates: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(CommandError::io(format!("failed to read {}", path.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.') && n != "target"))
        .collect();
    crates.sort();
    if crates.is_empty() {
        return Err(CommandError::Usage(format!("{} holds no crates to grade", path.display())));
    }
    Ok(crates)
}

/// The challenge a crate solves, from its directory name: `01-rate-limiter`, `rate-limiter` or `1`.
fn infer_challenge(catalog: &Catalog, krate: &Path) -> Result<usize, CommandError> {
    let name = krate.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    catalog
        .challenges
        .iter()
        .position(|c| name == c.dir_name() || name == c.slug || name == c.id.to_string())
        .or_else(|| (catalog.challenges.len() == 1).then_some(0))
        .ok_or_else(|| {
            CommandError::Usage(format!(
                "cannot tell which challenge {} solves from its name; name it like `01-rate-limiter`, or pass --challenge",
                krate.display()
            ))
        })
}
