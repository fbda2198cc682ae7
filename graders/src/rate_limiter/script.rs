//! What a challenge author writes for a rate limiter scenario: the limiter's config, and either
//! a script of steps in the op vocabulary or a named programmatic check.
//!
//! These types are parsed from `challenge.toml` (via JSON values, so that errors can be tied to the
//! step that caused them) and sent to the worker as JSON.

use challenge_harness::Algorithm;
use serde::{Deserialize, Serialize};

use crate::scenario::CheckKind;
use crate::{Nanos, SpecProblem};

/// The limiter the scenario constructs: `config = { algorithm = "token-bucket", limit = 5, window = "1s" }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which algorithm.
    pub algorithm: AlgorithmName,
    /// Permits per window or bucket capacity, 1 to 2^32.
    pub limit: u64,
    /// Window or refill time, 1ns to 2^50ns (about 13 days).
    pub window: Nanos,
}

/// Upper bound on `limit`, so that every product in the conventions fits in a `u128`.
pub const MAX_LIMIT: u64 = 1 << 32;
/// Upper bound on `window`.
pub const MAX_WINDOW: Nanos = Nanos(1 << 50);

impl Config {
    /// Rejects configs outside the ranges the brief promises learners.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(format!("limit = {} is out of range: use 1 to {MAX_LIMIT}", self.limit));
        }
        if self.window.0 == 0 || self.window > MAX_WINDOW {
            return Err(format!("window = \"{}\" is out of range: use 1ns to {}", self.window, MAX_WINDOW));
        }
        Ok(())
    }
}

/// The algorithm names authors write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlgorithmName {
    /// `fixed-window`
    FixedWindow,
    /// `sliding-log`
    SlidingLog,
    /// `sliding-counter`
    SlidingCounter,
    /// `token-bucket`
    TokenBucket,
}

impl AlgorithmName {
    /// The harness enum this name stands for.
    pub fn algorithm(self) -> Algorithm {
        match self {
            AlgorithmName::FixedWindow => Algorithm::FixedWindow,
            AlgorithmName::SlidingLog => Algorithm::SlidingLog,
            AlgorithmName::SlidingCounter => Algorithm::SlidingCounter,
            AlgorithmName::TokenBucket => Algorithm::TokenBucket,
        }
    }
}

/// One line of a script: `{ at = "999ms", op = "acquire", key = "u1", expect = { allowed = false } }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Scenario time to move the clock to first (it may move backwards). `None` keeps the clock.
    pub at: Option<Nanos>,
    /// What to do.
    pub op: Op,
}

fn one() -> u64 {
    1
}

fn key_prefix() -> String {
    "key-".to_owned()
}

/// The op vocabulary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// `try_acquire(key, cost)`, `repeat` times at the same instant; each call must match `expect`.
    Acquire {
        /// The key.
        key: String,
        /// Permits asked for.
        #[serde(default = "one")]
        cost: u64,
        /// How many identical calls.
        #[serde(default = "one")]
        repeat: u64,
        /// The fields to check; absent fields are not checked.
        #[serde(default)]
        expect: AcquireExpect,
    },
    /// `attempts` calls at the same instant; counts how many were allowed.
    Burst {
        /// The key.
        key: String,
        /// Permits per call.
        #[serde(default = "one")]
        cost: u64,
        /// How many calls.
        attempts: u64,
        /// How many must be allowed.
        expect: Admitted,
    },
    /// One call every `every`, from this step's time through `until` later (inclusive), taking
    /// permits whenever allowed; counts how many calls were allowed. Leaves the clock at the last poll.
    Poll {
        /// The key.
        key: String,
        /// Permits per call.
        #[serde(default = "one")]
        cost: u64,
        /// Interval between calls.
        every: Nanos,
        /// How long to keep polling.
        until: Nanos,
        /// How many must be allowed.
        expect: Admitted,
    },
    /// One call on each of `count` distinct keys `"{prefix}{n}"`.
    FillKeys {
        /// How many keys.
        count: u64,
        /// Key prefix.
        #[serde(default = "key_prefix")]
        prefix: String,
        /// Permits per call.
        #[serde(default = "one")]
        cost: u64,
        /// How many must be allowed, if checked.
        #[serde(default)]
        expect: Option<Admitted>,
    },
    /// `cleanup()`.
    Cleanup {},
    /// `tracked_keys()`.
    TrackedKeys {
        /// What it must return.
        expect: Keys,
    },
}

impl Op {
    /// What the step calls, as a learner would write it.
    pub fn describe(&self) -> String {
        match self {
            Op::Acquire { key, cost, repeat: 1, .. } => format!("try_acquire({key:?}, {cost})"),
            Op::Acquire { key, cost, repeat, .. } => format!("try_acquire({key:?}, {cost}) ×{repeat}"),
            Op::Burst { key, cost, attempts, .. } => format!("{attempts} calls of try_acquire({key:?}, {cost})"),
            Op::Poll { key, cost, every, until, .. } => {
                format!("try_acquire({key:?}, {cost}) every {every} for {until}")
            }
            Op::FillKeys { count, prefix, cost, .. } => {
                format!("try_acquire on {count} keys \"{prefix}0\"… with cost {cost}")
            }
            Op::Cleanup {} => "cleanup()".to_owned(),
            Op::TrackedKeys { .. } => "tracked_keys()".to_owned(),
        }
    }
}

