//! The parent side: compares each call's result with the author's expectation, then the
//! learner's file with a correct runner's (the bytes when nothing may change, then the history
//! rows, the schema and the contents), and checks the racing rounds and the timings.

use super::database::checksum;
use super::observation::{HistoryRow, Inspection, Observation, Outcome, ReturnedError, Round};
use super::script::{Action, Check, ErrorExpect, Expect, MigrationSpec, Scenario, Script, StatusExpect, Step};
use crate::judgement::{Failure, Judgement, PanicReport};

/// The step or phase that started but never reported: what a timeout or crash interrupted.
pub fn interrupted(scenario: &Scenario, observations: &[Observation]) -> Option<String> {
    let steps: &[Step] = match &scenario.script {
        Script::Steps(steps) => steps,
        Script::Check(_) => &[],
    };
    crate::scenario::interrupted(observations, |index| steps.get(index).map(|s| s.action.describe()))
}

/// Judges one scenario from its observations, in the order the worker sent them.
pub fn judge(scenario: &Scenario, _seed: u64, observations: &[Observation]) -> Judgement {
    match &scenario.script {
        Script::Steps(steps) => judge_steps(steps, observations),
        Script::Check(Check::ConcurrentRunners { runners, migrations, .. }) => judge_race(*runners, *migrations, observations),
        Script::Check(Check::Performance { max_ratio, .. }) => judge_timing(*max_ratio, observations),
    }
}

fn judge_steps(steps: &[Step], observations: &[Observation]) -> Judgement {
    for (index, step) in steps.iter().enumerate() {
        let Some(observation) = observations.iter().find(|o| matches!(o, Observation::Step { index: i, .. } if *i == index)) else {
            return Judgement::Fail(Failure::new(format!("step {} never reported a result", index + 1)));
        };
        let Observation::Step { at, outcome, learner, model, unchanged, model_problem, .. } = observation else { unreachable!() };
        if let Outcome::Panic { message } = outcome {
            return Judgement::Panic(PanicReport::new(message.clone())).located(index + 1, *at);
        }
        let found = model_problem
            .as_ref()
            .map(|p| spec_problem(p))
            .or_else(|| compare_outcome(&step.action, outcome, model))
            .or_else(|| compare_files(&step.action, learner, model, *unchanged));
        if let Some(mut failure) = found {
            failure.summary = step.action.describe();
            return Judgement::Fail(failure).located(index + 1, *at);
        }
    }
    Judgement::Pass { note: None }
}

fn spec_problem(problem: &str) -> Failure {
    let mut failure = Failure::new("");
    failure.expected = "the grader replays this step's expected result on a file of its own".to_owned();
    failure.actual = problem.to_owned();
    failure.hint = Some("This is a mistake in the challenge's spec, not in your runner: tell the course author.".to_owned());
    failure
}

fn failure(expected: impl Into<String>, actual: impl Into<String>, hint: &str) -> Failure {
    let mut failure = Failure::new("");
    failure.expected = expected.into();
    failure.actual = actual.into();
    failure.hint = Some(hint.to_owned());
    failure
}

/// How an expected error is written in the learner's terms.
fn describe_expected(e: ErrorExpect) -> String {
    match e {
        ErrorExpect::DuplicateVersion(v) => format!("DuplicateVersion({v})"),
        ErrorExpect::Dirty(v) => format!("Dirty({v})"),
        ErrorExpect::DatabaseAhead { applied, latest } => format!("DatabaseAhead {{ applied: {applied}, latest: {latest} }}"),
        ErrorExpect::MissingMigration(v) => format!("MissingMigration({v})"),
        ErrorExpect::ChecksumMismatch(v) => format!("ChecksumMismatch {{ version: {v}, .. }}"),
        ErrorExpect::OutOfOrder { version, applied } => format!("OutOfOrder {{ version: {version}, applied: {applied} }}"),
        ErrorExpect::MissingDown(v) => format!("MissingDown({v})"),
        ErrorExpect::Failed(v) => format!("Failed {{ version: {v}, .. }}"),
        ErrorExpect::Locked => "Locked".to_owned(),
    }
}

