//! Running the real `challenge` binary from tests, with one build cache shared by every test (so
//! the harness and each fixture compile once per machine, not once per test).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

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

/// The machine, shared by tests that only need it to run, held alone by tests whose verdicts
/// depend on threads really overlapping or on real-time deadlines: on two cores, a race that
/// shows when a grade has the cores to itself can vanish while other tests' workers run.
static MACHINE: RwLock<()> = RwLock::new(());

thread_local! {
    /// Whether this test thread holds the machine alone (its own runs then need no share).
    static ALONE: Cell<bool> = const { Cell::new(false) };
}

/// The machine to this test alone, until dropped.
pub struct Alone {
    _guard: RwLockWriteGuard<'static, ()>,
}

/// Waits until no other test runs the binary, then keeps it so until the guard drops.
pub fn alone() -> Alone {
    let guard = MACHINE.write().unwrap_or_else(PoisonError::into_inner);
    ALONE.with(|a| a.set(true));
    Alone { _guard: guard }
}

impl Drop for Alone {
    fn drop(&mut self) {
        ALONE.with(|a| a.set(false));
    }
}

/// Runs `cmd` to completion, sharing the machine with other tests unless this one holds it alone.
pub fn run(mut cmd: Command) -> Run {
    let _shared = (!ALONE.with(Cell::get)).then(|| MACHINE.read().unwrap_or_else(PoisonError::into_inner));
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

/// A challenge's grader, as its tests see it: where its reference, template and buggy fixtures
/// are, and which of its scenarios run on one thread.
pub struct Grader<'a> {
    /// The challenge's number.
    pub number: &'a str,
    /// Its directory name under challenges/ and solutions/, e.g. `03-connection-pool`.
    pub dir: &'a str,
    /// Its slug, as reports name it.
    pub slug: &'a str,
    /// The directory of its buggy fixtures under tests/fixtures.
    pub fixtures: &'a str,
    /// (fixture, the scenarios aimed at its bug).
    pub buggy: &'a [(&'a str, &'a [&'a str])],
    /// The fixtures whose bug needs threads to show: they must fail no sequential scenario.
    pub concurrency_only: &'a [&'a str],
    /// Whether a scenario runs on one thread, with no race in it.
    pub sequential: &'a dyn Fn(&str) -> bool,
}

impl Grader<'_> {
    /// A fixture's path.
    pub fn fixture(&self, name: &str) -> String {
        fixture(&format!("{}/{name}", self.fixtures))
    }

    /// The reference solution earns every point, at level 5, on at least `scenarios` scenarios.
    pub fn assert_reference_scores_full_marks(&self, scenarios: usize) {
        let _alone = alone();
        let run = challenge(&["grade", &format!("solutions/{}", self.dir), "--format", "json"]);
        assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
        let doc = run.json();
        let sub = &doc["submissions"][0];
        assert_eq!(sub["challenge"], self.slug);
        let failing: Vec<_> = verdicts(&doc, self.dir).into_iter().filter(|(_, v)| *v != "pass").collect();
        assert!(failing.is_empty(), "the reference failed {failing:?}");
        assert_eq!(sub["percent"], 100.0);
        assert_eq!(sub["level"], 5);
        assert!(verdicts(&doc, self.dir).len() >= scenarios);
    }

    /// The template compiles, reaches a `todo!()` in every scenario, and scores under 10%.
    pub fn assert_template_scores_low(&self) {
        let template = format!("challenges/{}/template", self.dir);
        let run = challenge(&["grade", &template, "--challenge", self.number, "--format", "json"]);
        let doc = run.json();
        let sub = &doc["submissions"][0];
        assert_eq!(sub["passed"], false, "{sub:#}");
        assert!(sub["percent"].as_f64().unwrap() < 10.0, "{sub:#}");
        assert!(verdicts(&doc, "template").iter().all(|(_, v)| *v == "panic"), "every todo!() is reached");
    }

    /// `correct` passes everything; each buggy fixture fails the scenarios aimed at it; a
    /// concurrency-only bug fails no sequential scenario; and every scenario is failed by some
    /// fixture, since a grader that passes everything proves nothing.
    pub fn assert_fixtures_fail_their_aimed_scenarios(&self) {
        let _alone = alone();
        let paths: Vec<String> =
            self.buggy.iter().map(|(name, _)| self.fixture(name)).chain([self.fixture("correct")]).collect();
        let mut args = vec!["grade", "--challenge", self.number, "--format", "json"];
        args.extend(paths.iter().map(String::as_str));
        let doc = challenge(&args).json();

        let correct = verdicts(&doc, &format!("{}/correct", self.fixtures));
        assert!(correct.iter().all(|(_, v)| *v == "pass"), "the correct learner-style crate must pass: {correct:?}");
        let mut failed_somewhere = std::collections::BTreeSet::new();
        for (name, targets) in self.buggy {
            let fixture = format!("{}/{name}", self.fixtures);
            for target in *targets {
                let v = verdict(&doc, &fixture, target);
                assert!(matches!(v, "fail" | "panic" | "timeout"), "{name} must fail {target}, got {v}");
            }
            let failed: Vec<&str> =
                verdicts(&doc, &fixture).into_iter().filter(|(_, v)| *v != "pass").map(|(s, _)| s).collect();
            if self.concurrency_only.contains(name) {
                let sequential: Vec<_> = failed.iter().filter(|s| (self.sequential)(s)).collect();
                assert!(sequential.is_empty(), "{name} is a concurrency-only bug, yet failed {sequential:?}");
            }
            failed_somewhere.extend(failed.into_iter().map(str::to_owned));
        }
        let every: std::collections::BTreeSet<String> = correct.iter().map(|(s, _)| (*s).to_owned()).collect();
        let never_failed: Vec<_> = every.difference(&failed_somewhere).collect();
        assert!(never_failed.is_empty(), "scenarios no buggy fixture fails: {never_failed:?}");
    }

    /// One scenario of a `challenge test` run of fixture `name`, as JSON.
    pub fn tested(&self, name: &str, scenario: &str) -> serde_json::Value {
        let _alone = alone();
        let doc = challenge(&["test", self.number, "--solution", &self.fixture(name), "--format", "json"]).json();
        doc["submissions"][0]["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == scenario)
            .unwrap_or_else(|| panic!("no scenario {scenario} in {doc:#}"))
            .clone()
    }
}
