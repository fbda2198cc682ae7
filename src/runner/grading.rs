//! Grading submissions: build each crate, probe its ABI once, run each selected scenario in its
//! own worker, decide verdicts, score, and emit events for reporters along the way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use challenge_graders::wire::{Job, Record, Task};

use super::worker_process::{self, Limits, WorkerExe, WorkerRun};
use crate::cargo_build::{self, BuildError, Cache, Target};
use crate::catalog::Catalog;
use crate::events::RunEvent;
use crate::reporter::Reporter;
use crate::results::{BuildOutcome, ChallengeRef, ScenarioResult, Score, SubmissionReport};
use crate::spec::{ChallengeSpec, ScenarioSpec, Visibility};
use crate::submissions::Submission;
use crate::verdict::Verdict;

/// Which scenarios run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `challenge test`: visible scenarios only, reported in full.
    Test,
    /// `challenge grade`: every scenario; hidden ones reported without their steps.
    Grade,
}

/// Everything a run needs, resolved before it starts.
pub struct Runner<'a> {
    /// The catalogue.
    pub catalog: &'a Catalog,
    /// Build cache.
    pub cache: Cache,
    /// What each worker runs.
    pub exe: WorkerExe,
    /// Test or grade.
    pub mode: Mode,
    /// Whether cargo should color its diagnostics.
    pub color: bool,
    /// Submissions graded at once (builds still take turns on the shared target dir).
    pub jobs: usize,
    /// Directories the learner's code must not see inside the sandbox (other submissions, the
    /// specs); a submission's own directory is never hidden from it.
    pub hidden: Vec<PathBuf>,
}

/// A hold on the machine for one scenario: alone for checks, shared for scripts.
enum Turn<'a> {
    Alone(#[allow(dead_code)] tokio::sync::RwLockWriteGuard<'a, ()>),
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'a, ()>),
}

/// Reference solutions built during this run, by challenge id.
type References = RefCell<HashMap<u32, Result<PathBuf, String>>>;

/// What one run builds once per challenge and shares between submissions.
#[derive(Default)]
struct PerChallenge {
    /// Reference solutions, built when a timed scenario first needs one.
    references: References,
    /// Seeds for private builds (see `cargo_build::seed`), in grade mode.
    seeds: RefCell<HashMap<u32, PathBuf>>,
}