fn error_hint(e: ErrorExpect) -> &'static str {
    match e {
        ErrorExpect::DuplicateVersion(_) => "Check the code before anything else: two migrations with one version is DuplicateVersion(that version), before the database is even read.",
        ErrorExpect::Dirty(_) => "A history row with success = 0 means a no-transaction migration failed part-way: refuse with Dirty(version) until repair() deletes the row, whatever else is pending.",
        ErrorExpect::DatabaseAhead { .. } => "If the highest applied version is above the code's highest, the database was migrated by newer code: refuse with DatabaseAhead { applied, latest } (this check comes before the missing-migration check).",
        ErrorExpect::MissingMigration(_) => "Every version in the history must still be in the code: a migration that was applied and then deleted from the code is MissingMigration(version), the lowest such version.",
        ErrorExpect::ChecksumMismatch(_) => "Compare every applied row's checksum with the SHA-256 of the code's up (CRLF turned into LF) before applying anything: an edited applied migration is ChecksumMismatch { version, applied: the row's checksum, local: the code's }.",
        ErrorExpect::OutOfOrder { .. } => "A pending version below the highest applied one is out of order: refuse with OutOfOrder { version, applied } unless allow_out_of_order is set.",
        ErrorExpect::MissingDown(_) => "Before reverting anything, check that every migration the rollback would revert has a down; name the highest one that lacks it.",
        ErrorExpect::Failed(_) => "Run each migration in its own transaction with its history row; when its SQL or its row fails, roll that transaction back and return Failed { version, message } (the earlier ones stay applied).",
        ErrorExpect::Locked => "Another runner held the database past busy_timeout: return Locked.",
    }
}

fn error_matches(e: ErrorExpect, r: &ReturnedError, code: &[MigrationSpec], model: &Inspection) -> Result<(), String> {
    let same = match (e, r) {
        (ErrorExpect::DuplicateVersion(a), ReturnedError::DuplicateVersion(b))
        | (ErrorExpect::Dirty(a), ReturnedError::Dirty(b))
        | (ErrorExpect::MissingMigration(a), ReturnedError::MissingMigration(b))
        | (ErrorExpect::MissingDown(a), ReturnedError::MissingDown(b))
        | (ErrorExpect::Failed(a), ReturnedError::Failed { version: b, .. }) => a == *b,
        (ErrorExpect::DatabaseAhead { applied, latest }, ReturnedError::DatabaseAhead { applied: a, latest: l }) => {
            applied == *a && latest == *l
        }
        (ErrorExpect::OutOfOrder { version, applied }, ReturnedError::OutOfOrder { version: v, applied: a }) => {
            version == *v && applied == *a
        }
        (ErrorExpect::Locked, ReturnedError::Locked) => true,
        (ErrorExpect::ChecksumMismatch(version), ReturnedError::ChecksumMismatch { version: v, applied, local }) => {
            if version != *v {
                false
            } else {
                let want_local = code.iter().find(|m| m.version == version).map(|m| checksum(&m.up)).unwrap_or_default();
                let want_applied =
                    model.history.iter().find(|h| h.version == version as i64).map(|h| h.checksum.clone()).unwrap_or_default();
                if *local != want_local || *applied != want_applied {
                    return Err(format!(
                        "ChecksumMismatch {{ version: {version}, applied: {want_applied:?}, local: {want_local:?} }}\0ChecksumMismatch {{ version: {version}, applied: {applied:?}, local: {local:?} }}"
                    ));
                }
                true
            }
        }
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(String::new())
    }
}

fn compare_outcome(action: &Action, outcome: &Outcome, model: &Inspection) -> Option<Failure> {
    let (expect, code, versions_hint) = match action {
        Action::Code { .. } => return None,
        Action::Status { expect, .. } => return compare_status(expect, outcome),
        Action::Migrate { expect, code, .. } => (expect, code, "migrate applies every pending migration with a version <= target (all for None), in ascending numeric order (2 before 10), and returns exactly the versions it applied; with nothing pending it returns Ok([]) and writes nothing."),
        Action::Rollback { expect, code, .. } => (expect, code, "rollback(to) reverts every applied migration above to, highest first, each down in its own transaction with deleting its row, and returns the versions it reverted in that order."),
        Action::Repair { expect, code, .. } => (expect, code, "repair deletes the history rows with success = 0, returns their versions, and changes nothing else."),
    };
    let got = outcome.describe();
    match (expect, outcome) {
        (Expect::Versions(want), Outcome::Versions(v)) if want == v => None,
        (Expect::Versions(want), _) => Some(failure(format!("returns Ok({want:?})"), format!("returns {got}"), versions_hint)),
        (Expect::Error(e), Outcome::Error(r)) => match error_matches(*e, r, code, model) {
            Ok(()) => None,
            Err(detail) if detail.contains('\0') => {
                let (want, have) = detail.split_once('\0').unwrap_or_default();
                Some(failure(format!("returns Err({want})"), format!("returns Err({have})"), error_hint(*e)))
            }
            Err(_) => Some(failure(format!("returns Err({})", describe_expected(*e)), format!("returns {got}"), error_hint(*e))),
        },
        (Expect::Error(e), _) => Some(failure(format!("returns Err({})", describe_expected(*e)), format!("returns {got}"), error_hint(*e))),
    }
}

