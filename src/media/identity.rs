//! Where a cartridge's media type comes from (scsi-reference §7), and how the sources combine.
//!
//! Each source is a pure function giving [`Evidence`]: what that source says about the
//! cartridge's class (data, WORM, cleaning) and recording format (LTO generation, Type M), each
//! possibly unknown. [`resolve`] combines the evidence of every source at hand:
//!
//! - sources that disagree (one says WORM, another data; one says LTO-7, another LTO-8) give
//!   [`Resolution::Conflict`] with every claim, never a pick;
//! - a class and format that name an older generation (LTO-1 … LTO-4, `LT`/`LU` WORM) give
//!   [`Resolution::Unsupported`]: recognised, but the catalogue has no type for it;
//! - too little to name a type (a density code alone cannot tell data from WORM) gives
//!   [`Resolution::Unknown`], not a guess.
//!
//! Reading is strict: an element descriptor that says "data" (1) for a cartridge whose bar
//! code says WORM is a conflict, even though some libraries never report WORM (4). Reporting
//! it lets a technician see the disagreement; picking either would hide it.

use serde::Serialize;

use super::MediaType;

/// What a cartridge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediumClass {
    /// Rewritable data cartridge.
    Data,
    /// Write-once data cartridge.
    Worm,
    /// Cleaning cartridge.
    Cleaning,
}

/// The recording format of a data or WORM cartridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Format {
    /// LTO generation 1 … 9.
    Lto(u8),
    /// An LTO-7 cartridge formatted as LTO-8 Type M (`M8`).
    TypeM,
}

impl Format {
    /// The LTO generation of the format (Type M is 8).
    pub fn generation(self) -> u8 {
        match self {
            Format::Lto(g) => g,
            Format::TypeM => 8,
        }
    }

    /// The format of an LTO density code (scsi-reference §7), or `None` for any other code.
    pub fn from_density_code(code: u8) -> Option<Format> {
        Some(match code {
            0x40 => Format::Lto(1),
            0x42 => Format::Lto(2),
            0x44 => Format::Lto(3),
            0x46 => Format::Lto(4),
            0x58 => Format::Lto(5),
            0x5A => Format::Lto(6),
            0x5C => Format::Lto(7),
            0x5D => Format::TypeM,
            0x5E => Format::Lto(8),
            0x60 => Format::Lto(9),
            _ => return None,
        })
    }

    /// The density code of the format.
    pub fn density_code(self) -> u8 {
        match self {
            Format::Lto(1) => 0x40,
            Format::Lto(2) => 0x42,
            Format::Lto(3) => 0x44,
            Format::Lto(4) => 0x46,
            Format::Lto(5) => 0x58,
            Format::Lto(6) => 0x5A,
            Format::Lto(7) => 0x5C,
            Format::TypeM => 0x5D,
            Format::Lto(8) => 0x5E,
            Format::Lto(9) => 0x60,
            // Never constructed by this module; 0 is "default density" in SSC.
            Format::Lto(_) => 0,
        }
    }
}

/// Which source a piece of evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The volume tag's media id (last two characters) or `CLN` prefix.
    Barcode,
    /// A density code the drive reports for the loaded medium.
    DensityCode,
    /// Bits 2..0 of byte 9 of the changer's element descriptor.
    ElementMediumType,
    /// MAM attribute 0x0408 (medium type).
    MamMediumType,
    /// MAM attribute 0x0405 (density code).
    MamDensityCode,
}

/// What one source says about a cartridge. `None` = this source does not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Evidence {
    /// The source.
    pub source: Source,
    /// Data, WORM or cleaning, if the source tells.
    pub class: Option<MediumClass>,
    /// Recording format, if the source tells.
    pub format: Option<Format>,
}

impl Evidence {
    fn new(source: Source, class: Option<MediumClass>, format: Option<Format>) -> Self {
        Evidence {
            source,
            class,
            format,
        }
    }

