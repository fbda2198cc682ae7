//! [`ReferenceRunner`]: each call opens its own connection, reads and checks the history, and
//! only then writes, one transaction per migration.

use std::path::Path;

use challenge_harness::{
    Clock, MigrateError, Migration, MigrationRunner, MigrationStatus, MigratorConfig, HISTORY_DDL, HISTORY_TABLE,
};
use rusqlite::Connection;

use crate::history::{database, sorted, History};

/// The reference migration runner.
pub struct ReferenceRunner {
    config: MigratorConfig,
    clock: Clock,
}

/// Migration `version` failed with `e`; a busy database is still `Locked`.
fn failure(version: u64, e: rusqlite::Error) -> MigrateError {
    match database(e) {
        MigrateError::Database(message) => MigrateError::Failed { version, message },
        other => other,
    }
}

/// Rolls back the open transaction, keeping the error that made us do it.
fn abort(conn: &Connection, error: MigrateError) -> MigrateError {
    let _ = conn.execute_batch("ROLLBACK");
    error
}

impl ReferenceRunner {
    fn open(&self, db: &Path) -> Result<Connection, MigrateError> {
        let conn = Connection::open(db).map_err(database)?;
        conn.busy_timeout(self.config.busy_timeout).map_err(database)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(database)?;
        Ok(conn)
    }

    /// Whether `version` has a row now: asked again inside the write lock, since another runner
    /// may have written it since we read the history.
    fn recorded(conn: &Connection, version: u64) -> Result<bool, MigrateError> {
        conn.prepare_cached(&format!("SELECT 1 FROM {HISTORY_TABLE} WHERE version = ?1"))
            .and_then(|mut s| s.exists([version as i64]))
            .map_err(database)
    }

    /// Writes `m`'s history row: `success` with the clock's elapsed time, or a failure row with
    /// `execution_nanos` 0, as the contract pins for a no-transaction migration that broke.
    fn record(&self, conn: &Connection, m: &Migration, started: u64, success: bool) -> rusqlite::Result<usize> {
        let sql = format!(
            "INSERT INTO {HISTORY_TABLE} (version, name, checksum, applied_at, execution_nanos, success) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        );
        let elapsed = if success { self.clock.now().saturating_sub(started) } else { 0 };
        conn.prepare_cached(&sql)?.execute(rusqlite::params![
            m.version as i64,
            m.name,
            crate::checksum(&m.up),
            started as i64,
            elapsed as i64,
            i64::from(success)
        ])
    }

    /// Applies `m`; `Ok(false)` when another runner applied it first.
    fn apply(&self, conn: &Connection, m: &Migration) -> Result<bool, MigrateError> {
        let failed = |e| failure(m.version, e);
        if m.no_transaction {
            if Self::recorded(conn, m.version)? {
                return Ok(false);
            }
            let started = self.clock.now();
            let ran = conn.execute_batch(&m.up);
            let _ = conn.pragma_update(None, "foreign_keys", true);
            return match ran {
                Ok(()) => self.record(conn, m, started, true).map(|_| true).map_err(failed),
                Err(e) => {
                    self.record(conn, m, started, false).map_err(database)?;
                    Err(failed(e))
                }
            };
        }
        conn.execute_batch("BEGIN IMMEDIATE").map_err(database)?;
        if Self::recorded(conn, m.version).map_err(|e| abort(conn, e))? {
            conn.execute_batch("COMMIT").map_err(database)?;
            return Ok(false);
        }
        let started = self.clock.now();
        conn.execute_batch(&m.up).map_err(|e| abort(conn, failed(e)))?;
        self.record(conn, m, started, true).map_err(|e| abort(conn, failed(e)))?;
        conn.execute_batch("COMMIT").map_err(|e| abort(conn, failed(e)))?;
        Ok(true)
    }

    /// Reverts `m`; `Ok(false)` when another runner reverted it first.
    fn revert(&self, conn: &Connection, m: &Migration, down: &str) -> Result<bool, MigrateError> {
        let failed = |e| failure(m.version, e);
        let delete = format!("DELETE FROM {HISTORY_TABLE} WHERE version = ?1");
        if m.no_transaction {
            conn.execute_batch(down).map_err(failed)?;
            let _ = conn.pragma_update(None, "foreign_keys", true);
            return conn
                .prepare_cached(&delete)
                .and_then(|mut s| s.execute([m.version as i64]))
                .map(|n| n > 0)
                .map_err(failed);
        }
        conn.execute_batch("BEGIN IMMEDIATE").map_err(database)?;
        if !Self::recorded(conn, m.version).map_err(|e| abort(conn, e))? {
            conn.execute_batch("COMMIT").map_err(database)?;
            return Ok(false);
        }
        conn.execute_batch(down).map_err(|e| abort(conn, failed(e)))?;
        conn.prepare_cached(&delete)
            .and_then(|mut s| s.execute([m.version as i64]))
            .map_err(|e| abort(conn, failed(e)))?;
        conn.execute_batch("COMMIT").map_err(|e| abort(conn, failed(e)))?;
        Ok(true)
    }
}

impl MigrationRunner for ReferenceRunner {
    fn new(config: MigratorConfig, clock: Clock) -> Self {
        ReferenceRunner { config, clock }
    }

