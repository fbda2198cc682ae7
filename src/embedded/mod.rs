//! The catalogue compiled into the binary (build.rs lists it), and how it becomes a directory on
//! disk that the rest of the tool reads like any other catalogue: specs, briefs, hints and
//! templates as they are, the harness and the reference solutions rewritten to build on their own.

mod extract;
mod files;
mod standalone;

pub(crate) use extract::{extract, standalone_harness, ExtractError, BUILT_RECORD};
pub(crate) use files::challenge_count;
