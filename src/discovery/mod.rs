//! Discovery: the library as it really is.
//!
//! Reads every changer and drive a [`reel_hw::DeviceSource`] reaches with the fewest commands,
//! pairs drives with drive elements by serial, and works out the media types:
//!
//! ```text
//! DeviceSource ─ devices() (identity without commands where the source has it)
//!      │ open → Counted<T> (stats)
//!      ├─ changer: MODE SENSE 1D, READ ELEMENT STATUS per element type (chunked)
//!      ├─ drives:  paired by DVCID = VPD 0x80 serial, else VPD 0x83, else VPD 0xB4/0xB3
//!      │           REPORT DENSITY SUPPORT once per model, READ ATTRIBUTE when loaded
//!      └─ Inventory: the `reel discover --json` document (cli.md)
//! ```
//!
//! What it is not: a cache or a daemon. [`discover`] reads the devices every time; `reel
//! serve` keeps the [`Inventory`] it returns.

pub mod engine;
pub mod location;
pub mod matching;
pub mod model;
pub mod moves;
pub mod report;
pub mod source;
pub mod stats;

pub use engine::{DeviceFailure, DiscoverOptions, DiscoveryError, Reporter};
pub use location::{ElementKind, Location, LocationError};
pub use model::{
    DeviceIdentity, DriveSlot, Element, ElementMap, ElementRange, Exception, Inventory, Library,
    MediaTypeCount, UnmatchedDrive,
};
pub use moves::{MoveError, MoveRequest, Moved};
pub use report::write_report;
pub use stats::{Counted, Counter, Stats};

use reel_hw::DeviceSource;

/// Discovers every library `source` reaches. The inventory's `stats` counts the commands sent.
///
/// # Errors
/// [`DiscoveryError`]: a source that cannot be listed, a changer that cannot be opened or read
/// (with the device's decoded sense), a `--device` node that is neither changer nor drive. A
/// drive that fails costs only a warning in [`Inventory::warnings`].
pub fn discover<S: DeviceSource>(
    source: &mut S,
    opts: &DiscoverOptions,
) -> Result<Inventory, DiscoveryError> {
    let counter = Counter::new();
    let mut backend = source::SourceBackend::new(source, counter.clone());
    let mut inv = engine::discover_with(&mut backend, opts)?;
    inv.stats = Some(counter.snapshot());
    Ok(inv)
}

/// Moves one cartridge (`reel move`): see [`moves::move_with`].
///
/// # Errors
/// As [`moves::move_with`].
pub fn move_cartridge<S: DeviceSource>(
    source: &mut S,
    req: &MoveRequest,
) -> Result<Moved, MoveError> {
    let mut backend = source::SourceBackend::new(source, Counter::new());
    moves::move_with(&mut backend, req)
}
