//! A learner workspace: the directory `challenge init` (or the first `challenge start`) makes,
//! where a learner's crates live beside a copy of the harness at this tool's ABI. Everything in
//! it builds with no registry and no clone of the course repository.

mod create;
mod harness_copy;
mod layout;
mod members;

pub(crate) use create::init;
pub(crate) use harness_copy::{outdated_harness, stale_harness, HarnessState};
pub(crate) use layout::{relative, Workspace, WorkspaceError};
