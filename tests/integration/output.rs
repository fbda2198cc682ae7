//! Output contracts: JSON on stdout with the human report on stderr, colors that follow
//! NO_COLOR and --color, and exit codes that tell passed from failed from unbuildable.

use crate::support::{challenge, command, fixture, repo, run};

#[test]
fn json_document_has_the_promised_shape() {
    let out = challenge(&["test", "1", "--solution", &fixture("buggy/off-by-one"), "--format", "json"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("fixed-window-basics"), "the human report goes to stderr: {}", out.stderr);
    let doc = out.json();
    let sub = &doc["submissions"][0];
    for key in ["path", "challenge", "score", "max_score", "percent", "level", "passed", "scenarios"] {
        assert!(sub.get(key).is_some(), "missing {key}");
    }
    let scenario = &sub["scenarios"][0];
    for key in ["name", "criterion", "visibility", "verdict", "points", "max_points", "message"] {
        assert!(scenario.get(key).is_some(), "missing {key}");
    }
    assert_eq!(scenario["name"], "fixed-window-basics");
    assert_eq!(scenario["verdict"], "fail");
    let message = scenario["message"].as_str().unwrap();
    assert!(message.contains("step 1: at t=0s: try_acquire(\"u1\", 1), call 5 of 5"), "{message}");
    assert!(message.contains("expected allowed: true; got allowed: false"), "{message}");
}

#[test]
fn human_failure_report_shows_step_time_and_diff() {
    let out = challenge(&["test", "1", "--solution", &fixture("buggy/edge-burst")]);
    assert_eq!(out.code, 1);
    let expected = "\
✗ sliding-log-denies-edge-burst (correctness, 0/2 points)
  The same edge burst against a sliding log: the second five are denied until the first five are exactly one window old.
  step 2 at t=1s: 5 calls of try_acquire(\"u1\", 1) at one instant
    - expected
    + actual
    - admitted: 0
    + admitted: 5
";
    assert!(out.stdout.contains(expected), "{}", out.stdout);
}

#[test]
fn colors_follow_no_color_and_the_flag() {
    let plain = challenge(&["test", "1", "--solution", &fixture("buggy/off-by-one")]);
    assert!(!plain.stdout.contains('\u{1b}'), "NO_COLOR and a pipe mean no escapes");
    let mut forced = command(&repo(), &["--color", "always", "test", "1", "--solution", &fixture("buggy/off-by-one")]);
    forced.env_remove("NO_COLOR");
    let colored = run(forced);
    assert!(colored.stdout.contains("\u{1b}["), "--color always colors even into a pipe");
}

#[test]
fn every_subcommand_has_help_with_examples_and_completions_generate() {
    for sub in [
        "list",
        "show",
        "start",
        "test",
        "hint",
        "watch",
        "solution",
        "progress",
        "reset",
        "completions",
        "grade",
        "grades",
        "dev",
    ] {
        let out = challenge(&[sub, "--help"]);
        assert_eq!(out.code, 0, "{sub}: {}", out.stderr);
        assert!(out.stdout.contains("Examples:"), "`challenge {sub} --help` shows examples:\n{}", out.stdout);
    }
    let bash = challenge(&["completions", "bash"]);
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("_challenge()") && bash.stdout.contains("grades"), "a bash completion function");
}
