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
    assert!(
        started
            .stdout
            .contains(&temp.path().canonicalize().unwrap().join("01-rate-limiter/src/lib.rs").display().to_string()),
        "an absolute path a terminal can open: {}",
        started.stdout
    );

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
    assert!(listed.stdout.contains("best 0% in 1 tries"), "progress is recorded after a test: {}", listed.stdout);
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
fn each_hint_call_reveals_one_more_and_the_failing_scenario_comes_first() {
    let temp = tempfile::tempdir().unwrap();
    let catalog = crate::support::repo().display().to_string();
    let hint = || run(command(temp.path(), &["--catalog", &catalog, "hint", "1"]));
    let first = hint();
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.starts_with("Hint, tier 1:\n"), "{}", first.stdout);
    assert!(first.stdout.contains("1 of 8 hints shown"), "{}", first.stdout);
    let second = hint();
    assert!(second.stdout.starts_with("Hint, tier 1 (for scenario fixed-window-basics)"), "{}", second.stdout);
    assert!(second.stdout.contains("2 of 8 hints shown"), "{}", second.stdout);

    // After a test whose first failure is the sliding log's edge burst, that scenario's hint is
    // next, although gentler tiers remain.
    let failing = run(command(
        temp.path(),
        &["--catalog", &catalog, "test", "1", "--solution", &repo_path("tests/fixtures/buggy/logs-rejections")],
    ));
    assert_eq!(failing.code, 1);
    let third = hint();
    assert!(
        third.stdout.starts_with("Hint, tier 2 (for scenario rejections-do-not-extend-lockout)"),
        "{}",
        third.stdout
    );

    let all = run(command(temp.path(), &["--catalog", &catalog, "hint", "1", "--all"]));
    assert_eq!(all.stdout.matches("Hint, tier").count(), 8, "{}", all.stdout);
}

fn repo_path(rel: &str) -> String {
    crate::support::repo().join(rel).display().to_string()
}

#[test]
fn the_reference_solution_waits_until_the_learner_has_passed() {
    let temp = tempfile::tempdir().unwrap();
    let catalog = crate::support::repo().display().to_string();
    let refused = run(command(temp.path(), &["--catalog", &catalog, "solution", "1"]));
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("shown once every visible scenario passes"), "{}", refused.stderr);
    let forced = run(command(temp.path(), &["--catalog", &catalog, "solution", "1", "--force"]));
    assert_eq!(forced.code, 0);
    assert!(forced.stderr.contains("you have not passed challenge 1 yet"), "{}", forced.stderr);
    assert!(forced.stdout.contains("impl RateLimiter for"), "the reference's code is shown");
    let passing = run(command(
        temp.path(),
        &["--catalog", &catalog, "test", "1", "--solution", &repo_path("solutions/01-rate-limiter")],
    ));
    assert_eq!(passing.code, 0, "{}", passing.stdout);
    let shown = run(command(temp.path(), &["--catalog", &catalog, "solution", "1"]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(!shown.stderr.contains("warning"), "{}", shown.stderr);
    let progress = run(command(temp.path(), &["--catalog", &catalog, "progress"]));
    assert!(progress.stdout.contains("passed (1 tries)"), "{}", progress.stdout);
    let challenges = std::fs::read_dir(crate::support::repo().join("challenges"))
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().join("challenge.toml").is_file()))
        .count();
    assert!(progress.stdout.contains(&format!("1 of {challenges} challenges passed")), "{}", progress.stdout);
}

#[test]
fn reset_restores_the_template_after_asking() {
    let temp = tempfile::tempdir().unwrap();
    let catalog = crate::support::repo().display().to_string();
    assert_eq!(run(command(temp.path(), &["--catalog", &catalog, "start", "1"])).code, 0);
    let lib = temp.path().join("01-rate-limiter/src/lib.rs");
    let template = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, "// my work in progress\n").unwrap();
    let refused = run(command(temp.path(), &["--catalog", &catalog, "reset", "1"]));
    assert_eq!(refused.code, 2, "no terminal to ask on, and no --yes");
    assert!(refused.stderr.contains("pass --yes"), "{}", refused.stderr);
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), "// my work in progress\n", "nothing changed");
    let reset = run(command(temp.path(), &["--catalog", &catalog, "reset", "1", "--yes"]));
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), template);
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
