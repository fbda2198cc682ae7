//! The gradebook: an append-only SQLite history of every grading run. Each submission's run,
//! scenario results and grade are written in one transaction, so a run killed at any instant
//! leaves either all of a submission's rows or none of them.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use super::schema::{self, APPLICATION_ID, MIGRATIONS};
use crate::reporter::instructor_message;
use crate::results::{BuildOutcome, SubmissionReport};

/// Why the gradebook could not be used. None of these modify the file.
#[derive(Debug, thiserror::Error)]
pub enum GradebookError {
    /// The file is not a SQLite database, or is damaged.
    #[error("{} is not a readable SQLite database ({detail}); it was left untouched: restore it from a backup, or pass --gradebook with another path", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// SQLite's words.
        detail: String,
    },
    /// A SQLite database, but not one of ours.
    #[error("{} is a SQLite database but not a challenge gradebook (application_id {found:#x}); it was left untouched: pass --gradebook with another path", path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Its application id.
        found: i32,
    },
    /// Written by a newer version of this tool.
    #[error("{} has gradebook schema version {found}, newer than the {known} this challenge knows; upgrade challenge to use it", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// Any other SQLite failure.
    #[error("gradebook {}: {source}", path.display())]
    Sql {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// What produced a run, recorded with it.
#[derive(Clone, Debug)]
pub struct RunEnv {
    /// This tool's version.
    pub tool_version: String,
    /// The harness ABI version.
    pub harness_abi: u32,
    /// `rustc --version` of the toolchain that built the submissions.
    pub toolchain: String,
    /// The isolation in force for the workers.
    pub isolation: String,
}

/// One graded submission to record.
pub struct RunRecord<'a> {
    /// The student.
    pub student: &'a str,
    /// Hash of the crate's sources.
    pub source_hash: &'a str,
    /// The graded report.
    pub report: &'a SubmissionReport,
    /// When grading this submission began (RFC 3339).
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
}

/// One grade as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeRow {
    /// The run's row id.
    pub run_id: i64,
    /// The run's stable id (survives merges).
    pub run_uid: String,
    /// Student.
    pub student: String,
    /// Challenge slug.
    pub challenge: String,
    /// Source hash.
    pub source_hash: String,
    /// Tool version that graded it.
    pub tool_version: String,
    /// When grading ended.
    pub finished_at: String,
    /// Weighted score.
    pub score: f64,
    /// Weighted maximum.
    pub max_score: f64,
    /// Percent.
    pub percent: f64,
    /// Level 1–5.
    pub level: u8,
    /// At or above the pass mark.
    pub passed: bool,
    /// Whether the same source had been graded before with a different score.
    pub score_changed: bool,
}

/// One scenario's stored result (instructors see full messages, hidden scenarios included).
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioRow {
    /// Scenario.
    pub scenario: String,
    /// Criterion.
    pub criterion: String,
    /// `visible` or `hidden`.
    pub visibility: String,
    /// Verdict kind.
    pub verdict: String,
    /// Points earned.
    pub points: u32,
    /// Points available.
    pub max_points: u32,
    /// Full message.
    pub message: String,
}

/// What recording a run found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recorded {
    /// The new run's row id.
    pub run_id: i64,
    /// The percent of an earlier run of the same source, when it differed.
    pub changed_from: Option<f64>,
}

/// What a merge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeStats {
    /// Runs copied in.
    pub added: usize,
    /// Runs already present (same uid), skipped.
    pub already_present: usize,
}

/// An open gradebook.
pub struct Gradebook {
    conn: Connection,
    path: PathBuf,
}

const GRADE_COLUMNS: &str = "r.id, r.uid, st.name, s.challenge, s.source_hash, r.tool_version, r.finished_at,
     g.score, g.max_score, g.percent, g.level, g.passed, g.score_changed";
const GRADE_JOINS: &str = "FROM grades g JOIN runs r ON r.id = g.run_id JOIN submissions s ON s.id = r.submission_id
     JOIN students st ON st.id = s.student_id";

fn grade_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GradeRow> {
    Ok(GradeRow {
        run_id: row.get(0)?,
        run_uid: row.get(1)?,
        student: row.get(2)?,
        challenge: row.get(3)?,
        source_hash: row.get(4)?,
        tool_version: row.get(5)?,
        finished_at: row.get(6)?,
        score: row.get(7)?,
        max_score: row.get(8)?,
        percent: row.get(9)?,
        level: row.get(10)?,
        passed: row.get(11)?,
        score_changed: row.get(12)?,
    })
}

