//! The contract's conventions, on real files in a temp dir: each test states one.

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::Duration;

use challenge_harness::{ManualClock, MigrateError, Migration, MigrationRunner, MigrationStatus, MigratorConfig};
use rusqlite::Connection;

use crate::{checksum, ReferenceRunner};

fn m(version: u64, up: &str, down: Option<&str>) -> Migration {
    Migration {
        version,
        name: format!("v{version}"),
        up: up.to_owned(),
        down: down.map(str::to_owned),
        no_transaction: false,
    }
}

fn no_tx(version: u64, up: &str) -> Migration {
    Migration { no_transaction: true, ..m(version, up, None) }
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

fn bytes(db: &Path) -> Vec<u8> {
    std::fs::read(db).unwrap_or_default()
}

fn tables(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn ints(db: &Path, sql: &str) -> Vec<i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// (version, name, checksum, applied_at, execution_nanos, success), by version.
type HistoryRow = (i64, String, String, i64, i64, i64);

fn history(db: &Path) -> Vec<HistoryRow> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT version, name, checksum, applied_at, execution_nanos, success FROM _challenge_migrations ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn versions(db: &Path) -> Vec<i64> {
    ints(db, "SELECT version FROM _challenge_migrations ORDER BY version")
}

/// t1..t3, each with a down.
fn three() -> Vec<Migration> {
    (1..=3).map(|v| m(v, &format!("CREATE TABLE t{v}(x);"), Some(&format!("DROP TABLE t{v};")))).collect()
}

#[test]
fn a_fresh_apply_writes_exact_history_rows_and_a_second_call_writes_nothing() {
    let (_dir, db) = file();
    let (r, clock) = runner(false);
    assert_eq!(r.migrate(&db, &three()[..2], None).unwrap(), vec![1, 2]);
    clock.set(5_000);
    assert_eq!(r.migrate(&db, &three(), None).unwrap(), vec![3]);
    let row = |v: i64, at: i64| (v, format!("v{v}"), checksum(&format!("CREATE TABLE t{v}(x);")), at, 0, 1);
    // applied_at is the clock when each started; the virtual clock stands still, so 0 elapsed.
    assert_eq!(history(&db), vec![row(1, 1_000), row(2, 1_000), row(3, 5_000)]);
    let before = bytes(&db);
    assert_eq!(r.migrate(&db, &three(), None).unwrap(), Vec::<u64>::new());
    assert_eq!(bytes(&db), before, "a no-op writes nothing");
}

#[test]
fn nothing_to_apply_on_a_fresh_file_creates_no_history_table() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    assert_eq!(r.migrate(&db, &[], None).unwrap(), Vec::<u64>::new());
    assert_eq!(r.rollback(&db, &three(), 0).unwrap(), Vec::<u64>::new());
    assert_eq!(r.migrate(&db, &three(), Some(0)).unwrap(), Vec::<u64>::new());
    assert_eq!(
        r.status(&db, &three()).unwrap(),
        MigrationStatus { pending: vec![1, 2, 3], ..MigrationStatus::default() }
    );
    assert_eq!(r.repair(&db, &three()).unwrap(), Vec::<u64>::new());
    assert_eq!(bytes(&db), Vec::<u8>::new(), "opening may create the file, empty");
}

#[test]
fn versions_order_numerically() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code = vec![
        m(10, "INSERT INTO t2 VALUES (10);", None),
        m(2, "CREATE TABLE t2(x);", None),
        m(1, "CREATE TABLE t1(x);", None),
    ];
    assert_eq!(r.migrate(&db, &code, None).unwrap(), vec![1, 2, 10]);
    assert_eq!(ints(&db, "SELECT x FROM t2"), vec![10]);
}

#[test]
fn a_target_limits_what_is_applied_and_never_reverts() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code: Vec<Migration> = (1..=5).map(|v| m(v, &format!("CREATE TABLE t{v}(x);"), None)).collect();
    assert_eq!(r.migrate(&db, &code[..3], None).unwrap(), vec![1, 2, 3]);
    assert_eq!(r.migrate(&db, &code, Some(4)).unwrap(), vec![4]);
    let before = bytes(&db);
    assert_eq!(r.migrate(&db, &code, Some(2)).unwrap(), Vec::<u64>::new());
    assert_eq!(bytes(&db), before);
    assert_eq!(r.migrate(&db, &code, None).unwrap(), vec![5]);
    assert_eq!(versions(&db), vec![1, 2, 3, 4, 5]);
}

