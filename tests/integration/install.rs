//! The path of a learner, and of CI grading a student's repository, with the tool installed:
//! `cargo install` into a temporary root, then `init`, `start`, `test` and `grade` in directories
//! outside the repository checkout, with no network. The installed binary has only what it
//! embeds: the catalogue, the harness and the reference solutions.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::support::{run, Run};
use crate::workspace::{tool, Cache};

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// Runs `cmd`, printing how long it took (visible with `--nocapture`).
fn timed(what: &str, cmd: Command) -> Run {
    let started = Instant::now();
    let out = run(cmd);
    eprintln!("{what}: {:.2}s", started.elapsed().as_secs_f64());
    out
}

/// A `cargo` that logs each invocation's arguments to `log`, then runs the real one.
fn logging_cargo(dir: &Path, log: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let path = dir.join("cargo");
    std::fs::write(&path, format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real}' \"$@\"\n", log.display())).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn the_installed_tool_takes_a_workspace_from_init_to_a_full_grade_outside_the_repo() {
    let repo = crate::support::repo();
    let install_root = tempfile::tempdir().unwrap();
    // `--debug`: the tool's own speed does not matter here (learners' crates and the references
    // are always built in release), and a debug build of it saves CI minutes. Its target dir
    // lives under target/tmp, so a rerun only rebuilds what changed; `--offline --locked`: the
    // versions in Cargo.lock, from the local cargo cache.
    let mut install = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    install
        .args(["install", "--quiet", "--offline", "--locked", "--debug", "--path"])
        .arg(&repo)
        .arg("--root")
        .arg(install_root.path())
        .env("CARGO_TARGET_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-target"));
    let installed = timed("cargo install --debug", install);
    assert_eq!(installed.code, 0, "{}", installed.stderr);
    let bin = install_root.path().join("bin/challenge");
    assert!(bin.is_file());

    let cache = Cache::fresh();
    let log = cache.path().join("cargo-invocations.log");
    let cargo = logging_cargo(cache.path(), &log);
    let anywhere = tempfile::tempdir().unwrap();
    let at = |dir: &Path, args: &[&str]| {
        let mut cmd = tool(&bin, dir, &cache, args);
        cmd.env("CARGO", &cargo);
        cmd
    };

    let version = run(at(anywhere.path(), &["--version"]));
    assert!(
        version.stdout.starts_with(&format!("challenge {} (harness ABI v1, ", env!("CARGO_PKG_VERSION"))),
        "{}",
        version.stdout
    );
    // The whole catalogue, from a directory that is no checkout.
    let listed = run(at(anywhere.path(), &["list"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let mut slugs = 0;
    for entry in std::fs::read_dir(repo.join("challenges")).unwrap() {
        let spec = entry.unwrap().path().join("challenge.toml");
        if let Ok(text) = std::fs::read_to_string(&spec) {
            let slug = text.lines().find_map(|l| l.strip_prefix("slug = ")).unwrap().trim_matches('"').to_owned();
            assert!(listed.stdout.contains(&format!(" {slug} ")), "{slug} is listed: {}", listed.stdout);
            slugs += 1;
        }
    }
    assert!(slugs >= 2, "{slugs}");

    // 2. A workspace in another temporary directory.
    let parent = tempfile::tempdir().unwrap();
    let init = timed("init", at(parent.path(), &["init", "my-work"]));
    assert_eq!(init.code, 0, "{}", init.stderr);
    let ws = parent.path().join("my-work");

    // 3. The first challenge; its template builds and fails.
    let started = timed("start 1", at(&ws, &["start", "1"]));
    assert_eq!(started.code, 0, "{}", started.stderr);
    let first = timed("test 1 (template)", at(&ws, &["test", "1"]));
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(first.stdout.contains("✗ panic        fixed-window-basics"), "{}", first.stdout);

    // 4. The reference solution's lib.rs, with the modules it declares and the dependencies its
    //    manifest names (already in the cargo cache: nothing here may use the network).
    let reference = repo.join("solutions/01-rate-limiter");
    let crate_dir = ws.join("01-rate-limiter");
    crate::workspace::copy_dir(&reference.join("src"), &crate_dir.join("src"));
    let manifest: toml::Table = toml::from_str(&read(reference.join("Cargo.toml"))).unwrap();
    let mut learner = read(crate_dir.join("Cargo.toml"));
    assert!(learner.trim_end().lines().rev().nth(1).is_some_and(|l| l.trim() == "[dependencies]"), "{learner}");
    for (name, value) in manifest["dependencies"].as_table().unwrap() {
        if name != "challenge-harness" {
            learner.push_str(&format!("{name} = {value}\n"));
        }
    }
    std::fs::write(crate_dir.join("Cargo.toml"), learner).unwrap();

    // 5. Every visible scenario passes, the performance check against the embedded reference too.
    let passing = timed("test 1 (reference copied in; builds the reference)", at(&ws, &["test", "1"]));
    assert_eq!(passing.code, 0, "{}\n{}", passing.stdout, passing.stderr);
    assert!(passing.stdout.contains("✓ pass         performance"), "{}", passing.stdout);
    let reference_builds = || {
        read(&log)
            .lines()
            .filter(|l| l.starts_with("build ") && l.contains("solutions/01-rate-limiter/Cargo.toml"))
            .count()
    };
    assert_eq!(reference_builds(), 1, "the embedded reference was built into the cache:\n{}", read(&log));

    // 6. What the student repository's CI runs: 100%, and the reference was not built again.
    let summary = parent.path().join("summary.md");
    let mut grade = at(&ws, &["grade", ".", "--format", "github"]);
    grade.env("GITHUB_STEP_SUMMARY", &summary);
    let graded = timed("grade . --format github", grade);
    assert_eq!(graded.code, 0, "{}\n{}", graded.stdout, graded.stderr);
    assert!(graded.stdout.contains("::notice title=challenge 1 rate-limiter%3A 100.0%25::"), "{}", graded.stdout);
    assert!(read(&summary).contains("**100.0%**"), "{}", read(&summary));
    assert_eq!(reference_builds(), 1, "reused, not rebuilt:\n{}", read(&log));
    assert!(ws.join("gradebook.db").is_file(), "the grade is recorded in the workspace");
}
