//! Grading a class: both layouts, missing and broken crates recorded with reasons, resume after
//! a real `kill -9`, regrade flagging, shards that partition a class, merging shard gradebooks,
//! and refusing a corrupt gradebook.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{challenge, command, fresh_gradebook, repo, run, Run};

fn grade_into(gradebook: &Path, args: &[&str]) -> Run {
    let mut all = vec!["grade"];
    all.extend_from_slice(args);
    let gradebook = gradebook.display().to_string();
    all.extend(["--gradebook", &gradebook]);
    challenge(&all)
}

fn students(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = doc["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["student"].as_str().unwrap().to_owned(), s["challenge"].as_str().unwrap().to_owned()))
        .collect();
    found.sort();
    found
}

fn submission<'a>(doc: &'a serde_json::Value, student: &str) -> &'a serde_json::Value {
    doc["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["student"] == student)
        .unwrap_or_else(|| panic!("no {student}: {doc:#}"))
}

#[test]
fn a_class_directory_grades_every_student_and_records_what_is_missing_or_broken() {
    let book = fresh_gradebook();
    let out = grade_into(&book, &["tests/fixtures/class", "--format", "json"]);
    assert_eq!(out.code, 3, "carol does not build and dave has no crate: {}", out.stderr);
    let doc = out.json();
    let rl = "rate-limiter".to_owned();
    assert_eq!(
        students(&doc),
        [("alice".into(), rl.clone()), ("bob".into(), rl.clone()), ("carol".into(), rl.clone()), ("dave".into(), rl)]
    );
    assert_eq!(submission(&doc, "alice")["build"]["ok"], true);
    assert_eq!(submission(&doc, "bob")["build"]["ok"], true);
    let carol = submission(&doc, "carol");
    assert!(carol["build"]["message"].as_str().unwrap().contains("failed to compile"), "{carol:#}");
    let dave = submission(&doc, "dave");
    assert!(dave["build"]["message"].as_str().unwrap().contains("no crate for challenge 1"), "{dave:#}");

    // The gradebook holds all four, and a rerun resumes with nothing to do.
    let listed = run(command(&repo(), &["grades", "--gradebook", &book.display().to_string()]));
    for student in ["alice", "bob", "carol", "dave"] {
        assert!(listed.stdout.contains(student), "{}", listed.stdout);
    }
    let again = grade_into(&book, &["tests/fixtures/class"]);
    assert_eq!(again.stdout.matches("skipped ").count(), 2, "alice and bob built and were graded: {}", again.stdout);
}

#[test]
fn a_manifest_lists_submissions_and_missing_paths_are_recorded() {
    let out = grade_into(&fresh_gradebook(), &["tests/fixtures/class-manifest", "--format", "json"]);
    let doc = out.json();
    let erin = submission(&doc, "erin");
    assert_eq!(erin["build"]["ok"], false);
    assert!(erin["build"]["message"].as_str().unwrap().contains("does not exist"), "{erin:#}");
    assert_eq!(submission(&doc, "alice")["build"]["ok"], true);
}

