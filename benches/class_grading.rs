//! Grading a whole class with the real `challenge` binary: 30 students, cold builds, `--jobs 1`
//! against `--jobs 2`, and a resumed rerun that must skip everything.
//!
//! Run: `cargo bench --bench class_grading` (a plain binary, `harness = false`; a few minutes on
//! 2 cores, almost all of it cargo building the 30 crates).
//!
//! The class, generated in a temporary directory: 30 student directories `sNN/`, each holding
//! `01-rate-limiter/`, a copy of the reference solution `solutions/01-rate-limiter` made
//! standalone (the `*.workspace = true` keys replaced by the root's `[workspace.package]`
//! values, an empty `[workspace]`, the harness dependency by absolute path, and the repository's
//! `Cargo.lock` pruned to this crate by `cargo metadata --offline`, so the build needs no network
//! and cargo never rewrites the lock, which would change the source hash). One comment line naming
//! the student differs between copies, so each has its own source hash and is graded on its own.
//!
//! Package names: each copy is also renamed to the package `rate-limiter-sNN` (its library is
//! still `rate_limiter_reference`, its lock file renamed to match). Copies that keep one package
//! name are NOT each compiled: every copy is its own workspace root, and cargo keys a path
//! package's fingerprint on its path relative to the workspace root, so in the shared target dir
//! all copies share one fingerprint; sources older than the first build then look fresh and cargo
//! hands back the first student's library for every other student. (A first run of this bench
//! measured 0.0 s for 29 of 30 builds; a class of two same-named crates where the second does not
//! compile graded both 100%.) With distinct names, every copy is really built, which is what
//! grading a class should cost.
//!
//! Each measured configuration runs `challenge grade <class> --jobs N --format json` with a fresh
//! `CHALLENGE_CACHE_DIR` (so every build is cold and the configurations are comparable) and a
//! fresh `--gradebook`. Then the `--jobs 2` command runs again against the same gradebook and
//! cache: every submission was graded from the same source by the same version, so all 30 must be
//! skipped (resume). That rerun uses the human report: machine formats describe only what a run
//! grades, so `--format json` refuses a run that would skip submissions.
//!
//! How the time is split:
//! - builds: `challenge` runs `$CARGO` for each build (and once for the reference solution, which
//!   the performance scenario needs). The bench points `CARGO` at a small shell wrapper that runs
//!   the real cargo and logs its start and end, so the build figures are the real cargo
//!   invocations of the measured run, not an estimate. The wrapper costs a few ms per build.
//!   Builds share one target directory under a lock, so they never overlap each other, even
//!   with `--jobs 2`.
//! - scenarios: the sum of every scenario's `duration_ms` in the JSON report (the worker run
//!   of each scenario as the grader timed it; with `--jobs 2` two can overlap).
//! - rest: wall − builds − scenarios: discovery, source hashing, probing and loading each
//!   library, spawning workers, the gradebook. With `--jobs 2` it is negative by however much
//!   the scenarios of one submission overlapped the build or scenarios of another.
//! - Cross-checks, printed under the table: the JSON report's `build.duration_ms` summed (each
//!   submission's own build as `challenge` timed it, the reference's not included); and one copy
//!   built on its own before the measured runs, with the cargo flags `challenge` uses, into a
//!   fresh target directory: the cold cost of harness, dependencies and crate. (That build also
//!   warms the OS file cache for both configurations alike.)
//!
//! One run (2 cores, load average 1.3–2.3 including the run itself): `--jobs 1` 40.9 s (1.36 s a
//! submission: builds 35.2 s, of which the first student's cold build 3.6 s, the other 29 about
//! 1.0 s each and the reference 3.3 s; scenarios 4.8 s); `--jobs 2` 40.0 s, no faster, because the
//! builds, ~87% of the time, are serialized and the scenarios that now run beside them slow to
//! 15.4 s; the resumed rerun 0.05 s, all 30 skipped. Timings vary with whatever else the machine
//! runs: an earlier run beside another build took 78 s for `--jobs 1`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const STUDENTS: usize = 30;
const REFERENCE: &str = "solutions/01-rate-limiter";
/// The reference's package name, as its Cargo.toml and Cargo.lock spell it.
const PACKAGE: &str = "name = \"rate-limiter-reference\"";

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Path::new(env!("CARGO_BIN_EXE_challenge"));
    let real_cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let work = tempfile::Builder::new().prefix("class-grading-bench").tempdir().expect("a temporary directory");
    let work = work.path();
    let class = work.join("class");

    eprintln!("generating a class of {STUDENTS} students under {}", class.display());
    let template = standalone_reference(repo, &real_cargo, &work.join("template"));
    for student in 1..=STUDENTS {
        let dir = class.join(format!("s{student:02}")).join("01-rate-limiter");
        copy_dir(&template, &dir);
        let lib = dir.join("src/lib.rs");
        let source = std::fs::read_to_string(&lib).expect("read lib.rs");
        let marked = format!("// Student {student:02}'s copy of the reference solution.\n{source}");
        std::fs::write(&lib, marked).expect("write lib.rs");
        // A package name of its own (the library's name stays): see "Package names" above.
        let package = format!("name = \"rate-limiter-s{student:02}\"");
        for file in ["Cargo.toml", "Cargo.lock"] {
            let text = std::fs::read_to_string(dir.join(file)).expect("read a manifest");
            assert_eq!(text.matches(PACKAGE).count(), 1, "{file} names the package once");
            std::fs::write(dir.join(file), text.replace(PACKAGE, &package)).expect("write a manifest");
        }
        settle_lock(&real_cargo, &dir);
    }

    eprintln!("cross-check: one copy built alone with challenge's cargo flags, cold");
    let solo = class.join("s01/01-rate-limiter/Cargo.toml");
    let started = Instant::now();
    let out = Command::new(&real_cargo)
        .args(["build", "--release", "--lib", "--quiet", "--manifest-path"])
        .arg(&solo)
        .arg("--target-dir")
        .arg(work.join("solo-target"))
        .args(["--config", "profile.release.panic=\"unwind\""])
        .output()
        .expect("run cargo");
    check("cargo build of one copy", &out);
    let solo_build = started.elapsed();

    let wrapper = cargo_wrapper(work);
    // `format` None: the human report (on stdout), which is what a resumed run must use: machine
    // formats describe only what a run grades, so they refuse a run that would skip submissions.
    let grade = |jobs: usize, format: Option<&str>, cache: &Path, book: &Path, log: &Path| {
        let load_before = load_average();
        let started = Instant::now();
        let mut command = Command::new(exe);
        command.arg("grade").arg(&class).args(["--jobs", &jobs.to_string()]);
        if let Some(format) = format {
            command.args(["--format", format]);
        }
        let out = command
            .arg("--gradebook")
            .arg(book)
            .env("CHALLENGE_CACHE_DIR", cache)
            .env("CARGO", &wrapper)
            .env("CLASS_BENCH_REAL_CARGO", &real_cargo)
            .env("CLASS_BENCH_LOG", log)
            .output()
            .expect("run challenge");
        let wall = started.elapsed();
        check(&format!("challenge grade --jobs {jobs}"), &out);
        (wall, out, format!("{load_before} → {}", load_average()))
    };

    let mut runs = Vec::new();
    for jobs in [1, 2] {
        eprintln!("grading with --jobs {jobs} --format json, cold cache");
        let log = work.join(format!("builds-jobs{jobs}.log"));
        let cache = work.join(format!("cache-jobs{jobs}"));
        let (wall, out, load) = grade(jobs, Some("json"), &cache, &work.join(format!("jobs{jobs}.db")), &log);
        let run = Run::new(wall, &out, &log, repo, load);
        assert_eq!(run.graded, STUDENTS, "every student is graded on a fresh gradebook");
        runs.push((format!("--jobs {jobs}, cold cache"), run));
    }
    eprintln!("grading with --jobs 2 again, same gradebook and cache (resume)");
    let log = work.join("builds-resume.log");
    let (resume_wall, out, _) = grade(2, None, &work.join("cache-jobs2"), &work.join("jobs2.db"), &log);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let skipped = stdout.lines().filter(|l| l.starts_with("skipped ")).count();
    assert_eq!(skipped, STUDENTS, "the rerun skips every student:\n{stdout}");
    assert!(!log.exists(), "the rerun builds nothing");

    println!("{}", report(exe, &runs, resume_wall, skipped, solo_build));
}

