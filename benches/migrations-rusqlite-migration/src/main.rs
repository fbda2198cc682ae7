//! `migrations-ecosystem TOOL PHASE DB COUNT`: times one call of TOOL (`rusqlite_migration` or
//! `refinery`) on the file DB with COUNT trivial migrations, connection open included, and prints
//! the nanoseconds. PHASE `apply` expects a fresh file and applies all of them; `validate` expects
//! them all applied and checks them (nothing to do). The same workload as the reference's side in
//! benches/migrations.rs: `CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);`.

use std::time::Instant;

fn sql(n: usize) -> String {
    format!("CREATE TABLE t{n}(id INTEGER PRIMARY KEY, v TEXT);")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, tool, phase, db, count] = &args[..] else {
        eprintln!("usage: migrations-ecosystem rusqlite_migration|refinery apply|validate DB COUNT");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT is a number");
    let expect_applied = if phase == "apply" { count } else { 0 };
    let nanos = match tool.as_str() {
        "rusqlite_migration" => {
            // M::up takes &'static str: the scripts live for the whole (short) process.
            let scripts: Vec<&'static str> = (1..=count).map(|n| &*Box::leak(sql(n).into_boxed_str())).collect();
            let migrations = rusqlite_migration::Migrations::new(scripts.iter().map(|s| rusqlite_migration::M::up(s)).collect());
            let start = Instant::now();
            let mut conn = rusqlite::Connection::open(db).expect("open");
            migrations.to_latest(&mut conn).expect("to_latest");
            let elapsed = start.elapsed();
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version");
            assert_eq!(version, count as i64, "every migration applied");
            elapsed
        }
        "refinery" => {
            let migrations: Vec<refinery::Migration> = (1..=count)
                .map(|n| refinery::Migration::unapplied(&format!("V{n}__t{n}"), &sql(n)).expect("a valid migration"))
                .collect();
            let start = Instant::now();
            let mut conn = rusqlite::Connection::open(db).expect("open");
            let report = refinery::Runner::new(&migrations).run(&mut conn).expect("run");
            let elapsed = start.elapsed();
            assert_eq!(report.applied_migrations().len(), expect_applied, "refinery applied what was pending");
            elapsed
        }
        other => panic!("unknown tool {other}"),
    };
    println!("{}", nanos.as_nanos());
}
