//! READ ELEMENT STATUS (0xB8): what each element of a changer holds (scsi-reference §5).
//!
//! CDB (12): byte 1 bit 4 VOLTAG, bits 3..0 element type; bytes 2..3 starting element address;
//! 4..5 number of elements; byte 6 bit 1 CURDATA, bit 0 DVCID; bytes 7..9 allocation length.
//!
//! The reply is an 8-byte header, then one page per element type (an 8-byte page header, then
//! descriptors of the page's descriptor length). The parser trusts only the bytes actually
//! transferred:
//! - it always steps by the page's descriptor length;
//! - a header or page byte count that claims more than arrived marks the result
//!   [`incomplete`](ElementStatus::incomplete) and a trailing partial descriptor is dropped or
//!   kept marked, as below (never an error: the driver continues from the next address);
//! - a page byte count a few bytes short of a whole descriptor that did arrive (an emulator
//!   quirk) is rounded up to that descriptor;
//! - zero bytes after the last page (a device that does not report its residual) end the
//!   report, and so do bytes after a good page that are no page header (the report is then
//!   marked incomplete when they lie inside the announced byte count);
//! - volume tag fields of 36 bytes (SMC) and 32 bytes (a quirk) are told apart by the
//!   descriptor length and the layout of what follows; a descriptor too short for a tag has
//!   none;
//! - the device identifier (DVCID) is read only when the descriptor holds it whole, except in
//!   a trailing partial descriptor whose fixed part and volume tags arrived whole (tgt sends
//!   replies 8 bytes short): that descriptor is kept with
//!   [`dvcid_truncated`](ElementDescriptor::dvcid_truncated) set and what arrived of its
//!   identifier (a prefix), and the report is still marked incomplete;
//! - a trailing partial descriptor cut inside a volume tag that is the last one its page
//!   announced (the same cut in a page without DVCID: storage, import/export, transport; one
//!   cut before others the page announced is dropped) is kept with
//!   [`tag_truncated`](ElementDescriptor::tag_truncated) set: the tag's identifier is kept when
//!   all 32 bytes of it, or non-pad characters followed by a pad byte (space or NUL), arrived
//!   (SMC: left-aligned, space-padded, no embedded spaces), with no sequence number; otherwise
//!   the tag is `None`. A partial descriptor cut inside its fixed part is dropped. A text
//!   identifier in the reply's last
//!   descriptor that ends in NUL bytes (the same cut, where the transport reports no residual
//!   and the missing bytes read as zeros) is marked truncated too, without the NULs.

use std::fmt;
use std::time::Duration;

use super::inquiry::{Association, CodeSet, Designator, DesignatorType};
use super::reader::{ascii_field, Reader};
use super::ParseError;

/// Default timeout: a changer command (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// Largest allocation length the CDB can carry (24 bits).
pub const MAX_ALLOCATION_LENGTH: u32 = 0xFF_FFFF;

/// Element type code (open newtype). Unknown values pass through.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElementType(pub u8);

impl ElementType {
    /// All element types (in a request; reel never sends it, see the changer driver).
    pub const ALL: ElementType = ElementType(0);
    /// Medium transport (robot arm).
    pub const TRANSPORT: ElementType = ElementType(1);
    /// Storage (slot).
    pub const STORAGE: ElementType = ElementType(2);
    /// Import/export (mail slot).
    pub const IMPORT_EXPORT: ElementType = ElementType(3);
    /// Data transfer (drive).
    pub const DATA_TRANSFER: ElementType = ElementType(4);

    /// The type's name, or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ElementType::ALL => "all",
            ElementType::TRANSPORT => "medium transport",
            ElementType::STORAGE => "storage",
            ElementType::IMPORT_EXPORT => "import/export",
            ElementType::DATA_TRANSFER => "data transfer",
            _ => return None,
        })
    }
}

impl fmt::Debug for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "ElementType({:#x})", self.0),
        }
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Medium type of an element descriptor (byte 9 bits 2..0; open newtype).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MediumType(pub u8);

impl MediumType {
    /// Unspecified.
    pub const UNSPECIFIED: MediumType = MediumType(0);
    /// Data medium.
    pub const DATA: MediumType = MediumType(1);
    /// Cleaning medium.
    pub const CLEANING: MediumType = MediumType(2);
    /// Diagnostic medium.
    pub const DIAGNOSTIC: MediumType = MediumType(3);
    /// WORM medium.
    pub const WORM: MediumType = MediumType(4);

    /// The name, or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            MediumType::UNSPECIFIED => "unspecified",
            MediumType::DATA => "data",
            MediumType::CLEANING => "cleaning",
            MediumType::DIAGNOSTIC => "diagnostic",
            MediumType::WORM => "WORM",
            _ => return None,
        })
    }
}

impl fmt::Debug for MediumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "MediumType({:#x})", self.0),
        }
    }
}

/// One READ ELEMENT STATUS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Element type to report.
    pub element_type: ElementType,
    /// First element address to report.
    pub start: u16,
    /// Number of elements to report.
    pub count: u16,
    /// VOLTAG: report volume tags (barcodes).
    pub voltag: bool,
    /// CURDATA: report what the changer knows without moving anything (SMC-3).
    pub curdata: bool,
    /// DVCID: report device identifiers (data transfer elements).
    pub dvcid: bool,
    /// Allocation length (clamped to 24 bits).
    pub allocation_length: u32,
}

impl Request {
    /// A request for `count` elements of `element_type` from `start`, without tags or
    /// identifiers, with allocation length 0xFFFF.
    pub fn new(element_type: ElementType, start: u16, count: u16) -> Self {
        Request {
            element_type,
            start,
            count,
            voltag: false,
            curdata: false,
            dvcid: false,
            allocation_length: 0xFFFF,
        }
    }

    /// The CDB.
    pub fn cdb(&self) -> [u8; 12] {
        let [s0, s1] = self.start.to_be_bytes();
        let [n0, n1] = self.count.to_be_bytes();
        let [_, a0, a1, a2] = self
            .allocation_length
            .min(MAX_ALLOCATION_LENGTH)
            .to_be_bytes();
        [
            0xB8,
            (u8::from(self.voltag) << 4) | (self.element_type.0 & 0x0F),
            s0,
            s1,
            n0,
            n1,
            (u8::from(self.curdata) << 1) | u8::from(self.dvcid),
            a0,
            a1,
            a2,
            0,
            0,
        ]
    }
}

/// A volume tag (barcode label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeTag {
    /// The identifier, trimmed of space/NUL padding.
    pub identifier: String,
    /// The volume sequence number (absent in a 32-byte tag field).
    pub sequence: Option<u16>,
}

