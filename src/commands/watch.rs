//! `challenge watch N`: rebuild and rerun on save. (Being written; see the learner-experience issue.)

use std::path::PathBuf;

use super::{CommandError, Context};

pub(super) fn run(_cx: &Context, _query: &str, _solution: Option<PathBuf>) -> Result<u8, CommandError> {
    Err(CommandError::Usage("challenge watch is not built yet".to_owned()))
}
