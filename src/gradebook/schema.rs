//! The gradebook's schema, as numbered migrations. `PRAGMA user_version` holds how many have been
//! applied; `PRAGMA application_id` marks the file as ours, so a foreign database is refused.

/// "CHLG": marks a SQLite file as a challenge gradebook.
pub const APPLICATION_ID: i32 = 0x4348_4c47;

/// Migration `n` (0-based) takes the schema from version `n` to `n + 1`. Append only: never edit
/// a migration that has shipped.
pub const MIGRATIONS: &[&str] = &[
    // 1: students, submissions (by source hash), runs (with their environment), scenario results and grades.
    "
    CREATE TABLE students (
        id   INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE submissions (
        id          INTEGER PRIMARY KEY,
        student_id  INTEGER NOT NULL REFERENCES students(id),
        challenge   TEXT NOT NULL,
        source_hash TEXT NOT NULL,
        path        TEXT NOT NULL,
        UNIQUE (student_id, challenge, source_hash)
    );
    CREATE TABLE runs (
        id            INTEGER PRIMARY KEY,
        uid           TEXT NOT NULL UNIQUE,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        tool_version  TEXT NOT NULL,
        harness_abi   INTEGER NOT NULL,
        toolchain     TEXT NOT NULL,
        isolation     TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT NOT NULL,
        build_ok      INTEGER NOT NULL,
        build_log     TEXT NOT NULL
    );
    CREATE INDEX runs_by_submission ON runs(submission_id);
    CREATE TABLE scenario_results (
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        scenario    TEXT NOT NULL,
        criterion   TEXT NOT NULL,
        visibility  TEXT NOT NULL,
        verdict     TEXT NOT NULL,
        points      INTEGER NOT NULL,
        max_points  INTEGER NOT NULL,
        seed        TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        message     TEXT NOT NULL,
        PRIMARY KEY (run_id, scenario)
    );
    CREATE TABLE grades (
        run_id        INTEGER PRIMARY KEY REFERENCES runs(id),
        score         REAL NOT NULL,
        max_score     REAL NOT NULL,
        percent       REAL NOT NULL,
        level         INTEGER NOT NULL,
        passed        INTEGER NOT NULL,
        score_changed INTEGER NOT NULL DEFAULT 0
    );
    ",
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
