//! `reel-sim`: the simulated library served as a process.
use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("error: reel-sim serve/ctl are not built yet");
    ExitCode::from(1)
}
