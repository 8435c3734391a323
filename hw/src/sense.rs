//! SCSI sense data: decoding of the fixed and descriptor formats, encoding for device-side code
//! (the simulator), and the ASC/ASCQ text table (scsi-reference §3, SPC-5 §4.4).
//!
//! Decoding never panics and is tolerant in the way real devices need: a fixed-format reply
//! shorter than 18 bytes (or whose additional length says so) simply lacks the fields past its
//! end, and a descriptor cut short ends the descriptor list. Only bytes that are not sense data
//! at all (empty, unknown response code) are errors.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

/// Sense key (fixed format byte 2 bits 3..0, descriptor format byte 1 bits 3..0). Unknown values
/// pass through intact; the encoders write the low 4 bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SenseKey(pub u8);

impl SenseKey {
    /// No specific sense key information (often carries FILEMARK/EOM/ILI).
    pub const NO_SENSE: SenseKey = SenseKey(0x0);
    /// The command completed after a recovery action.
    pub const RECOVERED_ERROR: SenseKey = SenseKey(0x1);
    /// The logical unit cannot be accessed now.
    pub const NOT_READY: SenseKey = SenseKey(0x2);
    /// Unrecoverable error caused by a flaw in the medium.
    pub const MEDIUM_ERROR: SenseKey = SenseKey(0x3);
    /// Unrecoverable hardware failure.
    pub const HARDWARE_ERROR: SenseKey = SenseKey(0x4);
    /// Bad opcode, field or parameter in the command.
    pub const ILLEGAL_REQUEST: SenseKey = SenseKey(0x5);
    /// An event happened (reset, medium changed, mode parameters changed, ...).
    pub const UNIT_ATTENTION: SenseKey = SenseKey(0x6);
    /// The medium is protected against the operation.
    pub const DATA_PROTECT: SenseKey = SenseKey(0x7);
    /// Blank medium or end of data while reading.
    pub const BLANK_CHECK: SenseKey = SenseKey(0x8);
    /// Vendor-specific condition.
    pub const VENDOR_SPECIFIC: SenseKey = SenseKey(0x9);
    /// An EXTENDED COPY command was aborted.
    pub const COPY_ABORTED: SenseKey = SenseKey(0xA);
    /// The device aborted the command; retrying may work.
    pub const ABORTED_COMMAND: SenseKey = SenseKey(0xB);
    /// A buffered device reached the end of the partition with data left to write.
    pub const VOLUME_OVERFLOW: SenseKey = SenseKey(0xD);
    /// Source data did not match data read from the medium.
    pub const MISCOMPARE: SenseKey = SenseKey(0xE);
    /// A command completed (used with some informational sense).
    pub const COMPLETED: SenseKey = SenseKey(0xF);

    /// The key's name as SPC writes it, or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            SenseKey::NO_SENSE => "NO SENSE",
            SenseKey::RECOVERED_ERROR => "RECOVERED ERROR",
            SenseKey::NOT_READY => "NOT READY",
            SenseKey::MEDIUM_ERROR => "MEDIUM ERROR",
            SenseKey::HARDWARE_ERROR => "HARDWARE ERROR",
            SenseKey::ILLEGAL_REQUEST => "ILLEGAL REQUEST",
            SenseKey::UNIT_ATTENTION => "UNIT ATTENTION",
            SenseKey::DATA_PROTECT => "DATA PROTECT",
            SenseKey::BLANK_CHECK => "BLANK CHECK",
            SenseKey::VENDOR_SPECIFIC => "VENDOR SPECIFIC",
            SenseKey::COPY_ABORTED => "COPY ABORTED",
            SenseKey::ABORTED_COMMAND => "ABORTED COMMAND",
            SenseKey::VOLUME_OVERFLOW => "VOLUME OVERFLOW",
            SenseKey::MISCOMPARE => "MISCOMPARE",
            SenseKey::COMPLETED => "COMPLETED",
            _ => return None,
        })
    }
}

impl fmt::Debug for SenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "SenseKey({:#04x})", self.0),
        }
    }
}

impl fmt::Display for SenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "sense key {:#04x}", self.0),
        }
    }
}

/// Which of the two sense data formats the device used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseFormat {
    /// Fixed format, response code 0x70 (current) or 0x71 (deferred).
    Fixed,
    /// Descriptor format, response code 0x72 (current) or 0x73 (deferred).
    Descriptor,
}

/// `fixed` or `descriptor`, as SPC names the formats.
impl std::fmt::Display for SenseFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SenseFormat::Fixed => "fixed",
            SenseFormat::Descriptor => "descriptor",
        })
    }
}

/// The sense-key-specific field pointer (ILLEGAL REQUEST): which byte, and optionally which bit,
/// of the CDB or the parameter list the device refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldPointer {
    /// C/D bit: `true` when the error is in the CDB, `false` when in the parameter data.
    pub command: bool,
    /// Bit pointer (0..=7), when the device gave one (BPV set).
    pub bit: Option<u8>,
    /// Byte offset of the field in the CDB or the parameter list.
    pub byte: u16,
}

impl FieldPointer {
    /// Points at `byte` of the CDB.
    pub fn cdb(byte: u16) -> Self {
        FieldPointer {
            command: true,
            bit: None,
            byte,
        }
    }

    /// Points at `byte` of the parameter list (data-out buffer).
    pub fn parameter(byte: u16) -> Self {
        FieldPointer {
            command: false,
            bit: None,
            byte,
        }
    }

    /// The same pointer, narrowed to bit `bit` (0..=7; higher values are masked to 3 bits).
    pub fn with_bit(mut self, bit: u8) -> Self {
        self.bit = Some(bit & 0x07);
        self
    }

    fn encode(self) -> [u8; 3] {
        let mut b0 = 0x80; // SKSV
        if self.command {
            b0 |= 0x40;
        }
        if let Some(bit) = self.bit {
            b0 |= 0x08 | (bit & 0x07);
        }
        let [hi, lo] = self.byte.to_be_bytes();
        [b0, hi, lo]
    }

    fn decode(sks: [u8; 3]) -> Self {
        FieldPointer {
            command: sks[0] & 0x40 != 0,
            bit: (sks[0] & 0x08 != 0).then_some(sks[0] & 0x07),
            byte: u16::from_be_bytes([sks[1], sks[2]]),
        }
    }
}

impl fmt::Display for FieldPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.command {
            "CDB"
        } else {
            "parameter data"
        };
        write!(f, "{what} byte {}", self.byte)?;
        if let Some(bit) = self.bit {
            write!(f, " bit {bit}")?;
        }
        Ok(())
    }
}

/// Decoded sense data.
///
/// Fields a device did not send are `None`/`false`; ASC and ASCQ are 0 when the reply ended
/// before them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sense {
    /// The format the bytes were in (or will be encoded in by [`Sense::to_bytes`]).
    pub format: SenseFormat,
    /// True for a deferred error (response code 0x71/0x73): it belongs to an earlier command.
    pub deferred: bool,
    /// Sense key.
    pub key: SenseKey,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// INFORMATION field, when the device marked it valid (tape: residue or block count; disk:
    /// LBA). Fixed format carries 32 bits, descriptor format 64.
    pub information: Option<u64>,
    /// Field pointer (sense-key-specific, SKSV set, ILLEGAL REQUEST only).
    pub field_pointer: Option<FieldPointer>,
    /// Progress indication (sense-key-specific, SKSV set, NOT READY or NO SENSE only): the
    /// fraction done, in units of 1/65536.
    pub progress: Option<u16>,
    /// FILEMARK: a filemark or setmark was read (SSC).
    pub filemark: bool,
    /// EOM: end of medium or beginning of medium reached (SSC).
    pub eom: bool,
    /// ILI: the block length did not match the requested length (SSC).
    pub ili: bool,
}

/// Bytes that are not sense data.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SenseError {
    /// No sense bytes at all.
    #[error("no sense data")]
    Empty,
    /// Too short to hold even the sense key.
    #[error("sense data too short: {len} bytes, the {format} format needs at least {needed}")]
    TooShort {
        /// The format the response code announced.
        format: SenseFormat,
        /// Bytes received.
        len: usize,
        /// Bytes needed to reach the sense key.
        needed: usize,
    },
    /// The response code is neither fixed (0x70/0x71) nor descriptor (0x72/0x73) format.
    #[error("unknown sense response code {0:#04x} (expected 0x70..=0x73)")]
    UnknownResponseCode(u8),
}

