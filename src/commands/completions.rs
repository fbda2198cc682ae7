//! `challenge completions SHELL`: a completion script generated from the clap definitions.

use clap::CommandFactory;

use super::CommandError;
use crate::cli::Cli;

pub(super) fn run(shell: clap_complete::Shell) -> Result<u8, CommandError> {
    clap_complete::generate(shell, &mut Cli::command(), "challenge", &mut std::io::stdout());
    Ok(crate::exit::PASSED)
}
