//! Challenge 5: versioned SQL migrations on SQLite.
//!
//! Implement [`MigrationRunner`] for [`MyRunner`], then run `challenge test 5`. The brief (the
//! challenge's README.md) pins every convention; its section names are quoted below as
//! "README → …". After every call the grader reads your database file with its own connection
//! and compares it with a correct runner's. `cargo test` runs your own tests (there are two at
//! the bottom to start from).

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::BTreeMap;
use std::path::Path;

use challenge_harness::{
    Clock, MigrateError, Migration, MigrationRunner, MigrationStatus, MigratorConfig, HISTORY_DDL, HISTORY_TABLE,
};
use rusqlite::Connection;

/// A runner holds only its config and its clock: every call opens its own connection to the
/// file it is given, since the grader reads that file between calls (README → Connections).
pub struct MyRunner {
    config: MigratorConfig,
    /// The only source of time, for `applied_at` and `execution_nanos`. Never use
    /// `Instant::now()` or `SystemTime`: the grader's clock stands still during a call
    /// (README → Time).
    clock: Clock,
}

/// One row of `HISTORY_TABLE`, as far as the checks need it (README → The history table).
struct Row {
    checksum: String,
    /// `success = 1`; a `success = 0` row makes the database dirty (README → Dirty, and repair).
    success: bool,
}

/// The history rows by version, read in one `SELECT`. A file without the history table has no
/// rows, and reading it must not create the table: `HISTORY_DDL` runs only just before the first
/// migration a call applies (README → Nothing changes on a refusal).
fn read_history(conn: &Connection) -> Result<BTreeMap<u64, Row>, MigrateError> {
    todo!("read_history: does sqlite_schema have HISTORY_TABLE? then SELECT version, checksum, success")
}

/// The lowercase hex SHA-256 of `up` after every "\r\n" becomes "\n", and nothing else
/// (README → Checksums).
fn checksum(up: &str) -> String {
    todo!("checksum: sha2::Sha256 of up.replace(\"\\r\\n\", \"\\n\"), as 64 lowercase hex digits")
}

/// Maps a SQLite error: busy or locked past `busy_timeout` is `Locked`, anything else
/// `Database` (README → Two runners at once).
fn database(e: rusqlite::Error) -> MigrateError {
    todo!("database: ErrorCode::DatabaseBusy | DatabaseLocked -> Locked, else Database(e.to_string())")
}

impl MyRunner {
    /// One connection per call: `busy_timeout` from the config, then `PRAGMA foreign_keys = ON`,
    /// and `journal_mode` left alone (README → Connections).
    fn open(&self, db: &Path) -> Result<Connection, MigrateError> {
        todo!("open: Connection::open(db), conn.busy_timeout(..), PRAGMA foreign_keys = ON")
    }
}

impl MigrationRunner for MyRunner {
    fn new(config: MigratorConfig, clock: Clock) -> Self {
        MyRunner { config, clock }
    }

    fn migrate(&self, db: &Path, migrations: &[Migration], target: Option<u64>) -> Result<Vec<u64>, MigrateError> {
        // 1. Open, read the history, sort the code by version as a number (README → Versions).
        // 2. Check before writing anything, in this order, each rule for every version before
        //    the next: duplicate, dirty, ahead, missing, checksum mismatch, then out of order
        //    (README → The checks, before any change). Nothing pending: return Ok(vec![]).
        // 3. HISTORY_DDL, then each pending migration with version <= target, ascending: BEGIN
        //    IMMEDIATE, check again that it has no row, the up, its row, COMMIT; or bare for
        //    `no_transaction` (README → Applying, When a migration fails, No-transaction
        //    migrations, Two runners at once).
        todo!("migrate: read, check, then apply (README → Applying)")
    }

    fn rollback(&self, db: &Path, migrations: &[Migration], to: u64) -> Result<Vec<u64>, MigrateError> {
        // Checks 1 to 5, then: does every applied migration above `to` have a down? The highest
        // one without is MissingDown. Only then revert, highest version first, each down in a
        // transaction with deleting its row (README → Rolling back).
        todo!("rollback: the checks, every down present, then highest version first (README → Rolling back)")
    }

