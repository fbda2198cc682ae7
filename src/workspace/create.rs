//! `challenge init`'s work: writing a workspace's files. Nothing a learner wrote is overwritten:
//! an existing README is left alone, an existing `.gitignore` only gains the lines it lacks, and
//! the harness copy is replaced only when asked (`--update-harness`) or when it is missing.

use std::path::{Path, PathBuf};

use super::harness_copy::write_harness;
use super::layout::{Workspace, WorkspaceError, STATE_DIR};
use super::members;

/// The learner's README, with `{{version}}` and `{{abi}}` to fill in.
const README: &str = include_str!("README.md");

/// What `.gitignore` must ignore: the build output, the progress store, a local gradebook.
const IGNORED: &[&str] = &["/target/", "/.challenge/progress.db", "/gradebook.db*"];

/// What `init` did.
#[derive(Debug)]
pub(crate) struct Created {
    /// The workspace.
    pub workspace: Workspace,
    /// Whether it was a workspace already.
    pub existed: bool,
    /// The files and directories written, relative to the root, in order.
    pub written: Vec<String>,
}

/// Makes `dir` a learner workspace, or completes one; `update_harness` replaces the harness copy.
pub(crate) fn init(dir: &Path, update_harness: bool) -> Result<Created, WorkspaceError> {
    let existed = Workspace::at(dir).is_some();
    if !existed {
        if let Some(outer) = Workspace::around(dir) {
            return Err(WorkspaceError::Refused(format!(
                "{} is inside the learner workspace {} already: start challenges there, or pick a directory outside it",
                dir.display(),
                outer.root().display()
            )));
        }
        if dir.join("Cargo.toml").is_file() {
            return Err(WorkspaceError::Refused(format!(
                "{} already holds a Cargo.toml that `challenge init` did not write; make the workspace in a directory of its own, such as `challenge init challenges`",
                dir.display()
            )));
        }
        if update_harness {
            return Err(WorkspaceError::Refused(format!(
                "{} is not a learner workspace, so it has no harness to update: run `challenge init` there first, or pass the workspace's directory",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir.join(STATE_DIR)).map_err(WorkspaceError::io("create", dir))?;
    let root: PathBuf = std::path::absolute(dir).map_err(WorkspaceError::io("find", dir))?;
    let mut written = Vec::new();

    if update_harness
        || !root.join(super::layout::HARNESS).join("Cargo.toml").is_file()
        || Workspace::at(&root).is_none()
    {
        write_harness(&root)?;
        written.push(format!("{}/", super::layout::HARNESS));
    }
    let manifest = root.join("Cargo.toml");
    if !manifest.exists() {
        write(&manifest, &members::manifest(&[super::layout::HARNESS.to_owned()]))?;
        written.push("Cargo.toml".to_owned());
    }
    let readme = root.join("README.md");
    if !readme.exists() {
        let text = README
            .replace("{{version}}", env!("CARGO_PKG_VERSION"))
            .replace("{{abi}}", &challenge_harness::ffi::ABI_VERSION.to_string());
        write(&readme, &text)?;
        written.push("README.md".to_owned());
    }
    let gitignore = root.join(".gitignore");
    let existing = match std::fs::read_to_string(&gitignore) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(WorkspaceError::Io { action: "read", path: gitignore, source: e }),
    };
    let missing: Vec<&str> =
        IGNORED.iter().copied().filter(|line| !existing.lines().any(|l| l.trim() == *line)).collect();
    if !missing.is_empty() {
        let mut text = existing.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        if text.is_empty() {
            text.push_str("# Written by `challenge init`: build output, your progress, a local gradebook.\n");
        }
        for line in missing {
            text.push_str(line);
            text.push('\n');
        }
        write(&gitignore, &text)?;
        written.push(".gitignore".to_owned());
    }
    let workspace = Workspace::at(&root).expect("the stamp was written with the harness");
    Ok(Created { workspace, existed, written })
}

fn write(path: &Path, text: &str) -> Result<(), WorkspaceError> {
    std::fs::write(path, text).map_err(WorkspaceError::io("write", path))
}
