//! Layout files (shared/spec/sim-layout.md): parsing, defaults and every consistency check.
//!
//! Every error names the file, the line, the key and the reason, e.g.
//! `sim/layouts/x.toml:12: key `dvcid_whith_voltag`: unknown key in [quirks]`.

use std::fmt;
use std::path::Path;

use crate::media::{Barcode, Generation};

mod parse;

/// A layout that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The file could not be read.
    #[error("{file}: cannot read layout: {source}")]
    Io {
        /// The layout file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key has a bad value, is unknown, is missing or contradicts another.
    #[error("{file}:{line}: key `{key}`: {reason}")]
    Key {
        /// The layout file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The key at fault.
        key: String,
        /// What is wrong and, where useful, what to write instead.
        reason: String,
    },
    /// The text is not TOML.
    #[error("{file}:{line}: {reason}")]
    Syntax {
        /// The layout file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The parser's message.
        reason: String,
    },
}

impl LayoutError {
    /// The line the error points at (0 for I/O errors).
    pub fn line(&self) -> usize {
        match self {
            LayoutError::Io { .. } => 0,
            LayoutError::Key { line, .. } | LayoutError::Syntax { line, .. } => *line,
        }
    }
}

/// The kind of an element, as SMC codes it (READ ELEMENT STATUS byte 1 bits 3..0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementKind {
    /// Medium transport (the robot), code 1.
    Transport = 1,
    /// Storage slot, code 2.
    Storage = 2,
    /// Import/export element (mailslot), code 3.
    ImportExport = 3,
    /// Data transfer element (drive), code 4.
    DataTransfer = 4,
}

impl ElementKind {
    /// All kinds in code order.
    pub const ALL: [ElementKind; 4] = [
        ElementKind::Transport,
        ElementKind::Storage,
        ElementKind::ImportExport,
        ElementKind::DataTransfer,
    ];

    /// The location prefix used in layouts and by `reel` (`slot`, `ie`, `drive`; `transport`).
    pub fn prefix(self) -> &'static str {
        match self {
            ElementKind::Transport => "transport",
            ElementKind::Storage => "slot",
            ElementKind::ImportExport => "ie",
            ElementKind::DataTransfer => "drive",
        }
    }

    /// The SMC element type code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A place a cartridge can be: element kind and address (`slot:1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// Element kind.
    pub kind: ElementKind,
    /// Element address.
    pub address: u16,
}

impl Location {
    /// Parses `slot:N`, `ie:N`, `drive:N` (N decimal or `0x` hex); `transport:N` too.
    ///
    /// # Errors
    /// A message saying what is wrong with the text.
    pub fn parse(s: &str) -> Result<Location, String> {
        let (ty, addr) = s.split_once(':').ok_or_else(|| {
            format!("{s:?} is not a location; write slot:ADDRESS, ie:ADDRESS or drive:ADDRESS")
        })?;
        let kind = match ty {
            "slot" => ElementKind::Storage,
            "ie" => ElementKind::ImportExport,
            "drive" => ElementKind::DataTransfer,
            "transport" => ElementKind::Transport,
            _ => {
                return Err(format!(
                    "unknown element type {ty:?} in {s:?}; use slot, ie or drive"
                ))
            }
        };
        let address = parse_number(addr).ok_or_else(|| {
            format!("{addr:?} is not an element address (0..=65535, decimal or 0x hex)")
        })?;
        Ok(Location { kind, address })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.prefix(), self.address)
    }
}

fn parse_number(s: &str) -> Option<u16> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u16::from_str_radix(h, 16).ok()
    } else if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// A range of element addresses of one kind (MODE SENSE page 0x1D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElementRange {
    /// First address.
    pub first: u16,
    /// Number of elements (may be 0).
    pub count: u16,
}

impl ElementRange {
    /// True when `address` is in the range.
    pub fn contains(&self, address: u16) -> bool {
        address >= self.first && u32::from(address) < u32::from(self.first) + u32::from(self.count)
    }

