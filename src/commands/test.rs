//! `challenge test N`: build the learner's crate and run the visible scenarios, with every
//! failure explained in full.

use std::path::PathBuf;

use super::{worker_exe, runtime, CommandError, Context};
use crate::cargo_build::Cache;
use crate::cli::Format;
use crate::progress::Progress;
use crate::reporter::{
    Detail, Fanout, GithubReporter, GradescopeReporter, JsonReporter, JunitReporter, Reporter, TerminalReporter,
};
use crate::results::BuildOutcome;
use crate::runner::{Mode, Runner};
use crate::submissions::Submission;
use crate::workspace::WorkspaceError;

/// The resolved flags of `test`.
pub(super) struct Options {
    pub format: Format,
    pub sandbox: bool,
    pub seed: Option<u64>,
}

pub(super) fn run(cx: &Context, query: &str, solution: Option<PathBuf>, options: &Options) -> Result<u8, CommandError> {
    let Options { format, sandbox, seed } = *options;
    let spec = cx.catalog.find(query)?;
    let index = cx.catalog.challenges.iter().position(|c| c.id == spec.id).expect("found above");
    let path = solution.unwrap_or_else(|| cx.crate_dir(spec));
    if !path.exists() {
        return Err(CommandError::Usage(format!(
            "no solution at {}: run `challenge start {}` first, or pass --solution PATH",
            path.display(),
            spec.id
        )));
    }
    // Said before anything runs: nothing built against another ABI is ever loaded.
    if let Some(problem) = crate::workspace::stale_harness(&path) {
        return Err(CommandError::Workspace(WorkspaceError::Refused(problem)));
    }
    if let Some(note) = crate::workspace::outdated_harness(&path) {
        eprintln!("note: {note}");
    }
    if sandbox {
        crate::sandbox::init(true);
        eprintln!("isolation: {}", crate::sandbox::describe());
    }
    let mut reporter = reporters(cx, format, Detail::Learner, 1);
    // A replay: the seeded scenarios take the seed the learner gives, the rest are unchanged.
    let mut catalog = cx.catalog.clone();
    if let Some(seed) = seed {
        for scenario in catalog.challenges[index].scenarios.iter_mut().filter(|s| s.body.is_seeded()) {
            scenario.seed = seed;
        }
    }
    let runner = Runner {
        catalog: &catalog,
        cache: Cache::locate(),
        exe: worker_exe()?,
        mode: Mode::Test,
        color: cx.color,
        jobs: 1,
        hidden: Vec::new(),
    };
    let submissions = [Submission { student: "you".to_owned(), path, challenge: index, missing: None }];
    let reports = runtime()?
        .block_on(runner.run(&submissions, &mut reporter))
        .map_err(CommandError::io("failed to run the scenarios"))?;
    reporter.finish(&reports).map_err(CommandError::io("failed to write the report"))?;
    let report = &reports[0];
    let all_passed = report.results.iter().all(|r| r.verdict.is_pass());
    // Progress is a convenience: failing to save it must not fail the test run.
    if let Err(e) = Progress::open().and_then(|p| p.record_report(&spec.slug, report)) {
        eprintln!("warning: {e}");
    }
    Ok(match report.build {
        BuildOutcome::Failed { .. } => crate::exit::BUILD_FAILED,
        BuildOutcome::Built { .. } if all_passed => crate::exit::PASSED,
        BuildOutcome::Built { .. } => crate::exit::BELOW_PASS,
    })
}

/// The reporters for `format` over a run of `submissions`: the human report always, on stderr
/// when a machine format owns stdout.
pub(super) fn reporters(cx: &Context, format: Format, detail: Detail, submissions: usize) -> Fanout {
    let human = TerminalReporter::new(Context::human_out(format), cx.color, detail, cx.progress, submissions);
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(human)];
    let stdout = || Box::new(std::io::stdout()) as Box<dyn std::io::Write>;
    let machine: Option<Box<dyn Reporter>> = match format {
        Format::Human => None,
        Format::Json => Some(Box::new(JsonReporter::new(stdout()))),
        Format::Junit => Some(Box::new(JunitReporter::new(stdout()))),
        Format::Gradescope => Some(Box::new(GradescopeReporter::new(stdout()))),
        Format::Github => {
            // Set by the Actions runner to a file each step appends its Markdown summary to.
            let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()).map(PathBuf::from);
            Some(Box::new(GithubReporter::new(stdout(), summary)))
        }
    };
    reporters.extend(machine);
    Fanout(reporters)
}
