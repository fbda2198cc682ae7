//! What the worker saw: each call's result, and what the database file held afterwards, read
//! with the grader's own SQLite connection, beside what a correct runner's file holds. Plain
//! data, streamed to the parent, which alone decides the verdict.

use serde::{Deserialize, Serialize};

use crate::Nanos;

/// A `MigrateError` as it came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnedError {
    /// `DuplicateVersion(v)`.
    DuplicateVersion(u64),
    /// `Dirty(v)`.
    Dirty(u64),
    /// `DatabaseAhead { applied, latest }`.
    DatabaseAhead {
        /// `applied`.
        applied: u64,
        /// `latest`.
        latest: u64,
    },
    /// `MissingMigration(v)`.
    MissingMigration(u64),
    /// `ChecksumMismatch { version, applied, local }`.
    ChecksumMismatch {
        /// `version`.
        version: u64,
        /// `applied`.
        applied: String,
        /// `local`.
        local: String,
    },
    /// `OutOfOrder { version, applied }`.
    OutOfOrder {
        /// `version`.
        version: u64,
        /// `applied`.
        applied: u64,
    },
    /// `MissingDown(v)`.
    MissingDown(u64),
    /// `Failed { version, message }`.
    Failed {
        /// `version`.
        version: u64,
        /// `message`.
        message: String,
    },
    /// `Locked`.
    Locked,
    /// `Database(message)`.
    Database(String),
    /// An error kind this grader does not know (a newer or broken plugin).
    Unknown(u32),
}

impl ReturnedError {
    /// As the learner's code would print it with `{:?}`, checksums shortened.
    pub fn describe(&self) -> String {
        let short = |s: &str| if s.len() > 12 { format!("\"{}…\"", &s[..12]) } else { format!("{s:?}") };
        match self {
            ReturnedError::DuplicateVersion(v) => format!("DuplicateVersion({v})"),
            ReturnedError::Dirty(v) => format!("Dirty({v})"),
            ReturnedError::DatabaseAhead { applied, latest } => format!("DatabaseAhead {{ applied: {applied}, latest: {latest} }}"),
            ReturnedError::MissingMigration(v) => format!("MissingMigration({v})"),
            ReturnedError::ChecksumMismatch { version, applied, local } => {
                format!("ChecksumMismatch {{ version: {version}, applied: {}, local: {} }}", short(applied), short(local))
            }
            ReturnedError::OutOfOrder { version, applied } => format!("OutOfOrder {{ version: {version}, applied: {applied} }}"),
            ReturnedError::MissingDown(v) => format!("MissingDown({v})"),
            ReturnedError::Failed { version, message } => format!("Failed {{ version: {version}, message: {message:?} }}"),
            ReturnedError::Locked => "Locked".to_owned(),
            ReturnedError::Database(message) => format!("Database({message:?})"),
            ReturnedError::Unknown(kind) => format!("an unknown error kind {kind}"),
        }
    }
}

/// `status()`'s lists, as they came back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusLists {
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

/// What one call returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A `code` step: no call.
    Nothing,
    /// `Ok(versions)` from `migrate`, `rollback` or `repair`.
    Versions(Vec<u64>),
    /// `Ok(status)`.
    Status(StatusLists),
    /// `Err(error)`.
    Error(ReturnedError),
    /// The learner's code panicked.
    Panic {
        /// The panic message.
        message: String,
    },
}

impl Outcome {
    /// As the learner's code would print it.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Nothing => "nothing".to_owned(),
            Outcome::Versions(v) => format!("Ok({v:?})"),
            Outcome::Status(s) => format!(
                "Ok(MigrationStatus {{ applied: {:?}, pending: {:?}, mismatched: {:?}, missing: {:?}, failed: {:?} }})",
                s.applied, s.pending, s.mismatched, s.missing, s.failed
            ),
            Outcome::Error(e) => format!("Err({})", e.describe()),
            Outcome::Panic { message } => format!("a panic: {message}"),
        }
    }
}

/// One row of `_challenge_migrations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// `version`.
    pub version: i64,
    /// `name`.
    pub name: String,
    /// `checksum`.
    pub checksum: String,
    /// `applied_at`, as stored: the clock's reading, which is `EPOCH` at scenario time 0.
    pub applied_at: i64,
    /// `execution_nanos`.
    pub execution_nanos: i64,
    /// `success`.
    pub success: i64,
}

impl HistoryRow {
    /// One line, for a diff.
    pub fn describe(&self) -> String {
        // The clock reads EPOCH at scenario time 0; anything before it is not a clock reading.
        let at = u64::try_from(self.applied_at)
            .ok()
            .and_then(|raw| raw.checked_sub(crate::host::EPOCH))
            .map_or_else(|| format!("{} (not a clock reading)", self.applied_at), |t| format!("t={}", Nanos(t)));
        format!(
            "version {} · name {:?} · checksum {} · applied_at {at} · execution_nanos {} · success {}",
            self.version, self.name, self.checksum, self.execution_nanos, self.success
        )
    }
}

/// A database file as the grader's connection read it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    /// Every schema object but the history table and its indexes, one normalised line each,
    /// sorted: `table users: CREATE TABLE users(id INTEGER PRIMARY KEY)`.
    pub schema: Vec<String>,
    /// Every row of every table but the history, one line each, sorted: `users: (1, 'ann')`.
    pub data: Vec<String>,
    /// The history rows by version; empty when there is no history table.
    pub history: Vec<HistoryRow>,
    /// Why the file could not be read as the brief says (the history table's columns, say).
    pub problem: Option<String>,
}

/// What one racing round saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// What each runner's `migrate` returned, by runner.
    pub results: Vec<Outcome>,
    /// `(version, times logged)` for every version the migrations logged, ascending.
    pub logged: Vec<(u64, u64)>,
    /// The history rows afterwards.
    pub history: Vec<HistoryRow>,
    /// A migrate afterwards, which must find nothing to do.
    pub after: Outcome,
    /// Why the file could not be read.
    pub problem: Option<String>,
}

/// One observation record from a migrations scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// A script step is about to run.
    StepStarted {
        /// 0-based step index.
        index: usize,
        /// Scenario time when it starts.
        at: Nanos,
    },
    /// A script step finished.
    Step {
        /// 0-based step index.
        index: usize,
        /// Scenario time when it ran.
        at: Nanos,
        /// What came back.
        outcome: Outcome,
        /// The learner's file afterwards.
        learner: Inspection,
        /// A correct runner's file afterwards, given the expected result.
        model: Inspection,
        /// Whether the learner's file is byte-for-byte what it was before the call.
        unchanged: bool,
        /// The grader could not replay the expected result on its own file: a spec problem.
        model_problem: Option<String>,
    },
    /// A check is about to do something that may block: names it for a timeout's report.
    Phase {
        /// What, in a learner's words.
        what: String,
    },
    /// `concurrent-runners`: every round.
    Race {
        /// The rounds run.
        rounds: Vec<Round>,
    },
    /// `performance`: per-trial wall times.
    Timing {
        /// The learner's apply trials, in nanoseconds.
        apply_learner: Vec<u64>,
        /// The reference's apply trials.
        apply_reference: Vec<u64>,
        /// The learner's validate trials.
        validate_learner: Vec<u64>,
        /// The reference's validate trials.
        validate_reference: Vec<u64>,
        /// A wrong result from the learner's runner.
        problem: Option<String>,
        /// A panic in the learner's runner.
        panic: Option<String>,
    },
}

crate::scenario::progress!(Observation, phase);
