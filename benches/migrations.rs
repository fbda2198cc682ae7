//! The challenge-5 reference migration runner against rusqlite_migration 2.6 and refinery 0.10
//! (rusqlite backend), side by side in one run, on two workloads of 500 trivial migrations
//! (`CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);`):
//! - **apply**: all 500 on a fresh file;
//! - **validate**: a migrate call on the same file, all 500 already applied (nothing to do).
//!
//! Run: `cargo bench --bench migrations` (a plain binary, `harness = false`; the first run also
//! builds `benches/migrations-ecosystem`, about a minute).
//!
//! Every side's time includes opening its connection, and each measures itself in its own
//! process: the reference here, through the trait (no FFI), and the other two in
//! `benches/migrations-ecosystem`, a standalone crate with its own lock file, since they need
//! rusqlite 0.40 and `libsqlite3-sys` (`links = "sqlite3"`) allows one version per graph. Trials
//! alternate between the sides, and the medians are compared.
//!
//! What each side does per migration, which the figures mostly reflect:
//! - **reference**: the contract's rules: one `BEGIN IMMEDIATE` transaction per migration with its
//!   history row (SHA-256 checksum), so one commit, and on a disk one fsync, per migration;
//!   validation reads the history in one query and hashes the 500 scripts.
//! - **rusqlite_migration**: all pending migrations in ONE transaction, the version kept in
//!   `PRAGMA user_version`: one commit for the 500, and validation is one pragma read (no
//!   checksums, no history table). Its apply does less work by design: it is all-or-nothing.
//! - **refinery**: one transaction per migration (its default, `grouped = false`) with a history
//!   row and a SipHash checksum, like the reference; validation reads the history and checks
//!   every checksum.
//!
//! Both on a file under `/tmp` (disk: commits fsync) and under `/dev/shm` (memory: what the
//! runner itself costs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use challenge_harness::{ManualClock, Migration, MigrationRunner, MigratorConfig};
use migrations_reference::ReferenceRunner;

const MIGRATIONS: usize = 500;
const TRIALS: usize = 7;

fn code() -> Vec<Migration> {
    (1..=MIGRATIONS as u64)
        .map(|n| Migration {
            version: n,
            name: format!("t{n}"),
            up: format!("CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);"),
            down: None,
            no_transaction: false,
        })
        .collect()
}

fn ecosystem_binary(repo: &Path) -> PathBuf {
    let manifest = repo.join("benches/migrations-ecosystem/Cargo.toml");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .status()
        .expect("run cargo");
    assert!(status.success(), "benches/migrations-ecosystem did not build");
    repo.join("benches/migrations-ecosystem/target/release/migrations-ecosystem")
}

/// One side, one phase: the time it reports.
fn ecosystem(binary: &Path, tool: &str, phase: &str, db: &Path) -> Duration {
    let out = Command::new(binary).args([tool, phase]).arg(db).arg(MIGRATIONS.to_string()).output().expect("run the ecosystem side");
    assert!(out.status.success(), "{tool} {phase}: {}", String::from_utf8_lossy(&out.stderr));
    Duration::from_nanos(String::from_utf8_lossy(&out.stdout).trim().parse().expect("nanoseconds"))
}

fn reference(phase: &str, db: &Path, code: &[Migration]) -> Duration {
    let config = MigratorConfig { allow_out_of_order: false, busy_timeout: Duration::from_secs(5) };
    let runner = ReferenceRunner::new(config, ManualClock::new(0).clock());
    let start = Instant::now();
    let applied = runner.migrate(db, code, None).expect("the reference migrates");
    let elapsed = start.elapsed();
    assert_eq!(applied.len(), if phase == "apply" { MIGRATIONS } else { 0 });
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = ecosystem_binary(repo);
    let code = code();
    const SIDES: [&str; 3] = ["reference", "rusqlite_migration", "refinery"];
    println!("{MIGRATIONS} trivial migrations, median of {TRIALS} alternating trials, connection open included");
    for (place, base) in [("disk (/tmp)", PathBuf::from("/tmp")), ("memory (/dev/shm)", PathBuf::from("/dev/shm"))] {
        if !base.is_dir() {
            continue;
        }
        let dir = base.join(format!("challenge-bench-migrations-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch dir");
        let mut times: Vec<[Vec<Duration>; 2]> = vec![[Vec::new(), Vec::new()]; SIDES.len()];
        for trial in 0..TRIALS {
            for (side, name) in SIDES.iter().enumerate() {
                let db = dir.join(format!("{name}-{trial}.db"));
                let _ = std::fs::remove_file(&db);
                for (phase_index, phase) in ["apply", "validate"].iter().enumerate() {
                    let t = match *name {
                        "reference" => reference(phase, &db, &code),
                        tool => ecosystem(&binary, tool, phase, &db),
                    };
                    times[side][phase_index].push(t);
                }
                let _ = std::fs::remove_file(&db);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        println!("\n{place}");
        println!("  {:<20} {:>12} {:>10} {:>12} {:>10}", "side", "apply", "ratio", "validate", "ratio");
        let medians: Vec<[Duration; 2]> = times.into_iter().map(|[a, v]| [median(a), median(v)]).collect();
        for (name, [apply, validate]) in SIDES.iter().zip(&medians) {
            let ratio = |t: &Duration, r: &Duration| t.as_secs_f64() / r.as_secs_f64();
            println!(
                "  {:<20} {:>9.2} ms {:>9.2}x {:>9.3} ms {:>9.2}x",
                name,
                apply.as_secs_f64() * 1e3,
                ratio(apply, &medians[0][0]),
                validate.as_secs_f64() * 1e3,
                ratio(validate, &medians[0][1]),
            );
        }
    }
    println!("\n(ratio: the side's median time over the reference's; below 1 is faster than the reference)");
}
