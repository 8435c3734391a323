//! READ ATTRIBUTE (0x8C, SPC): medium auxiliary memory (MAM) attributes of the loaded
//! cartridge: barcode, medium type, density, serial, media pool name and GUID.
//!
//! The attribute list format parsed here is also the WRITE ATTRIBUTE parameter list; its encoder
//! is [`encode_attributes`] (see also [`super::write_attribute`]).

use std::time::Duration;

use super::opcode::OpCode;

use thiserror::Error;
use uuid::Uuid;

use super::reader::{ascii_field, Reader};
use super::report_density_support::DensityCode;
use super::tape_code::open_code;
use super::ParseError;

/// Operation code.
pub const OPCODE: OpCode = OpCode::READ_ATTRIBUTE;

/// Default timeout (the drive reads the cartridge memory chip, no tape motion).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Allocation length the drive driver asks for: a whole LTO MAM fits in far less.
pub const DEFAULT_ALLOCATION: u32 = 0x4000;

/// Length of the available-data header.
pub const HEADER_LEN: usize = 4;

open_code! {
    /// READ ATTRIBUTE service action (byte 1 bits 4..0).
    ServiceAction(u8) {
        /// Attribute values, from the first attribute identifier on.
        ATTRIBUTE_VALUES = 0x00 => "ATTRIBUTE VALUES",
        /// Identifiers of the attributes present.
        ATTRIBUTE_LIST = 0x01 => "ATTRIBUTE LIST",
        /// Logical volumes present.
        LOGICAL_VOLUME_LIST = 0x02 => "LOGICAL VOLUME LIST",
        /// Partitions present.
        PARTITION_LIST = 0x03 => "PARTITION LIST",
        /// Identifiers of the attributes the device supports.
        SUPPORTED_ATTRIBUTES = 0x05 => "SUPPORTED ATTRIBUTES",
    }
}

