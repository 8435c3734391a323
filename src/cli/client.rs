//! Daemon clients: `reel library`, `reel media-types`, `reel pool ...`.

use super::args::*;
use super::Failure;

fn not_yet() -> Failure {
    Failure::rsm("ERROR_NOT_READY", 21, "the daemon client is not built yet")
}

/// `reel library`.
pub fn library(args: LibraryArgs, json: bool) -> Result<(), Failure> {
    let _ = (args, json);
    Err(not_yet())
}

/// `reel media-types`.
pub fn media_types(args: ClientArgs, json: bool) -> Result<(), Failure> {
    let _ = (args, json);
    Err(not_yet())
}

/// `reel pool ...`.
pub fn pool(cmd: PoolCommand, json: bool) -> Result<(), Failure> {
    let _ = (cmd, json);
    Err(not_yet())
}