fn compare_status(expect: &StatusExpect, outcome: &Outcome) -> Option<Failure> {
    let hint = "status puts each version in exactly one list, ascending: failed (a row with success = 0), missing (a successful row the code lacks), mismatched (a successful row whose checksum differs from the code's), applied (the rest of the rows), pending (in the code, no row). It never writes.";
    let Outcome::Status(got) = outcome else {
        let want: Vec<String> = expect.lists().iter().map(|(n, l)| format!("{n}: {l:?}")).collect();
        return Some(failure(format!("returns Ok with\n{}", want.join("\n")), format!("returns {}", outcome.describe()), hint));
    };
    let have = [&got.applied, &got.pending, &got.mismatched, &got.missing, &got.failed];
    let lists = expect.lists();
    if lists.iter().zip(have).all(|((_, want), have)| *want == &have[..]) {
        return None;
    }
    let want: Vec<String> = lists.iter().map(|(n, l)| format!("{n}: {l:?}")).collect();
    let got: Vec<String> = lists.iter().zip(have).map(|((n, _), l)| format!("{n}: {l:?}")).collect();
    Some(failure(want.join("\n"), got.join("\n"), hint))
}

fn history_lines(rows: &[HistoryRow]) -> String {
    if rows.is_empty() {
        return "(no history rows)".to_owned();
    }
    rows.iter().map(HistoryRow::describe).collect::<Vec<_>>().join("\n")
}

fn lines(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    items.join("\n")
}

fn compare_files(action: &Action, learner: &Inspection, model: &Inspection, unchanged: bool) -> Option<Failure> {
    let must_not_write = match action {
        Action::Code { .. } => false,
        Action::Status { .. } => true,
        Action::Migrate { expect, .. } | Action::Rollback { expect, .. } | Action::Repair { expect, .. } => expect.changes_nothing(),
    };
    if must_not_write && !unchanged {
        return Some(failure(
            "the database file byte-for-byte as it was before the call",
            "the file changed",
            "A refused call, a call with nothing to do, and status must not write at all: validate everything against the history before you create the history table, begin a write transaction, or apply anything.",
        ));
    }
    if let Some(problem) = &learner.problem {
        return Some(failure("a database file the grader can read", problem.clone(), "Keep the history table exactly as the brief defines it, and leave journal_mode at SQLite's default."));
    }
    if learner.history != model.history {
        return Some(failure(
            history_lines(&model.history),
            history_lines(&learner.history),
            "Each applied migration has exactly one row: its version and name, checksum = lowercase hex SHA-256 of up with CRLF turned into LF, applied_at = clock.now() when it started, execution_nanos = the clock after it minus before (0 here: virtual time stands still during a call), success = 1. A transactional migration's row is written inside its transaction, so a failure leaves no row; a no-transaction one that fails gets success = 0.",
        ));
    }
    if learner.schema != model.schema {
        let hint = match action {
            Action::Rollback { .. } => "After a rollback the schema must be what it was at the target: each down runs, highest version first, in its own transaction.",
            _ => "Your file's schema differs from a correct runner's after the same call. A migration that fails is rolled back whole (every statement, and its history row), so nothing of it is left; statements run through execute_batch in one transaction that begins before the first of them.",
        };
        return Some(failure(lines(&model.schema, "(no tables)"), lines(&learner.schema, "(no tables)"), hint));
    }
    if learner.data != model.data {
        return Some(failure(
            lines(&model.data, "(no rows)"),
            lines(&learner.data, "(no rows)"),
            "The tables' rows differ from a correct runner's. A migration flagged no_transaction must run outside any transaction: inside one, PRAGMA foreign_keys = OFF does nothing, and dropping a parent table deletes its ON DELETE CASCADE children.",
        ));
    }
    None
}