open_code! {
    /// A MAM attribute identifier (SPC "attribute identifier" tables).
    AttributeId(u16) {
        /// Remaining capacity in partition, MiB (device, binary 8).
        REMAINING_CAPACITY = 0x0000 => "REMAINING CAPACITY IN PARTITION",
        /// Maximum capacity in partition, MiB (device, binary 8).
        MAXIMUM_CAPACITY = 0x0001 => "MAXIMUM CAPACITY IN PARTITION",
        /// TapeAlert flags (device, binary 8).
        TAPEALERT_FLAGS = 0x0002 => "TAPEALERT FLAGS",
        /// Load count (device, binary 8).
        LOAD_COUNT = 0x0003 => "LOAD COUNT",
        /// MAM space remaining (device, binary 8).
        MAM_SPACE_REMAINING = 0x0004 => "MAM SPACE REMAINING",
        /// Assigning organization of the format (device, ASCII 8).
        DEVICE_ASSIGNING_ORGANIZATION = 0x0005 => "ASSIGNING ORGANIZATION",
        /// Density code the medium is formatted in (device, binary 1).
        FORMATTED_DENSITY_CODE = 0x0006 => "FORMATTED DENSITY CODE",
        /// Initialization count (device, binary 2).
        INITIALIZATION_COUNT = 0x0007 => "INITIALIZATION COUNT",
        /// Drive vendor and serial at the last load (device, binary 40).
        DEVICE_AT_LAST_LOAD = 0x020A => "DEVICE VENDOR/SERIAL NUMBER AT LAST LOAD",
        /// Total MiB written in medium life (device, binary 8).
        TOTAL_WRITTEN = 0x0220 => "TOTAL MBYTES WRITTEN IN MEDIUM LIFE",
        /// Total MiB read in medium life (device, binary 8).
        TOTAL_READ = 0x0221 => "TOTAL MBYTES READ IN MEDIUM LIFE",
        /// Medium manufacturer (medium, ASCII 8).
        MEDIUM_MANUFACTURER = 0x0400 => "MEDIUM MANUFACTURER",
        /// Medium serial number (medium, ASCII 32).
        MEDIUM_SERIAL_NUMBER = 0x0401 => "MEDIUM SERIAL NUMBER",
        /// Medium length in metres (medium, binary 4).
        MEDIUM_LENGTH = 0x0402 => "MEDIUM LENGTH",
        /// Medium width in tenths of a millimetre (medium, binary 4).
        MEDIUM_WIDTH = 0x0403 => "MEDIUM WIDTH",
        /// Assigning organization of the medium (medium, ASCII 8).
        MEDIUM_ASSIGNING_ORGANIZATION = 0x0404 => "MEDIUM ASSIGNING ORGANIZATION",
        /// Medium density code (medium, binary 1).
        MEDIUM_DENSITY_CODE = 0x0405 => "MEDIUM DENSITY CODE",
        /// Medium manufacture date, YYYYMMDD (medium, ASCII 8).
        MEDIUM_MANUFACTURE_DATE = 0x0406 => "MEDIUM MANUFACTURE DATE",
        /// MAM capacity in bytes (medium, binary 8).
        MAM_CAPACITY = 0x0407 => "MAM CAPACITY",
        /// Medium type: data, cleaning, write-once (medium, binary 1).
        MEDIUM_TYPE = 0x0408 => "MEDIUM TYPE",
        /// Medium type information, e.g. cleaning cycles (medium, binary 2).
        MEDIUM_TYPE_INFORMATION = 0x0409 => "MEDIUM TYPE INFORMATION",
        /// Numeric medium serial number (medium, binary).
        NUMERIC_MEDIUM_SERIAL_NUMBER = 0x040A => "NUMERIC MEDIUM SERIAL NUMBER",
        /// Application vendor (host, ASCII 8).
        APPLICATION_VENDOR = 0x0800 => "APPLICATION VENDOR",
        /// Application name (host, ASCII 32).
        APPLICATION_NAME = 0x0801 => "APPLICATION NAME",
        /// Application version (host, ASCII 8).
        APPLICATION_VERSION = 0x0802 => "APPLICATION VERSION",
        /// User medium text label (host, text 160).
        USER_MEDIUM_TEXT_LABEL = 0x0803 => "USER MEDIUM TEXT LABEL",
        /// Date and time last written, YYYYMMDDhhmm (host, ASCII 12).
        DATE_AND_TIME_LAST_WRITTEN = 0x0804 => "DATE AND TIME LAST WRITTEN",
        /// Text localization identifier (host, binary 1).
        TEXT_LOCALIZATION_IDENTIFIER = 0x0805 => "TEXT LOCALIZATION IDENTIFIER",
        /// Barcode (host, ASCII 32).
        BARCODE = 0x0806 => "BARCODE",
        /// Owning host textual name (host, text 80).
        OWNING_HOST_TEXTUAL_NAME = 0x0807 => "OWNING HOST TEXTUAL NAME",
        /// Media pool name (host, text 160).
        MEDIA_POOL = 0x0808 => "MEDIA POOL",
        /// Partition user text label (host, ASCII 16).
        PARTITION_USER_TEXT_LABEL = 0x0809 => "PARTITION USER TEXT LABEL",
        /// Load/unload at partition (host, binary 1).
        LOAD_UNLOAD_AT_PARTITION = 0x080A => "LOAD/UNLOAD AT PARTITION",
        /// Application format version (host, ASCII 16).
        APPLICATION_FORMAT_VERSION = 0x080B => "APPLICATION FORMAT VERSION",
        /// Volume coherency information (host, binary).
        VOLUME_COHERENCY_INFORMATION = 0x080C => "VOLUME COHERENCY INFORMATION",
        /// Medium globally unique identifier (host, binary 36).
        MEDIUM_GUID = 0x0820 => "MEDIUM GLOBALLY UNIQUE IDENTIFIER",
        /// Media pool globally unique identifier (host, binary 36).
        MEDIA_POOL_GUID = 0x0821 => "MEDIA POOL GLOBALLY UNIQUE IDENTIFIER",
    }
}

impl AttributeId {
    /// The standard format and length of this attribute, where SPC fixes them (host and medium
    /// attributes reel reads or writes).
    pub fn standard_format(self) -> Option<(AttributeFormat, u16)> {
        use AttributeFormat as F;
        Some(match self {
            AttributeId::MEDIUM_MANUFACTURER => (F::ASCII, 8),
            AttributeId::MEDIUM_SERIAL_NUMBER => (F::ASCII, 32),
            AttributeId::MEDIUM_DENSITY_CODE => (F::BINARY, 1),
            AttributeId::MEDIUM_TYPE => (F::BINARY, 1),
            AttributeId::APPLICATION_VENDOR => (F::ASCII, 8),
            AttributeId::APPLICATION_NAME => (F::ASCII, 32),
            AttributeId::APPLICATION_VERSION => (F::ASCII, 8),
            AttributeId::USER_MEDIUM_TEXT_LABEL => (F::TEXT, 160),
            AttributeId::DATE_AND_TIME_LAST_WRITTEN => (F::ASCII, 12),
            AttributeId::TEXT_LOCALIZATION_IDENTIFIER => (F::BINARY, 1),
            AttributeId::BARCODE => (F::ASCII, 32),
            AttributeId::OWNING_HOST_TEXTUAL_NAME => (F::TEXT, 80),
            AttributeId::MEDIA_POOL => (F::TEXT, 160),
            AttributeId::PARTITION_USER_TEXT_LABEL => (F::ASCII, 16),
            AttributeId::LOAD_UNLOAD_AT_PARTITION => (F::BINARY, 1),
            AttributeId::APPLICATION_FORMAT_VERSION => (F::ASCII, 16),
            AttributeId::MEDIUM_GUID => (F::BINARY, 36),
            AttributeId::MEDIA_POOL_GUID => (F::BINARY, 36),
            _ => return None,
        })
    }
}