/// One element descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementDescriptor {
    /// Type of the page the descriptor came in.
    pub element_type: ElementType,
    /// Element address (the real address, never a position).
    pub address: u16,
    /// FULL: the element holds a cartridge.
    pub full: bool,
    /// IMPEXP: the cartridge was put in by an operator (import/export elements).
    pub impexp: bool,
    /// EXCEPT: the element is in an abnormal state; see `asc`/`ascq`.
    pub except: bool,
    /// ACCESS: a transport can reach the element.
    pub access: bool,
    /// EXENAB: the element can export (import/export elements).
    pub export_enabled: bool,
    /// INENAB: the element can import (import/export elements).
    pub import_enabled: bool,
    /// Additional sense code of the element's state.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// ED: the element is disabled.
    pub disabled: bool,
    /// INVERT: the cartridge was turned over on its way here.
    pub invert: bool,
    /// Medium type of the cartridge, when the changer knows it.
    pub medium_type: MediumType,
    /// Where the cartridge came from (present when SVALID is set).
    pub source: Option<u16>,
    /// Primary volume tag, when reported and not blank.
    pub primary_tag: Option<VolumeTag>,
    /// The primary volume tag's 32 identifier bytes exactly as they arrived, padding included
    /// (bytes a short reply cut off read as zeros, as in a zeroed buffer); `None` when the page
    /// carries no primary tags or the descriptor has no room for one. The mtx front prints
    /// these as mtx does; everything else reads [`primary_tag`](Self::primary_tag).
    pub primary_tag_bytes: Option<[u8; 32]>,
    /// Alternate volume tag, when reported and not blank.
    pub alternate_tag: Option<VolumeTag>,
    /// Device identifier (DVCID) of a data transfer element: whole, or, when
    /// [`dvcid_truncated`](Self::dvcid_truncated), the part that arrived (a prefix of the
    /// value; `None` when not even one byte of it did).
    pub device_id: Option<Designator>,
    /// The descriptor arrived cut after its fixed part and volume tags (the last descriptor of
    /// a short reply): its device identifier, if it had one, is incomplete.
    pub dvcid_truncated: bool,
    /// The descriptor arrived cut inside a volume tag field (the last descriptor of a short
    /// reply): that tag's sequence number is unknown (`None`), and so is what follows. Its
    /// identifier is kept when the part that arrived ends in padding after it (SMC: the
    /// identifier is left-aligned and space-padded), else the tag is `None`: see
    /// [`barcode_unknown`](Self::barcode_unknown).
    pub tag_truncated: bool,
}

impl ElementDescriptor {
    /// The descriptor arrived cut (its identifier or a volume tag is incomplete).
    pub fn truncated(&self) -> bool {
        self.dvcid_truncated || self.tag_truncated
    }

    /// The element holds a cartridge whose barcode the reply cut before its end: it may have
    /// one, but it is not known.
    pub fn barcode_unknown(&self) -> bool {
        self.tag_truncated && self.full && self.primary_tag.is_none()
    }
}

/// One element status page (one element type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementPage {
    /// Element type of the page.
    pub element_type: ElementType,
    /// PVOLTAG: descriptors carry a primary volume tag field.
    pub pvoltag: bool,
    /// AVOLTAG: descriptors carry an alternate volume tag field.
    pub avoltag: bool,
    /// Length of each descriptor.
    pub descriptor_length: u16,
    /// The page's byte count as the device announced it.
    pub byte_count: u32,
    /// The descriptors: the complete ones, then a trailing partial one whose fixed part
    /// arrived whole (marked [`ElementDescriptor::truncated`]).
    pub descriptors: Vec<ElementDescriptor>,
    /// A trailing partial descriptor, cut inside its fixed part, was dropped.
    pub dropped_partial: bool,
}

/// A parsed READ ELEMENT STATUS reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementStatus {
    /// First element address reported (header).
    pub first_address: u16,
    /// Number of elements available (header).
    pub available: u16,
    /// Byte count of report available (header; all pages, excluding the header).
    pub byte_count: u32,
    /// The pages.
    pub pages: Vec<ElementPage>,
    /// The report is not whole: the device announced more than arrived, or the last
    /// descriptor arrived cut (dropped, or kept marked). Continue from the address after the
    /// last whole descriptor.
    pub incomplete: bool,
}

impl ElementStatus {
    /// Every complete descriptor, page after page.
    pub fn descriptors(&self) -> impl Iterator<Item = &ElementDescriptor> {
        self.pages.iter().flat_map(|p| p.descriptors.iter())
    }

    /// Number of complete descriptors.
    pub fn len(&self) -> usize {
        self.pages.iter().map(|p| p.descriptors.len()).sum()
    }

    /// True when no descriptor was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Consumes the status, returning every complete descriptor.
    pub fn into_descriptors(self) -> Vec<ElementDescriptor> {
        self.pages.into_iter().flat_map(|p| p.descriptors).collect()
    }
}

const HEADER: &str = "element status header";
const PAGE_HEADER: &str = "element status page header";
const DESCRIPTOR: &str = "element descriptor";

/// The fixed part of a descriptor, before tags and identifier.
const FIXED_LEN: usize = 12;

/// Parses a READ ELEMENT STATUS reply: pass only the bytes actually transferred.
///
/// # Errors
/// - [`ParseError::Truncated`] (`element status header`) when fewer than 8 bytes arrived;
/// - [`ParseError::InvalidField`] (`element status page element type`, `element descriptor
///   length`) when the first page header is not zero padding, lies within the announced byte
///   count, and names no element type or a descriptor shorter than 12 bytes. Such bytes after
///   a good page end the report instead (marked incomplete).
pub fn parse(bytes: &[u8]) -> Result<ElementStatus, ParseError> {
    let mut r = Reader::new(bytes);
    let first_address = r.u16(HEADER)?;
    let available = r.u16(HEADER)?;
    r.skip(1, HEADER)?;
    let byte_count = r.u24(HEADER)?;
    let body_start = r.position();
    let mut incomplete = byte_count as usize > r.remaining();
    let mut pages = Vec::new();
    while r.remaining() >= 8 {
        let within_count = r.position() - body_start < byte_count as usize;
        let mut peek = r.clone();
        let head = peek.take(8, PAGE_HEADER)?;
        if head.iter().all(|&b| b == 0) {
            break;
        }
        let element_type = ElementType(head[0]);
        let descriptor_length = u16::from_be_bytes([head[2], head[3]]);
        let valid_type = (1..=4).contains(&element_type.0);
        let valid_len = usize::from(descriptor_length) >= FIXED_LEN;
        if !(valid_type && valid_len) {
            if !pages.is_empty() || !within_count {
                // After a good page, bytes that are no page header are not trusted: the report
                // ends here, and inside the announced count it is incomplete (the driver
                // re-reads from the next address).
                incomplete |= within_count;
                break;
            }
            return Err(if valid_type {
                ParseError::InvalidField {
                    what: "element descriptor length",
                    value: u64::from(descriptor_length),
                }
            } else {
                ParseError::InvalidField {
                    what: "element status page element type",
                    value: u64::from(head[0]),
                }
            });
        }
        r = peek;
        let pvoltag = head[1] & 0x80 != 0;
        let avoltag = head[1] & 0x40 != 0;
        let page_count = u32::from_be_bytes([0, head[5], head[6], head[7]]);
        let dl = usize::from(descriptor_length);
        let announced = page_count as usize;
        if announced > r.remaining() {
            incomplete = true;
        }
        let mut n = announced.min(r.remaining());
        // A count a little short of a whole descriptor that did arrive: take the descriptor.
        let rounded = n.div_ceil(dl) * dl;
        if rounded <= r.remaining() {
            n = rounded;
        }
        let mut pr = r.sub(n, "element status page")?;
        let mut descriptors = Vec::with_capacity(n / dl);
        while pr.remaining() >= dl {
            let d = pr.take(dl, DESCRIPTOR)?;
            descriptors.push(parse_descriptor(d, element_type, pvoltag, avoltag)?);
        }
        let mut dropped_partial = false;
        if !pr.is_empty() {
            incomplete = true;
            // The page announces no descriptor after this one (tgt's cut, not a limit's).
            let last = announced <= (descriptors.len() + 1) * dl;
            let p = pr.take_up_to(pr.remaining());
            match parse_partial_descriptor(p, dl, last, element_type, pvoltag, avoltag) {
                Some(d) => descriptors.push(d),
                None => dropped_partial = true,
            }
        }
        pages.push(ElementPage {
            element_type,
            pvoltag,
            avoltag,
            descriptor_length,
            byte_count: page_count,
            descriptors,
            dropped_partial,
        });
    }
    if let Some(last) = pages.last_mut().and_then(|p| p.descriptors.last_mut()) {
        mark_nul_tail(last);
    }
    if r.remaining() > 0 && r.position() - body_start < byte_count as usize {
        // A page header cut short inside the announced report.
        incomplete = true;
    }
    Ok(ElementStatus {
        first_address,
        available,
        byte_count,
        pages,
        incomplete,
    })
}

