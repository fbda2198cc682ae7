//! What a challenge author writes for a message queue scenario: the queue's config, and either a
//! script of steps (one call each, at a virtual instant) or a named check (the fault storm, the
//! no-failure run, the poison message, performance).
//!
//! Parsed from `challenge.toml` through JSON values, so errors point at the step that caused
//! them, and sent to the worker as JSON.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::scenario::CheckKind;
use crate::{Nanos, SpecProblem};

/// The queue the scenario builds:
/// `config = { visibility-timeout = "30s", max-attempts = 3, backoff-base = "1s", backoff-max = "1m" }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// How long a delivery is leased (at least 1ns).
    pub visibility_timeout: Nanos,
    /// Deliveries a message gets in all: 1 to [`MAX_ATTEMPTS`].
    pub max_attempts: u32,
    /// The wait before the first retry.
    #[serde(default)]
    pub backoff_base: Nanos,
    /// The longest wait before a retry.
    #[serde(default = "default_backoff_max")]
    pub backoff_max: Nanos,
}

fn default_backoff_max() -> Nanos {
    Nanos(3_600 * Nanos::SECOND.0)
}

/// Most attempts the brief promises learners.
pub const MAX_ATTEMPTS: u32 = 1000;

impl Config {
    fn validate(&self) -> Result<(), String> {
        if self.visibility_timeout.0 == 0 {
            return Err("visibility-timeout must be at least 1ns".to_owned());
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            return Err(format!("max-attempts = {} is out of range: use 1 to {MAX_ATTEMPTS}", self.max_attempts));
        }
        if self.backoff_max < self.backoff_base {
            return Err(format!(
                "backoff-max = \"{}\" is below backoff-base = \"{}\": the cap must be at least the first wait",
                self.backoff_max, self.backoff_base
            ));
        }
        Ok(())
    }

    /// The wait before the retry after failed attempt `attempt`, as the brief's formula says.
    pub fn backoff(&self, attempt: u32) -> Nanos {
        let doublings = attempt.saturating_sub(1).min(63);
        Nanos(self.backoff_base.0.saturating_mul(1u64 << doublings).min(self.backoff_max.0))
    }
}

/// What an `ack` or `nack` step expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settled {
    /// It took effect.
    Ok,
    /// `Err(StaleLease)`.
    Stale,
}

/// Why a dead letter is dead, as authors write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// `DeadReason::MaxAttempts`.
    MaxAttempts,
    /// `DeadReason::Rejected`.
    Rejected,
}

/// One expected dead letter: the payload names it; absent fields are not checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DeadExpect {
    /// The payload, which names the message.
    pub payload: String,
    /// `reason`.
    pub reason: Option<Reason>,
    /// `attempts`.
    pub attempts: Option<u32>,
    /// `last_error`.
    pub last_error: Option<String>,
    /// `first_failure_at`, as scenario time.
    pub first_failure_at: Option<Nanos>,
    /// `dead_at`, as scenario time.
    pub dead_at: Option<Nanos>,
}

/// `expect = { ready = 1, in_flight = 2 }` on a `stats` step, spelled as the learner's
/// `QueueStats` fields; absent ones are not checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialStats {
    /// `ready`.
    pub ready: Option<u64>,
    /// `delayed`.
    pub delayed: Option<u64>,
    /// `in_flight`.
    pub in_flight: Option<u64>,
    /// `dead`.
    pub dead: Option<u64>,
    /// `acked`.
    pub acked: Option<u64>,
    /// `retried`.
    pub retried: Option<u64>,
}

/// One line of a script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Scenario time to move the clock to first (never backwards). `None` keeps the clock.
    pub at: Option<Nanos>,
    /// What the step does.
    pub action: Action,
}

/// What one step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// `enqueue(payload, delay)`.
    Enqueue {
        /// The payload (it also names the message in later steps).
        payload: String,
        /// The delay.
        delay: Option<Nanos>,
        /// The id it must return.
        expect: Option<u64>,
    },
    /// `receive(max)`, naming the deliveries.
    Receive {
        /// At most this many.
        max: u64,
        /// The payloads that must come back, in order.
        expect: Option<Vec<String>>,
        /// Their attempts, in order.
        attempts: Option<Vec<u32>>,
        /// Names for the deliveries, in order, for later `ack`/`nack` steps.
        names: Vec<String>,
    },
    /// `ack(token of delivery)`.
    Ack {
        /// Which delivery's token.
        delivery: String,
        /// What must come back.
        expect: Option<Settled>,
    },
    /// `nack(token of delivery, error, retry)`.
    Nack {
        /// Which delivery's token.
        delivery: String,
        /// The error message.
        error: String,
        /// Whether to retry.
        retry: bool,
        /// What must come back.
        expect: Option<Settled>,
    },
    /// `dead_letters()`.
    DeadLetters {
        /// The records that must come back, in order (all of them).
        expect: Option<Vec<DeadExpect>>,
    },
    /// `redrive(ids)`.
    Redrive {
        /// `None` for all; otherwise ids.
        ids: Option<Vec<u64>>,
        /// How many must move.
        expect: Option<u64>,
    },
    /// `stats()`, checked against the named counters and the conservation identity.
    Stats {
        /// The counters to check.
        expect: PartialStats,
    },
}

