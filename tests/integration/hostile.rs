//! Hostile submissions each get their precise verdict, and the next scenario still runs and passes
//! in a fresh worker. The fixtures misbehave only on the key "hostile", which the first scenario
//! of tests/fixtures/catalog uses.

use crate::hostile_stage::{home_escape, listen, orphaned_workers, prepare_escapes, still_running, ESCAPES, ESCAPE_DIR, HOSTILE, PID_DIR};
use crate::support::{challenge, fixture, verdict};

/// Grades `fixtures` on the hostile catalogue, `sandbox` on or off, and checks every verdict,
/// that the next scenario still passes, and that nothing outlives the run; returns the JSON.
fn grade_hostile(fixtures: &[&str], sandbox: bool) -> serde_json::Value {
    prepare_escapes(&crate::support::repo());
    let paths: Vec<String> = fixtures.iter().map(|name| fixture(&format!("hostile/{name}"))).collect();
    let mut args = vec!["--catalog", "tests/fixtures/catalog", "grade", "--challenge", "1", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let mut cmd = crate::support::command(&crate::support::repo(), &args);
    if !sandbox {
        cmd.env("CHALLENGE_SANDBOX", "off");
    }
    let run = crate::support::run(cmd);
    let doc = run.json();
    let confined = doc["isolation"].as_str().unwrap().starts_with("bubblewrap");
    assert!(sandbox || !confined, "CHALLENGE_SANDBOX=off runs unconfined");
    if !confined {
        assert!(doc["isolation"].as_str().unwrap().starts_with("unconfined"), "an unconfined run says so: {}", doc["isolation"]);
        assert!(run.stderr.contains("isolation: unconfined"), "and tells the instructor: {}", run.stderr);
    }
    for name in fixtures {
        let (expected, words) = match HOSTILE.iter().find(|(n, _, _)| n == name) {
            Some((_, verdict, words)) => (*verdict, *words),
            None => {
                let (_, inside, outside) = ESCAPES.iter().find(|(n, _, _)| n == name).expect("a known fixture");
                if confined { *inside } else { *outside }
            }
        };
        let path = format!("hostile/{name}");
        assert_eq!(verdict(&doc, &path, "hostile"), expected, "{name} (confined: {confined})");
        let sub = doc["submissions"].as_array().unwrap().iter().find(|s| s["path"].as_str().unwrap().ends_with(&path)).unwrap();
        let message = sub["scenarios"][0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{name}: message {message:?} should mention {words:?}");
        let calm = verdict(&doc, &path, "calm");
        match expected {
            // Nothing ran: the same verdict covers every scenario.
            "build-error" | "abi-mismatch" => assert_eq!(calm, expected, "{name}"),
            _ => assert_eq!(calm, "pass", "{name}: the next scenario runs in a fresh worker and passes"),
        }
    }
    assert_eq!(orphaned_workers(), Vec::<String>::new(), "no process a worker started outlives the run");
    if !confined && fixtures.contains(&"daemon") {
        let noted = std::fs::read_dir(PID_DIR).map_or(0, |d| d.count());
        assert!(noted >= 2, "the daemon noted its processes ({noted})");
        assert_eq!(still_running(), Vec::<String>::new(), "no process a fixture started outlives the run");
    }
    if fixtures.contains(&"write-outside") {
        let written = std::path::Path::new(ESCAPE_DIR).join("write-outside").exists();
        assert_eq!(written, !confined, "a write to /tmp escapes exactly when unconfined");
    }
    if fixtures.contains(&"build-rs") {
        assert_eq!(home_escape().exists(), !confined, "build.rs writes to $HOME exactly when unconfined");
        let _ = std::fs::remove_file(home_escape());
    }
    doc
}

#[test]
fn each_hostile_fixture_gets_its_verdict_contained_or_reported_and_the_run_goes_on() {
    let heard = listen();
    let all: Vec<&str> = HOSTILE.iter().map(|(n, _, _)| *n).chain(ESCAPES.iter().map(|(n, _, _)| *n)).collect();
    let doc = grade_hostile(&all, true);
    let confined = doc["isolation"].as_str().unwrap().starts_with("bubblewrap");
    let compile = doc["submissions"].as_array().unwrap().iter().find(|s| s["path"].as_str().unwrap().ends_with("compile-error")).unwrap();
    assert!(compile["build"]["message"].as_str().unwrap().contains("failed to compile"));
    let not_cdylib = doc["submissions"].as_array().unwrap().iter().find(|s| s["path"].as_str().unwrap().ends_with("not-cdylib")).unwrap();
    assert!(not_cdylib["build"]["message"].as_str().unwrap().contains("crate-type = [\"cdylib\"]"));
    let first: Vec<String> = std::mem::take(&mut *heard.lock().unwrap());
    if confined {
        assert_eq!(first, Vec::<String>::new(), "nothing reaches the loopback listener from the sandbox");
        // Graded alone, read-other's classmates beside it are not in the run, and still hidden.
        grade_hostile(&["read-other"], true);
    }
    // The same escapes unconfined: each one gets through, and is reported, not silently passed.
    let escapes: Vec<&str> = ESCAPES.iter().map(|(n, _, _)| *n).chain(["fork-bomb", "forged-records"]).collect();
    let doc = grade_hostile(&escapes, false);
    // Unconfined, read-other reads all it tries but the catalogue in the worker executable, which
    // has none; `challenge`'s own, beside it, is readable there (and hidden in the sandbox).
    let read = doc["submissions"].as_array().unwrap().iter().find(|s| s["path"].as_str().unwrap().ends_with("read-other")).unwrap();
    let message = read["scenarios"][0]["message"].as_str().unwrap();
    let reads = ["read a classmate's crate", "read a library another submission built", "read the hidden scenarios: ", "in the grader's executable"];
    for what in reads {
        assert!(message.contains(what), "unconfined, read-other should {what}: {message}");
    }
    assert!(!message.contains("catalogue"), "{message}");
    let mut second: Vec<String> = std::mem::take(&mut *heard.lock().unwrap());
    second.sort();
    assert_eq!(second, ["build-rs", "network"], "unconfined, both the build script and the worker get through");
}

/// The learner's code runs inside the worker and can read its executable: `challenge-worker` must
/// carry none of the catalogue that `challenge` embeds (hidden scenarios, reference sources).
#[test]
fn the_worker_executable_carries_no_catalogue() {
    let worker = std::fs::read(env!("CARGO_BIN_EXE_challenge-worker")).unwrap();
    let full = std::fs::read(env!("CARGO_BIN_EXE_challenge")).unwrap();
    let contains = |haystack: &[u8], needle: &str| haystack.windows(needle.len()).any(|w| w == needle.as_bytes());
    let repo = crate::support::repo();
    let spec = std::fs::read_to_string(repo.join("challenges/03-connection-pool/challenge.toml")).unwrap();
    let hidden: Vec<&str> = spec
        .split("[[scenario]]")
        .filter(|s| s.contains("visibility = \"hidden\""))
        .filter_map(|s| s.lines().find_map(|l| l.strip_prefix("description = \"")))
        .collect();
    assert!(hidden.len() >= 3, "challenge 3 has hidden scenarios: {hidden:?}");
    let reference = std::fs::read_to_string(repo.join("solutions/03-connection-pool/src/pool.rs")).unwrap();
    let line = reference.lines().map(str::trim).find(|l| l.len() > 60 && !l.starts_with("//")).unwrap();
    for needle in hidden.iter().map(|d| d.char_indices().nth(40).map_or(*d, |(i, _)| &d[..i])).chain([line, "[[scenario]]"]) {
        assert!(contains(&full, needle), "challenge embeds {needle:?}, so this check can fail");
        assert!(!contains(&worker, needle), "challenge-worker must not carry {needle:?}");
    }
    let run = challenge(&["test", "1", "--solution", "solutions/01-rate-limiter", "--sandbox", "--format", "json"]);
    let doc = run.json();
    assert!(doc["isolation"].as_str().unwrap().contains("workers run challenge-worker, which carries no catalogue"), "{}", doc["isolation"]);
}

#[test]
fn compile_errors_are_shown_as_cargo_renders_them() {
    let run = challenge(&[
        "--catalog",
        "tests/fixtures/catalog",
        "test",
        "1",
        "--solution",
        &fixture("hostile/compile-error"),
    ]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("error[E0308]: mismatched types"), "{}", run.stdout);
    assert!(run.stdout.contains("src/lib.rs:"), "{}", run.stdout);
    assert!(run.stdout.contains("build failed:"), "{}", run.stdout);
}