/// How well `dv` reads as the identification descriptor area after the tags: `None` when it
/// cannot be one, `Some(true)` when it holds a real identifier (a code set and a value that
/// fits), `Some(false)` when it is empty or zero.
fn identifier_fit(dv: &[u8]) -> Option<bool> {
    match dv {
        [] => Some(false),
        _ if dv.iter().all(|&b| b == 0) => Some(false),
        [cs, _, 0, len, ..] if (cs & 0x0F) <= 3 && 4 + usize::from(*len) <= dv.len() => {
            Some(*len > 0 && (1..=3).contains(&(cs & 0x0F)))
        }
        _ => None,
    }
}

/// Size of each volume tag field in `rest` (the descriptor after its fixed part): 36 bytes
/// (SMC), or 32 bytes (a quirk) when what follows the tags only reads as an identifier at
/// that offset.
fn tag_field_len(rest: &[u8], tags: usize) -> usize {
    if tags == 0 {
        return 0;
    }
    let fit = |len: usize| rest.get(len * tags..).and_then(identifier_fit);
    for strong in [true, false] {
        for len in [36, 32] {
            if fit(len).is_some_and(|s| s || !strong) {
                return len;
            }
        }
    }
    if rest.len() >= 36 * tags {
        36
    } else {
        32
    }
}

fn read_tag(r: &mut Reader<'_>, field_len: usize) -> Option<VolumeTag> {
    if r.remaining() < 32 {
        // Too short for an identifier: no tag.
        r.take_up_to(r.remaining());
        return None;
    }
    let field = r.take_up_to(field_len);
    let identifier = ascii_field(&field[..32]);
    let sequence = field.get(34..36).map(|s| u16::from_be_bytes([s[0], s[1]]));
    (!identifier.is_empty()).then_some(VolumeTag {
        identifier,
        sequence,
    })
}

/// A text identifier holds graphic characters only (SPC-4 7.8.6.1): one in the reply's last
/// descriptor that ends in NUL bytes was cut there. tgt sends its reply 8 bytes short, and
/// where the transport reports no residual the missing bytes read as zeros. The NULs are
/// removed and the identifier marked truncated.
fn mark_nul_tail(d: &mut ElementDescriptor) {
    let Some(id) = d.device_id.as_mut() else {
        return;
    };
    if d.dvcid_truncated
        || !matches!(id.code_set, CodeSet::ASCII | CodeSet::UTF8)
        || id.value.last() != Some(&0)
    {
        return;
    }
    let keep = id.value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    id.value.truncate(keep);
    d.dvcid_truncated = true;
    if keep == 0 {
        d.device_id = None;
    }
}

/// Parses `p`, the first bytes of a descriptor of `dl` bytes, when its fixed part is whole:
/// cut in the identifier area, that is kept as far as it arrived; cut inside a volume tag,
/// see [`cut_in_tag`], only when it is the `last` descriptor the page announced.
fn parse_partial_descriptor(
    p: &[u8],
    dl: usize,
    last: bool,
    element_type: ElementType,
    pvoltag: bool,
    avoltag: bool,
) -> Option<ElementDescriptor> {
    let rest = p.get(FIXED_LEN..)?;
    let room = dl.checked_sub(FIXED_LEN)?;
    let tags = usize::from(pvoltag) + usize::from(avoltag);
    // A real identifier's header (a code set, a length) after tags of `len` bytes, whose value
    // fits the whole descriptor.
    let header_fits = |len: usize| {
        let at = len * tags;
        match rest.get(at..at + 4) {
            Some(&[cs, _, 0, n]) => {
                (1..=3).contains(&(cs & 0x0F)) && n > 0 && at + 4 + usize::from(n) <= room
            }
            _ => false,
        }
    };
    let field_len = if tags == 0 {
        0
    } else if let Some(len) = [36, 32].into_iter().find(|&len| header_fits(len)) {
        len
    } else if rest.len() >= 36 * tags && 36 * tags <= room {
        36
    } else if last && rest.len() < 36 * tags && room >= 32 * tags {
        // Cut inside a volume tag.
        return cut_in_tag(p, room, element_type, pvoltag, avoltag);
    } else {
        return None;
    };
    let head = p.get(..FIXED_LEN + field_len * tags)?;
    let mut d = parse_descriptor(head, element_type, pvoltag, avoltag).ok()?;
    let dv = &rest[field_len * tags..];
    d.device_id = match dv {
        [b0, b1, 0, n, value @ ..] if (1..=3).contains(&(b0 & 0x0F)) => {
            let value = &value[..value.len().min(usize::from(*n))];
            (!value.is_empty()).then(|| Designator {
                protocol: b0 >> 4,
                code_set: CodeSet(b0 & 0x0F),
                piv: b1 & 0x80 != 0,
                association: Association((b1 >> 4) & 0x03),
                designator_type: DesignatorType(b1 & 0x0F),
                value: value.to_vec(),
            })
        }
        _ => None,
    };
    d.dvcid_truncated = true;
    Some(d)
}