fn judge_race(runners: u32, migrations: u32, observations: &[Observation]) -> Judgement {
    let Some(Observation::Race { rounds }) = observations.iter().find(|o| matches!(o, Observation::Race { .. })) else {
        return Judgement::Fail(Failure::new("the check reported no rounds"));
    };
    let summary = format!("{runners} runners, each its own instance on its own thread, migrating one fresh file at once ({migrations} migrations)");
    let mut locked = 0;
    for (n, round) in rounds.iter().enumerate() {
        if let Some(message) = round.results.iter().chain([&round.after]).find_map(|r| match r {
            Outcome::Panic { message } => Some(message.clone()),
            _ => None,
        }) {
            return Judgement::Panic(PanicReport::new(message));
        }
        locked += round.results.iter().filter(|r| matches!(r, Outcome::Error(ReturnedError::Locked))).count();
        if let Some(broken) = race_problem(round, migrations) {
            let mut failure = Failure::new(summary);
            failure.context = vec![format!("round {} of {}", n + 1, rounds.len())];
            failure.context.extend(round.results.iter().enumerate().map(|(i, r)| format!("runner {} returned {}", i + 1, r.describe())));
            failure.expected = broken.0;
            failure.actual = broken.1;
            failure.hint = Some("Two runners read the same history and both see version v pending. Take the write lock before you decide: BEGIN IMMEDIATE for each migration (SQLite waits up to busy_timeout for the other runner), then check again inside that transaction that v is still unapplied; if it is applied now, skip it and do not report it.".to_owned());
            return Judgement::Fail(failure);
        }
    }
    Judgement::Pass {
        note: Some(format!(
            "{} rounds: each of {migrations} migrations applied exactly once ({locked} calls returned Locked)",
            rounds.len()
        )),
    }
}

/// What a round got wrong: `(expected, actual)`.
fn race_problem(round: &Round, migrations: u32) -> Option<(String, String)> {
    let all: Vec<u64> = (1..=u64::from(migrations)).collect();
    let mut applied: Vec<u64> = Vec::new();
    for (i, result) in round.results.iter().enumerate() {
        match result {
            Outcome::Versions(v) => applied.extend(v),
            Outcome::Error(ReturnedError::Locked) => {}
            other => return Some(("every runner returns Ok(versions) or Err(Locked)".to_owned(), format!("runner {} returned {}", i + 1, other.describe()))),
        }
    }
    applied.sort_unstable();
    if let Some(w) = applied.windows(2).find(|w| w[0] == w[1]) {
        return Some(("each version reported applied by one runner".to_owned(), format!("version {} reported applied by two runners", w[0])));
    }
    if applied != all {
        return Some((format!("the runners' Ok lists together: {all:?}"), format!("together: {applied:?}")));
    }
    if let Some(problem) = &round.problem {
        return Some(("a database file the grader can read".to_owned(), problem.clone()));
    }
    let twice: Vec<String> = round.logged.iter().filter(|(_, n)| *n != 1).map(|(v, n)| format!("version {v} ran {n} times")).collect();
    let logged: Vec<u64> = round.logged.iter().map(|(v, _)| *v).collect();
    if !twice.is_empty() || logged != all {
        let ran = if twice.is_empty() { format!("versions logged: {logged:?}") } else { twice.join("\n") };
        return Some(("every migration's SQL ran exactly once".to_owned(), ran));
    }
    let rows: Vec<u64> = round.history.iter().filter(|h| h.success == 1).map(|h| h.version as u64).collect();
    if rows != all || round.history.len() != all.len() {
        return Some((format!("one successful history row per version: {all:?}"), history_lines(&round.history)));
    }
    if round.after != Outcome::Versions(Vec::new()) {
        return Some(("a migrate afterwards returns Ok([])".to_owned(), format!("it returned {}", round.after.describe())));
    }
    None
}

