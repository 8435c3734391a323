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

/// The controller over run-time-chosen transports.
pub type DeviceController = Controller<AnyTransport>;

/// What start-up produced: discovery's report and the controller that took the devices over.
#[derive(Debug)]
pub struct Startup {
    /// The discovery report start-up ran on (identities, unmatched drives, warnings).
    pub inventory: Inventory,
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
}

impl DiscoveredLibrary {
    /// The registration facts of each library of `inventory`.
    pub fn all(inventory: &Inventory) -> Vec<DiscoveredLibrary> {
        inventory
            .libraries
            .iter()
            .map(|l| DiscoveredLibrary {
                serial: l.serial().to_owned(),
                vendor: l.changer.vendor.clone(),
                product: l.changer.product.clone(),
                revision: l.changer.revision.clone(),
                media_types: l.detected_media_types(),
            })
            .collect()
    }
}
