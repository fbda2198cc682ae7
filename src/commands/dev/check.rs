//! `challenge dev check`: proves the catalogue consistent. It reports every problem, not just the
//! first, as one `file:line: message` line each on stdout; progress goes to stderr, and the last
//! stdout line is the summary (`N problems`, or `catalogue ok: K challenges, S scenarios`).
//!
//! 1. **Specs.** Each `challenges/*/challenge.toml` is loaded on its own by the strict loader, whose
//!    errors already name the file, line and key: format_version, unknown keys, ops and checks
//!    unknown to the grader, criteria missing from the rubric, rubric weights and level bands,
//!    hints naming no scenario, a directory not named `NN-slug`. None of that is repeated here.
//! 2. **Around the specs.** Ids and slugs are unique; the rubric's weights add up to 100; some
//!    scenario is visible; the brief is there and not empty; the template's manifest depends on the
//!    harness the way `challenge start` rewrites; the reference solution exists.
//! 3. **Builds.** The reference solution is graded with every scenario, hidden ones included, and
//!    must pass each. The template is copied as `challenge start` copies it, built, and run on the
//!    visible scenarios: it must build, load, and fail at least one.
//!
//! The exit code names the worst kind of problem: [`exit::USAGE`] for a spec or a missing file,
//! else [`exit::BUILD_FAILED`] for a reference or template that does not build or load, else
//! [`exit::BELOW_PASS`] for a reference that fails a scenario or a template that passes them all.
//! Nothing is written to a gradebook or to a learner's progress.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::cargo_build::Cache;
use crate::catalog::Catalog;
use crate::commands::{worker_exe, runtime, start, CommandError, Context};
use crate::events::RunEvent;
use crate::exit;
use crate::reporter::{instructor_message, Reporter};
use crate::results::{BuildOutcome, SubmissionReport};
use crate::runner::{Mode, Runner};
use crate::spec::{self, ChallengeSpec, Visibility};
use crate::submissions::Submission;
use crate::verdict::Verdict;

/// What the rubric's weights add up to, so that each weight reads as its criterion's share of the
/// percent.
const TOTAL_WEIGHT: f64 = 100.0;

pub(in crate::commands) fn check(catalog: Option<&Path>) -> Result<u8, CommandError> {
    let (root, origin) = Catalog::locate(catalog)?;
    let root = std::path::absolute(&root).unwrap_or(root);
    let mut problems = Problems::new();
    progress(format_args!("checking the catalogue in {}", problems.show(&root)));

    let entries = load_specs(&root, &mut problems)?;
    for problem in check_unique(&entries, &problems) {
        problems.report(problem)?;
    }
    let cx = Context {
        color: false,
        progress: false,
        catalog: Catalog { root: root.clone(), origin, challenges: entries.iter().map(|e| e.spec.clone()).collect() },
        // Templates are tried as standalone copies, never inside a learner workspace.
        workspace: None,
    };
    // Templates are copied where `challenge start` would put a learner's crate, so the harness
    // path is rewritten exactly as it is for learners.
    let stage = tempfile::tempdir().map_err(CommandError::io("failed to create a temporary directory"))?;
    let mut references = Vec::new();
    let mut templates = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let mut found = Vec::new();
        let (reference, template) = check_around(&cx, entry, stage.path(), &mut found);
        for problem in found {
            problems.report(problem)?;
        }
        // A duplicated id makes the run's reference builds ambiguous: grade only unique ones.
        let unique = entries.iter().filter(|e| e.spec.id == entry.spec.id).count() == 1;
        if reference && unique {
            references.push(index);
        }
        if let Some(dir) = template.filter(|_| unique) {
            templates.push((index, dir));
        }
    }

    grade_references(&cx, &entries, &references, &mut problems)?;
    try_templates(&cx, &entries, &templates, &mut problems)?;

    let scenarios: usize = entries.iter().map(|e| e.spec.scenarios.len()).sum();
    let summary = match problems.count {
        0 => format!("catalogue ok: {}, {}", plural(entries.len(), "challenge"), plural(scenarios, "scenario")),
        n => plural(n, "problem"),
    };
    problems.line(&summary)?;
    Ok(problems.worst.map_or(exit::PASSED, Kind::exit_code))
}

