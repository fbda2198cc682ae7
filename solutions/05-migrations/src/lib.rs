//! Reference solution for challenge 5: a migration runner for SQLite database files, as the
//! `MigrationRunner` trait's docs (`harness/src/migrations.rs`) pin it.
//!
//! Layout:
//! - [`history`]: reading the history table in one query, and the checks every call makes
//!   against it before it writes anything;
//! - [`runner`]: [`ReferenceRunner`], the trait implementation: one connection per call, one
//!   `BEGIN IMMEDIATE` transaction per migration with its history row, the version checked again
//!   inside it so that racing runners apply each migration exactly once.
//!
//! Where the contract leaves room, this solution reads it as follows:
//! - A no-transaction migration cannot be guarded by the write lock, so two racing runners could
//!   both run one; the brief warns that such migrations must be safe to run alone.
//! - After a no-transaction migration the connection's `foreign_keys` is switched back on, in case
//!   its SQL left it off, so the next migration runs as the contract says every one does.
//! - A no-transaction down that fails keeps its history row (the migration stays applied) and
//!   returns `Failed`.

mod history;
mod runner;

pub use runner::ReferenceRunner;

/// The brief's checksum: lowercase hex SHA-256 of `up` after every CRLF becomes LF.
pub fn checksum(up: &str) -> String {
    use sha2::{Digest, Sha256};
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = if up.contains('\r') {
        Sha256::digest(up.replace("\r\n", "\n").as_bytes())
    } else {
        Sha256::digest(up.as_bytes())
    };
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

challenge_harness::export_migration_runner!(ReferenceRunner);

#[cfg(test)]
mod tests;
