//! The daemon's hold on its devices: the [`Controller`] built at start-up from one discovery
//! run, and what that run found beyond the libraries (unmatched drives, warnings).
//!
//! The controller owns every changer (one worker each: the picker) and every drive (one worker
//! each); nothing else in the daemon sends SCSI commands. Start-up runs discovery once — the
//! one reconciling inventory after a crash — and never again; `library --rescan` re-reads the
//! element status through the controller's own changer workers.

use reel_hw::AnyTransport;

use crate::controller::Controller;
use crate::discovery::Inventory;
use crate::media::MediaType;
use crate::pool::media::{Cartridge, LocationKind};

/// The controller over run-time-chosen transports.
pub type DeviceController = Controller<AnyTransport>;

/// What start-up produced: discovery's report and the controller that took the devices over.
#[derive(Debug)]
pub struct Startup {
    /// The discovery report start-up ran on (identities, unmatched drives, warnings).
    pub inventory: Inventory,
    /// Each library as the pool layer registers it (with the labels read from cartridges
    /// found in drives).
    pub libraries: Vec<DiscoveredLibrary>,
    /// The controller.
    pub controller: DeviceController,
}

/// Runs discovery and starts the controller (on a blocking thread). The error is a message
/// for the operator.
pub type StartFn = Box<dyn FnOnce() -> Result<Startup, String> + Send>;

/// One library as the pool layer registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredLibrary {
    /// The changer's serial number.
    pub serial: String,
    /// The changer's INQUIRY vendor.
    pub vendor: String,
    /// The changer's INQUIRY product.
    pub product: String,
    /// The changer's INQUIRY revision.
    pub revision: String,
    /// Media types at least one of its drives can read.
    pub media_types: Vec<MediaType>,
    /// Every cartridge in it (slots, I/E ports, drives, transports).
    pub cartridges: Vec<Cartridge>,
}

impl DiscoveredLibrary {
    /// The library as the pool layer registers it, from discovery's model (or the
    /// controller's rendering of its own).
    pub fn from_model(l: &crate::discovery::Library) -> DiscoveredLibrary {
        DiscoveredLibrary {
            serial: l.serial().to_owned(),
            vendor: l.changer.vendor.clone(),
            product: l.changer.product.clone(),
            revision: l.changer.revision.clone(),
            media_types: l.detected_media_types(),
            cartridges: cartridges(l),
        }
    }

    /// The registration facts of each library of `inventory`.
    pub fn all(inventory: &Inventory) -> Vec<DiscoveredLibrary> {
        inventory.libraries.iter().map(Self::from_model).collect()
    }
}

/// Every full element of a discovered library as a [`Cartridge`] (no MAM label: reading one
/// needs the cartridge in a drive).
pub fn cartridges(l: &crate::discovery::Library) -> Vec<Cartridge> {
    let element = |kind: LocationKind, e: &crate::discovery::Element| Cartridge {
        kind,
        address: e.address,
        barcode: e.barcode.clone(),
        media_type: e.media_type,
        source: e.source,
        label: None,
    };
    let mut v = Vec::with_capacity(l.slots.len() + l.drives.len());
    v.extend(
        l.slots
            .iter()
            .filter(|e| e.full)
            .map(|e| element(LocationKind::Slot, e)),
    );
    v.extend(
        l.import_export
            .iter()
            .filter(|e| e.full)
            .map(|e| element(LocationKind::Ie, e)),
    );
    v.extend(
        l.drives
            .iter()
            .filter(|d| d.element.full)
            .map(|d| element(LocationKind::Drive, &d.element)),
    );
    v.extend(
        l.transports
            .iter()
            .filter(|e| e.full)
            .map(|e| element(LocationKind::Transport, e)),
    );
    v
}
