//! The results of a run as plain data: per scenario, per submission, and the rubric score.
//! Produced by the runner, consumed by every reporter.

use std::path::PathBuf;
use std::time::Duration;

use crate::spec::{ChallengeSpec, Rubric, Visibility};
use crate::verdict::Verdict;

/// One scenario's result.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// Rubric criterion.
    pub criterion: String,
    /// Visible or hidden.
    pub visibility: Visibility,
    /// What the scenario checks.
    pub description: String,
    /// Points earned: all or nothing.
    pub points: u32,
    /// Points available.
    pub max_points: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// Wall time of its worker.
    pub duration: Duration,
    /// Its seed.
    pub seed: u64,
    /// Whether the seed drives randomness in it (and so belongs in the report).
    pub seeded: bool,
    /// The start of what the learner's code printed to stderr, for crashes and panics.
    pub stderr: String,
    /// The start of what it printed to stdout (often the learner's own debug prints).
    pub stdout: String,
    /// System-clock reads the learner's code made (time in scenarios is virtual); always 0 for
    /// systems whose code legitimately waits in real time, and for scenarios that load the
    /// reference solution beside the learner's.
    pub clock_reads: u64,
    /// For a worker that died mid-scenario, the step it was running, described.
    pub during: Option<String>,
    /// Processes the learner's code left running after its worker ended (a daemon), which the
    /// grader killed.
    pub strays: usize,
    /// Record lines the learner's code forged on the worker's pipe, which the grader ignored.
    pub forged: usize,
    /// What usually causes a failure here: the first sentence of the scenario's gentlest hint.
    pub usually: Option<String>,
}

/// Whether a submission built.
#[derive(Clone, Debug)]
pub enum BuildOutcome {
    /// It built.
    Built {
        /// cargo's wall time.
        duration: Duration,
    },
    /// It did not; nothing ran.
    Failed {
        /// One line: what failed and how to fix it.
        message: String,
        /// cargo's rendered diagnostics, when there are any.
        rendered: Option<String>,
    },
}

/// Which challenge a result is for.
#[derive(Clone, Debug)]
pub struct ChallengeRef {
    /// Number.
    pub id: u32,
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
}

impl From<&ChallengeSpec> for ChallengeRef {
    fn from(spec: &ChallengeSpec) -> ChallengeRef {
        ChallengeRef { id: spec.id, slug: spec.slug.clone(), title: spec.title.clone() }
    }
}

/// One submission, graded.
#[derive(Clone, Debug)]
pub struct SubmissionReport {
    /// The crate's path as given.
    pub path: PathBuf,
    /// Whose it is.
    pub student: String,
    /// Its challenge.
    pub challenge: ChallengeRef,
    /// Whether it built.
    pub build: BuildOutcome,
    /// Results in spec order.
    pub results: Vec<ScenarioResult>,
    /// Hidden scenarios not run (in `test`).
    pub hidden_not_run: usize,
    /// The rubric score.
    pub score: Score,
}

/// A rubric score.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// Weighted points earned.
    pub score: f64,
    /// Weighted points available.
    pub max_score: f64,
    /// `score / max_score` as a percent.
    pub percent: f64,
    /// 1 to 5.
    pub level: u8,
    /// What the level means.
    pub level_label: String,
    /// At or above the pass mark.
    pub passed: bool,
    /// The pass mark.
    pub pass_percent: f64,
    /// Per criterion, in rubric order; criteria with no scenario in this run are left out.
    pub criteria: Vec<CriterionScore>,
}

/// One criterion's share.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionScore {
    /// Name.
    pub name: String,
    /// Scenario points earned.
    pub points: u32,
    /// Scenario points available.
    pub max_points: u32,
    /// `weight * points / max_points`.
    pub score: f64,
    /// The criterion's weight.
    pub weight: f64,
}

impl Score {
    /// Scores `results` against `rubric`: each criterion contributes its weight times the share of
    /// its points earned; criteria with no scenario in `results` do not count.
    pub fn compute(rubric: &Rubric, results: &[ScenarioResult]) -> Score {
        let criteria: Vec<CriterionScore> = rubric
            .criteria
            .iter()
            .filter_map(|c| {
                let mine = results.iter().filter(|r| r.criterion == c.name);
                let (points, max_points) = mine.fold((0, 0), |(p, m), r| (p + r.points, m + r.max_points));
                (max_points > 0).then(|| CriterionScore {
                    name: c.name.clone(),
                    points,
                    max_points,
                    score: c.weight * points as f64 / max_points as f64,
                    weight: c.weight,
                })
            })
            .collect();
        let score: f64 = criteria.iter().map(|c| c.score).sum();
        let max_score: f64 = criteria.iter().map(|c| c.weight).sum();
        let percent = if max_score > 0.0 { 100.0 * score / max_score } else { 0.0 };
        let level = rubric.level_for(percent);
        Score {
            score,
            max_score,
            percent,
            level: level.level,
            level_label: level.label.clone(),
            passed: percent >= rubric.pass_percent,
            pass_percent: rubric.pass_percent,
            criteria,
        }
    }
}

impl ScenarioResult {
    /// A visible correctness scenario worth 2 points, for tests: earned when `verdict` passes.
    #[cfg(test)]
    pub fn sample(name: &str, verdict: Verdict) -> ScenarioResult {
        ScenarioResult {
            name: name.to_owned(),
            criterion: "correctness".to_owned(),
            visibility: Visibility::Visible,
            description: "Five permits per window.".to_owned(),
            points: if verdict.is_pass() { 2 } else { 0 },
            max_points: 2,
            verdict,
            duration: Duration::from_millis(3),
            seed: 7,
            seeded: false,
            stderr: String::new(),
            stdout: String::new(),
            clock_reads: 0,
            during: None,
            strays: 0,
            forged: 0,
            usually: None,
        }
    }

    /// A note for code that left processes running or wrote forged records: whatever the
    /// verdict, the learner should know, and an instructor should see it in the export.
    pub fn conduct_note(&self) -> Option<String> {
        let plural = |n: usize, one: &str, many: &str| if n == 1 { one.to_owned() } else { format!("{n} {many}") };
        let mut notes = Vec::new();
        if self.strays > 0 {
            notes.push(format!(
                "the grader killed {} your code left running after the scenario ended (do not start daemons or detached processes)",
                plural(self.strays, "1 process", "processes")
            ));
        }
        if self.forged > 0 {
            notes.push(format!(
                "the grader ignored {} your code wrote on its private record pipe: verdicts come only from the grader's own records",
                plural(self.forged, "1 forged line", "forged lines")
            ));
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    /// A note for a failure in code that read the system clock, which is the likely cause. A
    /// single read is not enough: libraries read it once while initialising (parking_lot's
    /// fairness timer does), and naming that as the cause would send the learner the wrong way.
    /// For the same reason the note says that a contended parking_lot lock reads it too (its
    /// unlock checks a fairness timer): a correct queue on parking_lot read it 102 times in one
    /// storm, and a learner whose own code never reads it should look elsewhere.
    pub fn clock_note(&self) -> Option<String> {
        (!self.verdict.is_pass() && self.clock_reads > 1).then(|| {
            format!(
                "your code read the system clock {} times in this scenario; time here is virtual and jumps ahead \
                 instantly, so read it only from the Clock passed to new() (not std::time::Instant or SystemTime). \
                 A contended parking_lot lock reads it too, harmlessly: if your own code never does, look elsewhere",
                self.clock_reads
            )
        })
    }
}
