//! The migration runner's `extern "C"` shims, instantiated by `export_migration_runner!`. The
//! code's migrations arrive borrowed; each call's outcome leaves through the host's sink, one
//! version or one error at a time, and the host copies it.

use core::ffi::c_void;
use core::time::Duration;
use std::path::Path;

use super::guard::{guarded, unit, write_out};
use crate::ffi::{
    AbiHeader, HostApi, MigrateErrorC, MigrationC, MigrationRunnerTable, MigrationsC, MigratorConfigC, OutcomeSinkC,
    Status, Str, LIST_APPLIED, LIST_FAILED, LIST_MISMATCHED, LIST_MISSING, LIST_PENDING, LIST_RESULT,
    MIGRATE_CHECKSUM_MISMATCH, MIGRATE_DATABASE, MIGRATE_DATABASE_AHEAD, MIGRATE_DIRTY, MIGRATE_DUPLICATE_VERSION,
    MIGRATE_FAILED, MIGRATE_LOCKED, MIGRATE_MISSING_DOWN, MIGRATE_MISSING_MIGRATION, MIGRATE_OUT_OF_ORDER,
};
use crate::{Clock, MigrateError, Migration, MigrationRunner, MigrationStatus, MigratorConfig};

/// The runner behind `this`.
///
/// # Safety
/// `this` must have come from `migration_runner_create::<T>` and not yet been destroyed.
unsafe fn runner<'a, T>(this: *const c_void) -> &'a T {
    &*this.cast::<T>()
}

/// The borrowed inputs every call takes, copied into the learner's types.
///
/// # Safety
/// `db` and every string in `migrations` must be valid for this call, as the host guarantees.
unsafe fn inputs<'a>(db: Str, migrations: MigrationsC) -> (&'a Path, Vec<Migration>) {
    let list: &[MigrationC] =
        if migrations.len == 0 { &[] } else { core::slice::from_raw_parts(migrations.ptr, migrations.len) };
    let owned = list
        .iter()
        .map(|m| Migration {
            version: m.version,
            name: m.name.as_str().to_owned(),
            up: m.up.as_str().to_owned(),
            down: m.has_down.then(|| m.down.as_str().to_owned()),
            no_transaction: m.no_transaction,
        })
        .collect();
    (Path::new(db.as_str()), owned)
}

fn send_error(sink: OutcomeSinkC, error: &MigrateError) {
    let none = Str::new("");
    let (kind, version, other, first, second) = match error {
        MigrateError::DuplicateVersion(v) => (MIGRATE_DUPLICATE_VERSION, *v, 0, none, none),
        MigrateError::Dirty(v) => (MIGRATE_DIRTY, *v, 0, none, none),
        MigrateError::DatabaseAhead { applied, latest } => (MIGRATE_DATABASE_AHEAD, *applied, *latest, none, none),
        MigrateError::MissingMigration(v) => (MIGRATE_MISSING_MIGRATION, *v, 0, none, none),
        MigrateError::ChecksumMismatch { version, applied, local } => {
            (MIGRATE_CHECKSUM_MISMATCH, *version, 0, Str::new(applied), Str::new(local))
        }
        MigrateError::OutOfOrder { version, applied } => (MIGRATE_OUT_OF_ORDER, *version, *applied, none, none),
        MigrateError::MissingDown(v) => (MIGRATE_MISSING_DOWN, *v, 0, none, none),
        MigrateError::Failed { version, message } => (MIGRATE_FAILED, *version, 0, Str::new(message), none),
        MigrateError::Locked => (MIGRATE_LOCKED, 0, 0, none, none),
        MigrateError::Database(message) => (MIGRATE_DATABASE, 0, 0, Str::new(message), none),
    };
    (sink.error)(sink.ctx, &MigrateErrorC { kind, version, other, first, second });
}

fn send_versions(sink: OutcomeSinkC, list: u32, versions: &[u64]) {
    for &v in versions {
        (sink.version)(sink.ctx, list, v);
    }
}

/// Sends a call's outcome: its versions, or its error.
fn send<R>(sink: OutcomeSinkC, outcome: Result<Result<R, MigrateError>, Status>, ok: impl FnOnce(R)) -> Status {
    unit(outcome.map(|result| match result {
        Ok(value) => ok(value),
        Err(error) => send_error(sink, &error),
    }))
}