/// What kind of problem, in rising order of severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A reference fails a scenario, or a template passes them all.
    Grade,
    /// A reference or template does not build, or cannot be loaded.
    Build,
    /// A spec or a file around it is wrong.
    Spec,
}

impl Kind {
    fn exit_code(self) -> u8 {
        match self {
            Kind::Grade => exit::BELOW_PASS,
            Kind::Build => exit::BUILD_FAILED,
            Kind::Spec => exit::USAGE,
        }
    }
}

/// One problem: where, and what is wrong.
struct Problem {
    kind: Kind,
    path: PathBuf,
    line: Option<usize>,
    message: String,
}

impl Problem {
    fn new(kind: Kind, path: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem { kind, path: path.into(), line, message: message.into() }
    }
}

/// Problems as they are found: printed at once, counted, and the worst kind remembered.
struct Problems {
    cwd: PathBuf,
    count: usize,
    worst: Option<Kind>,
}

impl Problems {
    fn new() -> Problems {
        Problems { cwd: std::env::current_dir().unwrap_or_default(), count: 0, worst: None }
    }

    /// Paths under the current directory are shown relative to it, as people type them.
    fn show<'p>(&self, path: &'p Path) -> PathDisplay<'p> {
        PathDisplay(path.strip_prefix(&self.cwd).ok().filter(|p| !p.as_os_str().is_empty()).unwrap_or(path))
    }

    fn report(&mut self, problem: Problem) -> Result<(), CommandError> {
        self.count += 1;
        self.worst = self.worst.max(Some(problem.kind));
        // One line per problem, whatever the message held.
        let message: Vec<&str> = problem.message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let line = problem.line.map(|l| format!(":{l}")).unwrap_or_default();
        let text = format!("{}{line}: {}", self.show(&problem.path), message.join("; "));
        self.line(&text)
    }

    fn line(&self, text: &str) -> Result<(), CommandError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}").and_then(|()| out.flush()).map_err(CommandError::io("failed to write to stdout"))
    }
}

struct PathDisplay<'p>(&'p Path);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.display().fmt(f)
    }
}

/// A spec that loaded, with the lines of what later checks point at.
struct Entry {
    spec: ChallengeSpec,
    path: PathBuf,
    lines: Lines,
}

/// Lines (1-based) in a spec's source, for problems the loader cannot see.
#[derive(Default)]
struct Lines {
    id: Option<usize>,
    slug: Option<usize>,
    rubric: Option<usize>,
    scenarios: HashMap<String, usize>,
}

impl Lines {
    fn read(path: &Path) -> Lines {
        #[derive(Deserialize)]
        struct Located {
            id: Option<Spanned<toml::Value>>,
            slug: Option<Spanned<toml::Value>>,
            rubric: Option<Spanned<toml::Value>>,
            #[serde(default, rename = "scenario")]
            scenarios: Vec<Spanned<Named>>,
        }
        #[derive(Deserialize)]
        struct Named {
            name: String,
        }
        let Ok(source) = std::fs::read_to_string(path) else { return Lines::default() };
        let Ok(located) = toml::from_str::<Located>(&source) else { return Lines::default() };
        let line = |span: std::ops::Range<usize>| source[..span.start.min(source.len())].matches('\n').count() + 1;
        Lines {
            id: located.id.map(|v| line(v.span())),
            slug: located.slug.map(|v| line(v.span())),
            rubric: located.rubric.map(|v| line(v.span())),
            scenarios: located.scenarios.into_iter().map(|s| (s.get_ref().name.clone(), line(s.span()))).collect(),
        }
    }
}

