//! INQUIRY (0x12): standard data and the vital product data pages reel reads
//! (0x00 supported pages, 0x80 unit serial number, 0x83 device identification, and the SSC
//! pages 0xB3 automation device serial number and 0xB4 data transfer device element address).
//!
//! CDB: byte 1 bit 0 EVPD; byte 2 page code; bytes 3..4 allocation length.

use std::fmt;
use std::time::Duration;

use reel_hw::PeripheralType;

use super::reader::{ascii_field, Reader};
use super::ParseError;

/// Default timeout (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Allocation length for standard INQUIRY data: 96 bytes holds every field reel reads and
/// stays under the 255 that old devices with a one-byte allocation length accept.
pub const STANDARD_LEN: u16 = 96;

/// Allocation length for a VPD page on the first try (a longer page is re-read with the length
/// the device announced).
pub const VPD_LEN: u16 = 255;

/// VPD page codes reel knows.
pub mod page {
    /// Supported VPD pages.
    pub const SUPPORTED_PAGES: u8 = 0x00;
    /// Unit serial number.
    pub const UNIT_SERIAL_NUMBER: u8 = 0x80;
    /// Device identification.
    pub const DEVICE_IDENTIFICATION: u8 = 0x83;
    /// Automation device serial number (SSC: the library a drive sits in).
    pub const AUTOMATION_DEVICE_SERIAL_NUMBER: u8 = 0xB3;
    /// Data transfer device element address (SSC: the drive's element address in its library).
    pub const DATA_TRANSFER_DEVICE_ELEMENT_ADDRESS: u8 = 0xB4;
}

/// CDB for standard INQUIRY data.
pub fn standard_cdb(allocation_length: u16) -> [u8; 6] {
    let [hi, lo] = allocation_length.to_be_bytes();
    [0x12, 0, 0, hi, lo, 0]
}

/// CDB for VPD page `page` (EVPD set).
pub fn vpd_cdb(page: u8, allocation_length: u16) -> [u8; 6] {
    let [hi, lo] = allocation_length.to_be_bytes();
    [0x12, 0x01, page, hi, lo, 0]
}

/// Standard INQUIRY data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardInquiry {
    /// Peripheral qualifier (byte 0 bits 7..5): 0 connected, 1 not connected, 3 no device.
    pub qualifier: u8,
    /// Peripheral device type (byte 0 bits 4..0).
    pub peripheral_type: PeripheralType,
    /// RMB: removable medium.
    pub removable: bool,
    /// Version (byte 2): the SPC version the device claims.
    pub version: u8,
    /// Response data format (byte 3 bits 3..0; 2 for current devices).
    pub response_data_format: u8,
    /// MCHNGR (byte 6 bit 3): a medium changer is attached to this device.
    pub medium_changer_attached: bool,
    /// T10 vendor identification (bytes 8..16), trimmed.
    pub vendor: String,
    /// Product identification (bytes 16..32), trimmed.
    pub product: String,
    /// Product revision level (bytes 32..36), trimmed.
    pub revision: String,
}

/// Parses standard INQUIRY data (at least 36 bytes; extra bytes are ignored).
///
/// # Errors
/// [`ParseError::Truncated`] naming `standard INQUIRY data` when fewer than 36 bytes arrived.
pub fn parse_standard(bytes: &[u8]) -> Result<StandardInquiry, ParseError> {
    const WHAT: &str = "standard INQUIRY data";
    if bytes.len() < 36 {
        return Err(ParseError::Truncated {
            what: WHAT,
            needed: 36,
            available: bytes.len(),
        });
    }
    let mut r = Reader::new(bytes);
    let b0 = r.u8(WHAT)?;
    let b1 = r.u8(WHAT)?;
    let version = r.u8(WHAT)?;
    let b3 = r.u8(WHAT)?;
    let _additional_length = r.u8(WHAT)?;
    let _b5 = r.u8(WHAT)?;
    let b6 = r.u8(WHAT)?;
    let _b7 = r.u8(WHAT)?;
    Ok(StandardInquiry {
        qualifier: b0 >> 5,
        peripheral_type: PeripheralType(b0 & 0x1F),
        removable: b1 & 0x80 != 0,
        version,
        response_data_format: b3 & 0x0F,
        medium_changer_attached: b6 & 0x08 != 0,
        vendor: r.ascii(8, "INQUIRY vendor identification")?,
        product: r.ascii(16, "INQUIRY product identification")?,
        revision: r.ascii(4, "INQUIRY product revision level")?,
    })
}