    fn migrate(&self, db: &Path, migrations: &[Migration], target: Option<u64>) -> Result<Vec<u64>, MigrateError> {
        let conn = self.open(db)?;
        let history = History::read(&conn)?;
        let code = sorted(migrations);
        history.validate(&code)?;
        let pending: Vec<&Migration> =
            code.iter().copied().filter(|m| !history.rows.contains_key(&m.version)).collect();
        if let (false, Some(applied)) = (self.config.allow_out_of_order, history.highest()) {
            if let Some(m) = pending.iter().find(|m| m.version < applied) {
                return Err(MigrateError::OutOfOrder { version: m.version, applied });
            }
        }
        // The target limits what is applied, after the checks (which look at the whole code).
        let pending: Vec<&Migration> = pending.into_iter().filter(|m| target.is_none_or(|t| m.version <= t)).collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        if !history.exists {
            conn.execute_batch(HISTORY_DDL).map_err(database)?;
        }
        let mut applied = Vec::with_capacity(pending.len());
        for m in pending {
            if self.apply(&conn, m)? {
                applied.push(m.version);
            }
        }
        Ok(applied)
    }

    fn rollback(&self, db: &Path, migrations: &[Migration], to: u64) -> Result<Vec<u64>, MigrateError> {
        let conn = self.open(db)?;
        let history = History::read(&conn)?;
        let code = sorted(migrations);
        history.validate(&code)?;
        // Every row is successful and in the code now; revert the ones above `to`, highest first.
        let mut revert = Vec::new();
        for (&v, _) in history.rows.range(to.saturating_add(1)..).rev() {
            let i = code.binary_search_by_key(&v, |m| m.version).map_err(|_| MigrateError::MissingMigration(v))?;
            let m = code[i];
            let down = m.down.as_deref().ok_or(MigrateError::MissingDown(v))?;
            revert.push((m, down));
        }
        let mut reverted = Vec::with_capacity(revert.len());
        for (m, down) in revert {
            if self.revert(&conn, m, down)? {
                reverted.push(m.version);
            }
        }
        Ok(reverted)
    }

    fn status(&self, db: &Path, migrations: &[Migration]) -> Result<MigrationStatus, MigrateError> {
        let conn = self.open(db)?;
        let history = History::read(&conn)?;
        let code = sorted(migrations);
        let mut status = MigrationStatus::default();
        for (&v, row) in &history.rows {
            let local = code.binary_search_by_key(&v, |m| m.version).ok().map(|i| code[i]);
            match (row.success, local) {
                (false, _) => status.failed.push(v),
                (true, None) => status.missing.push(v),
                (true, Some(m)) if crate::checksum(&m.up) != row.checksum => status.mismatched.push(v),
                (true, Some(_)) => status.applied.push(v),
            }
        }
        status.pending = code.iter().map(|m| m.version).filter(|v| !history.rows.contains_key(v)).collect();
        status.pending.dedup();
        Ok(status)
    }

    fn repair(&self, db: &Path, _migrations: &[Migration]) -> Result<Vec<u64>, MigrateError> {
        let conn = self.open(db)?;
        let history = History::read(&conn)?;
        let failed: Vec<u64> = history.rows.iter().filter(|(_, r)| !r.success).map(|(&v, _)| v).collect();
        if !failed.is_empty() {
            conn.execute(&format!("DELETE FROM {HISTORY_TABLE} WHERE success = 0"), []).map_err(database)?;
        }
        Ok(failed)
    }
}
