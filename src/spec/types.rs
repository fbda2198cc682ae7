//! The validated, typed form of a `challenge.toml`: what every later stage works from.

use std::path::PathBuf;
use std::time::Duration;

use challenge_graders::{ScenarioBody, System};
use serde::{Deserialize, Serialize};

/// One challenge, loaded and validated.
#[derive(Clone, Debug)]
pub struct ChallengeSpec {
    /// The challenge's directory (holds README.md and template/).
    pub dir: PathBuf,
    /// The number learners type: `challenge test 1`.
    pub id: u32,
    /// The name learners may type instead: `challenge test rate-limiter`.
    pub slug: String,
    /// Display title.
    pub title: String,
    /// Which grader runs it.
    pub system: System,
    /// How hard it is.
    pub difficulty: Difficulty,
    /// One line for `challenge list`.
    pub summary: String,
    /// How points become a grade.
    pub rubric: Rubric,
    /// In file order.
    pub scenarios: Vec<ScenarioSpec>,
    /// Tiered hints, lowest tier first.
    pub hints: Vec<Hint>,
}

impl ChallengeSpec {
    /// `01-rate-limiter`: the directory name for a learner's crate and for the catalogue.
    pub fn dir_name(&self) -> String {
        format!("{:02}-{}", self.id, self.slug)
    }
}

/// Difficulty labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Difficulty {
    /// First steps.
    Beginner,
    /// Needs care at boundaries and under concurrency.
    Intermediate,
    /// Needs design.
    Advanced,
}

impl Difficulty {
    /// The word shown in listings.
    pub fn label(self) -> &'static str {
        match self {
            Difficulty::Beginner => "beginner",
            Difficulty::Intermediate => "intermediate",
            Difficulty::Advanced => "advanced",
        }
    }
}

/// Criteria, pass mark and level bands.
#[derive(Clone, Debug)]
pub struct Rubric {
    /// A submission passes at or above this percent.
    pub pass_percent: f64,
    /// In display order.
    pub criteria: Vec<Criterion>,
    /// Exactly five bands, level 1 to 5, with ascending thresholds starting at 0.
    pub levels: Vec<Level>,
}

impl Rubric {
    /// The band a percent falls in.
    pub fn level_for(&self, percent: f64) -> &Level {
        self.levels.iter().rev().find(|l| percent >= l.min_percent).unwrap_or(&self.levels[0])
    }
}

/// A named, weighted criterion.
#[derive(Clone, Debug)]
pub struct Criterion {
    /// `correctness`, `edge-cases`, …
    pub name: String,
    /// Share of the total score.
    pub weight: f64,
    /// What it measures.
    pub description: String,
}

/// A level band.
#[derive(Clone, Debug)]
pub struct Level {
    /// 1 to 5.
    pub level: u8,
    /// Lowest percent in the band.
    pub min_percent: f64,
    /// What the level means, e.g. "competent".
    pub label: String,
}

/// Whether learners see a scenario in `test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// Runs in `test` and `grade`, reported in full.
    Visible,
    /// Runs only in `grade`; reported without its steps.
    Hidden,
}

impl Visibility {
    /// `visible` or `hidden`.
    pub fn label(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
        }
    }
}

/// One scenario, validated.
#[derive(Clone, Debug)]
pub struct ScenarioSpec {
    /// Unique within the challenge.
    pub name: String,
    /// Which rubric criterion it counts towards.
    pub criterion: String,
    /// All or nothing.
    pub points: u32,
    /// Visible or hidden.
    pub visibility: Visibility,
    /// What it checks, in one or two sentences for the learner.
    pub description: String,
    /// Seed for anything random (printed in reports).
    pub seed: u64,
    /// Wall-clock limit for its worker.
    pub timeout: Duration,
    /// What else its worker may use.
    pub limits: ResourceLimits,
    /// The system-specific script or check.
    pub body: ScenarioBody,
}

/// The resources one scenario's worker may use besides wall-clock time: the challenge's
/// `[limits]` table (`memory-mib`, `output-mib`, `cpu`), or these defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Address space, in bytes (`RLIMIT_AS`).
    pub memory: u64,
    /// CPU time across all the worker's threads (`RLIMIT_CPU`); by default 1.5 times the
    /// scenario's timeout, so one spinning thread runs into the wall clock first (a timeout),
    /// and only threads spinning on more than one core at once reach it (a CPU-time verdict).
    pub cpu: Duration,
    /// Bytes of stdout plus stderr after which the worker is stopped.
    pub output: u64,
}

impl ResourceLimits {
    /// Default address space: 1 GiB.
    pub const MEMORY: u64 = 1 << 30;
    /// Default output: 8 MiB.
    pub const OUTPUT: u64 = 8 << 20;

    /// The defaults for a scenario with wall-clock `timeout`.
    pub fn defaults(timeout: Duration) -> ResourceLimits {
        ResourceLimits { memory: Self::MEMORY, cpu: timeout * 3 / 2, output: Self::OUTPUT }
    }
}

/// One hint.
#[derive(Clone, Debug)]
pub struct Hint {
    /// 1 = gentlest.
    pub tier: u32,
    /// The scenario whose failure it addresses, if any.
    pub scenario: Option<String>,
    /// The hint.
    pub text: String,
}