/// A VPD page: its 4-byte header and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpdPage<'a> {
    /// Peripheral qualifier.
    pub qualifier: u8,
    /// Peripheral device type.
    pub peripheral_type: PeripheralType,
    /// Page code.
    pub page: u8,
    /// The page's bytes after the header (exactly the page length).
    pub data: &'a [u8],
}

/// Parses the header of a VPD page and checks it is page `page`.
///
/// # Errors
/// - [`ParseError::Truncated`] (`VPD page`) when the page length announces more bytes than
///   arrived: `needed` + 4 is the allocation length that would hold the whole page;
/// - [`ParseError::InvalidField`] (`VPD page code`) when the device answered another page.
pub fn parse_vpd(bytes: &[u8], page: u8) -> Result<VpdPage<'_>, ParseError> {
    let mut r = Reader::new(bytes);
    let b0 = r.u8("VPD page header")?;
    let code = r.u8("VPD page header")?;
    let len = r.u16("VPD page header")?;
    if code != page {
        return Err(ParseError::InvalidField {
            what: "VPD page code",
            value: u64::from(code),
        });
    }
    let data = r.take(usize::from(len), "VPD page")?;
    Ok(VpdPage {
        qualifier: b0 >> 5,
        peripheral_type: PeripheralType(b0 & 0x1F),
        page: code,
        data,
    })
}

/// Parses VPD page 0x00: the list of supported page codes.
///
/// # Errors
/// As [`parse_vpd`].
pub fn parse_supported_pages(bytes: &[u8]) -> Result<Vec<u8>, ParseError> {
    Ok(parse_vpd(bytes, page::SUPPORTED_PAGES)?.data.to_vec())
}

/// Parses VPD page 0x80: the unit serial number, trimmed.
///
/// # Errors
/// As [`parse_vpd`].
pub fn parse_unit_serial(bytes: &[u8]) -> Result<String, ParseError> {
    Ok(ascii_field(
        parse_vpd(bytes, page::UNIT_SERIAL_NUMBER)?.data,
    ))
}

/// Parses VPD page 0xB3: the serial number of the library the drive is in, trimmed.
///
/// # Errors
/// As [`parse_vpd`].
pub fn parse_automation_serial(bytes: &[u8]) -> Result<String, ParseError> {
    Ok(ascii_field(
        parse_vpd(bytes, page::AUTOMATION_DEVICE_SERIAL_NUMBER)?.data,
    ))
}

/// Parses VPD page 0xB4: the drive's element address in its library. The field is
/// variable-length; the address is its last two bytes.
///
/// # Errors
/// As [`parse_vpd`]; [`ParseError::Truncated`] (`data transfer device element address`) when
/// the page holds fewer than two bytes.
pub fn parse_element_address(bytes: &[u8]) -> Result<u16, ParseError> {
    let data = parse_vpd(bytes, page::DATA_TRANSFER_DEVICE_ELEMENT_ADDRESS)?.data;
    match data {
        [.., hi, lo] => Ok(u16::from_be_bytes([*hi, *lo])),
        _ => Err(ParseError::Truncated {
            what: "data transfer device element address",
            needed: 2,
            available: data.len(),
        }),
    }
}

/// Parses VPD page 0x83: the designators, in the order the device lists them.
///
/// # Errors
/// As [`parse_vpd`]; [`ParseError::Truncated`] (`designation descriptor`) when a designator
/// runs past the page.
pub fn parse_device_identification(bytes: &[u8]) -> Result<Vec<Designator>, ParseError> {
    let page = parse_vpd(bytes, page::DEVICE_IDENTIFICATION)?;
    let mut r = Reader::new(page.data);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(Designator::read(&mut r)?);
    }
    Ok(out)
}

/// Code set of a designator (open newtype).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeSet(pub u8);

impl CodeSet {
    /// Binary value.
    pub const BINARY: CodeSet = CodeSet(1);
    /// Printable ASCII.
    pub const ASCII: CodeSet = CodeSet(2);
    /// UTF-8.
    pub const UTF8: CodeSet = CodeSet(3);

    /// The name, or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            CodeSet::BINARY => "binary",
            CodeSet::ASCII => "ASCII",
            CodeSet::UTF8 => "UTF-8",
            _ => return None,
        })
    }
}

impl fmt::Debug for CodeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "CodeSet({:#x})", self.0),
        }
    }
}

/// What a designator is attached to (open newtype).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Association(pub u8);

