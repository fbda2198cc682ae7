//! Challenge 3's grader grades: the reference earns every point, the template scores low, and each
//! buggy pool, drawn from a real bug class, fails the scenario aimed at its bug, including the
//! bugs that only show under threads or against a deadline. Together the fixtures fail every
//! scenario, and a hang is reported as the call that never returned.

use crate::support::Grader;

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
    ("broken-returned-to-idle", &["broken-on-return"]),
    ("min-idle-ignored", &["min-idle"]),
    ("close-keeps-idle", &["close-rules"]),
    ("notify-all", &["many-waiters"]),
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
    &["check-then-increment", "broken-no-wake", "lifo-waiters", "connect-under-lock", "notify-all"];

const GRADER: Grader = Grader {
    number: "3",
    dir: "03-connection-pool",
    slug: "connection-pool",
    fixtures: "buggy-pool",
    buggy: BUGGY,
    concurrency_only: CONCURRENCY_ONLY,
    sequential: &|s| SEQUENTIAL.contains(&s),
};

#[test]
fn reference_solution_scores_full_marks() {
    GRADER.assert_reference_scores_full_marks(20);
}

#[test]
fn the_template_compiles_and_scores_low() {
    GRADER.assert_template_scores_low();
}

#[test]
fn each_buggy_pool_fails_the_scenario_aimed_at_its_bug() {
    GRADER.assert_fixtures_fail_their_aimed_scenarios();
}

#[test]
fn a_failing_step_names_the_call_the_virtual_time_and_the_factorys_count() {
    let scenario = GRADER.tested("lifetime-unchecked-on-return", "max-lifetime");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    assert!(text.contains("open: 1") && text.contains("open: 2"), "expected and actual counts: {text}");
    assert!(text.contains("30m"), "the virtual time of the step: {text}");
    assert!(text.contains("the factory's own count"), "the host's ledger: {text}");
}

#[test]
fn a_dirty_connection_handed_out_is_named_by_the_hosts_ledger() {
    let scenario = GRADER.tested("dirty-after-panic", "panic-while-holding");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    assert!(text.contains("lent connection 1 with a transaction still open"), "{text}");
}

#[test]
fn timed_waits_are_not_blamed_on_the_system_clock() {
    // Its waits are real time (Condvar::wait_timeout reads the clock); the note would mislead.
    let scenario = GRADER.tested("per-attempt-timeout", "timeout-is-a-deadline");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    assert!(!scenario.to_string().contains("system clock"), "{scenario:#}");
}
