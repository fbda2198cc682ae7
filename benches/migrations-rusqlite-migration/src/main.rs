//! `migrations-rusqlite-migration PHASE DB COUNT`: times one `to_latest` call of
//! rusqlite_migration on the file DB with COUNT trivial migrations, connection open and close
//! included, and prints the nanoseconds. PHASE `apply` expects a fresh file and applies all of them;
//! `validate` expects them all applied and finds nothing to do. The same workload as the other
//! sides in benches/migrations.rs: `CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);`.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, phase, db, count] = &args[..] else {
        eprintln!("usage: migrations-rusqlite-migration apply|validate DB COUNT");
        return ExitCode::from(2);
    };
    let count: usize = count.parse().expect("COUNT is a number");
    // M::up takes &'static str: the scripts live for the whole (short) process.
    let scripts: Vec<&'static str> = (1..=count)
        .map(|n| &*Box::leak(format!("CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);").into_boxed_str()))
        .collect();
    let migrations =
        rusqlite_migration::Migrations::new(scripts.iter().map(|s| rusqlite_migration::M::up(s)).collect());
    if !matches!(phase.as_str(), "apply" | "validate") {
        eprintln!("unknown phase {phase}: apply or validate");
        return ExitCode::from(2);
    }
    let start = Instant::now();
    let mut conn = rusqlite::Connection::open(db).expect("open");
    migrations.to_latest(&mut conn).expect("to_latest");
    // Closed inside the timed region, as the reference closes its own in `migrate`.
    drop(conn);
    let elapsed = start.elapsed();
    // Checked after the clock stops.
    let conn = rusqlite::Connection::open(db).expect("open");
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version");
    assert_eq!(version, count as i64, "every migration applied");
    println!("{}", elapsed.as_nanos());
    ExitCode::SUCCESS
}
