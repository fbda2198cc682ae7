//! Hostile submissions each get their precise verdict, and the next scenario still runs and passes
//! in a fresh worker. The fixtures misbehave only on the key "hostile", which the first scenario
//! of tests/fixtures/catalog uses.

use crate::support::{challenge, fixture, verdict};

/// (fixture, verdict of the "hostile" scenario, words its message must contain)
const HOSTILE: &[(&str, &str, &str)] = &[
    ("panic", "panic", "hostile panic"),
    ("infinite-loop", "timeout", "infinite loop"),
    ("panic-abort", "panic", "hostile panic that cannot unwind"),
    ("abort", "crash", "SIGABRT"),
    ("deadlock", "timeout", "deadlock"),
    ("segfault", "crash", "segmentation fault (SIGSEGV)"),
    ("main-stack-overflow", "crash", "stack overflow"),
    ("exit-zero", "exited", "std::process::exit"),
    ("stdout-flood", "output-limit", "printed more than"),
    ("memory-bomb", "memory-limit", "ran out of memory"),
    ("thread-stack-overflow", "crash", "SIGSEGV"),
    ("missing-export", "abi-mismatch", "challenge_rate_limiter_v1"),
    ("compile-error", "build-error", "did not build"),
    ("not-cdylib", "build-error", "did not build"),
    ("thread-spin", "cpu-limit", "of CPU time across its threads (the CPU-time limit)"),
    ("fork-bomb", "timeout", "(the wall-clock limit)"),
    // Its answer is right; what matters is that its daemon does not outlive the run.
    ("daemon", "pass", "the grader killed 2 processes your code left running"),
    // Were one forged "Done" believed, this would be judged as a finished scenario.
    ("forged-records", "exited", "the grader ignored 3 forged lines your code wrote on its private record pipe"),
];

/// Where the process-starting fixtures note their pids (`lenient::PID_DIR`).
const PID_DIR: &str = "/tmp/challenge-hostile-pids";

/// The pids the fixtures noted that still run: a killed process whose parent has gone may stay
/// a zombie until init reaps it, which counts as gone.
fn still_running() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(PID_DIR) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.rsplit('-').next()?.to_owned();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let state = stat.rsplit(") ").next()?.chars().next()?;
            (state != 'Z').then_some(name)
        })
        .collect()
}

#[test]
fn each_hostile_fixture_gets_its_verdict_and_the_run_goes_on() {
    let _ = std::fs::remove_dir_all(PID_DIR);
    let paths: Vec<String> = HOSTILE.iter().map(|(name, _, _)| fixture(&format!("hostile/{name}"))).collect();
    let mut args = vec!["--catalog", "tests/fixtures/catalog", "grade", "--challenge", "1", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let run = challenge(&args);
    assert_eq!(run.code, 3, "two fixtures do not build, so the run reports a build failure; stderr:\n{}", run.stderr);
    let doc = run.json();
    for (name, expected, words) in HOSTILE {
        let path = format!("hostile/{name}");
        assert_eq!(verdict(&doc, &path, "hostile"), *expected, "{name}");
        let sub = doc["submissions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"].as_str().unwrap().ends_with(&path))
            .unwrap();
        let message = sub["scenarios"][0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{name}: message {message:?} should mention {words:?}");
        let calm = verdict(&doc, &path, "calm");
        match *expected {
            // Nothing ran: the same verdict covers every scenario.
            "build-error" | "abi-mismatch" => assert_eq!(calm, *expected, "{name}"),
            _ => assert_eq!(calm, "pass", "{name}: the next scenario runs in a fresh worker and passes"),
        }
    }
    let noted = std::fs::read_dir(PID_DIR).map_or(0, |d| d.count());
    assert!(noted >= 2 + 32, "the daemon and fork-bomb fixtures noted their processes ({noted})");
    assert_eq!(still_running(), Vec::<String>::new(), "no process a fixture started outlives the run");
    let compile = doc["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().ends_with("compile-error"))
        .unwrap();
    assert!(compile["build"]["message"].as_str().unwrap().contains("failed to compile"));
    let not_cdylib = doc["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().ends_with("not-cdylib"))
        .unwrap();
    assert!(not_cdylib["build"]["message"].as_str().unwrap().contains("crate-type = [\"cdylib\"]"));
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