impl Gradebook {
    /// Opens (or creates) the gradebook at `path`, refusing foreign, corrupt or newer files, and
    /// migrating older ones.
    pub fn open(path: &Path) -> Result<Gradebook, GradebookError> {
        let book = Gradebook::open_checked(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        book.migrate()?;
        Ok(book)
    }

    /// Opens an existing gradebook without changing it (for merging from).
    pub fn open_read_only(path: &Path) -> Result<Gradebook, GradebookError> {
        if !path.is_file() {
            let source = rusqlite::Error::InvalidPath(path.to_owned());
            return Err(GradebookError::Sql { path: path.to_owned(), source });
        }
        let book = Gradebook::open_checked(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let version = book.version()?;
        if version > schema::latest() {
            return Err(GradebookError::Newer { path: path.to_owned(), found: version, known: schema::latest() });
        }
        if version < schema::latest() {
            return Err(book.old_schema(version));
        }
        Ok(book)
    }

    fn old_schema(&self, version: i64) -> GradebookError {
        let detail = format!("schema version {version} is older than {}; open it once with `challenge grades --gradebook {}` to migrate it", schema::latest(), self.path.display());
        GradebookError::Corrupt { path: self.path.clone(), detail }
    }

    fn open_checked(path: &Path, flags: OpenFlags) -> Result<Gradebook, GradebookError> {
        let sql = |source| GradebookError::Sql { path: path.to_owned(), source };
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        let book = Gradebook { conn, path: path.to_owned() };
        // Reading the header is the first access; a non-database file fails here, unmodified.
        let id: i32 = book.conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| book.corrupt(e))?;
        let tables: i64 =
            book.conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(|e| book.corrupt(e))?;
        if id != APPLICATION_ID && (id != 0 || tables > 0) {
            return Err(GradebookError::Foreign { path: path.to_owned(), found: id });
        }
        if tables > 0 {
            let check: String =
                book.conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| book.corrupt(e))?;
            if check != "ok" {
                return Err(GradebookError::Corrupt { path: path.to_owned(), detail: check });
            }
        }
        book.conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(sql)?;
        Ok(book)
    }

    fn corrupt(&self, e: rusqlite::Error) -> GradebookError {
        GradebookError::Corrupt { path: self.path.clone(), detail: e.to_string() }
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> GradebookError + '_ {
        move |source| GradebookError::Sql { path: self.path.clone(), source }
    }

