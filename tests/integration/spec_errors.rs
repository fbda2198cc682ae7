//! A broken challenge.toml gets an error naming the file, the line and the key, and exit code 2.

use std::path::Path;

use crate::support::{command, repo, run};

/// Writes a catalogue whose only spec is the real one with `from` replaced by `to` (once), and
/// returns (what `challenge list` printed on stderr, its exit code, the line `to` landed on).
fn broken(temp: &Path, from: &str, to: &str) -> (String, i32, usize) {
    broken_in(temp, "01-rate-limiter", from, to)
}

/// The same, for the challenge in `challenges/{challenge}`.
fn broken_in(temp: &Path, challenge: &str, from: &str, to: &str) -> (String, i32, usize) {
    let source = std::fs::read_to_string(repo().join("challenges").join(challenge).join("challenge.toml")).unwrap();
    assert!(source.contains(from), "the real spec no longer contains {from:?}");
    let mutated = source.replacen(from, to, 1);
    let line = mutated[..mutated.find(to).unwrap()].matches('\n').count() + 1;
    let dir = temp.join("challenges").join(challenge);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("challenge.toml"), mutated).unwrap();
    let out = run(command(temp, &["--catalog", &temp.display().to_string(), "list"]));
    (out.stderr, out.code, line)
}

fn assert_names(stderr: &str, line: usize, words: &[&str]) {
    assert!(stderr.contains(&format!("01-rate-limiter/challenge.toml:{line}:")), "file and line {line}: {stderr}");
    for w in words {
        assert!(stderr.contains(w), "{w:?} missing from: {stderr}");
    }
}

/// (what to break: replace `from` with `to` once, and the words the error must contain)
const CASES: &[(&str, &str, &[&str])] = &[
    ("difficulty = \"intermediate\"", "colour = \"red\"\ndifficulty = \"intermediate\"", &["unknown field `colour`"]),
    (
        "{ at = \"999ms\", op = \"burst\"",
        "{ at = \"999 parsecs\", op = \"burst\"",
        &["scenario \"fixed-window-edge-burst\", steps[0]", "invalid duration \"999 parsecs\"", "\"250ms\""],
    ),
    (
        "op = \"burst\", key = \"u1\", attempts = 5, expect = { admitted = 5 } },\n  { at = \"1s\"",
        "op = \"brust\", key = \"u1\", attempts = 5, expect = { admitted = 5 } },\n  { at = \"1s\"",
        &["unknown variant `brust`", "`acquire`"],
    ),
    ("key = \"u1\", repeat = 5", "key = \"u1\", repeats = 5", &["steps[0]", "unknown field `repeats`"]),
    (
        "check = { name = \"differential\"",
        "check = { name = \"diferential\"",
        &["check", "unknown variant `diferential`", "`differential`"],
    ),
];

#[test]
fn each_error_names_file_line_and_key() {
    for (from, to, words) in CASES {
        let temp = tempfile::tempdir().unwrap();
        let (stderr, code, line) = broken(temp.path(), from, to);
        assert_eq!(code, 2, "{to}: {stderr}");
        assert_names(&stderr, line, words);
    }
}

#[test]
fn cache_scenarios_name_the_step_and_the_fix() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "{ at = \"10s\", op = \"get\", key = 1, expect = \"none\" }",
            "{ at = \"9s\", op = \"get\", key = 1, expect = \"none\" }",
            &["scenario \"ttl-boundary\", steps[2]", "earlier than the step before", "never moves backwards"],
        ),
        (
            "{ op = \"get\", key = 2, expect = \"none\" },",
            "{ op = \"get\", key = 2, expect = \"nil\" },",
            &["expect = \"nil\"", "\"none\""],
        ),
        ("keys = [1, 3, 4], expect = [10, 30, 40]", "keys = [1, 3, 4], expect = [10, 30]", &["2 results for 3 keys"]),
        ("config = { capacity = 3 }", "config = { capacity = 0 }", &["capacity = 0 is out of range"]),
    ];
    assert_each_names_its_line("02-lru-cache", cases);
}

#[test]
fn pool_scenarios_name_the_step_and_the_fix() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("config = { max-size = 3 }", "config = { max-size = 0 }", &["max-size = 0 is out of range: use 1 to 1024"]),
        (
            "{ op = \"release\", conn = \"a\" },\n  { op = \"release\", conn = \"b\" },\n  { op = \"acquire\", as = \"c\"",
            "{ op = \"release\", conn = \"z\" },\n  { op = \"release\", conn = \"b\" },\n  { op = \"acquire\", as = \"c\"",
            &["conn = \"z\" names no earlier acquire"],
        ),
        ("{ at = \"0s\", op = \"factory\", connect = \"fail\" }", "{ at = \"0s\", op = \"factory\", connect = \"explode\" }", &["\"explode\" is not a factory behaviour", "\"slow 50ms\""]),
        ("timeout = \"30ms\", expect = \"timeout\"", "timeout = \"5m\", expect = \"timeout\"", &["timeout = \"5m\" is real waiting time"]),
    ];
    assert_each_names_its_line("03-connection-pool", cases);
}

