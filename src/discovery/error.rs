//! What can go wrong in discovery: [`DiscoveryError`] stops a run, a [`Warning`] is reported in
//! the inventory and costs only what it names. Both stay typed until the report prints them;
//! a device's failure keeps the driver's [`DeviceError`] with its decoded sense.

use std::fmt;

use reel_hw::sense::Sense;
use reel_hw::{AnyTransportError, TransportError};
use thiserror::Error;

use crate::media::DriveGeneration;
use crate::scsi::exec::DeviceError;

/// A device source's own error, whatever the backend (sysfs, the simulator's socket, ...).
pub type BoxedError = Box<dyn std::error::Error + Send + Sync>;

/// A command that failed on a device: the driver's error with the backend's transport error
/// erased (its kind kept), so one discovery error type serves every [`reel_hw::DeviceSource`].
pub type DeviceFailure = DeviceError<AnyTransportError>;

/// Why discovery (or a technician command built on it) failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The device source could not be listed (sysfs missing, simulator socket gone).
    #[error("cannot list devices: {0}")]
    Source(BoxedError),
    /// A device could not be opened.
    #[error("cannot open {path}: {error}")]
    Open {
        /// The path.
        path: String,
        /// Why.
        error: BoxedError,
    },
    /// A device named with `--device` is neither a changer nor a tape drive.
    #[error("{path} is a {kind}, not a medium changer or a tape drive")]
    NotLibraryDevice {
        /// The path.
        path: String,
        /// What it is.
        kind: String,
    },
    /// A command failed on a device.
    #[error(transparent)]
    Device(DeviceFailure),
}

impl DiscoveryError {
    /// The decoded sense, when a device sent some.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            DiscoveryError::Device(d) => d.sense(),
            _ => None,
        }
    }
}

impl<E: TransportError + Send + Sync + 'static> From<DeviceError<E>> for DiscoveryError {
    fn from(e: DeviceError<E>) -> Self {
        DiscoveryError::Device(e.erased())
    }
}

/// Something worth telling that did not stop discovery. `Display` gives the line of the
/// inventory's `warnings`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Warning {
    /// Enumeration failed while `--device` nodes were given: only those are used.
    NoEnumeration(DiscoveryError),
    /// A drive could not be opened or asked; it costs only what this command would have told.
    Drive {
        /// The drive's path.
        path: String,
        /// What failed.
        error: DiscoveryError,
    },
    /// A remark of drive pairing (an ambiguity, or a cut identifier matched by its prefix).
    Pairing {
        /// The changer's path.
        changer: String,
        /// What the pairing found.
        note: String,
    },
    /// A drive element whose drive device was not found (`device: null`).
    NoDriveBehind {
        /// The changer's path.
        changer: String,
        /// The element address.
        address: u16,
    },
    /// The drive gave no REPORT DENSITY SUPPORT medium types; its LTO generation's table is used.
    LtoTable {
        /// The drive's path.
        drive: String,
        /// The generation its product names.
        generation: DriveGeneration,
        /// Its INQUIRY product.
        product: String,
    },
    /// The drive gave no medium types and its product names no LTO generation.
    UnknownMediaTypes {
        /// The drive's path.
        drive: String,
        /// Its INQUIRY product.
        product: String,
    },
    /// The sources of an element's media type disagree (its `media_type_conflict`).
    MediaTypeConflict {
        /// The changer's path.
        changer: String,
        /// The element address.
        address: u16,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NoEnumeration(e) => write!(f, "{e}; using only the nodes given"),
            Warning::Drive { path, error } => write!(f, "drive {path}: {error}"),
            Warning::Pairing { changer, note } => write!(f, "{changer}: {note}"),
            Warning::NoDriveBehind { changer, address } => write!(
                f,
                "{changer}: drive element {address}: no drive device found behind it (device null)"
            ),
            Warning::LtoTable {
                drive,
                generation,
                product,
            } => write!(
                f,
                "drive {drive}: no REPORT DENSITY SUPPORT medium types; using the LTO table for {generation} ({product})"
            ),
            Warning::UnknownMediaTypes { drive, product } => write!(
                f,
                "drive {drive}: no REPORT DENSITY SUPPORT medium types and product {product:?} names no LTO generation; its media types are unknown"
            ),
            Warning::MediaTypeConflict { changer, address } => write!(
                f,
                "{changer}: element {address}: the sources of its media type disagree (see media_type_conflict)"
            ),
        }
    }
}
