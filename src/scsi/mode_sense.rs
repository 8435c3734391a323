//! MODE SENSE(6) (0x1A) and MODE SENSE(10) (0x5A), and the medium-changer mode pages:
//! 0x1D Element Address Assignment, 0x1E Transport Geometry, 0x1F Device Capabilities
//! (scsi-reference §6).
//!
//! CDB(6): byte 1 bit 3 DBD; byte 2 bits 7..6 page control (0, current), bits 5..0 page;
//! byte 4 allocation length. CDB(10): the same bits, bytes 7..8 allocation length.
//!
//! A reply is a mode parameter header (4 bytes for the 6-byte command, 8 for the 10-byte one),
//! block descriptors (skipped), then pages. Only the bytes actually transferred and announced
//! by the mode data length are read.

use std::time::Duration;

use super::read_element_status::ElementType;
use super::reader::Reader;
use super::ParseError;

/// Default timeout: a changer command (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// Mode page codes reel reads.
pub mod page {
    /// Element Address Assignment (SMC).
    pub const ELEMENT_ADDRESS_ASSIGNMENT: u8 = 0x1D;
    /// Transport Geometry Parameters (SMC).
    pub const TRANSPORT_GEOMETRY: u8 = 0x1E;
    /// Device Capabilities (SMC).
    pub const DEVICE_CAPABILITIES: u8 = 0x1F;
    /// Every page.
    pub const ALL: u8 = 0x3F;
}

/// Which MODE SENSE a reply answers: it decides the header layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// MODE SENSE(6): 4-byte header.
    Six,
    /// MODE SENSE(10): 8-byte header.
    Ten,
}

/// MODE SENSE(6) CDB for the current values of `page` (subpage 0).
pub fn cdb6(page: u8, dbd: bool, allocation_length: u8) -> [u8; 6] {
    [
        0x1A,
        u8::from(dbd) << 3,
        page & 0x3F,
        0,
        allocation_length,
        0,
    ]
}

/// MODE SENSE(10) CDB for the current values of `page` (subpage 0).
pub fn cdb10(page: u8, dbd: bool, allocation_length: u16) -> [u8; 10] {
    let [hi, lo] = allocation_length.to_be_bytes();
    [0x5A, u8::from(dbd) << 3, page & 0x3F, 0, 0, 0, 0, hi, lo, 0]
}

/// One mode page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModePage<'a> {
    /// Page code (bits 5..0 of its first byte).
    pub code: u8,
    /// Subpage code (0 for a page in the page_0 format).
    pub subpage: u8,
    /// PS: the page can be saved.
    pub saveable: bool,
    /// The page's parameters, after its 2-byte (or 4-byte, subpage format) header.
    pub data: &'a [u8],
}

/// A mode page the data ended inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutPage {
    /// Its page code.
    pub code: u8,
    /// Bytes of page (header included) it announced.
    pub needed: usize,
    /// Bytes of it that arrived.
    pub available: usize,
}

/// A parsed MODE SENSE reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeParameters<'a> {
    /// Medium type (header).
    pub medium_type: u8,
    /// Device-specific parameter (header; for tape, bit 7 WP, bits 6..4 buffered mode).
    pub device_specific: u8,
    /// The block descriptors, unparsed.
    pub block_descriptors: &'a [u8],
    /// The complete pages, in order.
    pub pages: Vec<ModePage<'a>>,
    /// A page cut short by the end of the data (the allocation length was too small, or the
    /// device sent less than it announced).
    pub truncated_page: Option<CutPage>,
    /// The mode data length announced more bytes than arrived.
    pub truncated: bool,
}