/// Length of the fixed-format sense [`Sense::to_fixed_bytes`] writes.
pub const FIXED_SENSE_LEN: usize = 18;

/// Descriptor type codes (SPC-5 table 28).
mod descriptor_type {
    pub const INFORMATION: u8 = 0x00;
    pub const SENSE_KEY_SPECIFIC: u8 = 0x02;
    pub const STREAM_COMMANDS: u8 = 0x04;
    pub const BLOCK_COMMANDS: u8 = 0x05;
}

impl Sense {
    /// Current, fixed-format sense with `key`, `asc` and `ascq` and nothing else.
    pub fn new(key: SenseKey, asc: u8, ascq: u8) -> Self {
        Sense {
            format: SenseFormat::Fixed,
            deferred: false,
            key,
            asc,
            ascq,
            information: None,
            field_pointer: None,
            progress: None,
            filemark: false,
            eom: false,
            ili: false,
        }
    }

    /// The same sense with a field pointer (clears any progress indication: both live in the
    /// sense-key-specific bytes). Meaningful with ILLEGAL REQUEST only.
    pub fn with_field_pointer(mut self, pointer: FieldPointer) -> Self {
        self.field_pointer = Some(pointer);
        self.progress = None;
        self
    }

    /// The same sense with a progress indication in 1/65536 units (clears any field pointer).
    /// Meaningful with NOT READY or NO SENSE only.
    pub fn with_progress(mut self, progress: u16) -> Self {
        self.progress = Some(progress);
        self.field_pointer = None;
        self
    }

    /// The same sense with a valid INFORMATION field.
    pub fn with_information(mut self, information: u64) -> Self {
        self.information = Some(information);
        self
    }

    /// The same sense marked as a deferred error.
    pub fn deferred(mut self) -> Self {
        self.deferred = true;
        self
    }

    /// The same sense with the given FILEMARK, EOM and ILI bits.
    pub fn with_stream_flags(mut self, filemark: bool, eom: bool, ili: bool) -> Self {
        self.filemark = filemark;
        self.eom = eom;
        self.ili = ili;
        self
    }

    /// The same sense, to be encoded in `format` by [`Sense::to_bytes`].
    pub fn in_format(mut self, format: SenseFormat) -> Self {
        self.format = format;
        self
    }

    /// ASC and ASCQ as a pair, for matching: `if sense.code() == (0x04, 0x01)`.
    pub fn code(&self) -> (u8, u8) {
        (self.asc, self.ascq)
    }

    /// The ASC/ASCQ description, when the table knows it. See [`asc_text`].
    pub fn text(&self) -> Option<&'static str> {
        asc_text(self.asc, self.ascq)
    }

    /// Decodes sense bytes of either format.
    ///
    /// # Errors
    /// - [`SenseError::Empty`] for no bytes;
    /// - [`SenseError::UnknownResponseCode`] when byte 0 is not 0x70..=0x73;
    /// - [`SenseError::TooShort`] when the bytes end before the sense key.
    pub fn parse(bytes: &[u8]) -> Result<Sense, SenseError> {
        let first = *bytes.first().ok_or(SenseError::Empty)?;
        match first & 0x7F {
            0x70 | 0x71 => Ok(Self::parse_fixed(bytes, first & 0x7F == 0x71)?),
            0x72 | 0x73 => Ok(Self::parse_descriptor(bytes, first & 0x7F == 0x73)?),
            code => Err(SenseError::UnknownResponseCode(code)),
        }
    }

    fn parse_fixed(bytes: &[u8], deferred: bool) -> Result<Sense, SenseError> {
        const NEEDED: usize = 3;
        if bytes.len() < NEEDED {
            return Err(SenseError::TooShort {
                format: SenseFormat::Fixed,
                len: bytes.len(),
                needed: NEEDED,
            });
        }
        // The additional length (byte 7) bounds the valid bytes, as do the bytes received.
        let end = match bytes.get(7) {
            Some(&additional) => bytes.len().min(8 + usize::from(additional)),
            None => bytes.len(),
        };
        let b = &bytes[..end];
        let at = |i: usize| b.get(i).copied();

        let flags = b[2];
        let mut sense = Sense::new(SenseKey(flags & 0x0F), 0, 0);
        sense.deferred = deferred;
        sense.filemark = flags & 0x80 != 0;
        sense.eom = flags & 0x40 != 0;
        sense.ili = flags & 0x20 != 0;
        if bytes[0] & 0x80 != 0 {
            if let Some(info) = b.get(3..7) {
                sense.information = Some(u64::from(u32::from_be_bytes([
                    info[0], info[1], info[2], info[3],
                ])));
            }
        }
        sense.asc = at(12).unwrap_or(0);
        sense.ascq = at(13).unwrap_or(0);
        if let Some(&[s0, s1, s2]) = b.get(15..18) {
            sense.set_key_specific([s0, s1, s2]);
        }
        Ok(sense)
    }

    fn parse_descriptor(bytes: &[u8], deferred: bool) -> Result<Sense, SenseError> {
        const NEEDED: usize = 2;
        if bytes.len() < NEEDED {
            return Err(SenseError::TooShort {
                format: SenseFormat::Descriptor,
                len: bytes.len(),
                needed: NEEDED,
            });
        }
        let end = match bytes.get(7) {
            Some(&additional) => bytes.len().min(8 + usize::from(additional)),
            None => bytes.len(),
        };
        let b = &bytes[..end];
        let mut sense = Sense::new(SenseKey(b[1] & 0x0F), 0, 0);
        sense.format = SenseFormat::Descriptor;
        sense.deferred = deferred;
        sense.asc = b.get(2).copied().unwrap_or(0);
        sense.ascq = b.get(3).copied().unwrap_or(0);

        let mut rest = b.get(8..).unwrap_or(&[]);
        // Each descriptor: type, additional length, body. A descriptor cut short ends the list.
        while let [kind, len, tail @ ..] = rest {
            let Some(body) = tail.get(..usize::from(*len)) else {
                tracing::debug!(
                    descriptor_type = kind,
                    "sense descriptor truncated; ignoring the rest"
                );
                break;
            };
            sense.apply_descriptor(*kind, body);
            rest = &tail[body.len()..];
        }
        Ok(sense)
    }

    fn apply_descriptor(&mut self, kind: u8, body: &[u8]) {
        match kind {
            descriptor_type::INFORMATION => {
                // VALID bit, reserved, then an 8-byte INFORMATION field.
                if let (Some(&flags), Some(info)) = (body.first(), body.get(2..10)) {
                    if flags & 0x80 != 0 {
                        let mut v = [0u8; 8];
                        v.copy_from_slice(info);
                        self.information = Some(u64::from_be_bytes(v));
                    }
                }
            }
            descriptor_type::SENSE_KEY_SPECIFIC => {
                if let Some(&[s0, s1, s2]) = body.get(0..3) {
                    self.set_key_specific([s0, s1, s2]);
                }
            }
            descriptor_type::STREAM_COMMANDS => {
                if let Some(&flags) = body.get(1) {
                    self.filemark |= flags & 0x80 != 0;
                    self.eom |= flags & 0x40 != 0;
                    self.ili |= flags & 0x20 != 0;
                }
            }
            descriptor_type::BLOCK_COMMANDS => {
                if let Some(&flags) = body.get(1) {
                    self.ili |= flags & 0x20 != 0;
                }
            }
            _ => {}
        }
    }

    /// Interprets the three sense-key-specific bytes; they mean nothing unless SKSV is set.
    fn set_key_specific(&mut self, sks: [u8; 3]) {
        if sks[0] & 0x80 == 0 {
            return;
        }
        match self.key {
            SenseKey::ILLEGAL_REQUEST => self.field_pointer = Some(FieldPointer::decode(sks)),
            SenseKey::NOT_READY | SenseKey::NO_SENSE => {
                self.progress = Some(u16::from_be_bytes([sks[1], sks[2]]));
            }
            _ => {}
        }
    }

    fn key_specific_bytes(&self) -> Option<[u8; 3]> {
        if let Some(fp) = self.field_pointer {
            Some(fp.encode())
        } else {
            self.progress.map(|p| {
                let [hi, lo] = p.to_be_bytes();
                [0x80, hi, lo]
            })
        }
    }

    /// Encodes in [`Sense::format`].
    pub fn to_bytes(&self) -> Vec<u8> {
        match self.format {
            SenseFormat::Fixed => self.to_fixed_bytes(),
            SenseFormat::Descriptor => self.to_descriptor_bytes(),
        }
    }

    /// Encodes as 18 bytes of fixed-format sense (additional length 10).
    ///
    /// INFORMATION is written with VALID set when it fits in 32 bits; a larger value cannot be
    /// expressed in this format and is left out (VALID clear), as SPC requires.
    pub fn to_fixed_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; FIXED_SENSE_LEN];
        b[0] = if self.deferred { 0x71 } else { 0x70 };
        b[2] = (self.key.0 & 0x0F)
            | if self.filemark { 0x80 } else { 0 }
            | if self.eom { 0x40 } else { 0 }
            | if self.ili { 0x20 } else { 0 };
        if let Some(info) = self.information.and_then(|i| u32::try_from(i).ok()) {
            b[0] |= 0x80;
            b[3..7].copy_from_slice(&info.to_be_bytes());
        }
        b[7] = (FIXED_SENSE_LEN - 8) as u8;
        b[12] = self.asc;
        b[13] = self.ascq;
        if let Some(sks) = self.key_specific_bytes() {
            b[15..18].copy_from_slice(&sks);
        }
        b
    }

    /// Encodes as descriptor-format sense: the 8-byte header, then an information descriptor
    /// (when INFORMATION is set), a sense-key-specific descriptor (field pointer or progress)
    /// and a stream-commands descriptor (when FILEMARK, EOM or ILI is set), in that order.
    pub fn to_descriptor_bytes(&self) -> Vec<u8> {
        let mut b = vec![
            if self.deferred { 0x73 } else { 0x72 },
            self.key.0 & 0x0F,
            self.asc,
            self.ascq,
            0,
            0,
            0,
            0,
        ];
        if let Some(info) = self.information {
            b.extend_from_slice(&[descriptor_type::INFORMATION, 0x0A, 0x80, 0]);
            b.extend_from_slice(&info.to_be_bytes());
        }
        if let Some(sks) = self.key_specific_bytes() {
            b.extend_from_slice(&[descriptor_type::SENSE_KEY_SPECIFIC, 0x06]);
            b.extend_from_slice(&sks);
            b.extend_from_slice(&[0, 0, 0]);
        }
        if self.filemark || self.eom || self.ili {
            let flags = if self.filemark { 0x80 } else { 0 }
                | if self.eom { 0x40 } else { 0 }
                | if self.ili { 0x20 } else { 0 };
            b.extend_from_slice(&[descriptor_type::STREAM_COMMANDS, 0x02, 0, flags]);
        }
        // At most 8 + 12 + 8 + 4 bytes, so the additional length always fits.
        b[7] = (b.len() - 8) as u8;
        b
    }
}

