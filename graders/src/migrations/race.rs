//! The checks no script can express: runners racing on one file from several threads, and the
//! timed comparison with the reference. Each uses generated migrations, one table each, that
//! log their version as they run, so a migration applied twice shows in the data, not only in
//! the history.

use std::sync::Barrier;

use challenge_harness::ffi::MigrationRunnerTable;
use rusqlite::Connection;

use super::database;
use super::driver::{Runner, Scratch};
use super::observation::{Observation, Outcome, Round};
use super::script::{Check, Config, MigrationSpec};
use crate::host::{monotonic_nanos, Host};

/// `count` migrations: version 1 creates the log table; each creates its own table and logs
/// its version.
pub fn generated(count: u32) -> Vec<MigrationSpec> {
    (1..=u64::from(count))
        .map(|v| {
            let log = if v == 1 { "CREATE TABLE applied_log(version INTEGER NOT NULL);\n" } else { "" };
            MigrationSpec {
                key: None,
                version: v,
                name: format!("create t{v}"),
                up: format!("{log}CREATE TABLE t{v}(id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO applied_log(version) VALUES ({v});"),
                down: Some(format!("DROP TABLE t{v};")),
                no_transaction: false,
            }
        })
        .collect()
}

/// Validating calls timed together in one performance trial.
const VALIDATIONS: usize = 10;

/// `count` trivial migrations, one table each, nothing logged: the performance workload.
fn trivial(count: u32) -> Vec<MigrationSpec> {
    (1..=u64::from(count))
        .map(|v| MigrationSpec {
            key: None,
            version: v,
            name: format!("t{v}"),
            up: format!("CREATE TABLE t{v}(id INTEGER PRIMARY KEY, v TEXT);"),
            down: None,
            no_transaction: false,
        })
        .collect()
}

fn logged(path: &std::path::Path) -> Result<Vec<(u64, u64)>, String> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT version, count(*) FROM applied_log GROUP BY version ORDER BY version")
        .map_err(|e| e.to_string())?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)));
    rows.and_then(|rows| rows.collect()).map_err(|e| e.to_string())
}

/// Runs `check`, emitting its one summarising observation.
pub fn run(
    learner: &'static MigrationRunnerTable,
    reference: Option<&'static MigrationRunnerTable>,
    host: &'static Host,
    config: &Config,
    check: &Check,
    scratch: &Scratch,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    match *check {
        Check::ConcurrentRunners { runners, migrations, rounds } => {
            let code = generated(migrations);
            let mut done = Vec::new();
            for round in 0..rounds {
                emit(Observation::Phase { what: format!("round {} of {rounds}: {runners} runners migrating one file at once", round + 1) });
                let db = scratch.file(&format!("race-{round}.db"));
                let instances: Vec<Runner> =
                    (0..runners).map(|_| Runner::new(learner, host, config)).collect::<Result<_, _>>()?;
                let start = Barrier::new(instances.len());
                let results: Vec<Outcome> = std::thread::scope(|s| {
                    let handles: Vec<_> = instances
                        .iter()
                        .map(|runner| {
                            let (start, db, code) = (&start, &db, &code);
                            s.spawn(move || {
                                start.wait();
                                runner.migrate(db, code, None).unwrap_or_else(|message| Outcome::Panic { message })
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|_| Outcome::Panic { message: "a runner thread died".to_owned() }))
                        .collect()
                });
                let panicked = results.iter().any(|r| matches!(r, Outcome::Panic { .. }));
                let after = if panicked {
                    Outcome::Nothing
                } else {
                    instances[0].migrate(&db, &code, None).unwrap_or_else(|message| Outcome::Panic { message })
                };
                drop(instances);
                let inspection = database::inspect(&db);
                let (logged, problem) = match logged(&db) {
                    Ok(rows) => (rows, inspection.problem),
                    Err(e) => (Vec::new(), inspection.problem.or(Some(format!("the log table cannot be read: {e}")))),
                };
                let stop = panicked || matches!(after, Outcome::Panic { .. });
                done.push(Round { results, logged, history: inspection.history, after, problem });
                if stop {
                    break;
                }
            }
            emit(Observation::Race { rounds: done });
        }
        Check::Performance { migrations, trials, .. } => {
            let reference = reference.ok_or("the performance check needs the reference solution")?;
            let code = trivial(migrations);
            let (mut apply, mut validate) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
            // Alternate sides so that drift in machine load hits both equally.
            for trial in 0..trials {
                for (side, table) in [learner, reference].into_iter().enumerate() {
                    let db = scratch.file(&format!("perf-{trial}-{side}.db"));
                    let runner = Runner::new(table, host, config)?;
                    // Err((message, whether it was a panic)). Validation alone takes well under a
                    // millisecond, where one descheduling is a large error: it is timed over
                    // VALIDATIONS calls in a row.
                    let timed = |expect_empty: bool| -> Result<u64, (String, bool)> {
                        let calls = if expect_empty { VALIDATIONS } else { 1 };
                        let start = monotonic_nanos();
                        let mut outcome = runner.migrate(&db, &code, None).map_err(|m| (m, true))?;
                        for _ in 1..calls {
                            if outcome != Outcome::Versions(Vec::new()) {
                                break;
                            }
                            outcome = runner.migrate(&db, &code, None).map_err(|m| (m, true))?;
                        }
                        let nanos = monotonic_nanos() - start;
                        match outcome {
                            Outcome::Versions(v) if v.len() == (if expect_empty { 0 } else { code.len() }) => Ok(nanos),
                            other => Err((
                                format!(
                                    "migrate on {} trivial migrations ({}) returned {}",
                                    code.len(),
                                    if expect_empty { "all applied already" } else { "a fresh file" },
                                    other.describe()
                                ),
                                false,
                            )),
                        }
                    };
                    let result = timed(false).and_then(|a| timed(true).map(|v| (a, v)));
                    let _ = std::fs::remove_file(&db);
                    match (side, result) {
                        (_, Ok((a, v))) => {
                            apply[side].push(a);
                            validate[side].push(v);
                        }
                        (0, Err((message, panicked))) => {
                            let (problem, panic) = if panicked { (None, Some(message)) } else { (Some(message), None) };
                            emit(timing(apply, validate, problem, panic));
                            return Ok(());
                        }
                        (_, Err((message, _))) => return Err(format!("the reference failed: {message}")),
                    }
                }
            }
            emit(timing(apply, validate, None, None));
        }
    }
    Ok(())
}

/// The timing observation, from `[learner, reference]` trials of each phase.
fn timing(apply: [Vec<u64>; 2], validate: [Vec<u64>; 2], problem: Option<String>, panic: Option<String>) -> Observation {
    let [apply_learner, apply_reference] = apply;
    let [validate_learner, validate_reference] = validate;
    Observation::Timing { apply_learner, apply_reference, validate_learner, validate_reference, problem, panic }
}
