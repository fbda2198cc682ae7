//! What a challenge author writes for an LRU cache scenario: the cache's config, and either a
//! script of steps (each one call with its expected result) or a named programmatic check.
//!
//! Parsed from `challenge.toml` through JSON values, so errors point at the step that caused
//! them, and sent to the worker as JSON.

use serde::{Deserialize, Serialize};

use super::call::Call;
use super::observation::Metrics;
use crate::scenario::CheckKind;
use crate::{Nanos, SpecProblem};

/// The cache the scenario builds: `config = { capacity = 3, default-ttl = "10s" }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Live entries, 1 to [`MAX_CAPACITY`].
    pub capacity: u64,
    /// TTL of entries put without one; absent means they never expire.
    #[serde(default)]
    pub default_ttl: Option<Nanos>,
}

/// Largest capacity the brief promises learners.
pub const MAX_CAPACITY: u64 = 1 << 24;
/// Largest TTL the brief promises learners (about 13 days).
pub const MAX_TTL: Nanos = Nanos(1 << 50);

impl Config {
    fn validate(&self) -> Result<(), String> {
        check_capacity(self.capacity)?;
        self.default_ttl.map_or(Ok(()), check_ttl)
    }
}

fn check_capacity(capacity: u64) -> Result<(), String> {
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return Err(format!("capacity = {capacity} is out of range: use 1 to {MAX_CAPACITY}"));
    }
    Ok(())
}

fn check_ttl(ttl: Nanos) -> Result<(), String> {
    if ttl.0 == 0 || ttl > MAX_TTL {
        return Err(format!("ttl = \"{ttl}\" is out of range: use 1ns to {MAX_TTL}"));
    }
    Ok(())
}

/// One line of a script: `{ at = "10s", op = "get", key = 1, expect = 10 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Scenario time to move the clock to first (never backwards). `None` keeps the clock.
    pub at: Option<Nanos>,
    /// The calls the step makes (one, or several for `put-all`/`get-all`).
    pub calls: Vec<Call>,
    /// What each call must return, when checked.
    pub expect: Vec<Option<Expected>>,
    /// How many times the step's loader must run (`get-or-insert` only).
    pub loads: Option<u64>,
}

impl Step {
    /// What the step calls, as a learner would write it.
    pub fn describe(&self) -> String {
        match self.calls.as_slice() {
            [one] => one.describe(),
            many => many.iter().map(Call::describe).collect::<Vec<_>>().join("; "),
        }
    }
}

/// An expected result: `expect = 10`, `expect = "none"`, `expect = true`, or a metrics table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expected {
    /// `get`, `peek`, `put`, `remove`, `get-or-insert`: the value returned.
    Value(Option<u64>),
    /// `contains`.
    Bool(bool),
    /// `len`.
    Len(u64),
    /// `metrics`: the named counters; absent ones are not checked.
    Metrics(PartialMetrics),
    /// `loader-panics`: the loader's panic must come out of the call.
    LoaderPanicked,
}

/// `expect = { hits = 1, evictions = 0 }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialMetrics {
    /// `hits`.
    pub hits: Option<u64>,
    /// `misses`.
    pub misses: Option<u64>,
    /// `inserts`.
    pub inserts: Option<u64>,
    /// `replacements`.
    pub replacements: Option<u64>,
    /// `evictions`.
    pub evictions: Option<u64>,
    /// `expirations`.
    pub expirations: Option<u64>,
}

impl PartialMetrics {
    /// Every counter, for checks that compare all of them.
    pub fn all(m: &Metrics) -> PartialMetrics {
        PartialMetrics {
            hits: Some(m.hits),
            misses: Some(m.misses),
            inserts: Some(m.inserts),
            replacements: Some(m.replacements),
            evictions: Some(m.evictions),
            expirations: Some(m.expirations),
        }
    }

    /// `(name, expected, actual)` for each checked counter.
    pub fn fields(&self, actual: &Metrics) -> Vec<(&'static str, u64, u64)> {
        [
            ("hits", self.hits, actual.hits),
            ("misses", self.misses, actual.misses),
            ("inserts", self.inserts, actual.inserts),
            ("replacements", self.replacements, actual.replacements),
            ("evictions", self.evictions, actual.evictions),
            ("expirations", self.expirations, actual.expirations),
        ]
        .into_iter()
        .filter_map(|(name, expected, actual)| expected.map(|e| (name, e, actual)))
        .collect()
    }
}

