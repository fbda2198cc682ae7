//! `challenge grade PATH...`: grade crates with every scenario, hidden ones included, up to
//! `--jobs` at once, into the gradebook. Submissions already graded with the same source and
//! tool version are skipped (and said to be) unless `--regrade`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use super::{worker_exe, runtime, CommandError, Context};
use crate::cargo_build::Cache;
use crate::cli::Format;
use crate::gradebook::{GradeRow, Gradebook, GradebookSink, RunEnv};
use crate::reporter::{Detail, Reporter};
use crate::results::BuildOutcome;
use crate::runner::{Mode, Runner};
use crate::submissions::{self, Discovery, Submission};

/// The resolved flags of `grade`.
pub(super) struct Options {
    pub challenge: Option<String>,
    pub student: Option<String>,
    pub gradebook: PathBuf,
    pub regrade: bool,
    pub jobs: usize,
    pub shard: Option<(u32, u32)>,
    pub format: Format,
}

pub(super) fn run(cx: &Context, paths: &[PathBuf], options: &Options) -> Result<u8, CommandError> {
    let challenge = match &options.challenge {
        Some(q) => {
            let id = cx.catalog.find(q)?.id;
            Some(cx.catalog.challenges.iter().position(|c| c.id == id).expect("found above"))
        }
        None => None,
    };
    let discovery = Discovery { catalog: &cx.catalog, challenge, student: options.student.as_deref() };
    let mut found = discovery.discover(paths)?;
    if let Some((index, count)) = options.shard {
        found = submissions::shard(found, index, count);
    }
    let book = Gradebook::open(&options.gradebook)?;
    crate::sandbox::init(true);
    let isolation = crate::sandbox::describe();
    let env = run_env(&isolation);

    // Resume: what this tool version already graded from the same source is not graded again.
    let mut hashes = HashMap::new();
    let mut to_grade: Vec<Submission> = Vec::new();
    let mut skipped: Vec<GradeRow> = Vec::new();
    for submission in found {
        let hash = match &submission.missing {
            Some(_) => "missing".to_owned(),
            None => submissions::source_hash(&submission.path)
                .map_err(CommandError::io(format!("failed to read {}", submission.path.display())))?,
        };
        let slug = &cx.catalog.challenges[submission.challenge].slug;
        let done = match (options.regrade, &submission.missing) {
            (false, None) => book.already_graded(&submission.student, slug, &hash, &env.tool_version)?,
            _ => None,
        };
        match done {
            Some(row) => skipped.push(row),
            None => {
                hashes.insert(submission.path.clone(), hash);
                to_grade.push(submission);
            }
        }
    }

    // Machine formats describe what this run graded; a skipped submission would silently vanish
    // from them, so ask for a regrade instead.
    if options.format.is_machine() && !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(|g| format!("{} ({})", g.student, g.challenge)).collect();
        return Err(CommandError::Usage(format!(
            "{} already graded from the same source in {} ({}); machine formats report only what this run grades: pass --regrade, or a fresh --gradebook",
            names.len(),
            options.gradebook.display(),
            names.join(", ")
        )));
    }
    let mut human = match options.format {
        Format::Human => Box::new(std::io::stdout()) as Box<dyn Write>,
        _ => Box::new(std::io::stderr()),
    };
    writeln!(human, "isolation: {isolation}").map_err(CommandError::io("failed to write the report"))?;
    for row in &skipped {
        writeln!(
            human,
            "skipped {} {}: already graded from this source by this version ({:.1}%, level {}, run {}); pass --regrade to grade it again",
            row.student, row.challenge, row.percent, row.level, row.run_id
        )
        .map_err(CommandError::io("failed to write the report"))?;
    }

    let mut reporter = super::test::reporters(cx, options.format, Detail::Instructor, to_grade.len());
    reporter.0.push(Box::new(GradebookSink::new(book, env, hashes, Box::new(std::io::stderr()))));
    let cache = Cache::locate();
    let exe = worker_exe()?;
    // Each submission's code is kept from seeing the others' (their crates and what was built
    // from them), the specs' hidden scenarios, the reference sources, the gradebook, and this
    // executable, which embeds the catalogue (workers run one that does not).
    let hidden = to_grade
        .iter()
        .map(|s| s.path.canonicalize().unwrap_or_else(|_| s.path.clone()))
        .chain(cx.catalog.spec_dir())
        .chain(cx.catalog.root.join("solutions").canonicalize().ok())
        .chain(cache.others_builds())
        .chain(exe.catalogue_carriers())
        .chain(["", "-wal", "-shm", "-journal"].map(|suffix| {
            let mut path = options.gradebook.clone().into_os_string();
            path.push(suffix);
            PathBuf::from(path)
        }))
        .collect();
    let runner = Runner {
        catalog: &cx.catalog,
        cache,
        exe,
        mode: Mode::Grade,
        color: cx.color,
        jobs: options.jobs,
        hidden,
    };
    let reports =
        runtime()?.block_on(runner.run(&to_grade, &mut reporter)).map_err(CommandError::io("failed to grade"))?;
    reporter.finish(&reports).map_err(CommandError::io("failed to write the report"))?;
    Ok(if reports.iter().any(|r| matches!(r.build, BuildOutcome::Failed { .. })) {
        crate::exit::BUILD_FAILED
    } else if reports.iter().all(|r| r.score.passed) && skipped.iter().all(|g| g.passed) {
        crate::exit::PASSED
    } else {
        crate::exit::BELOW_PASS
    })
}

/// What grades are recorded with: this tool, the harness ABI, the toolchain, the isolation.
fn run_env(isolation: &str) -> RunEnv {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let toolchain = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(|| "unknown".to_owned(), |o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    RunEnv {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        harness_abi: challenge_harness::ffi::ABI_VERSION,
        toolchain,
        isolation: isolation.to_owned(),
    }
}
