//! What a challenge author writes for a connection pool scenario: the pool's config, and either
//! a script of steps (one call or host action each, on one thread) or a named programmatic check
//! (threads, real-time deadlines, fault matrices).
//!
//! Parsed from `challenge.toml` through JSON values, so errors point at the step that caused
//! them, and sent to the worker as JSON.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::behaviour::Behaviour;
use crate::scenario::CheckKind;
use crate::{Nanos, SpecProblem};

/// The pool the scenario builds:
/// `config = { max-size = 2, min-idle = 0, acquire-timeout = "1s", test-on-checkout = true }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Most connections open or opening at once: 1 to [`MAX_SIZE`].
    pub max_size: u64,
    /// Idle connections `maintain` keeps ready.
    #[serde(default)]
    pub min_idle: u64,
    /// Real time `acquire(None)` may take.
    #[serde(default = "default_acquire_timeout")]
    pub acquire_timeout: Nanos,
    /// Virtual idle time before `maintain` closes a connection.
    #[serde(default)]
    pub idle_timeout: Option<Nanos>,
    /// Virtual age at which a connection is closed.
    #[serde(default)]
    pub max_lifetime: Option<Nanos>,
    /// Whether checkout pings idle connections.
    #[serde(default)]
    pub test_on_checkout: bool,
}

fn default_acquire_timeout() -> Nanos {
    Nanos::SECOND
}

/// Largest `max-size` the brief promises learners.
pub const MAX_SIZE: u64 = 1024;
/// Longest real-time timeout a scenario may give: scenarios must stay quick.
pub const MAX_WAIT: Nanos = Nanos(30 * Nanos::SECOND.0);

impl Config {
    fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_SIZE).contains(&self.max_size) {
            return Err(format!("max-size = {} is out of range: use 1 to {MAX_SIZE}", self.max_size));
        }
        if self.min_idle > self.max_size {
            return Err(format!("min-idle = {} is above max-size = {}: use 0 to max-size", self.min_idle, self.max_size));
        }
        check_wait("acquire-timeout", self.acquire_timeout)?;
        for (key, value) in [("idle-timeout", self.idle_timeout), ("max-lifetime", self.max_lifetime)] {
            if value == Some(Nanos(0)) {
                return Err(format!("{key} = \"0s\": leave it out for \"never\", or give at least 1ns"));
            }
        }
        Ok(())
    }
}

fn check_wait(key: &str, wait: Nanos) -> Result<(), String> {
    if wait > MAX_WAIT {
        return Err(format!("{key} = \"{wait}\" is real waiting time: keep it at most {MAX_WAIT}"));
    }
    Ok(())
}

/// What a borrower does with a connection when it gives it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Release {
    /// Drops the guard normally.
    Normal,
    /// Drops the guard while its thread unwinds from a panic.
    Panicking,
}

/// What an `acquire` step expects back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcquireExpect {
    /// A connection.
    Ok,
    /// `PoolError::Timeout`.
    Timeout,
    /// `PoolError::Closed`.
    Closed,
    /// `PoolError::Factory`.
    Factory,
}

impl fmt::Display for AcquireExpect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AcquireExpect::Ok => "a connection",
            AcquireExpect::Timeout => "Err(PoolError::Timeout)",
            AcquireExpect::Closed => "Err(PoolError::Closed)",
            AcquireExpect::Factory => "Err(PoolError::Factory(..))",
        })
    }
}

/// Which connection an `acquire` step expects, when it expects one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Identity {
    /// The very connection an earlier step named (reuse).
    SameAs(String),
    /// A connection the factory opened during this call.
    Fresh,
}

/// `expect = { open = 2, in_use = 1 }` on a `stats` step: the named counters, spelled as the
/// learner's `PoolStats` fields; absent ones are not checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialStats {
    /// `open`.
    pub open: Option<u64>,
    /// `idle`.
    pub idle: Option<u64>,
    /// `in_use`.
    pub in_use: Option<u64>,
    /// `waiting`.
    pub waiting: Option<u64>,
    /// `created`.
    pub created: Option<u64>,
    /// `closed_broken`.
    pub closed_broken: Option<u64>,
    /// `closed_invalid`.
    pub closed_invalid: Option<u64>,
    /// `closed_lifetime`.
    pub closed_lifetime: Option<u64>,
    /// `closed_idle`.
    pub closed_idle: Option<u64>,
    /// `closed_shutdown`.
    pub closed_shutdown: Option<u64>,
    /// `timeouts`.
    pub timeouts: Option<u64>,
}

