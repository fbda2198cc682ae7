//! What cannot be built is reported with a fix, and never silently skipped.

use crate::support::{challenge, command, fixture, repo, run};

#[test]
fn missing_cargo_is_named() {
    let mut cmd = command(&repo(), &["test", "1", "--solution", &fixture("buggy/correct")]);
    cmd.env("CARGO", "/nonexistent/cargo");
    let out = run(cmd);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stdout.contains("failed to run `/nonexistent/cargo`: it is not installed or not on PATH"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_student_without_a_crate_is_recorded_as_missing() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(temp.path().join("alice/notes")).unwrap();
    // With no crate anywhere to name the challenge, the instructor names it.
    let out = challenge(&["grade", &temp.path().display().to_string(), "--challenge", "1", "--format", "json"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let doc = out.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["student"], "alice");
    assert_eq!(sub["build"]["ok"], false);
    assert!(sub["build"]["message"].as_str().unwrap().contains("no crate for challenge 1"), "{doc:#}");
    assert_eq!(sub["percent"], 0.0);
}

#[test]
fn grade_needs_to_know_the_challenge() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir(temp.path().join("alice")).unwrap();
    // With one challenge in the catalogue the name need not match; with a bad --challenge it must fail.
    let out = challenge(&["grade", &temp.path().display().to_string(), "--challenge", "nope"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no challenge \"nope\""), "{}", out.stderr);
}
