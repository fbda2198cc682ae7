//! The grader grades: the reference earns every point, and each buggy fixture, drawn from a real
//! bug class, fails the scenario aimed at its bug. Together the fixtures fail every scenario, so
//! no scenario passes everything.

use std::collections::BTreeSet;

use crate::support::{challenge, fixture, verdict, verdicts};

/// (fixture, the scenarios that target its bug)
const BUGGY: &[(&str, &[&str])] = &[
    ("off-by-one", &["fixed-window-basics", "fixed-window-edge-burst"]),
    ("edge-burst", &["sliding-log-denies-edge-burst"]),
    ("logs-rejections", &["rejections-do-not-extend-lockout"]),
    ("window-exact-old", &["sliding-log-window-boundary"]),
    ("idle-extra-cell", &["token-bucket-no-extra-cell-after-idle"]),
    ("fraction-loss", &["token-bucket-keeps-fractions", "token-bucket-burst-then-rate"]),
    ("partial-consume", &["cost-is-all-or-nothing"]),
    ("backwards-clock", &["clock-moves-backwards", "clock-moves-backwards-bucket"]),
    ("racy", &["frozen-clock-concurrency", "frozen-clock-concurrency-bucket"]),
    ("no-cleanup", &["idle-keys-are-cleaned-up"]),
    ("slow", &["performance"]),
    ("counter-estimate-before", &["sliding-counter-weighting"]),
    ("counter-retry-window-end", &["sliding-counter-rollover-retry"]),
    ("u64-overflow", &["extreme-quotas"]),
];

#[test]
fn reference_solution_scores_full_marks() {
    let run = challenge(&["grade", "solutions/01-rate-limiter", "--format", "json"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let doc = run.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["challenge"], "rate-limiter");
    assert_eq!(sub["percent"], 100.0);
    assert_eq!(sub["level"], 5);
    assert_eq!(sub["passed"], true);
    let failing: Vec<_> = verdicts(&doc, "01-rate-limiter").into_iter().filter(|(_, v)| *v != "pass").collect();
    assert!(failing.is_empty(), "the reference failed {failing:?}");
    assert!(verdicts(&doc, "01-rate-limiter").len() >= 14);
}

#[test]
fn each_buggy_fixture_fails_the_scenario_aimed_at_its_bug() {
    let paths: Vec<String> =
        BUGGY.iter().map(|(name, _)| fixture(&format!("buggy/{name}"))).chain([fixture("buggy/correct")]).collect();
    let mut args = vec!["grade", "--challenge", "1", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let run = challenge(&args);
    // Each fixture has exactly one bug, so each still clears the 60% pass mark: exit 0.
    assert_eq!(run.code, 0, "every fixture builds and passes overall; stderr:\n{}", run.stderr);
    let doc = run.json();

    let correct = verdicts(&doc, "buggy/correct");
    assert!(correct.iter().all(|(_, v)| *v == "pass"), "the correct learner-style limiter must pass: {correct:?}");

    let mut failed_somewhere = BTreeSet::new();
    for (name, targets) in BUGGY {
        let path = format!("buggy/{name}");
        for target in *targets {
            assert_eq!(verdict(&doc, &path, target), "fail", "{name} must fail {target}");
        }
        failed_somewhere
            .extend(verdicts(&doc, &path).into_iter().filter(|(_, v)| *v != "pass").map(|(s, _)| s.to_owned()));
    }
    let every: BTreeSet<String> = correct.iter().map(|(s, _)| (*s).to_owned()).collect();
    let never_failed: Vec<_> = every.difference(&failed_somewhere).collect();
    assert!(
        never_failed.is_empty(),
        "scenarios no buggy fixture fails (a grader that passes everything proves nothing): {never_failed:?}"
    );
}

#[test]
fn hidden_failures_are_reported_without_their_steps() {
    let run = challenge(&["grade", &fixture("buggy/window-exact-old"), "--challenge", "1", "--format", "json"]);
    let doc = run.json();
    let scenario = doc["submissions"][0]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "sliding-log-window-boundary")
        .unwrap()
        .clone();
    assert_eq!(scenario["visibility"], "hidden");
    assert_eq!(scenario["verdict"], "fail");
    assert_eq!(scenario["message"], "a hidden expectation did not hold");
}

#[test]
fn reading_the_real_clock_is_named_as_the_likely_cause() {
    let message = |fixture_name: &str| {
        let run = challenge(&["test", "1", "--solution", &fixture(fixture_name), "--format", "json"]);
        let doc = run.json();
        let scenario = doc["submissions"][0]["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "fixed-window-basics")
            .unwrap()
            .clone();
        assert_eq!(scenario["verdict"], "fail", "{fixture_name}");
        scenario["message"].as_str().unwrap().to_owned()
    };
    let real_clock = message("buggy/real-clock");
    assert!(real_clock.contains("your code read the system clock"), "{real_clock}");
    assert!(real_clock.contains("not std::time::Instant"), "{real_clock}");
    // A limiter that only reads the harness clock is never told so, whatever its bug.
    let off_by_one = message("buggy/off-by-one");
    assert!(!off_by_one.contains("system clock"), "{off_by_one}");
}

#[test]
fn nothing_the_learner_chose_leaks_from_a_hidden_scenario() {
    // The template panics everywhere with a message of the learner's choosing; in hidden
    // scenarios that message must not reach any learner-facing output.
    let run = challenge(&["grade", "challenges/01-rate-limiter/template", "--challenge", "1", "--format", "json"]);
    let doc = run.json();
    let scenarios = doc["submissions"][0]["scenarios"].as_array().unwrap();
    let hidden: Vec<_> = scenarios.iter().filter(|s| s["visibility"] == "hidden").collect();
    assert!(!hidden.is_empty());
    for s in &hidden {
        assert_eq!(s["verdict"], "panic");
        assert!(!s["message"].as_str().unwrap().contains("not yet implemented"), "{s:#}");
    }
    let visible = scenarios.iter().find(|s| s["visibility"] == "visible").unwrap();
    assert!(visible["message"].as_str().unwrap().contains("not yet implemented"), "visible ones say it: {visible:#}");
    for line in run.stderr.lines().filter(|l| l.contains("(hidden)")) {
        assert!(!line.contains("not yet implemented"), "the human report hides it too: {line}");
    }
}
