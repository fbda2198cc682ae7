//! The same submission gets the same grade every time: `challenge dev repeat` grades the
//! reference and three buggy crates of every challenge (a sequential bug, a concurrency bug, a
//! slow one) more than once, and no untimed scenario's verdict or points may change; the
//! reference, graded against itself on the timed scenarios too, never loses a point. CI runs two
//! rounds; `challenge dev repeat --runs 20 ...` (same arguments) runs the full twenty.

use crate::support::{alone, challenge};

/// (challenge, its reference, three of its buggy fixtures)
const CASES: &[(&str, &str, [&str; 3])] = &[
    ("1", "solutions/01-rate-limiter", ["tests/fixtures/buggy/off-by-one", "tests/fixtures/buggy/racy", "tests/fixtures/buggy/slow"]),
    ("2", "solutions/02-lru-cache", ["tests/fixtures/buggy-lru/get-no-promote", "tests/fixtures/buggy-lru/split-put", "tests/fixtures/buggy-lru/slow"]),
    ("3", "solutions/03-connection-pool", ["tests/fixtures/buggy-pool/lifo-waiters", "tests/fixtures/buggy-pool/connect-under-lock", "tests/fixtures/buggy-pool/slow"]),
    ("4", "solutions/04-dead-letter-queue", ["tests/fixtures/buggy-queue/retry-off-by-one", "tests/fixtures/buggy-queue/split-receive", "tests/fixtures/buggy-queue/slow"]),
    ("5", "solutions/05-migrations", ["tests/fixtures/buggy-migrations/no-checksum-check", "tests/fixtures/buggy-migrations/no-lock", "tests/fixtures/buggy-migrations/slow"]),
];

/// Rounds per grade in CI.
const RUNS: &str = "2";

#[test]
fn buggy_crates_get_the_same_untimed_verdicts_every_time() {
    // The concurrency bugs race without sleeps or yields: as in their own tests, they get the
    // machine, since other tests' workers on two cores can keep two threads from overlapping.
    let _alone = alone();
    for (number, _, fixtures) in CASES {
        let mut args = vec!["dev", "repeat", "--runs", RUNS, "--untimed", "--challenge", number];
        args.extend(fixtures);
        let run = challenge(&args);
        assert_eq!(run.code, 0, "challenge {number}: an untimed verdict varied:\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains(": 0 untimed scenarios varied; 0 submissions had more than one score"), "{}", run.stdout);
    }
}

#[test]
fn references_graded_against_themselves_never_lose_a_point() {
    // Timed scenarios compare medians of alternating trials: give them the machine.
    let _alone = alone();
    let mut args = vec!["dev", "repeat", "--runs", RUNS];
    args.extend(CASES.iter().map(|(_, reference, _)| *reference));
    let run = challenge(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for (_, reference, _) in CASES {
        let line = run.stdout.lines().find(|l| l.starts_with(reference)).unwrap_or_else(|| panic!("{reference}: {}", run.stdout));
        assert!(line.contains("each with one outcome"), "{line}");
        let timed = line.split_once("; timed: ").map(|(_, t)| t).unwrap_or_else(|| panic!("{reference} has timed scenarios: {line}"));
        assert!(!timed.contains("fail") && timed.contains(&format!("pass ×{RUNS}")), "{reference} lost points against itself: {line}");
        assert!(line.ends_with(&format!("; score: 100.0% level 5 ×{RUNS}")), "{reference} scored below 100% in some run: {line}");
    }
}

#[test]
fn a_seed_given_replays_the_seeded_scenarios_with_it() {
    let run = challenge(&["test", "4", "--solution", "solutions/04-dead-letter-queue", "--format", "json", "--seed", "12345"]);
    let doc = run.json();
    let scenarios = doc["submissions"][0]["scenarios"].as_array().unwrap();
    let seeded: Vec<&str> = scenarios.iter().filter(|s| s["seed"] == 12345).map(|s| s["name"].as_str().unwrap()).collect();
    assert!(seeded.contains(&"fault-storm"), "the seeded storm takes the given seed: {seeded:?}");
    assert!(scenarios.iter().any(|s| s["seed"] != 12345), "unseeded scenarios keep their own");
    assert!(scenarios.iter().all(|s| s["verdict"] == "pass"), "the reference passes under any seed: {scenarios:#?}");
}