/// One `challenge grade` run, measured.
struct Run {
    wall: Duration,
    /// Submissions in the JSON report, and how many passed.
    graded: usize,
    passed: usize,
    /// Σ duration_ms over every scenario of every submission.
    scenarios: Duration,
    /// Every cargo invocation: (is the reference solution, how long).
    builds: Vec<(bool, Duration)>,
    /// Σ build.duration_ms of the JSON report: each submission's build as `challenge` timed it.
    json_builds: Duration,
    /// `cargo clean -p` calls before builds, and their total time.
    cleans: (usize, Duration),
    /// The 1-minute load average before and after.
    load: String,
}

impl Run {
    fn new(wall: Duration, out: &Output, log: &Path, repo: &Path, load: String) -> Run {
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("challenge grade prints JSON");
        let submissions = json["submissions"].as_array().expect("a submissions array");
        let scenarios = submissions
            .iter()
            .flat_map(|s| s["scenarios"].as_array().expect("a scenarios array"))
            .map(|s| s["duration_ms"].as_u64().expect("duration_ms"))
            .sum();
        let json_builds = submissions.iter().filter_map(|s| s["build"]["duration_ms"].as_u64()).sum();
        let reference = repo.join(REFERENCE).join("Cargo.toml");
        let reference = reference.canonicalize().unwrap_or(reference);
        // The log is in order of finishing; put it in order of starting.
        // `challenge` also runs `cargo clean -p` before building a package whose last build in
        // the shared target dir came from other sources; those are counted apart from builds.
        let mut cleans = (0, Duration::ZERO);
        let mut logged: Vec<(u64, bool, Duration)> = Vec::new();
        for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
            let mut fields = line.splitn(4, ' ');
            let mut nanos = || fields.next().and_then(|f| f.parse::<u64>().ok()).expect("a logged time");
            let (start, end) = (nanos(), nanos());
            let subcommand = fields.next().unwrap_or("");
            let manifest = PathBuf::from(fields.next().unwrap_or(""));
            let took = Duration::from_nanos(end - start);
            if subcommand == "clean" {
                cleans = (cleans.0 + 1, cleans.1 + took);
            } else {
                logged.push((start, manifest == reference, took));
            }
        }
        logged.sort_by_key(|b| b.0);
        let builds = logged.into_iter().map(|(_, reference, took)| (reference, took)).collect();
        Run {
            wall,
            graded: submissions.len(),
            passed: submissions.iter().filter(|s| s["passed"] == true).count(),
            scenarios: Duration::from_millis(scenarios),
            builds,
            json_builds: Duration::from_millis(json_builds),
            cleans,
            load,
        }
    }

    fn build_total(&self) -> Duration {
        self.builds.iter().map(|b| b.1).sum()
    }
}

