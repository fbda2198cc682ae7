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
    for (from, to, words) in cases {
        let temp = tempfile::tempdir().unwrap();
        let (stderr, code, line) = broken_in(temp.path(), "02-lru-cache", from, to);
        assert_eq!(code, 2, "{to}: {stderr}");
        assert!(stderr.contains(&format!("02-lru-cache/challenge.toml:{line}:")), "file and line {line}: {stderr}");
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
