//! The learner's path: list, show, start, test, hint.

use crate::support::{command, redact, run};

#[test]
fn start_then_test_the_template_reports_what_to_implement() {
    let temp = tempfile::tempdir().unwrap();
    let repo = crate::support::repo();
    let catalog = repo.display().to_string();

    let started = run(command(temp.path(), &["--catalog", &catalog, "start", "1"]));
    assert_eq!(started.code, 0, "{}", started.stderr);
    let manifest = std::fs::read_to_string(temp.path().join("01-rate-limiter/Cargo.toml")).unwrap();
    let harness = repo.join("harness").canonicalize().unwrap();
    assert!(manifest.contains(&format!("path = {:?}", harness.display().to_string())), "{manifest}");
    assert!(started.stdout.contains("challenge test 1"), "{}", started.stdout);

    let again = run(command(temp.path(), &["--catalog", &catalog, "start", "1"]));
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("never overwritten"), "{}", again.stderr);

    let tested = run(command(temp.path(), &["--catalog", &catalog, "test", "1"]));
    assert_eq!(tested.code, 1, "the template builds and fails: {}", tested.stderr);
    let out = redact(&tested.stdout, temp.path());
    assert!(out.contains("✗ panic        fixed-window-basics"), "{out}");
    assert!(out.contains("your code panicked: not yet implemented: try_acquire"), "{out}");
    assert!(out.contains("step 1 at t=0s"), "{out}");
    assert!(out.contains("hidden scenarios run only in `challenge grade`"), "{out}");
    assert!(out.contains("next: fix the first failure above, or run `challenge hint 1`"), "{out}");
    assert!(!out.contains("sliding-log-window-boundary"), "hidden scenarios do not run in test: {out}");

    let listed = run(command(temp.path(), &["--catalog", &catalog, "list"]));
    assert!(listed.stdout.contains("rate-limiter"), "{}", listed.stdout);
    assert!(listed.stdout.contains("best 0%"), "progress is recorded after a test: {}", listed.stdout);
}

#[test]
fn test_without_a_solution_says_how_to_start() {
    let temp = tempfile::tempdir().unwrap();
    let catalog = crate::support::repo().display().to_string();
    let run = run(command(temp.path(), &["--catalog", &catalog, "test", "rate-limiter"]));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("run `challenge start 1` first"), "{}", run.stderr);
}

#[test]
fn hints_come_in_tiers() {
    let first = crate::support::challenge(&["hint", "1"]);
    assert_eq!(first.code, 0);
    assert!(first.stdout.contains("Hint, tier 1"), "{}", first.stdout);
    assert!(!first.stdout.contains("Hint, tier 2"), "{}", first.stdout);
    assert!(first.stdout.contains("challenge hint 1 --tier 2"), "{}", first.stdout);
    let all = crate::support::challenge(&["hint", "1", "--all"]);
    assert!(all.stdout.contains("Hint, tier 3 (for scenario sliding-counter-rollover-retry)"), "{}", all.stdout);
}

#[test]
fn show_prints_the_brief_and_rubric_and_unknown_challenges_are_named() {
    let shown = crate::support::challenge(&["show", "rate-limiter"]);
    assert_eq!(shown.code, 0);
    assert!(shown.stdout.contains("## Conventions"), "{}", shown.stdout);
    assert!(shown.stdout.contains("correctness"), "{}", shown.stdout);
    let unknown = crate::support::challenge(&["show", "42"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("no challenge \"42\""), "{}", unknown.stderr);
}
