//! What a challenge author writes for a migration-runner scenario: the runner's config with the
//! scenario's library of migrations, and either a script of steps (which migrations the code has
//! now, and one runner call each, with its expected result) or a named check (racing runners,
//! performance).
//!
//! A script names migrations by key; the parse resolves every call's migrations up front, so
//! the worker hands each call the exact list the author meant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scenario::CheckKind;
use crate::{Nanos, SpecProblem};

/// One migration in a scenario's library:
///
/// ```toml
/// [[scenario.config.migration]]
/// version = 2
/// key = "2-edited"          # optional; defaults to the version
/// name = "posts"
/// up = "CREATE TABLE posts(id INTEGER PRIMARY KEY);"
/// down = "DROP TABLE posts;"
/// no-transaction = false
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MigrationSpec {
    /// What `code` steps call it; the version, written out, when absent.
    pub key: Option<String>,
    /// Its version.
    pub version: u64,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its up SQL.
    pub up: String,
    /// Its down SQL.
    pub down: Option<String>,
    /// Whether it runs outside a transaction.
    #[serde(default)]
    pub no_transaction: bool,
}

impl MigrationSpec {
    /// The key steps name it by.
    pub fn key(&self) -> String {
        self.key.clone().unwrap_or_else(|| self.version.to_string())
    }
}

/// The runner the scenario builds, and its migrations:
/// `[scenario.config]` with `allow-out-of-order`, `busy-timeout` and `[[scenario.config.migration]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// `MigratorConfig::allow_out_of_order`.
    #[serde(default)]
    pub allow_out_of_order: bool,
    /// `MigratorConfig::busy_timeout` (real time).
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout: Nanos,
    /// The migrations steps can put in the code.
    #[serde(default)]
    pub migration: Vec<MigrationSpec>,
}

fn default_busy_timeout() -> Nanos {
    Nanos(5 * Nanos::SECOND.0)
}

impl Config {
    fn validate(&self) -> Result<(), String> {
        let mut keys = BTreeMap::new();
        for m in &self.migration {
            if let Some(earlier) = keys.insert(m.key(), m.version) {
                return Err(format!(
                    "two migrations have key {:?} (versions {earlier} and {}): give one of them key = \"{}-b\"",
                    m.key(),
                    m.version,
                    m.version
                ));
            }
        }
        if self.busy_timeout > Nanos(30 * Nanos::SECOND.0) {
            return Err(format!("busy-timeout = \"{}\" is over 30s: a scenario must finish quickly", self.busy_timeout));
        }
        Ok(())
    }
}

/// An expected error, as authors write it: `{ error = "checksum-mismatch", version = 2 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorExpect {
    /// `DuplicateVersion(version)`.
    DuplicateVersion(u64),
    /// `Dirty(version)`.
    Dirty(u64),
    /// `DatabaseAhead { applied, latest }`.
    DatabaseAhead {
        /// The highest applied version.
        applied: u64,
        /// The code's highest.
        latest: u64,
    },
    /// `MissingMigration(version)`.
    MissingMigration(u64),
    /// `ChecksumMismatch { version, .. }`; the checksums are the grader's own.
    ChecksumMismatch(u64),
    /// `OutOfOrder { version, applied }`.
    OutOfOrder {
        /// The pending version.
        version: u64,
        /// The highest applied version.
        applied: u64,
    },
    /// `MissingDown(version)`.
    MissingDown(u64),
    /// `Failed { version, .. }`.
    Failed(u64),
    /// `Locked`.
    Locked,
}

impl ErrorExpect {
    /// Whether a runner that returns it must have left the file byte-for-byte as it was.
    pub fn changes_nothing(self) -> bool {
        !matches!(self, ErrorExpect::Failed(_) | ErrorExpect::Locked)
    }
}

/// What a `migrate`, `rollback` or `repair` step must return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// `Ok(versions)`, in this order.
    Versions(Vec<u64>),
    /// `Err(..)`.
    Error(ErrorExpect),
}

impl Expect {
    /// Whether the file must be byte-for-byte what it was after the call.
    pub fn changes_nothing(&self) -> bool {
        match self {
            Expect::Versions(v) => v.is_empty(),
            Expect::Error(e) => e.changes_nothing(),
        }
    }
}

/// `status()`'s five lists; an absent list must be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusExpect {
    /// `applied`.
    pub applied: Vec<u64>,
    /// `pending`.
    pub pending: Vec<u64>,
    /// `mismatched`.
    pub mismatched: Vec<u64>,
    /// `missing`.
    pub missing: Vec<u64>,
    /// `failed`.
    pub failed: Vec<u64>,
}

impl StatusExpect {
    /// `(name, list)` for each list, in the trait's order.
    pub fn lists(&self) -> [(&'static str, &[u64]); 5] {
        [
            ("applied", &self.applied),
            ("pending", &self.pending),
            ("mismatched", &self.mismatched),
            ("missing", &self.missing),
            ("failed", &self.failed),
        ]
    }
}

/// One line of a script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Scenario time to move the clock to first (never backwards). `None` keeps the clock.
    pub at: Option<Nanos>,
    /// What the step does.
    pub action: Action,
}