/// `MigrationRunnerTable::create` for `T`.
pub extern "C" fn migration_runner_create<T: MigrationRunner>(
    host: *const HostApi,
    config: MigratorConfigC,
    out: *mut *mut c_void,
) -> Status {
    let config = MigratorConfig {
        allow_out_of_order: config.allow_out_of_order,
        busy_timeout: Duration::from_nanos(config.busy_timeout_nanos),
    };
    // SAFETY: the host's `HostApi` is leaked for the life of the worker.
    let clock = Clock::from_host(unsafe { &*host });
    write_out(out, guarded(host, || Box::into_raw(Box::new(T::new(config, clock))).cast()))
}

/// `MigrationRunnerTable::migrate` for `T`.
pub extern "C" fn migration_runner_migrate<T: MigrationRunner>(
    host: *const HostApi,
    this: *const c_void,
    db: Str,
    migrations: MigrationsC,
    has_target: bool,
    target: u64,
    sink: OutcomeSinkC,
) -> Status {
    // SAFETY: see `runner` and `inputs`.
    let (runner, (db, migrations)) = unsafe { (runner::<T>(this), inputs(db, migrations)) };
    let target = has_target.then_some(target);
    send(sink, guarded(host, || runner.migrate(db, &migrations, target)), |v| send_versions(sink, LIST_RESULT, &v))
}

/// `MigrationRunnerTable::rollback` for `T`.
pub extern "C" fn migration_runner_rollback<T: MigrationRunner>(
    host: *const HostApi,
    this: *const c_void,
    db: Str,
    migrations: MigrationsC,
    to: u64,
    sink: OutcomeSinkC,
) -> Status {
    // SAFETY: see `runner` and `inputs`.
    let (runner, (db, migrations)) = unsafe { (runner::<T>(this), inputs(db, migrations)) };
    send(sink, guarded(host, || runner.rollback(db, &migrations, to)), |v| send_versions(sink, LIST_RESULT, &v))
}

/// `MigrationRunnerTable::status` for `T`.
pub extern "C" fn migration_runner_status<T: MigrationRunner>(
    host: *const HostApi,
    this: *const c_void,
    db: Str,
    migrations: MigrationsC,
    sink: OutcomeSinkC,
) -> Status {
    // SAFETY: see `runner` and `inputs`.
    let (runner, (db, migrations)) = unsafe { (runner::<T>(this), inputs(db, migrations)) };
    send(sink, guarded(host, || runner.status(db, &migrations)), |s: MigrationStatus| {
        send_versions(sink, LIST_APPLIED, &s.applied);
        send_versions(sink, LIST_PENDING, &s.pending);
        send_versions(sink, LIST_MISMATCHED, &s.mismatched);
        send_versions(sink, LIST_MISSING, &s.missing);
        send_versions(sink, LIST_FAILED, &s.failed);
    })
}

/// `MigrationRunnerTable::repair` for `T`.
pub extern "C" fn migration_runner_repair<T: MigrationRunner>(
    host: *const HostApi,
    this: *const c_void,
    db: Str,
    migrations: MigrationsC,
    sink: OutcomeSinkC,
) -> Status {
    // SAFETY: see `runner` and `inputs`.
    let (runner, (db, migrations)) = unsafe { (runner::<T>(this), inputs(db, migrations)) };
    send(sink, guarded(host, || runner.repair(db, &migrations)), |v| send_versions(sink, LIST_RESULT, &v))
}

/// `MigrationRunnerTable::destroy` for `T`: frees with the plugin's own allocator.
pub extern "C" fn migration_runner_destroy<T: MigrationRunner>(host: *const HostApi, this: *mut c_void) -> Status {
    // SAFETY: `this` came from `Box::into_raw` in `migration_runner_create::<T>` and is destroyed once.
    let runner = unsafe { Box::from_raw(this.cast::<T>()) };
    unit(guarded(host, move || drop(runner)))
}

/// The table [`crate::export_migration_runner!`] exports for `T`.
pub const fn migration_runner_table<T: MigrationRunner>() -> MigrationRunnerTable {
    MigrationRunnerTable {
        header: AbiHeader::for_table::<MigrationRunnerTable>(),
        create: migration_runner_create::<T>,
        migrate: migration_runner_migrate::<T>,
        rollback: migration_runner_rollback::<T>,
        status: migration_runner_status::<T>,
        repair: migration_runner_repair::<T>,
        destroy: migration_runner_destroy::<T>,
    }
}
