//! The grader's own SQLite: reading a database file the way the brief describes it (schema,
//! table contents, history rows), and a correct runner's file kept beside the learner's, on
//! which the grader replays each step's *expected* result. Comparing the two files after every
//! call is how a wrong schema, a lost row or a stray history entry shows, with a diff.

use std::path::Path;

use challenge_harness::{HISTORY_DDL, HISTORY_TABLE};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use super::observation::{HistoryRow, Inspection};
use super::script::{Action, ErrorExpect, Expect, MigrationSpec};

/// The brief's checksum: lowercase hex SHA-256 of `up` with every CRLF turned into LF.
pub fn checksum(up: &str) -> String {
    let digest = Sha256::digest(up.replace("\r\n", "\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn normalise(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn value(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(r) => r.to_string(),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("x'{}'", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

/// Most rows of one table a report lists; the rest are counted.
const ROWS_SHOWN: usize = 40;

/// Reads `conn`'s schema, contents and history.
fn read(conn: &Connection) -> Result<Inspection, String> {
    let e = |e: rusqlite::Error| e.to_string();
    let mut schema = Vec::new();
    let mut tables = Vec::new();
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
        .map_err(e)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?)))
        .map_err(e)?;
    let mut has_history = false;
    for row in rows {
        let (kind, name, table, sql) = row.map_err(e)?;
        if table == HISTORY_TABLE && (kind == "table" || kind == "index") {
            has_history |= kind == "table";
            continue;
        }
        if kind == "table" && !name.starts_with("sqlite_") {
            tables.push(name.clone());
        }
        schema.push(format!("{kind} {name}: {}", sql.as_deref().map_or_else(|| "(automatic)".to_owned(), normalise)));
    }
    let mut data = Vec::new();
    for table in &tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""))).map_err(e)?;
        let columns = stmt.column_count();
        let mut lines: Vec<String> = stmt
            .query_map([], |r| {
                let values: Vec<String> = (0..columns).map(|i| r.get_ref(i).map(value)).collect::<Result<_, _>>()?;
                Ok(format!("{table}: ({})", values.join(", ")))
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        lines.sort();
        if lines.len() > ROWS_SHOWN {
            let more = lines.len() - ROWS_SHOWN;
            lines.truncate(ROWS_SHOWN);
            lines.push(format!("{table}: … and {more} more rows"));
        }
        data.extend(lines);
    }
    let history = if has_history { history(conn)? } else { Vec::new() };
    Ok(Inspection { schema, data, history, problem: None })
}

