//! `challenge-worker`: loads one learner library and runs one job (see `challenge::worker`).
//! Its own executable so that it carries none of the catalogue: the linker drops what only the
//! commands reach.

use std::process::ExitCode;

fn main() -> ExitCode {
    challenge::worker()
}
