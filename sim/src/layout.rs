//! Layout files (shared/spec/sim-layout.md): parsing, defaults and every consistency check.
//!
//! Every error names the file, the line, the key and the reason, e.g.
//! `sim/layouts/x.toml:12: key `dvcid_whith_voltag`: unknown key in [quirks]`.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::media::{Barcode, Generation};

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
}

// ---- raw TOML shapes -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    changer: Option<Spanned<RawChanger>>,
    #[serde(default)]
    drive: Vec<Spanned<RawDrive>>,
    #[serde(default)]
    cartridge: Vec<Spanned<RawCartridge>>,
    #[serde(default)]
    cartridges: Vec<Spanned<RawRun>>,
    quirks: Option<RawQuirks>,
    timing: Option<RawTiming>,
    #[serde(default)]
    fault: Vec<Spanned<RawFault>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChanger {
    vendor: Option<Spanned<String>>,
    product: Option<Spanned<String>>,
    revision: Option<Spanned<String>>,
    serial: Option<Spanned<String>>,
    barcode_reader: Option<bool>,
    transport: Option<Spanned<RawRange>>,
    storage: Option<Spanned<RawRange>>,
    import_export: Option<Spanned<RawRange>>,
    data_transfer: Option<Spanned<RawRange>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    first: Spanned<i64>,
    count: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrive {
    vendor: Option<Spanned<String>>,
    product: Option<Spanned<String>>,
    revision: Option<Spanned<String>>,
    serial: Option<Spanned<String>>,
    generation: Option<Spanned<String>>,
    present: Option<bool>,
    clean_after_loads: Option<Spanned<i64>>,
    needs_cleaning: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCartridge {
    barcode: Option<Spanned<String>>,
    location: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    first_barcode: Option<Spanned<String>>,
    count: Option<Spanned<i64>>,
    first_location: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuirks {
    dvcid_with_voltag_rejected: Option<bool>,
    dvcid_on_non_drive_rejected: Option<bool>,
    max_allocation_length: Option<Spanned<i64>>,
    allocation_length_16bit: Option<bool>,
    ignore_element_count: Option<bool>,
    volume_tag_length: Option<Spanned<i64>>,
    not_ready_on_start_ms: Option<Spanned<i64>>,
    auto_unload: Option<bool>,
    element_status_short_by: Option<Spanned<i64>>,
    element_status_short_form: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTiming {
    move_ms: Option<Spanned<i64>>,
    load_ms: Option<Spanned<i64>>,
    inventory_ms_per_element: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    command: Option<Spanned<RawCommand>>,
    after: Option<Spanned<i64>>,
    times: Option<Spanned<i64>>,
    sense: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCommand {
    Opcode(i64),
    Name(String),
}

// ---- parsing ---------------------------------------------------------------------------------

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn err(&self, offset: usize, key: &str, reason: impl Into<String>) -> LayoutError {
        LayoutError::Key {
            file: self.file.to_owned(),
            line: self.line(offset),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    /// The table header (`[quirks]`, `[[drive]]`) above `line`, or `the top level`.
    fn section(&self, line: usize) -> String {
        self.text
            .lines()
            .take(line)
            .filter_map(|l| {
                let t = l.trim();
                t.starts_with('[').then(|| {
                    let end = t.rfind(']').map_or(t.len(), |e| e + 1);
                    t[..end].to_owned()
                })
            })
            .last()
            .unwrap_or_else(|| "the top level".to_owned())
    }

    fn toml_error(&self, e: &toml::de::Error) -> LayoutError {
        let offset = e.span().map_or(0, |s| s.start);
        let line = self.line(offset);
        let msg = e.message().trim();
        let section = self.section(line);
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            if let Some((key, tail)) = rest.split_once('`') {
                let expected = tail
                    .trim_start_matches(", ")
                    .replace("expected one of", "known keys:")
                    .replace("expected", "known key:");
                return LayoutError::Key {
                    file: self.file.to_owned(),
                    line,
                    key: key.to_owned(),
                    reason: format!("unknown key in {section} ({expected})"),
                };
            }
        }
        if let Some(rest) = msg.strip_prefix("missing field `") {
            if let Some((key, _)) = rest.split_once('`') {
                return LayoutError::Key {
                    file: self.file.to_owned(),
                    line,
                    key: key.to_owned(),
                    reason: format!("required key missing in {section}"),
                };
            }
        }
        // A value of the wrong type: name the key written on that line.
        let line_text = self.text.lines().nth(line - 1).unwrap_or("");
        if let Some((key, _)) = line_text.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && !key.starts_with('[') {
                return LayoutError::Key {
                    file: self.file.to_owned(),
                    line,
                    key: key.to_owned(),
                    reason: format!("{msg} (in {section})"),
                };
            }
        }
        LayoutError::Syntax {
            file: self.file.to_owned(),
            line,
            reason: msg.to_owned(),
        }
    }

    fn ascii(
        &self,
        v: &Option<Spanned<String>>,
        key: &str,
        max: usize,
        default: &str,
    ) -> Result<String, LayoutError> {
        let Some(v) = v else {
            return Ok(default.to_owned());
        };
        let s = v.get_ref();
        if s.is_empty() || s.len() > max || !s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            return Err(self.err(
                v.span().start,
                key,
                format!("{s:?} must be 1 to {max} printable ASCII characters"),
            ));
        }
        Ok(s.clone())
    }

    fn int(
        &self,
        v: &Option<Spanned<i64>>,
        key: &str,
        min: i64,
        max: i64,
        default: i64,
    ) -> Result<i64, LayoutError> {
        let Some(v) = v else {
            return Ok(default);
        };
        let n = *v.get_ref();
        if n < min || n > max {
            return Err(self.err(
                v.span().start,
                key,
                format!("{n} is out of range ({min}..={max})"),
            ));
        }
        Ok(n)
    }
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
        let cx = Ctx { file, text };
        let raw: RawLayout = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;

        let Some(ch) = raw.changer else {
            return Err(cx.err(0, "changer", "required table [changer] is missing"));
        };
        let ch_span = ch.span().start;
        let ch = ch.into_inner();
        let serial = match &ch.serial {
            Some(_) => cx.ascii(&ch.serial, "serial", 32, "")?,
            None => return Err(cx.err(ch_span, "serial", "required key missing in [changer]")),
        };
        let range = |r: &Option<Spanned<RawRange>>,
                     key: &str,
                     default: ElementRange,
                     min_count: i64|
         -> Result<(ElementRange, usize), LayoutError> {
            let Some(r) = r else {
                if default.count == 0 && min_count > 0 {
                    return Err(cx.err(ch_span, key, "required key missing in [changer]"));
                }
                return Ok((default, ch_span));
            };
            let first = cx.int(&Some(r.get_ref().first.clone()), key, 0, 0xFFFF, 0)?;
            let count = cx.int(&Some(r.get_ref().count.clone()), key, min_count, 0xFFFF, 0)?;
            if first + count - 1 > 0xFFFF {
                return Err(cx.err(
                    r.span().start,
                    key,
                    format!(
                        "first {first} + count {count} runs past the last element address 65535"
                    ),
                ));
            }
            Ok((
                ElementRange {
                    first: first as u16,
                    count: count as u16,
                },
                r.span().start,
            ))
        };
        let (transport, t_at) = range(
            &ch.transport,
            "transport",
            ElementRange { first: 1, count: 1 },
            1,
        )?;
        let (storage, s_at) = range(
            &ch.storage,
            "storage",
            ElementRange { first: 0, count: 0 },
            1,
        )?;
        let (import_export, i_at) = range(
            &ch.import_export,
            "import_export",
            ElementRange { first: 0, count: 0 },
            0,
        )?;
        let (data_transfer, d_at) = range(
            &ch.data_transfer,
            "data_transfer",
            ElementRange { first: 0, count: 0 },
            0,
        )?;
        let ranges = [
            ("transport", transport, t_at),
            ("storage", storage, s_at),
            ("import_export", import_export, i_at),
            ("data_transfer", data_transfer, d_at),
        ];
        for (i, (ka, ra, _)) in ranges.iter().enumerate() {
            for (kb, rb, at) in &ranges[i + 1..] {
                let (Some(la), Some(lb)) = (ra.last(), rb.last()) else {
                    continue;
                };
                if ra.first <= lb && rb.first <= la {
                    return Err(cx.err(
                        *at,
                        kb,
                        format!(
                            "addresses {}..={} overlap `{ka}` ({}..={})",
                            rb.first, lb, ra.first, la
                        ),
                    ));
                }
            }
        }
        let changer = ChangerConfig {
            vendor: cx.ascii(&ch.vendor, "vendor", 8, "REELSIM")?,
            product: cx.ascii(&ch.product, "product", 16, "VIRTUAL LIBRARY")?,
            revision: cx.ascii(&ch.revision, "revision", 4, "0001")?,
            serial,
            barcode_reader: ch.barcode_reader.unwrap_or(true),
            transport,
            storage,
            import_export,
            data_transfer,
        };

        // Drives.
        if raw.drive.len() != usize::from(data_transfer.count) {
            let at = raw
                .drive
                .get(usize::from(data_transfer.count))
                .map_or(d_at, |d| d.span().start);
            return Err(cx.err(
                at,
                "data_transfer",
                format!(
                    "count {} but the layout has {} [[drive]] table(s); they must match",
                    data_transfer.count,
                    raw.drive.len()
                ),
            ));
        }
        let mut drives = Vec::with_capacity(raw.drive.len());
        let mut serials: HashMap<String, usize> = HashMap::new();
        serials.insert(
            changer.serial.clone(),
            ch.serial.as_ref().map_or(ch_span, |s| s.span().start),
        );
        for d in &raw.drive {
            let at = d.span().start;
            let d = d.get_ref();
            let Some(g) = &d.generation else {
                return Err(cx.err(
                    at,
                    "generation",
                    "required key missing in [[drive]] (LTO-5 .. LTO-9)",
                ));
            };
            let generation = Generation::parse(g.get_ref()).ok_or_else(|| {
                cx.err(
                    g.span().start,
                    "generation",
                    format!(
                        "{:?} is not a drive generation; write LTO-5 .. LTO-9",
                        g.get_ref()
                    ),
                )
            })?;
            let Some(s) = &d.serial else {
                return Err(cx.err(at, "serial", "required key missing in [[drive]]"));
            };
            let serial = cx.ascii(&d.serial, "serial", 32, "")?;
            if serial.contains(' ') {
                return Err(cx.err(
                    s.span().start,
                    "serial",
                    format!("{serial:?} must not contain spaces"),
                ));
            }
            if let Some(prev) = serials.insert(serial.clone(), s.span().start) {
                return Err(cx.err(
                    s.span().start,
                    "serial",
                    format!(
                        "{serial:?} is already used on line {}; serials must be unique",
                        cx.line(prev)
                    ),
                ));
            }
            let product_default = format!("ULT3580-HH{}", generation.0);
            drives.push(DriveConfig {
                vendor: cx.ascii(&d.vendor, "vendor", 8, "IBM")?,
                product: cx.ascii(&d.product, "product", 16, &product_default)?,
                revision: cx.ascii(&d.revision, "revision", 4, "SIM1")?,
                serial,
                generation,
                present: d.present.unwrap_or(true),
                clean_after_loads: cx.int(
                    &d.clean_after_loads,
                    "clean_after_loads",
                    0,
                    u32::MAX.into(),
                    0,
                )? as u32,
                needs_cleaning: d.needs_cleaning.unwrap_or(false),
            });
        }

        // Cartridges.
        let mut cartridges: Vec<CartridgeConfig> = Vec::new();
        let mut by_barcode: HashMap<Barcode, usize, BuildHasherDefault<Fnv>> =
            HashMap::with_capacity_and_hasher(1024, BuildHasherDefault::default());
        // The span of the cartridge in each element (usize::MAX: empty), by element index.
        let base = {
            let c = |k| usize::from(changer.range(k).count);
            [
                0,
                c(ElementKind::Transport),
                c(ElementKind::Transport) + c(ElementKind::Storage),
                c(ElementKind::Transport) + c(ElementKind::Storage) + c(ElementKind::ImportExport),
            ]
        };
        let total = base[3] + usize::from(changer.data_transfer.count);
        let mut by_place: Vec<usize> = vec![usize::MAX; total];
        let element_index = |loc: Location| {
            base[loc.kind as usize - 1] + usize::from(loc.address - changer.range(loc.kind).first)
        };
        let check_location = |loc: Location, at: usize, key: &str| -> Result<(), LayoutError> {
            let r = changer.range(loc.kind);
            if !r.contains(loc.address) {
                let what = match r.last() {
                    Some(l) => format!("{}..={}", r.first, l),
                    None => "none".to_owned(),
                };
                return Err(cx.err(
                    at,
                    key,
                    format!(
                        "{loc} is outside the {} elements ({what})",
                        loc.kind.prefix()
                    ),
                ));
            }
            if loc.kind == ElementKind::Transport {
                return Err(cx.err(
                    at,
                    key,
                    format!("{loc}: a cartridge cannot start in the robot"),
                ));
            }
            if loc.kind == ElementKind::DataTransfer {
                let i = usize::from(loc.address - r.first);
                if !drives[i].present {
                    return Err(cx.err(
                        at,
                        key,
                        format!("{loc} is an empty drive bay (present = false)"),
                    ));
                }
            }
            Ok(())
        };
        let mut place = |bc: Barcode,
                         loc: Location,
                         bc_at: usize,
                         loc_at: usize,
                         bc_key: &str,
                         loc_key: &str,
                         cartridges: &mut Vec<CartridgeConfig>|
         -> Result<(), LayoutError> {
            if let Some(prev) = by_barcode.insert(bc, bc_at) {
                return Err(cx.err(
                    bc_at,
                    bc_key,
                    format!("duplicate barcode {bc} (also on line {})", cx.line(prev)),
                ));
            }
            let slot = &mut by_place[element_index(loc)];
            let prev = std::mem::replace(slot, loc_at);
            if prev != usize::MAX {
                return Err(cx.err(
                    loc_at,
                    loc_key,
                    format!(
                        "two cartridges in {loc} (the other on line {})",
                        cx.line(prev)
                    ),
                ));
            }
            cartridges.push(CartridgeConfig {
                barcode: bc,
                location: loc,
            });
            Ok(())
        };
        for c in &raw.cartridge {
            let at = c.span().start;
            let c = c.get_ref();
            let Some(b) = &c.barcode else {
                return Err(cx.err(at, "barcode", "required key missing in [[cartridge]]"));
            };
            let Some(l) = &c.location else {
                return Err(cx.err(at, "location", "required key missing in [[cartridge]]"));
            };
            let bc = Barcode::new(b.get_ref())
                .map_err(|e| cx.err(b.span().start, "barcode", e.to_string()))?;
            let loc =
                Location::parse(l.get_ref()).map_err(|e| cx.err(l.span().start, "location", e))?;
            check_location(loc, l.span().start, "location")?;
            place(
                bc,
                loc,
                b.span().start,
                l.span().start,
                "barcode",
                "location",
                &mut cartridges,
            )?;
        }
        for r in &raw.cartridges {
            let at = r.span().start;
            let r = r.get_ref();
            let Some(b) = &r.first_barcode else {
                return Err(cx.err(
                    at,
                    "first_barcode",
                    "required key missing in [[cartridges]]",
                ));
            };
            let Some(l) = &r.first_location else {
                return Err(cx.err(
                    at,
                    "first_location",
                    "required key missing in [[cartridges]]",
                ));
            };
            let Some(n) = &r.count else {
                return Err(cx.err(at, "count", "required key missing in [[cartridges]]"));
            };
            let count = cx.int(&Some(n.clone()), "count", 1, 0xFFFF, 1)? as u16;
            let first = Barcode::new(b.get_ref())
                .map_err(|e| cx.err(b.span().start, "first_barcode", e.to_string()))?;
            if first.nth_in_run(u64::from(count) - 1).is_none() {
                return Err(cx.err(
                    b.span().start,
                    "first_barcode",
                    format!("a run of {count} from {first} does not fit in the digits before the two-character suffix"),
                ));
            }
            let loc = Location::parse(l.get_ref())
                .map_err(|e| cx.err(l.span().start, "first_location", e))?;
            check_location(loc, l.span().start, "first_location")?;
            let range = changer.range(loc.kind);
            let last = u32::from(loc.address) + u32::from(count) - 1;
            if !range.contains(u16::try_from(last).unwrap_or(u16::MAX)) || last > 0xFFFF {
                return Err(cx.err(
                    n.span().start,
                    "count",
                    format!(
                        "a run of {count} from {loc} does not fit: the {} elements end at {}",
                        loc.kind.prefix(),
                        range.last().unwrap_or(range.first)
                    ),
                ));
            }
            let mut bc = first;
            for i in 0..count {
                if i > 0 {
                    bc = bc.next_in_run().unwrap_or(bc);
                }
                let loc = Location {
                    kind: loc.kind,
                    address: loc.address + i,
                };
                if loc.kind == ElementKind::DataTransfer {
                    check_location(loc, l.span().start, "first_location")?;
                }
                place(
                    bc,
                    loc,
                    b.span().start,
                    l.span().start,
                    "first_barcode",
                    "first_location",
                    &mut cartridges,
                )?;
            }
        }

        // Quirks and timing.
        let mut quirks = Quirks::default();
        if let Some(q) = &raw.quirks {
            quirks.dvcid_with_voltag_rejected = q.dvcid_with_voltag_rejected.unwrap_or(false);
            quirks.dvcid_on_non_drive_rejected = q.dvcid_on_non_drive_rejected.unwrap_or(false);
            quirks.max_allocation_length = cx.int(
                &q.max_allocation_length,
                "max_allocation_length",
                1,
                0xFF_FFFF,
                0xFF_FFFF,
            )? as u32;
            quirks.allocation_length_16bit = q.allocation_length_16bit.unwrap_or(false);
            quirks.ignore_element_count = q.ignore_element_count.unwrap_or(false);
            quirks.volume_tag_length =
                cx.int(&q.volume_tag_length, "volume_tag_length", 32, 36, 36)? as u8;
            if let Some(v) = &q.volume_tag_length {
                if *v.get_ref() != 32 && *v.get_ref() != 36 {
                    return Err(cx.err(
                        v.span().start,
                        "volume_tag_length",
                        format!("{} must be 36 or 32", v.get_ref()),
                    ));
                }
            }
            quirks.not_ready_on_start_ms = cx.int(
                &q.not_ready_on_start_ms,
                "not_ready_on_start_ms",
                0,
                i64::MAX,
                0,
            )? as u64;
            quirks.auto_unload = q.auto_unload.unwrap_or(false);
            quirks.element_status_short_by = cx.int(
                &q.element_status_short_by,
                "element_status_short_by",
                0,
                1024,
                0,
            )? as u16;
            if let Some(f) = &q.element_status_short_form {
                quirks.element_status_short_form = match f.get_ref().as_str() {
                    "zeros" => ShortForm::Zeros,
                    "residual" => ShortForm::Residual,
                    other => {
                        return Err(cx.err(
                            f.span().start,
                            "element_status_short_form",
                            format!("{other:?} must be \"zeros\" or \"residual\""),
                        ))
                    }
                };
            }
        }
        let mut timing = Timing::default();
        if let Some(t) = &raw.timing {
            const MAX_MS: i64 = 3_600_000;
            timing.move_ms = cx.int(&t.move_ms, "move_ms", 0, MAX_MS, 0)? as u64;
            timing.load_ms = cx.int(&t.load_ms, "load_ms", 0, MAX_MS, 0)? as u64;
            timing.inventory_ms_per_element = cx.int(
                &t.inventory_ms_per_element,
                "inventory_ms_per_element",
                0,
                MAX_MS,
                0,
            )? as u64;
        }

        // Faults.
        let mut faults = Vec::new();
        for f in &raw.fault {
            let at = f.span().start;
            let f = f.get_ref();
            let Some(c) = &f.command else {
                return Err(cx.err(at, "command", "required key missing in [[fault]]"));
            };
            let command = match c.get_ref() {
                RawCommand::Opcode(o) => match u8::try_from(*o) {
                    Ok(o) => FaultCommand::Opcode(o),
                    Err(_) => return Err(cx.err(c.span().start, "command", format!("opcode {o} is not a byte"))),
                },
                RawCommand::Name(n) => command_by_name(n).ok_or_else(|| {
                    cx.err(
                        c.span().start,
                        "command",
                        format!("{n:?} is not a command of scsi-reference §4 (e.g. \"MOVE MEDIUM\", \"READ ELEMENT STATUS\", or an opcode like 0xA5)"),
                    )
                })?,
            };
            let Some(s) = &f.sense else {
                return Err(cx.err(
                    at,
                    "sense",
                    "required key missing in [[fault]] (e.g. \"4/15/01\")",
                ));
            };
            let sense = parse_sense(s.get_ref()).ok_or_else(|| {
                cx.err(
                    s.span().start,
                    "sense",
                    format!(
                        "{:?} is not KEY/ASC/ASCQ in hex (e.g. \"4/15/01\")",
                        s.get_ref()
                    ),
                )
            })?;
            faults.push(Fault {
                command,
                after: cx.int(&f.after, "after", 0, u32::MAX.into(), 0)? as u32,
                times: cx.int(&f.times, "times", 1, u32::MAX.into(), 1)? as u32,
                sense,
            });
        }

        Ok(Layout {
            file: file.to_owned(),
            changer,
            drives,
            cartridges,
            quirks,
            timing,
            faults,
        })
    }
}

fn parse_sense(s: &str) -> Option<(u8, u8, u8)> {
    let mut it = s.split('/');
    let k = u8::from_str_radix(it.next()?.trim(), 16).ok()?;
    let a = u8::from_str_radix(it.next()?.trim(), 16).ok()?;
    let q = u8::from_str_radix(it.next()?.trim(), 16).ok()?;
    (it.next().is_none() && k <= 0xF).then_some((k, a, q))
}

/// The §4 command names a `[[fault]]` may use (case and spacing insensitive), or an opcode
/// written as a string (`"0xA5"`).
fn command_by_name(name: &str) -> Option<FaultCommand> {
    let n: String = name
        .to_ascii_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if let Some(h) = n.strip_prefix("0X") {
        return u8::from_str_radix(h, 16).ok().map(FaultCommand::Opcode);
    }
    use FaultCommand::{ChangerOpcode, DriveOpcode, Opcode};
    Some(match n.as_str() {
        "TESTUNITREADY" => Opcode(0x00),
        "REWIND" => Opcode(0x01),
        "REQUESTSENSE" => Opcode(0x03),
        "READBLOCKLIMITS" => Opcode(0x05),
        "INITIALIZEELEMENTSTATUS" => Opcode(0x07),
        "INQUIRY" => Opcode(0x12),
        "MODESENSE6" => Opcode(0x1A),
        "OPENCLOSEIMPORTEXPORTELEMENT" | "OPENCLOSEIMPORTEXPORT" => ChangerOpcode(0x1B),
        "LOADUNLOAD" => DriveOpcode(0x1B),
        "PREVENTALLOWMEDIUMREMOVAL" => Opcode(0x1E),
        "POSITIONTOELEMENT" => Opcode(0x2B),
        "READPOSITION" => Opcode(0x34),
        "INITIALIZEELEMENTSTATUSWITHRANGE" => Opcode(0x37),
        "REPORTDENSITYSUPPORT" => Opcode(0x44),
        "LOGSENSE" => Opcode(0x4D),
        "MODESENSE10" => Opcode(0x5A),
        "READATTRIBUTE" | "READATTRIBUTEMAM" => Opcode(0x8C),
        "WRITEATTRIBUTE" | "WRITEATTRIBUTEMAM" => Opcode(0x8D),
        "MOVEMEDIUM" => Opcode(0xA5),
        "EXCHANGEMEDIUM" => Opcode(0xA6),
        "READELEMENTSTATUS" => Opcode(0xB8),
        _ => return None,
    })
}

/// FNV-1a, for the duplicate-barcode check of large layouts (keys are not attacker-chosen).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}
