//! The worker side: builds the learner's runner through its exported table and drives it through
//! one scenario on a fresh database file, reading the file with the grader's own connection
//! after every call, beside a correct runner's file. It decides nothing.

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use challenge_harness::ffi::{
    MigrateErrorC, MigrationC, MigrationRunnerTable, MigrationsC, MigratorConfigC, OutcomeSinkC, Status, Str,
    LIST_APPLIED, LIST_FAILED, LIST_MISMATCHED, LIST_MISSING, LIST_PENDING, LIST_RESULT, MIGRATE_CHECKSUM_MISMATCH,
    MIGRATE_DATABASE, MIGRATE_DATABASE_AHEAD, MIGRATE_DIRTY, MIGRATE_DUPLICATE_VERSION, MIGRATE_FAILED, MIGRATE_LOCKED,
    MIGRATE_MISSING_DOWN, MIGRATE_MISSING_MIGRATION, MIGRATE_OUT_OF_ORDER, STATUS_OK, STATUS_PANIC,
};

use super::database::{self, Model};
use super::observation::{Observation, Outcome, ReturnedError, StatusLists};
use super::race;
use super::script::{Action, Config, MigrationSpec, Scenario, Script, Step};
use crate::host::{Host, EPOCH};

/// A runner living inside a plugin.
pub struct Runner {
    table: &'static MigrationRunnerTable,
    host: &'static Host,
    this: *mut c_void,
}

// SAFETY: the learner's type is `Send + Sync` (the trait demands it, checked when the plugin was
// compiled), and the table's functions only borrow it.
unsafe impl Send for Runner {}
unsafe impl Sync for Runner {}

/// One call's outcome as the sink collects it.
#[derive(Default)]
struct Collected {
    lists: [Vec<u64>; 6],
    error: Option<ReturnedError>,
}

extern "C" fn push_version(ctx: *mut c_void, list: u32, version: u64) {
    // SAFETY: ctx is the `Collected` the caller lent for this call.
    let out = unsafe { &mut *ctx.cast::<Collected>() };
    if let Some(list) = out.lists.get_mut(list as usize) {
        list.push(version);
    }
}

extern "C" fn push_error(ctx: *mut c_void, e: &MigrateErrorC) {
    // SAFETY: as in `push_version`; the strings are borrowed for this callback and copied here.
    let out = unsafe { &mut *ctx.cast::<Collected>() };
    let (first, second) = unsafe { (e.first.as_str().to_owned(), e.second.as_str().to_owned()) };
    out.error = Some(match e.kind {
        MIGRATE_DUPLICATE_VERSION => ReturnedError::DuplicateVersion(e.version),
        MIGRATE_DIRTY => ReturnedError::Dirty(e.version),
        MIGRATE_DATABASE_AHEAD => ReturnedError::DatabaseAhead { applied: e.version, latest: e.other },
        MIGRATE_MISSING_MIGRATION => ReturnedError::MissingMigration(e.version),
        MIGRATE_CHECKSUM_MISMATCH => ReturnedError::ChecksumMismatch { version: e.version, applied: first, local: second },
        MIGRATE_OUT_OF_ORDER => ReturnedError::OutOfOrder { version: e.version, applied: e.other },
        MIGRATE_MISSING_DOWN => ReturnedError::MissingDown(e.version),
        MIGRATE_FAILED => ReturnedError::Failed { version: e.version, message: first },
        MIGRATE_LOCKED => ReturnedError::Locked,
        MIGRATE_DATABASE => ReturnedError::Database(first),
        other => ReturnedError::Unknown(other),
    });
}

fn failed(status: Status) -> String {
    match status {
        STATUS_PANIC => Host::take_panic(),
        other => format!("the call returned unknown status {other}"),
    }
}

/// The code's migrations, borrowed for one call.
struct Borrowed<'a> {
    db: String,
    list: Vec<MigrationC>,
    _code: &'a [MigrationSpec],
}

impl<'a> Borrowed<'a> {
    fn new(db: &Path, code: &'a [MigrationSpec]) -> Borrowed<'a> {
        let list = code
            .iter()
            .map(|m| MigrationC {
                version: m.version,
                name: Str::new(&m.name),
                up: Str::new(&m.up),
                has_down: m.down.is_some(),
                down: Str::new(m.down.as_deref().unwrap_or("")),
                no_transaction: m.no_transaction,
            })
            .collect();
        Borrowed { db: db.to_string_lossy().into_owned(), list, _code: code }
    }

    fn migrations(&self) -> MigrationsC {
        MigrationsC { ptr: self.list.as_ptr(), len: self.list.len() }
    }
}

impl Runner {
    /// Calls the plugin's `create`; `Err` carries the panic message.
    pub fn new(table: &'static MigrationRunnerTable, host: &'static Host, config: &Config) -> Result<Runner, String> {
        let c = MigratorConfigC { allow_out_of_order: config.allow_out_of_order, busy_timeout_nanos: config.busy_timeout.0 };
        let mut this = std::ptr::null_mut();
        match (table.create)(host.api(), c, &mut this) {
            STATUS_OK => Ok(Runner { table, host, this }),
            other => Err(failed(other)),
        }
    }