/// Loads every spec on its own, so that one broken spec hides none of the others' problems.
fn load_specs(root: &Path, problems: &mut Problems) -> Result<Vec<Entry>, CommandError> {
    let dir = root.join("challenges");
    let read = |e| CommandError::io(format!("failed to read {}", dir.display()))(e);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(read)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read)?;
    dirs.retain(|d| d.is_dir());
    dirs.sort();
    if dirs.is_empty() {
        problems.report(Problem::new(
            Kind::Spec,
            &dir,
            None,
            "no challenge here: scaffold one with `challenge dev new SLUG --system SYSTEM`",
        ))?;
    }
    let mut entries = Vec::new();
    for dir in dirs {
        let path = dir.join("challenge.toml");
        if !path.is_file() {
            problems.report(Problem::new(
                Kind::Spec,
                &dir,
                None,
                "no challenge.toml: every directory in challenges/ is a challenge; add its spec or move it out",
            ))?;
            continue;
        }
        match spec::load(&path) {
            Ok(spec) => entries.push(Entry { lines: Lines::read(&path), spec, path }),
            Err(e) => {
                problems.report(Problem::new(Kind::Spec, e.path, e.line, e.message))?;
                // Its files need no spec: report their problems now rather than after the fix.
                let mut found = Vec::new();
                check_files(root, &dir, &mut found);
                for problem in found {
                    problems.report(problem)?;
                }
            }
        }
    }
    entries.sort_by_key(|e| e.spec.id);
    Ok(entries)
}

/// Ids and slugs name one challenge each; the later spec of a pair is the one reported.
fn check_unique(entries: &[Entry], problems: &Problems) -> Vec<Problem> {
    let mut found = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let earlier = &entries[..i];
        if let Some(first) = earlier.iter().find(|e| e.spec.id == entry.spec.id) {
            let message = format!(
                "id = {} is also the id of {}; ids must be unique (the next free one is {})",
                entry.spec.id,
                problems.show(&first.path),
                entries.iter().map(|e| e.spec.id).max().unwrap_or(0) + 1
            );
            found.push(Problem::new(Kind::Spec, &entry.path, entry.lines.id, message));
        }
        if let Some(first) = earlier.iter().find(|e| e.spec.slug == entry.spec.slug) {
            let message = format!(
                "slug = {:?} is also the slug of {}; slugs must be unique",
                entry.spec.slug,
                problems.show(&first.path)
            );
            found.push(Problem::new(Kind::Spec, &entry.path, entry.lines.slug, message));
        }
    }
    found
}

/// The checks of one challenge that need no build, into `found`. Returns whether its reference
/// solution can be graded, and where its template was copied to, if it could be.
fn check_around(cx: &Context, entry: &Entry, stage: &Path, found: &mut Vec<Problem>) -> (bool, Option<PathBuf>) {
    let spec = &entry.spec;
    let mut report = |kind, path: &Path, line, message: String| found.push(Problem::new(kind, path, line, message));

    let total: f64 = spec.rubric.criteria.iter().map(|c| c.weight).sum();
    if (total - TOTAL_WEIGHT).abs() > 1e-9 {
        let weights: Vec<String> = spec.rubric.criteria.iter().map(|c| format!("{} {}", c.name, c.weight)).collect();
        report(
            Kind::Spec,
            &entry.path,
            entry.lines.rubric,
            format!(
                "rubric: the criteria's weights add up to {total} ({}), not {TOTAL_WEIGHT}; make each weight its share of the percent",
                weights.join(", ")
            ),
        );
    }
    if !spec.scenarios.iter().any(|s| s.visibility == Visibility::Visible) {
        report(
            Kind::Spec,
            &entry.path,
            None,
            "no scenario is visible, so `challenge test` would run nothing: make at least one visibility = \"visible\""
                .to_owned(),
        );
    }

    let (reference, has_template) = check_files(&cx.catalog.root, &spec.dir, found);
    let copy = if has_template {
        let dest = stage.join(spec.dir_name());
        match start::placement(cx, &dest).and_then(|placement| start::create(spec, &dest, &placement)) {
            Ok(()) => Some(dest),
            Err(e) => {
                found.push(Problem::new(Kind::Spec, spec.dir.join("template/Cargo.toml"), None, e.to_string()));
                None
            }
        }
    } else {
        None
    };
    (reference, copy)
}

