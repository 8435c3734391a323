//! Physical media as the catalogue records them (rsm-media-and-mounts §1): ids, location,
//! home slot, sides and states. One vocabulary for the pool layer, the controller (which
//! reports where a cartridge went with [`Rsm::record_location`](super::Rsm::record_location))
//! and the wire (cli.md MEDIUM is [`MediumInfo`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::media::MediaType;

use super::PoolKind;

/// `NtmsMediaState` (Appendix A.2) of a physical medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// In a slot, a dismounted drive, or offline.
    Idle,
    /// Being moved.
    InUse,
    /// In a drive, not yet readable.
    Mounted,
    /// In a drive and ready.
    Loaded,
    /// In a drive, unloaded.
    Unloaded,
    /// An operation on it failed.
    #[serde(rename = "operror")]
    OpError,
    /// Awaiting an operator.
    #[serde(rename = "opreq")]
    OpReq,
}

impl MediaState {
    /// The `NtmsMediaState` number.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The state with this number.
    pub fn from_code(n: u32) -> Option<MediaState> {
        use MediaState::*;
        [Idle, InUse, Mounted, Loaded, Unloaded, OpError, OpReq]
            .get(n as usize)
            .copied()
    }
}

/// The state as RSM writes it in messages (`MOUNTED`, `IN USE`).
impl std::fmt::Display for MediaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MediaState::Idle => "IDLE",
            MediaState::InUse => "IN USE",
            MediaState::Mounted => "MOUNTED",
            MediaState::Loaded => "LOADED",
            MediaState::Unloaded => "UNLOADED",
            MediaState::OpError => "OPERROR",
            MediaState::OpReq => "OPREQ",
        })
    }
}

/// `NtmsPartitionState` (Appendix A.2) of a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideState {
    /// Unknown / new.
    Unknown,
    /// Awaiting a free label.
    Unprepared,
    /// No drive of its library can use it.
    Incompatible,
    /// Retired for good.
    Decommissioned,
    /// Free to allocate.
    Available,
    /// Held by a logical medium.
    Allocated,
    /// Allocated and full.
    Complete,
    /// In an Unrecognized pool.
    Foreign,
    /// In an Import pool.
    Import,
    /// Reserved.
    Reserved,
}

impl SideState {
    /// The `NtmsPartitionState` number.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The state with this number.
    pub fn from_code(n: u32) -> Option<SideState> {
        use SideState::*;
        [
            Unknown,
            Unprepared,
            Incompatible,
            Decommissioned,
            Available,
            Allocated,
            Complete,
            Foreign,
            Import,
            Reserved,
        ]
        .get(n as usize)
        .copied()
    }

    /// Whether a logical medium holds the side (ALLOCATED, COMPLETE or RESERVED).
    pub fn in_use(self) -> bool {
        matches!(
            self,
            SideState::Allocated | SideState::Complete | SideState::Reserved
        )
    }
}

/// The state as RSM writes it in messages (`AVAILABLE`, `ALLOCATED`).
impl std::fmt::Display for SideState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SideState::Unknown => "UNKNOWN",
            SideState::Unprepared => "UNPREPARED",
            SideState::Incompatible => "INCOMPATIBLE",
            SideState::Decommissioned => "DECOMMISSIONED",
            SideState::Available => "AVAILABLE",
            SideState::Allocated => "ALLOCATED",
            SideState::Complete => "COMPLETE",
            SideState::Foreign => "FOREIGN",
            SideState::Import => "IMPORT",
            SideState::Reserved => "RESERVED",
        })
    }
}

/// Where a cartridge is: cli.md's `location.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// Out of every library.
    Offline,
    /// A storage slot.
    Slot,
    /// A drive (data-transfer element).
    Drive,
    /// An import/export port.
    Ie,
    /// The picker.
    Transport,
}

impl LocationKind {
    /// The stored number: 0 offline, 1 slot, 2 drive, 3 I/E port, 4 transport.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The kind with this number.
    pub fn from_code(n: u32) -> Option<LocationKind> {
        use LocationKind::*;
        [Offline, Slot, Drive, Ie, Transport]
            .get(n as usize)
            .copied()
    }
}

/// A cartridge's location: library, element kind and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// The library; `None` when offline.
    pub library: Option<Uuid>,
    /// Element kind.
    pub kind: LocationKind,
    /// Element address; `None` when offline.
    pub address: Option<u16>,
}

impl Location {
    /// The offline library.
    pub const OFFLINE: Location = Location {
        library: None,
        kind: LocationKind::Offline,
        address: None,
    };

    /// An element of a library.
    pub fn at(library: Uuid, kind: LocationKind, address: u16) -> Location {
        Location {
            library: Some(library),
            kind,
            address: Some(address),
        }
    }