fn judge_timing(max_ratio: f64, observations: &[Observation]) -> Judgement {
    let Some(Observation::Timing { apply_learner, apply_reference, validate_learner, validate_reference, problem, panic }) =
        observations.iter().find(|o| matches!(o, Observation::Timing { .. }))
    else {
        return Judgement::Fail(Failure::new("the performance check reported no timings"));
    };
    if let Some(message) = panic {
        return Judgement::Panic(PanicReport::new(message.clone()));
    }
    if let Some(problem) = problem {
        let mut failure = Failure::new("the performance workload: trivial migrations on a fresh file, then again");
        failure.expected = "Ok with every version, then Ok([])".to_owned();
        failure.actual = problem.clone();
        return Judgement::Fail(failure);
    }
    let hint = "Profile before guessing. Usual costs: a new connection per migration, reading the history or hashing every applied migration again for each one you apply, preparing the same INSERT 500 times instead of caching it, and sorting or searching the code's list inside a loop over it.";
    let mut notes = Vec::new();
    for (what, learner, reference) in [
        ("applying every migration to a fresh file", apply_learner, apply_reference),
        ("validating them all, already applied (10 calls)", validate_learner, validate_reference),
    ] {
        match crate::timing::compare(learner, reference, max_ratio, hint) {
            Judgement::Fail(mut failure) => {
                failure.summary = format!("{what}, timed against the reference solution");
                return Judgement::Fail(failure);
            }
            Judgement::Pass { note } => notes.push(format!("{what}: {}", note.unwrap_or_default())),
            panic @ Judgement::Panic(_) => return panic,
        }
    }
    Judgement::Pass { note: Some(notes.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspection(history: Vec<HistoryRow>) -> Inspection {
        Inspection { history, ..Inspection::default() }
    }

    fn row(version: i64, up: &str) -> HistoryRow {
        HistoryRow { version, name: String::new(), checksum: checksum(up), applied_at: 0, execution_nanos: 0, success: 1 }
    }

    #[test]
    fn a_refusal_that_wrote_fails_even_when_the_rows_agree() {
        let action = Action::Migrate { code: Vec::new(), target: None, expect: Expect::Error(ErrorExpect::Dirty(3)) };
        let same = inspection(vec![row(1, "a")]);
        assert!(compare_files(&action, &same, &same, true).is_none());
        let failure = compare_files(&action, &same, &same, false).expect("a write on a refusal fails");
        assert_eq!(failure.actual, "the file changed");
    }

    #[test]
    fn a_checksum_mismatch_must_carry_both_checksums() {
        let code = vec![MigrationSpec { key: None, version: 2, name: String::new(), up: "b2".into(), down: None, no_transaction: false }];
        let model = inspection(vec![row(2, "b")]);
        let right = ReturnedError::ChecksumMismatch { version: 2, applied: checksum("b"), local: checksum("b2") };
        assert!(error_matches(ErrorExpect::ChecksumMismatch(2), &right, &code, &model).is_ok());
        let swapped = ReturnedError::ChecksumMismatch { version: 2, applied: checksum("b2"), local: checksum("b") };
        assert!(error_matches(ErrorExpect::ChecksumMismatch(2), &swapped, &code, &model).is_err());
        assert!(error_matches(ErrorExpect::ChecksumMismatch(3), &right, &code, &model).is_err());
    }

    #[test]
    fn racing_rounds_catch_a_version_applied_twice() {
        let history: Vec<HistoryRow> = (1..=2).map(|v| row(v, "x")).collect();
        let good = Round {
            results: vec![Outcome::Versions(vec![1]), Outcome::Versions(vec![2])],
            logged: vec![(1, 1), (2, 1)],
            history: history.clone(),
            after: Outcome::Versions(Vec::new()),
            problem: None,
        };
        assert_eq!(race_problem(&good, 2), None);
        let twice = Round { results: vec![Outcome::Versions(vec![1, 2]), Outcome::Versions(vec![2])], ..good.clone() };
        assert!(race_problem(&twice, 2).is_some_and(|(_, got)| got.contains("version 2")));
        let ran_twice = Round { logged: vec![(1, 1), (2, 2)], ..good };
        assert!(race_problem(&ran_twice, 2).is_some_and(|(_, got)| got.contains("ran 2 times")));
    }

    #[test]
    fn history_rows_read_as_scenario_time() {
        let at = crate::host::EPOCH as i64 + 1_500_000_000;
        let line = HistoryRow { applied_at: at, ..row(1, "a") }.describe();
        assert!(line.contains("applied_at t=1s 500ms"), "{line}");
    }
}