    /// The last address, when the range is not empty.
    pub fn last(&self) -> Option<u16> {
        (self.count > 0).then(|| self.first + (self.count - 1))
    }
}

/// The `[changer]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangerConfig {
    /// INQUIRY vendor (≤ 8).
    pub vendor: String,
    /// INQUIRY product (≤ 16).
    pub product: String,
    /// INQUIRY revision (≤ 4).
    pub revision: String,
    /// VPD 0x80 unit serial.
    pub serial: String,
    /// False: element status has no volume tags and VOLTAG is rejected.
    pub barcode_reader: bool,
    /// Transport elements.
    pub transport: ElementRange,
    /// Storage elements.
    pub storage: ElementRange,
    /// Import/export elements.
    pub import_export: ElementRange,
    /// Data transfer elements.
    pub data_transfer: ElementRange,
}

impl ChangerConfig {
    /// The range of element kind `kind`.
    pub fn range(&self, kind: ElementKind) -> ElementRange {
        match kind {
            ElementKind::Transport => self.transport,
            ElementKind::Storage => self.storage,
            ElementKind::ImportExport => self.import_export,
            ElementKind::DataTransfer => self.data_transfer,
        }
    }

    /// The kind of the element at `address`, if any.
    pub fn kind_of(&self, address: u16) -> Option<ElementKind> {
        ElementKind::ALL
            .into_iter()
            .find(|&k| self.range(k).contains(address))
    }
}

/// One `[[drive]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveConfig {
    /// INQUIRY vendor; default `IBM`.
    pub vendor: String,
    /// INQUIRY product; default `ULT3580-HH<generation>`.
    pub product: String,
    /// INQUIRY revision; default `SIM1`.
    pub revision: String,
    /// VPD 0x80 serial and the changer's DVCID for this element.
    pub serial: String,
    /// LTO generation.
    pub generation: Generation,
    /// False: an empty bay.
    pub present: bool,
    /// The drive asks for cleaning (TapeAlert 0x14) after this many loads since its last
    /// cleaning; 0 never (reel extension, default 0).
    pub clean_after_loads: u32,
    /// The drive starts needing cleaning (reel extension, default false).
    pub needs_cleaning: bool,
}

/// One cartridge's starting place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartridgeConfig {
    /// Its barcode.
    pub barcode: Barcode,
    /// Where it starts.
    pub location: Location,
    /// The write-protect tab is set: writes fail 07/27/00.
    pub write_protect: bool,
}

/// The `[media]` table: how cartridges store data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaConfig {
    /// A cartridge holds its generation's native capacity × this, in millionths (default
    /// 1000, i.e. 0.001).
    pub capacity_scale_ppm: u32,
    /// A WRITE's data reaches the disk (fsync) before its status returns.
    pub durable: bool,
}

impl Default for MediaConfig {
    fn default() -> MediaConfig {
        MediaConfig {
            capacity_scale_ppm: 1000,
            durable: false,
        }
    }
}

/// The `[quirks]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// READ ELEMENT STATUS with VOLTAG and DVCID both set → 05/24/00.
    pub dvcid_with_voltag_rejected: bool,
    /// DVCID on an element type other than 4 → 05/24/00.
    pub dvcid_on_non_drive_rejected: bool,
    /// A reply never exceeds this many bytes.
    pub max_allocation_length: u32,
    /// READ ELEMENT STATUS reads only the low 2 allocation-length bytes.
    pub allocation_length_16bit: bool,
    /// READ ELEMENT STATUS returns every element from the start address.
    pub ignore_element_count: bool,
    /// 36, or 32 for a short volume tag field.
    pub volume_tag_length: u8,
    /// 02/04/01 for this long after start.
    pub not_ready_on_start_ms: u64,
    /// MOVE MEDIUM out of a drive whose tape is loaded unloads it first (reel extension,
    /// default false: such a move fails with 05/53/02).
    pub auto_unload: bool,
    /// READ ELEMENT STATUS loses the last N bytes of its report (tgt 1.0.85: 8): the header
    /// still counts them and the transfer length includes them, but they read as zeros, as
    /// reel sees tgt's reply through a kernel that reports no residual. 0: off.
    pub element_status_short_by: u16,
    /// How the bytes lost by `element_status_short_by` reach the initiator.
    pub element_status_short_form: ShortForm,
}