fn report(exe: &Path, runs: &[(String, Run)], resume_wall: Duration, skipped: usize, solo_build: Duration) -> String {
    let s = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let signed = |wall: Duration, minus: Duration| {
        let secs = wall.as_secs_f64() - minus.as_secs_f64();
        format!("{secs:+.1} s")
    };
    let mut out = String::new();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    writeln!(
        out,
        "command: CHALLENGE_CACHE_DIR=<fresh> {} grade <class> --jobs N --format json --gradebook <fresh>.db",
        exe.display()
    )
    .unwrap();
    writeln!(
        out,
        "   then: the --jobs 2 command again, same cache and gradebook, human format (resume; JSON refuses skips)"
    )
    .unwrap();
    writeln!(out, "class:   {STUDENTS} students, each a standalone copy of {REFERENCE} with one comment line changed")
        .unwrap();
    writeln!(out, "machine: {cpus} CPUs").unwrap();
    writeln!(out).unwrap();
    writeln!(
        out,
        "{:<24} {:>8} {:>9} {:>7}   {:>13} {:>11} {:>11} {:>11}   {:>11} {:>9}   {}",
        "configuration",
        "wall",
        "per sub.",
        "passed",
        "builds Σ",
        "1st student",
        "others avg",
        "reference",
        "scenarios Σ",
        "rest",
        "load"
    )
    .unwrap();
    for (name, run) in runs {
        let students: Vec<Duration> = run.builds.iter().filter(|b| !b.0).map(|b| b.1).collect();
        let reference: Vec<Duration> = run.builds.iter().filter(|b| b.0).map(|b| b.1).collect();
        let others = &students[1.min(students.len())..];
        let others_avg = others.iter().sum::<Duration>().checked_div(others.len() as u32).unwrap_or_default();
        writeln!(
            out,
            "{:<24} {:>8} {:>9} {:>7}   {:>13} {:>11} {:>11} {:>11}   {:>11} {:>9}   {}",
            name,
            s(run.wall),
            format!("{:.2} s", run.wall.as_secs_f64() / run.graded as f64),
            format!("{}/{}", run.passed, run.graded),
            format!("{} ({})", s(run.build_total()), run.builds.len()),
            students.first().map_or("-".to_owned(), |d| s(*d)),
            s(others_avg),
            match reference.as_slice() {
                [one] => format!("{} (1)", s(*one)),
                several =>
                    several.iter().map(|d| format!("{:.1}", d.as_secs_f64())).collect::<Vec<_>>().join("+") + " s",
            },
            s(run.scenarios),
            signed(run.wall, run.build_total() + run.scenarios),
            run.load,
        )
        .unwrap();
    }
    writeln!(
        out,
        "{:<24} {:>8} {:>9} {:>7}   skipped {}/{} (already graded from this source by this version), built nothing",
        "--jobs 2 again (resume)",
        format!("{:.2} s", resume_wall.as_secs_f64()),
        "-",
        "-",
        skipped,
        STUDENTS
    )
    .unwrap();
    writeln!(out).unwrap();
    out.push_str(NOTES);
    for (name, run) in runs {
        let students: Duration = run.builds.iter().filter(|b| !b.0).map(|b| b.1).sum();
        writeln!(
            out,
            "cross-check: {name}: Σ build.duration_ms in the JSON {} (the wrapper's student builds: {}); \
             cargo clean -p before a build: {} calls, {}",
            s(run.json_builds),
            s(students),
            run.cleans.0,
            s(run.cleans.1)
        )
        .unwrap();
    }
    writeln!(out, "cross-check: one copy built alone, cold, with challenge's cargo flags: {}", s(solo_build)).unwrap();
    out
}