open_code! {
    /// Attribute format (byte 2 bits 1..0 of an attribute header).
    AttributeFormat(u8) {
        /// Binary, big-endian for numbers.
        BINARY = 0 => "BINARY",
        /// Printable ASCII, left-aligned, space padded.
        ASCII = 1 => "ASCII",
        /// Text in the character set of TEXT LOCALIZATION IDENTIFIER, NUL padded.
        TEXT = 2 => "TEXT",
    }
}

open_code! {
    /// Value of the MEDIUM TYPE attribute (0x0408).
    MamMediumType(u8) {
        /// Data cartridge.
        DATA = 0x00 => "data",
        /// Cleaning cartridge.
        CLEANING = 0x01 => "cleaning",
        /// Write-once (WORM) cartridge.
        WRITE_ONCE = 0x80 => "write-once",
    }
}

/// The fields of a READ ATTRIBUTE CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAttribute {
    /// What to report (byte 1).
    pub service_action: ServiceAction,
    /// Logical volume (byte 5).
    pub logical_volume: u8,
    /// Partition (byte 7).
    pub partition: u8,
    /// First attribute to report; attributes with this or a higher identifier follow in order
    /// (bytes 8..9).
    pub first_attribute: AttributeId,
    /// Allocation length (bytes 10..13).
    pub allocation_length: u32,
    /// Accept values from the drive's cache of the MAM (byte 14 bit 0, SPC-4).
    pub cache: bool,
}

impl ReadAttribute {
    /// ATTRIBUTE VALUES from `first` on, partition 0, with the default allocation length.
    pub fn values(first: AttributeId) -> Self {
        ReadAttribute {
            service_action: ServiceAction::ATTRIBUTE_VALUES,
            logical_volume: 0,
            partition: 0,
            first_attribute: first,
            allocation_length: DEFAULT_ALLOCATION,
            cache: false,
        }
    }

    /// The CDB bytes.
    pub fn cdb(&self) -> [u8; 16] {
        let [f0, f1] = self.first_attribute.0.to_be_bytes();
        let [a0, a1, a2, a3] = self.allocation_length.to_be_bytes();
        [
            OPCODE.0,
            self.service_action.0 & 0x1f,
            0,
            0,
            0,
            self.logical_volume,
            0,
            self.partition,
            f0,
            f1,
            a0,
            a1,
            a2,
            a3,
            u8::from(self.cache),
            0,
        ]
    }
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Identifier (bytes 0..1).
    pub id: AttributeId,
    /// The host cannot change it (byte 2 bit 7).
    pub read_only: bool,
    /// Format (byte 2 bits 1..0).
    pub format: AttributeFormat,
    /// Value bytes, as long as the attribute length (bytes 3..4) says.
    pub value: Vec<u8>,
}

impl Attribute {
    /// A binary attribute.
    pub fn binary(id: AttributeId, value: impl Into<Vec<u8>>) -> Self {
        Attribute {
            id,
            read_only: false,
            format: AttributeFormat::BINARY,
            value: value.into(),
        }
    }

    /// An ASCII attribute of exactly `len` bytes: `s` left-aligned and space padded, cut at
    /// `len`; bytes outside printable ASCII become `?`.
    pub fn ascii(id: AttributeId, s: &str, len: u16) -> Self {
        let mut value: Vec<u8> = s
            .bytes()
            .map(|b| if (0x20..0x7f).contains(&b) { b } else { b'?' })
            .take(usize::from(len))
            .collect();
        value.resize(usize::from(len), b' ');
        Attribute {
            id,
            read_only: false,
            format: AttributeFormat::ASCII,
            value,
        }
    }

