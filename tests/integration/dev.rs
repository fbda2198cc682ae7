//! `challenge dev check` and `dev new`, following docs/authoring.md step by step in a temporary
//! catalogue (the repository's harness is found from the binary), and `dev check` on this
//! repository's own catalogue, which is how CI runs it.

use std::path::Path;

use crate::support::{command, repo, run, Run};

/// `challenge --catalog . ARGS` run from `dir`, so problems print with paths relative to it.
fn in_catalog(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--catalog", "."];
    all.extend_from_slice(args);
    run(command(dir, &all))
}

/// A catalogue holding only an empty `challenges/`.
fn empty_catalog() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir(temp.path().join("challenges")).unwrap();
    temp
}

fn guide() -> String {
    std::fs::read_to_string(repo().join("docs/authoring.md")).unwrap()
}

/// The TOML block the guide's "Add a scenario" step appends to the spec.
fn guide_scenario(guide: &str) -> &str {
    let marker = "<!-- tests/integration/dev.rs appends the next block to the scaffolded spec -->";
    let after = &guide[guide.find(marker).expect("the guide marks the block to append") + marker.len()..];
    let start = after.find("```toml\n").expect("a toml block follows the marker") + "```toml\n".len();
    let end = start + after[start..].find("```").expect("the block ends");
    &after[start..end]
}

/// Replaces `from` with `to` once in the file at `path`, which must contain it.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} no longer contains {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The 1-based line `needle` first appears on.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn dev_check_passes_on_the_repository_catalogue() {
    let out = run(command(&repo(), &["dev", "check"]));
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "no problem lines, only the summary: {}", out.stdout);
    assert!(lines[0].starts_with("catalogue ok: 5 challenges, "), "{}", out.stdout);
    assert!(out.stderr.contains("01-rate-limiter reference solution: 25 of 25 pass"), "{}", out.stderr);
    assert!(out.stderr.contains("01-rate-limiter template: 0 of "), "{}", out.stderr);
    assert!(out.stderr.contains("02-lru-cache template: 0 of "), "{}", out.stderr);
    assert!(out.stderr.contains("03-connection-pool template: 0 of "), "{}", out.stderr);
    assert!(out.stderr.contains("04-dead-letter-queue template: 0 of "), "{}", out.stderr);
}

#[test]
fn the_authoring_guide_adds_a_challenge_that_dev_check_accepts() {
    let temp = empty_catalog();
    let dir = temp.path();

    // 1. Scaffold: it passes `dev check` as written.
    let out = in_catalog(dir, &["dev", "new", "token-limits", "--system", "rate-limiter"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Created challenge 1, token-limits"), "{}", out.stdout);
    assert!(out.stdout.contains("add \"solutions/01-token-limits\" to\n`members`"), "{}", out.stdout);
    let spec = dir.join("challenges/01-token-limits/challenge.toml");
    for file in ["README.md", "template/Cargo.toml", "template/src/lib.rs"] {
        assert!(dir.join("challenges/01-token-limits").join(file).is_file(), "{file}");
    }
    for file in ["Cargo.toml", "src/lib.rs"] {
        assert!(dir.join("solutions/01-token-limits").join(file).is_file(), "{file}");
    }
    let solution_manifest = std::fs::read_to_string(dir.join("solutions/01-token-limits/Cargo.toml")).unwrap();
    assert!(solution_manifest.contains("\n[workspace]\n"), "standalone: {solution_manifest}");
    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "catalogue ok: 1 challenge, 2 scenarios\n");
    assert!(out.stderr.contains("01-token-limits reference solution: 2 of 2 pass"), "{}", out.stderr);
    assert!(out.stderr.contains("01-token-limits template: 0 of 1 pass"), "{}", out.stderr);

    // 2. Add the guide's scenario.
    let guide = guide();
    let mut text = std::fs::read_to_string(&spec).unwrap();
    text.push('\n');
    text.push_str(guide_scenario(&guide));
    std::fs::write(&spec, text).unwrap();
    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "catalogue ok: 1 challenge, 3 scenarios\n");

    // 3. The guide's buggy variant fails the new scenario, and only it. (In a temporary catalogue
    // the reference reaches the harness by an absolute path, so only the rename and the bug apply.)
    let rename = ("name = \"token-limits-reference\"", "name = \"token-limits-backwards-clock\"");
    let bug = ("let t = now.max(state.latest);", "let t = now;");
    assert!(guide.contains(&format!("'s/^{}/{}/'", rename.0, rename.1)), "the guide renames the package");
    assert!(guide.contains(&format!("'s/{}/{}/'", bug.0, bug.1)), "the guide plants this bug");
    let buggy = dir.join("tests/fixtures/buggy/token-limits-backwards-clock");
    copy_tree(&dir.join("solutions/01-token-limits"), &buggy);
    edit(&buggy.join("Cargo.toml"), rename.0, rename.1);
    edit(&buggy.join("src/lib.rs"), bug.0, bug.1);
    let out =
        in_catalog(dir, &["grade", &buggy.display().to_string(), "--challenge", "token-limits", "--format", "json"]);
    let doc = out.json();
    let verdicts = crate::support::verdicts(&doc, "token-limits-backwards-clock");
    let failing: Vec<&str> = verdicts.iter().filter(|(_, v)| *v != "pass").map(|(s, _)| *s).collect();
    assert_eq!(failing, ["clock-moves-backwards"], "{verdicts:?}");

    // 4. Break the spec with an unknown op: one problem, at its file and line, exit code 2.
    let typo = "{ at = \"0s\", op = \"acquire\", key = \"u1\", repeat = 3";
    let line = line_of(&spec, typo);
    edit(&spec, typo, &typo.replace("acquire", "aquire"));
    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 2, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "challenges/01-token-limits/challenge.toml:{line}: scenario \"fixed-window-basics\", steps[0]: unknown variant `aquire`, expected one of `acquire`, `burst`, `poll`, `fill-keys`, `cleanup`, `tracked-keys`\n1 problem\n"
        )
    );
}

