//! The systems the graders know, and the system-independent face of a scenario: parse it from an
//! author's spec, tell what it needs, and judge its observations.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::judgement::Judgement;
use crate::{connection_pool, lru_cache, message_queue, migrations, rate_limiter};

/// A system a challenge can grade; `system = "rate-limiter"` in `challenge.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// Challenge 1.
    RateLimiter,
    /// Challenge 2.
    LruCache,
    /// Challenge 3.
    ConnectionPool,
    /// Challenge 4.
    MessageQueue,
    /// Challenge 5.
    Migrations,
}

impl System {
    /// Every system, for error messages that list the choices.
    pub const ALL: [System; 5] =
        [System::RateLimiter, System::LruCache, System::ConnectionPool, System::MessageQueue, System::Migrations];

    /// The name authors write.
    pub fn name(self) -> &'static str {
        match self {
            System::RateLimiter => "rate-limiter",
            System::LruCache => "lru-cache",
            System::ConnectionPool => "connection-pool",
            System::MessageQueue => "message-queue",
            System::Migrations => "migrations",
        }
    }

    /// The plugin's entry symbol and the export macro that defines it.
    pub fn entry(self) -> (&'static str, &'static str) {
        match self {
            System::RateLimiter => {
                (challenge_harness::ffi::RATE_LIMITER_SYMBOL, "challenge_harness::export_rate_limiter!")
            }
            System::LruCache => (challenge_harness::ffi::LRU_CACHE_SYMBOL, "challenge_harness::export_lru_cache!"),
            System::ConnectionPool => {
                (challenge_harness::ffi::CONNECTION_POOL_SYMBOL, "challenge_harness::export_connection_pool!")
            }
            System::MessageQueue => {
                (challenge_harness::ffi::MESSAGE_QUEUE_SYMBOL, "challenge_harness::export_message_queue!")
            }
            System::Migrations => {
                (challenge_harness::ffi::MIGRATION_RUNNER_SYMBOL, "challenge_harness::export_migration_runner!")
            }
        }
    }

    /// Whether learners' code legitimately waits in real time (timed condvar waits read the
    /// system clock), so a clock read is no sign of a mistake.
    pub fn waits_in_real_time(self) -> bool {
        match self {
            System::RateLimiter | System::LruCache | System::MessageQueue => false,
            // SQLite's busy handler sleeps in real time while another runner holds the file.
            System::ConnectionPool | System::Migrations => true,
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed scenario for one system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScenarioBody {
    /// A rate limiter scenario.
    RateLimiter(rate_limiter::Scenario),
    /// An LRU cache scenario.
    LruCache(lru_cache::Scenario),
    /// A connection pool scenario.
    ConnectionPool(connection_pool::Scenario),
    /// A message queue scenario.
    MessageQueue(message_queue::Scenario),
    /// A migration runner scenario.
    Migrations(migrations::Scenario),
}

/// What one scenario's worker observed, per system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// From a rate limiter scenario.
    RateLimiter(rate_limiter::Observation),
    /// From an LRU cache scenario.
    LruCache(lru_cache::Observation),
    /// From a connection pool scenario.
    ConnectionPool(connection_pool::Observation),
    /// From a message queue scenario.
    MessageQueue(message_queue::Observation),
    /// From a migration runner scenario.
    Migrations(migrations::Observation),
}

impl ScenarioBody {
    /// Parses the system-specific parts of a scenario (exactly one of `steps` and `check`).
    pub fn parse(
        system: System,
        config: serde_json::Value,
        steps: Option<Vec<serde_json::Value>>,
        check: Option<serde_json::Value>,
    ) -> Result<ScenarioBody, SpecProblem> {
        match system {
            System::RateLimiter => rate_limiter::parse(config, steps, check).map(ScenarioBody::RateLimiter),
            System::LruCache => lru_cache::parse(config, steps, check).map(ScenarioBody::LruCache),
            System::ConnectionPool => {
                connection_pool::parse(config, steps, check).map(ScenarioBody::ConnectionPool)
            }
            System::MessageQueue => message_queue::parse(config, steps, check).map(ScenarioBody::MessageQueue),
            System::Migrations => migrations::parse(config, steps, check).map(ScenarioBody::Migrations),
        }
    }

    /// Which system it exercises.
    pub fn system(&self) -> System {
        match self {
            ScenarioBody::RateLimiter(_) => System::RateLimiter,
            ScenarioBody::LruCache(_) => System::LruCache,
            ScenarioBody::ConnectionPool(_) => System::ConnectionPool,
            ScenarioBody::MessageQueue(_) => System::MessageQueue,
            ScenarioBody::Migrations(_) => System::Migrations,
        }
    }

    /// Whether the worker must load the reference solution too.
    pub fn needs_reference(&self) -> bool {
        match self {
            ScenarioBody::RateLimiter(s) => s.needs_reference(),
            ScenarioBody::LruCache(s) => s.needs_reference(),
            ScenarioBody::ConnectionPool(s) => s.needs_reference(),
            ScenarioBody::MessageQueue(s) => s.needs_reference(),
            ScenarioBody::Migrations(s) => s.needs_reference(),
        }
    }

    /// Whether it is a programmatic check (threads racing, trials timed against the reference),
    /// or a script whose code waits in real time (threads blocked on deadlines): its verdict is
    /// only as steady as the cores it gets, so it should have the machine to itself.
    pub fn needs_machine(&self) -> bool {
        self.system().waits_in_real_time() || self.is_check()
    }

    fn is_check(&self) -> bool {
        match self {
            ScenarioBody::RateLimiter(s) => s.is_check(),
            ScenarioBody::LruCache(s) => s.is_check(),
            ScenarioBody::ConnectionPool(s) => s.is_check(),
            ScenarioBody::MessageQueue(s) => s.is_check(),
            ScenarioBody::Migrations(s) => s.is_check(),
        }
    }

    /// Whether its seed matters (it drives randomness), so reports should print it.
    pub fn is_seeded(&self) -> bool {
        match self {
            ScenarioBody::RateLimiter(s) => s.is_seeded(),
            ScenarioBody::LruCache(s) => s.is_seeded(),
            ScenarioBody::ConnectionPool(s) => s.is_seeded(),
            ScenarioBody::MessageQueue(s) => s.is_seeded(),
            ScenarioBody::Migrations(s) => s.is_seeded(),
        }
    }

    /// For a worker that died mid-scenario: the step it was in, described, when it is known.
    pub fn interrupted(&self, observations: &[Observation]) -> Option<String> {
        match self {
            ScenarioBody::RateLimiter(scenario) => {
                rate_limiter::interrupted(scenario, &own!(observations, RateLimiter))
            }
            ScenarioBody::LruCache(scenario) => lru_cache::interrupted(scenario, &own!(observations, LruCache)),
            ScenarioBody::ConnectionPool(scenario) => {
                connection_pool::interrupted(scenario, &own!(observations, ConnectionPool))
            }
            ScenarioBody::MessageQueue(scenario) => {
                message_queue::interrupted(scenario, &own!(observations, MessageQueue))
            }
            ScenarioBody::Migrations(scenario) => migrations::interrupted(scenario, &own!(observations, Migrations)),
        }
    }

    /// Judges the observations of a worker that reported `DONE`.
    pub fn judge(&self, seed: u64, observations: &[Observation]) -> Judgement {
        match self {
            ScenarioBody::RateLimiter(scenario) => {
                rate_limiter::judge(scenario, seed, &own!(observations, RateLimiter))
            }
            ScenarioBody::LruCache(scenario) => lru_cache::judge(scenario, seed, &own!(observations, LruCache)),
            ScenarioBody::ConnectionPool(scenario) => {
                connection_pool::judge(scenario, seed, &own!(observations, ConnectionPool))
            }
            ScenarioBody::MessageQueue(scenario) => {
                message_queue::judge(scenario, seed, &own!(observations, MessageQueue))
            }
            ScenarioBody::Migrations(scenario) => migrations::judge(scenario, seed, &own!(observations, Migrations)),
        }
    }
}

/// One system's own observations out of a worker's: a worker runs one system, so there are no
/// others, and a variant of another system is skipped.
macro_rules! own {
    ($observations:expr, $variant:ident) => {
        $observations
            .iter()
            .filter_map(|o| match o {
                Observation::$variant(o) => Some(o.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}
use own;

/// A step script or a named check: the two shapes every system's scenarios take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Script<Step, Check> {
    /// Steps in order.
    Steps(Vec<Step>),
    /// One named check.
    Check(Check),
}

/// Everything a worker needs to run one scenario of a system: what to build, and what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario<Config, Step, Check> {
    /// The structure to build.
    pub config: Config,
    /// What to do with it.
    pub script: Script<Step, Check>,
}

/// What the system-independent code asks of a system's checks.
pub trait CheckKind {
    /// Whether running it needs the reference solution loaded beside the learner's.
    fn needs_reference(&self) -> bool;
    /// Whether its seed drives randomness, so reports should print it.
    fn is_seeded(&self) -> bool;
}

impl<Config, Step, Check: CheckKind> Scenario<Config, Step, Check> {
    /// Whether running it needs the reference solution loaded beside the learner's.
    pub fn needs_reference(&self) -> bool {
        matches!(&self.script, Script::Check(check) if check.needs_reference())
    }

    /// Whether it is a check rather than a script of steps.
    pub fn is_check(&self) -> bool {
        matches!(&self.script, Script::Check(_))
    }

    /// Whether its seed drives randomness.
    pub fn is_seeded(&self) -> bool {
        matches!(&self.script, Script::Check(check) if check.is_seeded())
    }
}

fn problem(part: SpecPart, message: impl fmt::Display) -> SpecProblem {
    SpecProblem { part, message: message.to_string() }
}

/// The parse every system shares: the config, then exactly one of `steps` (each through
/// `parse_step`, which may keep state across steps) and `check`, each problem tied to its part.
pub(crate) fn parse_scenario<Config, Step, Check>(
    config: serde_json::Value,
    steps: Option<Vec<serde_json::Value>>,
    check: Option<serde_json::Value>,
    validate_config: impl Fn(&Config) -> Result<(), String>,
    mut parse_step: impl FnMut(serde_json::Value, &Config) -> Result<Step, String>,
    validate_check: impl Fn(&Check, &Config) -> Result<(), String>,
) -> Result<Scenario<Config, Step, Check>, SpecProblem>
where
    Config: serde::de::DeserializeOwned,
    Check: serde::de::DeserializeOwned,
{
    let config: Config = serde_json::from_value(config).map_err(|e| problem(SpecPart::Config, e))?;
    validate_config(&config).map_err(|e| problem(SpecPart::Config, e))?;
    let script = match (steps, check) {
        (Some(steps), None) => Script::Steps(
            steps
                .into_iter()
                .enumerate()
                .map(|(i, s)| parse_step(s, &config).map_err(|e| problem(SpecPart::Step(i), e)))
                .collect::<Result<_, _>>()?,
        ),
        (None, Some(check)) => {
            let check: Check = serde_json::from_value(check).map_err(|e| problem(SpecPart::Check, e))?;
            validate_check(&check, &config).map_err(|e| problem(SpecPart::Check, e))?;
            Script::Check(check)
        }
        _ => unreachable!("the spec loader guarantees exactly one of steps and check"),
    };
    Ok(Scenario { config, script })
}

/// A script's clock, for systems where time never moves backwards: a step's `at`, if it has
/// one, must not be earlier than the step before's, and becomes `now`.
pub(crate) fn advance(now: &mut crate::Nanos, at: Option<crate::Nanos>) -> Result<(), String> {
    if let Some(at) = at {
        if at < *now {
            return Err(format!(
                "at = \"{at}\" is earlier than the step before (\"{now}\"): in this challenge time never moves backwards"
            ));
        }
        *now = at;
    }
    Ok(())
}

/// Where in a scenario a spec problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecPart {
    /// The `config` table.
    Config,
    /// The step with this 0-based index.
    Step(usize),
    /// The `check` table.
    Check,
}

/// A problem in an author's scenario, located so the spec loader can name the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    /// Where.
    pub part: SpecPart,
    /// What is wrong, phrased as a fix.
    pub message: String,
}

/// Implements [`Progress`] for a system's `Observation` enum, whose `StepStarted { index, at }` and
/// `Step { index, .. }` variants (and, with `phase`, `Phase { what }`) every system spells alike.
macro_rules! progress {
    ($observation:ty) => {
        $crate::scenario::progress!(@steps $observation, {});
    };
    ($observation:ty, phase) => {
        $crate::scenario::progress!(@steps $observation, {
            fn phase(&self) -> Option<&str> {
                match self {
                    Self::Phase { what } => Some(what),
                    _ => None,
                }
            }
        });
    };
    (@steps $observation:ty, { $($phase:tt)* }) => {
        impl $crate::scenario::Progress for $observation {
            fn step_started(&self) -> Option<(usize, $crate::Nanos)> {
                match self {
                    Self::StepStarted { index, at } => Some((*index, *at)),
                    _ => None,
                }
            }

            fn step_finished(&self) -> Option<usize> {
                match self {
                    Self::Step { index, .. } => Some(*index),
                    _ => None,
                }
            }

            $($phase)*
        }
    };
}
pub(crate) use progress;

/// What a system's observations say about progress, so that one function can name what a worker
/// that died or hung was doing.
pub(crate) trait Progress {
    /// `Some((index, at))` for "script step `index` is about to run at `at`".
    fn step_started(&self) -> Option<(usize, crate::Nanos)>;
    /// `Some(index)` for "script step `index` finished".
    fn step_finished(&self) -> Option<usize>;
    /// `Some(what)` for "a check is about to do something that may block".
    fn phase(&self) -> Option<&str> {
        None
    }
}

/// For a worker that died mid-scenario: the step that started and never finished (described by
/// `describe`), or else the last phase with nothing reported after it.
pub(crate) fn interrupted<O: Progress>(observations: &[O], describe: impl Fn(usize) -> Option<String>) -> Option<String> {
    if let Some((index, at)) = observations.iter().rev().find_map(O::step_started) {
        let finished = observations.iter().any(|o| o.step_finished() == Some(index));
        return (!finished).then(|| format!("step {} at t={at}: {}", index + 1, describe(index).unwrap_or_default()));
    }
    let last = observations.iter().rposition(|o| o.phase().is_some())?;
    (last + 1 == observations.len()).then(|| observations[last].phase().unwrap_or_default().to_owned())
}