/// What one step does. Every call carries the code's migrations at that point, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// From here on the code has these migrations (by key), in this order.
    Code {
        /// The keys, as written.
        keys: Vec<String>,
    },
    /// `migrate(db, code, target)`.
    Migrate {
        /// The code's migrations.
        code: Vec<MigrationSpec>,
        /// `target`.
        target: Option<u64>,
        /// What must come back.
        expect: Expect,
    },
    /// `rollback(db, code, to)`.
    Rollback {
        /// The code's migrations.
        code: Vec<MigrationSpec>,
        /// `to`.
        to: u64,
        /// What must come back.
        expect: Expect,
    },
    /// `status(db, code)`.
    Status {
        /// The code's migrations.
        code: Vec<MigrationSpec>,
        /// What must come back.
        expect: StatusExpect,
    },
    /// `repair(db, code)`.
    Repair {
        /// The code's migrations.
        code: Vec<MigrationSpec>,
        /// What must come back.
        expect: Expect,
    },
}

impl Action {
    /// The action, as a learner would write it.
    pub fn describe(&self) -> String {
        match self {
            Action::Code { keys } => format!("the code now has migrations {}", keys.join(", ")),
            Action::Migrate { target: None, code, .. } => format!("runner.migrate(db, {}, None)", versions(code)),
            Action::Migrate { target: Some(t), code, .. } => format!("runner.migrate(db, {}, Some({t}))", versions(code)),
            Action::Rollback { to, code, .. } => format!("runner.rollback(db, {}, {to})", versions(code)),
            Action::Status { code, .. } => format!("runner.status(db, {})", versions(code)),
            Action::Repair { code, .. } => format!("runner.repair(db, {})", versions(code)),
        }
    }

    /// The code's migrations for a runner call.
    pub fn code(&self) -> Option<&[MigrationSpec]> {
        match self {
            Action::Code { .. } => None,
            Action::Migrate { code, .. }
            | Action::Rollback { code, .. }
            | Action::Status { code, .. }
            | Action::Repair { code, .. } => Some(code),
        }
    }
}

/// `[v1, v2, ...]`: the versions of the code, in the order it passes them.
fn versions(code: &[MigrationSpec]) -> String {
    let listed: Vec<String> = code.iter().map(|m| format!("v{}", m.version)).collect();
    format!("&[{}]", listed.join(", "))
}

/// Programmatic checks: `check = { name = "concurrent-runners", runners = 2, migrations = 30, rounds = 5 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// `runners` runner instances, one thread each, migrate one fresh file at once, `rounds`
    /// times: each of `migrations` generated migrations must be applied exactly once (its
    /// version logged once, one history row), every call must succeed or return `Locked`, and
    /// a migrate afterwards must find nothing to do.
    ConcurrentRunners {
        /// Threads, each with its own runner (2 to 8).
        runners: u32,
        /// Generated migrations.
        migrations: u32,
        /// Fresh files raced on.
        rounds: u32,
    },
    /// `migrations` trivial migrations applied to a fresh file, then validated by ten more
    /// migrates, on the learner's runner and the reference's, trials alternating; passes when the
    /// learner's median time for each is at most `max-ratio` times the reference's.
    Performance {
        /// Generated migrations.
        migrations: u32,
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
            Check::ConcurrentRunners { .. } => false,
        }
    }

    fn is_seeded(&self) -> bool {
        false
    }
}

impl Check {
    fn validate(&self, _: &Config) -> Result<(), String> {
        match *self {
            Check::ConcurrentRunners { runners, migrations, rounds } => {
                if !(2..=8).contains(&runners) || !(1..=1000).contains(&migrations) || !(1..=100).contains(&rounds) {
                    return Err("concurrent-runners needs runners = 2..8, migrations = 1..1000 and rounds = 1..100".to_owned());
                }
            }
            Check::Performance { migrations, trials, max_ratio } => {
                if !(1..=10_000).contains(&migrations) || trials == 0 || max_ratio < 1.0 {
                    return Err("performance needs migrations = 1..10000, trials >= 1 and max-ratio >= 1.0".to_owned());
                }
            }
        }
        Ok(())
    }
}

/// A step script or a check.
pub type Script = crate::scenario::Script<Step, Check>;

/// Everything the worker needs to run one migrations scenario.
pub type Scenario = crate::scenario::Scenario<Config, Step, Check>;

/// Parses one scenario's system-specific parts. Exactly one of `steps` and `check` is given.
pub fn parse(
    config: serde_json::Value,
    steps: Option<Vec<serde_json::Value>>,
    check: Option<serde_json::Value>,
) -> Result<Scenario, SpecProblem> {
    let mut now = Nanos(0);
    let mut code: Vec<MigrationSpec> = Vec::new();
    let parse_step = |value, config: &Config| {
        let step = parse_step(value, config, &mut code)?;
        crate::scenario::advance(&mut now, step.at)?;
        Ok(step)
    };
    crate::scenario::parse_scenario(config, steps, check, Config::validate, parse_step, Check::validate)
}