/// One line of a script. Every step runs on the scenario's one driving thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Virtual time to move the clock to first (never backwards). `None` keeps the clock.
    pub at: Option<Nanos>,
    /// What the step does.
    pub action: Action,
}

/// What one step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// `acquire(timeout)`, naming the connection `name` if one comes back.
    Acquire {
        /// The name later steps use for the connection.
        name: String,
        /// `None`: the config's `acquire_timeout`.
        timeout: Option<Nanos>,
        /// What must come back.
        expect: Option<AcquireExpect>,
        /// Which connection must come back.
        identity: Option<Identity>,
    },
    /// Drops the guard of connection `name`.
    Release {
        /// Which connection.
        name: String,
        /// How.
        how: Release,
    },
    /// The host marks connection `name` broken, as a failed query would.
    Break {
        /// Which connection.
        name: String,
    },
    /// Runs SQL on connection `name` (host side, through the lent connection).
    Query {
        /// Which connection.
        name: String,
        /// The statements.
        sql: String,
        /// Whether it must succeed.
        expect_ok: Option<bool>,
    },
    /// Changes how the factory behaves from now on.
    Factory {
        /// Every later `connect`.
        connect: Option<Behaviour>,
        /// Every later `ping`.
        ping: Option<Behaviour>,
    },
    /// `maintain()`.
    Maintain,
    /// `close()`.
    Close,
    /// `stats()`, checked against the named counters and against the host's own count.
    Stats {
        /// The counters to check.
        expect: PartialStats,
    },
}

impl Step {
    /// What the step does, as a learner would write it.
    pub fn describe(&self) -> String {
        self.action.describe()
    }
}

impl Action {
    /// The action, as a learner would write it.
    pub fn describe(&self) -> String {
        match self {
            Action::Acquire { name, timeout: Some(t), .. } => format!("let {name} = pool.acquire(Some({t}))"),
            Action::Acquire { name, timeout: None, .. } => format!("let {name} = pool.acquire(None)"),
            Action::Release { name, how: Release::Normal } => format!("drop({name})"),
            Action::Release { name, how: Release::Panicking } => {
                format!("a panic in the borrower's thread drops {name} while unwinding")
            }
            Action::Break { name } => format!("connection {name} breaks (the host marks it broken)"),
            Action::Query { name, sql, .. } => format!("{name} runs `{sql}`"),
            Action::Factory { connect, ping } => {
                let mut parts = Vec::new();
                if let Some(b) = connect {
                    parts.push(format!("connect: {b}"));
                }
                if let Some(b) = ping {
                    parts.push(format!("ping: {b}"));
                }
                format!("the factory changes ({})", parts.join(", "))
            }
            Action::Maintain => "pool.maintain()".to_owned(),
            Action::Close => "pool.close()".to_owned(),
            Action::Stats { .. } => "pool.stats()".to_owned(),
        }
    }
}