    fn version(&self) -> Result<i64, GradebookError> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(self.sql())
    }

    fn migrate(&self) -> Result<(), GradebookError> {
        let version = self.version()?;
        if version > schema::latest() {
            return Err(GradebookError::Newer { path: self.path.clone(), found: version, known: schema::latest() });
        }
        // WAL: readers never block the writer, and a killed writer leaves the last commit intact.
        self.conn.pragma_update(None, "journal_mode", "wal").map_err(self.sql())?;
        self.conn.pragma_update(None, "synchronous", "normal").map_err(self.sql())?;
        self.conn.pragma_update(None, "foreign_keys", "on").map_err(self.sql())?;
        if version == schema::latest() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(self.sql())?;
        for (n, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(migration).map_err(self.sql())?;
            tx.pragma_update(None, "user_version", n as i64 + 1).map_err(self.sql())?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(self.sql())?;
        tx.commit().map_err(self.sql())
    }

    /// The latest grade for this exact source, graded by this tool version, if it built. A run
    /// that did not build is never reused: the cause may have been the machine (no cargo), not
    /// the code.
    pub fn already_graded(
        &self,
        student: &str,
        challenge: &str,
        source_hash: &str,
        tool_version: &str,
    ) -> Result<Option<GradeRow>, GradebookError> {
        let sql = format!(
            "SELECT {GRADE_COLUMNS} {GRADE_JOINS}
             WHERE st.name = ?1 AND s.challenge = ?2 AND s.source_hash = ?3 AND r.tool_version = ?4 AND r.build_ok
             ORDER BY r.id DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, params![student, challenge, source_hash, tool_version], grade_row)
            .optional()
            .map_err(self.sql())
    }

    /// Records one graded submission, all or nothing.
    pub fn record(&mut self, env: &RunEnv, run: &RunRecord<'_>) -> Result<Recorded, GradebookError> {
        let path = self.path.clone();
        let sql = move |source| GradebookError::Sql { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(&sql)?;
        let report = run.report;
        let previous: Option<f64> = tx
            .query_row(
                &format!(
                    "SELECT g.percent {GRADE_JOINS} WHERE st.name = ?1 AND s.challenge = ?2 AND s.source_hash = ?3
                     ORDER BY r.id DESC LIMIT 1"
                ),
                params![run.student, report.challenge.slug, run.source_hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(&sql)?;
        let submission = upsert_submission(
            &tx,
            run.student,
            &report.challenge.slug,
            run.source_hash,
            &report.path.display().to_string(),
        )
        .map_err(&sql)?;
        let (build_ok, build_log) = match &report.build {
            BuildOutcome::Built { .. } => (true, String::new()),
            BuildOutcome::Failed { message, rendered } => {
                (false, format!("{message}\n{}", rendered.as_deref().unwrap_or_default()).trim_end().to_owned())
            }
        };
        tx.execute(
            "INSERT INTO runs (uid, submission_id, tool_version, harness_abi, toolchain, isolation, started_at, finished_at, build_ok, build_log)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                new_uid(),
                submission,
                env.tool_version,
                env.harness_abi,
                env.toolchain,
                env.isolation,
                run.started_at,
                run.finished_at,
                build_ok,
                build_log
            ],
        )
        .map_err(&sql)?;
        let run_id = tx.last_insert_rowid();
        for r in &report.results {
            tx.execute(
                "INSERT INTO scenario_results (run_id, scenario, criterion, visibility, verdict, points, max_points, seed, duration_ms, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    run_id,
                    r.name,
                    r.criterion,
                    r.visibility.label(),
                    r.verdict.kind(),
                    r.points,
                    r.max_points,
                    r.seed.to_string(),
                    r.duration.as_millis() as i64,
                    instructor_message(r)
                ],
            )
            .map_err(&sql)?;
        }
        let s = &report.score;
        let changed_from = previous.filter(|p| (p - s.percent).abs() > 1e-9);
        tx.execute(
            "INSERT INTO grades (run_id, score, max_score, percent, level, passed, score_changed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![run_id, s.score, s.max_score, s.percent, s.level, s.passed, changed_from.is_some()],
        )
        .map_err(&sql)?;
        tx.commit().map_err(&sql)?;
        Ok(Recorded { run_id, changed_from })
    }

    /// The latest grade per student and challenge, by student then challenge.
    pub fn latest_grades(&self) -> Result<Vec<GradeRow>, GradebookError> {
        self.grades(
            "WHERE r.id IN (SELECT max(r2.id) FROM runs r2 JOIN grades g2 ON g2.run_id = r2.id
                            JOIN submissions s2 ON s2.id = r2.submission_id GROUP BY s2.student_id, s2.challenge)
             ORDER BY st.name, s.challenge",
            [],
        )
    }

    /// Every run of one student on one challenge, oldest first.
    pub fn history(&self, student: &str, challenge: &str) -> Result<Vec<GradeRow>, GradebookError> {
        self.grades("WHERE st.name = ?1 AND s.challenge = ?2 ORDER BY r.id", params![student, challenge])
    }

    fn grades(&self, clause: &str, params: impl rusqlite::Params) -> Result<Vec<GradeRow>, GradebookError> {
        let sql = format!("SELECT {GRADE_COLUMNS} {GRADE_JOINS} {clause}");
        let mut stmt = self.conn.prepare(&sql).map_err(self.sql())?;
        let rows = stmt.query_map(params, grade_row).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The scenario results of one run.
    pub fn scenario_results(&self, run_id: i64) -> Result<Vec<ScenarioRow>, GradebookError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT scenario, criterion, visibility, verdict, points, max_points, message
                 FROM scenario_results WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok(ScenarioRow {
                    scenario: r.get(0)?,
                    criterion: r.get(1)?,
                    visibility: r.get(2)?,
                    verdict: r.get(3)?,
                    points: r.get(4)?,
                    max_points: r.get(5)?,
                    message: r.get(6)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Copies into this gradebook every run of `other` it does not already hold (by run uid).
    pub fn merge_from(&mut self, other: &Gradebook) -> Result<MergeStats, GradebookError> {
        let path = self.path.clone();
        let sql = move |source| GradebookError::Sql { path: path.clone(), source };
        let theirs = |source| GradebookError::Sql { path: other.path.clone(), source };
        let mut stats = MergeStats::default();
        let mut runs = other
            .conn
            .prepare(
                "SELECT r.id, r.uid, st.name, s.challenge, s.source_hash, s.path, r.tool_version, r.harness_abi,
                        r.toolchain, r.isolation, r.started_at, r.finished_at, r.build_ok, r.build_log
                 FROM runs r JOIN submissions s ON s.id = r.submission_id JOIN students st ON st.id = s.student_id
                 ORDER BY r.id",
            )
            .map_err(theirs)?;
        let mut rows = runs.query([]).map_err(theirs)?;
        let tx = self.conn.transaction().map_err(&sql)?;
        while let Some(row) = rows.next().map_err(theirs)? {
            let (their_id, uid): (i64, String) = (row.get(0).map_err(theirs)?, row.get(1).map_err(theirs)?);
            let present: bool =
                tx.query_row("SELECT count(*) > 0 FROM runs WHERE uid = ?1", [&uid], |r| r.get(0)).map_err(&sql)?;
            if present {
                stats.already_present += 1;
                continue;
            }
            let get = |i: usize| row.get::<_, rusqlite::types::Value>(i).map_err(theirs);
            let (student, challenge, hash, path): (String, String, String, String) = (
                row.get(2).map_err(theirs)?,
                row.get(3).map_err(theirs)?,
                row.get(4).map_err(theirs)?,
                row.get(5).map_err(theirs)?,
            );
            let submission = upsert_submission(&tx, &student, &challenge, &hash, &path).map_err(&sql)?;
            tx.execute(
                "INSERT INTO runs (uid, submission_id, tool_version, harness_abi, toolchain, isolation, started_at, finished_at, build_ok, build_log)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![uid, submission, get(6)?, get(7)?, get(8)?, get(9)?, get(10)?, get(11)?, get(12)?, get(13)?],
            )
            .map_err(&sql)?;
            let ours = tx.last_insert_rowid();
            copy_rows(&other.conn, &tx, "scenario_results", their_id, ours).map_err(&sql)?;
            copy_rows(&other.conn, &tx, "grades", their_id, ours).map_err(&sql)?;
            stats.added += 1;
        }
        tx.commit().map_err(&sql)?;
        Ok(stats)
    }
}

fn upsert_submission(
    tx: &Transaction<'_>,
    student: &str,
    challenge: &str,
    hash: &str,
    path: &str,
) -> rusqlite::Result<i64> {
    tx.execute("INSERT INTO students (name) VALUES (?1) ON CONFLICT (name) DO NOTHING", [student])?;
    let student_id: i64 = tx.query_row("SELECT id FROM students WHERE name = ?1", [student], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO submissions (student_id, challenge, source_hash, path) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (student_id, challenge, source_hash) DO NOTHING",
        params![student_id, challenge, hash, path],
    )?;
    tx.query_row(
        "SELECT id FROM submissions WHERE student_id = ?1 AND challenge = ?2 AND source_hash = ?3",
        params![student_id, challenge, hash],
        |r| r.get(0),
    )
}

/// Copies `table`'s rows for run `from` in `source` to run `to` in `tx` (every column but run_id as is).
fn copy_rows(source: &Connection, tx: &Transaction<'_>, table: &str, from: i64, to: i64) -> rusqlite::Result<()> {
    let columns: Vec<String> = {
        let mut stmt = tx.prepare(&format!("SELECT name FROM pragma_table_info('{table}') WHERE name != 'run_id'"))?;
        let names = stmt.query_map([], |r| r.get(0))?;
        names.collect::<Result<_, _>>()?
    };
    let list = columns.join(", ");
    let placeholders: Vec<String> = (2..=columns.len() + 1).map(|i| format!("?{i}")).collect();
    let insert = format!("INSERT INTO {table} (run_id, {list}) VALUES (?1, {})", placeholders.join(", "));
    let mut select = source.prepare(&format!("SELECT {list} FROM {table} WHERE run_id = ?1"))?;
    let mut rows = select.query([from])?;
    while let Some(row) = rows.next()? {
        let mut values: Vec<rusqlite::types::Value> = vec![to.into()];
        for i in 0..columns.len() {
            values.push(row.get(i)?);
        }
        tx.execute(&insert, rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

/// A run id unique across machines and processes: merged gradebooks dedupe on it.
fn new_uid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let host = std::fs::read_to_string("/proc/sys/kernel/random/uuid").unwrap_or_default();
    let seed = format!("{nanos}-{}-{}-{host}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}{:016x}", nanos as u64, challenge_harness::ffi::fnv1a(seed.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::results::{ChallengeRef, ScenarioResult, Score};
    use crate::spec::Visibility;
    use crate::verdict::Verdict;

    fn env() -> RunEnv {
        RunEnv {
            tool_version: "0.1.0".into(),
            harness_abi: 1,
            toolchain: "rustc test".into(),
            isolation: "rlimits".into(),
        }
    }

    fn report(percent: f64) -> SubmissionReport {
        let mut result = ScenarioResult::sample("basics", Verdict::Pass { note: None });
        result.visibility = Visibility::Hidden;
        result.seed = u64::MAX;
        SubmissionReport {
            path: "class/alice/01-rate-limiter".into(),
            student: "alice".into(),
            challenge: ChallengeRef { id: 1, slug: "rate-limiter".into(), title: "t".into() },
            build: BuildOutcome::Built { duration: Duration::ZERO },
            results: vec![result],
            hidden_not_run: 0,
            score: Score {
                score: percent,
                max_score: 100.0,
                percent,
                level: 3,
                level_label: "competent".into(),
                passed: true,
                pass_percent: 60.0,
                criteria: Vec::new(),
            },
        }
    }

    fn record(book: &mut Gradebook, student: &str, hash: &str, percent: f64) -> Recorded {
        let report = report(percent);
        let run =
            RunRecord { student, source_hash: hash, report: &report, started_at: "s".into(), finished_at: "f".into() };
        book.record(&env(), &run).unwrap()
    }

    #[test]
    fn records_resumes_and_flags_a_changed_score_for_the_same_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gradebook.db");
        let mut book = Gradebook::open(&path).unwrap();
        assert_eq!(record(&mut book, "alice", "h1", 80.0).changed_from, None);
        let found = book.already_graded("alice", "rate-limiter", "h1", "0.1.0").unwrap().unwrap();
        assert_eq!(found.percent, 80.0);
        assert!(book.already_graded("alice", "rate-limiter", "h1", "0.2.0").unwrap().is_none());
        assert!(book.already_graded("alice", "rate-limiter", "h2", "0.1.0").unwrap().is_none());
        // A regrade of the same source with another score is flagged; a new source is not.
        assert_eq!(record(&mut book, "alice", "h1", 70.0).changed_from, Some(80.0));
        assert_eq!(record(&mut book, "alice", "h2", 10.0).changed_from, None);
        drop(book);
        let book = Gradebook::open(&path).unwrap();
        let history = book.history("alice", "rate-limiter").unwrap();
        assert_eq!(
            history.iter().map(|g| (g.percent, g.score_changed)).collect::<Vec<_>>(),
            [(80.0, false), (70.0, true), (10.0, false)]
        );
        let latest = book.latest_grades().unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].percent, 10.0);
        let scenarios = book.scenario_results(latest[0].run_id).unwrap();
        assert_eq!(scenarios[0].visibility, "hidden");
        assert_eq!(scenarios[0].verdict, "pass");
    }

    #[test]
    fn refuses_foreign_corrupt_and_newer_files_without_touching_them() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, b"this is not a database, it is a grocery list\n".repeat(100)).unwrap();
        let before = std::fs::read(&garbage).unwrap();
        assert!(matches!(Gradebook::open(&garbage), Err(GradebookError::Corrupt { .. })));
        assert_eq!(std::fs::read(&garbage).unwrap(), before, "never overwritten");

        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE recipes (name TEXT)").unwrap();
        let err = Gradebook::open(&foreign).err().unwrap();
        assert!(matches!(err, GradebookError::Foreign { .. }), "{err}");
        assert!(err.to_string().contains("not a challenge gradebook"));

        let newer = dir.path().join("newer.db");
        drop(Gradebook::open(&newer).unwrap());
        Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let err = Gradebook::open(&newer).err().unwrap();
        assert!(err.to_string().contains("schema version 99, newer than the 1"), "{err}");
    }

    #[test]
    fn merge_copies_each_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, into) = (dir.path().join("a.db"), dir.path().join("b.db"), dir.path().join("class.db"));
        record(&mut Gradebook::open(&a).unwrap(), "alice", "h1", 80.0);
        let mut book_b = Gradebook::open(&b).unwrap();
        record(&mut book_b, "bob", "h9", 50.0);
        record(&mut book_b, "bob", "h9", 55.0);
        drop(book_b);
        let mut class = Gradebook::open(&into).unwrap();
        for source in [&a, &b, &a] {
            class.merge_from(&Gradebook::open_read_only(source).unwrap()).unwrap();
        }
        let again = class.merge_from(&Gradebook::open_read_only(&b).unwrap()).unwrap();
        assert_eq!(again, MergeStats { added: 0, already_present: 2 });
        let latest = class.latest_grades().unwrap();
        assert_eq!(
            latest.iter().map(|g| (g.student.as_str(), g.percent)).collect::<Vec<_>>(),
            [("alice", 80.0), ("bob", 55.0)]
        );
        assert!(latest[1].score_changed, "flags survive the merge");
        assert_eq!(class.scenario_results(latest[1].run_id).unwrap().len(), 1);
    }
}
