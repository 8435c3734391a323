//! Discovery: the library as it really is.
//!
//! Reads every changer and drive a [`reel_hw::DeviceSource`] reaches with the fewest commands,
//! pairs drives with drive elements by serial, and works out the media types.

pub mod engine;
pub mod location;
pub mod matching;
pub mod model;
pub mod moves;
pub mod report;
pub mod source;
pub mod stats;

pub use location::{ElementKind, Location, LocationError};
pub use model::{
    DeviceIdentity, DriveSlot, Element, ElementMap, ElementRange, Exception, Inventory, Library,
    MediaTypeCount, UnmatchedDrive,
};
pub use report::write_report;
pub use stats::{Counted, Counter, Stats};
