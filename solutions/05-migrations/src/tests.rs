//! The contract's conventions, on real files: each test states one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use challenge_harness::{Clock, ManualClock, MigrateError, Migration, MigrationRunner, MigratorConfig};

use crate::ReferenceRunner;

fn m(version: u64, up: &str, down: Option<&str>) -> Migration {
    Migration { version, name: format!("v{version}"), up: up.to_owned(), down: down.map(str::to_owned), no_transaction: false }
}

fn runner(allow_out_of_order: bool) -> (ReferenceRunner, ManualClock) {
    let clock = ManualClock::new(1_000);
    let config = MigratorConfig { allow_out_of_order, busy_timeout: Duration::from_secs(5) };
    (ReferenceRunner::new(config, clock.clock()), clock)
}

fn file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    (dir, path)
}

fn tables(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn three() -> Vec<Migration> {
    (1..=3).map(|v| m(v, &format!("CREATE TABLE t{v}(x);"), Some(&format!("DROP TABLE t{v};")))).collect()
}

#[test]
fn applies_in_numeric_order_once_and_records_the_clock() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code = vec![m(10, "INSERT INTO t2 VALUES (10);", None), m(2, "CREATE TABLE t2(x);", None), m(1, "CREATE TABLE t1(x);", None)];
    assert_eq!(r.migrate(&db, &code, None).unwrap(), vec![1, 2, 10]);
    let before = std::fs::read(&db).unwrap();
    assert_eq!(r.migrate(&db, &code, None).unwrap(), Vec::<u64>::new());
    assert_eq!(std::fs::read(&db).unwrap(), before, "a no-op writes nothing");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (at, sum): (i64, String) =
        conn.query_row("SELECT applied_at, checksum FROM _challenge_migrations WHERE version = 2", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(at, 1_000);
    assert_eq!(sum, crate::checksum("CREATE TABLE t2(x);"));
}

#[test]
fn refusals_leave_the_file_byte_identical() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    r.migrate(&db, &three(), None).unwrap();
    let before = std::fs::read(&db).unwrap();
    let mut edited = three();
    edited[1].up.push(' ');
    edited.push(m(4, "CREATE TABLE t4(x);", None));
    assert!(matches!(r.migrate(&db, &edited, None), Err(MigrateError::ChecksumMismatch { version: 2, .. })));
    let missing: Vec<Migration> = three().into_iter().filter(|m| m.version != 2).collect();
    assert_eq!(r.migrate(&db, &missing, None), Err(MigrateError::MissingMigration(2)));
    assert_eq!(r.migrate(&db, &three()[..1], None), Err(MigrateError::DatabaseAhead { applied: 3, latest: 1 }));
    let mut dup = three();
    dup.push(m(3, "CREATE TABLE other(x);", None));
    assert_eq!(r.rollback(&db, &dup, 0), Err(MigrateError::DuplicateVersion(3)));
    let mut no_down = three();
    no_down[1].down = None;
    assert_eq!(r.rollback(&db, &no_down, 0), Err(MigrateError::MissingDown(2)));
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // A CRLF checkout is the same migration; a trailing space is not.
    assert_eq!(crate::checksum("a;\r\nb;"), crate::checksum("a;\nb;"));
    assert_ne!(crate::checksum("a;\nb; "), crate::checksum("a;\nb;"));
}

#[test]
fn a_failure_rolls_back_that_migration_only() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let mut code = three();
    code[2].up = "CREATE TABLE t3(x); INSERT INTO nope VALUES (1);".into();
    assert!(matches!(r.migrate(&db, &code, None), Err(MigrateError::Failed { version: 3, .. })));
    assert_eq!(tables(&db), ["_challenge_migrations", "t1", "t2"]);
    assert_eq!(r.migrate(&db, &three(), None).unwrap(), vec![3]);
    assert_eq!(r.rollback(&db, &three(), 1).unwrap(), vec![3, 2]);
    assert_eq!(tables(&db), ["_challenge_migrations", "t1"]);
}

#[test]
fn out_of_order_follows_the_config() {
    let (_dir, db) = file();
    let (strict, _) = runner(false);
    let (lax, _) = runner(true);
    let code = three();
    strict.migrate(&db, &[code[0].clone(), code[2].clone()], None).unwrap();
    assert_eq!(strict.migrate(&db, &code, None), Err(MigrateError::OutOfOrder { version: 2, applied: 3 }));
    assert_eq!(lax.migrate(&db, &code, None).unwrap(), vec![2]);
}

#[test]
fn a_failed_no_transaction_migration_is_dirty_until_repaired() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let mut code = three();
    code[2].no_transaction = true;
    code[2].up = "CREATE TABLE t3(x); INSERT INTO nope VALUES (1);".into();
    assert!(matches!(r.migrate(&db, &code, None), Err(MigrateError::Failed { version: 3, .. })));
    assert_eq!(r.status(&db, &code).unwrap().failed, vec![3]);
    assert_eq!(r.migrate(&db, &code, None), Err(MigrateError::Dirty(3)));
    assert_eq!(r.repair(&db, &code).unwrap(), vec![3]);
    code[2].up = "CREATE TABLE IF NOT EXISTS t3(x);".into();
    assert_eq!(r.migrate(&db, &code, None).unwrap(), vec![3]);
}

#[test]
fn two_racing_runners_apply_each_migration_once() {
    let (_dir, db) = file();
    let mut code = vec![m(1, "CREATE TABLE log(v INTEGER);", None)];
    code.extend((2..=30).map(|v| m(v, &format!("CREATE TABLE t{v}(x); INSERT INTO log VALUES ({v});"), None)));
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let (r, _) = runner(false);
                    barrier.wait();
                    r.migrate(&db, &code, None).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = results.concat();
    all.sort_unstable();
    assert_eq!(all, (1..=30).collect::<Vec<_>>());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let logged: i64 = conn.query_row("SELECT count(*) FROM log", [], |r| r.get(0)).unwrap();
    assert_eq!(logged, 29);
}

#[test]
fn a_clock_is_all_it_needs() {
    // The trait's constructor takes the harness's Clock; a ManualClock's is one.
    let clock: Clock = ManualClock::new(0).clock();
    let _ = ReferenceRunner::new(MigratorConfig { allow_out_of_order: false, busy_timeout: Duration::ZERO }, clock);
}
