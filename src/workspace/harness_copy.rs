//! The workspace's copy of the harness: written from the harness embedded in this binary, and
//! checked against it. Its `src/ffi.rs` is the ABI (every plugin carries a hash of that file), so
//! a copy whose `ffi.rs` differs builds crates this tool cannot load: such a crate is never built,
//! and the learner is told how to update the copy. The header check at load time still guards
//! anything built some other way.

use std::path::Path;

use challenge_harness::ffi::{fnv1a, ABI_HASH, ABI_VERSION};

use super::layout::{Workspace, WorkspaceError};
use crate::embedded;

/// How a workspace's harness copy compares with the one this tool ships.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HarnessState {
    /// Byte for byte the same.
    Current,
    /// The same ABI, but other files differ (an older tool wrote it, or it was edited): crates
    /// load, but may lack newer parts of the harness, such as a later challenge's trait.
    Outdated,
    /// Another ABI, or no `ffi.rs` at all: a crate built against it would not load.
    Mismatched {
        /// `ABI_VERSION` as the copy's `ffi.rs` declares it.
        found_version: Option<u32>,
        /// The hash of the copy's `ffi.rs`.
        found_hash: Option<u64>,
    },
}

impl Workspace {
    /// Compares the harness copy with this tool's.
    pub(crate) fn harness_state(&self) -> HarnessState {
        let dir = self.harness_dir();
        let Ok(ffi) = std::fs::read(dir.join("src/ffi.rs")) else {
            return HarnessState::Mismatched { found_version: None, found_hash: None };
        };
        if fnv1a(&ffi) != ABI_HASH {
            return HarnessState::Mismatched { found_version: declared_version(&ffi), found_hash: Some(fnv1a(&ffi)) };
        }
        let Ok(expected) = embedded::standalone_harness() else { return HarnessState::Outdated };
        let same = expected.iter().all(|(rel, bytes)| std::fs::read(dir.join(rel)).is_ok_and(|b| &b == bytes));
        if same {
            HarnessState::Current
        } else {
            HarnessState::Outdated
        }
    }

    /// The plain explanation of a harness copy that does not match, with the way out;
    /// `consequence` says what that meant just now (`so nothing was built`).
    pub(crate) fn mismatch_message(
        &self,
        found_version: Option<u32>,
        found_hash: Option<u64>,
        consequence: &str,
    ) -> String {
        let written_by =
            self.stamp().map_or_else(String::new, |s| format!(", written by challenge {}", s.tool_version));
        let found = match (found_version, found_hash) {
            (_, None) => "is missing its src/ffi.rs".to_owned(),
            (Some(v), Some(h)) => format!("speaks harness ABI v{v} ({h:016x}{written_by})"),
            (None, Some(h)) => format!("speaks another harness ABI ({h:016x}{written_by})"),
        };
        format!(
            "this workspace's harness copy ({}) {found}, but this challenge {} speaks ABI v{ABI_VERSION} ({ABI_HASH:016x}): a crate built against that copy would not load{consequence}. Update the copy with `challenge init --update-harness` in {} (your crates are not touched)",
            self.harness_dir().display(),
            env!("CARGO_PKG_VERSION"),
            self.root().display(),
        )
    }
}

/// Writes this tool's harness into `root/.challenge/harness` (replacing what was there) and the
/// stamp beside it.
pub(super) fn write_harness(root: &Path) -> Result<(), WorkspaceError> {
    let dir = root.join(super::layout::HARNESS);
    let files = embedded::standalone_harness().map_err(|e| WorkspaceError::Refused(e.to_string()))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(WorkspaceError::io("remove", &dir))?;
    }
    for (rel, bytes) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("inside the harness"))
            .map_err(WorkspaceError::io("create", &path))?;
        std::fs::write(&path, bytes).map_err(WorkspaceError::io("write", &path))?;
    }
    Workspace::write_stamp(root)
}

/// `ABI_VERSION` as an `ffi.rs` declares it.
fn declared_version(ffi: &[u8]) -> Option<u32> {
    let text = String::from_utf8_lossy(ffi);
    let line = text.lines().find(|l| l.trim_start().starts_with("pub const ABI_VERSION"))?;
    line.split('=').nth(1)?.trim().trim_end_matches(';').trim().parse().ok()
}

/// Why the crate in `crate_dir` must not be built, when it depends on the harness copy of a
/// workspace whose ABI differs from this tool's.
pub(crate) fn stale_harness(crate_dir: &Path) -> Option<String> {
    let (workspace, state) = copy_in_use(crate_dir)?;
    match state {
        HarnessState::Mismatched { found_version, found_hash } => {
            Some(workspace.mismatch_message(found_version, found_hash, ", so it was not built or run"))
        }
        HarnessState::Current | HarnessState::Outdated => None,
    }
}

/// A note for a crate on a harness copy of this ABI that still differs from this tool's: it
/// loads, but a newer part of the harness may be missing from it.
pub(crate) fn outdated_harness(crate_dir: &Path) -> Option<String> {
    let (workspace, state) = copy_in_use(crate_dir)?;
    match state {
        HarnessState::Outdated => Some(format!(
            "this workspace's harness copy ({}) speaks this tool's ABI but differs from the harness challenge {} ships; if your crate fails to build on something the harness should have, run `challenge init --update-harness`",
            workspace.harness_dir().display(),
            env!("CARGO_PKG_VERSION")
        )),
        HarnessState::Current | HarnessState::Mismatched { .. } => None,
    }
}

/// The workspace whose harness copy the crate in `crate_dir` depends on, and how that copy
/// compares; `None` for a crate on any other harness.
fn copy_in_use(crate_dir: &Path) -> Option<(Workspace, HarnessState)> {
    let workspace = Workspace::around(crate_dir)?;
    let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(crate_dir.join("Cargo.toml")).ok()?).ok()?;
    let harness = manifest.get("dependencies")?.get("challenge-harness")?.get("path")?.as_str()?;
    let uses_copy = crate_dir.join(harness).canonicalize().ok()? == workspace.harness_dir().canonicalize().ok()?;
    uses_copy.then(|| {
        let state = workspace.harness_state();
        (workspace, state)
    })
}

#[cfg(test)]
mod tests {
    use super::declared_version;

    #[test]
    fn the_declared_abi_version_is_read_from_ffi_rs() {
        assert_eq!(
            declared_version(include_bytes!("../../harness/src/ffi.rs")),
            Some(challenge_harness::ffi::ABI_VERSION)
        );
        assert_eq!(declared_version(b"pub const ABI_VERSION: u32 = 7;\n"), Some(7));
        assert_eq!(declared_version(b"nothing here"), None);
    }
}
