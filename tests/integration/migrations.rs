//! Challenge 5's grader grades: the reference earns every point, the template scores low, and each
//! buggy runner, drawn from a real bug class, fails the scenario aimed at its bug (the racing one
//! only under two runners). Together the fixtures fail every scenario, and a failure shows the
//! learner's file against a correct runner's.

use crate::support::Grader;

/// (fixture under tests/fixtures/buggy-migrations, the scenarios that target its bug)
const BUGGY: &[(&str, &[&str])] = &[
    ("unstable-hasher", &["fresh-apply"]),
    ("target-ignored", &["incremental"]),
    ("no-checksum-check", &["edited-migration"]),
    ("validate-after-apply", &["edited-migration"]),
    ("missing-ignored", &["missing-migration"]),
    ("autocommit", &["failure-mid-migration", "vacuum-in-transaction"]),
    ("errors-swallowed", &["failure-mid-migration"]),
    ("history-outside-tx", &["history-in-transaction"]),
    ("downs-ascending", &["rollback-order"]),
    ("no-down-precheck", &["missing-down"]),
    ("out-of-order-always", &["out-of-order-rejected"]),
    ("highest-watermark", &["out-of-order-allowed"]),
    ("string-sort", &["numeric-order"]),
    ("no-duplicate-check", &["duplicate-version"]),
    ("ahead-ignored", &["database-ahead"]),
    ("no-dirty-check", &["dirty-repair"]),
    ("crlf-sensitive", &["line-endings"]),
    ("wrapped-no-transaction", &["no-transaction"]),
    ("no-lock", &["concurrent-runners"]),
    ("slow", &["performance"]),
];

/// The fixtures whose bug needs two runners at once to show.
const CONCURRENCY_ONLY: &[&str] = &["no-lock"];

const GRADER: Grader = Grader {
    number: "5",
    dir: "05-migrations",
    slug: "migrations",
    fixtures: "buggy-migrations",
    buggy: BUGGY,
    concurrency_only: CONCURRENCY_ONLY,
    sequential: &|s| !matches!(s, "concurrent-runners" | "performance"),
};

#[test]
fn reference_solution_scores_full_marks() {
    GRADER.assert_reference_scores_full_marks(19);
}

#[test]
fn the_template_compiles_and_scores_low() {
    GRADER.assert_template_scores_low();
}

#[test]
fn each_buggy_runner_fails_the_scenario_aimed_at_its_bug() {
    GRADER.assert_fixtures_fail_their_aimed_scenarios();
}

#[test]
fn a_runner_that_loses_rows_is_shown_the_rows_a_correct_runner_keeps() {
    let scenario = GRADER.tested("wrapped-no-transaction", "no-transaction");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    // The child rows the cascade deleted appear on the expected side of the diff.
    assert!(text.contains("expected child: (10, 1), child: (11, 1), child: (12, 2)"), "the lost rows are shown: {text}");
    assert!(text.contains("got parent: (1, 'p1', 0), parent: (2, 'p2', 0)"), "beside what is left: {text}");
}

#[test]
fn a_refusal_that_wrote_is_named_as_a_write() {
    let scenario = GRADER.tested("validate-after-apply", "edited-migration");
    assert_eq!(scenario["verdict"], "fail", "{scenario:#}");
    let text = scenario.to_string();
    assert!(text.contains("byte-for-byte as it was before the call"), "{text}");
    assert!(text.contains("the file changed"), "{text}");
}
