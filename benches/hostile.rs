//! The hostile fixtures' table: for each crate under `tests/fixtures/hostile/`, the verdict of
//! its "hostile" scenario, the time to that verdict, and whether what it tried was contained,
//! graded once in bubblewrap and once unconfined (`CHALLENGE_SANDBOX=off`), all in one `grade`
//! run each, as an instructor would grade a class.
//!
//! Run: `cargo bench --bench hostile` (a plain binary, `harness = false`; a few minutes, most of
//! it the first build of 27 crates). It opens the loopback listener the network fixtures call,
//! port 47613, so it must not run beside the hostile integration test.
//!
//! "Contained" is read off evidence, not assumed: the listener heard nothing from the crate, the
//! files the escape fixtures write (in /tmp and in `$HOME`) are not there, `read-other` did not
//! report a read, no process a worker or fixture started is still alive, and the grader itself
//! finished with its JSON report.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../tests/integration/hostile_stage.rs"]
mod hostile_stage;

use hostile_stage::{home_escape, listen, orphaned_workers, prepare_escapes, still_running, ESCAPES, ESCAPE_DIR, HOSTILE};

/// What one fixture did in one run.
struct Row {
    verdict: String,
    expected: bool,
    millis: Option<u64>,
    escaped: Vec<&'static str>,
}

/// Grades every fixture in one run, sandboxed or not; returns the isolation, the grader's wall
/// time and a row per fixture, in `names` order.
fn grade(repo: &Path, names: &[&str], sandbox: bool) -> (String, f64, Vec<Row>) {
    let heard = listen_once();
    prepare_escapes(repo);
    let gradebook = std::env::temp_dir().join(format!("challenge-bench-hostile-{}-{sandbox}.db", std::process::id()));
    let _ = std::fs::remove_file(&gradebook);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_challenge"));
    cmd.current_dir(repo)
        .args(["--catalog", "tests/fixtures/catalog", "grade", "--challenge", "1", "--regrade", "--format", "json", "--gradebook"])
        .arg(&gradebook)
        .args(names.iter().map(|n| format!("tests/fixtures/hostile/{n}")))
        .env("CHALLENGE_CACHE_DIR", std::env::temp_dir().join("challenge-bench-hostile-cache"))
        .env("NO_COLOR", "1");
    if !sandbox {
        cmd.env("CHALLENGE_SANDBOX", "off");
    }
    let started = Instant::now();
    let out = cmd.output().expect("run the challenge binary");
    let wall = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&gradebook);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the grader survives and reports JSON ({e}); stderr:\n{}", String::from_utf8_lossy(&out.stderr)));
    let isolation = doc["isolation"].as_str().unwrap_or_default().to_owned();
    let confined = isolation.starts_with("bubblewrap");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let heard: Vec<String> = std::mem::take(&mut *heard.lock().unwrap());
    let orphans = orphaned_workers();
    let running = still_running();
    let rows = names
        .iter()
        .map(|name| {
            let sub = doc["submissions"]
                .as_array()
                .and_then(|subs| subs.iter().find(|s| s["path"].as_str().is_some_and(|p| p.ends_with(&format!("hostile/{name}")))))
                .unwrap_or_else(|| panic!("{name} is in the report"));
            let scenario = &sub["scenarios"][0];
            let verdict = scenario["verdict"].as_str().unwrap_or("?").to_owned();
            let message = scenario["message"].as_str().unwrap_or_default();
            let expected = match HOSTILE.iter().find(|(n, _, _)| n == name) {
                Some((_, v, words)) => verdict == *v && message.contains(words),
                None => {
                    let (_, inside, outside) = ESCAPES.iter().find(|(n, _, _)| n == name).expect("a known fixture");
                    let (v, words) = if confined { inside } else { outside };
                    verdict == *v && message.contains(words)
                }
            };
            let ran = !matches!(verdict.as_str(), "build-error" | "abi-mismatch");
            let mut escaped = Vec::new();
            if heard.iter().any(|h| h == name) {
                escaped.push("reached the loopback listener");
            }
            match *name {
                "write-outside" if Path::new(ESCAPE_DIR).join("write-outside").exists() => escaped.push("wrote to /tmp"),
                "build-rs" if home_escape().exists() => escaped.push("wrote to $HOME"),
                "read-other" if message.contains("read another submission") => escaped.push("read another submission"),
                "daemon" if !running.is_empty() => escaped.push("outlived the worker"),
                _ => {}
            }
            if !orphans.is_empty() {
                escaped.push("a worker's process outlived the run");
            }
            Row { verdict, expected, millis: ran.then(|| scenario["duration_ms"].as_u64()).flatten(), escaped }
        })
        .collect();
    let _ = std::fs::remove_file(home_escape());
    (isolation, wall, rows)
}

/// The listener, bound once for the whole bench (its port can be bound only once).
fn listen_once() -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    static HEARD: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<String>>>> = std::sync::OnceLock::new();
    std::sync::Arc::clone(HEARD.get_or_init(listen))
}

fn cell(row: &Row) -> String {
    let time = row.millis.map_or_else(|| "—".to_owned(), |ms| format!("{ms} ms"));
    let mark = if row.expected { "" } else { " (not the expected verdict)" };
    format!("{}{mark}, {time}", row.verdict)
}

fn contained(row: &Row) -> String {
    if row.escaped.is_empty() { "yes".to_owned() } else { format!("**no**: {}", row.escaped.join(", ")) }
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names: Vec<&str> = HOSTILE.iter().map(|(n, _, _)| *n).chain(ESCAPES.iter().map(|(n, _, _)| *n)).collect();
    // The first run builds every crate; the two measured runs then find their builds fresh,
    // except build-rs, which prepare_escapes touches so that its build script runs each time.
    let (first, ..) = grade(repo, &names, true);
    let (inside, inside_wall, confined) = grade(repo, &names, true);
    let (outside, outside_wall, unconfined) = grade(repo, &names, false);
    println!("sandboxed: {inside} ({inside_wall:.1} s for the class); unconfined: {outside} ({outside_wall:.1} s)");
    if !first.starts_with("bubblewrap") {
        println!("(no bubblewrap here: both columns are unconfined)");
    }
    println!("\n| fixture | bwrap: verdict, time | unconfined: verdict, time | contained with bwrap | contained without |");
    println!("|---|---|---|---|---|");
    for ((name, a), b) in names.iter().zip(&confined).zip(&unconfined) {
        println!("| {name} | {} | {} | {} | {} |", cell(a), cell(b), contained(a), contained(b));
    }
}