    /// A text attribute of exactly `len` bytes: `s` in UTF-8, cut at a character boundary to
    /// fit, NUL padded.
    pub fn text(id: AttributeId, s: &str, len: u16) -> Self {
        let mut end = s.len().min(usize::from(len));
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut value = s.as_bytes()[..end].to_vec();
        value.resize(usize::from(len), 0);
        Attribute {
            id,
            read_only: false,
            format: AttributeFormat::TEXT,
            value,
        }
    }

    /// BARCODE (0x0806) in its standard 32-byte ASCII form.
    pub fn barcode(s: &str) -> Self {
        Attribute::ascii(AttributeId::BARCODE, s, 32)
    }

    /// MEDIA POOL (0x0808) in its standard 160-byte text form.
    pub fn media_pool(name: &str) -> Self {
        Attribute::text(AttributeId::MEDIA_POOL, name, 160)
    }

    /// MEDIA POOL GLOBALLY UNIQUE IDENTIFIER (0x0821): SPC fixes 36 binary bytes without saying
    /// how a 16-byte UUID fills them; reel writes the canonical hyphenated form (exactly 36
    /// bytes), which every MAM dump tool shows readably. [`decode_guid`] also reads 16 raw bytes
    /// and raw bytes zero padded to 36.
    pub fn media_pool_guid(guid: Uuid) -> Self {
        let text = guid.hyphenated().to_string();
        Attribute::binary(AttributeId::MEDIA_POOL_GUID, text.into_bytes())
    }

    /// The value as trimmed, sanitised ASCII (for ASCII attributes, and text ones in the
    /// default ASCII localization).
    pub fn as_ascii(&self) -> String {
        ascii_field(&self.value)
    }

    /// The value as text: UTF-8 (invalid sequences replaced), cut at the first NUL, trimmed,
    /// control characters replaced by `?`.
    pub fn as_text(&self) -> String {
        let end = self
            .value
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.value.len());
        String::from_utf8_lossy(&self.value[..end])
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect::<String>()
            .trim()
            .to_owned()
    }

    /// The value as a big-endian unsigned number, when it is 1 to 8 bytes long.
    pub fn as_u64(&self) -> Option<u64> {
        if self.value.is_empty() || self.value.len() > 8 {
            return None;
        }
        Some(self.value.iter().fold(0u64, |n, &b| n << 8 | u64::from(b)))
    }
}

/// Decodes a GUID attribute value: 36 bytes of canonical UUID text, 16 raw bytes, or 16 raw
/// bytes followed by zero padding. `None` for anything else, including all zeros (unset).
pub fn decode_guid(value: &[u8]) -> Option<Uuid> {
    if value.iter().all(|&b| b == 0 || b == b' ') {
        return None;
    }
    if let Ok(s) = std::str::from_utf8(value) {
        let s = s.trim_end_matches(['\0', ' ']);
        if let Ok(u) = Uuid::try_parse(s) {
            return Some(u);
        }
    }
    if value.len() >= 16 && value[16..].iter().all(|&b| b == 0) {
        let mut b = [0u8; 16];
        b.copy_from_slice(&value[..16]);
        return Some(Uuid::from_bytes(b));
    }
    None
}

/// A parsed ATTRIBUTE VALUES reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributeList {
    /// Attributes in the order the device sent them (ascending identifier).
    pub attributes: Vec<Attribute>,
    /// The header announced more than was transferred: ask again from the identifier after
    /// the last one received.
    pub truncated: bool,
}