impl<'a> ModeParameters<'a> {
    /// The first page with `code` (subpage 0), if complete.
    pub fn page(&self, code: u8) -> Option<&ModePage<'a>> {
        self.pages.iter().find(|p| p.code == code && p.subpage == 0)
    }

    /// The data of page `code`.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] (`what`) when the page was cut short;
    /// [`ParseError::Missing`] (`what`) when the device did not return it.
    pub fn require(&self, code: u8, what: &'static str) -> Result<&'a [u8], ParseError> {
        if let Some(p) = self.page(code) {
            return Ok(p.data);
        }
        if let Some(cut) = self.truncated_page.filter(|c| c.code == code) {
            return Err(ParseError::Truncated {
                what,
                needed: cut.needed,
                available: cut.available,
            });
        }
        Err(ParseError::Missing(what))
    }
}

/// Parses a MODE SENSE reply of the given form.
///
/// # Errors
/// [`ParseError::Truncated`] when the header or the announced block descriptors run past the
/// data. A page cut short is not an error here: see [`ModeParameters::truncated_page`].
pub fn parse(bytes: &[u8], form: Form) -> Result<ModeParameters<'_>, ParseError> {
    const HDR: &str = "mode parameter header";
    let mut r = Reader::new(bytes);
    let (data_len, medium_type, device_specific, bd_len, len_field) = match form {
        Form::Six => {
            let l = usize::from(r.u8(HDR)?);
            let mt = r.u8(HDR)?;
            let ds = r.u8(HDR)?;
            let bd = usize::from(r.u8(HDR)?);
            (l, mt, ds, bd, 1)
        }
        Form::Ten => {
            let l = usize::from(r.u16(HDR)?);
            let mt = r.u8(HDR)?;
            let ds = r.u8(HDR)?;
            r.skip(2, HDR)?;
            let bd = usize::from(r.u16(HDR)?);
            (l, mt, ds, bd, 2)
        }
    };
    // The mode data length counts the bytes after itself.
    let announced_end = data_len + len_field;
    let truncated = announced_end > bytes.len();
    let end = announced_end.min(bytes.len()).max(r.position());
    let mut r = Reader::new(&bytes[r.position()..end]);
    let block_descriptors = r.take(bd_len, "mode parameter block descriptors")?;
    let mut pages = Vec::new();
    let mut truncated_page = None;
    while !r.is_empty() {
        let start = r.remaining();
        let b0 = r.u8("mode page header")?;
        let code = b0 & 0x3F;
        let spf = b0 & 0x40 != 0;
        let header = if spf { 4 } else { 2 };
        let cut = |needed: usize| CutPage {
            code,
            needed,
            available: start,
        };
        if start < header {
            truncated_page = Some(cut(header));
            break;
        }
        let (subpage, len) = if spf {
            (
                r.u8("mode page header")?,
                usize::from(r.u16("mode page header")?),
            )
        } else {
            (0, usize::from(r.u8("mode page header")?))
        };
        match r.take(len, "mode page") {
            Ok(data) => pages.push(ModePage {
                code,
                subpage,
                saveable: b0 & 0x80 != 0,
                data,
            }),
            Err(_) => {
                truncated_page = Some(cut(header + len));
                break;
            }
        }
    }
    Ok(ModeParameters {
        medium_type,
        device_specific,
        block_descriptors,
        pages,
        truncated_page,
        truncated,
    })
}

/// A run of consecutive element addresses of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ElementRange {
    /// First address.
    pub first: u16,
    /// Number of elements.
    pub count: u16,
}

impl ElementRange {
    /// A range of `count` elements from `first`.
    pub fn new(first: u16, count: u16) -> Self {
        ElementRange { first, count }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// One past the last address (as u32: a range may end at 0xFFFF).
    pub fn end(&self) -> u32 {
        u32::from(self.first) + u32::from(self.count)
    }

    /// The last address, if any.
    pub fn last(&self) -> Option<u16> {
        (self.count > 0).then(|| u16::try_from(self.end() - 1).unwrap_or(u16::MAX))
    }

    /// True when `address` is in the range.
    pub fn contains(&self, address: u16) -> bool {
        let a = u32::from(address);
        a >= u32::from(self.first) && a < self.end()
    }

    /// Every address of the range.
    pub fn addresses(&self) -> impl Iterator<Item = u16> {
        let end = self.end().min(u32::from(u16::MAX) + 1);
        (u32::from(self.first)..end).filter_map(|a| u16::try_from(a).ok())
    }
}

/// Mode page 0x1D: where each element type's addresses start and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ElementAddressAssignment {
    /// Medium transport elements (robot arms).
    pub transport: ElementRange,
    /// Storage elements (slots).
    pub storage: ElementRange,
    /// Import/export elements (mail slots).
    pub import_export: ElementRange,
    /// Data transfer elements (drives).
    pub data_transfer: ElementRange,
}

