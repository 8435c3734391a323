//! The `reel` command line: parse, run, map the outcome to an exit status in one place.
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::main()
}
