//! Challenge 4's grader grades: the reference earns every point, the template scores low, and each
//! buggy queue, drawn from a real bug class, fails the scenario aimed at its bug, including those
//! that only show under concurrent consumers. Together the fixtures fail every scenario, and a
//! broken property names the message and prints its history.

use crate::support::Grader;

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

const GRADER: Grader = Grader {
    number: "4",
    dir: "04-dead-letter-queue",
    slug: "dead-letter-queue",
    fixtures: "buggy-queue",
    buggy: BUGGY,
    concurrency_only: CONCURRENCY_ONLY,
    sequential: &|s| SEQUENTIAL.contains(&s),
};

#[test]
fn reference_solution_scores_full_marks() {
    GRADER.assert_reference_scores_full_marks(15);
}

#[test]
fn the_template_compiles_and_scores_low() {
    GRADER.assert_template_scores_low();
}

#[test]
fn each_buggy_queue_fails_the_scenario_aimed_at_its_bug() {
    GRADER.assert_fixtures_fail_their_aimed_scenarios();
}

#[test]
fn a_broken_property_names_the_message_and_prints_its_history() {
    let scenario = GRADER.tested("split-receive", "no-failure-exactly-once");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    assert!(text.contains("'s history ("), "the failing message's history: {text}");
    assert!(text.contains("delivered, attempt 1, token"), "{text}");
}