impl ElementAddressAssignment {
    /// Decodes the page's parameters (the bytes after the 2-byte page header).
    ///
    /// # Errors
    /// [`ParseError::Truncated`] (`element address assignment page`) when fewer than 16 bytes.
    pub fn from_page(data: &[u8]) -> Result<Self, ParseError> {
        const WHAT: &str = "element address assignment page";
        let mut r = Reader::new(data);
        let mut range = || -> Result<ElementRange, ParseError> {
            Ok(ElementRange::new(r.u16(WHAT)?, r.u16(WHAT)?))
        };
        Ok(ElementAddressAssignment {
            transport: range()?,
            storage: range()?,
            import_export: range()?,
            data_transfer: range()?,
        })
    }

    /// The range of `element_type` (`None` for type 0 and unknown types).
    pub fn range(&self, element_type: ElementType) -> Option<ElementRange> {
        Some(match element_type {
            ElementType::TRANSPORT => self.transport,
            ElementType::STORAGE => self.storage,
            ElementType::IMPORT_EXPORT => self.import_export,
            ElementType::DATA_TRANSFER => self.data_transfer,
            _ => return None,
        })
    }

    /// Each element type with its range, in the order transport, storage, import/export, data
    /// transfer.
    pub fn ranges(&self) -> [(ElementType, ElementRange); 4] {
        [
            (ElementType::TRANSPORT, self.transport),
            (ElementType::STORAGE, self.storage),
            (ElementType::IMPORT_EXPORT, self.import_export),
            (ElementType::DATA_TRANSFER, self.data_transfer),
        ]
    }

    /// The element type whose range holds `address`.
    pub fn type_of(&self, address: u16) -> Option<ElementType> {
        self.ranges()
            .into_iter()
            .find(|(_, r)| r.contains(address))
            .map(|(t, _)| t)
    }
}

/// Parses a MODE SENSE reply and decodes its page 0x1D.
///
/// # Errors
/// As [`parse`]; [`ParseError::Missing`] or [`ParseError::Truncated`] naming the page when it
/// is absent or cut short.
pub fn parse_element_address_assignment(
    bytes: &[u8],
    form: Form,
) -> Result<ElementAddressAssignment, ParseError> {
    let params = parse(bytes, form)?;
    let data = params.require(
        page::ELEMENT_ADDRESS_ASSIGNMENT,
        "element address assignment page",
    )?;
    ElementAddressAssignment::from_page(data)
}

/// Mode page 0x1F: which element types can store media and which moves and exchanges the
/// changer supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceCapabilities {
    /// Byte 2: bit 0 StorMT, 1 StorST, 2 StorIE, 3 StorDT.
    pub storage: u8,
    /// Bytes 4..7: for source type MT, ST, IE, DT, a byte whose bits 0..3 say whether MOVE
    /// MEDIUM to MT, ST, IE, DT is supported.
    pub moves: [u8; 4],
    /// Bytes 12..15: the same for EXCHANGE MEDIUM.
    pub exchanges: [u8; 4],
}

fn bit_of(t: ElementType) -> Option<usize> {
    match t.0 {
        1..=4 => Some(usize::from(t.0 - 1)),
        _ => None,
    }
}