fn history(conn: &Connection) -> Result<Vec<HistoryRow>, String> {
    let sql = format!(
        "SELECT version, name, checksum, applied_at, execution_nanos, success FROM {HISTORY_TABLE} ORDER BY version"
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| {
        format!("the history table {HISTORY_TABLE} cannot be read as the brief defines it ({e}): give it exactly the columns version, name, checksum, applied_at, execution_nanos, success")
    })?;
    let rows = stmt
        .query_map([], |r| {
            Ok(HistoryRow {
                version: r.get(0)?,
                name: r.get(1)?,
                checksum: r.get(2)?,
                applied_at: r.get(3)?,
                execution_nanos: r.get(4)?,
                success: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
    rows.map_err(|e| format!("a row of {HISTORY_TABLE} has a value of the wrong type ({e}): versions and times are INTEGERs, names and checksums TEXT"))
}

/// Reads the file at `path` with a read-only connection of the grader's own, writing nothing.
/// A missing or empty file reads as an empty database.
pub fn inspect(path: &Path) -> Inspection {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Inspection::default();
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let result = Connection::open_with_flags(path, flags).map_err(|e| e.to_string()).and_then(|conn| read(&conn));
    result.unwrap_or_else(|problem| Inspection { problem: Some(problem), ..Inspection::default() })
}

/// The file's bytes, a missing file reading as empty (opening one creates it empty).
pub fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// A correct runner's file: the expected result of every step replayed on it, with plain SQL.
pub struct Model {
    conn: Connection,
}

fn find(code: &[MigrationSpec], version: u64) -> Result<&MigrationSpec, String> {
    code.iter()
        .find(|m| m.version == version)
        .ok_or_else(|| format!("the expected result names version {version}, which the code does not have at this step"))
}

impl Model {
    /// A fresh model file at `path`.
    pub fn create(path: &Path) -> Result<Model, String> {
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        conn.pragma_update(None, "foreign_keys", true).map_err(|e| e.to_string())?;
        Ok(Model { conn })
    }

    /// Reads the model's file.
    pub fn inspect(&self) -> Inspection {
        read(&self.conn).unwrap_or_else(|problem| Inspection { problem: Some(problem), ..Inspection::default() })
    }

    fn applied(&self) -> Result<Vec<u64>, String> {
        let exists: bool = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE name = ?1", [HISTORY_TABLE], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)
            .map_err(|e| e.to_string())?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(&format!("SELECT version FROM {HISTORY_TABLE} ORDER BY version")).map_err(|e| e.to_string())?;
        let versions = stmt.query_map([], |r| r.get::<_, i64>(0)).and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        versions.map(|v| v.into_iter().map(|v| v as u64).collect()).map_err(|e| e.to_string())
    }

    /// Runs `sql` in one transaction with `then`, or (no-transaction) bare followed by `then`.
    fn run(&self, sql: &str, no_transaction: bool, then: &str, params: impl rusqlite::Params) -> Result<(), String> {
        let e = |e: rusqlite::Error| e.to_string();
        if no_transaction {
            self.conn.execute_batch(sql).map_err(e)?;
            return self.conn.execute(then, params).map(drop).map_err(e);
        }
        self.conn.execute_batch("BEGIN").map_err(e)?;
        let result = self.conn.execute_batch(sql).and_then(|()| self.conn.execute(then, params).map(drop));
        match result {
            Ok(()) => self.conn.execute_batch("COMMIT").map_err(e),
            Err(error) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(error.to_string())
            }
        }
    }

    fn record(m: &MigrationSpec, now: u64, success: bool) -> (String, (i64, String, String, i64, i64, i64)) {
        let insert = format!(
            "INSERT INTO {HISTORY_TABLE} (version, name, checksum, applied_at, execution_nanos, success) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        );
        (insert, (m.version as i64, m.name.clone(), checksum(&m.up), now as i64, 0, i64::from(success)))
    }

    fn up(&self, m: &MigrationSpec, now: u64) -> Result<(), String> {
        let (insert, row) = Model::record(m, now, true);
        self.run(&m.up, m.no_transaction, &insert, row)
    }

    fn down(&self, m: &MigrationSpec) -> Result<(), String> {
        let down = m.down.as_deref().ok_or_else(|| format!("the expected result reverts version {}, which has no down", m.version))?;
        let delete = format!("DELETE FROM {HISTORY_TABLE} WHERE version = ?1");
        self.run(down, m.no_transaction, &delete, [m.version as i64])
    }

    /// Replays `action`'s expected result at raw clock reading `now`.
    pub fn replay(&self, action: &Action, now: u64) -> Result<(), String> {
        let cannot = |v: u64, e: String| format!("the expected result applies version {v}, but a correct runner's file refuses it: {e}");
        match action {
            Action::Code { .. } | Action::Status { .. } => Ok(()),
            Action::Migrate { code, expect: Expect::Versions(versions), .. } => {
                if !versions.is_empty() {
                    self.conn.execute_batch(HISTORY_DDL).map_err(|e| e.to_string())?;
                }
                versions.iter().try_for_each(|&v| self.up(find(code, v)?, now).map_err(|e| cannot(v, e)))
            }
            Action::Migrate { code, target, expect: Expect::Error(ErrorExpect::Failed(failing)) } => {
                self.conn.execute_batch(HISTORY_DDL).map_err(|e| e.to_string())?;
                let applied = self.applied()?;
                let mut pending: Vec<&MigrationSpec> = code
                    .iter()
                    .filter(|m| !applied.contains(&m.version) && m.version < *failing && target.is_none_or(|t| m.version <= t))
                    .collect();
                pending.sort_by_key(|m| m.version);
                for m in pending {
                    self.up(m, now).map_err(|e| cannot(m.version, e))?;
                }
                let m = find(code, *failing)?;
                if self.up(m, now).is_ok() {
                    return Err(format!("the expected result says version {failing} fails, but it succeeds on a correct runner's file"));
                }
                if m.no_transaction {
                    let (insert, row) = Model::record(m, now, false);
                    self.conn.execute(&insert, row).map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            Action::Rollback { code, expect: Expect::Versions(versions), .. } => versions.iter().try_for_each(|&v| {
                self.down(find(code, v)?).map_err(|e| format!("the expected result reverts version {v}, but its down fails on a correct runner's file: {e}"))
            }),
            Action::Rollback { code, to, expect: Expect::Error(ErrorExpect::Failed(failing)) } => {
                let applied = self.applied()?;
                for &v in applied.iter().rev().filter(|&&v| v > *to && v > *failing) {
                    self.down(find(code, v)?)?;
                }
                match self.down(find(code, *failing)?) {
                    Ok(()) => Err(format!("the expected result says version {failing}'s down fails, but it succeeds on a correct runner's file")),
                    Err(_) => Ok(()),
                }
            }
            Action::Repair { expect: Expect::Versions(versions), .. } => versions.iter().try_for_each(|&v| {
                let sql = format!("DELETE FROM {HISTORY_TABLE} WHERE version = ?1 AND success = 0");
                match self.conn.execute(&sql, [v as i64]) {
                    Ok(1) => Ok(()),
                    Ok(_) => Err(format!("the expected result repairs version {v}, which has no failed row on a correct runner's file")),
                    Err(e) => Err(e.to_string()),
                }
            }),
            Action::Migrate { expect: Expect::Error(_), .. }
            | Action::Rollback { expect: Expect::Error(_), .. }
            | Action::Repair { expect: Expect::Error(_), .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sha256_of_the_lf_text() {
        // sha256("") is well known; CRLF and LF spellings agree, a trailing space does not.
        assert_eq!(checksum(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(checksum("a;\r\nb;"), checksum("a;\nb;"));
        assert_ne!(checksum("a;\nb;"), checksum("a;\nb; "));
    }
}