#[test]
fn crlf_is_the_same_migration_and_any_other_edit_is_not() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let lf = vec![m(1, "CREATE TABLE a(x);\nCREATE TABLE b(x);\n", None)];
    r.migrate(&db, &lf, None).unwrap();
    let before = bytes(&db);
    let crlf = vec![m(1, "CREATE TABLE a(x);\r\nCREATE TABLE b(x);\r\n", None)];
    assert_eq!(r.migrate(&db, &crlf, None).unwrap(), Vec::<u64>::new());
    assert_eq!(r.status(&db, &crlf).unwrap().applied, vec![1]);
    assert_eq!(bytes(&db), before);
    assert_eq!(checksum("a;\r\nb;"), checksum("a;\nb;"));
    assert_ne!(checksum("a;\rb;"), checksum("a;\nb;"), "a lone CR is an edit");
    assert_ne!(checksum("a;\nb; "), checksum("a;\nb;"));
    assert_eq!(checksum(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn each_refusal_leaves_the_file_byte_identical() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    r.migrate(&db, &three(), None).unwrap();
    let before = bytes(&db);

    let mut edited = three();
    edited[1].up.push(' ');
    edited.push(m(4, "CREATE TABLE t4(x);", None));
    let expected = MigrateError::ChecksumMismatch {
        version: 2,
        applied: checksum("CREATE TABLE t2(x);"),
        local: checksum("CREATE TABLE t2(x); "),
    };
    assert_eq!(r.migrate(&db, &edited, None), Err(expected.clone()));
    assert_eq!(r.rollback(&db, &edited, 0), Err(expected));

    let mut missing: Vec<Migration> = three().into_iter().filter(|m| m.version != 2).collect();
    missing.push(m(4, "CREATE TABLE t4(x);", None));
    assert_eq!(r.migrate(&db, &missing, None), Err(MigrateError::MissingMigration(2)));

    assert_eq!(r.migrate(&db, &three()[..1], None), Err(MigrateError::DatabaseAhead { applied: 3, latest: 1 }));
    assert_eq!(r.migrate(&db, &[], None), Err(MigrateError::DatabaseAhead { applied: 3, latest: 0 }));

    let mut dup = three();
    dup.push(m(4, "CREATE TABLE t4(x);", None));
    dup.push(m(4, "CREATE TABLE other(x);", None));
    dup.push(m(2, "CREATE TABLE t2(x);", None));
    assert_eq!(r.migrate(&db, &dup, None), Err(MigrateError::DuplicateVersion(2)));
    assert_eq!(r.rollback(&db, &dup, 0), Err(MigrateError::DuplicateVersion(2)));

    assert_eq!(bytes(&db), before);
}

#[test]
fn the_checks_run_in_the_contracts_order() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code: Vec<Migration> = (1..=4).map(|v| m(v, &format!("CREATE TABLE t{v}(x);"), None)).collect();
    r.migrate(&db, &code, None).unwrap();
    // 2 edited, 3 gone: the missing one is named although the mismatch is lower.
    let mut changed = code.clone();
    changed[1].up.push(' ');
    changed.remove(2);
    assert_eq!(r.migrate(&db, &changed, None), Err(MigrateError::MissingMigration(3)));
    // Code ending at 2 with 3 gone: the database is ahead before anything is missing.
    assert_eq!(r.migrate(&db, &changed[..2], None), Err(MigrateError::DatabaseAhead { applied: 4, latest: 2 }));
    // A duplicate comes before everything.
    let mut dup = changed.clone();
    dup.push(code[0].clone());
    assert_eq!(r.migrate(&db, &dup, None), Err(MigrateError::DuplicateVersion(1)));
    // A dirty row comes before the database being ahead.
    Connection::open(&db)
        .unwrap()
        .execute("UPDATE _challenge_migrations SET success = 0 WHERE version IN (3, 4)", [])
        .unwrap();
    assert_eq!(r.migrate(&db, &changed[..2], None), Err(MigrateError::Dirty(3)));
}