impl Runner<'_> {
    /// Grades every submission, up to `jobs` at once, reporting as it goes. Reports come back in
    /// the order of `submissions`.
    pub async fn run(
        &self,
        submissions: &[Submission],
        reporter: &mut dyn Reporter,
    ) -> std::io::Result<Vec<SubmissionReport>> {
        let shared = PerChallenge::default();
        // Checks (threads racing, timed trials) and real-time waits take the machine alone; other
        // scripts and builds share it. Otherwise a race that shows on idle cores can vanish while
        // another submission builds, and the same crate would get another grade in another run.
        let machine = tokio::sync::RwLock::new(());
        let reporter = RefCell::new(reporter);
        let mut graded: Vec<(usize, SubmissionReport)> = stream::iter(submissions.iter().enumerate())
            .map(|(index, submission)| {
                let (shared, reporter, machine) = (&shared, &reporter, &machine);
                async move {
                    let report = self.grade_one(index, submission, shared, reporter, machine).await?;
                    reporter
                        .borrow_mut()
                        .report(&RunEvent::SubmissionFinished { submission: index, report: &report })?;
                    Ok::<_, std::io::Error>((index, report))
                }
            })
            .buffer_unordered(self.jobs.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        graded.sort_by_key(|(index, _)| *index);
        Ok(graded.into_iter().map(|(_, report)| report).collect())
    }

    /// What the build and the workers of the submission in `own` must not see: what `hidden`
    /// names, and when grading in the sandbox, the crates beside it too (classmates' crates that
    /// this run does not grade; see [`crate::submissions::neighbours`]).
    async fn hidden_from(&self, own: &Path) -> Vec<PathBuf> {
        let own = own.canonicalize().unwrap_or_else(|_| own.to_owned());
        let mut hidden: Vec<PathBuf> =
            self.hidden.iter().filter(|h| !own.starts_with(h) && !h.starts_with(&own)).cloned().collect();
        if self.mode == Mode::Grade && crate::sandbox::current().is_confined() {
            let home = |var: &str| std::env::var_os(var).map(PathBuf::from);
            let keep: Vec<PathBuf> =
                [Some(self.cache.root.clone()), Some(self.exe.path().to_owned()), home("CARGO_HOME"), home("RUSTUP_HOME")]
                    .into_iter()
                    .flatten()
                    .collect();
            let keep: Vec<&Path> = keep.iter().map(PathBuf::as_path).collect();
            for near in crate::submissions::neighbours(&own, &keep).await {
                if !hidden.contains(&near) {
                    hidden.push(near);
                }
            }
        }
        hidden
    }

    fn selected<'s>(&self, spec: &'s ChallengeSpec) -> Vec<&'s ScenarioSpec> {
        spec.scenarios.iter().filter(|s| self.mode == Mode::Grade || s.visibility == Visibility::Visible).collect()
    }

    async fn grade_one(
        &self,
        index: usize,
        submission: &Submission,
        shared: &PerChallenge,
        reporter: &RefCell<&mut dyn Reporter>,
        machine: &tokio::sync::RwLock<()>,
    ) -> std::io::Result<SubmissionReport> {
        let spec = &self.catalog.challenges[submission.challenge];
        let path = submission.path.as_path();
        let challenge = ChallengeRef::from(spec);
        let scenarios = self.selected(spec);
        let hidden_not_run = spec.scenarios.len() - scenarios.len();
        // Never hold the reporter across an await: other submissions report meanwhile.
        let report = |event: RunEvent<'_>| reporter.borrow_mut().report(&event);
        report(RunEvent::SubmissionStarted {
            submission: index,
            path,
            challenge: &challenge,
            scenarios: scenarios.len(),
        })?;

        // A crate on a workspace's harness copy of another ABI would not load: never build it.
        let refused = submission.missing.clone().or_else(|| crate::workspace::stale_harness(path));
        // What nothing runs for (a refused crate) needs nothing hidden.
        let hidden = match refused {
            Some(_) => Vec::new(),
            None => self.hidden_from(path).await,
        };
        let hidden: Vec<&Path> = hidden.iter().map(PathBuf::as_path).collect();
        let built = match refused {
            Some(reason) => Err(BuildFailure { message: reason, rendered: None }),
            None => {
                let _shared = machine.read().await;
                self.build(spec, path, shared, &hidden).await
            }
                .map_err(|e| BuildFailure { message: e.to_string(), rendered: e.rendered().map(str::to_owned) }),
        };
        let build = match &built {
            Ok(b) => BuildOutcome::Built { duration: b.duration },
            Err(f) => BuildOutcome::Failed { message: f.message.clone(), rendered: f.rendered.clone() },
        };
        report(RunEvent::BuildFinished { submission: index, outcome: &build })?;

        let mut results = Vec::with_capacity(scenarios.len());
        match built {
            Err(_) => {
                for scenario in &scenarios {
                    let result = self.result(spec, scenario, Verdict::BuildError, None);
                    report(RunEvent::ScenarioFinished { submission: index, result: &result })?;
                    results.push(result);
                }
            }
            Ok(built) => {
                let probe = self.probe(spec, &built.library, &hidden).await?;
                for scenario in &scenarios {
                    report(RunEvent::ScenarioStarted { name: &scenario.name })?;
                    let result = match &probe {
                        Some(verdict) => self.result(spec, scenario, verdict.clone(), None),
                        None => {
                            let _turn = match scenario.body.needs_machine() {
                                true => Turn::Alone(machine.write().await),
                                false => Turn::Shared(machine.read().await),
                            };
                            self.run_scenario(spec, scenario, &built.library, &hidden, &shared.references).await?
                        }
                    };
                    report(RunEvent::ScenarioFinished { submission: index, result: &result })?;
                    results.push(result);
                }
            }
        }
        let score = Score::compute(&spec.rubric, &results);
        Ok(SubmissionReport {
            path: path.to_owned(),
            student: submission.student.clone(),
            challenge,
            build,
            results,
            hidden_not_run,
            score,
        })
    }

    /// Builds a submission: in grade mode privately, from the challenge's seed, so that no
    /// submission's build sees or changes what another's does; else in the shared target dir.
    ///
    /// The catalogue's own reference solution, graded as a submission (`grade solutions`), is
    /// built once as the reference the timed scenarios load, and that one build serves both: it
    /// is our code, not a stranger's, and a private build of it recompiled its dependencies each
    /// grade (its workspace's lock file and profile are not the template's that seeds them).
    async fn build(
        &self,
        spec: &ChallengeSpec,
        path: &Path,
        shared: &PerChallenge,
        hidden: &[&Path],
    ) -> Result<cargo_build::Built, BuildError> {
        if self.mode != Mode::Grade {
            return cargo_build::build(&self.cache, path, self.color, Target::Shared, hidden).await;
        }
        if self.is_reference(spec, path) {
            let started = std::time::Instant::now();
            let library = crate::reference::library(self.catalog, &self.cache, spec).await?;
            shared.references.borrow_mut().insert(spec.id, Ok(library.clone()));
            return Ok(cargo_build::Built { library, duration: started.elapsed() });
        }
        let known = shared.seeds.borrow().get(&spec.id).cloned();
        let seed = match known {
            Some(seed) => seed,
            None => {
                let seed = cargo_build::seed(&self.cache, &spec.dir_name(), &spec.dir.join("template")).await;
                shared.seeds.borrow_mut().insert(spec.id, seed.clone());
                seed
            }
        };
        cargo_build::build(&self.cache, path, self.color, Target::Private { seed: &seed }, hidden).await
    }

    /// Whether `path` is the catalogue's reference solution for `spec`.
    fn is_reference(&self, spec: &ChallengeSpec, path: &Path) -> bool {
        let canonical = |p: &Path| p.canonicalize().ok();
        canonical(path).is_some_and(|p| Some(p) == canonical(&self.catalog.reference_dir(spec)))
    }

    /// Loads the library once; `Some(verdict)` when it cannot be used, which then applies to every
    /// scenario without starting their workers.
    async fn probe(&self, spec: &ChallengeSpec, library: &Path, hidden: &[&Path]) -> std::io::Result<Option<Verdict>> {
        let job =
            Job { learner: library.to_owned(), reference: None, seed: 0, task: Task::Probe { system: spec.system }, key: 0 };
        let timeout = Duration::from_secs(10);
        let limits = Limits::new(timeout, &crate::spec::ResourceLimits::defaults(timeout));
        let run = worker_process::run(&self.exe, &job, limits, hidden).await?;
        Ok(run.records.iter().find_map(|r| match r {
            Record::LoadFailed { problem, .. } => Some(Verdict::AbiMismatch { problem: problem.clone() }),
            _ => None,
        }))
    }

    async fn run_scenario(
        &self,
        spec: &ChallengeSpec,
        scenario: &ScenarioSpec,
        library: &Path,
        hidden: &[&Path],
        references: &References,
    ) -> std::io::Result<ScenarioResult> {
        let reference = if scenario.body.needs_reference() {
            if !references.borrow().contains_key(&spec.id) {
                let built = crate::reference::library(self.catalog, &self.cache, spec).await.map_err(|e| describe(&e));
                references.borrow_mut().entry(spec.id).or_insert(built);
            }
            match &references.borrow()[&spec.id] {
                Ok(path) => Some(path.clone()),
                Err(e) => {
                    let verdict = Verdict::GraderError { detail: format!("the reference solution did not build: {e}") };
                    return Ok(self.result(spec, scenario, verdict, None));
                }
            }
        } else {
            None
        };
        let job = Job {
            learner: library.to_owned(),
            reference,
            seed: scenario.seed,
            task: Task::Run { scenario: scenario.body.clone() },
            key: 0,
        };
        let limits = Limits::new(scenario.timeout, &scenario.limits);
        let run = worker_process::run(&self.exe, &job, limits, hidden).await?;
        let verdict = Verdict::decide(&run, &scenario.body, scenario.seed, &limits);
        Ok(self.result(spec, scenario, verdict, Some(&run)))
    }

    /// A result; `run` is the worker run that produced the verdict, if one ran.
    fn result(&self, spec: &ChallengeSpec, scenario: &ScenarioSpec, verdict: Verdict, run: Option<&WorkerRun>) -> ScenarioResult {
        // A worker that died mid-scenario left a started step without a result: name it.
        let during = match (&verdict, run) {
            (
                Verdict::Timeout { .. }
                | Verdict::Crash { .. }
                | Verdict::Exited { .. }
                | Verdict::CpuLimit { .. }
                | Verdict::MemoryLimit { .. }
                | Verdict::OutputLimit { .. },
                Some(run),
            ) => scenario.body.interrupted(&run.observations()),
            _ => None,
        };
        let usually = spec
            .hints
            .iter()
            .find(|h| h.scenario.as_deref() == Some(scenario.name.as_str()))
            .map(|h| first_sentence(&h.text));
        ScenarioResult {
            name: scenario.name.clone(),
            criterion: scenario.criterion.clone(),
            visibility: scenario.visibility,
            description: scenario.description.clone(),
            points: if verdict.is_pass() { scenario.points } else { 0 },
            max_points: scenario.points,
            verdict,
            duration: run.map_or(Duration::ZERO, |r| r.elapsed),
            seed: scenario.seed,
            seeded: scenario.body.is_seeded(),
            stderr: run.map(|r| r.stderr.text()).unwrap_or_default(),
            stdout: run.map(|r| r.stdout.text()).unwrap_or_default(),
            strays: run.map_or(0, |r| r.strays),
            forged: run.map_or(0, |r| r.forged),
            // A pool's timed waits read the system clock by design, and a scenario that loads the
            // reference solution counts the reference's reads too: count reads only where they
            // can only be the learner's, so the note never blames a correct solution.
            clock_reads: match scenario.body.system().waits_in_real_time() || scenario.body.needs_reference() {
                true => 0,
                false => run.map_or(0, |r| r.clock_reads()),
            },
            during,
            usually,
        }
    }
}

/// The first sentence of a hint, on one line.
fn first_sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(". ") {
        Some(end) => text[..=end].to_owned(),
        None => text,
    }
}

/// Why a submission has nothing to run: a missing crate or a failed build.
struct BuildFailure {
    message: String,
    rendered: Option<String>,
}

fn describe(e: &BuildError) -> String {
    match e.rendered() {
        Some(rendered) => format!("{e}\n{rendered}"),
        None => e.to_string(),
    }
}