impl Action {
    /// The action, as a learner would write it.
    pub fn describe(&self) -> String {
        match self {
            Action::Enqueue { payload, delay: None, .. } => format!("queue.enqueue(b{payload:?}, None)"),
            Action::Enqueue { payload, delay: Some(d), .. } => format!("queue.enqueue(b{payload:?}, Some({d}))"),
            Action::Receive { max, names, .. } if names.is_empty() => format!("queue.receive({max})"),
            Action::Receive { max, names, .. } => format!("[{}] = queue.receive({max})", names.join(", ")),
            Action::Ack { delivery, .. } => format!("queue.ack({delivery}.token)"),
            Action::Nack { delivery, error, retry, .. } => format!("queue.nack({delivery}.token, {error:?}, {retry})"),
            Action::DeadLetters { .. } => "queue.dead_letters()".to_owned(),
            Action::Redrive { ids: None, .. } => "queue.redrive(None)".to_owned(),
            Action::Redrive { ids: Some(ids), .. } => format!("queue.redrive(Some(&{ids:?}))"),
            Action::Stats { .. } => "queue.stats()".to_owned(),
        }
    }
}

/// Programmatic checks: `check = { name = "fault-storm", messages = 10000, consumers = 4 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// `messages` are enqueued; `consumers` threads receive in batches at frozen instants, and
    /// each delivery's fate is drawn from the seed: ack, fail (retry), reject, crash (never
    /// settled) or slow (settled after the clock has moved, perhaps past its lease). Between
    /// rounds the clock moves on by `step`. Conservation, lease exclusivity, fencing and bounded
    /// delivery are checked on the whole history; stats are sampled concurrently.
    FaultStorm {
        /// Messages enqueued.
        messages: u32,
        /// Consumer threads (1 to 16).
        consumers: u32,
        /// Virtual time between rounds.
        step: Nanos,
        /// Whole storms run, each on a fresh queue with the next seed (default 1): one that
        /// breaks a property fails the scenario. A race that shows in most storms then shows in
        /// every grade.
        #[serde(default = "one")]
        runs: u32,
    },
    /// A producer enqueues while `consumers` threads receive and ack at once, at one frozen
    /// instant: every id must be delivered exactly once.
    NoFailure {
        /// Messages enqueued.
        messages: u32,
        /// Consumer threads (1 to 16).
        consumers: u32,
        /// Whole runs, each on a fresh queue (default 1), as for the storm.
        #[serde(default = "one")]
        runs: u32,
    },
    /// One poison message (always failing) ahead of `good` ones, one consumer: every good message
    /// must be acked at the first instant, and the poison dead-lettered after its last attempt.
    Poison {
        /// Good messages behind the poison one.
        good: u32,
    },
    /// Enqueue, receive and ack on the learner's queue and on the reference's, trials
    /// alternating; passes when the learner's median time is at most `max-ratio` times the
    /// reference's.
    Performance {
        /// Messages per trial.
        messages: u32,
        /// Consumer threads (1 to 8).
        consumers: u32,
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
            Check::FaultStorm { .. } | Check::NoFailure { .. } | Check::Poison { .. } => false,
        }
    }

    fn is_seeded(&self) -> bool {
        match self {
            Check::FaultStorm { .. } => true,
            Check::NoFailure { .. } | Check::Poison { .. } | Check::Performance { .. } => false,
        }
    }
}

impl Check {
    fn validate(&self, config: &Config) -> Result<(), String> {
        let ok = match *self {
            Check::FaultStorm { messages, consumers, step, runs } => {
                (1..=100_000).contains(&messages)
                    && (1..=16).contains(&consumers)
                    && step.0 > 0
                    && config.backoff_base.0 > 0
                    && (1..=100).contains(&runs)
            }
            Check::NoFailure { messages, consumers, runs } => {
                (1..=1_000_000).contains(&messages) && (1..=16).contains(&consumers) && (1..=100).contains(&runs)
            }
            Check::Poison { good } => (1..=10_000).contains(&good) && config.backoff_base.0 > 0,
            Check::Performance { messages, consumers, trials, max_ratio } => {
                messages > 0 && (1..=8).contains(&consumers) && trials > 0 && max_ratio >= 1.0
            }
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Check::FaultStorm { .. } => "fault-storm needs messages = 1..100000, consumers = 1..16, a step above 0, runs = 1..100 and a backoff-base above 0",
            Check::NoFailure { .. } => "no-failure needs messages = 1..1000000, consumers = 1..16 and runs = 1..100",
            Check::Poison { .. } => "poison needs good = 1..10000 and a backoff-base above 0",
            Check::Performance { .. } => "performance needs messages, trials >= 1, consumers = 1..8 and max-ratio >= 1.0",
        }
        .to_owned())
    }
}

