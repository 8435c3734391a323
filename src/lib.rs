//! reel: a tape-library controller for Linux.
//!
//! reel brings the media-pool model of the Windows Removable Storage Manager to SCSI tape
//! libraries on Linux. This crate holds everything above the transport boundary:
//!
//! ```text
//!  device (/dev/sg*, simulator)           reel-hw::Transport
//!        │  CDB ↓   ↑ status, sense, data
//!  scsi        builders and parsers, one file per command
//!        │
//!  changer / drive   drivers generic over Transport, one error policy
//!        │  element status, identity, densities, MAM
//!  discovery   the library as it is: elements, drives matched by serial, media types
//!        │
//!  pool + db   RSM media pools (CreateNtmsMediaPool, security) in SQLite
//!        │
//!  daemon      `reel serve`: sessions over a Unix socket; the CLI is its client
//! ```
//!
//! What it is not: a transport (see `reel-hw`) or a simulator (see `reel-sim`).
#![forbid(unsafe_code)]

pub mod changer;
pub mod controller;
pub mod daemon;
pub mod db;
pub mod discovery;
pub mod drive;
#[doc(hidden)]
pub mod fuzzing;
pub mod media;
pub mod mtx;
pub mod pool;
pub mod private_files;
pub mod scsi;