impl AttributeList {
    /// The attribute `id`, if present.
    pub fn get(&self, id: AttributeId) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.id == id)
    }

    fn ascii(&self, id: AttributeId) -> Option<String> {
        self.get(id)
            .map(Attribute::as_ascii)
            .filter(|s| !s.is_empty())
    }

    /// BARCODE (0x0806), when present and not blank.
    pub fn barcode(&self) -> Option<String> {
        self.ascii(AttributeId::BARCODE)
    }

    /// MEDIUM SERIAL NUMBER (0x0401), when present and not blank.
    pub fn medium_serial(&self) -> Option<String> {
        self.ascii(AttributeId::MEDIUM_SERIAL_NUMBER)
    }

    /// MEDIUM DENSITY CODE (0x0405), when present and one byte long.
    pub fn density_code(&self) -> Option<DensityCode> {
        let a = self.get(AttributeId::MEDIUM_DENSITY_CODE)?;
        (a.value.len() == 1).then(|| DensityCode(a.value[0]))
    }

    /// MEDIUM TYPE (0x0408), when present and one byte long.
    pub fn medium_type(&self) -> Option<MamMediumType> {
        let a = self.get(AttributeId::MEDIUM_TYPE)?;
        (a.value.len() == 1).then(|| MamMediumType(a.value[0]))
    }

    /// MEDIA POOL (0x0808), when present and not blank.
    pub fn pool_name(&self) -> Option<String> {
        self.get(AttributeId::MEDIA_POOL)
            .map(Attribute::as_text)
            .filter(|s| !s.is_empty())
    }

    /// MEDIA POOL GLOBALLY UNIQUE IDENTIFIER (0x0821), when present and decodable (see
    /// [`decode_guid`]).
    pub fn pool_guid(&self) -> Option<Uuid> {
        decode_guid(&self.get(AttributeId::MEDIA_POOL_GUID)?.value)
    }
}

/// Parses an ATTRIBUTE VALUES reply (also the WRITE ATTRIBUTE parameter list).
///
/// Attributes are read while they start before the end the header announces and all their
/// bytes were transferred; an attribute cut off by the allocation length ends the list and sets
/// [`AttributeList::truncated`].
///
/// # Errors
/// [`ParseError::Truncated`] ("attribute list header") when fewer than 4 bytes were
/// transferred.
pub fn parse_values(reply: &[u8]) -> Result<AttributeList, ParseError> {
    let mut r = Reader::new(reply);
    let announced = r.u32("attribute list header")? as usize;
    let end = HEADER_LEN.saturating_add(announced);
    let mut list = AttributeList::default();
    while r.position() < end && !r.is_empty() {
        let mut peek = r.clone();
        match one_attribute(&mut peek) {
            Ok(a) => {
                list.attributes.push(a);
                r = peek;
            }
            Err(_) => {
                list.truncated = true;
                break;
            }
        }
    }
    if end > reply.len() {
        list.truncated = true;
    }
    Ok(list)
}

fn one_attribute(r: &mut Reader<'_>) -> Result<Attribute, ParseError> {
    let id = AttributeId(r.u16("attribute identifier")?);
    let flags = r.u8("attribute format")?;
    let len = usize::from(r.u16("attribute length")?);
    let value = r.take(len, "attribute value")?.to_vec();
    Ok(Attribute {
        id,
        read_only: flags & 0x80 != 0,
        format: AttributeFormat(flags & 0x03),
        value,
    })
}

/// Parses an ATTRIBUTE LIST or SUPPORTED ATTRIBUTES reply: the identifiers, in order. A
/// trailing odd byte or identifiers past the transferred bytes are dropped.
///
/// # Errors
/// [`ParseError::Truncated`] ("attribute list header") when fewer than 4 bytes were
/// transferred.
pub fn parse_id_list(reply: &[u8]) -> Result<Vec<AttributeId>, ParseError> {
    let mut r = Reader::new(reply);
    let announced = r.u32("attribute list header")? as usize;
    let mut body = Reader::new(r.take_up_to(announced));
    let mut ids = Vec::with_capacity(body.remaining() / 2);
    while let Ok(id) = body.u16("attribute identifier") {
        ids.push(AttributeId(id));
    }
    Ok(ids)
}

/// An attribute value that does not fit the 16-bit attribute length field, or a list that does
/// not fit the 32-bit header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("attribute {id:?} value of {len} bytes does not fit an attribute list")]
pub struct AttributeTooLong {
    /// The attribute.
    pub id: AttributeId,
    /// Its value length.
    pub len: usize,
}

