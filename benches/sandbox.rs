//! What the bubblewrap sandbox costs per submission: the same crate graded with the real
//! `challenge` binary, sandboxed and not (`CHALLENGE_SANDBOX=off`), trials alternating, on a warm
//! build cache, so that what differs is the sandbox's own work: the `cargo fetch` outside it,
//! cargo started inside it, and one `bwrap` per scenario's worker.
//!
//! Run: `cargo bench --bench sandbox` (a plain binary, `harness = false`; about a minute). It
//! needs bubblewrap installed (`apt-get install bubblewrap`) and prints why not otherwise.
//!
//! The crate is `tests/fixtures/buggy/correct` (challenge 1, on its 20-odd scenarios). Each trial
//! is `challenge grade <crate> --challenge 1 --regrade --format json` with its own fresh
//! gradebook; the JSON's `isolation` field says which isolation the trial really had.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TRIALS: usize = 7;

fn grade(repo: &Path, cache: &Path, sandbox: bool, trial: usize) -> (Duration, String, usize) {
    let gradebook = std::env::temp_dir().join(format!("challenge-bench-sandbox-{}-{trial}-{sandbox}.db", std::process::id()));
    let _ = std::fs::remove_file(&gradebook);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_challenge"));
    cmd.current_dir(repo)
        .args(["grade", "tests/fixtures/buggy/correct", "--challenge", "1", "--regrade", "--format", "json", "--gradebook"])
        .arg(&gradebook)
        .env("CHALLENGE_CACHE_DIR", cache)
        .env("NO_COLOR", "1");
    if !sandbox {
        cmd.env("CHALLENGE_SANDBOX", "off");
    }
    let started = Instant::now();
    let out = cmd.output().expect("run the challenge binary");
    let wall = started.elapsed();
    let _ = std::fs::remove_file(&gradebook);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let isolation = doc["isolation"].as_str().unwrap_or_default().to_owned();
    let scenarios = doc["submissions"][0]["scenarios"].as_array().map_or(0, Vec::len);
    (wall, isolation, scenarios)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = std::env::temp_dir().join("challenge-bench-sandbox-cache");
    // Warm both paths once: the first build, the reference, the OS file cache.
    let (_, isolation, scenarios) = grade(repo, &cache, true, 0);
    grade(repo, &cache, false, 0);
    if !isolation.starts_with("bubblewrap") {
        println!("no sandbox to measure: {isolation}");
        return;
    }
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for trial in 1..=TRIALS {
        off.push(grade(repo, &cache, false, trial).0);
        on.push(grade(repo, &cache, true, trial).0);
    }
    let (on, off) = (median(on), median(off));
    println!("grading one crate ({scenarios} scenarios, warm cache), median of {TRIALS} alternating trials:");
    println!("  {:<28} {:>9.3} s", "rlimits only (unconfined)", off.as_secs_f64());
    println!("  {:<28} {:>9.3} s", "bubblewrap sandbox", on.as_secs_f64());
    println!(
        "  overhead: {:+.3} s a submission, {:.2}x; {:+.1} ms a scenario",
        on.as_secs_f64() - off.as_secs_f64(),
        on.as_secs_f64() / off.as_secs_f64(),
        (on.as_secs_f64() - off.as_secs_f64()) * 1000.0 / scenarios.max(1) as f64
    );
}
