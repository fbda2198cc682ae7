//! `challenge`: teaches and grades backend-systems engineering. Learners' crates are built as
//! cdylibs, loaded into isolated worker processes, driven through scripted scenarios on a virtual
//! clock, and judged here, in the parent.

mod cargo_build;
mod catalog;
mod cli;
mod clock_watch;
mod commands;
mod embedded;
mod events;
pub mod exit;
mod gradebook;
mod progress;
mod reference;
mod reporter;
mod results;
mod runner;
pub mod sandbox;
mod spec;
mod submissions;
mod verdict;
mod worker_main;
mod workspace;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// Runs one job in a worker process: what `challenge-worker` (and `challenge __worker`) does.
pub fn worker() -> ExitCode {
    worker_main::worker_main()
}

/// Runs the tool with `args` (including the program name) and returns its exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // The worker skips argument parsing and the catalogue: it must start fast and touch nothing.
    if args.get(1).is_some_and(|a| a == "__worker") {
        return worker_main::worker_main();
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::PASSED });
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