/// Expected fields of a decision; each present field is compared exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AcquireExpect {
    /// `allowed`.
    pub allowed: Option<bool>,
    /// `remaining`.
    pub remaining: Option<u64>,
    /// `retry_after`.
    pub retry_after: Option<Nanos>,
    /// `reset_after`.
    pub reset_after: Option<Nanos>,
    /// An error instead of a decision.
    pub error: Option<ExpectedError>,
}

/// Errors a script can expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedError {
    /// `Err(CostExceedsCapacity)`.
    CostExceedsCapacity,
}

/// `expect = { admitted = 5 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admitted {
    /// How many calls were allowed.
    pub admitted: u64,
}

/// `expect = { keys = 0 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// What `tracked_keys()` returns.
    pub keys: u64,
}

/// Programmatic checks: `check = { name = "concurrent-frozen", threads = 8, … }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// Each round: a fresh limiter, a seeded number of permits pre-spent on one key, then `threads`
    /// threads released by a barrier hammer that key at one frozen instant. Exactly the remaining
    /// budget must be admitted, and no admitted call may start after a denied one has returned.
    ConcurrentFrozen {
        /// Threads per round (2 to 64).
        threads: u32,
        /// Calls per thread, at most.
        attempts: u32,
        /// Rounds, each with its own seed-derived budget.
        rounds: u32,
    },
    /// A seeded random trace (times, keys, costs; the clock sometimes steps back) whose every
    /// decision must equal the model's exactly.
    Differential {
        /// How many calls.
        ops: u32,
        /// How many distinct keys.
        keys: u32,
        /// Largest gap between calls.
        max_gap: Nanos,
        /// Largest cost (at most the limit).
        max_cost: u64,
    },
    /// The same seeded workload on the learner and on the reference solution, trials alternating;
    /// passes when the learner's median time is at most `max_ratio` times the reference's.
    Performance {
        /// Calls per trial.
        ops: u32,
        /// Distinct keys.
        keys: u32,
        /// Trials per side.
        trials: u32,
        /// Allowed slowdown against the reference.
        max_ratio: f64,
    },
}

impl CheckKind for Check {
    fn needs_reference(&self) -> bool {
        match self {
            Check::Performance { .. } => true,
            Check::ConcurrentFrozen { .. } | Check::Differential { .. } => false,
        }
    }

    fn is_seeded(&self) -> bool {
        match self {
            Check::ConcurrentFrozen { .. } | Check::Differential { .. } | Check::Performance { .. } => true,
        }
    }
}

impl Check {
    fn validate(&self, config: &Config) -> Result<(), String> {
        match *self {
            Check::ConcurrentFrozen { threads, attempts, rounds } => {
                if !(2..=64).contains(&threads) || attempts == 0 || rounds == 0 {
                    return Err("concurrent-frozen needs threads = 2..64, attempts >= 1, rounds >= 1".to_owned());
                }
            }
            Check::Differential { ops, keys, max_cost, .. } => {
                if ops == 0 || keys == 0 || max_cost == 0 || max_cost > config.limit {
                    return Err(format!("differential needs ops >= 1, keys >= 1 and max-cost in 1..={}", config.limit));
                }
            }
            Check::Performance { ops, keys, trials, max_ratio } => {
                if ops == 0 || keys == 0 || trials == 0 || !(max_ratio >= 1.0) {
                    return Err("performance needs ops, keys and trials >= 1, and max-ratio >= 1.0".to_owned());
                }
            }
        }
        Ok(())
    }
}

/// A step script or a check.
pub type Script = crate::scenario::Script<Step, Check>;

/// Everything the worker needs to run one rate limiter scenario.
pub type Scenario = crate::scenario::Scenario<Config, Step, Check>;

/// Parses one scenario's system-specific parts. Exactly one of `steps` and `check` is given.
pub fn parse(
    config: serde_json::Value,
    steps: Option<Vec<serde_json::Value>>,
    check: Option<serde_json::Value>,
) -> Result<Scenario, SpecProblem> {
    crate::scenario::parse_scenario(config, steps, check, Config::validate, parse_step, Check::validate)
}

fn parse_step(value: serde_json::Value, config: &Config) -> Result<Step, String> {
    let serde_json::Value::Object(mut table) = value else {
        return Err("a step must be a table such as { op = \"acquire\", key = \"u1\" }".to_owned());
    };
    let at = table.remove("at").map(serde_json::from_value::<Nanos>).transpose().map_err(|e| format!("at: {e}"))?;
    let op: Op = serde_json::from_value(serde_json::Value::Object(table)).map_err(|e| e.to_string())?;
    if let Op::Acquire { cost, expect, .. } = &op {
        let decision_fields = expect.allowed.is_some()
            || expect.remaining.is_some()
            || expect.retry_after.is_some()
            || expect.reset_after.is_some();
        if expect.error.is_some() && decision_fields {
            return Err("expect either an error or decision fields, not both".to_owned());
        }
        if *cost > config.limit && expect.error.is_none() && decision_fields {
            return Err(format!(
                "cost {cost} exceeds limit {}: expect error = \"cost-exceeds-capacity\"",
                config.limit
            ));
        }
    }
    Ok(Step { at, op })
}