impl DeviceCapabilities {
    /// Decodes the page's parameters (the bytes after the 2-byte page header).
    ///
    /// # Errors
    /// [`ParseError::Truncated`] (`device capabilities page`) when fewer than 14 bytes.
    pub fn from_page(data: &[u8]) -> Result<Self, ParseError> {
        const WHAT: &str = "device capabilities page";
        let mut r = Reader::new(data);
        let storage = r.u8(WHAT)?;
        r.skip(1, WHAT)?;
        let m = r.take(4, WHAT)?;
        r.skip(4, WHAT)?;
        let x = r.take(4, WHAT)?;
        Ok(DeviceCapabilities {
            storage,
            moves: [m[0], m[1], m[2], m[3]],
            exchanges: [x[0], x[1], x[2], x[3]],
        })
    }

    /// True when elements of type `t` can hold media as storage.
    pub fn can_store(&self, t: ElementType) -> bool {
        bit_of(t).is_some_and(|b| self.storage & (1 << b) != 0)
    }

    /// True when MOVE MEDIUM from type `from` to type `to` is supported.
    pub fn can_move(&self, from: ElementType, to: ElementType) -> bool {
        matches!((bit_of(from), bit_of(to)), (Some(f), Some(t)) if self.moves[f] & (1 << t) != 0)
    }

    /// True when EXCHANGE MEDIUM from type `from` to type `to` is supported.
    pub fn can_exchange(&self, from: ElementType, to: ElementType) -> bool {
        matches!((bit_of(from), bit_of(to)), (Some(f), Some(t)) if self.exchanges[f] & (1 << t) != 0)
    }
}

/// Parses a MODE SENSE reply and decodes its page 0x1F.
///
/// # Errors
/// As [`parse_element_address_assignment`], for page 0x1F.
pub fn parse_device_capabilities(
    bytes: &[u8],
    form: Form,
) -> Result<DeviceCapabilities, ParseError> {
    let params = parse(bytes, form)?;
    let data = params.require(page::DEVICE_CAPABILITIES, "device capabilities page")?;
    DeviceCapabilities::from_page(data)
}

/// One medium transport's entry in mode page 0x1E.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportGeometry {
    /// ROTATE: the transport can turn a cartridge over (two-sided media).
    pub rotate: bool,
    /// Member number in the transport element set.
    pub member: u8,
}