/// Encodes attributes in the attribute list format: the 4-byte length header, then each
/// attribute's 5-byte header and value. Used for WRITE ATTRIBUTE parameter lists (where the
/// READ ONLY bit is ignored by the device) and by the simulator for READ ATTRIBUTE replies.
///
/// # Errors
/// [`AttributeTooLong`] when a value exceeds 65535 bytes.
pub fn encode_attributes(attrs: &[Attribute]) -> Result<Vec<u8>, AttributeTooLong> {
    let mut out = vec![0u8; HEADER_LEN];
    for a in attrs {
        let len = u16::try_from(a.value.len()).map_err(|_| AttributeTooLong {
            id: a.id,
            len: a.value.len(),
        })?;
        out.extend_from_slice(&a.id.0.to_be_bytes());
        out.push(u8::from(a.read_only) << 7 | (a.format.0 & 0x03));
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&a.value);
    }
    let body = u32::try_from(out.len() - HEADER_LEN).map_err(|_| AttributeTooLong {
        id: attrs.last().map_or(AttributeId(0), |a| a.id),
        len: out.len(),
    })?;
    out[..HEADER_LEN].copy_from_slice(&body.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        let cases: &[(ReadAttribute, [u8; 16])] = &[
            (
                ReadAttribute::values(AttributeId(0)),
                [
                    0x8c, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0, 0, 0x40, 0x00, 0, 0,
                ],
            ),
            (
                ReadAttribute::values(AttributeId::MEDIUM_SERIAL_NUMBER),
                [
                    0x8c, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x01, 0, 0, 0x40, 0x00, 0, 0,
                ],
            ),
            (
                ReadAttribute {
                    service_action: ServiceAction::SUPPORTED_ATTRIBUTES,
                    logical_volume: 2,
                    partition: 1,
                    first_attribute: AttributeId::MEDIA_POOL_GUID,
                    allocation_length: 0x0102_0304,
                    cache: true,
                },
                [0x8c, 0x05, 0, 0, 0, 2, 0, 1, 0x08, 0x21, 1, 2, 3, 4, 1, 0],
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(&fields.cdb(), want, "{fields:?}");
        }
    }

    fn attr(id: u16, flags: u8, value: &[u8]) -> Vec<u8> {
        let mut v = id.to_be_bytes().to_vec();
        v.push(flags);
        v.extend_from_slice(&(value.len() as u16).to_be_bytes());
        v.extend_from_slice(value);
        v
    }

    fn list(announced: usize, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut v = (announced as u32).to_be_bytes().to_vec();
        for a in attrs {
            v.extend_from_slice(a);
        }
        v
    }

    const GUID: &str = "6f1c1a52-3b1e-4c55-9a51-8d2e0b7c9f10";

    /// A MAM as an LTO-8 drive reports it from 0x0400 on, with reel's pool attributes.
    fn realistic() -> Vec<Vec<u8>> {
        vec![
            attr(0x0400, 0x81, b"FUJIFILM"),
            attr(0x0401, 0x81, b"1234567890ABCDEF                "),
            attr(0x0402, 0x81, &[0, 0, 0x04, 0x0b]),
            attr(0x0405, 0x81, &[0x5e]),
            attr(0x0406, 0x81, b"20240117"),
            attr(0x0408, 0x81, &[0x00]),
            attr(0x0800, 0x01, b"REEL    "),
            attr(0x0806, 0x01, b"ABC123L8                        "),
            attr(
                0x0808,
                0x02,
                &[b"Backups \xc3\xa9t\xc3\xa9".as_slice(), &[0u8; 147]].concat(),
            ),
            attr(0x0821, 0x00, GUID.as_bytes()),
            attr(0x1001, 0x00, &[0xde, 0xad]),
        ]
    }

    #[test]
    fn parses_a_realistic_mam() {
        let attrs = realistic();
        let total: usize = attrs.iter().map(Vec::len).sum();
        let l = parse_values(&list(total, &attrs)).unwrap();
        assert!(!l.truncated);
        assert_eq!(l.attributes.len(), 11);
        assert_eq!(l.barcode().as_deref(), Some("ABC123L8"));
        assert_eq!(l.medium_serial().as_deref(), Some("1234567890ABCDEF"));
        assert_eq!(l.density_code(), Some(DensityCode::LTO8));
        assert_eq!(l.medium_type(), Some(MamMediumType::DATA));
        assert_eq!(l.pool_name().as_deref(), Some("Backups été"));
        assert_eq!(l.pool_guid(), Some(Uuid::parse_str(GUID).unwrap()));
        let serial = l.get(AttributeId::MEDIUM_SERIAL_NUMBER).unwrap();
        assert!(serial.read_only);
        assert_eq!(serial.format, AttributeFormat::ASCII);
        assert_eq!(
            l.get(AttributeId::MEDIUM_LENGTH).unwrap().as_u64(),
            Some(1035)
        );
        assert_eq!(l.get(AttributeId(0x1001)).unwrap().value, vec![0xde, 0xad]);
        assert_eq!(l.get(AttributeId::LOAD_COUNT), None);
    }

    #[test]
    fn tolerates_odd_replies() {
        let attrs = realistic();
        let total: usize = attrs.iter().map(Vec::len).sum();
        let full = list(total, &attrs);
        type Case = (&'static str, Vec<u8>, Result<(usize, bool), ParseError>);
        let cases: Vec<Case> = vec![
            ("empty list", list(0, &[]), Ok((0, false))),
            // Allocation length cut the reply inside the sixth attribute.
            ("cut", full[..85].to_vec(), Ok((5, true))),
            ("header only", full[..4].to_vec(), Ok((0, true))),
            // A header claiming fewer bytes: the attribute straddling its end is still read,
            // zero padding after it is not.
            (
                "short header",
                [list(8, &attrs[..1]), vec![0; 32]].concat(),
                Ok((1, false)),
            ),
            // Zero-length attribute values are legal.
            (
                "zero length",
                list(5, &[attr(0x0806, 0x01, b"")]),
                Ok((1, false)),
            ),
            (
                "no header",
                vec![0, 0, 1],
                Err(ParseError::Truncated {
                    what: "attribute list header",
                    needed: 4,
                    available: 3,
                }),
            ),
        ];
        for (name, input, want) in cases {
            let got = parse_values(&input).map(|l| (l.attributes.len(), l.truncated));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn missing_and_blank_attributes_are_none() {
        let l = parse_values(&list(0, &[])).unwrap();
        assert_eq!(
            (
                l.barcode(),
                l.medium_serial(),
                l.density_code(),
                l.medium_type(),
                l.pool_name(),
                l.pool_guid()
            ),
            (None, None, None, None, None, None)
        );
        let blanks = [
            attr(0x0401, 0x81, &[b' '; 32]),
            attr(0x0405, 0x81, &[0x5e, 0x00]), // wrong length
            attr(0x0806, 0x01, &[0; 32]),
            attr(0x0808, 0x02, &[0; 160]),
            attr(0x0821, 0x00, &[0; 36]),
        ];
        let total: usize = blanks.iter().map(Vec::len).sum();
        let l = parse_values(&list(total, &blanks)).unwrap();
        assert_eq!(l.attributes.len(), 5);
        assert_eq!(
            (
                l.barcode(),
                l.medium_serial(),
                l.density_code(),
                l.pool_name(),
                l.pool_guid()
            ),
            (None, None, None, None, None)
        );
    }

    #[test]
    fn decodes_guid_forms() {
        let u = Uuid::parse_str(GUID).unwrap();
        let raw = *u.as_bytes();
        let cases: Vec<(Vec<u8>, Option<Uuid>)> = vec![
            (GUID.as_bytes().to_vec(), Some(u)),
            (GUID.to_uppercase().into_bytes(), Some(u)),
            (raw.to_vec(), Some(u)),
            ([raw.as_slice(), &[0; 20]].concat(), Some(u)),
            ([GUID.as_bytes(), &[0; 4]].concat(), Some(u)),
            (vec![0; 36], None),
            (vec![b' '; 36], None),
            (vec![0xff; 36], None),
            (raw[..15].to_vec(), None),
            (vec![], None),
        ];
        for (input, want) in cases {
            assert_eq!(decode_guid(&input), want, "{input:02x?}");
        }
    }

    #[test]
    fn encodes_and_parses_back() {
        let u = Uuid::parse_str(GUID).unwrap();
        let attrs = vec![
            Attribute::barcode("ABC123L8"),
            Attribute::media_pool("Backups"),
            Attribute::media_pool_guid(u),
            Attribute {
                read_only: true,
                ..Attribute::binary(AttributeId::MEDIUM_DENSITY_CODE, [0x5e])
            },
        ];
        let bytes = encode_attributes(&attrs).unwrap();
        assert_eq!(
            &bytes[..4],
            &((5 + 32) + (5 + 160) + (5 + 36) + (5 + 1) as u32).to_be_bytes()
        );
        assert_eq!(&bytes[4..9], &[0x08, 0x06, 0x01, 0x00, 0x20]);
        assert_eq!(&bytes[9..17], b"ABC123L8");
        assert_eq!(&bytes[17..41], &[b' '; 24]);
        assert_eq!(&bytes[41..46], &[0x08, 0x08, 0x02, 0x00, 0xa0]);
        assert_eq!(&bytes[206..211], &[0x08, 0x21, 0x00, 0x00, 0x24]);
        assert_eq!(&bytes[211..247], GUID.as_bytes());
        assert_eq!(&bytes[247..252], &[0x04, 0x05, 0x80, 0x00, 0x01]);
        let l = parse_values(&bytes).unwrap();
        assert_eq!(l.attributes, attrs);
        assert_eq!(l.barcode().as_deref(), Some("ABC123L8"));
        assert_eq!(l.pool_name().as_deref(), Some("Backups"));
        assert_eq!(l.pool_guid(), Some(u));
        assert_eq!(l.density_code(), Some(DensityCode::LTO8));
        let huge = Attribute::binary(AttributeId(0x1000), vec![0; 70_000]);
        assert_eq!(
            encode_attributes(&[huge]),
            Err(AttributeTooLong {
                id: AttributeId(0x1000),
                len: 70_000
            })
        );
    }

    #[test]
    fn builders_pad_and_cut() {
        let cases: Vec<(Attribute, Vec<u8>)> = vec![
            (
                Attribute::ascii(AttributeId::BARCODE, "AB\u{e9}C", 6),
                b"AB??C ".to_vec(),
            ),
            (
                Attribute::ascii(AttributeId::BARCODE, "ABCDEFGH", 4),
                b"ABCD".to_vec(),
            ),
            // A two-byte character that does not fit is dropped whole.
            (
                Attribute::text(AttributeId::MEDIA_POOL, "ab\u{e9}", 3),
                b"ab\0".to_vec(),
            ),
            (
                Attribute::text(AttributeId::MEDIA_POOL, "ab", 4),
                b"ab\0\0".to_vec(),
            ),
        ];
        for (a, want) in cases {
            assert_eq!(a.value, want, "{a:?}");
        }
    }

    #[test]
    fn parses_id_lists() {
        type Case<'a> = (&'a [u8], Result<Vec<AttributeId>, ParseError>);
        let cases: &[Case] = &[
            (
                &[0, 0, 0, 4, 0x04, 0x01, 0x08, 0x06],
                Ok(vec![AttributeId(0x0401), AttributeId(0x0806)]),
            ),
            // Odd trailing byte, and a header claiming more than was sent.
            (
                &[0, 0, 0, 9, 0x04, 0x01, 0x08],
                Ok(vec![AttributeId(0x0401)]),
            ),
            (
                &[0, 0, 0],
                Err(ParseError::Truncated {
                    what: "attribute list header",
                    needed: 4,
                    available: 3,
                }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&parse_id_list(input), want, "{input:02x?}");
        }
    }

    #[test]
    fn code_tables_round_trip() {
        for &id in AttributeId::KNOWN {
            assert_eq!(AttributeId::from(id.0), id);
            if let Some((_, len)) = id.standard_format() {
                assert!(len > 0);
            }
        }
        for &f in AttributeFormat::KNOWN {
            assert_eq!(AttributeFormat::from(f.0), f);
        }
        for &t in MamMediumType::KNOWN {
            assert_eq!(MamMediumType::from(t.0), t);
        }
        for &s in ServiceAction::KNOWN {
            assert_eq!(ServiceAction::from(s.0), s);
        }
        assert_eq!(
            format!("{:?}", AttributeId::MEDIA_POOL_GUID),
            "MEDIA POOL GLOBALLY UNIQUE IDENTIFIER"
        );
        assert_eq!(format!("{:?}", AttributeId(0x1234)), "AttributeId(0x1234)");
        assert_eq!(format!("{:?}", AttributeFormat(3)), "AttributeFormat(0x03)");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(l) = parse_values(&bytes) {
                let used: usize = l.attributes.iter().map(|a| 5 + a.value.len()).sum();
                proptest::prop_assert!(HEADER_LEN + used <= bytes.len());
                let _ = (l.barcode(), l.medium_serial(), l.density_code(), l.medium_type(), l.pool_name(), l.pool_guid());
            } else {
                proptest::prop_assert!(bytes.len() < HEADER_LEN);
            }
            let _ = parse_id_list(&bytes);
            let _ = decode_guid(&bytes);
        }

        #[test]
        fn encoded_lists_parse_back(
            attrs in proptest::collection::vec(
                (proptest::num::u16::ANY, proptest::bool::ANY, 0u8..4, proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
                0..8,
            )
        ) {
            let attrs: Vec<Attribute> = attrs
                .into_iter()
                .map(|(id, read_only, format, value)| Attribute { id: AttributeId(id), read_only, format: AttributeFormat(format), value })
                .collect();
            let bytes = encode_attributes(&attrs).unwrap();
            let l = parse_values(&bytes).unwrap();
            proptest::prop_assert!(!l.truncated);
            proptest::prop_assert_eq!(l.attributes, attrs);
        }
    }
}
