//! CI formats: `grade --format junit|gradescope|github` on one submission, each parsed back and
//! checked for its shape, for the diff of a visible failure, and for hidden scenarios that show
//! nothing but their verdict and points.

use std::collections::BTreeMap;

use crate::support::{challenge, command, fixture, repo, run};

/// Challenge 1's scenarios: name → (hidden, max points), from its spec.
fn scenarios() -> BTreeMap<String, (bool, u64)> {
    let text = std::fs::read_to_string(repo().join("challenges/01-rate-limiter/challenge.toml")).unwrap();
    let spec: toml::Value = toml::from_str(&text).unwrap();
    spec["scenario"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let hidden = s.get("visibility").and_then(|v| v.as_str()) == Some("hidden");
            (s["name"].as_str().unwrap().to_owned(), (hidden, s["points"].as_integer().unwrap() as u64))
        })
        .collect()
}

/// What a hidden scenario's text must never contain: a step, a time, an expected value.
fn assert_no_hidden_detail(name: &str, text: &str) {
    for detail in ["step ", "t=", "expected", "actual", "allowed", "seed ", "your code's"] {
        assert!(!text.contains(detail), "hidden scenario {name} shows {detail:?}: {text}");
    }
}

fn grade(path: &str, format: &str) -> crate::support::Run {
    challenge(&["grade", &fixture(path), "--format", format])
}

#[test]
fn junit_is_well_formed_with_a_testcase_per_scenario_and_failures_carrying_the_diff() {
    let out = grade("buggy/off-by-one", "junit");
    assert_eq!(out.code, 0, "off-by-one clears the pass mark; stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("fixed-window-basics"), "the human report goes to stderr");
    let doc = roxmltree::Document::parse(&out.stdout).unwrap_or_else(|e| panic!("not XML ({e}):\n{}", out.stdout));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attribute("name"), Some("challenge 1 rate-limiter"));

    let specs = scenarios();
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), specs.len());
    assert_eq!(suite.attribute("tests"), Some(specs.len().to_string().as_str()));
    let failures = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).count();
    assert!(failures >= 2);
    assert_eq!(suite.attribute("failures"), Some(failures.to_string().as_str()));
    assert_eq!(suite.attribute("errors"), Some("0"));

    let case = |name: &str| *cases.iter().find(|c| c.attribute("name") == Some(name)).expect(name);
    let basics = case("fixed-window-basics");
    assert_eq!(basics.attribute("classname"), Some("rate-limiter.correctness"));
    let failure = basics.children().find(|n| n.has_tag_name("failure")).expect("fixed-window-basics fails");
    assert_eq!(failure.attribute("type"), Some("fail"));
    assert!(failure.attribute("message").unwrap().contains("try_acquire(\"u1\", 1), call 5 of 5"));
    let body = failure.text().unwrap();
    assert!(body.contains("step 1 at t=0s: try_acquire(\"u1\", 1), call 5 of 5"), "{body}");
    assert!(body.contains("- allowed: true\n+ allowed: false"), "{body}");

    for (name, (hidden, _)) in &specs {
        if *hidden {
            let text: String = case(name).descendants().filter_map(|n| n.text()).collect();
            let message: String = case(name).descendants().filter_map(|n| n.attribute("message")).collect();
            assert_no_hidden_detail(name, &format!("{text}{message}"));
        }
    }
}

#[test]
fn junit_for_the_reference_has_no_failure() {
    let out = challenge(&["grade", "solutions/01-rate-limiter", "--format", "junit"]);
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let doc = roxmltree::Document::parse(&out.stdout).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("failures"), Some("0"));
    assert_eq!(root.attribute("errors"), Some("0"));
    let cases = root.descendants().filter(|n| n.has_tag_name("testcase")).count();
    assert_eq!(cases, scenarios().len());
}

#[test]
fn junit_reports_panics_as_errors_and_never_a_hidden_panic_message() {
    let temp = tempfile::tempdir().unwrap();
    let catalog = repo().display().to_string();
    let started = run(command(temp.path(), &["--catalog", &catalog, "start", "1"]));
    assert_eq!(started.code, 0, "{}", started.stderr);
    // The template panics with `not yet implemented: …` in every scenario, hidden ones included.
    let out = run(command(temp.path(), &["--catalog", &catalog, "grade", "01-rate-limiter", "--format", "junit"]));
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    let doc = roxmltree::Document::parse(&out.stdout).unwrap_or_else(|e| panic!("not XML ({e}):\n{}", out.stdout));
    let suite = doc.descendants().find(|n| n.has_tag_name("testsuite")).unwrap();
    assert_eq!(suite.attribute("failures"), Some("0"));
    assert_eq!(suite.attribute("errors"), suite.attribute("tests"));
    let specs = scenarios();
    for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
        let name = case.attribute("name").unwrap();
        let error = case.children().find(|n| n.has_tag_name("error")).expect(name);
        assert_eq!(error.attribute("type"), Some("panic"), "{name}");
        let text = format!("{}{}", error.attribute("message").unwrap(), error.text().unwrap_or(""));
        if specs[name].0 {
            assert!(!text.contains("not yet implemented"), "hidden {name} shows the panic message: {text}");
            assert_no_hidden_detail(name, &text);
        } else {
            // The learner's stderr, `<unnamed>` thread name included, escaped and parsed back.
            assert!(text.contains("your code panicked: not yet implemented"), "{text}");
            assert!(text.contains("thread '<unnamed>'"), "{text}");
        }
    }
}