#[test]
fn dev_new_scaffolds_an_lru_cache_challenge_that_dev_check_accepts() {
    let temp = empty_catalog();
    let dir = temp.path();
    let out = in_catalog(dir, &["dev", "new", "ttl-cache", "--system", "lru-cache"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Created challenge 1, ttl-cache, from the lru-cache scaffold"), "{}", out.stdout);
    let spec = std::fs::read_to_string(dir.join("challenges/01-ttl-cache/challenge.toml")).unwrap();
    assert!(spec.contains("\nsystem = \"lru-cache\"\n"), "{spec}");
    let brief = std::fs::read_to_string(dir.join("challenges/01-ttl-cache/README.md")).unwrap();
    assert!(brief.starts_with("# Challenge 1: Ttl cache\n"), "{brief}");
    let template = std::fs::read_to_string(dir.join("challenges/01-ttl-cache/template/Cargo.toml")).unwrap();
    assert!(template.contains("name = \"ttl_cache\""), "{template}");

    // The reference passes both scenarios, the hidden one included; the template fails the visible.
    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "catalogue ok: 1 challenge, 2 scenarios\n");
    assert!(out.stderr.contains("01-ttl-cache reference solution: 2 of 2 pass"), "{}", out.stderr);
    assert!(out.stderr.contains("01-ttl-cache template: 0 of 1 pass"), "{}", out.stderr);

    // The hidden scenario grades: a reference that serves an entry at its expiry instant fails it.
    let reference = dir.join("solutions/01-ttl-cache/src/lib.rs");
    let spec_path = dir.join("challenges/01-ttl-cache/challenge.toml");
    edit(&reference, "if expiry > now {", "if expiry >= now {");
    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 1, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let line = line_of(&spec_path, "[[scenario]]\nname = \"ttl-boundary\"");
    let start = format!(
        "challenges/01-ttl-cache/challenge.toml:{line}: scenario \"ttl-boundary\" (hidden): the reference solution gets fail: step 3: at t=10s: get(1);"
    );
    assert!(out.stdout.starts_with(&start), "expected a line starting with\n  {start}\ngot\n{}", out.stdout);
    assert!(out.stdout.ends_with("\n1 problem\n"), "{}", out.stdout);
}

#[test]
fn dev_check_reports_every_problem_one_line_each() {
    let temp = empty_catalog();
    let dir = temp.path();
    for slug in ["first-limits", "second-limits"] {
        let out = in_catalog(dir, &["dev", "new", slug, "--system", "rate-limiter"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    }
    // A spec that does not load and has no brief either, another missing brief, weights that do
    // not add up, a reference that admits one permit too few, and a template already solved.
    let first = dir.join("challenges/01-first-limits/challenge.toml");
    edit(&first, "criterion = \"correctness\"\npoints = 2", "criterion = \"corectness\"\npoints = 2");
    std::fs::remove_file(dir.join("challenges/01-first-limits/README.md")).unwrap();
    std::fs::remove_file(dir.join("challenges/02-second-limits/README.md")).unwrap();
    let second = dir.join("challenges/02-second-limits/challenge.toml");
    edit(&second, "weight = 30", "weight = 35");
    let reference = dir.join("solutions/02-second-limits/src/lib.rs");
    let solved = std::fs::read_to_string(&reference).unwrap();
    std::fs::write(dir.join("challenges/02-second-limits/template/src/lib.rs"), &solved).unwrap();
    edit(&reference, "cost <= self.limit - state.count", "cost < self.limit - state.count");

    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 2, "spec problems win; stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let expected = [
        format!(
            "challenges/01-first-limits/challenge.toml:{}: scenario \"fixed-window-basics\": criterion = \"corectness\" is not in the rubric",
            line_of(&first, "[[scenario]]\nname = \"fixed-window-basics\"")
        ),
        "challenges/01-first-limits/README.md: no brief:".to_owned(),
        format!(
            "challenges/02-second-limits/challenge.toml:{}: rubric: the criteria's weights add up to 105 (correctness 70, edge-cases 35), not 100",
            line_of(&second, "[rubric]")
        ),
        "challenges/02-second-limits/README.md: no brief:".to_owned(),
        format!(
            "challenges/02-second-limits/challenge.toml:{}: scenario \"fixed-window-basics\" (visible): the reference solution gets fail: step 1: at t=0s: try_acquire(\"u1\", 1), call 3 of 3; expected allowed: true; got allowed: false",
            line_of(&second, "[[scenario]]\nname = \"fixed-window-basics\"")
        ),
        format!(
            "challenges/02-second-limits/challenge.toml:{}: scenario \"cost-is-all-or-nothing\" (hidden): the reference solution gets fail:",
            line_of(&second, "[[scenario]]\nname = \"cost-is-all-or-nothing\"")
        ),
        "challenges/02-second-limits/template/src/lib.rs: the template passes every visible scenario (1)".to_owned(),
        "7 problems".to_owned(),
    ];
    assert_eq!(lines.len(), expected.len(), "{}", out.stdout);
    for (line, start) in lines.iter().zip(&expected) {
        assert!(line.starts_with(start.as_str()), "expected a line starting with\n  {start}\ngot\n  {line}");
    }

    // Without the spec problems, the worst left is a reference that fails: exit code 1.
    edit(&first, "criterion = \"corectness\"", "criterion = \"correctness\"");
    edit(&second, "weight = 35", "weight = 30");
    for slug in ["01-first-limits", "02-second-limits"] {
        std::fs::write(dir.join("challenges").join(slug).join("README.md"), "# A brief\n").unwrap();
    }
    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 1, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert!(out.stdout.ends_with("\n3 problems\n"), "{}", out.stdout);

    // A reference that does not build is named at the compiler's file and line: exit code 3.
    edit(&reference, "        if cost > self.limit {", "        if cost > self.limit + \"1\" {");
    let out = in_catalog(dir, &["dev", "check"]);
    assert_eq!(out.code, 3, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let line = line_of(&reference, "self.limit + \"1\"");
    assert!(
        out.stdout.starts_with(&format!(
            "solutions/02-second-limits/src/lib.rs:{line}: the reference solution does not build: error[E0277]"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn dev_new_refuses_a_taken_slug_an_unknown_system_and_a_bad_slug() {
    let temp = empty_catalog();
    let dir = temp.path();
    assert_eq!(in_catalog(dir, &["dev", "new", "token-limits", "--system", "rate-limiter"]).code, 0);
    let cases: &[(&[&str], &str)] = &[
        (
            &["token-limits", "--system", "rate-limiter"],
            "a challenge with slug \"token-limits\" already exists at challenges/01-token-limits",
        ),
        (
            &["ttl-cache", "--system", "cache"],
            "no system \"cache\": a challenge needs a grader, and the graders know rate-limiter, lru-cache",
        ),
        (&["Token_Limits", "--system", "rate-limiter"], "\"Token_Limits\" is not a slug"),
        (&["2-fast", "--system", "rate-limiter"], "\"2-fast\" is not a slug"),
    ];
    for (args, message) in cases {
        let mut all = vec!["dev", "new"];
        all.extend_from_slice(args);
        let out = in_catalog(dir, &all);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    // Nothing was written by the refusals, and the next free id follows the existing ones.
    let out = in_catalog(dir, &["dev", "new", "burst-limits", "--system", "rate-limiter"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut made: Vec<String> = std::fs::read_dir(dir.join("challenges"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(made, ["01-token-limits", "02-burst-limits"]);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "Cargo.lock" || entry.file_name() == "target" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
