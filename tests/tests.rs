//! reel's integration tests, behind one harness (one binary, shared helpers in `util`).

mod daemon;
mod discover;
mod docs;
mod fuzz_corpus;
mod harden;
mod media;
mod messages;
mod mounts;
mod moves;
mod mtx;
mod pool_update;
mod pools;
mod quirks;
mod shell;
mod short_reply;
mod sim_prevent;
mod tech;
mod util;