    /// Whether the cartridge is out of every library.
    pub fn is_offline(&self) -> bool {
        self.kind == LocationKind::Offline
    }
}

/// Bar code state (Appendix of rsm-media-and-mounts): OK 1, UNREADABLE 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarcodeState {
    /// Read.
    Ok,
    /// None could be read: the cartridge is known by its slot.
    Unreadable,
}

/// OMID label type of a side reel labelled in MAM (§9).
pub const OMID_REEL_MAM: &str = "REEL-MAM";
/// OMID label type of a side whose drive refused ATTRIBUTE commands: the bar code is the label.
pub const OMID_BARCODE: &str = "BARCODE";

/// One side of a physical medium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// Its id.
    pub id: Uuid,
    /// Side number (tape: 0).
    pub number: u32,
    /// State.
    pub state: SideState,
    /// The logical medium allocated on it.
    pub lmid: Option<Uuid>,
    /// Allocations so far.
    pub allocate_count: u32,
    /// Mounts so far.
    pub mount_count: u32,
    /// OMID label type (`REEL-MAM`, `BARCODE`), once labelled.
    pub omid_label_type: Option<String>,
    /// OMID label id (the medium id reel wrote).
    pub omid_label_id: Option<Vec<u8>>,
}

/// A physical medium (cartridge) and its sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysicalMedium {
    /// Its id (never reused).
    pub id: Uuid,
    /// The pool holding it.
    pub pool: Uuid,
    /// Its media type.
    pub media_type: MediaType,
    /// Bar code, when read.
    pub barcode: Option<String>,
    /// Whether the bar code was read.
    pub barcode_state: BarcodeState,
    /// `NtmsMediaState`.
    pub state: MediaState,
    /// Where it is.
    pub location: Location,
    /// Where it returns on dismount.
    pub home: Option<u16>,
    /// Mounts so far.
    pub mount_count: u32,
    /// Last mount, ms since the Unix epoch.
    pub last_mounted_ms: Option<i64>,
    /// Its sides, in side order.
    pub sides: Vec<Side>,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub modified_ms: i64,
}

/// A cleaning cartridge of a library (not a pool member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaner {
    /// Its id.
    pub id: Uuid,
    /// Its library.
    pub library: Uuid,
    /// Bar code.
    pub barcode: Option<String>,
    /// Where it is.
    pub location: Location,
    /// Where it returns after a cleaning.
    pub home: Option<u16>,
    /// Cleanings left.
    pub uses_remaining: u32,
}

/// reel's label read from a cartridge's MAM (§9): the ids reel wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReelLabel {
    /// MEDIUM GLOBALLY UNIQUE IDENTIFIER (0x0820): the physical medium id.
    pub medium: Uuid,
    /// MEDIA POOL GLOBALLY UNIQUE IDENTIFIER (0x0821): the pool id.
    pub pool: Uuid,
}

/// What an inventory saw in one element: the input of
/// [`Rsm::register_media`](super::Rsm::register_media).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cartridge {
    /// Element kind (slot, drive, I/E port, transport).
    pub kind: LocationKind,
    /// Element address.
    pub address: u16,
    /// Bar code, when the changer read one.
    pub barcode: Option<String>,
    /// Media type, when known.
    pub media_type: Option<MediaType>,
    /// Where it came from (SVALID), for a cartridge in a drive or the picker.
    pub source: Option<u16>,
    /// reel's MAM label, when a drive read it; `None` when not read or not reel's.
    pub label: Option<ReelLabel>,
}

/// What [`Rsm::register_media`](super::Rsm::register_media) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterReport {
    /// Cartridges new to the catalogue.
    pub added: u64,
    /// Known cartridges that moved or came back from offline.
    pub updated: u64,
    /// Known cartridges left unchanged.
    pub unchanged: u64,
    /// Media now offline.
    pub offline: u64,
    /// Media and cleaners dropped from the catalogue.
    pub dropped: u64,
    /// Cleaners seen.
    pub cleaners: u64,
    /// What the operator should know: duplicated bar codes, cartridges of unknown type.
    pub warnings: Vec<String>,
}

/// One side as cli.md prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideInfo {
    /// Side id.
    pub id: Uuid,
    /// State.
    pub state: SideState,
    /// The logical medium on it.
    pub lmid: Option<Uuid>,
    /// Allocations.
    pub allocate_count: u32,
    /// Mounts.
    pub mount_count: u32,
    /// OMID label type: `REEL-MAM`, `BARCODE`, or `null` before reel labelled it (an
    /// addition to cli.md's MEDIUM).
    #[serde(default)]
    pub omid: Option<String>,
}