/// Programmatic checks: `check = { name = "linearizable", runs = 100, … }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// A seeded random sequence of calls and clock advances whose every result must equal the
    /// model's. A divergence is shrunk to a short step list.
    Differential {
        /// Calls in the trace.
        ops: u32,
        /// Distinct keys (about twice the capacity makes evictions frequent).
        keys: u32,
        /// Largest clock advance between calls.
        max_gap: Nanos,
    },
    /// A seeded Zipf trace, cache-aside (`get`, then `put` on a miss): the hits must equal exact
    /// LRU's, request by request.
    ZipfHitRatio {
        /// Requests.
        ops: u32,
        /// Distinct keys.
        keys: u32,
        /// Zipf exponent, e.g. 0.9.
        exponent: f64,
    },
    /// `threads` threads make random calls on a shared cache at one frozen instant, sampling
    /// `len()`; the counters must add up exactly to what the calls returned.
    ConcurrentInvariants {
        /// Threads (2 to 64).
        threads: u32,
        /// Calls per thread.
        ops: u32,
        /// Distinct keys.
        keys: u32,
    },
    /// Many short concurrent runs; each recorded history must be linearizable against the
    /// sequential LRU specification.
    Linearizable {
        /// Independent runs, each on a fresh cache.
        runs: u32,
        /// Threads per run (2 to 8).
        threads: u32,
        /// Calls per thread per run.
        ops: u32,
        /// Distinct keys.
        keys: u32,
    },
    /// `threads` threads call `get_or_insert_with` on one missing key at once; the loader sleeps
    /// `load-time` of real time. It must run once, and everyone must get its value.
    LoaderOnce {
        /// Threads (2 to 64).
        threads: u32,
        /// Real time the loader takes.
        load_time: Nanos,
    },
    /// While a loader for one key is stalled (up to `stall` of real time), calls on another key
    /// from another thread must complete.
    LoaderDoesNotBlockOthers {
        /// How long the loader waits for the other calls before giving up.
        stall: Nanos,
    },
    /// The same seeded Zipf 90/10 cache-aside workload on the learner's cache and on the reference
    /// solution, trials alternating; passes when the learner's median time is at most
    /// `max-ratio` times the reference's.
    Performance {
        /// Calls per thread per trial.
        ops: u32,
        /// Distinct keys.
        keys: u32,
        /// Threads (1 to 8).
        threads: u32,
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
            Check::Differential { .. }
            | Check::ZipfHitRatio { .. }
            | Check::ConcurrentInvariants { .. }
            | Check::Linearizable { .. }
            | Check::LoaderOnce { .. }
            | Check::LoaderDoesNotBlockOthers { .. } => false,
        }
    }

    fn is_seeded(&self) -> bool {
        match self {
            Check::Differential { .. }
            | Check::ZipfHitRatio { .. }
            | Check::ConcurrentInvariants { .. }
            | Check::Linearizable { .. }
            | Check::Performance { .. } => true,
            Check::LoaderOnce { .. } | Check::LoaderDoesNotBlockOthers { .. } => false,
        }
    }
}

impl Check {
    fn validate(&self) -> Result<(), String> {
        let ok = match *self {
            Check::Differential { ops, keys, .. } => ops > 0 && keys > 0,
            Check::ZipfHitRatio { ops, keys, exponent } => ops > 0 && keys > 0 && exponent > 0.0 && exponent < 4.0,
            Check::ConcurrentInvariants { threads, ops, keys } => (2..=64).contains(&threads) && ops > 0 && keys > 0,
            Check::Linearizable { runs, threads, ops, keys } => {
                runs > 0 && (2..=8).contains(&threads) && (1..=500).contains(&ops) && keys > 0
            }
            Check::LoaderOnce { threads, load_time } => (2..=64).contains(&threads) && load_time.0 > 0,
            Check::LoaderDoesNotBlockOthers { stall } => stall.0 > 0,
            Check::Performance { ops, keys, threads, trials, max_ratio } => {
                ops > 0 && keys > 0 && (1..=8).contains(&threads) && trials > 0 && max_ratio >= 1.0
            }
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Check::Differential { .. } => "differential needs ops >= 1 and keys >= 1",
            Check::ZipfHitRatio { .. } => "zipf-hit-ratio needs ops >= 1, keys >= 1 and 0 < exponent < 4",
            Check::ConcurrentInvariants { .. } => "concurrent-invariants needs threads = 2..64, ops >= 1, keys >= 1",
            Check::Linearizable { .. } => "linearizable needs runs >= 1, threads = 2..8, ops = 1..500, keys >= 1",
            Check::LoaderOnce { .. } => "loader-once needs threads = 2..64 and a load-time above 0",
            Check::LoaderDoesNotBlockOthers { .. } => "loader-does-not-block-others needs a stall above 0",
            Check::Performance { .. } => "performance needs ops, keys, trials >= 1, threads = 1..8, max-ratio >= 1.0",
        }
        .to_owned())
    }
}

/// A step script or a check.
pub type Script = crate::scenario::Script<Step, Check>;

/// Everything the worker needs to run one cache scenario.
pub type Scenario = crate::scenario::Scenario<Config, Step, Check>;

