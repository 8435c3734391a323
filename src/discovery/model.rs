//! The discovered library, shaped exactly as `shared/spec/cli.md` prints `reel discover --json`
//! (members the contract does not name are additions: `transports`, `source` and `exception`
//! on every element, `media_type_conflict`, `warnings`).

use serde::Serialize;
use uuid::Uuid;

use super::stats::Stats;
use crate::media::{Evidence, MediaType};

/// Everything one discovery run found: the `reel discover --json` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    /// One entry per changer.
    pub libraries: Vec<Library>,
    /// Drive devices no changer claims (standalone drives, or drives that could not be paired).
    pub unmatched_drives: Vec<UnmatchedDrive>,
    /// What could not be settled without guessing (also printed on stderr).
    pub warnings: Vec<String>,
    /// Commands sent and time in devices; present with `--stats`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
}

impl Inventory {
    /// The library whose changer has this serial.
    pub fn library(&self, serial: &str) -> Option<&Library> {
        self.libraries
            .iter()
            .find(|l| l.changer.serial.as_deref() == Some(serial))
    }
}

/// A SCSI device as discovery identified it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceIdentity {
    /// Node path or backend name (`/dev/sg3`, `sim:changer`).
    pub path: String,
    /// INQUIRY vendor.
    pub vendor: String,
    /// INQUIRY product.
    pub product: String,
    /// INQUIRY revision.
    pub revision: String,
    /// VPD 0x80 unit serial; `None` when the device has none.
    pub serial: Option<String>,
}

/// A range of element addresses (MODE SENSE page 0x1D).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ElementRange {
    /// First address.
    pub first: u16,
    /// Number of elements.
    pub count: u16,
}

impl ElementRange {
    /// True when `address` lies in the range.
    pub fn contains(&self, address: u16) -> bool {
        let a = u32::from(address);
        let first = u32::from(self.first);
        a >= first && a < first + u32::from(self.count)
    }
}

/// The element address assignment of a changer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ElementMap {
    /// Medium transports.
    pub transport: ElementRange,
    /// Storage elements (slots).
    pub storage: ElementRange,
    /// Import/export elements.
    pub import_export: ElementRange,
    /// Data transfer elements (drive bays).
    pub data_transfer: ElementRange,
}

/// An element exception: the ASC/ASCQ the changer reports against it, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// What it means.
    pub text: String,
}

/// A slot, import/export element or transport, and the common part of a drive element.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Element {
    /// Real element address.
    pub address: u16,
    /// A cartridge is in it.
    pub full: bool,
    /// Primary volume tag, trimmed; `None` when empty or the changer has no reader.
    pub barcode: Option<String>,
    /// The cartridge's type; `None` when empty, unknown, or when the sources disagree.
    pub media_type: Option<MediaType>,
    /// Where the cartridge came from, when the changer knows (SVALID).
    pub source: Option<u16>,
    /// The element's exception, when EXCEPT is set.
    pub exception: Option<Exception>,
    /// Present only when the sources of the media type disagree: what each one said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type_conflict: Option<Vec<Evidence>>,
}

/// A data-transfer element with the drive found behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriveSlot {
    /// The element (address, loaded cartridge, ...).
    #[serde(flatten)]
    pub element: Element,
    /// The drive device paired with it; `None` when none was found.
    pub device: Option<DeviceIdentity>,
    /// Media types the drive reads.
    pub reads: Vec<MediaType>,
    /// Media types the drive writes.
    pub writes: Vec<MediaType>,
}

/// A media type the library can use, and how many of its cartridges it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaTypeCount {
    /// The type's name.
    pub name: MediaType,
    /// Its stable id.
    pub id: Uuid,
    /// Cartridges of that type present (slots, mailslots, drives, transports).
    pub cartridges: u32,
}

/// One library: a changer and everything behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Library {
    /// The changer's identity.
    pub changer: DeviceIdentity,
    /// Element address assignment.
    pub elements: ElementMap,
    /// Storage elements, in address order.
    pub slots: Vec<Element>,
    /// Import/export elements.
    pub import_export: Vec<Element>,
    /// Drive elements and their drives.
    pub drives: Vec<DriveSlot>,
    /// Types at least one drive reads, with cartridge counts.
    pub media_types: Vec<MediaTypeCount>,
    /// Medium transports.
    pub transports: Vec<Element>,
}

impl Library {
    /// The changer's serial ("" when it has none).
    pub fn serial(&self) -> &str {
        self.changer.serial.as_deref().unwrap_or("")
    }

    /// The media types detected in this library (those some drive reads).
    pub fn detected_media_types(&self) -> Vec<MediaType> {
        self.media_types.iter().map(|m| m.name).collect()
    }
}

/// A drive device that no changer claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedDrive {
    /// Node path.
    pub path: String,
    /// VPD 0x80 serial.
    pub serial: Option<String>,
    /// INQUIRY vendor.
    pub vendor: String,
    /// INQUIRY product.
    pub product: String,
}

/// The library's `media_types`: every type some drive reads, with the cartridges of that type.
pub fn summarize_media_types(
    drives: &[DriveSlot],
    cartridges: impl IntoIterator<Item = MediaType>,
) -> Vec<MediaTypeCount> {
    let mut readable: Vec<MediaType> = drives
        .iter()
        .flat_map(|d| d.reads.iter().copied())
        .collect();
    readable.sort();
    readable.dedup();
    let mut counts = vec![0u32; readable.len()];
    for t in cartridges {
        if let Ok(i) = readable.binary_search(&t) {
            counts[i] += 1;
        }
    }
    readable
        .into_iter()
        .zip(counts)
        .map(|(t, cartridges)| MediaTypeCount {
            name: t,
            id: t.id(),
            cartridges,
        })
        .collect()
}
