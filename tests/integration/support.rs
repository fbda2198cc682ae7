//! Running the real `challenge` binary from tests, with one build cache shared by every test (so
//! the harness and each fixture compile once per machine, not once per test).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture crate or directory under tests/fixtures.
pub fn fixture(rel: &str) -> String {
    format!("tests/fixtures/{rel}")
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as the `--format json` document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

/// A gradebook path no other command uses, so tests never resume each other's runs.
pub fn fresh_gradebook() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gradebooks");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{}.db", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_file(&path);
    path
}

/// A command for the binary, run from `dir`, with the shared cache, a fresh gradebook and colors off.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_challenge"));
    cmd.args(args)
        .current_dir(dir)
        .env("CHALLENGE_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("challenge-cache"))
        .env("CHALLENGE_GRADEBOOK", fresh_gradebook())
        .env("NO_COLOR", "1")
        .env_remove("CHALLENGE_CATALOG");
    cmd
}

/// Runs `cmd` to completion.
pub fn run(mut cmd: Command) -> Run {
    let out = cmd.output().expect("run the challenge binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the binary from the repository root.
pub fn challenge(args: &[&str]) -> Run {
    run(command(&repo(), args))
}

/// Each scenario's verdict for the submission whose path ends with `name`.
pub fn verdicts<'a>(doc: &'a serde_json::Value, name: &str) -> Vec<(&'a str, &'a str)> {
    let submission = doc["submissions"]
        .as_array()
        .expect("submissions")
        .iter()
        .find(|s| s["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no submission {name} in {doc:#}"));
    submission["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| (s["name"].as_str().expect("name"), s["verdict"].as_str().expect("verdict")))
        .collect()
}

/// The verdict of one scenario of one submission.
pub fn verdict<'a>(doc: &'a serde_json::Value, name: &str, scenario: &str) -> &'a str {
    verdicts(doc, name)
        .into_iter()
        .find(|(s, _)| *s == scenario)
        .unwrap_or_else(|| panic!("{name} has no scenario {scenario}"))
        .1
}

/// The same text with durations, seeds and temp paths replaced, for comparing what people see.
pub fn redact(text: &str, temp: &Path) -> String {
    let text = text.replace(&temp.display().to_string(), "[TEMP]");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                let is_secs = w.ends_with('s') && w[..w.len() - 1].parse::<f64>().is_ok() && w.contains('.');
                if is_secs {
                    "[DURATION]".to_owned()
                } else {
                    w.to_owned()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}