    fn status(&self, db: &Path, migrations: &[Migration]) -> Result<MigrationStatus, MigrateError> {
        todo!("status: each version in exactly one list, ascending, never writing (README → Status)")
    }

    fn repair(&self, db: &Path, migrations: &[Migration]) -> Result<Vec<u64>, MigrateError> {
        todo!("repair: delete the rows with success = 0, return their versions (README → Dirty, and repair)")
    }
}

// This line makes your runner loadable by the grader. Keep it.
challenge_harness::export_migration_runner!(MyRunner);

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use challenge_harness::ManualClock;

    use super::*;

    /// Time starts far from zero under the grader too.
    const START: u64 = 1_000_000 * 1_000_000_000;

    /// A fresh path for a test's database file: each test gets its own, since tests run in
    /// parallel.
    fn fresh_db(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("migrations-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("db.sqlite")
    }

    fn runner() -> (ManualClock, MyRunner) {
        let manual = ManualClock::new(START);
        let config = MigratorConfig { allow_out_of_order: false, busy_timeout: Duration::from_secs(5) };
        let runner = MyRunner::new(config, manual.clock());
        (manual, runner)
    }

    fn migration(version: u64, up: &str, down: Option<&str>) -> Migration {
        Migration {
            version,
            name: format!("v{version}"),
            up: up.to_owned(),
            down: down.map(str::to_owned),
            no_transaction: false,
        }
    }

    #[test]
    #[ignore = "remove this line once checksum is written"]
    fn checksums_ignore_line_endings_and_nothing_else() {
        assert_eq!(checksum(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let lf = "CREATE TABLE t1(x);\nCREATE TABLE t2(x);\n";
        assert_eq!(checksum(lf), "7727a05bb1afe3d530407f096b19b4c6a220bd47f301210daebfbfaa9fc2e269");
        assert_eq!(checksum(&lf.replace('\n', "\r\n")), checksum(lf), "a CRLF checkout is the same migration");
        assert_ne!(checksum("CREATE TABLE t1(x); \nCREATE TABLE t2(x);\n"), checksum(lf), "one space is an edit");
    }

    #[test]
    #[ignore = "remove this line once migrate is written"]
    fn a_fresh_file_gets_every_migration_once_and_a_second_migrate_writes_nothing() {
        let db = fresh_db("fresh");
        let (manual, runner) = runner();
        // Listed out of order on purpose: 2 runs before 10.
        let code = vec![
            migration(10, "INSERT INTO users(id) VALUES (10);", None),
            migration(1, "CREATE TABLE users(id INTEGER PRIMARY KEY);", Some("DROP TABLE users;")),
            migration(2, "CREATE INDEX users_by_id ON users(id);", Some("DROP INDEX users_by_id;")),
        ];
        assert_eq!(runner.migrate(&db, &code, None).unwrap(), vec![1, 2, 10]);

        // Read the file with a connection of your own, as the grader does.
        let check = Connection::open(&db).unwrap();
        let rows: Vec<(i64, String, i64, i64)> = check
            .prepare(&format!("SELECT version, checksum, applied_at, success FROM {HISTORY_TABLE} ORDER BY version"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        drop(check);
        let versions: Vec<i64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(versions, vec![1, 2, 10]);
        assert!(rows.iter().all(|r| r.2 == START as i64 && r.3 == 1), "applied_at is the clock's reading: {rows:?}");

        // Nothing pending: Ok([]), and the file byte-for-byte as it was.
        manual.advance(Duration::from_secs(60));
        let before = std::fs::read(&db).unwrap();
        assert_eq!(runner.migrate(&db, &code, None).unwrap(), Vec::<u64>::new());
        assert_eq!(std::fs::read(&db).unwrap(), before, "a call with nothing to do writes nothing");
    }
}