#[test]
fn out_of_order_follows_the_config() {
    let (_dir, db) = file();
    let (strict, _) = runner(false);
    let (lax, _) = runner(true);
    let code = three();
    strict.migrate(&db, &[code[0].clone(), code[2].clone()], None).unwrap();
    let before = bytes(&db);
    assert_eq!(strict.migrate(&db, &code, None), Err(MigrateError::OutOfOrder { version: 2, applied: 3 }));
    // The order check looks at the whole code, like the others, whatever the target.
    assert_eq!(strict.migrate(&db, &code, Some(1)), Err(MigrateError::OutOfOrder { version: 2, applied: 3 }));
    assert_eq!(bytes(&db), before);
    assert_eq!(lax.migrate(&db, &code, None).unwrap(), vec![2]);
    assert_eq!(versions(&db), vec![1, 2, 3]);
}

#[test]
fn a_failing_migration_is_rolled_back_whole_and_the_earlier_ones_stay() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let mut code = three();
    code[2].up = "CREATE TABLE t3(x); INSERT INTO nope VALUES (1);".into();
    let Err(MigrateError::Failed { version: 3, message }) = r.migrate(&db, &code, None) else {
        panic!("version 3 fails")
    };
    assert!(message.contains("no such table: nope"), "{message}");
    assert_eq!(tables(&db), ["_challenge_migrations", "t1", "t2"]);
    assert_eq!(versions(&db), vec![1, 2]);
    assert_eq!(r.migrate(&db, &three(), None).unwrap(), vec![3]);
}

#[test]
fn a_failing_history_row_rolls_its_migration_back() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    // The history table exists before the first migration runs, so migration 1 can guard it.
    let mut code = vec![m(
        1,
        "CREATE TRIGGER no_three BEFORE INSERT ON _challenge_migrations WHEN NEW.version = 3 \
         BEGIN SELECT RAISE(ABORT, 'version 3 is forbidden'); END;",
        None,
    )];
    code.extend((2..=4).map(|v| m(v, &format!("CREATE TABLE t{v}(x);"), None)));
    let Err(MigrateError::Failed { version: 3, message }) = r.migrate(&db, &code, None) else {
        panic!("version 3 fails")
    };
    assert!(message.contains("version 3 is forbidden"), "{message}");
    assert_eq!(tables(&db), ["_challenge_migrations", "t2"]);
    assert_eq!(versions(&db), vec![1, 2]);
}

#[test]
fn vacuum_fails_inside_a_transaction_and_runs_without_one() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let mut code = vec![m(1, "CREATE TABLE a(x);", None), m(2, "VACUUM;", None)];
    r.migrate(&db, &code[..1], None).unwrap();
    let rows = history(&db);
    assert!(matches!(r.migrate(&db, &code, None), Err(MigrateError::Failed { version: 2, .. })));
    assert_eq!(history(&db), rows, "the history is unchanged");
    code[1].no_transaction = true;
    assert_eq!(r.migrate(&db, &code, None).unwrap(), vec![2]);
    assert_eq!(versions(&db), vec![1, 2]);
}

#[test]
fn a_no_transaction_rebuild_keeps_cascading_children_and_foreign_keys_come_back_on() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code = vec![
        m(
            1,
            "CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE);
             INSERT INTO parent VALUES (1, 'a'), (2, 'b');
             INSERT INTO child VALUES (10, 1), (11, 1), (20, 2);",
            None,
        ),
        // The usual table rebuild: with foreign keys on, DROP TABLE parent would cascade into child.
        no_tx(
            2,
            "PRAGMA foreign_keys = OFF;
             BEGIN;
             CREATE TABLE parent_new(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
             INSERT INTO parent_new SELECT id, name FROM parent;
             DROP TABLE parent;
             ALTER TABLE parent_new RENAME TO parent;
             COMMIT;
             PRAGMA foreign_keys = ON;",
        ),
        // Foreign keys are on again: this delete cascades.
        m(3, "DELETE FROM parent WHERE id = 2;", None),
    ];
    assert_eq!(r.migrate(&db, &code, None).unwrap(), vec![1, 2, 3]);
    assert_eq!(ints(&db, "SELECT id FROM child ORDER BY id"), vec![10, 11]);
    assert_eq!(ints(&db, "SELECT success FROM _challenge_migrations ORDER BY version"), vec![1, 1, 1]);
}