impl Association {
    /// The logical unit.
    pub const LOGICAL_UNIT: Association = Association(0);
    /// The target port the command came through.
    pub const TARGET_PORT: Association = Association(1);
    /// The target device.
    pub const TARGET_DEVICE: Association = Association(2);

    /// The name, or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Association::LOGICAL_UNIT => "logical unit",
            Association::TARGET_PORT => "target port",
            Association::TARGET_DEVICE => "target device",
            _ => return None,
        })
    }
}

impl fmt::Debug for Association {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Association({:#x})", self.0),
        }
    }
}

/// Designator type (open newtype).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DesignatorType(pub u8);

impl DesignatorType {
    /// Vendor specific (in element status DVCID: a serial number alone).
    pub const VENDOR_SPECIFIC: DesignatorType = DesignatorType(0);
    /// T10 vendor ID based: 8 bytes vendor, then vendor-specific (product + serial).
    pub const T10_VENDOR_ID: DesignatorType = DesignatorType(1);
    /// EUI-64.
    pub const EUI64: DesignatorType = DesignatorType(2);
    /// NAA.
    pub const NAA: DesignatorType = DesignatorType(3);
    /// Relative target port.
    pub const RELATIVE_TARGET_PORT: DesignatorType = DesignatorType(4);
    /// Target port group.
    pub const TARGET_PORT_GROUP: DesignatorType = DesignatorType(5);
    /// Logical unit group.
    pub const LOGICAL_UNIT_GROUP: DesignatorType = DesignatorType(6);
    /// MD5 logical unit identifier.
    pub const MD5: DesignatorType = DesignatorType(7);
    /// SCSI name string.
    pub const SCSI_NAME_STRING: DesignatorType = DesignatorType(8);
    /// Protocol-specific port identifier.
    pub const PROTOCOL_SPECIFIC: DesignatorType = DesignatorType(9);
    /// UUID.
    pub const UUID: DesignatorType = DesignatorType(0xA);

    /// The name, or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            DesignatorType::VENDOR_SPECIFIC => "vendor specific",
            DesignatorType::T10_VENDOR_ID => "T10 vendor ID",
            DesignatorType::EUI64 => "EUI-64",
            DesignatorType::NAA => "NAA",
            DesignatorType::RELATIVE_TARGET_PORT => "relative target port",
            DesignatorType::TARGET_PORT_GROUP => "target port group",
            DesignatorType::LOGICAL_UNIT_GROUP => "logical unit group",
            DesignatorType::MD5 => "MD5 logical unit identifier",
            DesignatorType::SCSI_NAME_STRING => "SCSI name string",
            DesignatorType::PROTOCOL_SPECIFIC => "protocol-specific port identifier",
            DesignatorType::UUID => "UUID",
            _ => return None,
        })
    }
}

impl fmt::Debug for DesignatorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "DesignatorType({:#x})", self.0),
        }
    }
}

/// One identification descriptor: a VPD 0x83 designator, or the device identifier (DVCID)
/// of a data-transfer element in READ ELEMENT STATUS, which has the same layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designator {
    /// Protocol identifier (byte 0 bits 7..4; meaningful only with PIV).
    pub protocol: u8,
    /// Code set (byte 0 bits 3..0).
    pub code_set: CodeSet,
    /// PIV: the protocol identifier is valid (byte 1 bit 7).
    pub piv: bool,
    /// Association (byte 1 bits 5..4).
    pub association: Association,
    /// Designator type (byte 1 bits 3..0).
    pub designator_type: DesignatorType,
    /// The designator bytes as sent.
    pub value: Vec<u8>,
}

impl Designator {
    /// Reads one descriptor (4-byte header, then the value).
    ///
    /// # Errors
    /// [`ParseError::Truncated`] (`designation descriptor`) when the value runs past the data.
    pub fn read(r: &mut Reader<'_>) -> Result<Designator, ParseError> {
        const WHAT: &str = "designation descriptor";
        let b0 = r.u8(WHAT)?;
        let b1 = r.u8(WHAT)?;
        let _reserved = r.u8(WHAT)?;
        let len = r.u8(WHAT)?;
        let value = r.take(usize::from(len), WHAT)?.to_vec();
        Ok(Designator {
            protocol: b0 >> 4,
            code_set: CodeSet(b0 & 0x0F),
            piv: b1 & 0x80 != 0,
            association: Association((b1 >> 4) & 0x03),
            designator_type: DesignatorType(b1 & 0x0F),
            value,
        })
    }