/// Programmatic checks: `check = { name = "chaos", threads = 8, … }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// deadpool's cancellation matrix: for every combination of connect, ping and return
    /// behaviour, `threads` threads acquire with random timeouts and return connections (some
    /// broken, some mid-panic). The host ledger must never see more than `max-size` connections
    /// open or opening, nor one lent twice; afterwards the stats must agree with the host.
    Chaos {
        /// Threads per combination (2 to 32).
        threads: u32,
        /// Acquires per thread per combination.
        ops: u32,
        /// Longest random timeout.
        max_timeout: Nanos,
    },
    /// `acquire(timeout)` on a full pool, with a hanging connect, and with a hanging ping then a
    /// hanging connect, must return `Timeout` between `timeout` and `timeout + tolerance` after
    /// the call.
    Deadline {
        /// The timeout given.
        timeout: Nanos,
        /// How late the answer may be.
        tolerance: Nanos,
    },
    /// `waiters` callers queue one after another on a full pool of one; each release must go to
    /// the one waiting longest.
    Fifo {
        /// Waiters (2 to 16).
        waiters: u32,
    },
    /// A waiter gives up; the next one must still get the connection released after it left
    /// (the first round), and when the release races its deadline (the other rounds).
    TimedOutWaiterSkipped {
        /// Rounds, each on a fresh pool.
        rounds: u32,
    },
    /// `threads` callers on `max-size` connections; the first `max-size` come back broken. Every
    /// caller must still get a connection (bb8 #167).
    BrokenWakesWaiters {
        /// Callers (more than max-size, up to 64).
        threads: u32,
    },
    /// The first connect fails slowly while a second caller waits for room; the second caller
    /// must then open its own connection (deadpool's `managed_deadlock`).
    FactoryFailureWakesWaiter,
    /// While one caller's connect stalls, others must still return, take and check connections.
    SlowConnectDoesNotBlock {
        /// How long the connect waits for the others before giving up.
        stall: Nanos,
    },
    /// `close()` with callers waiting, connections lent and connections idle.
    GracefulClose,
    /// `waiters` threads wait at once on a full pool of `max-size`; all must get through.
    ManyWaiters {
        /// Threads (up to 20,000).
        waiters: u32,
    },
    /// Acquire and release in a loop on the learner's pool and on the reference's, trials
    /// alternating; passes when the learner's median time is at most `max-ratio` times the
    /// reference's.
    Performance {
        /// Acquire+release pairs per thread per trial.
        ops: u32,
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
            Check::Chaos { .. }
            | Check::Deadline { .. }
            | Check::Fifo { .. }
            | Check::TimedOutWaiterSkipped { .. }
            | Check::BrokenWakesWaiters { .. }
            | Check::FactoryFailureWakesWaiter
            | Check::SlowConnectDoesNotBlock { .. }
            | Check::GracefulClose
            | Check::ManyWaiters { .. } => false,
        }
    }

    fn is_seeded(&self) -> bool {
        match self {
            Check::Chaos { .. } | Check::TimedOutWaiterSkipped { .. } => true,
            Check::Deadline { .. }
            | Check::Fifo { .. }
            | Check::BrokenWakesWaiters { .. }
            | Check::FactoryFailureWakesWaiter
            | Check::SlowConnectDoesNotBlock { .. }
            | Check::GracefulClose
            | Check::ManyWaiters { .. }
            | Check::Performance { .. } => false,
        }
    }
}

impl Check {
    fn validate(&self, config: &Config) -> Result<(), String> {
        let ok = match *self {
            Check::Chaos { threads, ops, max_timeout } => {
                (2..=32).contains(&threads) && ops > 0 && max_timeout > Nanos(0) && max_timeout <= MAX_WAIT
            }
            Check::Deadline { timeout, tolerance } => {
                config.max_size >= 2 && timeout > Nanos(0) && timeout <= MAX_WAIT && tolerance > Nanos(0)
            }
            Check::Fifo { waiters } => config.max_size == 1 && (2..=16).contains(&waiters),
            Check::TimedOutWaiterSkipped { rounds } => config.max_size == 1 && (1..=200).contains(&rounds),
            Check::BrokenWakesWaiters { threads } => threads as u64 > config.max_size && threads <= 64,
            Check::FactoryFailureWakesWaiter => config.max_size == 1,
            Check::SlowConnectDoesNotBlock { stall } => config.max_size >= 2 && stall > Nanos(0) && stall <= MAX_WAIT,
            Check::GracefulClose => config.max_size >= 2 && config.min_idle == 0,
            Check::ManyWaiters { waiters } => (1..=20_000).contains(&waiters),
            Check::Performance { ops, threads, trials, max_ratio } => {
                ops > 0 && (1..=8).contains(&threads) && trials > 0 && max_ratio >= 1.0
            }
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Check::Chaos { .. } => "chaos needs threads = 2..32, ops >= 1 and 0 < max-timeout <= 30s",
            Check::Deadline { .. } => "deadline needs max-size >= 2, 0 < timeout <= 30s and a tolerance above 0",
            Check::Fifo { .. } => "fifo needs max-size = 1 and waiters = 2..16",
            Check::TimedOutWaiterSkipped { .. } => "timed-out-waiter-skipped needs max-size = 1 and rounds = 1..200",
            Check::BrokenWakesWaiters { .. } => "broken-wakes-waiters needs more threads than max-size, at most 64",
            Check::FactoryFailureWakesWaiter => "factory-failure-wakes-waiter needs max-size = 1",
            Check::SlowConnectDoesNotBlock { .. } => "slow-connect-does-not-block needs max-size >= 2 and 0 < stall <= 30s",
            Check::GracefulClose => "graceful-close needs max-size >= 2 and min-idle = 0",
            Check::ManyWaiters { .. } => "many-waiters needs waiters = 1..20000",
            Check::Performance { .. } => "performance needs ops, trials >= 1, threads = 1..8 and max-ratio >= 1.0",
        }
        .to_owned())
    }
}