/// Decodes page 0x1E's parameters: one 2-byte descriptor per transport (an odd last byte is
/// ignored).
pub fn transport_geometry(data: &[u8]) -> Vec<TransportGeometry> {
    data.chunks_exact(2)
        .map(|d| TransportGeometry {
            rotate: d[0] & 1 != 0,
            member: d[1],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a reply: header of `form` announcing exactly what follows, `bd` block descriptor
    /// bytes, then the pages (code, data).
    fn reply(form: Form, bd: usize, pages: &[(u8, &[u8])]) -> Vec<u8> {
        let mut body = vec![0u8; bd];
        for (code, data) in pages {
            body.push(*code);
            body.push(data.len() as u8);
            body.extend_from_slice(data);
        }
        let mut v = match form {
            Form::Six => vec![(body.len() + 3) as u8, 0, 0, bd as u8],
            Form::Ten => {
                let l = (body.len() + 6) as u16;
                let [a, b] = l.to_be_bytes();
                vec![a, b, 0, 0, 0, 0, 0, bd as u8]
            }
        };
        v.extend(body);
        v
    }

    const EAA: [u8; 18] = [
        0x00, 0x00, 0x00, 0x01, // transport 0x0000 x1
        0x10, 0x00, 0x00, 0x32, // storage 0x1000 x50
        0x00, 0x10, 0x00, 0x05, // import/export 0x0010 x5
        0x01, 0x00, 0x00, 0x04, // data transfer 0x0100 x4
        0x00, 0x00,
    ];

    #[test]
    fn cdbs_are_byte_exact() {
        assert_eq!(cdb6(0x1D, true, 0xFF), [0x1A, 0x08, 0x1D, 0, 0xFF, 0]);
        assert_eq!(cdb6(0x1F, false, 0x20), [0x1A, 0x00, 0x1F, 0, 0x20, 0]);
        assert_eq!(cdb6(0x7F, false, 1), [0x1A, 0, 0x3F, 0, 1, 0]);
        assert_eq!(
            cdb10(0x1D, true, 0x0400),
            [0x5A, 0x08, 0x1D, 0, 0, 0, 0, 0x04, 0x00, 0]
        );
        assert_eq!(
            cdb10(0x3F, false, 0xFFFF),
            [0x5A, 0, 0x3F, 0, 0, 0, 0, 0xFF, 0xFF, 0]
        );
    }

    #[test]
    fn element_address_assignment_in_both_forms() {
        let want = ElementAddressAssignment {
            transport: ElementRange::new(0, 1),
            storage: ElementRange::new(0x1000, 50),
            import_export: ElementRange::new(0x10, 5),
            data_transfer: ElementRange::new(0x100, 4),
        };
        // Literal MODE SENSE(6) reply, DBD set: header 4 + page header 2 + 18.
        let mut six = vec![0x17, 0x00, 0x00, 0x00, 0x9D, 0x12];
        six.extend_from_slice(&EAA);
        let cases: Vec<(Vec<u8>, Form)> = vec![
            (six, Form::Six),
            (reply(Form::Ten, 0, &[(0x1D, &EAA)]), Form::Ten),
            (reply(Form::Six, 8, &[(0x1D, &EAA)]), Form::Six),
            (
                reply(Form::Ten, 8, &[(0x1F, &[0; 18]), (0x1D, &EAA)]),
                Form::Ten,
            ),
        ];
        for (bytes, form) in cases {
            assert_eq!(
                parse_element_address_assignment(&bytes, form),
                Ok(want),
                "{bytes:02x?}"
            );
        }
        assert_eq!(want.type_of(0x1031), Some(ElementType::STORAGE));
        assert_eq!(want.type_of(0x1032), None);
        assert_eq!(want.type_of(0x0103), Some(ElementType::DATA_TRANSFER));
        assert_eq!(want.range(ElementType::ALL), None);
        assert_eq!(want.storage.addresses().collect::<Vec<_>>().len(), 50);
    }

    #[test]
    fn short_and_missing_pages_are_named() {
        // Allocation too small: the page is cut.
        let full = reply(Form::Six, 0, &[(0x1D, &EAA)]);
        let cut = &full[..12];
        let p = parse(cut, Form::Six).unwrap();
        assert!(p.truncated);
        assert_eq!(
            p.truncated_page,
            Some(CutPage {
                code: 0x1D,
                needed: 20,
                available: 8
            })
        );
        assert!(matches!(
            parse_element_address_assignment(cut, Form::Six),
            Err(ParseError::Truncated {
                what: "element address assignment page",
                needed: 20,
                available: 8
            })
        ));
        // Another page only.
        assert_eq!(
            parse_element_address_assignment(&reply(Form::Six, 0, &[(0x1F, &[0; 18])]), Form::Six),
            Err(ParseError::Missing("element address assignment page"))
        );
        // A page too short for its fields.
        assert_eq!(
            parse_element_address_assignment(
                &reply(Form::Six, 0, &[(0x1D, &EAA[..10])]),
                Form::Six
            ),
            Err(ParseError::Truncated {
                what: "element address assignment page",
                needed: 2,
                available: 0
            })
        );
        // Header cut short, and block descriptors past the end.
        assert!(matches!(
            parse(&[0x17, 0], Form::Six),
            Err(ParseError::Truncated {
                what: "mode parameter header",
                ..
            })
        ));
        assert!(matches!(
            parse(&[0x17, 0, 0, 8, 0, 0], Form::Six),
            Err(ParseError::Truncated {
                what: "mode parameter block descriptors",
                ..
            })
        ));
        // Bytes past the mode data length are ignored.
        let mut padded = reply(Form::Six, 0, &[(0x1D, &EAA)]);
        padded.extend([0x1F, 0x02, 0xFF, 0xFF]);
        let p = parse(&padded, Form::Six).unwrap();
        assert_eq!(p.pages.len(), 1);
        assert!(!p.truncated);
    }

    #[test]
    fn subpage_format_pages_are_stepped_over() {
        let mut body = vec![0x40 | 0x0A, 0x01, 0x00, 0x02, 0xAA, 0xBB];
        body.extend([0x1D, 0x12]);
        body.extend_from_slice(&EAA);
        let mut v = vec![(body.len() + 3) as u8, 0, 0, 0];
        v.extend(body);
        let p = parse(&v, Form::Six).unwrap();
        assert_eq!(p.pages[0].code, 0x0A);
        assert_eq!(p.pages[0].subpage, 1);
        assert_eq!(p.pages[0].data, &[0xAA, 0xBB]);
        assert!(p.page(0x1D).is_some());
    }

    #[test]
    fn device_capabilities_and_geometry() {
        let mut page = [0u8; 18];
        page[0] = 0b0110; // storage in ST and IE
        page[2] = 0b1110; // MT -> ST, IE, DT
        page[3] = 0b1110; // ST -> ST, IE, DT
        page[4] = 0b0010; // IE -> ST
        page[5] = 0b0110; // DT -> ST, IE
        page[10 + 1] = 0b0010; // exchange ST -> ST
        let caps =
            parse_device_capabilities(&reply(Form::Six, 0, &[(0x1F, &page)]), Form::Six).unwrap();
        use ElementType as E;
        let cases = [
            (E::STORAGE, E::DATA_TRANSFER, true, false),
            (E::STORAGE, E::STORAGE, true, true),
            (E::IMPORT_EXPORT, E::DATA_TRANSFER, false, false),
            (E::DATA_TRANSFER, E::IMPORT_EXPORT, true, false),
            (E::ALL, E::STORAGE, false, false),
            (E::STORAGE, ElementType(9), false, false),
        ];
        for (from, to, mv, xc) in cases {
            assert_eq!(caps.can_move(from, to), mv, "{from:?}->{to:?}");
            assert_eq!(caps.can_exchange(from, to), xc, "{from:?}->{to:?}");
        }
        assert!(caps.can_store(E::STORAGE) && caps.can_store(E::IMPORT_EXPORT));
        assert!(!caps.can_store(E::DATA_TRANSFER) && !caps.can_store(E::TRANSPORT));
        assert!(matches!(
            DeviceCapabilities::from_page(&page[..8]),
            Err(ParseError::Truncated {
                what: "device capabilities page",
                ..
            })
        ));
        assert_eq!(
            transport_geometry(&[1, 0, 0, 1, 7]),
            vec![
                TransportGeometry {
                    rotate: true,
                    member: 0
                },
                TransportGeometry {
                    rotate: false,
                    member: 1
                }
            ]
        );
    }

    #[test]
    fn ranges() {
        let r = ElementRange::new(0xFFFE, 2);
        assert_eq!(r.last(), Some(0xFFFF));
        assert!(r.contains(0xFFFF) && !r.contains(0xFFFD));
        assert_eq!(r.addresses().collect::<Vec<_>>(), vec![0xFFFE, 0xFFFF]);
        assert_eq!(ElementRange::new(5, 0).last(), None);
        assert!(ElementRange::new(5, 0).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            for form in [Form::Six, Form::Ten] {
                if let Ok(p) = parse(&bytes, form) {
                    for pg in &p.pages {
                        let _ = ElementAddressAssignment::from_page(pg.data);
                        let _ = DeviceCapabilities::from_page(pg.data);
                        let _ = transport_geometry(pg.data);
                    }
                }
                let _ = parse_element_address_assignment(&bytes, form);
                let _ = parse_device_capabilities(&bytes, form);
            }
        }
    }
}
