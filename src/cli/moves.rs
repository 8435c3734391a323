//! `reel moves`.

use super::args::*;
use super::Failure;

/// Runs the command.
pub fn run(args: MoveArgs, json: bool) -> Result<(), Failure> {
    let _ = (args, json);
    Err(Failure::rsm(
        "ERROR_NOT_READY",
        21,
        "this command is not built yet",
    ))
}
