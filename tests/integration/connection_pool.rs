//! Challenge 3's grader grades: the reference earns every point, the template scores low, and each
//! buggy pool, drawn from a real bug class, fails the scenario aimed at its bug, including the
//! bugs that only show under threads or against a deadline. Together the fixtures fail every
//! scenario, and a hang is reported as the call that never returned.

use std::collections::BTreeSet;

use crate::support::{challenge, fixture, verdict, verdicts};

/// (fixture under tests/fixtures/buggy-pool, the scenarios that target its bug)
const BUGGY: &[(&str, &[&str])] = &[
    ("check-then-increment", &["max-size-under-chaos"]),
    ("timed-out-waiter-leaks", &["timed-out-waiter-skipped"]),
    ("broken-no-wake", &["broken-wakes-waiters"]),
    ("per-attempt-timeout", &["timeout-is-a-deadline"]),
    ("lifo-waiters", &["fifo-wakeups"]),
    ("dirty-after-panic", &["panic-while-holding"]),
    ("no-checkout-ping", &["health-check-on-checkout"]),
    ("reap-below-min-idle", &["idle-reaping"]),
    ("fifo-idle-reuse", &["idle-reaping", "lifo-reuse"]),
    ("lifetime-unchecked-on-return", &["max-lifetime"]),
    ("close-strands-waiters", &["graceful-close"]),
    ("factory-error-leaks-slot", &["factory-failure-then-recovery"]),
    ("connect-under-lock", &["slow-connect-does-not-block"]),
    ("uncounted-invalid", &["health-check-on-checkout"]),
    ("slow", &["performance"]),
];

/// Scripted scenarios run on one thread, with no real-time race in them.
const SEQUENTIAL: &[&str] = &[
    "lifo-reuse",
    "size-limit",
    "broken-on-return",
    "health-check-on-checkout",
    "min-idle",
    "idle-reaping",
    "max-lifetime",
    "factory-failure-then-recovery",
    "panic-while-holding",
    "close-rules",
    "exact-stats",
];

/// The fixtures whose bug needs threads (or a racing deadline) to show.
const CONCURRENCY_ONLY: &[&str] =
    &["check-then-increment", "timed-out-waiter-leaks", "broken-no-wake", "lifo-waiters", "connect-under-lock"];

fn path(name: &str) -> String {
    fixture(&format!("buggy-pool/{name}"))
}

#[test]
fn reference_solution_scores_full_marks() {
    let run = challenge(&["grade", "solutions/03-connection-pool", "--format", "json"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let doc = run.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["challenge"], "connection-pool");
    let failing: Vec<_> = verdicts(&doc, "03-connection-pool").into_iter().filter(|(_, v)| *v != "pass").collect();
    assert!(failing.is_empty(), "the reference failed {failing:?}");
    assert_eq!(sub["percent"], 100.0);
    assert_eq!(sub["level"], 5);
    assert!(verdicts(&doc, "03-connection-pool").len() >= 20);
}

#[test]
fn the_template_compiles_and_scores_low() {
    let run = challenge(&["grade", "challenges/03-connection-pool/template", "--challenge", "3", "--format", "json"]);
    let doc = run.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["passed"], false, "{sub:#}");
    assert!(sub["percent"].as_f64().unwrap() < 10.0, "{sub:#}");
    assert!(verdicts(&doc, "template").iter().all(|(_, v)| *v == "panic"), "every todo!() is reached");
}

#[test]
fn each_buggy_pool_fails_the_scenario_aimed_at_its_bug() {
    let paths: Vec<String> = BUGGY.iter().map(|(name, _)| path(name)).chain([path("correct")]).collect();
    let mut args = vec!["grade", "--challenge", "3", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let run = challenge(&args);
    let doc = run.json();

    let correct = verdicts(&doc, "buggy-pool/correct");
    assert!(correct.iter().all(|(_, v)| *v == "pass"), "the correct learner-style pool must pass: {correct:?}");

    let mut failed_somewhere = BTreeSet::new();
    for (name, targets) in BUGGY {
        let fixture = format!("buggy-pool/{name}");
        for target in *targets {
            let v = verdict(&doc, &fixture, target);
            assert!(v == "fail" || v == "panic", "{name} must fail {target}, got {v}");
        }
        let failed: Vec<&str> =
            verdicts(&doc, &fixture).into_iter().filter(|(_, v)| *v != "pass").map(|(s, _)| s).collect();
        if CONCURRENCY_ONLY.contains(name) {
            let sequential: Vec<_> = failed.iter().filter(|s| SEQUENTIAL.contains(s)).collect();
            assert!(sequential.is_empty(), "{name} is a concurrency-only bug, yet failed {sequential:?}");
        }
        failed_somewhere.extend(failed.into_iter().map(str::to_owned));
    }
    let every: BTreeSet<String> = correct.iter().map(|(s, _)| (*s).to_owned()).collect();
    let never_failed: Vec<_> = every.difference(&failed_somewhere).collect();
    assert!(
        never_failed.is_empty(),
        "scenarios no buggy pool fails (a grader that passes everything proves nothing): {never_failed:?}"
    );
}

#[test]
fn a_failing_step_names_the_call_the_virtual_time_and_the_factorys_count() {
    let run = challenge(&["test", "3", "--solution", &path("lifetime-unchecked-on-return"), "--format", "json"]);
    let doc = run.json();
    let scenario = scenario(&doc, "max-lifetime");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    assert!(text.contains("open: 1") && text.contains("open: 2"), "expected and actual counts: {text}");
    assert!(text.contains("30m"), "the virtual time of the step: {text}");
    assert!(text.contains("the factory's own count"), "the host's ledger: {text}");
}

#[test]
fn a_dirty_connection_handed_out_is_named_by_the_hosts_ledger() {
    let run = challenge(&["test", "3", "--solution", &path("dirty-after-panic"), "--format", "json"]);
    let doc = run.json();
    let scenario = scenario(&doc, "panic-while-holding");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    assert!(text.contains("transaction still open") || text.contains("closed_broken"), "{text}");
}

/// One scenario of the first submission's JSON report.
fn scenario(doc: &serde_json::Value, name: &str) -> serde_json::Value {
    doc["submissions"][0]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name} in {doc:#}"))
        .clone()
}
