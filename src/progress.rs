//! A learner's progress, in a small SQLite file next to their crates (`.challenge/progress.db`):
//! per challenge, when it was started, attempts, the best visible score, the first pass, the
//! scenario the last test failed first, and which hints have been revealed.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

/// The schema, by version (see `PRAGMA user_version`). Append only.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE challenges (
        slug           TEXT PRIMARY KEY,
        started_at     TEXT,
        attempts       INTEGER NOT NULL DEFAULT 0,
        best_percent   REAL,
        first_pass_at  TEXT,
        last_failing   TEXT,
        hints_revealed TEXT NOT NULL DEFAULT ''
    );
"];

/// The progress store could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the progress file {}: {detail}; move it aside to start afresh (your crates are not affected)", path.display())]
pub struct ProgressError {
    path: PathBuf,
    detail: String,
}

/// Where a learner stands on one challenge.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Never started.
    NotStarted,
    /// Started, never tested.
    Started,
    /// Tested, not yet passing.
    Attempted {
        /// Tests run.
        attempts: u32,
        /// Best visible percent.
        best: f64,
    },
    /// Every visible scenario has passed at least once.
    Passed {
        /// Tests run.
        attempts: u32,
        /// Best visible percent.
        best: f64,
        /// When it first passed.
        first_pass_at: String,
    },
}

impl Status {
    /// A short label for listings.
    pub fn label(&self) -> String {
        match self {
            Status::NotStarted => "not started".to_owned(),
            Status::Started => "started".to_owned(),
            Status::Attempted { attempts, best } => format!("best {best:.0}% in {attempts} tries"),
            Status::Passed { attempts, .. } => format!("passed ({attempts} tries)"),
        }
    }
}

