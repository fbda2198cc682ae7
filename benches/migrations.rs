//! The challenge-5 reference migration runner against refinery 0.10 (rusqlite backend) and
//! rusqlite_migration 2.6, side by side in one run, on two workloads of `MIGRATIONS` trivial
//! migrations (`CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);`):
//! - **apply**: all of them on a fresh file;
//! - **validate**: a migrate call on the same file with all of them applied (nothing to do).
//!
//! Run: `cargo bench --bench migrations` (a plain binary, `harness = false`; the first run also
//! builds `benches/migrations-rusqlite-migration`, about two minutes on 2 cores; the run itself
//! takes a few seconds on tmpfs plus whatever the disk's fsyncs cost).
//!
//! Each timed call includes opening and closing its connection (the reference's `migrate` does
//! both, and with 500 tables the first query's schema load is most of a validation). The reference is called through the
//! `MigrationRunner` trait directly (no FFI shim) and refinery in this process, on the same
//! rusqlite 0.41 and bundled SQLite. rusqlite_migration pins rusqlite 0.40, and `libsqlite3-sys`
//! (`links = "sqlite3"`) allows one version per dependency graph, so it runs from
//! `benches/migrations-rusqlite-migration`, a standalone crate with its own lock file, which
//! times its own call and prints the nanoseconds (so process start-up is not counted; its
//! bundled SQLite is libsqlite3-sys 0.38's, a slightly older release). Trials rotate which side
//! goes first, and each figure is the median over trials.
//!
//! What each side does per migration, which the figures mostly reflect:
//! - **reference**: what the contract demands: `BEGIN IMMEDIATE`, the version looked up again
//!   (a racing runner may have applied it), the `up`, the history row (with a SHA-256 checksum),
//!   `COMMIT`. One commit per migration, so on a disk one round of fsyncs per migration (SQLite's
//!   default rollback journal: the journal and the database are each synced). Validation reads
//!   the history in one query and hashes all the scripts to compare checksums.
//! - **refinery**: one transaction per migration as well (its default, `grouped = false`), with a
//!   history row and a SipHash checksum; validation reads the history and compares every
//!   checksum. The closest in kind to the reference.
//! - **rusqlite_migration**: ALL pending migrations in ONE transaction, the version kept in
//!   `PRAGMA user_version`: one commit (one round of fsyncs) for the whole apply, and validation
//!   is one pragma read, with no history table and no checksums. It does less work by design
//!   (all-or-nothing, nothing to detect an edited migration), so on a disk its apply is not
//!   comparable with the per-migration commits the contract requires.
//!
//! Both on a file under `/tmp` (a disk here: commits fsync) and under `/dev/shm` (tmpfs: fsync is
//! free, so this is what the runner itself costs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use challenge_harness::{ManualClock, Migration, MigrationRunner, MigratorConfig};
use migrations_reference::ReferenceRunner;

const MIGRATIONS: usize = 500;
const TRIALS: usize = 7;

fn sql(n: usize) -> String {
    format!("CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Apply,
    Validate,
}

impl Phase {
    fn arg(self) -> &'static str {
        match self {
            Phase::Apply => "apply",
            Phase::Validate => "validate",
        }
    }

    fn expected(self) -> usize {
        match self {
            Phase::Apply => MIGRATIONS,
            Phase::Validate => 0,
        }
    }
}

/// The three contestants, each prepared once (its migrations built outside the timed call).
struct Sides {
    reference: Vec<Migration>,
    refinery: Vec<refinery::Migration>,
    rusqlite_migration: PathBuf,
}

const NAMES: [&str; 3] = ["reference", "refinery", "rusqlite_migration"];

impl Sides {
    fn new() -> Sides {
        let reference = (1..=MIGRATIONS)
            .map(|n| Migration {
                version: n as u64,
                name: format!("t{n}"),
                up: sql(n),
                down: None,
                no_transaction: false,
            })
            .collect();
        let refinery = (1..=MIGRATIONS)
            .map(|n| {
                refinery::Migration::unapplied(&format!("V{n}__t{n}"), &sql(n)).expect("a valid refinery migration")
            })
            .collect();
        Sides { reference, refinery, rusqlite_migration: build_rusqlite_migration() }
    }