#[test]
fn shards_partition_a_class_and_their_gradebooks_merge_without_duplicates() {
    let (one, two, merged) = (fresh_gradebook(), fresh_gradebook(), fresh_gradebook());
    let first = students(&grade_into(&one, &["tests/fixtures/class", "--shard", "1/2", "--format", "json"]).json());
    let second = students(&grade_into(&two, &["tests/fixtures/class", "--shard", "2/2", "--format", "json"]).json());
    let mut all: Vec<_> = first.iter().chain(&second).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), first.len() + second.len(), "no student in both shards");
    assert_eq!(all.len(), 4, "every student in some shard");

    let merge = |sources: &[&Path]| {
        let mut args: Vec<String> = vec!["grades".into(), "merge".into()];
        args.extend(sources.iter().map(|p| p.display().to_string()));
        args.extend(["--into".into(), merged.display().to_string()]);
        run(command(&repo(), &args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let out = merge(&[&one, &two]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let again = merge(&[&one, &two]);
    assert!(again.stdout.contains("0 runs added"), "{}", again.stdout);
    let exported =
        run(command(&repo(), &["grades", "export", "--format", "json", "--gradebook", &merged.display().to_string()]));
    let doc: serde_json::Value = serde_json::from_str(&exported.stdout).unwrap();
    assert_eq!(doc["students"].as_array().unwrap().len(), 4, "{doc:#}");
}

#[test]
fn a_killed_run_keeps_what_it_finished_and_a_rerun_completes_the_rest() {
    let book = fresh_gradebook();
    let mut cmd =
        command(&repo(), &["grade", "tests/fixtures/class", "--jobs", "1", "--gradebook", &book.display().to_string()]);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let graded = |book: &Path| -> i64 {
        let Ok(conn) = rusqlite::Connection::open_with_flags(book, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
            return 0;
        };
        conn.query_row("SELECT count(*) FROM grades", [], |r| r.get(0)).unwrap_or(0)
    };
    let started = Instant::now();
    while graded(&book) == 0 {
        assert!(started.elapsed() < Duration::from_secs(300), "nothing was graded in 5 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(&book).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let orphans: i64 = conn
        .query_row("SELECT count(*) FROM runs WHERE id NOT IN (SELECT run_id FROM grades)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orphans, 0, "every run written has its grade: no half-written submission");
    let before: i64 = conn.query_row("SELECT count(*) FROM grades", [], |r| r.get(0)).unwrap();
    assert!(before < 4, "the kill came mid-run ({before} of 4 graded)");
    drop(conn);

    let rerun = grade_into(&book, &["tests/fixtures/class", "--jobs", "1"]);
    assert!(rerun.stdout.contains("skipped "), "what was finished is not graded again: {}", rerun.stdout);
    let listed = run(command(&repo(), &["grades", "--gradebook", &book.display().to_string()]));
    for student in ["alice", "bob", "carol", "dave"] {
        assert!(listed.stdout.contains(student), "{}", listed.stdout);
    }
}

#[test]
fn a_regrade_that_changes_the_score_of_unchanged_source_is_flagged() {
    let book = fresh_gradebook();
    let krate = crate::support::fixture("buggy/correct");
    let first = grade_into(&book, &[&krate]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Simulate a grader change: the stored score of the same source differs from what grading gives now.
    rusqlite::Connection::open(&book).unwrap().execute("UPDATE grades SET percent = 42.0", []).unwrap();
    let regraded = grade_into(&book, &[&krate, "--regrade"]);
    assert!(regraded.stderr.contains("the same source scored 42.0% before and 100.0% now"), "{}", regraded.stderr);
    let history =
        run(command(&repo(), &["grades", "history", "correct", "1", "--gradebook", &book.display().to_string()]));
    assert!(history.stdout.contains("2 runs"), "{}", history.stdout);
    assert!(history.stdout.contains("FLAGGED: same source, different score"), "{}", history.stdout);
}

#[test]
fn a_corrupt_gradebook_is_refused_and_left_untouched() {
    let temp = tempfile::tempdir().unwrap();
    let book = temp.path().join("gradebook.db");
    std::fs::write(&book, b"definitely not sqlite\n".repeat(200)).unwrap();
    let before = std::fs::read(&book).unwrap();
    let out = grade_into(&book, &[&crate::support::fixture("buggy/correct")]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is not a readable SQLite database"), "{}", out.stderr);
    assert!(out.stderr.contains("left untouched"), "{}", out.stderr);
    assert_eq!(std::fs::read(&book).unwrap(), before);
}

#[test]
fn a_machine_format_refuses_to_silently_drop_skipped_submissions() {
    let book = fresh_gradebook();
    let krate = crate::support::fixture("buggy/correct");
    assert_eq!(grade_into(&book, &[&krate]).code, 0);
    let again = grade_into(&book, &[&krate, "--format", "json"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("pass --regrade, or a fresh --gradebook"), "{}", again.stderr);
    let regraded = grade_into(&book, &[&krate, "--format", "json", "--regrade"]);
    assert_eq!(regraded.code, 0, "{}", regraded.stderr);
    assert_eq!(regraded.json()["submissions"][0]["percent"], 100.0);
}

/// Copies fixture `name` to `to` as package `package`, with its path dependencies made absolute.
fn copy_fixture_as(name: &str, to: &Path, package: &str) {
    let from = repo().join("tests/fixtures/buggy").join(name);
    std::fs::create_dir_all(to.join("src")).unwrap();
    std::fs::copy(from.join("src/lib.rs"), to.join("src/lib.rs")).unwrap();
    let manifest = std::fs::read_to_string(from.join("Cargo.toml")).unwrap();
    let manifest = manifest
        .replace(&format!("name = \"buggy-{name}\""), &format!("name = \"{package}\""))
        .replace("\"../../../../harness\"", &format!("{:?}", repo().join("harness").display().to_string()))
        .replace("\"../limiter-base\"", &format!("{:?}", repo().join("tests/fixtures/buggy/limiter-base").display().to_string()));
    assert!(manifest.contains(package), "{manifest}");
    std::fs::write(to.join("Cargo.toml"), manifest).unwrap();
}

#[test]
fn classmates_with_the_same_crate_name_are_each_graded_on_their_own_code() {
    // Every learner starts from the same template, so crates are named alike and depend on the
    // same things. Cargo alone would call bob's older files "fresh" after alice's build and hand
    // back alice's library; bob's own code does not even compile.
    let class = tempfile::tempdir().unwrap();
    copy_fixture_as("correct", &class.path().join("alice/01-rate-limiter"), "same-name");
    let bob = class.path().join("bob/01-rate-limiter");
    copy_fixture_as("correct", &bob, "same-name");
    let lib = bob.join("src/lib.rs");
    let code = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{code}\ncompile_error!(\"bob's own code does not compile\");\n")).unwrap();
    let long_ago = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for file in ["Cargo.toml", "src/lib.rs"] {
        std::fs::File::options().write(true).open(bob.join(file)).unwrap().set_modified(long_ago).unwrap();
    }
    let out = grade_into(&fresh_gradebook(), &[&class.path().display().to_string(), "--jobs", "1", "--format", "json"]);
    let doc = out.json();
    assert_eq!(crate::support::verdict(&doc, "alice/01-rate-limiter", "fixed-window-basics"), "pass");
    let bob = submission(&doc, "bob");
    assert_eq!(bob["build"]["ok"], false, "bob's own code is what gets built: {bob:#}");
    assert_eq!(bob["percent"], 0.0);
}
