//! Challenge 5: versioned SQL migrations on SQLite.
//!
//! Implement [`MigrationRunner`] for [`MyRunner`], then run `challenge test 5`. The brief (the
//! challenge's README.md) and the trait's docs pin every convention; the grader reads your
//! database file with its own connection after every call and compares it with a correct
//! runner's. `cargo test` runs your own tests (there is one at the bottom to start from).

// An unfinished template has unused fields and parameters. Delete this line once your code is in
// place, so that the compiler can point at what you forgot.
#![allow(dead_code, unused_variables, unused_imports)]

use std::collections::BTreeMap;
use std::path::Path;

use challenge_harness::{
    Clock, MigrateError, Migration, MigrationRunner, MigrationStatus, MigratorConfig, HISTORY_DDL, HISTORY_TABLE,
};
use rusqlite::Connection;

// `HISTORY_DDL` creates the history table exactly as the trait's docs define it. Run it just
// before the first migration a call applies, never on a call that refuses or has nothing to do.

/// A runner holds only its config and its clock: every call opens its own connection to the file
/// it is given, since the grader reads the file between calls.
pub struct MyRunner {
    config: MigratorConfig,
    /// The only source of time, for `applied_at` and `execution_nanos`. Never use
    /// `Instant::now()` or `SystemTime`.
    clock: Clock,
}

/// The brief's checksum: lowercase hex SHA-256 of `up` after every "\r\n" becomes "\n".
fn checksum(up: &str) -> String {
    todo!("hash up.replace(\"\\r\\n\", \"\\n\") with sha2::Sha256, as 64 lowercase hex digits")
}

/// One connection per call: `busy_timeout` from the config, and `PRAGMA foreign_keys = ON`.
fn open(config: &MigratorConfig, db: &Path) -> Result<Connection, MigrateError> {
    todo!("Connection::open(db), conn.busy_timeout(config.busy_timeout), PRAGMA foreign_keys = ON")
}

impl MigrationRunner for MyRunner {
    fn new(config: MigratorConfig, clock: Clock) -> Self {
        MyRunner { config, clock }
    }

    fn migrate(&self, db: &Path, migrations: &[Migration], target: Option<u64>) -> Result<Vec<u64>, MigrateError> {
        // 1. Read the history (one SELECT; no table yet means nothing applied).
        // 2. Check, in the trait's order, before writing anything: duplicate, dirty, ahead,
        //    missing, checksum mismatch, then out of order.
        // 3. Apply each pending migration up to `target`, in ascending version order, each in its
        //    own transaction with its history row (or bare, for `no_transaction`).
        todo!("migrate")
    }

    fn rollback(&self, db: &Path, migrations: &[Migration], to: u64) -> Result<Vec<u64>, MigrateError> {
        // The same checks, then: does every migration above `to` have a down? Only then revert,
        // highest version first, each down in a transaction with deleting its row.
        todo!("rollback")
    }

    fn status(&self, db: &Path, migrations: &[Migration]) -> Result<MigrationStatus, MigrateError> {
        todo!("status: each version in exactly one list, never writing")
    }

    fn repair(&self, db: &Path, migrations: &[Migration]) -> Result<Vec<u64>, MigrateError> {
        todo!("repair: delete the rows with success = 0 and return their versions")
    }
}

challenge_harness::export_migration_runner!(MyRunner);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use challenge_harness::ManualClock;

    use super::*;

    #[test]
    #[ignore = "remove this line once migrate is written"]
    fn a_fresh_file_gets_every_migration_once() {
        let dir = std::env::temp_dir().join(format!("migrations-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("db.sqlite");
        let _ = std::fs::remove_file(&db);
        let clock = ManualClock::new(0);
        let runner = MyRunner::new(MigratorConfig { allow_out_of_order: false, busy_timeout: Duration::from_secs(5) }, clock.clock());
        let code = vec![Migration {
            version: 1,
            name: "users".into(),
            up: "CREATE TABLE users(id INTEGER PRIMARY KEY);".into(),
            down: Some("DROP TABLE users;".into()),
            no_transaction: false,
        }];
        assert_eq!(runner.migrate(&db, &code, None).unwrap(), vec![1]);
        assert_eq!(runner.migrate(&db, &code, None).unwrap(), Vec::<u64>::new());
    }
}