/// How a READ ELEMENT STATUS report short by `element_status_short_by` bytes arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShortForm {
    /// `"zeros"`: the transfer still includes the lost bytes, as zeros (a host that reports
    /// no residual, e.g. QEMU's passthrough).
    #[default]
    Zeros,
    /// `"residual"`: the transfer ends that many bytes early and the residual says so (a host
    /// whose iSCSI initiator reports it).
    Residual,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks {
            dvcid_with_voltag_rejected: false,
            dvcid_on_non_drive_rejected: false,
            max_allocation_length: 0xFF_FFFF,
            allocation_length_16bit: false,
            ignore_element_count: false,
            volume_tag_length: 36,
            not_ready_on_start_ms: 0,
            auto_unload: false,
            element_status_short_by: 0,
            element_status_short_form: ShortForm::Zeros,
        }
    }
}

/// The `[timing]` table (milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// MOVE MEDIUM / EXCHANGE MEDIUM.
    pub move_ms: u64,
    /// Tape LOAD / UNLOAD.
    pub load_ms: u64,
    /// INITIALIZE ELEMENT STATUS, per element.
    pub inventory_ms_per_element: u64,
}

/// What a `[[fault]]` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCommand {
    /// A command by operation code, on any device.
    Opcode(u8),
    /// 0x1B to a changer only (OPEN/CLOSE IMPORT/EXPORT ELEMENT).
    ChangerOpcode(u8),
    /// 0x1B to a drive only (LOAD UNLOAD).
    DriveOpcode(u8),
}

impl FaultCommand {
    /// True when a command with `opcode` to a changer (`changer`) or drive matches.
    pub fn matches(self, opcode: u8, changer: bool) -> bool {
        match self {
            FaultCommand::Opcode(o) => o == opcode,
            FaultCommand::ChangerOpcode(o) => changer && o == opcode,
            FaultCommand::DriveOpcode(o) => !changer && o == opcode,
        }
    }
}

/// One `[[fault]]`: let `after` matching commands succeed, then fail `times` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Which commands.
    pub command: FaultCommand,
    /// Matching commands that succeed first.
    pub after: u32,
    /// Matching commands that then fail.
    pub times: u32,
    /// Sense key, ASC, ASCQ.
    pub sense: (u8, u8, u8),
}

/// A validated layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The file it came from (as given).
    pub file: String,
    /// The changer.
    pub changer: ChangerConfig,
    /// The drives, in data-transfer address order.
    pub drives: Vec<DriveConfig>,
    /// Every cartridge, runs expanded.
    pub cartridges: Vec<CartridgeConfig>,
    /// Quirks.
    pub quirks: Quirks,
    /// Timing.
    pub timing: Timing,
    /// Scripted faults, in file order.
    pub faults: Vec<Fault>,
    /// How cartridges store data.
    pub media: MediaConfig,
}

impl Layout {
    /// Reads and validates the layout file at `path`.
    ///
    /// # Errors
    /// [`LayoutError::Io`] when the file cannot be read; otherwise as [`Layout::parse`].
    pub fn from_file(path: &Path) -> Result<Layout, LayoutError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LayoutError::Io {
            file: file.clone(),
            source,
        })?;
        Layout::parse(&text, &file)
    }

    /// Parses and validates layout `text`; `file` names it in errors.
    ///
    /// # Errors
    /// [`LayoutError::Syntax`] for text that is not TOML; [`LayoutError::Key`] for an unknown
    /// key, a missing required key, a bad value, or an inconsistency (duplicate barcode, two
    /// cartridges in one place, a location outside the element ranges, drive count ≠
    /// data-transfer count, a run that does not fit, overlapping element ranges, ...).
    pub fn parse(text: &str, file: &str) -> Result<Layout, LayoutError> {
        parse::layout(text, file)
    }
}