/// The store, opened in the current directory.
pub struct Progress {
    conn: Connection,
    path: PathBuf,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Progress {
    /// Opens (creating if needed) `.challenge/progress.db` under `dir`.
    pub fn open_in(dir: &Path) -> Result<Progress, ProgressError> {
        let path = dir.join(".challenge").join("progress.db");
        let fail = |detail: String| ProgressError { path: path.clone(), detail };
        std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| fail(e.to_string()))?;
        let conn = Connection::open(&path).map_err(|e| fail(e.to_string()))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| fail(e.to_string()))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(fail(format!("it was written by a newer challenge (schema {version})")));
        }
        for (n, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            conn.execute_batch(migration).map_err(|e| fail(e.to_string()))?;
            conn.pragma_update(None, "user_version", n as i64 + 1).map_err(|e| fail(e.to_string()))?;
        }
        Ok(Progress { conn, path })
    }

    /// Opens the store of the learner workspace around the current directory, or else the one
    /// in the current directory.
    pub fn open() -> Result<Progress, ProgressError> {
        match crate::workspace::Workspace::current() {
            Some(workspace) => Progress::open_in(workspace.root()),
            None => Progress::open_in(Path::new(".")),
        }
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> ProgressError + '_ {
        move |e| ProgressError { path: self.path.clone(), detail: e.to_string() }
    }

    fn ensure(&self, slug: &str) -> Result<(), ProgressError> {
        self.conn
            .execute("INSERT INTO challenges (slug) VALUES (?1) ON CONFLICT DO NOTHING", [slug])
            .map_err(self.fail())?;
        Ok(())
    }

    /// Records that the learner started `slug` (keeps the first time).
    pub fn started(&self, slug: &str) -> Result<(), ProgressError> {
        self.ensure(slug)?;
        self.conn
            .execute(
                "UPDATE challenges SET started_at = coalesce(started_at, ?2) WHERE slug = ?1",
                params![slug, now()],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    /// Records one `test` run.
    pub fn record_test(
        &self,
        slug: &str,
        percent: f64,
        all_passed: bool,
        first_failing: Option<&str>,
    ) -> Result<(), ProgressError> {
        self.started(slug)?;
        self.conn
            .execute(
                "UPDATE challenges SET attempts = attempts + 1, best_percent = max(coalesce(best_percent, 0), ?2),
                 first_pass_at = CASE WHEN ?3 THEN coalesce(first_pass_at, ?4) ELSE first_pass_at END,
                 last_failing = ?5 WHERE slug = ?1",
                params![slug, percent, all_passed, now(), first_failing],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    /// Records one `test` (or `watch`) run from its report.
    pub fn record_report(&self, slug: &str, report: &crate::results::SubmissionReport) -> Result<(), ProgressError> {
        let first_failing = report.results.iter().find(|r| !r.verdict.is_pass()).map(|r| r.name.as_str());
        self.record_test(slug, report.score.percent, first_failing.is_none(), first_failing)
    }

    /// The hint to reveal next: the one written for the scenario the last test failed first,
    /// if still unseen; else the gentlest unseen one. `None` once all are seen.
    pub fn next_hint(&self, slug: &str, hints: &[crate::spec::Hint]) -> Result<Option<usize>, ProgressError> {
        let revealed = self.revealed(slug)?;
        let failing = self.last_failing(slug)?;
        let unseen = |i: &usize| !revealed.contains(i);
        Ok((0..hints.len())
            .filter(unseen)
            .find(|&i| failing.is_some() && hints[i].scenario == failing)
            .or_else(|| (0..hints.len()).find(unseen)))
    }

    /// Where the learner stands on `slug`.
    pub fn status(&self, slug: &str) -> Result<Status, ProgressError> {
        let row = self
            .conn
            .query_row(
                "SELECT started_at, attempts, best_percent, first_pass_at FROM challenges WHERE slug = ?1",
                [slug],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, Option<f64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(self.fail())?;
        Ok(match row {
            None | Some((None, 0, _, None)) => Status::NotStarted,
            Some((_, attempts, best, Some(first_pass_at))) => {
                Status::Passed { attempts, best: best.unwrap_or(100.0), first_pass_at }
            }
            Some((_, 0, _, None)) => Status::Started,
            Some((_, attempts, best, None)) => Status::Attempted { attempts, best: best.unwrap_or(0.0) },
        })
    }

    /// The scenario the last test failed first, if it failed.
    pub fn last_failing(&self, slug: &str) -> Result<Option<String>, ProgressError> {
        let found = self
            .conn
            .query_row("SELECT last_failing FROM challenges WHERE slug = ?1", [slug], |r| r.get::<_, Option<String>>(0))
            .optional()
            .map_err(self.fail())?;
        Ok(found.flatten())
    }

    /// Indices of the hints already revealed, in the order they were.
    pub fn revealed(&self, slug: &str) -> Result<Vec<usize>, ProgressError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT hints_revealed FROM challenges WHERE slug = ?1", [slug], |r| r.get(0))
            .optional()
            .map_err(self.fail())?;
        Ok(text.unwrap_or_default().split(',').filter_map(|n| n.parse().ok()).collect())
    }

    /// Records that hint `index` is revealed.
    pub fn reveal(&self, slug: &str, index: usize) -> Result<(), ProgressError> {
        let mut revealed = self.revealed(slug)?;
        if !revealed.contains(&index) {
            revealed.push(index);
        }
        self.ensure(slug)?;
        let text = revealed.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        self.conn
            .execute("UPDATE challenges SET hints_revealed = ?2 WHERE slug = ?1", params![slug, text])
            .map_err(self.fail())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_goes_from_not_started_to_passed_and_remembers_hints() {
        let dir = tempfile::tempdir().unwrap();
        let p = Progress::open_in(dir.path()).unwrap();
        assert_eq!(p.status("rl").unwrap(), Status::NotStarted);
        p.started("rl").unwrap();
        assert_eq!(p.status("rl").unwrap(), Status::Started);
        p.record_test("rl", 40.0, false, Some("fixed-window-basics")).unwrap();
        assert_eq!(p.status("rl").unwrap(), Status::Attempted { attempts: 1, best: 40.0 });
        assert_eq!(p.last_failing("rl").unwrap().as_deref(), Some("fixed-window-basics"));
        p.record_test("rl", 100.0, true, None).unwrap();
        p.record_test("rl", 90.0, false, Some("performance")).unwrap();
        assert!(matches!(p.status("rl").unwrap(), Status::Passed { attempts: 3, best, .. } if best == 100.0));
        p.reveal("rl", 2).unwrap();
        p.reveal("rl", 0).unwrap();
        p.reveal("rl", 2).unwrap();
        drop(p);
        assert_eq!(Progress::open_in(dir.path()).unwrap().revealed("rl").unwrap(), [2, 0]);
    }
}
