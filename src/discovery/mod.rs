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
//! The phases live in `run.rs` on the drivers (`Changer`, `Drive`); errors and typed warnings in
//! `error.rs`.
//!
//! What it is not: a cache or a daemon. [`discover`] reads the devices every time; `reel
//! serve` keeps the [`Inventory`] it returns.

mod error;
pub mod location;
pub mod matching;
pub mod model;
pub mod moves;
pub mod report;
mod run;
pub mod stats;
#[cfg(test)]
mod tests;

pub use error::{BoxedError, DeviceFailure, DiscoveryError, Warning};
pub use location::{ElementKind, Location, LocationError};
pub use model::{
    DeviceIdentity, DriveSlot, Element, ElementMap, ElementRange, Exception, Inventory, Library,
    MediaTypeCount, UnmatchedDrive,
};
pub use moves::{MoveError, MoveRequest, Moved};
pub use report::{fold_addresses, write_report, write_report_with};
pub use stats::{Counted, Counter, Stats};

use std::sync::Arc;

use reel_hw::DeviceSource;

pub use run::cartridge_type;

/// A progress or warning line for stderr.
pub type Reporter = Arc<dyn Fn(&str) + Send + Sync>;

/// How to discover.
#[derive(Clone, Default)]
pub struct DiscoverOptions {
    /// Send INITIALIZE ELEMENT STATUS to each changer first.
    pub rescan: bool,
    /// Only these device paths (`--device`); drives enumeration finds are still used to pair
    /// a changer's drive elements, but only these are reported as unmatched.
    pub only: Option<Vec<String>>,
    /// Where progress lines go (`--rescan` is slow); `None` = nowhere.
    pub progress: Option<Reporter>,
}

impl std::fmt::Debug for DiscoverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoverOptions")
            .field("rescan", &self.rescan)
            .field("only", &self.only)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

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
    let (mut inv, warnings) = discover_typed(source, opts)?;
    inv.warnings = warnings.iter().map(ToString::to_string).collect();
    Ok(inv)
}

/// [`discover`], with the warnings typed (the inventory's `warnings` stays empty).
///
/// # Errors
/// As [`discover`].
pub fn discover_typed<S: DeviceSource>(
    source: &mut S,
    opts: &DiscoverOptions,
) -> Result<(Inventory, Vec<Warning>), DiscoveryError> {
    let counter = Counter::new();
    let (mut inv, warnings) = run::discover(&mut run::Devices::new(source, counter.clone()), opts)?;
    inv.stats = Some(counter.snapshot());
    Ok((inv, warnings))
}

/// Moves one cartridge (`reel move`): the element map, the source element, an unload when the
/// source is a drive whose device is known, MOVE MEDIUM.
///
/// # Errors
/// [`MoveError::Usage`] for elements outside the changer's map or an unknown changer;
/// [`MoveError::Discovery`] with the device's decoded sense when a command fails (3B/0E source
/// empty, 3B/0D destination full, ...).
pub fn move_cartridge<S: DeviceSource>(
    source: &mut S,
    req: &MoveRequest,
) -> Result<Moved, MoveError> {
    moves::move_with(&mut run::Devices::new(source, Counter::new()), req)
}
