//! reel-sim: a simulated tape library that answers SCSI commands as hardware does.
//!
//! A library model (changer, drives, cartridges) built from a layout file
//! (`shared/spec/sim-layout.md`), exposed through `reel_hw::Transport` in-process
//! ([`SimLibrary`], [`SimSource`], [`SimTransport`]) and over a Unix socket by `reel-sim serve`
//! ([`server`], [`client::SocketSource`]). Also home of the scripted transport used by driver
//! tests.
//!
//! Device paths: `sim:changer` and `sim:drive:<element address>` (decimal), e.g.
//! `sim:drive:500`.
//!
//! What it is not: a driver. It never interprets replies; it produces them. It does not move
//! data on tape (no READ/WRITE/SPACE): drives answer the commands of scsi-reference §4.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod changer;
pub mod client;
mod drive;
#[doc(hidden)]
pub mod fuzzing;
pub mod iscsi;
pub mod layout;
mod library;
pub mod media;
mod persist;
pub mod script;
pub mod sense;
pub mod server;
mod state;
pub mod status;
mod tape;
pub mod wire;

pub use layout::{Layout, LayoutError};
pub use library::{Device, SimError, SimLibrary, SimSource, SimTransport, SimTransportError};
pub use status::LibraryStatus;