/// What the table's columns mean, printed under it.
const NOTES: &str = "\
builds Σ:    every cargo invocation of the run, timed by a wrapper set as $CARGO (count in brackets);
             1st student = harness + dependencies + crate, cold; others = the crate alone, its
             dependencies already in the shared target dir; reference = solutions/01-rate-limiter,
             built for the performance scenario by the first submission that needs it (with --jobs 2,
             two submissions can both find it unbuilt: each invocation is listed). Builds hold a lock
             on the shared target dir, so two never run at once, even with --jobs 2.
scenarios Σ: Σ duration_ms of every scenario in the JSON report (with --jobs 2 two can overlap).
rest:        wall − builds Σ − scenarios Σ (discovery, hashing, probe and load, worker spawns,
             gradebook); negative when the work of two submissions overlapped.
load:        the 1-minute load average before → after the run (other work on the machine skews it).
";

/// `solutions/01-rate-limiter` as a standalone crate in `dir`, with a lock file cargo accepts as is.
fn standalone_reference(repo: &Path, cargo: &str, dir: &Path) -> PathBuf {
    copy_dir(&repo.join(REFERENCE), dir);
    let root: toml::Table = std::fs::read_to_string(repo.join("Cargo.toml"))
        .expect("read the root Cargo.toml")
        .parse()
        .expect("parse the root Cargo.toml");
    let inherited = root["workspace"]["package"].as_table().expect("[workspace.package]");
    let harness = repo.join("harness");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("read the reference's Cargo.toml");
    let mut standalone = String::new();
    for line in manifest.lines() {
        let key = line.split_whitespace().collect::<String>();
        if let Some(field) = key.strip_suffix(".workspace=true") {
            let value = inherited.get(field).unwrap_or_else(|| panic!("{field} is not in [workspace.package]"));
            writeln!(standalone, "{field} = {value}").unwrap();
        } else if line.starts_with("challenge-harness") {
            writeln!(standalone, "challenge-harness = {{ path = {:?} }}", harness.display().to_string()).unwrap();
        } else {
            writeln!(standalone, "{line}").unwrap();
        }
    }
    assert!(!standalone.contains(".workspace = true") && !standalone.contains("[workspace]"), "{standalone}");
    assert!(standalone.contains(&harness.display().to_string()), "the harness dependency was not rewritten");
    standalone.push_str("\n# Standalone: not a member of the repository's workspace.\n[workspace]\n");
    std::fs::write(dir.join("Cargo.toml"), standalone).expect("write Cargo.toml");
    // The repository's lock, pruned by cargo to what this crate uses: the same versions, offline.
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");
    settle_lock(cargo, dir);
    dir.to_owned()
}

