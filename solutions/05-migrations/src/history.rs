//! What the database says has been applied, read in one query, and the checks the contract
//! makes against it, in its order, before anything is written.

use std::collections::BTreeMap;

use challenge_harness::{MigrateError, Migration, HISTORY_TABLE};
use rusqlite::Connection;

/// One history row, as far as the checks need it.
pub struct Row {
    /// `checksum`.
    pub checksum: String,
    /// `success = 1`.
    pub success: bool,
}

/// The history table's rows by version; empty when there is no table yet.
pub struct History {
    /// Whether the table exists.
    pub exists: bool,
    /// The rows.
    pub rows: BTreeMap<u64, Row>,
}

/// Maps a SQLite error to the contract's: a busy or locked database past the timeout is
/// `Locked`, anything else `Database`.
pub fn database(e: rusqlite::Error) -> MigrateError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => MigrateError::Locked,
        _ => MigrateError::Database(e.to_string()),
    }
}

impl History {
    /// Reads the history with `conn`, writing nothing.
    pub fn read(conn: &Connection) -> Result<History, MigrateError> {
        let exists = conn
            .prepare_cached("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1")
            .and_then(|mut s| s.exists([HISTORY_TABLE]))
            .map_err(database)?;
        let mut rows = BTreeMap::new();
        if exists {
            let mut stmt = conn
                .prepare_cached(&format!("SELECT version, checksum, success FROM {HISTORY_TABLE}"))
                .map_err(database)?;
            let mut query = stmt.query([]).map_err(database)?;
            while let Some(row) = query.next().map_err(database)? {
                let version: i64 = row.get(0).map_err(database)?;
                let checksum: String = row.get(1).map_err(database)?;
                let success: i64 = row.get(2).map_err(database)?;
                rows.insert(version as u64, Row { checksum, success: success != 0 });
            }
        }
        Ok(History { exists, rows })
    }

    /// The highest version with a row.
    pub fn highest(&self) -> Option<u64> {
        self.rows.keys().next_back().copied()
    }

    /// The contract's checks 1 to 5 (duplicate, dirty, ahead, missing, mismatch), each naming
    /// the lowest version that breaks it. `code` is sorted by version.
    pub fn validate(&self, code: &[&Migration]) -> Result<(), MigrateError> {
        if let Some(pair) = code.windows(2).find(|w| w[0].version == w[1].version) {
            return Err(MigrateError::DuplicateVersion(pair[0].version));
        }
        if let Some((&v, _)) = self.rows.iter().find(|(_, r)| !r.success) {
            return Err(MigrateError::Dirty(v));
        }
        let latest = code.last().map_or(0, |m| m.version);
        if let Some(applied) = self.highest().filter(|&a| a > latest) {
            return Err(MigrateError::DatabaseAhead { applied, latest });
        }
        // Check 4 for every row before check 5 for any: a missing version outranks a lower
        // mismatched one.
        let mut known = Vec::with_capacity(self.rows.len());
        for (&v, row) in &self.rows {
            let Ok(i) = code.binary_search_by_key(&v, |m| m.version) else {
                return Err(MigrateError::MissingMigration(v));
            };
            known.push((v, row, code[i]));
        }
        for (version, row, m) in known {
            let local = crate::checksum(&m.up);
            if local != row.checksum {
                return Err(MigrateError::ChecksumMismatch { version, applied: row.checksum.clone(), local });
            }
        }
        Ok(())
    }
}

/// The code's migrations sorted by version (stable, so of two with one version the first
/// listed comes first).
pub fn sorted(migrations: &[Migration]) -> Vec<&Migration> {
    let mut code: Vec<&Migration> = migrations.iter().collect();
    code.sort_by_key(|m| m.version);
    code
}