#[test]
fn queue_scenarios_name_the_step_and_the_fix() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("max-attempts = 3, backoff-base = \"10s\", backoff-max = \"1m\" }", "max-attempts = 0, backoff-base = \"10s\", backoff-max = \"1m\" }", &["max-attempts = 0 is out of range"]),
        ("{ op = \"ack\", delivery = \"d1\", expect = \"ok\" }", "{ op = \"ack\", delivery = \"dx\", expect = \"ok\" }", &["delivery = \"dx\" names no earlier delivery"]),
        ("{ at = \"1m\", op = \"redrive\", ids = [1], expect = 1 }", "{ at = \"1m\", op = \"redrive\", expect = 1 }", &["redrive needs ids = [1, 2] or all = true"]),
        ("{ op = \"stats\", expect = { dead = 1, ready = 1 } }", "{ op = \"stats\", expect = { dead = 1, redy = 1 } }", &["unknown field `redy`"]),
    ];
    assert_each_names_its_line("04-dead-letter-queue", cases);
}

#[test]
fn migration_scenarios_name_the_step_and_the_fix() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "{ at = \"1m\", op = \"code\", migrations = [\"1\", \"2\", \"3-fixed\", \"4\"] }",
            "{ at = \"1m\", op = \"code\", migrations = [\"1\", \"2\", \"3-fxed\", \"4\"] }",
            &["scenario \"failure-mid-migration\", steps[3]", "migrations names \"3-fxed\"", "keys: \"1\", \"2\", \"3\", \"3-fixed\", \"4\""],
        ),
        (
            "{ op = \"migrate\", expect = { error = \"checksum-mismatch\", version = 2 } },",
            "{ op = \"migrate\", expect = { error = \"checksum-mismatch\" } },",
            &["error = \"checksum-mismatch\" takes exactly version = N"],
        ),
        (
            "{ at = \"1m\", op = \"migrate\", expect = { error = \"dirty\", version = 3 } },",
            "{ at = \"1m\", op = \"migrate\", expect = { error = \"drity\", version = 3 } },",
            &["unknown variant `drity`", "`dirty`"],
        ),
        (
            "{ op = \"migrate\", expect = [1, 2, 10, 11] },",
            "{ op = \"migrate\", expect = \"all\" },",
            &["neither a list of versions such as [1, 2] nor an error"],
        ),
        ("{ op = \"rollback\", to = 1, expect", "{ op = \"rollback\", too = 1, expect", &["unknown field `too`"]),
    ];
    assert_each_names_its_line("05-migrations", cases);
}

#[test]
fn limits_out_of_range_name_the_key_and_the_range() {
    let temp = tempfile::tempdir().unwrap();
    let (stderr, code, line) = broken(temp.path(), "[rubric]", "[limits]\nmemory-mib = 1\n\n[rubric]");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("memory-mib = 1 is out of range: use 64 to 16384"), "{stderr}");
    assert!(stderr.contains(&format!("01-rate-limiter/challenge.toml:{line}:")), "the line of the [limits] table: {stderr}");
}

/// Each case breaks the real spec of `challenge` once; the error must name the file and the line
/// of the change, and contain every word given.
fn assert_each_names_its_line(challenge: &str, cases: &[(&str, &str, &[&str])]) {
    for (from, to, words) in cases {
        let temp = tempfile::tempdir().unwrap();
        let (stderr, code, line) = broken_in(temp.path(), challenge, from, to);
        assert_eq!(code, 2, "{to}: {stderr}");
        assert!(stderr.contains(&format!("{challenge}/challenge.toml:{line}:")), "file and line {line}: {stderr}");
        for w in *words {
            assert!(stderr.contains(w), "{w:?} missing from: {stderr}");
        }
    }
}

#[test]
fn unknown_criterion() {
    let temp = tempfile::tempdir().unwrap();
    let (stderr, code, _) =
        broken(temp.path(), "criterion = \"correctness\"\npoints = 2", "criterion = \"correctnes\"\npoints = 2");
    assert_eq!(code, 2);
    assert!(stderr.contains("criterion = \"correctnes\" is not in the rubric"), "{stderr}");
}

#[test]
fn newer_format_version() {
    let temp = tempfile::tempdir().unwrap();
    let (stderr, code, _) = broken(temp.path(), "format_version = 1", "format_version = 2");
    assert_eq!(code, 2);
    assert!(stderr.contains("format_version = 2 is not understood"), "{stderr}");
}