#[test]
fn a_no_transaction_migration_left_with_foreign_keys_off_does_not_leak_it() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code = vec![
        m(1, "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(p INTEGER REFERENCES p(id)); INSERT INTO p VALUES (1);", None),
        no_tx(2, "PRAGMA foreign_keys = OFF;"),
        m(3, "INSERT INTO c VALUES (99);", None),
    ];
    assert!(matches!(r.migrate(&db, &code, None), Err(MigrateError::Failed { version: 3, .. })));
    assert_eq!(versions(&db), vec![1, 2]);
}

#[test]
fn a_failed_no_transaction_migration_is_dirty_until_repaired() {
    let (_dir, db) = file();
    let (r, clock) = runner(false);
    let mut code = three();
    code[2] = Migration {
        down: Some("DROP TABLE t3;".into()),
        ..no_tx(3, "CREATE TABLE t3(x); INSERT INTO nope VALUES (1);")
    };
    clock.set(7_000);
    assert!(matches!(r.migrate(&db, &code, None), Err(MigrateError::Failed { version: 3, .. })));
    // The statement before the failing one stays; the row records the damage.
    assert_eq!(tables(&db), ["_challenge_migrations", "t1", "t2", "t3"]);
    assert_eq!(history(&db)[2], (3, "v3".into(), checksum(&code[2].up), 7_000, 0, 0));
    assert_eq!(
        r.status(&db, &code).unwrap(),
        MigrationStatus { applied: vec![1, 2], failed: vec![3], ..MigrationStatus::default() }
    );
    let before = bytes(&db);
    assert_eq!(r.migrate(&db, &code, None), Err(MigrateError::Dirty(3)));
    assert_eq!(r.rollback(&db, &code, 0), Err(MigrateError::Dirty(3)));
    assert_eq!(bytes(&db), before);
    assert_eq!(r.repair(&db, &code).unwrap(), vec![3]);
    assert_eq!(versions(&db), vec![1, 2]);
    let before = bytes(&db);
    assert_eq!(r.repair(&db, &code).unwrap(), Vec::<u64>::new());
    assert_eq!(bytes(&db), before, "a repair with nothing to do writes nothing");
    code[2].up = "CREATE TABLE IF NOT EXISTS t3(x);".into();
    assert_eq!(r.migrate(&db, &code, None).unwrap(), vec![3]);
}

#[test]
fn status_puts_each_version_in_one_list() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code: Vec<Migration> = (1..=4).map(|v| m(v, &format!("CREATE TABLE t{v}(x);"), None)).collect();
    r.migrate(&db, &code, None).unwrap();
    Connection::open(&db)
        .unwrap()
        .execute("UPDATE _challenge_migrations SET success = 0 WHERE version = 4", [])
        .unwrap();
    let mut now = code.clone();
    now[0].up.push(' ');
    now.remove(1);
    now.push(m(6, "CREATE TABLE t6(x);", None));
    now.push(m(5, "CREATE TABLE t5(x);", None));
    let before = bytes(&db);
    let status = r.status(&db, &now).unwrap();
    assert_eq!(
        status,
        MigrationStatus {
            applied: vec![3],
            pending: vec![5, 6],
            mismatched: vec![1],
            missing: vec![2],
            failed: vec![4]
        }
    );
    assert_eq!(bytes(&db), before);
}