/// A step script or a check.
pub type Script = crate::scenario::Script<Step, Check>;

/// Everything the worker needs to run one pool scenario.
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
            Action::Acquire { name, identity, .. } => {
                if let Some(Identity::SameAs(other)) = identity {
                    if !named.contains(other) {
                        return Err(format!("same-as = {other:?} names no earlier acquire: name it with `as` first"));
                    }
                }
                named.insert(name.clone());
            }
            Action::Release { name, .. } | Action::Break { name } | Action::Query { name, .. } => {
                if !named.contains(name) {
                    return Err(format!("conn = {name:?} names no earlier acquire: acquire it with as = {name:?} first"));
                }
            }
            Action::Factory { .. } | Action::Maintain | Action::Close | Action::Stats { .. } => {}
        }
        Ok(step)
    };
    crate::scenario::parse_scenario(config, steps, check, Config::validate, parse_step, Check::validate)
}

/// The op vocabulary as authors write it.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
enum Op {
    Acquire {
        #[serde(rename = "as")]
        name: String,
        timeout: Option<Nanos>,
        expect: Option<AcquireExpect>,
        same_as: Option<String>,
        fresh: Option<bool>,
    },
    Release {
        conn: String,
    },
    Panic {
        conn: String,
    },
    Break {
        conn: String,
    },
    Query {
        conn: String,
        sql: String,
        expect: Option<QueryExpect>,
    },
    Factory {
        connect: Option<String>,
        ping: Option<String>,
    },
    Maintain {},
    Close {},
    Stats {
        expect: PartialStats,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum QueryExpect {
    Ok,
    Error,
}

fn parse_step(value: serde_json::Value) -> Result<Step, String> {
    let serde_json::Value::Object(mut table) = value else {
        return Err("a step must be a table such as { op = \"acquire\", as = \"a\", expect = \"ok\" }".to_owned());
    };
    let at = table.remove("at").map(serde_json::from_value::<Nanos>).transpose().map_err(|e| format!("at: {e}"))?;
    let op: Op = serde_json::from_value(serde_json::Value::Object(table)).map_err(|e| e.to_string())?;
    let behaviour = |b: Option<String>| b.map(|b| Behaviour::parse(&b)).transpose();
    let action = match op {
        Op::Acquire { name, timeout, expect, same_as, fresh } => {
            if let Some(t) = timeout {
                check_wait("timeout", t)?;
            }
            let identity = match (same_as, fresh) {
                (Some(_), Some(true)) => return Err("same-as and fresh = true contradict each other: keep one".into()),
                (Some(other), _) => Some(Identity::SameAs(other)),
                (None, Some(true)) => Some(Identity::Fresh),
                (None, Some(false) | None) => None,
            };
            if identity.is_some() && expect.is_some_and(|e| e != AcquireExpect::Ok) {
                return Err("same-as and fresh describe the connection returned: they need expect = \"ok\"".into());
            }
            Action::Acquire { name, timeout, expect, identity }
        }
        Op::Release { conn } => Action::Release { name: conn, how: Release::Normal },
        Op::Panic { conn } => Action::Release { name: conn, how: Release::Panicking },
        Op::Break { conn } => Action::Break { name: conn },
        Op::Query { conn, sql, expect } => {
            Action::Query { name: conn, sql, expect_ok: expect.map(|e| matches!(e, QueryExpect::Ok)) }
        }
        Op::Factory { connect, ping } => {
            if connect.is_none() && ping.is_none() {
                return Err("factory needs connect = \"...\" or ping = \"...\" (ok, fail, hang or \"slow 50ms\")".into());
            }
            Action::Factory { connect: behaviour(connect)?, ping: behaviour(ping)? }
        }
        Op::Maintain {} => Action::Maintain,
        Op::Close {} => Action::Close,
        Op::Stats { expect } => Action::Stats { expect },
    };
    Ok(Step { at, action })
}
