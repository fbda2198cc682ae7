//! Where a workspace's parts live, finding the workspace around a directory, and its stamp
//! (`.challenge/workspace.toml`: which tool and ABI wrote the harness copy).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The workspace's own directory: the stamp, the harness copy, the progress store.
pub(crate) const STATE_DIR: &str = ".challenge";
/// The stamp's path under the root; its presence is what makes a directory a workspace.
const STAMP: &str = ".challenge/workspace.toml";
/// The harness copy's path under the root, as members' manifests reach it.
pub(crate) const HARNESS: &str = ".challenge/harness";

/// A workspace could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A file could not be read or written.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// `read`, `write`, …
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// What was asked cannot be done here; the message says what to do instead.
    #[error("{0}")]
    Refused(String),
}

impl WorkspaceError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WorkspaceError {
        let path = path.to_owned();
        move |source| WorkspaceError::Io { action, path, source }
    }
}

/// A learner workspace on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
}

/// `.challenge/workspace.toml`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Stamp {
    /// The stamp's own format.
    pub format_version: u32,
    /// The `challenge` version that wrote the harness copy.
    pub tool_version: String,
    /// Its harness ABI version.
    pub abi_version: u32,
    /// Its harness ABI hash, as 16 hex digits.
    pub abi_hash: String,
}

impl Stamp {
    /// The stamp this tool writes.
    pub(crate) fn current() -> Stamp {
        Stamp {
            format_version: 1,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            abi_version: challenge_harness::ffi::ABI_VERSION,
            abi_hash: format!("{:016x}", challenge_harness::ffi::ABI_HASH),
        }
    }
}

impl Workspace {
    /// The workspace whose root is `dir`, if it is one.
    pub(crate) fn at(dir: &Path) -> Option<Workspace> {
        dir.join(STAMP)
            .is_file()
            .then(|| Workspace { root: std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()) })
    }

    /// The workspace `path` is in (or is), if any.
    pub(crate) fn around(path: &Path) -> Option<Workspace> {
        let path = std::path::absolute(path).ok()?;
        path.ancestors().find_map(Workspace::at)
    }

    /// The workspace the current directory is in, if any.
    pub(crate) fn current() -> Option<Workspace> {
        Workspace::around(&std::env::current_dir().ok()?)
    }

    /// Its root directory (absolute).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The harness copy its crates depend on.
    pub(crate) fn harness_dir(&self) -> PathBuf {
        self.root.join(HARNESS)
    }

    /// The stamp, when it can be read.
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        toml::from_str(&std::fs::read_to_string(self.root.join(STAMP)).ok()?).ok()
    }

    pub(crate) fn write_stamp(root: &Path) -> Result<(), WorkspaceError> {
        let path = root.join(STAMP);
        let text = format!(
            "# Which `challenge` wrote .challenge/harness, at which harness ABI. Written by `challenge init`;\n# `challenge init --update-harness` rewrites the harness and this file together.\n{}",
            toml::to_string(&Stamp::current()).expect("a stamp serializes")
        );
        std::fs::write(&path, text).map_err(WorkspaceError::io("write", &path))
    }
}

/// `to` as a relative path from the directory `from` (both absolute and free of `..`), with `/`
/// separators, as a manifest writes it.
pub(crate) fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(to[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::relative;
    use std::path::Path;

    #[test]
    fn relative_paths_climb_then_descend() {
        assert_eq!(
            relative(Path::new("/w/01-rate-limiter"), Path::new("/w/.challenge/harness")),
            "../.challenge/harness"
        );
        assert_eq!(relative(Path::new("/w/a/b"), Path::new("/w/.challenge/harness")), "../../.challenge/harness");
        assert_eq!(relative(Path::new("/w"), Path::new("/w/01-rate-limiter")), "01-rate-limiter");
        assert_eq!(relative(Path::new("/w"), Path::new("/w")), ".");
    }
}
