//! reel-sim: a simulated tape library that answers SCSI commands as hardware does.
//!
//! A library model (changer, drives, cartridges) built from a layout file
//! (`shared/spec/sim-layout.md`), exposed through `reel_hw::Transport` in-process and over a Unix
//! socket by `reel-sim serve`. Also home of the scripted transport used by driver tests.
//!
//! What it is not: a driver. It never interprets replies; it produces them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod script;