/// cli.md's `location`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationInfo {
    /// The library's changer serial; `null` when offline.
    pub library: Option<String>,
    /// Element kind.
    #[serde(rename = "type")]
    pub kind: LocationKind,
    /// Element address.
    pub address: Option<u16>,
}

/// cli.md's MEDIUM document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediumInfo {
    /// Physical medium id.
    pub id: Uuid,
    /// Bar code.
    pub barcode: Option<String>,
    /// Media type name.
    pub media_type: MediaType,
    /// Full name of its pool.
    pub pool: String,
    /// Kind of its pool.
    pub pool_type: PoolKind,
    /// State.
    pub state: MediaState,
    /// Location.
    pub location: LocationInfo,
    /// Home slot.
    pub home: Option<u16>,
    /// Sides.
    pub sides: Vec<SideInfo>,
}

/// What AllocateNtmsMedia returns (cli.md `allocated`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The new logical medium.
    pub lmid: Uuid,
    /// The physical medium.
    pub medium: Uuid,
    /// Its bar code.
    pub barcode: Option<String>,
    /// The side allocated.
    pub side: Uuid,
    /// Full name of the pool it came from (`AllocatedFrom`).
    pub from_pool: String,
}

/// `NtmsAllocateOptions` NEW: a side no other application shares.
pub const NTMS_ALLOCATE_NEW: u32 = 0x1;
/// `NtmsAllocateOptions` NEXT: the next side of the medium an LMID holds.
pub const NTMS_ALLOCATE_NEXT: u32 = 0x2;
/// `NtmsAllocateOptions` ERROR_IF_UNAVAILABLE: never raise an operator request.
pub const NTMS_ALLOCATE_ERROR_IF_UNAVAILABLE: u32 = 0x4;
/// `NtmsMediaPoolPolicy` PURGEOFFLINESCRATCH: drop Free media that leave the library.
pub const NTMS_POOLPOLICY_PURGEOFFLINESCRATCH: u32 = 0x1;
/// `NtmsMediaPoolPolicy` KEEPOFFLINEIMPORT: keep Import media that leave the library.
pub const NTMS_POOLPOLICY_KEEPOFFLINEIMPORT: u32 = 0x2;

/// Whether a bar code names a cleaning cartridge (the `CLN` prefix libraries use).
pub fn is_cleaner_barcode(barcode: &str) -> bool {
    barcode
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("CLN"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_round_trip_appendix_a2() {
        let media = [
            (MediaState::Idle, 0, "idle"),
            (MediaState::InUse, 1, "in_use"),
            (MediaState::Mounted, 2, "mounted"),
            (MediaState::Loaded, 3, "loaded"),
            (MediaState::Unloaded, 4, "unloaded"),
            (MediaState::OpError, 5, "operror"),
            (MediaState::OpReq, 6, "opreq"),
        ];
        for (s, n, json) in media {
            assert_eq!((s.code(), MediaState::from_code(n)), (n, Some(s)));
            assert_eq!(serde_json::to_value(s).unwrap(), json);
        }
        let sides = [
            (SideState::Unknown, 0, "unknown"),
            (SideState::Unprepared, 1, "unprepared"),
            (SideState::Incompatible, 2, "incompatible"),
            (SideState::Decommissioned, 3, "decommissioned"),
            (SideState::Available, 4, "available"),
            (SideState::Allocated, 5, "allocated"),
            (SideState::Complete, 6, "complete"),
            (SideState::Foreign, 7, "foreign"),
            (SideState::Import, 8, "import"),
            (SideState::Reserved, 9, "reserved"),
        ];
        for (s, n, json) in sides {
            assert_eq!((s.code(), SideState::from_code(n)), (n, Some(s)));
            assert_eq!(serde_json::to_value(s).unwrap(), json);
        }
        assert_eq!(MediaState::from_code(7), None);
        assert_eq!(SideState::from_code(10), None);
        for (k, n, json) in [
            (LocationKind::Offline, 0, "offline"),
            (LocationKind::Slot, 1, "slot"),
            (LocationKind::Drive, 2, "drive"),
            (LocationKind::Ie, 3, "ie"),
            (LocationKind::Transport, 4, "transport"),
        ] {
            assert_eq!((k.code(), LocationKind::from_code(n)), (n, Some(k)));
            assert_eq!(serde_json::to_value(k).unwrap(), json);
        }
    }

    #[test]
    fn cleaner_barcodes() {
        for (b, want) in [
            ("CLN001CU", true),
            ("cln123", true),
            ("CL0001L8", false),
            ("ABC001L8", false),
            ("CL", false),
            ("", false),
        ] {
            assert_eq!(is_cleaner_barcode(b), want, "{b}");
        }
    }
}
