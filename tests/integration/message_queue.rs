//! Challenge 4's grader grades: the reference earns every point, the template scores low, and each
//! buggy queue, drawn from a real bug class, fails the scenario aimed at its bug, including those
//! that only show under concurrent consumers. Together the fixtures fail every scenario, and a
//! broken property names the message and prints its history.

use std::collections::BTreeSet;

use crate::support::{challenge, fixture, verdict, verdicts};

/// (fixture under tests/fixtures/buggy-queue, the scenarios that target its bug)
const BUGGY: &[(&str, &[&str])] = &[
    ("ack-on-receive", &["consumer-crash", "retry-budget"]),
    ("retry-off-by-one", &["retry-budget"]),
    ("expiry-not-counted", &["consumer-crash"]),
    ("no-lease-expiry", &["visibility-timeout"]),
    ("ack-without-ownership", &["stale-ack-fencing"]),
    ("non-atomic-dead-letter", &["fault-storm"]),
    ("redrive-keeps-attempts", &["redrive"]),
    ("redrive-duplicates", &["redrive"]),
    ("lease-from-enqueue", &["visibility-timeout"]),
    ("no-backoff", &["backoff-schedule"]),
    ("head-of-line", &["poison-does-not-block"]),
    ("retried-not-counted-on-expiry", &["stats-checkpoints"]),
    ("split-receive", &["no-failure-exactly-once"]),
    ("slow", &["performance"]),
];

/// The fixtures whose bug needs concurrent consumers to show.
const CONCURRENCY_ONLY: &[&str] = &["non-atomic-dead-letter", "split-receive"];

/// The scenarios that run on one thread.
const SEQUENTIAL: &[&str] = &[
    "fifo-happy-path",
    "delayed-enqueue",
    "redrive",
    "dead-letter-record",
    "stats-checkpoints",
    "retry-budget",
    "visibility-timeout",
    "stale-ack-fencing",
    "backoff-schedule",
    "immediate-dead-letter",
    "consumer-crash",
    "poison-does-not-block",
];

fn path(name: &str) -> String {
    fixture(&format!("buggy-queue/{name}"))
}

#[test]
fn reference_solution_scores_full_marks() {
    let run = challenge(&["grade", "solutions/04-dead-letter-queue", "--format", "json"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let doc = run.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["challenge"], "dead-letter-queue");
    let failing: Vec<_> = verdicts(&doc, "04-dead-letter-queue").into_iter().filter(|(_, v)| *v != "pass").collect();
    assert!(failing.is_empty(), "the reference failed {failing:?}");
    assert_eq!(sub["percent"], 100.0);
    assert_eq!(sub["level"], 5);
    assert!(verdicts(&doc, "04-dead-letter-queue").len() >= 15);
}

#[test]
fn the_template_compiles_and_scores_low() {
    let run = challenge(&["grade", "challenges/04-dead-letter-queue/template", "--challenge", "4", "--format", "json"]);
    let doc = run.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["passed"], false, "{sub:#}");
    assert!(sub["percent"].as_f64().unwrap() < 10.0, "{sub:#}");
    assert!(verdicts(&doc, "template").iter().all(|(_, v)| *v == "panic"), "every todo!() is reached");
}

#[test]
fn each_buggy_queue_fails_the_scenario_aimed_at_its_bug() {
    let paths: Vec<String> = BUGGY.iter().map(|(name, _)| path(name)).chain([path("correct")]).collect();
    let mut args = vec!["grade", "--challenge", "4", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let run = challenge(&args);
    let doc = run.json();

    let correct = verdicts(&doc, "buggy-queue/correct");
    assert!(correct.iter().all(|(_, v)| *v == "pass"), "the correct learner-style queue must pass: {correct:?}");

    let mut failed_somewhere = BTreeSet::new();
    for (name, targets) in BUGGY {
        let fixture = format!("buggy-queue/{name}");
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
        "scenarios no buggy queue fails (a grader that passes everything proves nothing): {never_failed:?}"
    );
}

#[test]
fn a_broken_property_names_the_message_and_prints_its_history() {
    let run = challenge(&["test", "4", "--solution", &path("split-receive"), "--format", "json"]);
    let doc = run.json();
    let scenario = doc["submissions"][0]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "no-failure-exactly-once")
        .unwrap()
        .clone();
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    assert!(text.contains("'s history ("), "the failing message's history: {text}");
    assert!(text.contains("delivered, attempt 1, token"), "{text}");
}