/// Lets cargo resolve the crate in `dir` offline and write its lock file now, and checks that a
/// second resolution leaves it as is: a build during grading must not rewrite it, or the source
/// hash recorded before the build would no longer match and the resumed run would regrade.
fn settle_lock(cargo: &str, dir: &Path) {
    let resolve = || {
        let out = Command::new(cargo)
            .args(["metadata", "--offline", "--format-version", "1", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .output()
            .expect("run cargo metadata");
        check(&format!("cargo metadata --offline in {}", dir.display()), &out);
        std::fs::read(dir.join("Cargo.lock")).expect("read Cargo.lock")
    };
    let settled = resolve();
    assert!(settled == resolve(), "cargo rewrote the lock file of {} twice", dir.display());
}

/// A `$CARGO` that runs the real cargo and appends `start_ns end_ns subcommand manifest` to
/// `$CLASS_BENCH_LOG`.
fn cargo_wrapper(work: &Path) -> PathBuf {
    let path = work.join("cargo-timed");
    let script = r#"#!/bin/sh
manifest=; prev=
for arg in "$@"; do [ "$prev" = --manifest-path ] && manifest=$arg; prev=$arg; done
start=$(date +%s%N)
"$CLASS_BENCH_REAL_CARGO" "$@"
status=$?
end=$(date +%s%N)
echo "$start $end $1 $manifest" >> "$CLASS_BENCH_LOG"
exit $status
"#;
    std::fs::write(&path, script).expect("write the cargo wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("make the wrapper executable");
    path
}

/// The 1-minute load average, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("read a directory") {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy a file");
        }
    }
}

fn check(what: &str, out: &Output) {
    // `challenge grade` exits 0 when everything passed; anything else means this bench is broken.
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!("{what} failed ({}):\n{}", out.status, tail.join("\n"));
    }
}
