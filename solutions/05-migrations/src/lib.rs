//! Reference solution for challenge 5: a migration runner for SQLite database files, as the
//! `MigrationRunner` trait's docs (`harness/src/migrations.rs`) pin it.
//!
//! Layout:
//! - [`checksum`]: the brief's SHA-256 of a migration's `up`, line endings normalised;
//! - [`history`]: reading the history table in one query, and the checks every call makes
//!   against it before it writes anything;
//! - [`runner`]: [`ReferenceRunner`], the trait implementation: one connection per call, one
//!   `BEGIN IMMEDIATE` transaction per migration with its history row, the version checked again
//!   inside it so that racing runners apply each migration exactly once.
//!
//! Where the contract leaves room, this solution reads it as follows:
//! - The order check (`OutOfOrder`) looks at every pending migration, not only those up to the
//!   target, as the other checks use the whole code: a late migration is refused even by a call
//!   whose target stops before it.
//! - A no-transaction migration cannot be guarded by the write lock, so two racing runners could
//!   both run one; the brief warns that such migrations must be safe to run alone.
//! - After a no-transaction migration the connection's `foreign_keys` is switched back on, in case
//!   its SQL left it off, so the next migration runs as the contract says every one does.
//! - A no-transaction down that fails keeps its history row (the migration stays applied) and
//!   returns `Failed`.

mod checksum;
mod history;
mod runner;

pub use checksum::checksum;
pub use runner::ReferenceRunner;

challenge_harness::export_migration_runner!(ReferenceRunner);

#[cfg(test)]
mod tests;