#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ErrorOp {
    error: ErrorName,
    version: Option<u64>,
    applied: Option<u64>,
    latest: Option<u64>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ErrorName {
    DuplicateVersion,
    Dirty,
    DatabaseAhead,
    MissingMigration,
    ChecksumMismatch,
    OutOfOrder,
    MissingDown,
    Failed,
    Locked,
}

impl ErrorOp {
    fn resolve(self) -> Result<ErrorExpect, String> {
        let ErrorOp { error, version, applied, latest } = self;
        let only_version = |make: fn(u64) -> ErrorExpect, name: &str| match (version, applied, latest) {
            (Some(v), None, None) => Ok(make(v)),
            _ => Err(format!("error = \"{name}\" takes exactly version = N")),
        };
        match error {
            ErrorName::DuplicateVersion => only_version(ErrorExpect::DuplicateVersion, "duplicate-version"),
            ErrorName::Dirty => only_version(ErrorExpect::Dirty, "dirty"),
            ErrorName::MissingMigration => only_version(ErrorExpect::MissingMigration, "missing-migration"),
            ErrorName::ChecksumMismatch => only_version(ErrorExpect::ChecksumMismatch, "checksum-mismatch"),
            ErrorName::MissingDown => only_version(ErrorExpect::MissingDown, "missing-down"),
            ErrorName::Failed => only_version(ErrorExpect::Failed, "failed"),
            ErrorName::DatabaseAhead => match (version, applied, latest) {
                (None, Some(applied), Some(latest)) => Ok(ErrorExpect::DatabaseAhead { applied, latest }),
                _ => Err("error = \"database-ahead\" takes applied = N and latest = M".to_owned()),
            },
            ErrorName::OutOfOrder => match (version, applied, latest) {
                (Some(version), Some(applied), None) => Ok(ErrorExpect::OutOfOrder { version, applied }),
                _ => Err("error = \"out-of-order\" takes version = N and applied = M".to_owned()),
            },
            ErrorName::Locked => match (version, applied, latest) {
                (None, None, None) => Ok(ErrorExpect::Locked),
                _ => Err("error = \"locked\" takes no numbers".to_owned()),
            },
        }
    }
}

/// `expect = [1, 2]` (the versions returned) or `expect = { error = "dirty", version = 3 }`,
/// told apart by shape so that a mistake in either gets its own message.
fn parse_expect(value: serde_json::Value) -> Result<Expect, String> {
    match value {
        serde_json::Value::Array(_) => serde_json::from_value(value)
            .map(Expect::Versions)
            .map_err(|e| format!("expect: {e} (a list of versions, such as [1, 2])")),
        serde_json::Value::Object(_) => serde_json::from_value::<ErrorOp>(value)
            .map_err(|e| format!("expect: {e}"))
            .and_then(ErrorOp::resolve)
            .map(Expect::Error),
        other => Err(format!(
            "expect = {other} is neither a list of versions such as [1, 2] nor an error such as {{ error = \"dirty\", version = 3 }}"
        )),
    }
}

/// The op vocabulary as authors write it.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
enum Op {
    Code { migrations: Vec<String> },
    Migrate { target: Option<u64>, expect: serde_json::Value },
    Rollback { to: u64, expect: serde_json::Value },
    Status { expect: StatusExpect },
    Repair { expect: serde_json::Value },
}

fn parse_step(value: serde_json::Value, config: &Config, code: &mut Vec<MigrationSpec>) -> Result<Step, String> {
    let serde_json::Value::Object(mut table) = value else {
        return Err("a step must be a table such as { op = \"migrate\", expect = [1, 2] }".to_owned());
    };
    let at = table.remove("at").map(serde_json::from_value::<Nanos>).transpose().map_err(|e| format!("at: {e}"))?;
    let op: Op = serde_json::from_value(serde_json::Value::Object(table)).map_err(|e| e.to_string())?;
    let action = match op {
        Op::Code { migrations } => {
            *code = migrations
                .iter()
                .map(|key| {
                    config.migration.iter().find(|m| m.key() == *key).cloned().ok_or_else(|| {
                        let known: Vec<String> = config.migration.iter().map(|m| format!("{:?}", m.key())).collect();
                        format!(
                            "migrations names {key:?}, which is not in this scenario's [[scenario.config.migration]] (keys: {})",
                            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            Action::Code { keys: migrations }
        }
        Op::Migrate { target, expect } => Action::Migrate { code: code.clone(), target, expect: parse_expect(expect)? },
        Op::Rollback { to, expect } => Action::Rollback { code: code.clone(), to, expect: parse_expect(expect)? },
        Op::Status { expect } => Action::Status { code: code.clone(), expect },
        Op::Repair { expect } => Action::Repair { code: code.clone(), expect: parse_expect(expect)? },
    };
    Ok(Step { at, action })
}
