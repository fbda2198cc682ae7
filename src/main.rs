use std::process::ExitCode;

fn main() -> ExitCode {
    challenge::run(std::env::args_os())
}
