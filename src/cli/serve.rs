//! `reel serve`.

use super::args::ServeArgs;
use super::Failure;

/// Runs the daemon in the foreground.
pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let _ = args;
    Err(Failure::rsm(
        "ERROR_NOT_READY",
        21,
        "the daemon is not built yet",
    ))
}