    /// One timed call of side `side` in `phase` on `db`.
    fn time(&self, side: usize, phase: Phase, db: &Path) -> Duration {
        match side {
            0 => {
                let config = MigratorConfig { allow_out_of_order: false, busy_timeout: Duration::from_secs(5) };
                let runner = ReferenceRunner::new(config, ManualClock::new(0).clock());
                let start = Instant::now();
                let applied = runner.migrate(db, &self.reference, None).expect("the reference migrates");
                let elapsed = start.elapsed();
                assert_eq!(applied.len(), phase.expected());
                elapsed
            }
            1 => {
                let start = Instant::now();
                let mut conn = rusqlite::Connection::open(db).expect("open");
                let report = refinery::Runner::new(&self.refinery).run(&mut conn).expect("refinery migrates");
                // Closed inside the timed region, as the reference closes its own in `migrate`.
                drop(conn);
                let elapsed = start.elapsed();
                assert_eq!(report.applied_migrations().len(), phase.expected());
                elapsed
            }
            _ => {
                let out = Command::new(&self.rusqlite_migration)
                    .arg(phase.arg())
                    .arg(db)
                    .arg(MIGRATIONS.to_string())
                    .output()
                    .expect("run migrations-rusqlite-migration");
                assert!(
                    out.status.success(),
                    "rusqlite_migration {}: {}",
                    phase.arg(),
                    String::from_utf8_lossy(&out.stderr)
                );
                let nanos = String::from_utf8_lossy(&out.stdout).trim().parse().expect("nanoseconds on stdout");
                Duration::from_nanos(nanos)
            }
        }
    }
}

/// Builds the standalone rusqlite_migration crate (its own lock, its own graph) into this
/// build's target dir, and returns its binary.
fn build_rusqlite_migration() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/migrations-rusqlite-migration/Cargo.toml");
    // Cargo gives benches a scratch dir inside whichever target dir is in use.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("migrations-rusqlite-migration");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "benches/migrations-rusqlite-migration did not build");
    target.join("release/migrations-rusqlite-migration")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let total = Instant::now();
    let sides = Sides::new();
    println!("command: cargo bench --bench migrations");
    println!(
        "{MIGRATIONS} trivial migrations; median of {TRIALS} trials, the first side rotating; each call opens and closes its connection"
    );
    for (place, base) in [("disk (/tmp)", "/tmp"), ("tmpfs (/dev/shm)", "/dev/shm")] {
        let base = Path::new(base);
        if !base.is_dir() {
            println!("\n{place}: not here, skipped");
            continue;
        }
        let dir = base.join(format!("challenge-bench-migrations-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch dir");
        // times[side][phase]
        let mut times: Vec<[Vec<Duration>; 2]> = vec![[Vec::new(), Vec::new()]; NAMES.len()];
        for trial in 0..TRIALS {
            for k in 0..NAMES.len() {
                let side = (trial + k) % NAMES.len();
                let db = dir.join(format!("{}-{trial}.db", NAMES[side]));
                let _ = std::fs::remove_file(&db);
                for (p, phase) in [Phase::Apply, Phase::Validate].into_iter().enumerate() {
                    times[side][p].push(sides.time(side, phase, &db));
                }
                let _ = std::fs::remove_file(&db);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        let medians: Vec<[Duration; 2]> = times.into_iter().map(|[a, v]| [median(a), median(v)]).collect();
        println!("\n{place}");
        println!(
            "  {:<20} {:>11} {:>10} {:>9} {:>12} {:>10}",
            "side", "apply ms", "µs/migr.", "vs ref", "validate ms", "vs ref"
        );
        for (name, &[apply, validate]) in NAMES.iter().zip(&medians) {
            let ratio = |t: Duration, r: Duration| t.as_secs_f64() / r.as_secs_f64();
            println!(
                "  {:<20} {:>11.2} {:>10.1} {:>8.2}x {:>12.3} {:>9.2}x",
                name,
                ms(apply),
                apply.as_secs_f64() * 1e6 / MIGRATIONS as f64,
                ratio(apply, medians[0][0]),
                ms(validate),
                ratio(validate, medians[0][1]),
            );
        }
    }
    println!("\nvs ref: the side's median over the reference's (below 1x: faster than the reference).");
    println!(
        "rusqlite_migration commits once for all {MIGRATIONS}, the others once per migration (see the doc comment)."
    );
    println!("total bench time: {:.1} s", total.elapsed().as_secs_f64());
}