    /// Whether the source told anything at all.
    pub fn is_empty(&self) -> bool {
        self.class.is_none() && self.format.is_none()
    }

    /// This evidence alone, resolved.
    pub fn resolve(self) -> Resolution {
        resolve(&[self])
    }
}

/// Evidence of a volume tag (primary volume identifier), trailing spaces ignored, any case.
///
/// LTO labels are a six-character volume serial and a two-character media id: `L1`..`L9` data,
/// `M8` Type M, `LT`..`LZ` WORM of LTO-3..9. A tag beginning with `CLN`, or with media id
/// `CU`, is a cleaning cartridge (whatever generation its suffix names: reel has one cleaning
/// type). A tag shorter than eight characters or with another media id tells nothing.
pub fn from_barcode(tag: &str) -> Evidence {
    let tag = tag.trim_end_matches([' ', '\0']).to_ascii_uppercase();
    let cleaning = Evidence::new(Source::Barcode, Some(MediumClass::Cleaning), None);
    if tag.starts_with("CLN") {
        return cleaning;
    }
    let bytes = tag.as_bytes();
    if bytes.len() < 8 {
        return Evidence::new(Source::Barcode, None, None);
    }
    let id = &bytes[bytes.len() - 2..];
    let (class, format) = match (id[0], id[1]) {
        (b'L', d @ b'1'..=b'9') => (MediumClass::Data, Format::Lto(d - b'0')),
        (b'M', b'8') => (MediumClass::Data, Format::TypeM),
        (b'L', w @ b'T'..=b'Z') => (MediumClass::Worm, Format::Lto(w - b'T' + 3)),
        (b'C', b'U') => return cleaning,
        _ => return Evidence::new(Source::Barcode, None, None),
    };
    Evidence::new(Source::Barcode, Some(class), Some(format))
}

/// Evidence of a density code reported by a drive for the loaded medium: the format only.
pub fn from_density_code(code: u8) -> Evidence {
    Evidence::new(Source::DensityCode, None, Format::from_density_code(code))
}

/// Evidence of MAM attribute 0x0405 (density code): the format only.
pub fn from_mam_density_code(code: u8) -> Evidence {
    Evidence::new(
        Source::MamDensityCode,
        None,
        Format::from_density_code(code),
    )
}

/// Evidence of an element descriptor's byte 9 (only bits 2..0 are read): 1 data, 2 cleaning,
/// 4 WORM; 0 (unspecified), 3 (diagnostic) and reserved values tell nothing.
pub fn from_element_medium_type(byte9: u8) -> Evidence {
    let class = match byte9 & 0x07 {
        1 => Some(MediumClass::Data),
        2 => Some(MediumClass::Cleaning),
        4 => Some(MediumClass::Worm),
        _ => None,
    };
    Evidence::new(Source::ElementMediumType, class, None)
}

/// Evidence of MAM attribute 0x0408 (medium type): 0x00 data, 0x01 cleaning, 0x80 WORM.
pub fn from_mam_medium_type(value: u8) -> Evidence {
    let class = match value {
        0x00 => Some(MediumClass::Data),
        0x01 => Some(MediumClass::Cleaning),
        0x80 => Some(MediumClass::Worm),
        _ => None,
    };
    Evidence::new(Source::MamMediumType, class, None)
}

/// The outcome of combining evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolution {
    /// The sources agree on a catalogue type.
    Known {
        /// The type.
        media_type: MediaType,
    },
    /// The sources agree on a cartridge the catalogue has no type for (LTO-1 … LTO-4).
    Unsupported {
        /// Its class.
        class: MediumClass,
        /// Its format.
        format: Format,
    },
    /// The sources disagree; every source that said something, in the order given.
    Conflict {
        /// What each source claimed.
        claims: Vec<Evidence>,
    },
    /// Not enough evidence to name a type.
    Unknown,
}