fn one() -> u32 {
    1
}

/// A step script or a check.
pub type Script = crate::scenario::Script<Step, Check>;

/// Everything the worker needs to run one queue scenario.
pub type Scenario = crate::scenario::Scenario<Config, Step, Check>;

/// Parses one scenario's system-specific parts. Exactly one of `steps` and `check` is given.
pub fn parse(
    config: serde_json::Value,
    steps: Option<Vec<serde_json::Value>>,
    check: Option<serde_json::Value>,
) -> Result<Scenario, SpecProblem> {
    let mut now = Nanos(0);
    let mut named = BTreeSet::new();
    let parse_step = |value, _: &Config| {
        let step = parse_step(value)?;
        crate::scenario::advance(&mut now, step.at)?;
        match &step.action {
            Action::Receive { names, .. } => named.extend(names.iter().cloned()),
            Action::Ack { delivery, .. } | Action::Nack { delivery, .. } if !named.contains(delivery) => {
                return Err(format!(
                    "delivery = {delivery:?} names no earlier delivery: name it in a receive with as = [{delivery:?}]"
                ));
            }
            _ => {}
        }
        Ok(step)
    };
    crate::scenario::parse_scenario(config, steps, check, Config::validate, parse_step, Check::validate)
}

/// The op vocabulary as authors write it.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
enum Op {
    Enqueue { payload: String, delay: Option<Nanos>, expect: Option<u64> },
    Receive {
        max: u64,
        expect: Option<Vec<String>>,
        attempts: Option<Vec<u32>>,
        #[serde(rename = "as", default)]
        names: Vec<String>,
    },
    Ack { delivery: String, expect: Option<Settled> },
    Nack { delivery: String, error: String, retry: bool, expect: Option<Settled> },
    DeadLetters { expect: Option<Vec<DeadExpect>> },
    Redrive { ids: Option<Vec<u64>>, all: Option<bool>, expect: Option<u64> },
    Stats { expect: PartialStats },
}

fn parse_step(value: serde_json::Value) -> Result<Step, String> {
    let serde_json::Value::Object(mut table) = value else {
        return Err("a step must be a table such as { op = \"enqueue\", payload = \"a\" }".to_owned());
    };
    let at = table.remove("at").map(serde_json::from_value::<Nanos>).transpose().map_err(|e| format!("at: {e}"))?;
    let op: Op = serde_json::from_value(serde_json::Value::Object(table)).map_err(|e| e.to_string())?;
    let action = match op {
        Op::Enqueue { payload, delay, expect } => Action::Enqueue { payload, delay, expect },
        Op::Receive { max, expect, attempts, names } => {
            for (key, len) in [("expect", expect.as_ref().map(Vec::len)), ("attempts", attempts.as_ref().map(Vec::len))] {
                if let (Some(len), Some(other)) = (len, expect.as_ref().map(Vec::len)) {
                    if len != other {
                        return Err(format!("{key} lists {len} entries but expect lists {other}: give one per delivery"));
                    }
                }
                if len.is_some_and(|len| len as u64 > max) {
                    return Err(format!("{key} lists more deliveries than max = {max}"));
                }
            }
            if names.len() as u64 > max {
                return Err(format!("as names {} deliveries but max = {max}", names.len()));
            }
            Action::Receive { max, expect, attempts, names }
        }
        Op::Ack { delivery, expect } => Action::Ack { delivery, expect },
        Op::Nack { delivery, error, retry, expect } => Action::Nack { delivery, error, retry, expect },
        Op::DeadLetters { expect } => Action::DeadLetters { expect },
        Op::Redrive { ids, all, expect } => match (ids, all) {
            (Some(_), Some(true)) => return Err("redrive takes ids = [...] or all = true, not both".to_owned()),
            (Some(ids), _) => Action::Redrive { ids: Some(ids), expect },
            (None, Some(true)) => Action::Redrive { ids: None, expect },
            (None, _) => return Err("redrive needs ids = [1, 2] or all = true".to_owned()),
        },
        Op::Stats { expect } => Action::Stats { expect },
    };
    Ok(Step { at, action })
}
