//! Challenge 2's grader grades: the reference earns every point, the template scores low, and each
//! buggy cache, drawn from a real bug class, fails the scenario aimed at its bug, including the
//! bugs that only show under threads. Together the fixtures fail every scenario.

use std::collections::BTreeSet;

use crate::support::{challenge, fixture, verdict, verdicts};

/// (fixture under tests/fixtures/buggy-lru, the scenarios that target its bug)
const BUGGY: &[(&str, &[&str])] = &[
    ("get-no-promote", &["lru-order"]),
    ("peek-promotes", &["non-promoting-reads"]),
    ("replace-not-promoted", &["update-promotes"]),
    ("replace-counts-eviction", &["update-promotes"]),
    ("ttl-inclusive", &["ttl-boundary"]),
    ("overwrite-keeps-ttl", &["overwrite-resets-ttl"]),
    ("expired-cost-live", &["expired-dont-cost-live"]),
    ("len-counts-expired", &["lazy-expiry"]),
    ("expirations-on-read", &["lazy-expiry"]),
    ("resize-no-evict", &["resize-and-clear"]),
    ("clear-resets-metrics", &["resize-and-clear"]),
    ("remove-leaves-node", &["remove-and-len"]),
    ("loader-panic-poisons", &["loader-panic"]),
    ("sharded", &["differential", "zipf-hit-ratio"]),
    ("slow", &["performance"]),
    // Concurrency-only bugs: every sequential scenario passes.
    ("racy-metrics", &["concurrent-invariants"]),
    ("check-then-act-loader", &["loader-once"]),
    ("global-lock-loader", &["loader-does-not-block-others"]),
    ("split-put", &["linearizable"]),
];

/// The fixtures whose bug needs threads to show.
const CONCURRENCY_ONLY: &[&str] = &["racy-metrics", "check-then-act-loader", "global-lock-loader", "split-put"];

fn path(name: &str) -> String {
    fixture(&format!("buggy-lru/{name}"))
}

#[test]
fn reference_solution_scores_full_marks() {
    let run = challenge(&["grade", "solutions/02-lru-cache", "--format", "json"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let doc = run.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["challenge"], "lru-cache");
    let failing: Vec<_> = verdicts(&doc, "02-lru-cache").into_iter().filter(|(_, v)| *v != "pass").collect();
    assert!(failing.is_empty(), "the reference failed {failing:?}");
    assert_eq!(sub["percent"], 100.0);
    assert_eq!(sub["level"], 5);
    assert!(verdicts(&doc, "02-lru-cache").len() >= 20);
}

#[test]
fn the_template_compiles_and_scores_low() {
    let run = challenge(&["grade", "challenges/02-lru-cache/template", "--challenge", "2", "--format", "json"]);
    let doc = run.json();
    let sub = &doc["submissions"][0];
    assert_eq!(sub["passed"], false, "{sub:#}");
    assert!(sub["percent"].as_f64().unwrap() < 10.0, "{sub:#}");
    assert!(verdicts(&doc, "template").iter().all(|(_, v)| *v == "panic"), "every todo!() is reached");
}

#[test]
fn each_buggy_cache_fails_the_scenario_aimed_at_its_bug() {
    let paths: Vec<String> = BUGGY.iter().map(|(name, _)| path(name)).chain([path("correct")]).collect();
    let mut args = vec!["grade", "--challenge", "2", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let run = challenge(&args);
    let doc = run.json();

    let correct = verdicts(&doc, "buggy-lru/correct");
    assert!(correct.iter().all(|(_, v)| *v == "pass"), "the correct learner-style cache must pass: {correct:?}");

    let mut failed_somewhere = BTreeSet::new();
    for (name, targets) in BUGGY {
        let fixture = format!("buggy-lru/{name}");
        for target in *targets {
            let v = verdict(&doc, &fixture, target);
            assert!(v == "fail" || v == "panic", "{name} must fail {target}, got {v}");
        }
        let failed: Vec<&str> =
            verdicts(&doc, &fixture).into_iter().filter(|(_, v)| *v != "pass").map(|(s, _)| s).collect();
        if CONCURRENCY_ONLY.contains(name) {
            let sequential_failures: Vec<_> = failed
                .iter()
                .filter(|s| {
                    ![
                        "concurrent-invariants",
                        "loader-once",
                        "loader-does-not-block-others",
                        "linearizable",
                        "linearizable-eight-threads",
                    ]
                    .contains(s)
                })
                .collect();
            assert!(
                sequential_failures.is_empty(),
                "{name} is a concurrency-only bug, yet failed {sequential_failures:?}"
            );
        }
        failed_somewhere.extend(failed.into_iter().map(str::to_owned));
    }
    let every: BTreeSet<String> = correct.iter().map(|(s, _)| (*s).to_owned()).collect();
    let never_failed: Vec<_> = every.difference(&failed_somewhere).collect();
    assert!(
        never_failed.is_empty(),
        "scenarios no buggy cache fails (a grader that passes everything proves nothing): {never_failed:?}"
    );
}

#[test]
fn a_non_linearizable_history_is_shown_as_its_smallest_failing_piece() {
    let run = challenge(&["test", "2", "--solution", &path("split-put"), "--format", "json"]);
    let doc = run.json();
    let scenario = doc["submissions"][0]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "linearizable")
        .unwrap()
        .clone();
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let message = context(&scenario);
    assert!(message.contains("thread"), "the witness names threads and calls: {message}");
    assert!(message.contains("put("), "{message}");
}

#[test]
fn a_differential_failure_is_shrunk_to_a_replayable_trace() {
    let run = challenge(&["test", "2", "--solution", &path("sharded"), "--format", "json"]);
    let doc = run.json();
    let scenario = doc["submissions"][0]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "differential")
        .unwrap()
        .clone();
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let message = context(&scenario);
    assert!(message.contains("The same disagreement in"), "{message}");
    let steps = message.lines().filter(|l| l.trim_start().starts_with("t=")).count();
    assert!((1..=12).contains(&steps), "a shrunk trace is short, got {steps} steps:\n{message}");
    assert!(message.contains("a correct cache returns"), "{message}");
}

/// A scenario's context lines from the JSON report, as one text.
fn context(scenario: &serde_json::Value) -> String {
    let lines = scenario["context"].as_array().unwrap_or_else(|| panic!("no context in {scenario:#}"));
    lines.iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}