impl fmt::Display for Sense {
    /// `ILLEGAL REQUEST, ASC/ASCQ 24/00: Invalid field in CDB (field pointer: CDB byte 2 bit 4)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deferred {
            f.write_str("deferred error: ")?;
        }
        write!(f, "{}, ", self.key)?;
        match asc_description(self.asc, self.ascq) {
            Some(text) => write!(f, "ASC/ASCQ {:02x}/{:02x}: {text}", self.asc, self.ascq)?,
            None => write!(f, "unknown ASC/ASCQ {:02x}/{:02x}", self.asc, self.ascq)?,
        }
        let mut extras: Vec<String> = Vec::new();
        if let Some(fp) = self.field_pointer {
            extras.push(format!("field pointer: {fp}"));
        }
        if let Some(p) = self.progress {
            extras.push(format!("progress: {}%", u32::from(p) * 100 / 65536));
        }
        if let Some(info) = self.information {
            extras.push(format!("information: {info:#x}"));
        }
        for (set, name) in [
            (self.filemark, "FILEMARK"),
            (self.eom, "EOM"),
            (self.ili, "ILI"),
        ] {
            if set {
                extras.push(name.to_owned());
            }
        }
        if !extras.is_empty() {
            write!(f, " ({})", extras.join(", "))?;
        }
        Ok(())
    }
}

/// The description of an ASC/ASCQ pair (SPC-5 Annex F wording), or `None` for a pair this table
/// does not know.
///
/// Besides exact entries, the table knows the ranges whose qualifier is a number (the text then
/// contains `NN`, which [`asc_description`] fills in with the qualifier) and describes the
/// vendor-specific ranges generically: ASC 80h..FFh, and ASCQ 80h..FFh under a standard ASC.
pub fn asc_text(asc: u8, ascq: u8) -> Option<&'static str> {
    lookup(asc, ascq).map(|(text, _)| text)
}

/// The description of an ASC/ASCQ pair as reel prints it: [`asc_text`] with a numbered range's
/// `NN` replaced by the qualifier in hex (`Diagnostic failure on component 85h (80h-FFh)`);
/// `None` for a pair the table does not know. The one place `NN` is filled in.
pub fn asc_description(asc: u8, ascq: u8) -> Option<Cow<'static, str>> {
    lookup(asc, ascq).map(|(text, numbered)| {
        if numbered {
            Cow::Owned(text.replace("NN", &format!("{ascq:02x}h")))
        } else {
            Cow::Borrowed(text)
        }
    })
}

/// [`asc_description`], or `ASC/ASCQ 7F/01` for a pair the table does not know: a text for
/// every pair, for reports that always show one.
pub fn asc_label(asc: u8, ascq: u8) -> Cow<'static, str> {
    asc_description(asc, ascq)
        .unwrap_or_else(|| Cow::Owned(format!("ASC/ASCQ {asc:02X}/{ascq:02X}")))
}

/// The description and whether it comes from a numbered range (its `NN` stands for the ASCQ).
fn lookup(asc: u8, ascq: u8) -> Option<(&'static str, bool)> {
    if let Ok(i) = ASC_TABLE.binary_search_by_key(&(asc, ascq), |&(a, q, _)| (a, q)) {
        return Some((ASC_TABLE[i].2, false));
    }
    if let Some(&(_, _, _, text)) = ASC_RANGES
        .iter()
        .find(|&&(a, lo, hi, _)| a == asc && (lo..=hi).contains(&ascq))
    {
        return Some((text, true));
    }
    if asc >= 0x80 {
        Some(("Vendor specific", false))
    } else if ascq >= 0x80 {
        Some(("Vendor specific qualifier", false))
    } else {
        None
    }
}

/// ASC ranges whose ASCQ is a number: (ASC, lowest ASCQ, highest ASCQ, text with `NN`).
const ASC_RANGES: &[(u8, u8, u8, &str)] = &[
    (
        0x40,
        0x80,
        0xFF,
        "Diagnostic failure on component NN (80h-FFh)",
    ),
    (0x4D, 0x00, 0xFF, "Tagged overlapped commands (task tag NN)"),
    (
        0x70,
        0x00,
        0xFF,
        "Decompression exception short algorithm id of NN",
    ),
];