    /// The value as text, when the code set is ASCII or UTF-8 (trimmed, control characters
    /// replaced).
    pub fn text(&self) -> Option<String> {
        matches!(self.code_set, CodeSet::ASCII | CodeSet::UTF8).then(|| ascii_field(&self.value))
    }

    /// The serial number the designator carries: for type 0 (vendor specific) the whole value;
    /// for type 1 (T10 vendor ID) what follows the 8-byte vendor and 16-byte product
    /// identification (or what follows the vendor when the value is shorter). `None` for binary
    /// designators and other types.
    pub fn serial(&self) -> Option<String> {
        let text_like = matches!(self.code_set, CodeSet::ASCII | CodeSet::UTF8)
            || self
                .value
                .iter()
                .all(|b| (0x20..0x7f).contains(b) || *b == 0);
        if !text_like {
            return None;
        }
        let serial = match self.designator_type {
            DesignatorType::VENDOR_SPECIFIC => &self.value[..],
            DesignatorType::T10_VENDOR_ID if self.value.len() > 24 => &self.value[24..],
            DesignatorType::T10_VENDOR_ID => self.value.get(8..).unwrap_or(&[]),
            _ => return None,
        };
        let s = ascii_field(serial);
        (!s.is_empty()).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a VPD page: header + payload.
    fn vpd(pt: u8, page: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![pt, page];
        v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn designator(code_set: u8, b1: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![code_set, b1, 0, value.len() as u8];
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn cdbs_are_byte_exact() {
        let cases: &[([u8; 6], [u8; 6])] = &[
            (standard_cdb(96), [0x12, 0, 0, 0, 0x60, 0]),
            (standard_cdb(0x1234), [0x12, 0, 0, 0x12, 0x34, 0]),
            (vpd_cdb(0x00, 255), [0x12, 1, 0x00, 0, 0xFF, 0]),
            (vpd_cdb(0x80, 255), [0x12, 1, 0x80, 0, 0xFF, 0]),
            (vpd_cdb(0x83, 0x400), [0x12, 1, 0x83, 0x04, 0x00, 0]),
            (vpd_cdb(0xB3, 64), [0x12, 1, 0xB3, 0, 64, 0]),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn standard_inquiry_of_a_changer_and_a_drive() {
        // A changer, as literal bytes.
        let mut changer = vec![0x08, 0x80, 0x06, 0x02, 0x5B, 0x00, 0x00, 0x02];
        changer.extend_from_slice(b"QUANTUM Scalar i3-i6    230G");
        changer.resize(36, b' ');
        let cases: &[(Vec<u8>, StandardInquiry)] = &[
            (
                changer,
                StandardInquiry {
                    qualifier: 0,
                    peripheral_type: PeripheralType::MEDIUM_CHANGER,
                    removable: true,
                    version: 6,
                    response_data_format: 2,
                    medium_changer_attached: false,
                    vendor: "QUANTUM".into(),
                    product: "Scalar i3-i6".into(),
                    revision: "230G".into(),
                },
            ),
            (
                [
                    &[0x21, 0x80, 0x05, 0x12, 0x5B, 0, 0x08, 0][..],
                    b"IBM     ULT3580-HH8     M3D1",
                    &[0u8; 60][..],
                ]
                .concat(),
                StandardInquiry {
                    qualifier: 1,
                    peripheral_type: PeripheralType::SEQUENTIAL,
                    removable: true,
                    version: 5,
                    response_data_format: 2,
                    medium_changer_attached: true,
                    vendor: "IBM".into(),
                    product: "ULT3580-HH8".into(),
                    revision: "M3D1".into(),
                },
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(&parse_standard(bytes).unwrap(), want);
        }
        assert_eq!(
            parse_standard(&[0x08; 35]),
            Err(ParseError::Truncated {
                what: "standard INQUIRY data",
                needed: 36,
                available: 35
            })
        );
    }

    #[test]
    fn vpd_pages() {
        assert_eq!(
            parse_supported_pages(&vpd(8, 0, &[0x00, 0x80, 0x83])).unwrap(),
            vec![0x00, 0x80, 0x83]
        );
        assert_eq!(
            parse_unit_serial(&[
                0x01, 0x80, 0x00, 0x0C, b' ', b' ', b'1', b'0', b'W', b'T', b'0', b'3', b'4', b'5',
                b'6', b'7'
            ])
            .unwrap(),
            "10WT034567"
        );
        assert_eq!(
            parse_automation_serial(&vpd(1, 0xB3, b"LIB0001234  ")).unwrap(),
            "LIB0001234"
        );
        assert_eq!(
            parse_element_address(&vpd(1, 0xB4, &[0, 0, 0x01, 0xF4])).unwrap(),
            0x01F4
        );
        assert_eq!(
            parse_element_address(&vpd(1, 0xB4, &[0x01])),
            Err(ParseError::Truncated {
                what: "data transfer device element address",
                needed: 2,
                available: 1
            })
        );
        // Wrong page, and a page longer than what arrived.
        assert_eq!(
            parse_unit_serial(&vpd(1, 0x83, b"x")),
            Err(ParseError::InvalidField {
                what: "VPD page code",
                value: 0x83
            })
        );
        let mut long = vpd(1, 0x80, &[b'A'; 300]);
        long.truncate(255);
        assert_eq!(
            parse_unit_serial(&long),
            Err(ParseError::Truncated {
                what: "VPD page",
                needed: 300,
                available: 251
            })
        );
    }

    #[test]
    fn device_identification_designators() {
        let mut payload = designator(0x02, 0x01, b"IBM     ULT3580-HH8     10WT034567");
        payload.extend(designator(
            0x01,
            0x03,
            &[0x50, 0x05, 0x07, 0x63, 0, 0, 0, 1],
        ));
        payload.extend(designator(0x61, 0x94, &[0, 0, 0, 1]));
        payload.extend(designator(0x02, 0x00, b"  SER42 "));
        let ds = parse_device_identification(&vpd(1, 0x83, &payload)).unwrap();
        let want: &[(CodeSet, Association, DesignatorType, bool, Option<&str>)] = &[
            (
                CodeSet::ASCII,
                Association::LOGICAL_UNIT,
                DesignatorType::T10_VENDOR_ID,
                false,
                Some("10WT034567"),
            ),
            (
                CodeSet::BINARY,
                Association::LOGICAL_UNIT,
                DesignatorType::NAA,
                false,
                None,
            ),
            (
                CodeSet::BINARY,
                Association::TARGET_PORT,
                DesignatorType::RELATIVE_TARGET_PORT,
                true,
                None,
            ),
            (
                CodeSet::ASCII,
                Association::LOGICAL_UNIT,
                DesignatorType::VENDOR_SPECIFIC,
                false,
                Some("SER42"),
            ),
        ];
        assert_eq!(ds.len(), want.len());
        for (d, &(cs, assoc, ty, piv, serial)) in ds.iter().zip(want) {
            assert_eq!(
                (d.code_set, d.association, d.designator_type, d.piv),
                (cs, assoc, ty, piv)
            );
            assert_eq!(d.serial().as_deref(), serial, "{d:?}");
        }
        assert_eq!(ds[1].value, [0x50, 0x05, 0x07, 0x63, 0, 0, 0, 1]);
        assert_eq!(ds[2].protocol, 6);
        assert_eq!(ds[0].text().unwrap(), "IBM     ULT3580-HH8     10WT034567");

        // A designator that runs past its page.
        let mut bad = designator(0x02, 0x01, b"ABCDEFGH");
        bad.truncate(8);
        assert_eq!(
            parse_device_identification(&vpd(1, 0x83, &bad)),
            Err(ParseError::Truncated {
                what: "designation descriptor",
                needed: 8,
                available: 4
            })
        );
    }

    #[test]
    fn code_tables_round_trip() {
        for v in 0..=255u8 {
            for (name, dbg) in [
                (CodeSet(v).name(), format!("{:?}", CodeSet(v))),
                (Association(v).name(), format!("{:?}", Association(v))),
                (DesignatorType(v).name(), format!("{:?}", DesignatorType(v))),
            ] {
                match name {
                    Some(n) => assert_eq!(dbg, n),
                    None => assert!(dbg.contains(&format!("{v:#x}")), "{dbg}"),
                }
            }
        }
        assert_eq!(CodeSet::ASCII.0, 2);
        assert_eq!(DesignatorType::UUID.0, 0xA);
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_standard(&bytes);
            for p in [0u8, 0x80, 0x83, 0xB3, 0xB4] {
                let _ = parse_vpd(&bytes, p);
            }
            let _ = parse_supported_pages(&bytes);
            let _ = parse_unit_serial(&bytes);
            let _ = parse_automation_serial(&bytes);
            let _ = parse_element_address(&bytes);
            if let Ok(ds) = parse_device_identification(&bytes) {
                for d in ds {
                    let _ = (d.serial(), d.text());
                }
            }
        }
    }
}