/// A partial descriptor `p` (fixed part whole) cut inside a volume tag field: the fixed part,
/// the tags that arrived whole, and the cut tag's identifier when it arrived whole.
fn cut_in_tag(
    p: &[u8],
    room: usize,
    element_type: ElementType,
    pvoltag: bool,
    avoltag: bool,
) -> Option<ElementDescriptor> {
    let tags = usize::from(pvoltag) + usize::from(avoltag);
    let field_len = if room >= 36 * tags { 36 } else { 32 };
    let fixed = p.get(..FIXED_LEN)?.try_into().ok()?;
    let mut d = ElementDescriptor {
        tag_truncated: true,
        ..fixed_part(fixed, element_type)
    };
    // The primary field comes first: what arrived of it, the rest as a zeroed buffer reads.
    d.primary_tag_bytes = pvoltag.then(|| tag_bytes(&p[FIXED_LEN..]));
    let mut fields = p[FIXED_LEN..].chunks(field_len);
    for (on, slot) in [
        (pvoltag, &mut d.primary_tag),
        (avoltag, &mut d.alternate_tag),
    ] {
        if !on {
            continue;
        }
        *slot = match fields.next() {
            Some(f) if f.len() == field_len => read_tag(&mut Reader::new(f), field_len),
            Some(f) => cut_identifier(f),
            None => None,
        };
    }
    Some(d)
}

/// The tag whose field arrived only as `f` (shorter than the field): its identifier when it
/// is known to be whole, i.e. all 32 bytes arrived, or what arrived is non-pad characters
/// followed by pad bytes (SMC: left-aligned, space-padded, no embedded spaces).
fn cut_identifier(f: &[u8]) -> Option<VolumeTag> {
    let is_pad = |b: &u8| *b == b' ' || *b == 0;
    let id = &f[..f.len().min(32)];
    let whole = id.len() == 32 || id.last().is_some_and(is_pad);
    let identifier = ascii_field(id);
    (whole && !identifier.is_empty()).then_some(VolumeTag {
        identifier,
        sequence: None,
    })
}

/// A descriptor of its fixed part alone, without tags or identifier.
fn fixed_part(fixed: [u8; FIXED_LEN], element_type: ElementType) -> ElementDescriptor {
    let [a0, a1, flags, _, asc, ascq, _, _, _, b9, s0, s1] = fixed;
    ElementDescriptor {
        element_type,
        address: u16::from_be_bytes([a0, a1]),
        full: flags & 0x01 != 0,
        impexp: flags & 0x02 != 0,
        except: flags & 0x04 != 0,
        access: flags & 0x08 != 0,
        export_enabled: flags & 0x10 != 0,
        import_enabled: flags & 0x20 != 0,
        asc,
        ascq,
        disabled: b9 & 0x08 != 0,
        invert: b9 & 0x40 != 0,
        medium_type: MediumType(b9 & 0x07),
        source: (b9 & 0x80 != 0).then_some(u16::from_be_bytes([s0, s1])),
        primary_tag: None,
        primary_tag_bytes: None,
        alternate_tag: None,
        device_id: None,
        dvcid_truncated: false,
        tag_truncated: false,
    }
}

/// The first 32 bytes of a tag field that arrived as `field` (maybe cut short), zero-filled.
fn tag_bytes(field: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let n = field.len().min(32);
    out[..n].copy_from_slice(&field[..n]);
    out
}

