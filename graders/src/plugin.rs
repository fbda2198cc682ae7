//! Loading a learner's cdylib in the worker and checking its ABI header before any call.
//!
//! Libraries are never unloaded: unloading a Rust cdylib with thread-local destructors is unsound,
//! and each worker process runs one scenario and exits.

use std::path::Path;

use challenge_harness::ffi::{AbiHeader, ABI_HASH, ABI_VERSION};
use serde::{Deserialize, Serialize};

/// Why a plugin could not be used. Each is reported to the learner with its own fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum LoadProblem {
    /// `dlopen` failed (not a shared library, missing dependency, wrong architecture).
    #[error("failed to load the library: {detail}")]
    Open {
        /// The loader's message.
        detail: String,
    },
    /// The entry symbol is absent: the crate never calls the export macro.
    #[error("the library does not export `{symbol}`")]
    MissingExport {
        /// The symbol looked for.
        symbol: String,
    },
    /// The table was written by a different harness.
    #[error("the library was built against a different harness ABI (found {found:?}, expected {expected:?})")]
    HeaderMismatch {
        /// What the plugin's table says.
        found: Header,
        /// What this grader expects.
        expected: Header,
    },
}

/// An [`AbiHeader`] as it travels to the parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// ABI major version.
    pub abi_version: u32,
    /// Hash of the harness's `ffi.rs`.
    pub abi_hash: u64,
    /// `size_of` the table.
    pub table_size: usize,
}

impl From<AbiHeader> for Header {
    fn from(h: AbiHeader) -> Header {
        Header { abi_version: h.abi_version, abi_hash: h.abi_hash, table_size: h.table_size }
    }
}

/// Resolves `symbol` in the library at `path`, calls it, and checks the table's header.
///
/// # Safety
/// Loading runs the library's initialisers; call this only inside a worker process under limits.
/// `T` must be the table type that `symbol` is documented to return.
pub unsafe fn load_table<T: HasHeader>(path: &Path, symbol: &str) -> Result<&'static T, LoadProblem> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    let library =
        Library::open(Some(path), RTLD_NOW | RTLD_LOCAL).map_err(|e| LoadProblem::Open { detail: e.to_string() })?;
    let entry = match library.get::<extern "C" fn() -> &'static T>(symbol.as_bytes()) {
        Ok(entry) => *entry,
        Err(_) => return Err(LoadProblem::MissingExport { symbol: symbol.to_owned() }),
    };
    // Never unload (see the module docs); the table's fn pointers live as long as the library.
    std::mem::forget(library);
    let table = entry();
    let expected = AbiHeader { abi_version: ABI_VERSION, abi_hash: ABI_HASH, table_size: std::mem::size_of::<T>() };
    let found = *table.header();
    if found != expected {
        return Err(LoadProblem::HeaderMismatch { found: found.into(), expected: expected.into() });
    }
    Ok(table)
}

/// A table whose first field is an [`AbiHeader`].
pub trait HasHeader: 'static {
    /// The header.
    fn header(&self) -> &AbiHeader;
}

impl HasHeader for challenge_harness::ffi::RateLimiterTable {
    fn header(&self) -> &AbiHeader {
        &self.header
    }
}

impl HasHeader for challenge_harness::ffi::LruCacheTable {
    fn header(&self) -> &AbiHeader {
        &self.header
    }
}

impl HasHeader for challenge_harness::ffi::ConnectionPoolTable {
    fn header(&self) -> &AbiHeader {
        &self.header
    }
}

impl HasHeader for challenge_harness::ffi::MessageQueueTable {
    fn header(&self) -> &AbiHeader {
        &self.header
    }
}

impl HasHeader for challenge_harness::ffi::MigrationRunnerTable {
    fn header(&self) -> &AbiHeader {
        &self.header
    }
}