#[test]
fn gradescope_results_have_the_fields_gradescope_reads_and_hide_hidden_details() {
    let out = grade("buggy/off-by-one", "gradescope");
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let doc = out.json();
    let score = doc["score"].as_f64().expect("a top-level score");
    let max = doc["extra_data"]["max_score"].as_f64().expect("the rubric's maximum in extra_data");
    assert!(0.0 < score && score < max, "{score} of {max}");
    assert_eq!(doc["output_format"], "md");
    assert_eq!(doc["stdout_visibility"], "hidden");
    assert!(doc["output"].as_str().unwrap().contains("level 3"), "{}", doc["output"]);

    let specs = scenarios();
    let tests = doc["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), specs.len());
    for test in tests {
        let name = test["name"].as_str().expect("name");
        let (hidden, points) = specs[name];
        assert_eq!(test["max_score"].as_u64(), Some(points), "{name}");
        let status = test["status"].as_str().unwrap();
        let expected_score = if status == "passed" { points } else { 0 };
        assert_eq!(test["score"].as_u64(), Some(expected_score), "{name} is {status}");
        assert_eq!(test["output_format"], "md");
        let output = test["output"].as_str().expect("output");
        if hidden {
            assert_eq!(test["visibility"], "after_published", "{name}");
            assert_no_hidden_detail(name, output);
        } else {
            assert_eq!(test["visibility"], "visible", "{name}");
        }
    }
    let basics = tests.iter().find(|t| t["name"] == "fixed-window-basics").unwrap();
    assert_eq!(basics["status"], "failed");
    let output = basics["output"].as_str().unwrap();
    assert!(output.contains("step 1 at t=0s") && output.contains("- allowed: true\n+ allowed: false"), "{output}");
    assert!(tests.iter().any(|t| specs[t["name"].as_str().unwrap()].0 && t["status"] == "failed"));
}

#[test]
fn gradescope_refuses_a_run_of_several_submissions() {
    let out = challenge(&["grade", "solutions", &fixture("buggy/off-by-one"), "--format", "gradescope"]);
    assert_eq!(out.code, i32::from(challenge::exit::INTERNAL), "stderr:\n{}", out.stderr);
    assert!(out.stdout.is_empty(), "no half a results.json: {}", out.stdout);
    assert!(out.stderr.contains("--format gradescope writes one submission's results.json"), "{}", out.stderr);
}

#[test]
fn github_annotates_failures_escaped_and_appends_the_job_summary() {
    let temp = tempfile::tempdir().unwrap();
    let summary = temp.path().join("step-summary.md");
    std::fs::write(&summary, "# an earlier step\n").unwrap();
    let mut cmd = command(&repo(), &["grade", &fixture("buggy/off-by-one"), "--format", "github"]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(cmd);
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);

    for line in out.stdout.lines() {
        assert!(line.starts_with("::error title=") || line.starts_with("::notice title="), "{line}");
    }
    let expected = "::error title=fail fixed-window-basics (correctness%2C 0/2 points)::\
        step 1 at t=0s: try_acquire(\"u1\", 1), call 5 of 5%0A- expected%0A+ actual%0A- allowed: true%0A+ allowed: false\n";
    assert!(out.stdout.contains(expected), "{}", out.stdout);
    assert!(
        out.stdout.contains("::error title=fail differential-fixed-window (hidden%2C edge-cases%2C 0/2 points)::a hidden expectation did not hold\n"),
        "{}",
        out.stdout
    );
    // The total closes the annotations; `:` and `%` in its title are escaped.
    let total = out.stdout.lines().last().unwrap();
    assert!(
        total.starts_with("::notice title=challenge 1 rate-limiter%3A ") && total.contains("%25::level "),
        "{total}"
    );

    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.starts_with("# an earlier step\n## ✓ Challenge 1 · Per-key rate limiter"), "appended: {markdown}");
    assert!(markdown.contains("| ✗ | fixed-window-basics | correctness | fail | 0/2 |"), "{markdown}");
    assert!(markdown.contains("| ✗ | differential-fixed-window *(hidden)* | edge-cases | fail | 0/2 |"), "{markdown}");
    assert!(markdown.contains("| **total** | **"), "{markdown}");
    assert!(markdown.contains("<details><summary>✗ fixed-window-basics"), "{markdown}");
    assert!(!markdown.contains("<details><summary>✗ differential-fixed-window"), "{markdown}");
    assert!(markdown.contains("- allowed: true\n+ allowed: false"), "{markdown}");
}

#[test]
fn github_prints_the_summary_after_the_annotations_without_a_summary_file() {
    let mut cmd = command(&repo(), &["test", "1", "--solution", &fixture("buggy/off-by-one"), "--format", "github"]);
    cmd.env_remove("GITHUB_STEP_SUMMARY");
    let out = run(cmd);
    assert_eq!(out.code, 1, "a visible scenario fails; stderr:\n{}", out.stderr);
    let (annotations, markdown) = out.stdout.split_once("\n## ").expect("a summary after the annotations");
    assert!(annotations.lines().all(|l| l.starts_with("::")), "{annotations}");
    assert!(markdown.starts_with("✗ Challenge 1") || markdown.starts_with("✓ Challenge 1"), "{markdown}");
    assert!(!markdown.contains("(hidden)"), "`test` runs no hidden scenario: {markdown}");
}
