//! Challenge 2's grader grades: the reference earns every point, the template scores low, and each
//! buggy cache, drawn from a real bug class, fails the scenario aimed at its bug, including the
//! bugs that only show under threads. Together the fixtures fail every scenario.

use crate::support::{alone, challenge, Grader};

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

/// The scenarios whose failures need threads.
const CONCURRENT: &[&str] = &[
    "concurrent-invariants",
    "loader-once",
    "loader-does-not-block-others",
    "linearizable",
    "linearizable-eight-threads",
    // Two threads on one cache: racy-metrics' counters, stored outside the lock, bounce a cache
    // line between them, which took it past the 3x ratio in 1 of 8 runs on a quiet machine.
    "performance-two-threads",
];

const GRADER: Grader = Grader {
    number: "2",
    dir: "02-lru-cache",
    slug: "lru-cache",
    fixtures: "buggy-lru",
    buggy: BUGGY,
    concurrency_only: CONCURRENCY_ONLY,
    sequential: &|s| !CONCURRENT.contains(&s),
};

fn path(name: &str) -> String {
    GRADER.fixture(name)
}

#[test]
fn reference_solution_scores_full_marks() {
    GRADER.assert_reference_scores_full_marks(20);
}

#[test]
fn the_template_compiles_and_scores_low() {
    GRADER.assert_template_scores_low();
}

#[test]
fn each_buggy_cache_fails_the_scenario_aimed_at_its_bug() {
    GRADER.assert_fixtures_fail_their_aimed_scenarios();
}

#[test]
fn a_non_linearizable_history_is_shown_as_its_smallest_failing_piece() {
    let _alone = alone();
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