/// The files around the spec of the challenge in `dir`: the brief, the template's manifest and
/// the reference solution. Returns whether the reference and the template's manifest exist.
fn check_files(root: &Path, dir: &Path, found: &mut Vec<Problem>) -> (bool, bool) {
    let mut report = |path: PathBuf, message: String| found.push(Problem::new(Kind::Spec, path, None, message));
    let brief = dir.join("README.md");
    match std::fs::read_to_string(&brief) {
        Ok(text) if !text.trim().is_empty() => {}
        Ok(_) => report(brief, "the brief is empty: pin every convention the scenarios check".to_owned()),
        Err(_) => report(
            brief,
            "no brief: write README.md, the learner's brief that pins every convention the scenarios check".to_owned(),
        ),
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let solution = root.join("solutions").join(&name);
    let reference = solution.join("Cargo.toml").is_file();
    if !reference {
        report(
            solution,
            format!("no reference solution: create the crate solutions/{name} that passes every scenario"),
        );
    }
    let template = dir.join("template/Cargo.toml");
    let has_template = template.is_file();
    if !has_template {
        report(
            template,
            "no template: create template/, the crate `challenge start` copies for the learner".to_owned(),
        );
    }
    (reference, has_template)
}

/// Grades each reference solution with every scenario: each must pass.
fn grade_references(
    cx: &Context,
    entries: &[Entry],
    indices: &[usize],
    problems: &mut Problems,
) -> Result<(), CommandError> {
    let submissions: Vec<Submission> = indices
        .iter()
        .map(|&i| Submission {
            student: "reference".to_owned(),
            challenge: i,
            path: cx.catalog.reference_dir(&entries[i].spec),
            missing: None,
        })
        .collect();
    let labels = indices.iter().map(|&i| format!("{} reference solution", entries[i].spec.dir_name())).collect();
    let reports = run(cx, Mode::Grade, &submissions, labels)?;
    for ((report, submission), &i) in reports.iter().zip(&submissions).zip(indices) {
        let entry = &entries[i];
        if let Some(problem) =
            unusable(report, &submission.path, &submission.path, &cx.catalog.root, "reference solution")
        {
            problems.report(problem)?;
            continue;
        }
        for result in report.results.iter().filter(|r| !r.verdict.is_pass()) {
            let message = format!(
                "scenario {:?} ({}): the reference solution gets {}: {}",
                result.name,
                result.visibility.label(),
                result.verdict.kind(),
                instructor_message(result)
            );
            problems.report(Problem::new(
                Kind::Grade,
                &entry.path,
                entry.lines.scenarios.get(&result.name).copied(),
                message,
            ))?;
        }
    }
    Ok(())
}

/// Builds each template and runs the visible scenarios: each must build, load, and fail one.
fn try_templates(
    cx: &Context,
    entries: &[Entry],
    copies: &[(usize, PathBuf)],
    problems: &mut Problems,
) -> Result<(), CommandError> {
    let submissions: Vec<Submission> = copies
        .iter()
        .map(|(i, dir)| Submission { student: "template".to_owned(), challenge: *i, path: dir.clone(), missing: None })
        .collect();
    let labels = copies.iter().map(|(i, _)| format!("{} template", entries[*i].spec.dir_name())).collect();
    let reports = run(cx, Mode::Test, &submissions, labels)?;
    for (report, (i, copy)) in reports.iter().zip(copies) {
        let template = entries[*i].spec.dir.join("template");
        if let Some(problem) = unusable(report, copy, &template, &cx.catalog.root, "template") {
            problems.report(problem)?;
        } else if report.results.iter().all(|r| r.verdict.is_pass()) {
            let message = format!(
                "the template passes every visible scenario ({}): it must compile but leave the work to the learner, with todo!()s where the answers go",
                report.results.len()
            );
            problems.report(Problem::new(Kind::Grade, template.join("src/lib.rs"), None, message))?;
        }
    }
    Ok(())
}

/// A build that failed, or a library the worker could not load, as a problem; `built` is the
/// crate that was built and `shown` where its sources live in the catalogue.
fn unusable(report: &SubmissionReport, built: &Path, shown: &Path, root: &Path, what: &str) -> Option<Problem> {
    match &report.build {
        BuildOutcome::Failed { message, rendered } => {
            let (path, line, error) = rendered
                .as_deref()
                .and_then(|r| first_error(r, built, shown, root))
                .unwrap_or_else(|| (shown.join("Cargo.toml"), None, message.clone()));
            Some(Problem::new(Kind::Build, path, line, format!("the {what} does not build: {error}")))
        }
        BuildOutcome::Built { .. } => report.results.iter().find_map(|r| match &r.verdict {
            Verdict::AbiMismatch { .. } => Some(Problem::new(
                Kind::Build,
                shown.join("src/lib.rs"),
                None,
                format!("the {what} builds but cannot be loaded: {}", r.verdict.explain()),
            )),
            _ => None,
        }),
    }
}

/// The first compiler error in cargo's output, located in the catalogue's own files when it can be:
/// cargo names files relative to the workspace it built, the crate itself or the repository's.
fn first_error(rendered: &str, built: &Path, shown: &Path, root: &Path) -> Option<(PathBuf, Option<usize>, String)> {
    let mut lines = rendered.lines().map(str::trim).skip_while(|l| !l.starts_with("error"));
    let error = lines.next()?.to_owned();
    let location = lines.take_while(|l| !l.is_empty() && !l.starts_with("error")).find_map(|l| l.strip_prefix("--> "));
    let located = location.and_then(|loc| {
        let mut parts = loc.rsplitn(3, ':');
        let (_column, line, file) = (parts.next()?, parts.next()?.parse::<usize>().ok()?, parts.next()?);
        let path = if built.join(file).is_file() {
            shown.join(file)
        } else if root.join(file).is_file() {
            root.join(file)
        } else {
            PathBuf::from(file)
        };
        Some((path, Some(line)))
    });
    let (path, line) = located.unwrap_or_else(|| (shown.join("Cargo.toml"), None));
    Some((path, line, error))
}

/// Runs `submissions` with progress on stderr; no gradebook, no learner progress.
fn run(
    cx: &Context,
    mode: Mode,
    submissions: &[Submission],
    labels: Vec<String>,
) -> Result<Vec<SubmissionReport>, CommandError> {
    if submissions.is_empty() {
        return Ok(Vec::new());
    }
    let runner = Runner {
        catalog: &cx.catalog,
        cache: Cache::locate(),
        exe: worker_exe()?,
        mode,
        color: false,
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        hidden: Vec::new(),
    };
    let mut reporter = Progress { labels };
    runtime()?.block_on(runner.run(submissions, &mut reporter)).map_err(CommandError::io("failed to run the scenarios"))
}

/// Progress on stderr: a line as each crate starts building and one as it finishes.
struct Progress {
    labels: Vec<String>,
}

impl Reporter for Progress {
    fn report(&mut self, event: &RunEvent<'_>) -> std::io::Result<()> {
        let mut err = std::io::stderr().lock();
        match event {
            RunEvent::SubmissionStarted { submission, scenarios, .. } => {
                writeln!(err, "  {}: building, then {}", self.labels[*submission], plural(*scenarios, "scenario"))
            }
            RunEvent::SubmissionFinished { submission, report } => {
                let passed = report.results.iter().filter(|r| r.verdict.is_pass()).count();
                let built = match report.build {
                    BuildOutcome::Built { .. } => "",
                    BuildOutcome::Failed { .. } => " (it did not build)",
                };
                writeln!(err, "  {}: {passed} of {} pass{built}", self.labels[*submission], report.results.len())
            }
            RunEvent::BuildFinished { .. } | RunEvent::ScenarioStarted { .. } | RunEvent::ScenarioFinished { .. } => {
                Ok(())
            }
        }
    }

    fn finish(&mut self, _reports: &[SubmissionReport]) -> std::io::Result<()> {
        Ok(())
    }
}

/// A line of progress on stderr; losing one is harmless.
fn progress(text: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