fn parse_descriptor(
    d: &[u8],
    element_type: ElementType,
    pvoltag: bool,
    avoltag: bool,
) -> Result<ElementDescriptor, ParseError> {
    let mut r = Reader::new(d);
    let mut fixed = [0u8; FIXED_LEN];
    fixed.copy_from_slice(r.take(FIXED_LEN, DESCRIPTOR)?);
    let mut out = fixed_part(fixed, element_type);
    let rest = &d[r.position()..];
    let tags = usize::from(pvoltag) + usize::from(avoltag);
    let field_len = tag_field_len(rest, tags);
    if pvoltag {
        out.primary_tag_bytes = (rest.len() >= 32).then(|| tag_bytes(rest));
        out.primary_tag = read_tag(&mut r, field_len);
    }
    if avoltag {
        out.alternate_tag = read_tag(&mut r, field_len);
    }
    if r.remaining() >= 4 {
        out.device_id = Designator::read(&mut r.clone())
            .ok()
            .filter(|id| !id.value.is_empty());
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A small builder for hand-made replies, shared with the changer driver's tests.

    use super::*;

    /// One descriptor to build.
    #[derive(Debug, Clone, Default)]
    pub struct D {
        pub address: u16,
        pub flags: u8,
        pub asc: u8,
        pub ascq: u8,
        pub b9: u8,
        pub source: u16,
        pub primary: Option<String>,
        pub alternate: Option<String>,
        /// (code set, designator type, value)
        pub dvcid: Option<(u8, u8, Vec<u8>)>,
    }

    impl D {
        /// An element at `address`.
        pub fn at(address: u16) -> Self {
            D {
                address,
                flags: 0x08,
                ..D::default()
            }
        }

        /// Full, with the given primary tag.
        pub fn full(address: u16, tag: &str) -> Self {
            D {
                flags: 0x09,
                primary: Some(tag.to_owned()),
                ..D::at(address)
            }
        }

        /// With a device identifier.
        pub fn dvcid(self, code_set: u8, designator_type: u8, value: &[u8]) -> Self {
            D {
                dvcid: Some((code_set, designator_type, value.to_vec())),
                ..self
            }
        }

        /// Encodes the descriptor with tag fields of `tag_len` bytes, padded to `len`.
        pub fn bytes(&self, len: usize, pvoltag: bool, avoltag: bool, tag_len: usize) -> Vec<u8> {
            let mut v = self.address.to_be_bytes().to_vec();
            v.extend([self.flags, 0, self.asc, self.ascq, 0, 0, 0, self.b9]);
            v.extend(self.source.to_be_bytes());
            for (on, tag) in [(pvoltag, &self.primary), (avoltag, &self.alternate)] {
                if on {
                    let mut t = tag.as_deref().unwrap_or("").as_bytes().to_vec();
                    t.resize(32, b' ');
                    if tag_len == 36 {
                        t.extend([0, 0, 0, 1]);
                    }
                    v.extend(t);
                }
            }
            if let Some((cs, ty, value)) = &self.dvcid {
                v.extend([*cs, *ty, 0, value.len() as u8]);
                v.extend_from_slice(value);
            }
            if v.len() > len {
                // Only a tag field may be cut (a descriptor too short for its tag).
                assert!(len < FIXED_LEN + tag_len, "descriptor {} > {len}", v.len());
                v.truncate(len);
            }
            v.resize(len, 0);
            v
        }
    }

    /// Builds a page of `ty` with descriptors of `len` bytes.
    pub fn page(ty: ElementType, pvoltag: bool, avoltag: bool, len: usize, ds: &[D]) -> Vec<u8> {
        page_with(ty, pvoltag, avoltag, len, 36, ds)
    }

    /// [`page`] with a chosen tag field length.
    pub fn page_with(
        ty: ElementType,
        pvoltag: bool,
        avoltag: bool,
        len: usize,
        tag_len: usize,
        ds: &[D],
    ) -> Vec<u8> {
        let body: Vec<u8> = ds
            .iter()
            .flat_map(|d| d.bytes(len, pvoltag, avoltag, tag_len))
            .collect();
        let flags = (u8::from(pvoltag) << 7) | (u8::from(avoltag) << 6);
        let [_, c0, c1, c2] = (body.len() as u32).to_be_bytes();
        let [l0, l1] = (len as u16).to_be_bytes();
        let mut v = vec![ty.0, flags, l0, l1, 0, c0, c1, c2];
        v.extend(body);
        v
    }

    /// Builds a whole reply: header (announcing exactly the pages) + pages.
    pub fn report(first: u16, available: u16, pages: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = pages.concat();
        let [_, c0, c1, c2] = (body.len() as u32).to_be_bytes();
        let [f0, f1] = first.to_be_bytes();
        let [a0, a1] = available.to_be_bytes();
        let mut v = vec![f0, f1, a0, a1, 0, c0, c1, c2];
        v.extend(body);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::scsi::inquiry::{CodeSet, DesignatorType};

    const DT: ElementType = ElementType::DATA_TRANSFER;
    const ST: ElementType = ElementType::STORAGE;

    #[test]
    fn cdbs_are_byte_exact() {
        let req = |t, s, n| Request::new(t, s, n);
        let cases: &[(Request, [u8; 12])] = &[
            (
                req(ST, 0x1000, 50),
                [
                    0xB8, 0x02, 0x10, 0x00, 0x00, 0x32, 0x00, 0x00, 0xFF, 0xFF, 0, 0,
                ],
            ),
            (
                Request {
                    voltag: true,
                    allocation_length: 0x0001_2345,
                    ..req(ST, 0x1000, 0xFFFF)
                },
                [
                    0xB8, 0x12, 0x10, 0x00, 0xFF, 0xFF, 0x00, 0x01, 0x23, 0x45, 0, 0,
                ],
            ),
            (
                Request {
                    voltag: true,
                    dvcid: true,
                    curdata: true,
                    ..req(DT, 0x0100, 4)
                },
                [
                    0xB8, 0x14, 0x01, 0x00, 0x00, 0x04, 0x03, 0x00, 0xFF, 0xFF, 0, 0,
                ],
            ),
            (
                Request {
                    dvcid: true,
                    allocation_length: 0x0200_0000,
                    ..req(DT, 0, 1)
                },
                [0xB8, 0x04, 0, 0, 0, 1, 0x01, 0xFF, 0xFF, 0xFF, 0, 0],
            ),
            (
                req(ElementType::TRANSPORT, 0, 1),
                [0xB8, 0x01, 0, 0, 0, 1, 0, 0x00, 0xFF, 0xFF, 0, 0],
            ),
        ];
        for (r, want) in cases {
            assert_eq!(&r.cdb(), want, "{r:?}");
        }
    }

    #[test]
    fn literal_storage_reply_with_tags() {
        // Two storage elements, 52-byte descriptors (12 + 36 + 4 empty DVCID header), PVOLTAG.
        let mut bytes = vec![
            0x10, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x70, // header: 8 + 2*52 = 112
            0x02, 0x80, 0x00, 0x34, 0x00, 0x00, 0x00, 0x68, // page: storage, PVOLTAG, 52, 104
        ];
        // 0x1000: full, data medium, came from 0x0100, tag ABC001L8 seq 1.
        bytes.extend([0x10, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0x81, 0x01, 0x00]);
        let mut tag = b"ABC001L8".to_vec();
        tag.resize(32, b' ');
        bytes.extend(&tag);
        bytes.extend([0, 0, 0, 1, 0, 0, 0, 0]);
        // 0x1001: empty, exception 83/00, disabled.
        bytes.extend([0x10, 0x01, 0x04, 0, 0x83, 0x00, 0, 0, 0, 0x08, 0, 0]);
        bytes.extend([b' '; 32]);
        bytes.extend([0; 8]);
        let s = parse(&bytes).unwrap();
        assert!(!s.incomplete);
        assert_eq!(
            (s.first_address, s.available, s.byte_count),
            (0x1000, 2, 112)
        );
        let d: Vec<_> = s.descriptors().collect();
        assert_eq!(d.len(), 2);
        assert_eq!(
            *d[0],
            ElementDescriptor {
                element_type: ST,
                address: 0x1000,
                full: true,
                impexp: false,
                except: false,
                access: true,
                export_enabled: false,
                import_enabled: false,
                asc: 0,
                ascq: 0,
                disabled: false,
                invert: false,
                medium_type: MediumType::DATA,
                source: Some(0x0100),
                primary_tag: Some(VolumeTag {
                    identifier: "ABC001L8".into(),
                    sequence: Some(1)
                }),
                primary_tag_bytes: Some(*b"ABC001L8                        "),
                alternate_tag: None,
                device_id: None,
                dvcid_truncated: false,
                tag_truncated: false,
            }
        );
        assert_eq!(
            (
                d[1].address,
                d[1].full,
                d[1].except,
                d[1].asc,
                d[1].ascq,
                d[1].disabled
            ),
            (0x1001, false, true, 0x83, 0x00, true)
        );
        assert_eq!(d[1].primary_tag, None);
        assert_eq!(d[1].source, None);
    }

    #[test]
    fn descriptor_lengths_and_dvcid_forms() {
        let t10: &[u8] = b"IBM     ULT3580-HH8     10WT034567";
        let t10_32: &[u8] = b"IBM     ULT3580-HH8     10WT0345";
        let serial: &[u8] = b"10WT034567";
        // (descriptor length, pvoltag, tag field, dvcid, want tag, want serial)
        type Case = (
            usize,
            bool,
            usize,
            Option<(u8, u8, &'static [u8])>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            (16, false, 36, None, None, None),
            (16, true, 36, None, None, None), // PVOLTAG but too short for a tag
            (52, true, 36, None, Some("XYZ002L7"), None),
            (
                50,
                false,
                36,
                Some((2, 1, b"IBM     ULT3580-HH8     HU123456")),
                None,
                Some("HU123456"),
            ),
            (
                84,
                true,
                36,
                Some((2, 1, t10_32)),
                Some("XYZ002L7"),
                Some("10WT0345"),
            ),
            (
                84,
                true,
                36,
                Some((2, 0, serial)),
                Some("XYZ002L7"),
                Some("10WT034567"),
            ),
            (
                60,
                true,
                36,
                Some((2, 0, b"SER1")),
                Some("XYZ002L7"),
                Some("SER1"),
            ),
            (44, true, 32, None, Some("XYZ002L7"), None), // 32-byte tag field
            (
                84,
                true,
                32,
                Some((2, 1, t10)),
                Some("XYZ002L7"),
                Some("10WT034567"),
            ),
            (
                60,
                true,
                32,
                Some((2, 0, serial)),
                Some("XYZ002L7"),
                Some("10WT034567"),
            ),
            (
                96,
                true,
                36,
                Some((2, 1, t10)),
                Some("XYZ002L7"),
                Some("10WT034567"),
            ),
            // An empty identifier is no identifier.
            (52, true, 36, Some((2, 0, b"")), Some("XYZ002L7"), None),
        ];
        for (i, &(len, pv, tag_len, dvcid, want_tag, want_serial)) in cases.iter().enumerate() {
            let d = D {
                dvcid: dvcid.map(|(cs, ty, v)| (cs, ty, v.to_vec())),
                ..D::full(0x0100, "XYZ002L7")
            };
            let bytes = report(0x0100, 1, &[page_with(DT, pv, false, len, tag_len, &[d])]);
            let s = parse(&bytes).unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert!(!s.incomplete, "case {i}");
            let got = s.descriptors().next().unwrap();
            assert_eq!(got.address, 0x0100, "case {i}");
            assert_eq!(
                got.primary_tag.as_ref().map(|t| t.identifier.as_str()),
                want_tag,
                "case {i}"
            );
            if let Some(t) = &got.primary_tag {
                assert_eq!(t.sequence, (tag_len == 36).then_some(1), "case {i}");
            }
            assert_eq!(
                got.device_id.as_ref().and_then(|d| d.serial()).as_deref(),
                want_serial,
                "case {i}"
            );
            if let (Some(id), Some((cs, ty, value))) = (&got.device_id, dvcid) {
                assert_eq!(id.code_set, CodeSet(cs));
                assert_eq!(id.designator_type, DesignatorType(ty));
                assert_eq!(id.value, value);
            }
        }
        // An identifier that runs past the descriptor is not reported.
        let mut b = report(0x0100, 1, &[page(DT, false, false, 20, &[D::at(0x0100)])]);
        b[8 + 8 + 12..8 + 8 + 16].copy_from_slice(&[2, 0, 0, 30]);
        assert_eq!(
            parse(&b).unwrap().descriptors().next().unwrap().device_id,
            None
        );
    }

    #[test]
    fn trusts_only_the_bytes_transferred() {
        let ds: Vec<D> = (0..4).map(|i| D::full(0x1000 + i, "T0000L8")).collect();
        let full = report(0x1000, 4, &[page(ST, true, false, 52, &ds)]);
        assert_eq!(full.len(), 8 + 8 + 4 * 52);

        // (name, bytes, complete descriptors, incomplete)
        let mut claims_more = full.clone();
        claims_more[5..8].copy_from_slice(&[0x00, 0x40, 0x00]); // 16 KiB announced
        let eight_short_transfer = full[..full.len() - 8].to_vec();
        let mut eight_short_count = full.clone();
        let bc = (full.len() - 8 - 8) as u32;
        eight_short_count[5..8].copy_from_slice(&bc.to_be_bytes()[1..]);
        let pc = (4 * 52 - 8) as u32;
        eight_short_count[13..16].copy_from_slice(&pc.to_be_bytes()[1..]);
        let mut page_claims_more = full.clone();
        page_claims_more[13..16].copy_from_slice(&[0, 0x10, 0]);
        let mut claims_less = full.clone();
        claims_less[5..8].copy_from_slice(&[0, 0, 60]);
        let mut zero_padded = full.clone();
        zero_padded.extend([0u8; 100]);
        let header_only = full[..8].to_vec();
        let mid_page_header = full[..12].to_vec();
        let cases: &[(&str, &[u8], usize, bool)] = &[
            ("whole", &full, 4, false),
            ("header claims more than sent", &claims_more, 4, true),
            // The last one cut in its tag's padding: kept, marked (see
            // a_last_descriptor_cut_inside_its_volume_tag_keeps_the_element).
            ("transfer 8 bytes short", &eight_short_transfer, 4, true),
            ("byte counts 8 bytes short", &eight_short_count, 4, false),
            ("page claims more than sent", &page_claims_more, 4, true),
            ("header claims less than sent", &claims_less, 4, false),
            ("zero padding after the report", &zero_padded, 4, false),
            ("header only", &header_only, 0, true),
            ("cut inside a page header", &mid_page_header, 0, true),
        ];
        for &(name, bytes, n, incomplete) in cases {
            let s = parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.len(), n, "{name}");
            assert_eq!(s.incomplete, incomplete, "{name}");
            let addrs: Vec<u16> = s.descriptors().map(|d| d.address).collect();
            assert_eq!(
                addrs,
                (0x1000..0x1000 + n as u16).collect::<Vec<_>>(),
                "{name}"
            );
        }
        assert_eq!(
            parse(&full[..7]),
            Err(ParseError::Truncated {
                what: "element status header",
                needed: 3,
                available: 2
            })
        );
    }

    /// tgt 1.0.85's drive page with VOLTAG and DVCID, as the hardware lab recorded it: the
    /// header announces 180 bytes after itself, but only 180 bytes in all were sent.
    const TGT_DRIVES: [u8; 180] = [
        0x01, 0xf4, 0x00, 0x02, 0x00, 0x00, 0x00, 0xb4, 0x04, 0x80, 0x00, 0x56, 0x00, 0x00, 0x00,
        0xac, 0x01, 0xf4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x22, 0x49, 0x42, 0x4d, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x55, 0x4c, 0x54, 0x33, 0x35, 0x38, 0x30, 0x2d, 0x54, 0x44, 0x38, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x52, 0x45, 0x45, 0x4c, 0x44, 0x52, 0x56, 0x30, 0x30, 0x31, 0x01, 0xf5, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x03, 0xea, 0x52, 0x45, 0x4c, 0x30, 0x30, 0x33,
        0x4c, 0x38, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x01, 0x00, 0x22, 0x49, 0x42, 0x4d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x55, 0x4c, 0x54,
        0x33, 0x35, 0x38, 0x30, 0x2d, 0x54, 0x44, 0x38, 0x20, 0x20, 0x20, 0x20, 0x20, 0x52, 0x45,
    ];

    #[test]
    fn a_last_descriptor_cut_after_its_tags_is_kept_with_its_identifier_prefix() {
        let tgt = &TGT_DRIVES[..];
        let mut zero_tail = TGT_DRIVES.to_vec();
        zero_tail.extend([0u8; 8]);
        // Cut inside the volume tag of the last drive (16 + 86 + 12 + 20 bytes).
        let in_tag = &TGT_DRIVES[..16 + 86 + 32];
        // Cut inside its fixed part.
        let in_fixed = &TGT_DRIVES[..16 + 86 + 10];
        // Cut inside the identifier's 4-byte header.
        let in_id_header = &TGT_DRIVES[..16 + 86 + 48 + 2];
        let serial1 = b"IBM     ULT3580-TD8     REELDRV001".as_slice();
        let cut = b"IBM     ULT3580-TD8     RE".as_slice();
        // (name, bytes, addresses, last identifier, last truncated, dropped, incomplete)
        type Case<'a> = (
            &'a str,
            &'a [u8],
            &'a [u16],
            Option<&'a [u8]>,
            bool,
            bool,
            bool,
        );
        let cases: &[Case<'_>] = &[
            (
                "tgt: 8 bytes short",
                tgt,
                &[500, 501],
                Some(cut),
                true,
                false,
                true,
            ),
            (
                "tgt, no residual: zeros",
                &zero_tail,
                &[500, 501],
                Some(cut),
                true,
                false,
                false,
            ),
            (
                "cut inside the identifier header",
                in_id_header,
                &[500, 501],
                None,
                true,
                false,
                true,
            ),
            // The tag's padding began: the barcode is whole (tag_truncated_is_kept_...).
            (
                "cut inside the volume tag",
                in_tag,
                &[500, 501],
                None,
                false,
                false,
                true,
            ),
            (
                "cut inside the fixed part",
                in_fixed,
                &[500],
                Some(serial1),
                false,
                true,
                true,
            ),
        ];
        for &(name, bytes, addrs, id, truncated, dropped, incomplete) in cases {
            let s = parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<u16> = s.descriptors().map(|d| d.address).collect();
            assert_eq!(got, addrs, "{name}");
            let last = s.descriptors().last().unwrap();
            assert_eq!(last.device_id.as_ref().map(|d| &d.value[..]), id, "{name}");
            assert_eq!(last.dvcid_truncated, truncated, "{name}");
            assert_eq!(last.tag_truncated, bytes.len() == in_tag.len(), "{name}");
            assert_eq!(s.pages[0].dropped_partial, dropped, "{name}");
            assert_eq!(s.incomplete, incomplete, "{name}");
            // The fixed part and the tag of a kept partial descriptor are read whole.
            if addrs.len() == 2 {
                assert_eq!((last.full, last.source), (true, Some(1002)), "{name}");
                let tag = last.primary_tag.as_ref().map(|t| t.identifier.as_str());
                assert_eq!(tag, Some("REL003L8"), "{name}");
                let first = s.descriptors().next().unwrap();
                assert!(!first.truncated(), "{name}");
                assert_eq!(first.device_id.as_ref().unwrap().value, serial1, "{name}");
            }
        }
        // A 32-byte tag field (quirk) before a cut identifier: read at its own offset.
        let d = D::full(0x1f5, "REL003L8").dvcid(2, 0, b"REELDRV002");
        let page = page_with(DT, true, false, 12 + 32 + 4 + 10, 32, &[d]);
        let mut bytes = report(0x1f5, 1, &[page]);
        bytes.truncate(bytes.len() - 8);
        let s = parse(&bytes).unwrap();
        let d = s.descriptors().next().unwrap();
        assert!(d.dvcid_truncated && s.incomplete);
        assert_eq!(d.device_id.as_ref().unwrap().value, b"RE");
        assert_eq!(d.primary_tag.as_ref().unwrap().sequence, None);
    }

    /// A storage page as tgt 1.0.85 sends it: 4 slots of 48 bytes (12 + a 36-byte tag), the
    /// byte counts claiming all 4, the transfer `short` bytes short.
    fn tgt_storage(tags: &[&str], short: usize) -> Vec<u8> {
        let ds: Vec<D> = (0..tags.len() as u16)
            .map(|i| match tags[usize::from(i)] {
                "" => D::at(1000 + i),
                t => D {
                    b9: 0x80,
                    source: 1000 + i,
                    ..D::full(1000 + i, t)
                },
            })
            .collect();
        let mut b = report(1000, ds.len() as u16, &[page(ST, true, false, 48, &ds)]);
        b.truncate(b.len() - short);
        b
    }

    #[test]
    fn a_last_descriptor_cut_inside_its_volume_tag_keeps_the_element() {
        const L: &str = "REL010L8";
        const LONG: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234"; // 31 characters
        const FULL32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
        let with_alt = |short: usize| {
            let d = D {
                alternate: Some("ALT9".into()),
                ..D::full(1000, "P1")
            };
            let mut b = report(1000, 1, &[page(ST, true, true, 84, &[d])]);
            b.truncate(b.len() - short);
            b
        };
        // (name, bytes, addresses, last primary, last alternate, tag_truncated, dropped,
        // barcode_unknown)
        type Case<'a> = (
            &'a str,
            Vec<u8>,
            &'a [u16],
            Option<&'a str>,
            Option<&'a str>,
            bool,
            bool,
            bool,
        );
        let more_announced = tgt_storage(&["A", "B", "C", L, "E"], 48 + 8);
        let a4: &[u16] = &[1000, 1001, 1002, 1003];
        let a3: &[u16] = &[1000, 1001, 1002];
        let cases: Vec<Case<'_>> = vec![
            // tgt: the last 8 bytes (4 of padding + the sequence field) are missing.
            (
                "tgt: 8 short, in the padding",
                tgt_storage(&["A", "B", "C", L], 8),
                a4,
                Some(L),
                None,
                true,
                false,
                false,
            ),
            // One pad byte after the identifier is enough.
            (
                "one pad byte arrived",
                tgt_storage(&["A", "B", "C", L], 36 - 9),
                a4,
                Some(L),
                None,
                true,
                false,
                false,
            ),
            (
                "cut right after the identifier",
                tgt_storage(&["A", "B", "C", L], 36 - 8),
                a4,
                None,
                None,
                true,
                false,
                true,
            ),
            (
                "cut mid-identifier",
                tgt_storage(&["A", "B", "C", L], 36 - 3),
                a4,
                None,
                None,
                true,
                false,
                true,
            ),
            (
                "cut before the tag",
                tgt_storage(&["A", "B", "C", L], 36),
                a4,
                None,
                None,
                true,
                false,
                true,
            ),
            (
                "31 characters, one pad byte",
                tgt_storage(&["A", "B", "C", LONG], 4),
                a4,
                Some(LONG),
                None,
                true,
                false,
                false,
            ),
            (
                "all 32 characters arrived",
                tgt_storage(&["A", "B", "C", FULL32], 4),
                a4,
                Some(FULL32),
                None,
                true,
                false,
                false,
            ),
            (
                "an empty slot: blank tag",
                tgt_storage(&["A", "B", "C", ""], 8),
                a4,
                None,
                None,
                true,
                false,
                false,
            ),
            (
                "cut inside the fixed part",
                tgt_storage(&["A", "B", "C", L], 37),
                a3,
                Some("C"),
                None,
                false,
                true,
                false,
            ),
            (
                "whole",
                tgt_storage(&["A", "B", "C", L], 0),
                a4,
                Some(L),
                None,
                false,
                false,
                false,
            ),
            // Cut in its padding, but the page announces a 5th slot: a limit's cut, dropped.
            (
                "more announced after it",
                more_announced,
                a3,
                Some("C"),
                None,
                false,
                true,
                false,
            ),
            // Two tags: a cut alternate keeps the whole primary with its sequence.
            (
                "alternate cut in its padding",
                with_alt(8),
                &[1000],
                Some("P1"),
                Some("ALT9"),
                true,
                false,
                false,
            ),
            (
                "alternate cut mid-identifier",
                with_alt(36 - 2),
                &[1000],
                Some("P1"),
                None,
                true,
                false,
                false,
            ),
            (
                "primary cut in its padding",
                with_alt(36 + 8),
                &[1000],
                Some("P1"),
                None,
                true,
                false,
                false,
            ),
        ];
        for (name, bytes, addrs, primary, alternate, cut, dropped, unknown) in cases {
            let s = parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<u16> = s.descriptors().map(|d| d.address).collect();
            assert_eq!(got, addrs, "{name}");
            assert_eq!(s.incomplete, cut || dropped, "{name}");
            assert_eq!(s.pages[0].dropped_partial, dropped, "{name}");
            let last = s.descriptors().last().unwrap();
            let id = |t: &Option<VolumeTag>| t.as_ref().map(|t| t.identifier.clone());
            assert_eq!(id(&last.primary_tag).as_deref(), primary, "{name}");
            assert_eq!(id(&last.alternate_tag).as_deref(), alternate, "{name}");
            assert_eq!(last.tag_truncated, cut, "{name}");
            assert!(!last.dvcid_truncated && last.device_id.is_none(), "{name}");
            assert_eq!(last.barcode_unknown(), unknown, "{name}");
            // The fixed part of a kept cut descriptor is read whole.
            assert_eq!(last.full, !name.contains("empty slot"), "{name}");
            if cut {
                let seq = last.primary_tag.as_ref().map(|t| t.sequence);
                let want_seq = if name.starts_with("alternate") {
                    Some(Some(1))
                } else {
                    primary.map(|_| None)
                };
                assert_eq!(seq, want_seq, "{name}: sequence");
                assert_eq!(
                    last.alternate_tag.as_ref().and_then(|t| t.sequence),
                    None,
                    "{name}"
                );
            }
            if last.full && addrs.len() == 4 {
                assert_eq!((last.source, last.access), (Some(1003), true), "{name}");
            }
        }
    }

    #[test]
    fn a_changer_that_ignores_the_count_and_several_pages() {
        // Asked for 2 storage elements from 0x1000, the changer sends 5; a second page of
        // drives follows; each page has its own descriptor length.
        let st: Vec<D> = (0..5).map(|i| D::at(0x1000 + i)).collect();
        let dt = [D::at(0x0100).dvcid(2, 0, b"SER9")];
        let bytes = report(
            0x1000,
            5,
            &[
                page(ST, false, false, 16, &st),
                page(DT, false, false, 50, &dt),
            ],
        );
        let s = parse(&bytes).unwrap();
        assert_eq!(s.pages.len(), 2);
        assert_eq!(s.pages[0].descriptor_length, 16);
        assert_eq!(s.pages[1].descriptor_length, 50);
        assert_eq!(s.len(), 6);
        assert_eq!(s.pages[1].descriptors[0].element_type, DT);
        assert_eq!(
            s.pages[1].descriptors[0]
                .device_id
                .as_ref()
                .unwrap()
                .serial()
                .as_deref(),
            Some("SER9")
        );
    }

    #[test]
    fn alternate_tags_and_flags() {
        let d = D {
            flags: 0x3B, // full, impexp, access, exenab, inenab
            b9: 0x42,    // invert, cleaning
            alternate: Some("ALT1".into()),
            ..D::full(0x10, "CLN001L1")
        };
        let bytes = report(
            0x10,
            1,
            &[page(ElementType::IMPORT_EXPORT, true, true, 84, &[d])],
        );
        let s = parse(&bytes).unwrap();
        let e = s.descriptors().next().unwrap();
        assert!(e.full && e.impexp && e.access && e.export_enabled && e.import_enabled);
        assert!(!e.except && e.invert);
        assert_eq!(e.medium_type, MediumType::CLEANING);
        assert_eq!(e.primary_tag.as_ref().unwrap().identifier, "CLN001L1");
        assert_eq!(e.alternate_tag.as_ref().unwrap().identifier, "ALT1");
    }

    #[test]
    fn malformed_page_headers_are_named() {
        let ok = report(0x1000, 1, &[page(ST, false, false, 16, &[D::at(0x1000)])]);
        let mut bad_type = ok.clone();
        bad_type[8] = 7;
        assert_eq!(
            parse(&bad_type),
            Err(ParseError::InvalidField {
                what: "element status page element type",
                value: 7
            })
        );
        let mut bad_len = ok.clone();
        bad_len[10..12].copy_from_slice(&[0, 4]);
        assert_eq!(
            parse(&bad_len),
            Err(ParseError::InvalidField {
                what: "element descriptor length",
                value: 4
            })
        );
        // The same garbage after the announced report is ignored.
        let mut trailing = ok.clone();
        trailing.extend([7, 0, 0, 4, 0, 0, 0, 16]);
        let s = parse(&trailing).unwrap();
        assert_eq!((s.len(), s.incomplete), (1, false));
        // Inside the announced count, after a good page: the report ends there, incomplete.
        let mut inside = trailing.clone();
        inside[5..8].copy_from_slice(&[0, 0, 40]);
        let s = parse(&inside).unwrap();
        assert_eq!((s.len(), s.incomplete), (1, true));
    }

    #[test]
    fn code_tables_round_trip() {
        for v in 0..=255u8 {
            for (name, dbg) in [
                (ElementType(v).name(), format!("{:?}", ElementType(v))),
                (MediumType(v).name(), format!("{:?}", MediumType(v))),
            ] {
                match name {
                    Some(n) => assert_eq!(dbg, n),
                    None => assert!(dbg.ends_with(&format!("({v:#x})")), "{dbg}"),
                }
            }
        }
        assert_eq!(
            [
                ElementType::ALL,
                ElementType::TRANSPORT,
                ElementType::STORAGE,
                ElementType::IMPORT_EXPORT,
                ElementType::DATA_TRANSFER
            ]
            .map(|t| t.0),
            [0, 1, 2, 3, 4]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            if let Ok(s) = parse(&bytes) {
                for d in s.descriptors() {
                    let _ = d.device_id.as_ref().map(|i| i.serial());
                }
            }
        }

        #[test]
        fn never_panics_on_plausible_headers(
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            ty in 1u8..=4,
            flags in proptest::num::u8::ANY,
            dl in 0u16..120,
            count in 0u32..1000,
        ) {
            let mut b = vec![0, 0, 0, 1, 0, 0, 0x10, 0, ty, flags];
            b.extend(dl.to_be_bytes());
            b.push(0);
            b.extend(&count.to_be_bytes()[1..]);
            b.extend(tail);
            let _ = parse(&b);
        }
    }
}