/// Parses one scenario's system-specific parts. Exactly one of `steps` and `check` is given.
pub fn parse(
    config: serde_json::Value,
    steps: Option<Vec<serde_json::Value>>,
    check: Option<serde_json::Value>,
) -> Result<Scenario, SpecProblem> {
    let mut now = Nanos(0);
    let parse_step = |value, _: &Config| {
        let step = parse_step(value)?;
        crate::scenario::advance(&mut now, step.at)?;
        Ok(step)
    };
    crate::scenario::parse_scenario(config, steps, check, Config::validate, parse_step, |c: &Check, _| c.validate())
}

/// The op vocabulary as authors write it; each becomes one or more [`Call`]s.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
enum Op {
    Get { key: u64, expect: Option<ValueExpect> },
    Peek { key: u64, expect: Option<ValueExpect> },
    Contains { key: u64, expect: Option<bool> },
    Put { key: u64, value: u64, ttl: Option<Nanos>, expect: Option<ValueExpect> },
    Remove { key: u64, expect: Option<ValueExpect> },
    Len { expect: Option<u64> },
    Clear {},
    Resize { capacity: u64 },
    Metrics { expect: Option<PartialMetrics> },
    GetOrInsert { key: u64, load: u64, ttl: Option<Nanos>, expect: Option<ValueExpect>, loads: Option<u64> },
    LoaderPanics { key: u64 },
    PutAll { keys: Vec<u64>, ttl: Option<Nanos> },
    GetAll { keys: Vec<u64>, expect: Option<Vec<ValueExpect>> },
}

/// `10` or `"none"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ValueExpect {
    Some(u64),
    Word(String),
}

impl ValueExpect {
    fn resolve(self) -> Result<Expected, String> {
        match self {
            ValueExpect::Some(v) => Ok(Expected::Value(Some(v))),
            ValueExpect::Word(w) if w == "none" => Ok(Expected::Value(None)),
            ValueExpect::Word(w) => Err(format!("expect = {w:?}: write a number, or \"none\" for no value")),
        }
    }
}

fn parse_step(value: serde_json::Value) -> Result<Step, String> {
    let serde_json::Value::Object(mut table) = value else {
        return Err("a step must be a table such as { op = \"get\", key = 1, expect = 10 }".to_owned());
    };
    let at = table.remove("at").map(serde_json::from_value::<Nanos>).transpose().map_err(|e| format!("at: {e}"))?;
    let op: Op = serde_json::from_value(serde_json::Value::Object(table)).map_err(|e| e.to_string())?;
    let value = |e: Option<ValueExpect>| e.map(ValueExpect::resolve).transpose();
    let ttl = |t: Option<Nanos>| t.map(|t| check_ttl(t).map(|()| t)).transpose();
    let one = |call: Call, expect: Option<Expected>| Step { at, calls: vec![call], expect: vec![expect], loads: None };
    Ok(match op {
        Op::Get { key, expect } => one(Call::Get { key }, value(expect)?),
        Op::Peek { key, expect } => one(Call::Peek { key }, value(expect)?),
        Op::Contains { key, expect } => one(Call::Contains { key }, expect.map(Expected::Bool)),
        Op::Put { key, value: v, ttl: t, expect } => one(Call::Put { key, value: v, ttl: ttl(t)? }, value(expect)?),
        Op::Remove { key, expect } => one(Call::Remove { key }, value(expect)?),
        Op::Len { expect } => one(Call::Len, expect.map(Expected::Len)),
        Op::Clear {} => one(Call::Clear, None),
        Op::Resize { capacity } => {
            check_capacity(capacity)?;
            one(Call::Resize { capacity }, None)
        }
        Op::Metrics { expect } => one(Call::Metrics, expect.map(Expected::Metrics)),
        Op::GetOrInsert { key, load, ttl: t, expect, loads } => {
            if loads.is_some_and(|n| n > 1) {
                return Err("loads = 0 or 1: one call runs its loader at most once".to_owned());
            }
            Step { loads, ..one(Call::GetOrInsert { key, ttl: ttl(t)?, load }, value(expect)?) }
        }
        Op::LoaderPanics { key } => one(Call::LoaderPanics { key }, Some(Expected::LoaderPanicked)),
        Op::PutAll { keys, ttl: t } => {
            let t = ttl(t)?;
            let calls: Vec<Call> = keys.iter().map(|&key| Call::Put { key, value: key, ttl: t }).collect();
            Step { at, expect: vec![None; calls.len()], calls, loads: None }
        }
        Op::GetAll { keys, expect } => {
            let expect: Vec<Option<Expected>> = match expect {
                None => vec![None; keys.len()],
                Some(list) if list.len() == keys.len() => {
                    list.into_iter().map(|e| e.resolve().map(Some)).collect::<Result<_, _>>()?
                }
                Some(list) => {
                    return Err(format!(
                        "expect lists {} results for {} keys: give one per key",
                        list.len(),
                        keys.len()
                    ))
                }
            };
            Step { at, calls: keys.iter().map(|&key| Call::Get { key }).collect(), expect, loads: None }
        }
    })
}
