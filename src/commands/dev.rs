//! `challenge dev check` and `challenge dev new`. (Being written; see the learner-experience issue.)

use super::{CommandError, Context};

pub(super) fn check(_cx: &Context) -> Result<u8, CommandError> {
    Err(CommandError::Usage("challenge dev check is not built yet".to_owned()))
}

pub(super) fn new(_cx: &Context, _slug: &str, _system: &str) -> Result<u8, CommandError> {
    Err(CommandError::Usage("challenge dev new is not built yet".to_owned()))
}