    /// One call through `call`, its sink collected into an outcome; `Err` is a panic.
    fn call(&self, db: &Path, code: &[MigrationSpec], call: impl FnOnce(&Str, MigrationsC, OutcomeSinkC) -> Status) -> Result<Collected, String> {
        let borrowed = Borrowed::new(db, code);
        let mut out = Collected::default();
        let sink = OutcomeSinkC { ctx: (&mut out as *mut Collected).cast(), version: push_version, error: push_error };
        match call(&Str::new(&borrowed.db), borrowed.migrations(), sink) {
            STATUS_OK => Ok(out),
            other => Err(failed(other)),
        }
    }

    fn versions(collected: Collected) -> Outcome {
        match collected.error {
            Some(error) => Outcome::Error(error),
            None => Outcome::Versions(collected.lists[LIST_RESULT as usize].clone()),
        }
    }

    /// `migrate(db, code, target)`.
    pub fn migrate(&self, db: &Path, code: &[MigrationSpec], target: Option<u64>) -> Result<Outcome, String> {
        let (api, this) = (self.host.api(), self.this);
        let (has, t) = (target.is_some(), target.unwrap_or(0));
        self.call(db, code, |db, m, sink| (self.table.migrate)(api, this, *db, m, has, t, sink)).map(Runner::versions)
    }

    /// `rollback(db, code, to)`.
    pub fn rollback(&self, db: &Path, code: &[MigrationSpec], to: u64) -> Result<Outcome, String> {
        let (api, this) = (self.host.api(), self.this);
        self.call(db, code, |db, m, sink| (self.table.rollback)(api, this, *db, m, to, sink)).map(Runner::versions)
    }

    /// `repair(db, code)`.
    pub fn repair(&self, db: &Path, code: &[MigrationSpec]) -> Result<Outcome, String> {
        let (api, this) = (self.host.api(), self.this);
        self.call(db, code, |db, m, sink| (self.table.repair)(api, this, *db, m, sink)).map(Runner::versions)
    }

    /// `status(db, code)`.
    pub fn status(&self, db: &Path, code: &[MigrationSpec]) -> Result<Outcome, String> {
        let (api, this) = (self.host.api(), self.this);
        let collected = self.call(db, code, |db, m, sink| (self.table.status)(api, this, *db, m, sink))?;
        if let Some(error) = collected.error {
            return Ok(Outcome::Error(error));
        }
        let list = |i: u32| collected.lists[i as usize].clone();
        Ok(Outcome::Status(StatusLists {
            applied: list(LIST_APPLIED),
            pending: list(LIST_PENDING),
            mismatched: list(LIST_MISMATCHED),
            missing: list(LIST_MISSING),
            failed: list(LIST_FAILED),
        }))
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        // A panicking destructor was reported to the host; the scenario's verdict is already out.
        let _ = (self.table.destroy)(self.host.api(), self.this);
    }
}

/// A private directory for one scenario's database files, removed when the scenario ends.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A new empty directory in memory (`/dev/shm`) where there is one, so that timings measure
    /// the runner's work and not the disk's fsyncs; else under the system's temporary directory.
    pub fn new() -> Result<Scratch, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        let dir = base.join(format!("challenge-migrations-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("the grader could not create {}: {e}", dir.display()))?;
        Ok(Scratch { dir })
    }

    /// A path for a database file named `name` in it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `scenario` against `learner` (and `reference` for checks that compare), sending each
/// observation to `emit`. `Err` is a panic in the learner's constructor, or a grader problem.
pub fn drive(
    learner: &'static MigrationRunnerTable,
    reference: Option<&'static MigrationRunnerTable>,
    host: &'static Host,
    scenario: &Scenario,
    _seed: u64,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    let scratch = Scratch::new()?;
    match &scenario.script {
        Script::Steps(steps) => {
            let runner = Runner::new(learner, host, &scenario.config)?;
            run_steps(&runner, host, &scratch, steps, emit)
        }
        Script::Check(check) => race::run(learner, reference, host, &scenario.config, check, &scratch, emit),
    }
}

fn run_steps(runner: &Runner, host: &Host, scratch: &Scratch, steps: &[Step], emit: &mut dyn FnMut(Observation)) -> Result<(), String> {
    let db = scratch.file("learner.db");
    let model = Model::create(&scratch.file("model.db"))?;
    for (index, step) in steps.iter().enumerate() {
        if let Some(at) = step.at {
            host.set_time(at);
        }
        emit(Observation::StepStarted { index, at: host.time() });
        let before = database::bytes(&db);
        let result = match &step.action {
            Action::Code { .. } => Ok(Outcome::Nothing),
            Action::Migrate { code, target, .. } => runner.migrate(&db, code, *target),
            Action::Rollback { code, to, .. } => runner.rollback(&db, code, *to),
            Action::Status { code, .. } => runner.status(&db, code),
            Action::Repair { code, .. } => runner.repair(&db, code),
        };
        let outcome = result.unwrap_or_else(|message| Outcome::Panic { message });
        let stop = matches!(outcome, Outcome::Panic { .. });
        let model_problem = model.replay(&step.action, EPOCH + host.time().0).err();
        emit(Observation::Step {
            index,
            at: host.time(),
            unchanged: database::bytes(&db) == before,
            learner: database::inspect(&db),
            model: model.inspect(),
            outcome,
            model_problem,
        });
        if stop {
            break;
        }
    }
    Ok(())
}
