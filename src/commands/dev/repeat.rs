//! `challenge dev repeat`: grades the same submissions several times and checks that every
//! scenario not timed against the reference gets the same verdict and points in every run, and
//! that the timed ones never fail a reference solution graded against itself. A grade that can
//! change on a rerun is not a grade.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use super::super::{worker_exe, runtime, CommandError, Context};
use crate::cargo_build::Cache;
use crate::catalog::Catalog;
use crate::runner::{Mode, Runner};
use crate::submissions::Discovery;

/// What one scenario of one submission got, over the runs: (verdict, points) → how many runs.
type Outcomes = BTreeMap<(String, u32), u32>;

/// Grades `paths` `runs` times (every scenario, hidden ones included, untimed ones only with
/// `untimed`) and reports any scenario whose outcome varied. Exit 0 when none did.
pub fn repeat(cx: &Context, paths: &[PathBuf], challenge: Option<&str>, runs: u32, untimed: bool) -> Result<u8, CommandError> {
    let challenge = match challenge {
        Some(q) => {
            let id = cx.catalog.find(q)?.id;
            Some(cx.catalog.challenges.iter().position(|c| c.id == id).expect("found above"))
        }
        None => None,
    };
    let submissions = Discovery { catalog: &cx.catalog, challenge, student: None }.discover(paths)?;
    // The timed scenarios are those that load the reference beside the learner's code.
    let mut catalog: Catalog = cx.catalog.clone();
    if untimed {
        for spec in &mut catalog.challenges {
            spec.scenarios.retain(|s| !s.body.needs_reference());
        }
    }
    let runner = Runner {
        catalog: &catalog,
        cache: Cache::locate(),
        exe: worker_exe()?,
        mode: Mode::Grade,
        color: false,
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        hidden: Vec::new(),
    };
    // (submission, scenario) → outcomes, and which scenarios are timed.
    let mut seen: BTreeMap<(usize, String), (bool, Outcomes)> = BTreeMap::new();
    // submission → its whole score (percent and level, as the gradebook shows them) → how many runs.
    let mut scores: BTreeMap<usize, BTreeMap<String, u32>> = BTreeMap::new();
    let mut err = std::io::stderr();
    for run in 1..=runs {
        let mut quiet = crate::reporter::Fanout(Vec::new());
        let reports = runtime()?
            .block_on(runner.run(&submissions, &mut quiet))
            .map_err(CommandError::io("failed to run the scenarios"))?;
        for (index, report) in reports.iter().enumerate() {
            let score = format!("{:.1}% level {}", report.score.percent, report.score.level);
            *scores.entry(index).or_default().entry(score).or_default() += 1;
            let spec = &catalog.challenges[submissions[index].challenge];
            for result in &report.results {
                let timed = spec.scenarios.iter().any(|s| s.name == result.name && s.body.needs_reference());
                let entry = seen.entry((index, result.name.clone())).or_insert_with(|| (timed, Outcomes::new()));
                *entry.1.entry((result.verdict.kind().to_owned(), result.points)).or_default() += 1;
            }
        }
        let _ = writeln!(err, "  run {run} of {runs} done");
    }
    let mut out = std::io::stdout().lock();
    let write = |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(CommandError::io("failed to write the report"));
    let mut varied = 0;
    let mut score_varied = 0;
    for (index, submission) in submissions.iter().enumerate() {
        let mine: Vec<_> = seen.iter().filter(|((i, _), _)| *i == index).collect();
        let untimed_varied: Vec<String> = mine
            .iter()
            .filter(|(_, (timed, outcomes))| !timed && outcomes.len() > 1)
            .map(|((_, name), (_, outcomes))| format!("{name} ({})", describe(outcomes)))
            .collect();
        let timed: Vec<String> =
            mine.iter().filter(|(_, (timed, _))| *timed).map(|((_, name), (_, outcomes))| format!("{name}: {}", describe(outcomes))).collect();
        varied += untimed_varied.len();
        let untimed_count = mine.iter().filter(|(_, (timed, _))| !timed).count();
        let verdict = if untimed_varied.is_empty() {
            format!("{untimed_count} untimed scenarios, each with one outcome in {runs} runs")
        } else {
            format!("VARIED: {}", untimed_varied.join("; "))
        };
        let timed = if timed.is_empty() { String::new() } else { format!("; timed: {}", timed.join("; ")) };
        let score = scores.get(&index).map(|s| describe_counts(s.iter())).unwrap_or_default();
        score_varied += usize::from(scores.get(&index).is_some_and(|s| s.len() > 1));
        write(&mut out, format!("{}: {verdict}{timed}; score: {score}", submission.path.display()))?;
    }
    write(
        &mut out,
        format!(
            "{runs} runs of {} submissions: {varied} untimed scenarios varied; {score_varied} submissions had more than one score",
            submissions.len()
        ),
    )?;
    Ok(if varied == 0 { crate::exit::PASSED } else { crate::exit::BELOW_PASS })
}

/// `pass ×20` or `pass ×19, fail ×1`.
fn describe(outcomes: &Outcomes) -> String {
    describe_counts(outcomes.iter().map(|((verdict, _), n)| (verdict, n)))
}

/// `what ×n`, joined: how often each distinct thing was seen.
fn describe_counts<'a>(counts: impl Iterator<Item = (&'a String, &'a u32)>) -> String {
    counts.map(|(what, n)| format!("{what} ×{n}")).collect::<Vec<_>>().join(", ")
}
