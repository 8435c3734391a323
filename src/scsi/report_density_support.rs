//! REPORT DENSITY SUPPORT (0x44, SSC): the recording densities, or the medium types, a drive
//! supports, or that the loaded medium supports.

use std::time::Duration;

use super::opcode::OpCode;

use super::reader::Reader;
use super::tape_code::open_code;
use super::ParseError;

/// Operation code.
pub const OPCODE: OpCode = OpCode::REPORT_DENSITY_SUPPORT;

/// Default timeout. Answered from firmware; with MEDIA set the drive may first read the
/// cartridge memory.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Allocation length the drive driver asks for: room for 150 descriptors.
pub const DEFAULT_ALLOCATION: u16 = 0x2000;

/// Length of the reply header.
pub const HEADER_LEN: usize = 4;

/// Length of a density support descriptor.
pub const DENSITY_DESCRIPTOR_LEN: usize = 52;

/// Length of a medium type descriptor (its DESCRIPTOR LENGTH field holds 52, the bytes after
/// byte 3).
pub const MEDIUM_TYPE_DESCRIPTOR_LEN: usize = 56;

open_code! {
    /// A recording density code (mode parameter block descriptor, REPORT DENSITY SUPPORT,
    /// MAM attribute 0x0405).
    DensityCode(u8) {
        /// LTO-1 (Ultrium 1).
        LTO1 = 0x40 => "LTO-1",
        /// LTO-2.
        LTO2 = 0x42 => "LTO-2",
        /// LTO-3.
        LTO3 = 0x44 => "LTO-3",
        /// LTO-4.
        LTO4 = 0x46 => "LTO-4",
        /// LTO-5.
        LTO5 = 0x58 => "LTO-5",
        /// LTO-6.
        LTO6 = 0x5A => "LTO-6",
        /// LTO-7.
        LTO7 = 0x5C => "LTO-7",
        /// LTO-7 cartridge formatted as LTO-8 Type M (M8).
        LTO7_TYPE_M = 0x5D => "LTO-7 Type M",
        /// LTO-8.
        LTO8 = 0x5E => "LTO-8",
        /// LTO-9.
        LTO9 = 0x60 => "LTO-9",
    }
}

/// The fields of a REPORT DENSITY SUPPORT CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDensitySupport {
    /// Report only what the loaded medium supports (byte 1 bit 0); needs a medium.
    pub media: bool,
    /// Report medium types instead of densities (byte 1 bit 1).
    pub medium_type: bool,
    /// Allocation length (bytes 7..8).
    pub allocation_length: u16,
}

impl ReportDensitySupport {
    /// Every density the drive supports.
    pub fn densities() -> Self {
        ReportDensitySupport {
            media: false,
            medium_type: false,
            allocation_length: DEFAULT_ALLOCATION,
        }
    }

    /// Every medium type the drive supports.
    pub fn medium_types() -> Self {
        ReportDensitySupport {
            medium_type: true,
            ..Self::densities()
        }
    }

    /// The CDB bytes.
    pub fn cdb(&self) -> [u8; 10] {
        let [hi, lo] = self.allocation_length.to_be_bytes();
        let byte1 = u8::from(self.media) | u8::from(self.medium_type) << 1;
        [OPCODE.0, byte1, 0, 0, 0, 0, 0, hi, lo, 0]
    }
}

/// One density support descriptor (52 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DensityDescriptor {
    /// Primary density code (byte 0).
    pub primary: DensityCode,
    /// Secondary density code (byte 1), the same as the primary when there is none.
    pub secondary: DensityCode,
    /// The drive can write this density (WRTOK, byte 2 bit 7).
    pub writable: bool,
    /// This descriptor duplicates another one (DUP, byte 2 bit 6).
    pub duplicate: bool,
    /// The drive's default density (DEFLT, byte 2 bit 5).
    pub default: bool,
    /// Bits per millimetre per track (bytes 5..7).
    pub bits_per_mm: u32,
    /// Media width in tenths of a millimetre (bytes 8..9).
    pub media_width: u16,
    /// Data tracks (bytes 10..11).
    pub tracks: u16,
    /// Native capacity in megabytes of 10^6 bytes (bytes 12..15).
    pub capacity_mb: u32,
    /// Organization that assigned the density (bytes 16..23), e.g. `LTO-CVE`.
    pub assigning_organization: String,
    /// Density name (bytes 24..31), e.g. `U-832`.
    pub name: String,
    /// Description (bytes 32..51), e.g. `Ultrium 8/16T`.
    pub description: String,
}