impl Resolution {
    /// The type, when known.
    pub fn media_type(&self) -> Option<MediaType> {
        match self {
            Resolution::Known { media_type } => Some(*media_type),
            _ => None,
        }
    }
}

fn agree<T: Copy + PartialEq>(values: impl Iterator<Item = T>) -> Result<Option<T>, ()> {
    let mut out = None;
    for v in values {
        match out {
            None => out = Some(v),
            Some(o) if o == v => {}
            Some(_) => return Err(()),
        }
    }
    Ok(out)
}

/// Combines the evidence of several sources (see the module doc).
///
/// Besides plain disagreement, a cleaning class together with a format, and Type M together
/// with WORM, are conflicts: no such cartridge exists, so the sources cannot all be right.
pub fn resolve(evidence: &[Evidence]) -> Resolution {
    let conflict = || Resolution::Conflict {
        claims: evidence.iter().copied().filter(|e| !e.is_empty()).collect(),
    };
    let (Ok(class), Ok(format)) = (
        agree(evidence.iter().filter_map(|e| e.class)),
        agree(evidence.iter().filter_map(|e| e.format)),
    ) else {
        return conflict();
    };
    match (class, format) {
        (Some(MediumClass::Cleaning), None) => Resolution::Known {
            media_type: MediaType::LtoCleaning,
        },
        (Some(MediumClass::Cleaning), Some(_)) => conflict(),
        (Some(MediumClass::Worm), Some(Format::TypeM)) => conflict(),
        // Type M exists only as data, so the format alone names it.
        (None | Some(MediumClass::Data), Some(Format::TypeM)) => Resolution::Known {
            media_type: MediaType::LtoM8,
        },
        (Some(class), Some(format)) => match MediaType::from_parts(class, Some(format)) {
            Some(media_type) => Resolution::Known { media_type },
            None => Resolution::Unsupported { class, format },
        },
        _ => Resolution::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MediaType::*;

    fn known(t: MediaType) -> Resolution {
        Resolution::Known { media_type: t }
    }

    #[test]
    fn barcodes() {
        use MediumClass::{Cleaning as C, Data as D, Worm as W};
        #[rustfmt::skip]
        let table: [(&str, Option<MediumClass>, Option<Format>, Resolution); 30] = [
            ("ABC001L5", Some(D), Some(Format::Lto(5)), known(Lto5)),
            ("ABC001L6", Some(D), Some(Format::Lto(6)), known(Lto6)),
            ("ABC001L7", Some(D), Some(Format::Lto(7)), known(Lto7)),
            ("ABC001L8", Some(D), Some(Format::Lto(8)), known(Lto8)),
            ("ABC001L9", Some(D), Some(Format::Lto(9)), known(Lto9)),
            ("ABC001M8", Some(D), Some(Format::TypeM), known(LtoM8)),
            ("ABC001LV", Some(W), Some(Format::Lto(5)), known(Lto5Worm)),
            ("ABC001LW", Some(W), Some(Format::Lto(6)), known(Lto6Worm)),
            ("ABC001LX", Some(W), Some(Format::Lto(7)), known(Lto7Worm)),
            ("ABC001LY", Some(W), Some(Format::Lto(8)), known(Lto8Worm)),
            ("ABC001LZ", Some(W), Some(Format::Lto(9)), known(Lto9Worm)),
            ("CLN001CU", Some(C), None, known(LtoCleaning)),
            ("CLN001L1", Some(C), None, known(LtoCleaning)),
            ("CLN123L9", Some(C), None, known(LtoCleaning)),
            ("XYZ001CU", Some(C), None, known(LtoCleaning)),
            ("abc001l8", Some(D), Some(Format::Lto(8)), known(Lto8)),
            ("ABC001L8    ", Some(D), Some(Format::Lto(8)), known(Lto8)),
            ("ABC001L1", Some(D), Some(Format::Lto(1)), Resolution::Unsupported { class: D, format: Format::Lto(1) }),
            ("ABC001L2", Some(D), Some(Format::Lto(2)), Resolution::Unsupported { class: D, format: Format::Lto(2) }),
            ("ABC001L3", Some(D), Some(Format::Lto(3)), Resolution::Unsupported { class: D, format: Format::Lto(3) }),
            ("ABC001L4", Some(D), Some(Format::Lto(4)), Resolution::Unsupported { class: D, format: Format::Lto(4) }),
            ("ABC001LT", Some(W), Some(Format::Lto(3)), Resolution::Unsupported { class: W, format: Format::Lto(3) }),
            ("ABC001LU", Some(W), Some(Format::Lto(4)), Resolution::Unsupported { class: W, format: Format::Lto(4) }),
            ("ABC001", None, None, Resolution::Unknown),
            ("", None, None, Resolution::Unknown),
            ("ABC001L0", None, None, Resolution::Unknown),
            ("ABC001LS", None, None, Resolution::Unknown),
            ("ABC001M7", None, None, Resolution::Unknown),
            ("ABC001D8", None, None, Resolution::Unknown),
            ("é€001L8\u{0}", Some(D), Some(Format::Lto(8)), known(Lto8)),
        ];
        for (tag, class, format, resolution) in table {
            let e = from_barcode(tag);
            assert_eq!(e.source, Source::Barcode);
            assert_eq!((e.class, e.format), (class, format), "{tag:?}");
            assert_eq!(e.resolve(), resolution, "{tag:?}");
        }
    }

    #[test]
    fn density_codes() {
        let table: [(u8, Option<Format>); 12] = [
            (0x40, Some(Format::Lto(1))),
            (0x42, Some(Format::Lto(2))),
            (0x44, Some(Format::Lto(3))),
            (0x46, Some(Format::Lto(4))),
            (0x58, Some(Format::Lto(5))),
            (0x5A, Some(Format::Lto(6))),
            (0x5C, Some(Format::Lto(7))),
            (0x5D, Some(Format::TypeM)),
            (0x5E, Some(Format::Lto(8))),
            (0x60, Some(Format::Lto(9))),
            (0x00, None),
            (0x5B, None),
        ];
        for (code, format) in table {
            assert_eq!(Format::from_density_code(code), format, "{code:#x}");
            let e = from_density_code(code);
            assert_eq!(
                (e.source, e.class, e.format),
                (Source::DensityCode, None, format)
            );
            assert_eq!(from_mam_density_code(code).source, Source::MamDensityCode);
            if let Some(f) = format {
                assert_eq!(f.density_code(), code, "round trip {f:?}");
            }
        }
        // Every other code tells nothing.
        for code in 0..=255u8 {
            let listed = table.iter().any(|(c, f)| *c == code && f.is_some());
            assert_eq!(
                Format::from_density_code(code).is_some(),
                listed,
                "{code:#x}"
            );
        }
        // A density alone names only Type M (data-only); LTO-8 could be data or WORM.
        assert_eq!(from_density_code(0x5D).resolve(), known(LtoM8));
        assert_eq!(from_density_code(0x5E).resolve(), Resolution::Unknown);
    }

    #[test]
    fn element_and_mam_medium_type() {
        use MediumClass::*;
        let element: [(u8, Option<MediumClass>); 9] = [
            (0, None),
            (1, Some(Data)),
            (2, Some(Cleaning)),
            (3, None),
            (4, Some(Worm)),
            (5, None),
            (7, None),
            (0x81, Some(Data)), // SVALID and other high bits ignored
            (0xCC, Some(Worm)),
        ];
        for (b, class) in element {
            let e = from_element_medium_type(b);
            assert_eq!(
                (e.source, e.class, e.format),
                (Source::ElementMediumType, class, None)
            );
        }
        let mam: [(u8, Option<MediumClass>); 5] = [
            (0x00, Some(Data)),
            (0x01, Some(Cleaning)),
            (0x80, Some(Worm)),
            (0x02, None),
            (0xFF, None),
        ];
        for (b, class) in mam {
            let e = from_mam_medium_type(b);
            assert_eq!(
                (e.source, e.class, e.format),
                (Source::MamMediumType, class, None)
            );
        }
        assert_eq!(from_element_medium_type(2).resolve(), known(LtoCleaning));
        assert_eq!(from_element_medium_type(1).resolve(), Resolution::Unknown);
    }

    #[test]
    fn resolve_table() {
        let bc = from_barcode;
        let el = from_element_medium_type;
        let mam = from_mam_medium_type;
        let den = from_density_code;
        let mden = from_mam_density_code;
        let conflict = |claims: &[Evidence]| Resolution::Conflict {
            claims: claims.to_vec(),
        };
        let table: Vec<(Vec<Evidence>, Resolution)> = vec![
            (vec![], Resolution::Unknown),
            (vec![el(0), den(0)], Resolution::Unknown),
            (vec![bc("ABC001L8"), el(1)], known(Lto8)),
            (
                vec![bc("ABC001L8"), el(1), mam(0), den(0x5E), mden(0x5E)],
                known(Lto8),
            ),
            (vec![el(4), den(0x5C)], known(Lto7Worm)),
            (vec![mam(0x80), mden(0x60)], known(Lto9Worm)),
            (vec![el(1), den(0x58)], known(Lto5)),
            (vec![bc("ABC001"), el(0), mam(0), den(0x5A)], known(Lto6)),
            (vec![bc("CLN001CU"), el(2), mam(1)], known(LtoCleaning)),
            (vec![bc("ABC001M8"), den(0x5D)], known(LtoM8)),
            (
                vec![el(1), den(0x46)],
                Resolution::Unsupported {
                    class: MediumClass::Data,
                    format: Format::Lto(4),
                },
            ),
            // Disagreements are reported with every claim, never picked.
            (
                vec![bc("ABC001L8"), el(4)],
                conflict(&[bc("ABC001L8"), el(4)]),
            ),
            (
                vec![bc("ABC001L8"), el(0), den(0x5C)],
                conflict(&[bc("ABC001L8"), den(0x5C)]),
            ),
            (
                vec![bc("ABC001LY"), mam(0)],
                conflict(&[bc("ABC001LY"), mam(0)]),
            ),
            (
                vec![bc("CLN001CU"), el(1)],
                conflict(&[bc("CLN001CU"), el(1)]),
            ),
            (vec![el(2), den(0x5E)], conflict(&[el(2), den(0x5E)])),
            (vec![el(4), den(0x5D)], conflict(&[el(4), den(0x5D)])),
            (
                vec![bc("ABC001M8"), den(0x5E)],
                conflict(&[bc("ABC001M8"), den(0x5E)]),
            ),
            (
                vec![den(0x5E), mden(0x60)],
                conflict(&[den(0x5E), mden(0x60)]),
            ),
        ];
        for (evidence, want) in table {
            assert_eq!(resolve(&evidence), want, "{evidence:?}");
        }
    }

    #[test]
    fn resolution_serialises_for_the_daemon() {
        let j = serde_json::to_value(known(Lto8)).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"kind": "known", "media_type": "LTO-8"})
        );
        let j = serde_json::to_value(resolve(&[
            from_barcode("A00001L8"),
            from_element_medium_type(4),
        ]))
        .unwrap();
        assert_eq!(
            j,
            serde_json::json!({"kind": "conflict", "claims": [
                {"source": "barcode", "class": "data", "format": {"Lto": 8}},
                {"source": "element_medium_type", "class": "worm", "format": null},
            ]})
        );
    }

    proptest::proptest! {
        #[test]
        fn any_tag_gives_evidence_without_panic(tag in "\\PC{0,40}") {
            let e = from_barcode(&tag);
            proptest::prop_assert_eq!(e.source, Source::Barcode);
            let _ = e.resolve();
        }
    }
}
