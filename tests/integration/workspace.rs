//! Learner workspaces outside the repository: `init`, `start` into one, ABI drift between the tool
//! and a workspace's harness copy, and builds with no registry. The binary runs from temporary
//! directories, so it uses the catalogue it embeds.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{run, Run};

/// A cache of its own (catalogue, references, artifacts) whose cargo target dir is the one every
/// test shares, so what one test compiled, the next reuses.
pub struct Cache {
    pub dir: tempfile::TempDir,
}

impl Cache {
    pub fn fresh() -> Cache {
        let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("challenge-cache/target");
        std::fs::create_dir_all(&shared).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&shared, dir.path().join("target")).unwrap();
        Cache { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `bin args…` run in `dir` with `cache`, no color, no catalogue override and no network.
pub fn tool(bin: &Path, dir: &Path, cache: &Cache, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(dir)
        .env("CHALLENGE_CACHE_DIR", cache.path())
        .env("NO_COLOR", "1")
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CHALLENGE_CATALOG")
        .env_remove("CHALLENGE_GRADEBOOK");
    cmd
}

fn challenge(dir: &Path, cache: &Cache, args: &[&str]) -> Run {
    run(tool(Path::new(env!("CARGO_BIN_EXE_challenge")), dir, cache, args))
}

/// Runs cargo itself in `dir` with `CARGO_HOME` set to an empty directory and the network off:
/// whatever builds this way needs nothing from any registry.
pub fn cargo_with_empty_home(dir: &Path, args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_HOME", home.path())
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TARGET_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("learner-workspace-target"));
    run(cmd)
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

#[test]
fn init_writes_a_workspace_that_builds_with_no_registry() {
    let cache = Cache::fresh();
    let temp = tempfile::tempdir().unwrap();
    let made = challenge(temp.path(), &cache, &["init", "my-work"]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(made.stdout.contains("Made a learner workspace in my-work"), "{}", made.stdout);
    assert!(made.stdout.contains("cd my-work"), "{}", made.stdout);
    let ws = temp.path().join("my-work");
    for file in ["README.md", "Cargo.toml", ".gitignore", ".challenge/workspace.toml", ".challenge/progress.db"] {
        assert!(ws.join(file).is_file(), "{file}");
    }
    assert!(read(ws.join("README.md")).contains("challenge init --update-harness"));
    let gitignore = read(ws.join(".gitignore"));
    assert!(gitignore.contains("/target/") && gitignore.contains("/.challenge/progress.db"), "{gitignore}");
    let stamp = read(ws.join(".challenge/workspace.toml"));
    assert!(stamp.contains("abi-version = 1"), "{stamp}");
    assert!(ws.join(".challenge/harness/src/ffi.rs").is_file(), "the harness sources are copied");
    let harness = read(ws.join(".challenge/harness/Cargo.toml"));
    assert!(!harness.contains(".workspace = true"), "the copy builds on its own: {harness}");

    let started = challenge(&ws, &cache, &["start", "1"]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    assert!(started.stdout.contains("member of the workspace"), "{}", started.stdout);
    let started = challenge(&ws, &cache, &["start", "lru-cache"]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    let manifest = read(ws.join("01-rate-limiter/Cargo.toml"));
    assert!(manifest.contains("challenge-harness = { path = \"../.challenge/harness\" }"), "{manifest}");
    assert!(!manifest.contains("[workspace]"), "a member, not a workspace of its own: {manifest}");
    let workspace = read(ws.join("Cargo.toml"));
    assert!(workspace.contains("\"01-rate-limiter\",\n    \"02-lru-cache\",\n]"), "{workspace}");

    // What rust-analyzer asks cargo, and a whole-workspace build: no registry, no network.
    let metadata = cargo_with_empty_home(&ws, &["metadata", "--format-version", "1", "--no-deps"]);
    assert_eq!(metadata.code, 0, "{}", metadata.stderr);
    let doc: serde_json::Value = serde_json::from_str(&metadata.stdout).unwrap();
    let mut names: Vec<&str> =
        doc["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["challenge-harness", "lru-cache", "rate-limiter"]);
    let built = cargo_with_empty_home(&ws, &["build"]);
    assert_eq!(built.code, 0, "the workspace builds with an empty CARGO_HOME, offline: {}", built.stderr);

    // From anywhere inside the workspace, `test 1` finds the crate and the progress store.
    let inside = ws.join("01-rate-limiter/src");
    let tested = challenge(&inside, &cache, &["test", "1"]);
    assert_eq!(tested.code, 1, "the template builds and fails: {}", tested.stderr);
    assert!(tested.stdout.contains("not yet implemented"), "{}", tested.stdout);
    let listed = challenge(&inside, &cache, &["list"]);
    assert!(listed.stdout.contains("best 0% in 1 tries"), "{}", listed.stdout);
    assert!(listed.stdout.contains("lru-cache") && listed.stdout.contains("started"), "{}", listed.stdout);
}

#[test]
fn init_keeps_what_is_there_and_refuses_a_cargo_project() {
    let cache = Cache::fresh();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    std::fs::write(dir.join("README.md"), "# my notes\n").unwrap();
    std::fs::write(dir.join(".gitignore"), "*.swp").unwrap();
    let made = challenge(dir, &cache, &["init"]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert_eq!(read(dir.join("README.md")), "# my notes\n", "a README of the learner's is never replaced");
    assert_eq!(read(dir.join(".gitignore")), "*.swp\n/target/\n/.challenge/progress.db\n/gradebook.db*\n");
    let again = challenge(dir, &cache, &["init"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("is a learner workspace already"), "{}", again.stdout);
    assert!(again.stdout.contains("harness copy matches"), "{}", again.stdout);

    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("Cargo.toml"), "[package]\nname = \"mine\"\n").unwrap();
    let refused = challenge(project.path(), &cache, &["init"]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("already holds a Cargo.toml"), "{}", refused.stderr);
    let nested = challenge(&dir.join(".challenge"), &cache, &["init", "inner"]);
    assert_eq!(nested.code, 2);
    assert!(nested.stderr.contains("inside the learner workspace"), "{}", nested.stderr);
}

#[test]
fn the_first_start_makes_an_empty_directory_a_workspace() {
    let cache = Cache::fresh();
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir(empty.path().join(".git")).unwrap();
    let started = challenge(empty.path(), &cache, &["start", "2"]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    assert!(started.stdout.contains("Made this directory a learner workspace"), "{}", started.stdout);
    assert!(read(empty.path().join("Cargo.toml")).contains("\"02-lru-cache\""));
    assert!(empty.path().join(".challenge/harness/Cargo.toml").is_file());

    let busy = tempfile::tempdir().unwrap();
    std::fs::write(busy.path().join("notes.txt"), "").unwrap();
    let refused = challenge(busy.path(), &cache, &["start", "1"]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("run `challenge init my-work`"), "{}", refused.stderr);
    assert!(!busy.path().join("Cargo.toml").exists(), "nothing written");
}

#[test]
fn a_harness_copy_of_another_abi_is_never_built_and_the_update_is_named() {
    let cache = Cache::fresh();
    let temp = tempfile::tempdir().unwrap();
    assert_eq!(challenge(temp.path(), &cache, &["init", "ws"]).code, 0);
    let ws = temp.path().join("ws");
    assert_eq!(challenge(&ws, &cache, &["start", "1"]).code, 0);
    // An older tool wrote another ffi.rs: its hash, which every plugin carries, differs.
    let ffi = ws.join(".challenge/harness/src/ffi.rs");
    let mut text = read(&ffi);
    text.push_str("\n// as an older challenge shipped it\n");
    std::fs::write(&ffi, text).unwrap();

    let tested = challenge(&ws, &cache, &["test", "1"]);
    assert_eq!(tested.code, 2, "{}\n{}", tested.stdout, tested.stderr);
    assert!(tested.stderr.contains("this workspace's harness copy"), "{}", tested.stderr);
    assert!(tested.stderr.contains("would not load, so it was not built or run"), "{}", tested.stderr);
    assert!(tested.stderr.contains("`challenge init --update-harness`"), "{}", tested.stderr);
    assert!(!tested.stdout.contains("built in"), "nothing was built: {}", tested.stdout);

    let graded = challenge(&ws, &cache, &["grade", ".", "--format", "json"]);
    assert_eq!(graded.code, 3, "{}", graded.stderr);
    let doc = graded.json();
    let build = &doc["submissions"][0]["build"];
    assert!(build.to_string().contains("challenge init --update-harness"), "{build}");
    assert_eq!(crate::support::verdict(&doc, "01-rate-limiter", "fixed-window-basics"), "build-error");

    let updated = challenge(&ws.join("01-rate-limiter"), &cache, &["init", "--update-harness"]);
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    assert!(updated.stdout.contains("Updated the harness copy"), "{}", updated.stdout);
    assert!(!read(&ffi).contains("as an older challenge shipped it"));
    let tested = challenge(&ws, &cache, &["test", "1"]);
    assert_eq!(tested.code, 1, "builds and fails as a template does: {}", tested.stderr);
    assert!(tested.stdout.contains("not yet implemented"), "{}", tested.stdout);
    assert!(!tested.stderr.contains("note:"), "{}", tested.stderr);

    // The same ABI with other files (an older tool's docs, say) loads, with a note on updating.
    let clock = ws.join(".challenge/harness/src/clock.rs");
    std::fs::write(&clock, read(&clock) + "\n// as an older challenge shipped it\n").unwrap();
    let tested = challenge(&ws, &cache, &["test", "1"]);
    assert_eq!(tested.code, 1, "{}", tested.stderr);
    assert!(tested.stderr.contains("note: this workspace's harness copy"), "{}", tested.stderr);
    assert!(tested.stderr.contains("challenge init --update-harness"), "{}", tested.stderr);
}

#[test]
fn the_abi_header_check_still_guards_a_crate_built_against_another_harness() {
    let cache = Cache::fresh();
    let temp = tempfile::tempdir().unwrap();
    // Outside any workspace, nothing checks the harness before the build: the load must.
    let repo = crate::support::repo();
    let harness = temp.path().join("old-harness");
    copy_dir(&repo.join("harness"), &harness);
    std::fs::write(
        harness.join("Cargo.toml"),
        "[package]\nname = \"challenge-harness\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let mut ffi = read(harness.join("src/ffi.rs"));
    ffi.push_str("\n// another ABI\n");
    std::fs::write(harness.join("src/ffi.rs"), ffi).unwrap();
    let solution = temp.path().join("limiter");
    copy_dir(&repo.join("challenges/01-rate-limiter/template"), &solution);
    let text = read(solution.join("Cargo.toml")).replace("../../../harness", &harness.display().to_string());
    std::fs::write(solution.join("Cargo.toml"), text).unwrap();

    let tested = challenge(temp.path(), &cache, &["test", "1", "--solution", "limiter", "--format", "json"]);
    assert_eq!(tested.code, 1, "{}", tested.stderr);
    let doc = tested.json();
    assert_eq!(crate::support::verdict(&doc, "limiter", "fixed-window-basics"), "abi-mismatch");
    assert!(tested.stderr.contains("different harness ABI"), "{}", tested.stderr);
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let dest: PathBuf = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}