/// One medium type descriptor (56 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumTypeDescriptor {
    /// Medium type code (byte 0), as in the mode parameter header.
    pub medium_type: u8,
    /// The primary density codes this medium type supports (byte 4 count, bytes 5..13).
    pub density_codes: Vec<DensityCode>,
    /// Media width in tenths of a millimetre (bytes 14..15).
    pub media_width: u16,
    /// Medium length in metres (bytes 16..17).
    pub medium_length: u16,
    /// Organization that assigned the medium type (bytes 20..27).
    pub assigning_organization: String,
    /// Medium type name (bytes 28..35), e.g. `LTO-8`.
    pub name: String,
    /// Description (bytes 36..55).
    pub description: String,
}

/// A parsed reply: its descriptors and whether some were cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<D> {
    /// Descriptors, in the order the drive sent them.
    pub descriptors: Vec<D>,
    /// The header announced more than was transferred: ask again with a larger allocation
    /// length to see the rest.
    pub truncated: bool,
}

/// Walks the descriptor list after the header. A descriptor is parsed when it starts before the
/// end the header announces and all of its bytes were transferred, so a header a few bytes
/// short still yields its last descriptor, and zero padding after the announced end is never
/// read as descriptors.
fn walk<D>(
    reply: &[u8],
    what: &'static str,
    mut one: impl FnMut(&mut Reader<'_>) -> Result<(usize, D), ParseError>,
) -> Result<Report<D>, ParseError> {
    let mut r = Reader::new(reply);
    let announced = usize::from(r.u16("density support header")?);
    r.skip(2, "density support header")?;
    // Bytes 0..1 count the bytes after themselves.
    let end = (announced + 2).max(HEADER_LEN);
    let mut descriptors = Vec::new();
    let mut truncated = false;
    while r.position() < end && !r.is_empty() {
        let mut peek = r.clone();
        match one(&mut peek) {
            Ok((len, d)) => {
                descriptors.push(d);
                r.skip(len, what)?;
            }
            Err(ParseError::Truncated { .. }) => {
                truncated = true;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if end > reply.len() {
        truncated = true;
    }
    Ok(Report {
        descriptors,
        truncated,
    })
}

/// Parses a density-form reply (MEDIUM TYPE = 0).
///
/// # Errors
/// [`ParseError::Truncated`] ("density support header") when fewer than 4 bytes were
/// transferred. A cut-off last descriptor is not an error: it sets [`Report::truncated`].
pub fn parse_densities(reply: &[u8]) -> Result<Report<DensityDescriptor>, ParseError> {
    walk(reply, "density descriptor", |r| {
        let mut d = r.sub(DENSITY_DESCRIPTOR_LEN, "density descriptor")?;
        let primary = DensityCode(d.u8("primary density code")?);
        let secondary = DensityCode(d.u8("secondary density code")?);
        let flags = d.u8("density flags")?;
        d.skip(2, "density descriptor reserved")?;
        let desc = DensityDescriptor {
            primary,
            secondary,
            writable: flags & 0x80 != 0,
            duplicate: flags & 0x40 != 0,
            default: flags & 0x20 != 0,
            bits_per_mm: d.u24("bits per mm")?,
            media_width: d.u16("media width")?,
            tracks: d.u16("tracks")?,
            capacity_mb: d.u32("capacity")?,
            assigning_organization: d.ascii(8, "assigning organization")?,
            name: d.ascii(8, "density name")?,
            description: d.ascii(20, "density description")?,
        };
        Ok((DENSITY_DESCRIPTOR_LEN, desc))
    })
}

/// Parses a medium-type-form reply (MEDIUM TYPE = 1), stepping by each descriptor's DESCRIPTOR
/// LENGTH field.
///
/// # Errors
/// [`ParseError::Truncated`] ("density support header") when fewer than 4 bytes were
/// transferred; [`ParseError::InvalidField`] ("medium type descriptor length") when a
/// descriptor claims fewer than the 52 bytes its fields need. A cut-off last descriptor is not
/// an error: it sets [`Report::truncated`].
pub fn parse_medium_types(reply: &[u8]) -> Result<Report<MediumTypeDescriptor>, ParseError> {
    walk(reply, "medium type descriptor", |r| {
        let mut head = r.clone();
        head.skip(2, "medium type descriptor")?;
        let len = usize::from(head.u16("medium type descriptor length")?);
        if len + 4 < MEDIUM_TYPE_DESCRIPTOR_LEN {
            return Err(ParseError::InvalidField {
                what: "medium type descriptor length",
                value: len as u64,
            });
        }
        let mut d = r.sub(len + 4, "medium type descriptor")?;
        let medium_type = d.u8("medium type")?;
        d.skip(3, "medium type descriptor header")?;
        // At most nine codes fit; a larger count is clamped to what the descriptor holds.
        let count = usize::from(d.u8("number of density codes")?).min(9);
        let codes = d.take(9, "primary density codes")?;
        let desc = MediumTypeDescriptor {
            medium_type,
            density_codes: codes[..count].iter().map(|&c| DensityCode(c)).collect(),
            media_width: d.u16("media width")?,
            medium_length: d.u16("medium length")?,
            assigning_organization: {
                d.skip(2, "medium type descriptor reserved")?;
                d.ascii(8, "assigning organization")?
            },
            name: d.ascii(8, "medium type name")?,
            description: d.ascii(20, "medium type description")?,
        };
        Ok((len + 4, desc))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        let rds = |media, medium_type, allocation_length| ReportDensitySupport {
            media,
            medium_type,
            allocation_length,
        };
        let cases: &[(ReportDensitySupport, [u8; 10])] = &[
            (
                ReportDensitySupport::densities(),
                [0x44, 0, 0, 0, 0, 0, 0, 0x20, 0x00, 0],
            ),
            (
                ReportDensitySupport::medium_types(),
                [0x44, 0x02, 0, 0, 0, 0, 0, 0x20, 0x00, 0],
            ),
            (
                rds(true, false, 0x0100),
                [0x44, 0x01, 0, 0, 0, 0, 0, 0x01, 0x00, 0],
            ),
            (
                rds(true, true, 0xffff),
                [0x44, 0x03, 0, 0, 0, 0, 0, 0xff, 0xff, 0],
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(&fields.cdb(), want, "{fields:?}");
        }
    }

    fn pad(s: &str, n: usize) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.resize(n, b' ');
        v
    }

    /// A density descriptor as a drive sends it.
    pub(crate) fn density_desc(
        primary: u8,
        flags: u8,
        cap: u32,
        name: &str,
        desc: &str,
    ) -> Vec<u8> {
        let mut v = vec![primary, primary, flags, 0, 0];
        v.extend_from_slice(&[0x00, 0x28, 0x6c]); // 10348 bits/mm
        v.extend_from_slice(&127u16.to_be_bytes());
        v.extend_from_slice(&6656u16.to_be_bytes());
        v.extend_from_slice(&cap.to_be_bytes());
        v.extend(pad("LTO-CVE", 8));
        v.extend(pad(name, 8));
        v.extend(pad(desc, 20));
        assert_eq!(v.len(), DENSITY_DESCRIPTOR_LEN);
        v
    }

    /// A medium type descriptor as a drive sends it.
    pub(crate) fn medium_desc(mt: u8, codes: &[u8], name: &str, desc: &str) -> Vec<u8> {
        let mut v = vec![mt, 0, 0, 52, codes.len() as u8];
        let mut c = codes.to_vec();
        c.resize(9, 0);
        v.extend(c);
        v.extend_from_slice(&127u16.to_be_bytes());
        v.extend_from_slice(&1035u16.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend(pad("LTO-CVE", 8));
        v.extend(pad(name, 8));
        v.extend(pad(desc, 20));
        assert_eq!(v.len(), MEDIUM_TYPE_DESCRIPTOR_LEN);
        v
    }

    /// A reply: header announcing `announced` bytes after bytes 0..1, then the bodies.
    pub(crate) fn reply(announced: usize, bodies: &[Vec<u8>]) -> Vec<u8> {
        let mut v = (announced as u16).to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0]);
        for b in bodies {
            v.extend_from_slice(b);
        }
        v
    }

    type Case<D> = (&'static str, Vec<u8>, Result<Report<D>, ParseError>);

    fn lto8(flags: u8) -> DensityDescriptor {
        DensityDescriptor {
            primary: DensityCode::LTO8,
            secondary: DensityCode::LTO8,
            writable: flags & 0x80 != 0,
            duplicate: flags & 0x40 != 0,
            default: flags & 0x20 != 0,
            bits_per_mm: 10348,
            media_width: 127,
            tracks: 6656,
            capacity_mb: 12_000_000,
            assigning_organization: "LTO-CVE".into(),
            name: "U-832".into(),
            description: "Ultrium 8/16T".into(),
        }
    }

    #[test]
    fn parses_density_replies() {
        let d8 = density_desc(0x5e, 0xa0, 12_000_000, "U-832", "Ultrium 8/16T");
        let d7 = density_desc(0x5c, 0x80, 6_000_000, "U-732", "Ultrium 7/16T");
        let d6 = density_desc(0x5a, 0x00, 2_500_000, "U-632", "Ultrium 6/16T");
        let two = 2 + 2 * DENSITY_DESCRIPTOR_LEN;
        let mut lto7 = lto8(0x80);
        lto7.primary = DensityCode::LTO7;
        lto7.secondary = DensityCode::LTO7;
        lto7.capacity_mb = 6_000_000;
        lto7.name = "U-732".into();
        lto7.description = "Ultrium 7/16T".into();
        let ok = |descriptors, truncated| {
            Ok(Report {
                descriptors,
                truncated,
            })
        };
        let cases: Vec<Case<DensityDescriptor>> = vec![
            (
                "two",
                reply(two, &[d8.clone(), d7.clone()]),
                ok(vec![lto8(0xa0), lto7.clone()], false),
            ),
            ("none", reply(2, &[]), ok(vec![], false)),
            // The header counts 8 bytes fewer than were sent (seen on an emulator): the
            // descriptor that straddles the announced end is still read.
            (
                "short header",
                reply(two - 8, &[d8.clone(), d7.clone()]),
                ok(vec![lto8(0xa0), lto7.clone()], false),
            ),
            // Zero padding after the announced end is not a descriptor.
            (
                "padded",
                reply(2 + DENSITY_DESCRIPTOR_LEN, &[d8.clone(), vec![0; 52]]),
                ok(vec![lto8(0xa0)], false),
            ),
            // Three announced, allocation cut inside the third.
            (
                "cut",
                reply(
                    2 + 3 * DENSITY_DESCRIPTOR_LEN,
                    &[d8.clone(), d7.clone(), d6[..10].to_vec()],
                ),
                ok(vec![lto8(0xa0), lto7.clone()], true),
            ),
            // Three announced, only the header transferred.
            (
                "header only",
                reply(2 + 3 * DENSITY_DESCRIPTOR_LEN, &[]),
                ok(vec![], true),
            ),
            // A header announcing less than its own length.
            (
                "tiny header",
                reply(0, std::slice::from_ref(&d8)),
                ok(vec![], false),
            ),
            (
                "no header",
                vec![0, 0x36, 0],
                Err(ParseError::Truncated {
                    what: "density support header",
                    needed: 2,
                    available: 1,
                }),
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(parse_densities(&input), want, "{name}");
        }
    }

    #[test]
    fn parses_medium_type_replies() {
        let m8 = medium_desc(0x88, &[0x5e, 0x5c], "LTO-8", "Ultrium 8");
        let m7 = medium_desc(0x78, &[0x5c, 0x5d], "LTO-7", "Ultrium 7");
        let want8 = MediumTypeDescriptor {
            medium_type: 0x88,
            density_codes: vec![DensityCode::LTO8, DensityCode::LTO7],
            media_width: 127,
            medium_length: 1035,
            assigning_organization: "LTO-CVE".into(),
            name: "LTO-8".into(),
            description: "Ultrium 8".into(),
        };
        let want7 = MediumTypeDescriptor {
            medium_type: 0x78,
            density_codes: vec![DensityCode::LTO7, DensityCode::LTO7_TYPE_M],
            name: "LTO-7".into(),
            description: "Ultrium 7".into(),
            ..want8.clone()
        };
        // A descriptor 8 bytes longer than the standard one, with vendor bytes at its end.
        let mut long = medium_desc(0x78, &[0x5c, 0x5d], "LTO-7", "Ultrium 7");
        long[3] = 60;
        long.extend_from_slice(&[0xee; 8]);
        // A count of 12 codes is clamped to the nine the descriptor holds.
        let mut many = medium_desc(0x88, &[0x5e; 9], "LTO-8", "Ultrium 8");
        many[4] = 12;
        let mut bad = m8.clone();
        bad[3] = 20;
        let ok = |descriptors, truncated| {
            Ok(Report {
                descriptors,
                truncated,
            })
        };
        let cases: Vec<Case<MediumTypeDescriptor>> = vec![
            (
                "two",
                reply(2 + 112, &[m8.clone(), m7.clone()]),
                ok(vec![want8.clone(), want7.clone()], false),
            ),
            (
                "long descriptor",
                reply(2 + 64 + 56, &[long, m8.clone()]),
                ok(vec![want7.clone(), want8.clone()], false),
            ),
            (
                "clamped count",
                reply(2 + 56, &[many]),
                ok(
                    vec![MediumTypeDescriptor {
                        density_codes: vec![DensityCode::LTO8; 9],
                        ..want8.clone()
                    }],
                    false,
                ),
            ),
            (
                "cut",
                reply(2 + 112, &[m8.clone(), m7[..55].to_vec()]),
                ok(vec![want8.clone()], true),
            ),
            (
                "bad length",
                reply(2 + 56, &[bad]),
                Err(ParseError::InvalidField {
                    what: "medium type descriptor length",
                    value: 20,
                }),
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(parse_medium_types(&input), want, "{name}");
        }
    }

    #[test]
    fn density_code_names_round_trip() {
        for &c in DensityCode::KNOWN {
            assert_eq!(DensityCode::from(u8::from(c)), c);
            assert!(c.name().unwrap().starts_with("LTO-"));
        }
        assert_eq!(DensityCode::KNOWN.len(), 10);
        assert_eq!(format!("{:?}", DensityCode(0x5e)), "LTO-8");
        assert_eq!(format!("{:?}", DensityCode(0x4c)), "DensityCode(0x4c)");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            if let Ok(r) = parse_densities(&bytes) {
                proptest::prop_assert!(HEADER_LEN + r.descriptors.len() * DENSITY_DESCRIPTOR_LEN <= bytes.len());
            }
            if let Ok(r) = parse_medium_types(&bytes) {
                proptest::prop_assert!(HEADER_LEN + r.descriptors.len() * MEDIUM_TYPE_DESCRIPTOR_LEN <= bytes.len());
                proptest::prop_assert!(r.descriptors.iter().all(|d| d.density_codes.len() <= 9));
            }
        }

        #[test]
        fn a_header_that_is_only_a_little_wrong_still_yields_every_descriptor(
            n in 0usize..5,
            skew in -51i64..52,
        ) {
            let bodies: Vec<Vec<u8>> = (0..n).map(|i| density_desc(0x40 + i as u8, 0x80, 1, "X", "Y")).collect();
            let announced = (2 + n * DENSITY_DESCRIPTOR_LEN) as i64 + if n == 0 { skew.max(0) } else { skew };
            let r = parse_densities(&reply(announced as usize, &bodies)).unwrap();
            proptest::prop_assert_eq!(r.descriptors.len(), n);
            proptest::prop_assert_eq!(r.truncated, announced > (2 + n * DENSITY_DESCRIPTOR_LEN) as i64);
        }
    }
}