#[test]
fn rollback_reverts_highest_first_each_with_its_row() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code = vec![
        m(1, "CREATE TABLE log(v INTEGER);", Some("DROP TABLE log;")),
        m(
            2,
            "CREATE TABLE parent(id INTEGER PRIMARY KEY); INSERT INTO parent VALUES (1);",
            Some("INSERT INTO log VALUES (2); DROP TABLE parent;"),
        ),
        // While child exists and references a parent row, DROP TABLE parent fails (foreign keys
        // are on): the rollback must reach 3 before 2.
        m(
            3,
            "CREATE TABLE child(p INTEGER REFERENCES parent(id)); INSERT INTO child VALUES (1);",
            Some("INSERT INTO log VALUES (3); DROP TABLE child;"),
        ),
    ];
    r.migrate(&db, &code, None).unwrap();
    assert_eq!(r.rollback(&db, &code, 1).unwrap(), vec![3, 2]);
    assert_eq!(ints(&db, "SELECT v FROM log ORDER BY rowid"), vec![3, 2]);
    assert_eq!(tables(&db), ["_challenge_migrations", "log"]);
    assert_eq!(versions(&db), vec![1]);
    let before = bytes(&db);
    assert_eq!(r.rollback(&db, &code, 1).unwrap(), Vec::<u64>::new());
    assert_eq!(bytes(&db), before);
}

#[test]
fn a_failing_down_is_rolled_back_and_the_later_ones_stay_reverted() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let mut code = three();
    code[0].down = Some("DROP TABLE t1; DROP TABLE nope;".into());
    r.migrate(&db, &code, None).unwrap();
    assert!(matches!(r.rollback(&db, &code, 0), Err(MigrateError::Failed { version: 1, .. })));
    assert_eq!(tables(&db), ["_challenge_migrations", "t1"]);
    assert_eq!(versions(&db), vec![1]);
}

#[test]
fn a_missing_down_names_the_highest_and_changes_nothing() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let mut code: Vec<Migration> =
        (1..=4).map(|v| m(v, &format!("CREATE TABLE t{v}(x);"), Some(&format!("DROP TABLE t{v};")))).collect();
    code[0].down = None;
    code[1].down = None;
    code[2].down = None;
    r.migrate(&db, &code, None).unwrap();
    let before = bytes(&db);
    assert_eq!(r.rollback(&db, &code, 0), Err(MigrateError::MissingDown(3)));
    assert_eq!(bytes(&db), before);
    // Only what is above `to` needs a down.
    assert_eq!(r.rollback(&db, &code, 3).unwrap(), vec![4]);
}

#[test]
fn two_racing_runners_apply_each_migration_once() {
    let (_dir, db) = file();
    let mut code = vec![m(1, "CREATE TABLE log(v INTEGER); INSERT INTO log VALUES (1);", None)];
    code.extend((2..=30).map(|v| m(v, &format!("CREATE TABLE t{v}(x); INSERT INTO log VALUES ({v});"), None)));
    let barrier = Barrier::new(2);
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
    for applied in &results {
        assert!(applied.is_sorted(), "each runner applies in ascending order: {applied:?}");
    }
    let mut all: Vec<u64> = results.concat();
    all.sort_unstable();
    assert_eq!(all, (1..=30).collect::<Vec<_>>(), "each version reported by exactly one runner");
    assert_eq!(ints(&db, "SELECT count(*) FROM log GROUP BY v ORDER BY v"), vec![1; 30], "each version logged once");
    assert_eq!(ints(&db, "SELECT count(DISTINCT v) FROM log"), vec![30]);
    assert_eq!(versions(&db), (1..=30).collect::<Vec<_>>());
}

#[test]
fn a_database_held_past_the_timeout_is_locked_and_unchanged() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    r.migrate(&db, &three()[..1], None).unwrap();
    let holder = Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = bytes(&db);
    let config = MigratorConfig { allow_out_of_order: false, busy_timeout: Duration::from_millis(50) };
    let impatient = ReferenceRunner::new(config, ManualClock::new(0).clock());
    assert_eq!(impatient.migrate(&db, &three(), None), Err(MigrateError::Locked));
    assert_eq!(bytes(&db), before);
    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(impatient.migrate(&db, &three(), None).unwrap(), vec![2, 3]);
}

#[test]
fn foreign_keys_are_on_for_every_migration() {
    let (_dir, db) = file();
    let (r, _) = runner(false);
    let code = vec![
        m(1, "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(p INTEGER REFERENCES p(id));", None),
        m(2, "INSERT INTO c VALUES (1);", None),
    ];
    let Err(MigrateError::Failed { version: 2, message }) = r.migrate(&db, &code, None) else {
        panic!("version 2 fails")
    };
    assert!(message.contains("FOREIGN KEY"), "{message}");
}