/// Exact ASC/ASCQ entries, sorted by (ASC, ASCQ) for binary search.
#[rustfmt::skip]
const ASC_TABLE: &[(u8, u8, &str)] = &[
    (0x00, 0x00, "No additional sense information"),
    (0x00, 0x01, "Filemark detected"),
    (0x00, 0x02, "End-of-partition/medium detected"),
    (0x00, 0x03, "Setmark detected"),
    (0x00, 0x04, "Beginning-of-partition/medium detected"),
    (0x00, 0x05, "End-of-data detected"),
    (0x00, 0x06, "I/O process terminated"),
    (0x00, 0x07, "Programmable early warning detected"),
    (0x00, 0x16, "Operation in progress"),
    (0x00, 0x17, "Cleaning requested"),
    (0x00, 0x18, "Erase operation in progress"),
    (0x00, 0x19, "Locate operation in progress"),
    (0x00, 0x1A, "Rewind operation in progress"),
    (0x00, 0x1B, "Set capacity operation in progress"),
    (0x00, 0x1C, "Verify operation in progress"),
    (0x00, 0x1D, "ATA pass through information available"),
    (0x00, 0x1E, "Conflicting SA creation request"),
    (0x01, 0x00, "No index/sector signal"),
    (0x02, 0x00, "No seek complete"),
    (0x03, 0x00, "Peripheral device write fault"),
    (0x03, 0x01, "No write current"),
    (0x03, 0x02, "Excessive write errors"),
    (0x04, 0x00, "Logical unit not ready, cause not reportable"),
    (0x04, 0x01, "Logical unit is in process of becoming ready"),
    (0x04, 0x02, "Logical unit not ready, initializing command required"),
    (0x04, 0x03, "Logical unit not ready, manual intervention required"),
    (0x04, 0x04, "Logical unit not ready, format in progress"),
    (0x04, 0x05, "Logical unit not ready, rebuild in progress"),
    (0x04, 0x06, "Logical unit not ready, recalculation in progress"),
    (0x04, 0x07, "Logical unit not ready, operation in progress"),
    (0x04, 0x08, "Logical unit not ready, long write in progress"),
    (0x04, 0x09, "Logical unit not ready, self-test in progress"),
    (0x04, 0x0A, "Logical unit not accessible, asymmetric access state transition"),
    (0x04, 0x0B, "Logical unit not accessible, target port in standby state"),
    (0x04, 0x0C, "Logical unit not accessible, target port in unavailable state"),
    (0x04, 0x0D, "Logical unit not ready, structure check required"),
    (0x04, 0x0E, "Logical unit not ready, security session in progress"),
    (0x04, 0x10, "Logical unit not ready, auxiliary memory not accessible"),
    (0x04, 0x11, "Logical unit not ready, notify (enable spinup) required"),
    (0x04, 0x12, "Logical unit not ready, offline"),
    (0x04, 0x13, "Logical unit not ready, SA creation in progress"),
    (0x04, 0x14, "Logical unit not ready, space allocation in progress"),
    (0x04, 0x15, "Logical unit not ready, robotics disabled"),
    (0x04, 0x16, "Logical unit not ready, configuration required"),
    (0x04, 0x17, "Logical unit not ready, calibration required"),
    (0x04, 0x18, "Logical unit not ready, a door is open"),
    (0x04, 0x19, "Logical unit not ready, operating in sequential mode"),
    (0x04, 0x1A, "Logical unit not ready, START STOP UNIT command in progress"),
    (0x04, 0x1B, "Logical unit not ready, sanitize in progress"),
    (0x04, 0x1C, "Logical unit not ready, additional power use not yet granted"),
    (0x04, 0x1D, "Logical unit not ready, configuration in progress"),
    (0x04, 0x1E, "Logical unit not ready, microcode activation required"),
    (0x04, 0x1F, "Logical unit not ready, microcode download required"),
    (0x04, 0x20, "Logical unit not ready, logical unit reset required"),
    (0x04, 0x21, "Logical unit not ready, hard reset required"),
    (0x04, 0x22, "Logical unit not ready, power cycle required"),
    (0x04, 0x23, "Logical unit not ready, affiliation required"),
    (0x04, 0x24, "Depopulation in progress"),
    (0x05, 0x00, "Logical unit does not respond to selection"),
    (0x06, 0x00, "No reference position found"),
    (0x07, 0x00, "Multiple peripheral devices selected"),
    (0x08, 0x00, "Logical unit communication failure"),
    (0x08, 0x01, "Logical unit communication time-out"),
    (0x08, 0x02, "Logical unit communication parity error"),
    (0x08, 0x03, "Logical unit communication CRC error (Ultra-DMA/32)"),
    (0x08, 0x04, "Unreachable copy target"),
    (0x09, 0x00, "Track following error"),
    (0x0A, 0x00, "Error log overflow"),
    (0x0B, 0x00, "Warning"),
    (0x0B, 0x01, "Warning - specified temperature exceeded"),
    (0x0B, 0x02, "Warning - enclosure degraded"),
    (0x0B, 0x03, "Warning - background self-test failed"),
    (0x0C, 0x00, "Write error"),
    (0x0C, 0x04, "Compression check miscompare error"),
    (0x0C, 0x05, "Data expansion occurred during compression"),
    (0x0C, 0x06, "Block not compressible"),
    (0x0C, 0x07, "Write error - recovery needed"),
    (0x0C, 0x08, "Write error - recovery failed"),
    (0x0C, 0x09, "Write error - loss of streaming"),
    (0x0C, 0x0A, "Write error - padding blocks added"),
    (0x0C, 0x0B, "Auxiliary memory write error"),
    (0x0C, 0x0C, "Write error - unexpected unsolicited data"),
    (0x0C, 0x0D, "Write error - not enough unsolicited data"),
    (0x0E, 0x01, "Information unit too short"),
    (0x0E, 0x02, "Information unit too long"),
    (0x0E, 0x03, "Invalid field in command information unit"),
    (0x10, 0x00, "ID CRC or ECC error"),
    (0x11, 0x00, "Unrecovered read error"),
    (0x11, 0x01, "Read retries exhausted"),
    (0x11, 0x02, "Error too long to correct"),
    (0x11, 0x03, "Multiple read errors"),
    (0x11, 0x08, "Incomplete block read"),
    (0x11, 0x09, "No gap found"),
    (0x11, 0x0A, "Miscorrected error"),
    (0x11, 0x0D, "De-compression CRC error"),
    (0x11, 0x0E, "Cannot decompress using declared algorithm"),
    (0x11, 0x11, "Read error - loss of streaming"),
    (0x11, 0x12, "Auxiliary memory read error"),
    (0x11, 0x13, "Read error - failed retransmission request"),
    (0x14, 0x00, "Recorded entity not found"),
    (0x14, 0x01, "Record not found"),
    (0x14, 0x02, "Filemark or setmark not found"),
    (0x14, 0x03, "End-of-data not found"),
    (0x14, 0x04, "Block sequence error"),
    (0x14, 0x05, "Record not found - recommend reassignment"),
    (0x14, 0x06, "Record not found - data auto-reallocated"),
    (0x14, 0x07, "Locate operation failure"),
    (0x15, 0x00, "Random positioning error"),
    (0x15, 0x01, "Mechanical positioning error"),
    (0x15, 0x02, "Positioning error detected by read of medium"),
    (0x17, 0x00, "Recovered data with no error correction applied"),
    (0x17, 0x01, "Recovered data with retries"),
    (0x18, 0x00, "Recovered data with error correction applied"),
    (0x1A, 0x00, "Parameter list length error"),
    (0x1B, 0x00, "Synchronous data transfer error"),
    (0x1D, 0x00, "Miscompare during verify operation"),
    (0x20, 0x00, "Invalid command operation code"),
    (0x20, 0x01, "Access denied - initiator pending-enrolled"),
    (0x20, 0x02, "Access denied - no access rights"),
    (0x20, 0x03, "Access denied - invalid mgmt id key"),
    (0x20, 0x08, "Access denied - enrollment conflict"),
    (0x20, 0x09, "Access denied - invalid LU identifier"),
    (0x20, 0x0A, "Access denied - invalid proxy token"),
    (0x20, 0x0B, "Access denied - ACL LUN conflict"),
    (0x20, 0x0C, "Illegal command when not in append-only mode"),
    (0x21, 0x00, "Logical block address out of range"),
    (0x21, 0x01, "Invalid element address"),
    (0x21, 0x02, "Invalid address for write"),
    (0x21, 0x03, "Invalid write crossing layer jump"),
    (0x22, 0x00, "Illegal function (use 20 00, 24 00, or 26 00)"),
    (0x24, 0x00, "Invalid field in CDB"),
    (0x24, 0x01, "CDB decryption error"),
    (0x24, 0x08, "Invalid XCDB"),
    (0x25, 0x00, "Logical unit not supported"),
    (0x26, 0x00, "Invalid field in parameter list"),
    (0x26, 0x01, "Parameter not supported"),
    (0x26, 0x02, "Parameter value invalid"),
    (0x26, 0x03, "Threshold parameters not supported"),
    (0x26, 0x04, "Invalid release of persistent reservation"),
    (0x26, 0x05, "Data decryption error"),
    (0x26, 0x06, "Too many target descriptors"),
    (0x26, 0x07, "Unsupported target descriptor type code"),
    (0x26, 0x08, "Too many segment descriptors"),
    (0x26, 0x09, "Unsupported segment descriptor type code"),
    (0x26, 0x0A, "Unexpected inexact segment"),
    (0x26, 0x0B, "Inline data length exceeded"),
    (0x26, 0x0C, "Invalid operation for copy source or destination"),
    (0x26, 0x0D, "Copy segment granularity violation"),
    (0x26, 0x0E, "Invalid parameter while port is enabled"),
    (0x26, 0x10, "Data decryption key fail limit reached"),
    (0x26, 0x11, "Incomplete key-associated data set"),
    (0x26, 0x12, "Vendor specific key reference not found"),
    (0x26, 0x14, "Tape stream mirroring prevented"),
    (0x27, 0x00, "Write protected"),
    (0x27, 0x01, "Hardware write protected"),
    (0x27, 0x02, "Logical unit software write protected"),
    (0x27, 0x03, "Associated write protect"),
    (0x27, 0x04, "Persistent write protect"),
    (0x27, 0x05, "Permanent write protect"),
    (0x27, 0x06, "Conditional write protect"),
    (0x28, 0x00, "Not ready to ready change, medium may have changed"),
    (0x28, 0x01, "Import or export element accessed"),
    (0x28, 0x02, "Format-layer may have changed"),
    (0x28, 0x03, "Import/export element accessed, medium changed"),
    (0x29, 0x00, "Power on, reset, or bus device reset occurred"),
    (0x29, 0x01, "Power on occurred"),
    (0x29, 0x02, "SCSI bus reset occurred"),
    (0x29, 0x03, "Bus device reset function occurred"),
    (0x29, 0x04, "Device internal reset"),
    (0x29, 0x05, "Transceiver mode changed to single-ended"),
    (0x29, 0x06, "Transceiver mode changed to LVD"),
    (0x29, 0x07, "I_T nexus loss occurred"),
    (0x2A, 0x00, "Parameters changed"),
    (0x2A, 0x01, "Mode parameters changed"),
    (0x2A, 0x02, "Log parameters changed"),
    (0x2A, 0x03, "Reservations preempted"),
    (0x2A, 0x04, "Reservations released"),
    (0x2A, 0x05, "Registrations preempted"),
    (0x2A, 0x06, "Asymmetric access state changed"),
    (0x2A, 0x07, "Implicit asymmetric access state transition failed"),
    (0x2A, 0x08, "Priority changed"),
    (0x2A, 0x09, "Capacity data has changed"),
    (0x2A, 0x10, "Timestamp changed"),
    (0x2A, 0x11, "Data encryption parameters changed by another I_T nexus"),
    (0x2A, 0x12, "Data encryption parameters changed by vendor specific event"),
    (0x2A, 0x13, "Data encryption key instance counter has changed"),
    (0x2A, 0x14, "SA creation capabilities data has changed"),
    (0x2A, 0x15, "Medium removal prevention preempted"),
    (0x2B, 0x00, "Copy cannot execute since host cannot disconnect"),
    (0x2C, 0x00, "Command sequence error"),
    (0x2C, 0x07, "Previous busy status"),
    (0x2C, 0x08, "Previous task set full status"),
    (0x2C, 0x09, "Previous reservation conflict status"),
    (0x2C, 0x0B, "Not reserved"),
    (0x2E, 0x00, "Insufficient time for operation"),
    (0x2E, 0x01, "Command timeout before processing"),
    (0x2E, 0x02, "Command timeout during processing"),
    (0x2E, 0x03, "Command timeout during processing due to error recovery"),
    (0x2F, 0x00, "Commands cleared by another initiator"),
    (0x2F, 0x01, "Commands cleared by power loss notification"),
    (0x2F, 0x02, "Commands cleared by device server"),
    (0x30, 0x00, "Incompatible medium installed"),
    (0x30, 0x01, "Cannot read medium - unknown format"),
    (0x30, 0x02, "Cannot read medium - incompatible format"),
    (0x30, 0x03, "Cleaning cartridge installed"),
    (0x30, 0x04, "Cannot write medium - unknown format"),
    (0x30, 0x05, "Cannot write medium - incompatible format"),
    (0x30, 0x06, "Cannot format medium - incompatible medium"),
    (0x30, 0x07, "Cleaning failure"),
    (0x30, 0x0A, "Cleaning request rejected"),
    (0x30, 0x0B, "Cleaning tape expired"),
    (0x30, 0x0C, "WORM medium - overwrite attempted"),
    (0x30, 0x0D, "WORM medium - integrity check"),
    (0x30, 0x10, "Medium not formatted"),
    (0x30, 0x11, "Incompatible volume type"),
    (0x30, 0x12, "Incompatible volume qualifier"),
    (0x30, 0x13, "Cleaning volume expired"),
    (0x31, 0x00, "Medium format corrupted"),
    (0x31, 0x01, "Format command failed"),
    (0x33, 0x00, "Tape length error"),
    (0x37, 0x00, "Rounded parameter"),
    (0x39, 0x00, "Saving parameters not supported"),
    (0x3A, 0x00, "Medium not present"),
    (0x3A, 0x01, "Medium not present - tray closed"),
    (0x3A, 0x02, "Medium not present - tray open"),
    (0x3A, 0x03, "Medium not present - loadable"),
    (0x3A, 0x04, "Medium not present - medium auxiliary memory accessible"),
    (0x3B, 0x00, "Sequential positioning error"),
    (0x3B, 0x01, "Tape position error at beginning-of-medium"),
    (0x3B, 0x02, "Tape position error at end-of-medium"),
    (0x3B, 0x08, "Reposition error"),
    (0x3B, 0x09, "Read past end of medium"),
    (0x3B, 0x0A, "Read past beginning of medium"),
    (0x3B, 0x0B, "Position past end of medium"),
    (0x3B, 0x0C, "Position past beginning of medium"),
    (0x3B, 0x0D, "Medium destination element full"),
    (0x3B, 0x0E, "Medium source element empty"),
    (0x3B, 0x0F, "End of medium reached"),
    (0x3B, 0x11, "Medium magazine not accessible"),
    (0x3B, 0x12, "Medium magazine removed"),
    (0x3B, 0x13, "Medium magazine inserted"),
    (0x3B, 0x14, "Medium magazine locked"),
    (0x3B, 0x15, "Medium magazine unlocked"),
    (0x3B, 0x16, "Mechanical positioning or changer error"),
    (0x3B, 0x18, "Element disabled"),
    (0x3B, 0x19, "Element enabled"),
    (0x3B, 0x1A, "Data transfer device removed"),
    (0x3B, 0x1B, "Data transfer device inserted"),
    (0x3B, 0x1C, "Too many logical objects on partition to support operation"),
    (0x3B, 0x20, "Element static information changed"),
    (0x3D, 0x00, "Invalid bits in IDENTIFY message"),
    (0x3E, 0x00, "Logical unit has not self-configured yet"),
    (0x3E, 0x01, "Logical unit failure"),
    (0x3E, 0x02, "Timeout on logical unit"),
    (0x3E, 0x03, "Logical unit failed self-test"),
    (0x3E, 0x04, "Logical unit unable to update self-test log"),
    (0x3F, 0x00, "Target operating conditions have changed"),
    (0x3F, 0x01, "Microcode has been changed"),
    (0x3F, 0x02, "Changed operating definition"),
    (0x3F, 0x03, "INQUIRY data has changed"),
    (0x3F, 0x04, "Component device attached"),
    (0x3F, 0x05, "Device identifier changed"),
    (0x3F, 0x0E, "Reported LUNs data has changed"),
    (0x3F, 0x0F, "Echo buffer overwritten"),
    (0x3F, 0x10, "Medium loadable"),
    (0x3F, 0x11, "Medium auxiliary memory accessible"),
    (0x40, 0x00, "RAM failure (should use 40 NN)"),
    (0x41, 0x00, "Data path failure (should use 40 NN)"),
    (0x42, 0x00, "Power-on or self-test failure (should use 40 NN)"),
    (0x43, 0x00, "Message error"),
    (0x44, 0x00, "Internal target failure"),
    (0x44, 0x01, "Persistent reservation information lost"),
    (0x44, 0x71, "ATA device failed set features"),
    (0x45, 0x00, "Select or reselect failure"),
    (0x47, 0x00, "SCSI parity error"),
    (0x47, 0x01, "Data phase CRC error detected"),
    (0x48, 0x00, "Initiator detected error message received"),
    (0x49, 0x00, "Invalid message error"),
    (0x4A, 0x00, "Command phase error"),
    (0x4B, 0x00, "Data phase error"),
    (0x4B, 0x01, "Invalid target port transfer tag received"),
    (0x4B, 0x02, "Too much write data"),
    (0x4B, 0x03, "ACK/NAK timeout"),
    (0x4B, 0x04, "NAK received"),
    (0x4B, 0x05, "Data offset error"),
    (0x4B, 0x06, "Initiator response timeout"),
    (0x4C, 0x00, "Logical unit failed self-configuration"),
    (0x4E, 0x00, "Overlapped commands attempted"),
    (0x50, 0x00, "Write append error"),
    (0x50, 0x01, "Write append position error"),
    (0x50, 0x02, "Position error related to timing"),
    (0x51, 0x00, "Erase failure"),
    (0x51, 0x01, "Erase failure - incomplete erase operation detected"),
    (0x52, 0x00, "Cartridge fault"),
    (0x53, 0x00, "Media load or eject failed"),
    (0x53, 0x01, "Unload tape failure"),
    (0x53, 0x02, "Medium removal prevented"),
    (0x53, 0x03, "Medium removal prevented by data transfer element"),
    (0x53, 0x04, "Medium thread or unthread failure"),
    (0x53, 0x05, "Volume identifier invalid"),
    (0x53, 0x06, "Volume identifier missing"),
    (0x53, 0x07, "Duplicate volume identifier"),
    (0x53, 0x08, "Element status unknown"),
    (0x53, 0x09, "Data transfer device error - load failed"),
    (0x53, 0x0A, "Data transfer device error - unload failed"),
    (0x53, 0x0B, "Data transfer device error - unload missing"),
    (0x53, 0x0C, "Data transfer device error - eject failed"),
    (0x53, 0x0D, "Data transfer device error - library communication failed"),
    (0x55, 0x00, "System resource failure"),
    (0x55, 0x01, "System buffer full"),
    (0x55, 0x02, "Insufficient reservation resources"),
    (0x55, 0x03, "Insufficient resources"),
    (0x55, 0x04, "Insufficient registration resources"),
    (0x55, 0x06, "Auxiliary memory out of space"),
    (0x55, 0x07, "Quota error"),
    (0x55, 0x08, "Maximum number of supplemental decryption keys exceeded"),
    (0x55, 0x09, "Medium auxiliary memory not accessible"),
    (0x55, 0x0A, "Data currently unavailable"),
    (0x57, 0x00, "Unable to recover table-of-contents"),
    (0x5A, 0x00, "Operator request or state change input"),
    (0x5A, 0x01, "Operator medium removal request"),
    (0x5A, 0x02, "Operator selected write protect"),
    (0x5A, 0x03, "Operator selected write permit"),
    (0x5B, 0x00, "Log exception"),
    (0x5B, 0x01, "Threshold condition met"),
    (0x5B, 0x02, "Log counter at maximum"),
    (0x5B, 0x03, "Log list codes exhausted"),
    (0x5D, 0x00, "Failure prediction threshold exceeded"),
    (0x5D, 0x01, "Media failure prediction threshold exceeded"),
    (0x5D, 0x02, "Logical unit failure prediction threshold exceeded"),
    (0x5D, 0xFF, "Failure prediction threshold exceeded (false)"),
    (0x5E, 0x00, "Low power condition on"),
    (0x5E, 0x01, "Idle condition activated by timer"),
    (0x5E, 0x02, "Standby condition activated by timer"),
    (0x5E, 0x03, "Idle condition activated by command"),
    (0x5E, 0x04, "Standby condition activated by command"),
    (0x65, 0x00, "Voltage fault"),
    (0x71, 0x00, "Decompression exception long algorithm id"),
    (0x74, 0x00, "Security error"),
    (0x74, 0x01, "Unable to decrypt data"),
    (0x74, 0x02, "Unencrypted data encountered while decrypting"),
    (0x74, 0x03, "Incorrect data encryption key"),
    (0x74, 0x04, "Cryptographic integrity validation failed"),
    (0x74, 0x05, "Error decrypting data"),
    (0x74, 0x06, "Unknown signature verification key"),
    (0x74, 0x07, "Encryption parameters not useable"),
    (0x74, 0x08, "Digital signature validation failure"),
    (0x74, 0x09, "Encryption mode mismatch on read"),
    (0x74, 0x0A, "Encrypted block not raw read enabled"),
    (0x74, 0x0B, "Incorrect encryption parameters"),
    (0x74, 0x0C, "Unable to decrypt parameter list"),
    (0x74, 0x0D, "Encryption algorithm disabled"),
    (0x74, 0x10, "SA creation parameter value invalid"),
    (0x74, 0x11, "SA creation parameter value rejected"),
    (0x74, 0x12, "Invalid SA usage"),
    (0x74, 0x21, "Data encryption configuration prevented"),
    (0x74, 0x30, "SA creation parameter not supported"),
    (0x74, 0x40, "Authentication failed"),
    (0x74, 0x61, "External data encryption key manager access error"),
    (0x74, 0x62, "External data encryption key manager error"),
    (0x74, 0x63, "External data encryption key not found"),
    (0x74, 0x64, "External data encryption request not authorized"),
    (0x74, 0x6E, "External data encryption control timeout"),
    (0x74, 0x6F, "External data encryption control error"),
    (0x74, 0x71, "Logical unit access not authorized"),
    (0x74, 0x79, "Security conflict in translated device"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nn_is_filled_only_in_numbered_ranges() {
        let cases: &[(u8, u8, Option<&str>, &str)] = &[
            (
                0x40,
                0x85,
                Some("Diagnostic failure on component 85h (80h-FFh)"),
                "Diagnostic failure on component 85h (80h-FFh)",
            ),
            (
                0x4D,
                0x1F,
                Some("Tagged overlapped commands (task tag 1fh)"),
                "Tagged overlapped commands (task tag 1fh)",
            ),
            // An exact entry whose text says NN keeps it.
            (
                0x40,
                0x00,
                Some("RAM failure (should use 40 NN)"),
                "RAM failure (should use 40 NN)",
            ),
            (
                0x3B,
                0x0E,
                Some("Medium source element empty"),
                "Medium source element empty",
            ),
            (0x7F, 0x01, None, "ASC/ASCQ 7F/01"),
        ];
        for &(asc, ascq, description, label) in cases {
            assert_eq!(
                asc_description(asc, ascq).as_deref(),
                description,
                "{asc:02x}/{ascq:02x}"
            );
            assert_eq!(asc_label(asc, ascq), label, "{asc:02x}/{ascq:02x}");
        }
    }

    #[test]
    fn sense_key_names_and_debug() {
        let named = [
            (0x0, "NO SENSE"),
            (0x1, "RECOVERED ERROR"),
            (0x2, "NOT READY"),
            (0x3, "MEDIUM ERROR"),
            (0x4, "HARDWARE ERROR"),
            (0x5, "ILLEGAL REQUEST"),
            (0x6, "UNIT ATTENTION"),
            (0x7, "DATA PROTECT"),
            (0x8, "BLANK CHECK"),
            (0x9, "VENDOR SPECIFIC"),
            (0xA, "COPY ABORTED"),
            (0xB, "ABORTED COMMAND"),
            (0xD, "VOLUME OVERFLOW"),
            (0xE, "MISCOMPARE"),
            (0xF, "COMPLETED"),
        ];
        for v in 0..=255u8 {
            let key = SenseKey(v);
            match named.iter().find(|(k, _)| *k == v) {
                Some((_, name)) => {
                    assert_eq!(key.name(), Some(*name));
                    assert_eq!(format!("{key:?}"), *name);
                    assert_eq!(key.to_string(), *name);
                }
                None => {
                    assert_eq!(key.name(), None);
                    assert_eq!(format!("{key:?}"), format!("SenseKey({v:#04x})"));
                }
            }
        }
        assert_eq!(SenseKey(0x0C).to_string(), "sense key 0x0c");
    }

    /// (bytes, expected) for hand-built replies.
    fn parse_cases() -> Vec<(&'static str, Vec<u8>, Sense)> {
        vec![
            (
                "fixed, ILLEGAL REQUEST 24/00 with CDB field pointer byte 2 bit 4",
                vec![
                    0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x24, 0x00, 0, 0xCC, 0x00, 0x02,
                ],
                Sense::new(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00)
                    .with_field_pointer(FieldPointer::cdb(2).with_bit(4)),
            ),
            (
                "fixed, parameter-data field pointer without bit, byte 0x0104",
                vec![
                    0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x26, 0x00, 0, 0x80, 0x01, 0x04,
                ],
                Sense::new(SenseKey::ILLEGAL_REQUEST, 0x26, 0x00)
                    .with_field_pointer(FieldPointer::parameter(0x104)),
            ),
            (
                "fixed, SKSV clear: no field pointer",
                vec![
                    0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x20, 0x00, 0, 0x4C, 0x00, 0x02,
                ],
                Sense::new(SenseKey::ILLEGAL_REQUEST, 0x20, 0x00),
            ),
            (
                "fixed, NOT READY 04/01 with progress 0x8000",
                vec![
                    0x70, 0, 0x02, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x04, 0x01, 0, 0x80, 0x80, 0x00,
                ],
                Sense::new(SenseKey::NOT_READY, 0x04, 0x01).with_progress(0x8000),
            ),
            (
                "fixed deferred, VALID + information, FILEMARK",
                vec![
                    0xF1, 0, 0x80, 0x00, 0x00, 0x01, 0x02, 0x0A, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0,
                ],
                Sense::new(SenseKey::NO_SENSE, 0x00, 0x01)
                    .deferred()
                    .with_information(0x102)
                    .with_stream_flags(true, false, false),
            ),
            (
                "fixed, information present but VALID clear: ignored; EOM + ILI",
                vec![
                    0x70, 0, 0x68, 0xFF, 0xFF, 0xFF, 0xFF, 0x0A, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0,
                ],
                Sense::new(SenseKey(0x08), 0x00, 0x02).with_stream_flags(false, true, true),
            ),
            (
                "fixed, 8 bytes, additional length 0: key only",
                vec![0x70, 0, 0x06, 0, 0, 0, 0, 0x00],
                Sense::new(SenseKey::UNIT_ATTENTION, 0, 0),
            ),
            (
                "fixed, additional length 4 hides ASC/ASCQ and SKS",
                vec![
                    0x70, 0, 0x05, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x24, 0x00, 0, 0xC0, 0, 1,
                ],
                Sense::new(SenseKey::ILLEGAL_REQUEST, 0, 0),
            ),
            (
                "fixed, 14 bytes (no SKS bytes), additional length claims 10",
                vec![0x70, 0, 0x06, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x28, 0x01],
                Sense::new(SenseKey::UNIT_ATTENTION, 0x28, 0x01),
            ),
            (
                "fixed, 3 bytes only",
                vec![0x70, 0, 0x02],
                Sense::new(SenseKey::NOT_READY, 0, 0),
            ),
            (
                "fixed with additional sense bytes past 18",
                vec![
                    0x70, 0, 0x03, 0, 0, 0, 0, 0x0E, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0, 1, 2, 3, 4,
                ],
                Sense::new(SenseKey::MEDIUM_ERROR, 0x11, 0x00),
            ),
            (
                "descriptor, header only",
                vec![0x72, 0x06, 0x29, 0x01, 0, 0, 0, 0],
                Sense::new(SenseKey::UNIT_ATTENTION, 0x29, 0x01).in_format(SenseFormat::Descriptor),
            ),
            (
                "descriptor deferred, information + SKS + stream commands",
                vec![
                    0x73, 0x05, 0x24, 0x00, 0, 0, 0, 24, // header
                    0x00, 0x0A, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 2, // information
                    0x02, 0x06, 0xCB, 0x00, 0x01, 0, 0, 0, // SKS: CDB byte 1 bit 3
                    0x04, 0x02, 0x00, 0xE0, // stream: FILEMARK EOM ILI
                ],
                Sense::new(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00)
                    .in_format(SenseFormat::Descriptor)
                    .deferred()
                    .with_information(0x1_0000_0002)
                    .with_field_pointer(FieldPointer::cdb(1).with_bit(3))
                    .with_stream_flags(true, true, true),
            ),
            (
                "descriptor, unknown descriptor skipped, block commands ILI",
                vec![
                    0x72, 0x03, 0x11, 0x00, 0, 0, 0, 12, // header
                    0x80, 0x04, 1, 2, 3, 4, // vendor descriptor
                    0x05, 0x02, 0x00, 0x20, // block commands ILI
                ],
                Sense::new(SenseKey::MEDIUM_ERROR, 0x11, 0x00)
                    .in_format(SenseFormat::Descriptor)
                    .with_stream_flags(false, false, true),
            ),
            (
                "descriptor, information descriptor with VALID clear",
                vec![
                    0x72, 0x03, 0x11, 0x00, 0, 0, 0, 12, 0x00, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
                    9,
                ],
                Sense::new(SenseKey::MEDIUM_ERROR, 0x11, 0x00).in_format(SenseFormat::Descriptor),
            ),
            (
                "descriptor, truncated descriptor ends the list",
                vec![
                    0x72, 0x02, 0x04, 0x01, 0, 0, 0, 30, // claims more than sent
                    0x04, 0x02, 0x00, 0x80, // stream FILEMARK
                    0x00, 0x0A, 0x80, 0, 1, 2, // information cut short
                ],
                Sense::new(SenseKey::NOT_READY, 0x04, 0x01)
                    .in_format(SenseFormat::Descriptor)
                    .with_stream_flags(true, false, false),
            ),
            (
                "descriptor, additional length hides a descriptor",
                vec![0x72, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0x04, 0x02, 0x00, 0x80],
                Sense::new(SenseKey::NO_SENSE, 0x00, 0x01).in_format(SenseFormat::Descriptor),
            ),
            (
                "descriptor, 2 bytes only",
                vec![0x72, 0x07],
                Sense::new(SenseKey::DATA_PROTECT, 0, 0).in_format(SenseFormat::Descriptor),
            ),
        ]
    }

    #[test]
    fn parses_hand_built_sense() {
        for (what, bytes, expected) in parse_cases() {
            assert_eq!(Sense::parse(&bytes), Ok(expected), "{what}");
        }
    }

    #[test]
    fn refuses_what_is_not_sense() {
        let cases: &[(&[u8], SenseError)] = &[
            (&[], SenseError::Empty),
            (&[0x00, 0, 5], SenseError::UnknownResponseCode(0x00)),
            (&[0x7F, 0, 5], SenseError::UnknownResponseCode(0x7F)),
            (&[0x74, 0, 5], SenseError::UnknownResponseCode(0x74)),
            (&[0x6F, 0, 5], SenseError::UnknownResponseCode(0x6F)),
            (
                &[0x70, 0],
                SenseError::TooShort {
                    format: SenseFormat::Fixed,
                    len: 2,
                    needed: 3,
                },
            ),
            (
                &[0x72],
                SenseError::TooShort {
                    format: SenseFormat::Descriptor,
                    len: 1,
                    needed: 2,
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Sense::parse(bytes).as_ref(), Err(expected), "{bytes:02x?}");
        }
    }

    #[test]
    fn encodes_fixed_byte_for_byte() {
        let s = Sense::new(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00)
            .with_field_pointer(FieldPointer::cdb(2).with_bit(4));
        assert_eq!(
            s.to_fixed_bytes(),
            [0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x24, 0x00, 0, 0xCC, 0x00, 0x02]
        );
        let s = Sense::new(SenseKey::MEDIUM_ERROR, 0x11, 0x00)
            .deferred()
            .with_information(0xA0B0C0D0)
            .with_stream_flags(false, true, true);
        assert_eq!(
            s.to_fixed_bytes(),
            [0xF1, 0, 0x63, 0xA0, 0xB0, 0xC0, 0xD0, 0x0A, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0]
        );
        // INFORMATION wider than 32 bits cannot be expressed: VALID stays clear.
        let s = Sense::new(SenseKey::MEDIUM_ERROR, 0x11, 0x00).with_information(1 << 32);
        assert_eq!(s.to_fixed_bytes()[0], 0x70);
        assert_eq!(&s.to_fixed_bytes()[3..7], &[0, 0, 0, 0]);
    }

    #[test]
    fn encodes_descriptor_byte_for_byte() {
        let s = Sense::new(SenseKey::NOT_READY, 0x04, 0x01).with_progress(0x4000);
        assert_eq!(
            s.to_descriptor_bytes(),
            [0x72, 0x02, 0x04, 0x01, 0, 0, 0, 8, 0x02, 0x06, 0x80, 0x40, 0x00, 0, 0, 0]
        );
        let s = Sense::new(SenseKey::UNIT_ATTENTION, 0x28, 0x01);
        assert_eq!(
            s.to_descriptor_bytes(),
            [0x72, 0x06, 0x28, 0x01, 0, 0, 0, 0]
        );
    }

    #[test]
    fn hand_built_cases_round_trip_through_both_encoders() {
        for (what, _, s) in parse_cases() {
            let fixed = Sense::parse(&s.to_fixed_bytes()).unwrap();
            let descriptor = Sense::parse(&s.to_descriptor_bytes()).unwrap();
            let fits = match s.information {
                Some(i) => i <= u64::from(u32::MAX),
                None => true,
            };
            if fits {
                assert_eq!(fixed, s.clone().in_format(SenseFormat::Fixed), "{what}");
            }
            assert_eq!(
                descriptor,
                s.clone().in_format(SenseFormat::Descriptor),
                "{what}"
            );
            assert_eq!(Sense::parse(&s.to_bytes()).unwrap(), s, "{what}");
        }
    }

    #[test]
    fn display_names_key_code_text_and_details() {
        let cases = [
            (
                Sense::new(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00)
                    .with_field_pointer(FieldPointer::cdb(2).with_bit(4)),
                "ILLEGAL REQUEST, ASC/ASCQ 24/00: Invalid field in CDB \
                 (field pointer: CDB byte 2 bit 4)",
            ),
            (
                Sense::new(SenseKey::ILLEGAL_REQUEST, 0x26, 0x00)
                    .with_field_pointer(FieldPointer::parameter(7)),
                "ILLEGAL REQUEST, ASC/ASCQ 26/00: Invalid field in parameter list \
                 (field pointer: parameter data byte 7)",
            ),
            (
                Sense::new(SenseKey::NOT_READY, 0x04, 0x01).with_progress(0x8000),
                "NOT READY, ASC/ASCQ 04/01: Logical unit is in process of becoming ready \
                 (progress: 50%)",
            ),
            (
                Sense::new(SenseKey::UNIT_ATTENTION, 0x7F, 0x01),
                "UNIT ATTENTION, unknown ASC/ASCQ 7f/01",
            ),
            (
                Sense::new(SenseKey(0x0C), 0x9A, 0x01),
                "sense key 0x0c, ASC/ASCQ 9a/01: Vendor specific",
            ),
            (
                Sense::new(SenseKey::HARDWARE_ERROR, 0x40, 0x85).deferred(),
                "deferred error: HARDWARE ERROR, ASC/ASCQ 40/85: \
                 Diagnostic failure on component 85h (80h-FFh)",
            ),
            (
                Sense::new(SenseKey::HARDWARE_ERROR, 0x40, 0x00),
                "HARDWARE ERROR, ASC/ASCQ 40/00: RAM failure (should use 40 NN)",
            ),
            (
                Sense::new(SenseKey::ABORTED_COMMAND, 0x4D, 0x1F),
                "ABORTED COMMAND, ASC/ASCQ 4d/1f: Tagged overlapped commands (task tag 1fh)",
            ),
            (
                Sense::new(SenseKey::NO_SENSE, 0x00, 0x01)
                    .with_information(0x10)
                    .with_stream_flags(true, false, true),
                "NO SENSE, ASC/ASCQ 00/01: Filemark detected (information: 0x10, FILEMARK, ILI)",
            ),
        ];
        for (sense, text) in cases {
            assert_eq!(sense.to_string(), text);
        }
    }

    #[test]
    fn asc_table_is_sorted_unique_and_round_trips() {
        for pair in ASC_TABLE.windows(2) {
            assert!(
                (pair[0].0, pair[0].1) < (pair[1].0, pair[1].1),
                "table out of order or duplicated at {:02x}/{:02x}",
                pair[1].0,
                pair[1].1
            );
        }
        for &(asc, ascq, text) in ASC_TABLE {
            assert_eq!(asc_text(asc, ascq), Some(text), "{asc:02x}/{ascq:02x}");
            assert!(!text.is_empty());
            // No exact entry sits inside a numeric range.
            assert!(!ASC_RANGES
                .iter()
                .any(|&(a, lo, hi, _)| a == asc && (lo..=hi).contains(&ascq)));
        }
        for &(asc, lo, hi, text) in ASC_RANGES {
            assert!(text.contains("NN"));
            assert_eq!(asc_text(asc, lo), Some(text));
            assert_eq!(asc_text(asc, hi), Some(text));
        }
    }

    #[test]
    fn asc_table_covers_the_reference_codes() {
        // scsi-reference §3, plus the common codes of a changer / tape controller.
        #[rustfmt::skip]
        let required: &[(u8, u8)] = &[
            (0x00, 0x00), (0x00, 0x01), (0x00, 0x02), (0x00, 0x04), (0x00, 0x05),
            (0x04, 0x00), (0x04, 0x01), (0x04, 0x02), (0x04, 0x03), (0x04, 0x12),
            (0x04, 0x18), (0x0C, 0x00), (0x11, 0x00), (0x14, 0x00), (0x15, 0x01),
            (0x1A, 0x00), (0x20, 0x00), (0x21, 0x01), (0x24, 0x00), (0x25, 0x00),
            (0x26, 0x00), (0x27, 0x00), (0x28, 0x00), (0x28, 0x01), (0x29, 0x00),
            (0x29, 0x01), (0x29, 0x02), (0x29, 0x03), (0x29, 0x04), (0x2A, 0x01),
            (0x30, 0x00), (0x30, 0x01), (0x30, 0x02), (0x30, 0x03), (0x3A, 0x00),
            (0x3A, 0x01), (0x3A, 0x02), (0x3B, 0x0D), (0x3B, 0x0E), (0x3B, 0x11),
            (0x3B, 0x12), (0x3B, 0x1A), (0x3F, 0x01), (0x3F, 0x03), (0x44, 0x00),
            (0x53, 0x00), (0x53, 0x01), (0x53, 0x02), (0x5D, 0x00),
        ];
        for &(asc, ascq) in required {
            assert!(
                ASC_TABLE.iter().any(|&(a, q, _)| (a, q) == (asc, ascq)),
                "{asc:02x}/{ascq:02x} missing"
            );
        }
        assert_eq!(
            asc_text(0x04, 0x18),
            Some("Logical unit not ready, a door is open")
        );
        assert_eq!(asc_text(0x83, 0x00), Some("Vendor specific"));
        assert_eq!(asc_text(0x83, 0x04), Some("Vendor specific"));
        assert_eq!(asc_text(0x04, 0x80), Some("Vendor specific qualifier"));
        assert_eq!(asc_text(0x7F, 0x01), None);
        assert_eq!(asc_text(0x04, 0x7F), None);
    }

    #[test]
    fn completion_decoded_sense_uses_the_parser() {
        let c = crate::Completion::check_condition(
            Sense::new(SenseKey::NOT_READY, 0x3A, 0x00).to_fixed_bytes(),
        );
        assert_eq!(
            c.decoded_sense(),
            Some(Sense::new(SenseKey::NOT_READY, 0x3A, 0x00))
        );
        assert_eq!(crate::Completion::good().decoded_sense(), None);
        assert_eq!(
            crate::Completion::check_condition(vec![0x00, 1, 2]).decoded_sense(),
            None
        );
    }

    fn arb_sense() -> impl Strategy<Value = Sense> {
        (
            any::<bool>(),
            any::<bool>(),
            0u8..16,
            any::<u8>(),
            any::<u8>(),
            proptest::option::of(any::<u64>()),
            proptest::option::of((any::<bool>(), proptest::option::of(0u8..8), any::<u16>())),
            proptest::option::of(any::<u16>()),
            (any::<bool>(), any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |(descr, deferred, key, asc, ascq, info, fp, progress, flags)| {
                    let key = SenseKey(key);
                    let mut s =
                        Sense::new(key, asc, ascq).with_stream_flags(flags.0, flags.1, flags.2);
                    if descr {
                        s.format = SenseFormat::Descriptor;
                    }
                    s.deferred = deferred;
                    s.information = info;
                    // Sense-key-specific data decodes according to the key.
                    match key {
                        SenseKey::ILLEGAL_REQUEST => {
                            if let Some((command, bit, byte)) = fp {
                                s.field_pointer = Some(FieldPointer { command, bit, byte });
                            }
                        }
                        SenseKey::NOT_READY | SenseKey::NO_SENSE => s.progress = progress,
                        _ => {}
                    }
                    if s.format == SenseFormat::Fixed {
                        s.information = s.information.map(|i| i & 0xFFFF_FFFF);
                    }
                    s
                },
            )
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_error_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Sense::parse(&bytes).map(|s| s.to_string());
        }

        #[test]
        fn sense_like_bytes_parse_without_panic(
            code in 0x70u8..=0x73,
            rest in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![code];
            bytes.extend(rest);
            let s = Sense::parse(&bytes).map_err(|e| e.to_string());
            if bytes.len() >= 3 {
                prop_assert!(s.is_ok());
            }
        }

        #[test]
        fn encode_then_parse_is_identity(s in arb_sense()) {
            prop_assert_eq!(Sense::parse(&s.to_bytes()).unwrap(), s);
        }

        #[test]
        fn asc_text_never_panics(asc in any::<u8>(), ascq in any::<u8>()) {
            let _ = asc_text(asc, ascq);
            let _ = Sense::new(SenseKey(asc), asc, ascq).to_string();
        }
    }
}
