//! The LTO compatibility table (scsi-reference §7): which types a drive reads and writes.
//!
//! Up to LTO-7 a drive reads two generations back and writes one back; LTO-8 reads and writes
//! LTO-7, LTO-8 and Type M (`LTO-M8`); LTO-9 reads and writes LTO-8 and LTO-9. WORM types follow
//! their generation. REPORT DENSITY SUPPORT (medium-type form) is a drive's own word; this table
//! is the fallback when a drive does not answer it.
//!
//! Cleaning cartridges [design]: every LTO drive accepts the universal cleaning cartridge
//! ([`DriveGeneration::accepts`]), but it is neither read nor written, so `LTO-CLEANING` is not in
//! [`reads`](DriveGeneration::reads) or [`writes`](DriveGeneration::writes). A library's detected
//! types are those some drive reads, so cleaning never gets media pools: RSM keeps cleaners with
//! the library (its cleaner slot), not in pools.

use std::fmt;

use super::{Format, MediaType, MediumClass};

/// The LTO generation of a drive, 1 … 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DriveGeneration(u8);

impl DriveGeneration {
    /// A generation in 1 ..= 9; `None` otherwise (the table knows no other).
    pub fn new(generation: u8) -> Option<Self> {
        (1..=9).contains(&generation).then_some(Self(generation))
    }

    /// The generation number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The generation a drive's INQUIRY product names: IBM `ULT3580-HH8`/`-TD5`, HPE
    /// `Ultrium 8-SCSI`, Quantum/Tandberg `ULTRIUM-HH7`, `LTO-6 …`. `None` when the product
    /// names no generation plainly (e.g. HPE `Ultrium 1760`), rather than a guess.
    pub fn from_product(product: &str) -> Option<Self> {
        let p = product.to_ascii_uppercase();
        let rest = if let Some(i) = p.find("ULT3580-") {
            &p[i + "ULT3580-".len()..]
        } else if let Some(i) = p.find("ULTRIUM") {
            &p[i + "ULTRIUM".len()..]
        } else if let Some(i) = p.find("LTO") {
            &p[i + "LTO".len()..]
        } else {
            return None;
        };
        let rest = rest.trim_start_matches(|c: char| !c.is_ascii_digit());
        let digits: &str = &rest[..rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len())];
        match digits.as_bytes() {
            [d] => Self::new(d - b'0'),
            _ => None,
        }
    }

    /// The generation whose native format has this density code (Type M's 0x5D is LTO-8).
    pub fn from_density_code(code: u8) -> Option<Self> {
        Format::from_density_code(code).and_then(|f| Self::new(f.generation()))
    }

    /// Whether the drive reads this format.
    pub fn reads_format(self, format: Format) -> bool {
        let d = self.0;
        match format {
            Format::TypeM => d == 8,
            Format::Lto(g) => match d {
                8 => g == 7 || g == 8,
                9 => g == 8 || g == 9,
                _ => g <= d && g + 2 >= d,
            },
        }
    }

    /// Whether the drive writes this format.
    pub fn writes_format(self, format: Format) -> bool {
        let d = self.0;
        match format {
            Format::TypeM => d == 8,
            Format::Lto(g) => match d {
                8 => g == 7 || g == 8,
                9 => g == 8 || g == 9,
                _ => g <= d && g + 1 >= d,
            },
        }
    }

    /// Whether the drive reads cartridges of this type (never the cleaning cartridge).
    pub fn can_read(self, t: MediaType) -> bool {
        t.format().is_some_and(|f| self.reads_format(f))
    }

    /// Whether the drive writes cartridges of this type (never the cleaning cartridge).
    pub fn can_write(self, t: MediaType) -> bool {
        t.format().is_some_and(|f| self.writes_format(f))
    }

    /// Whether the drive accepts the cartridge at all: reads it, or cleans with it.
    pub fn accepts(self, t: MediaType) -> bool {
        t.class() == MediumClass::Cleaning || self.can_read(t)
    }

    /// The catalogue types the drive reads, in catalogue order.
    pub fn reads(self) -> Vec<MediaType> {
        MediaType::all()
            .iter()
            .copied()
            .filter(|&t| self.can_read(t))
            .collect()
    }

    /// The catalogue types the drive writes, in catalogue order.
    pub fn writes(self) -> Vec<MediaType> {
        MediaType::all()
            .iter()
            .copied()
            .filter(|&t| self.can_write(t))
            .collect()
    }
}

impl fmt::Display for DriveGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LTO-{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MediaType::*;

    fn names(v: &[MediaType]) -> Vec<&'static str> {
        v.iter().map(|t| t.name()).collect()
    }

    #[test]
    fn compatibility_table() {
        #[rustfmt::skip]
        let table: [(u8, &[MediaType], &[MediaType]); 9] = [
            (1, &[], &[]),
            (4, &[], &[]),
            (5, &[Lto5, Lto5Worm], &[Lto5, Lto5Worm]),
            (6, &[Lto5, Lto6, Lto5Worm, Lto6Worm], &[Lto5, Lto6, Lto5Worm, Lto6Worm]),
            (7, &[Lto5, Lto6, Lto7, Lto5Worm, Lto6Worm, Lto7Worm], &[Lto6, Lto7, Lto6Worm, Lto7Worm]),
            (8, &[Lto7, Lto8, LtoM8, Lto7Worm, Lto8Worm], &[Lto7, Lto8, LtoM8, Lto7Worm, Lto8Worm]),
            (9, &[Lto8, Lto9, Lto8Worm, Lto9Worm], &[Lto8, Lto9, Lto8Worm, Lto9Worm]),
            // LTO-6 writes LTO-5 (one back) — checked above; LTO-4 has no catalogue type.
            (3, &[], &[]),
            (2, &[], &[]),
        ];
        for (g, reads, writes) in table {
            let d = DriveGeneration::new(g).unwrap();
            assert_eq!(names(&d.reads()), names(reads), "{d} reads");
            assert_eq!(names(&d.writes()), names(writes), "{d} writes");
            assert!(d.accepts(LtoCleaning), "{d} cleans");
            assert!(!d.can_read(LtoCleaning) && !d.can_write(LtoCleaning));
        }
    }

    #[test]
    fn formats_beyond_the_catalogue() {
        let d = |g| DriveGeneration::new(g).unwrap();
        let table: [(u8, Format, bool, bool); 8] = [
            (3, Format::Lto(1), true, false),
            (3, Format::Lto(2), true, true),
            (4, Format::Lto(2), true, false),
            (4, Format::Lto(3), true, true),
            (5, Format::Lto(3), true, false),
            (7, Format::Lto(4), false, false),
            (9, Format::TypeM, false, false),
            (9, Format::Lto(7), false, false),
        ];
        for (g, f, r, w) in table {
            assert_eq!(
                (d(g).reads_format(f), d(g).writes_format(f)),
                (r, w),
                "LTO-{g} {f:?}"
            );
        }
        assert_eq!(DriveGeneration::new(0), None);
        assert_eq!(DriveGeneration::new(10), None);
    }

    #[test]
    fn from_product() {
        let table: [(&str, Option<u8>); 14] = [
            ("ULT3580-HH8", Some(8)),
            ("ULT3580-TD5", Some(5)),
            ("ULT3580-HH9     ", Some(9)),
            ("ULTRIUM-HH7", Some(7)),
            ("ULTRIUM-TD6", Some(6)),
            ("Ultrium 8-SCSI", Some(8)),
            ("Ultrium 5-SCSI", Some(5)),
            ("LTO-6 HH", Some(6)),
            ("Ultrium 1760", None),
            ("ULT3580", None),
            ("VIRTUAL LIBRARY", None),
            ("", None),
            ("LTO-10", None),
            ("SDLT600", None),
        ];
        for (p, g) in table {
            assert_eq!(
                DriveGeneration::from_product(p).map(|d| d.get()),
                g,
                "{p:?}"
            );
        }
    }

    #[test]
    fn from_density_code() {
        let table: [(u8, Option<u8>); 5] = [
            (0x5E, Some(8)),
            (0x5D, Some(8)),
            (0x60, Some(9)),
            (0x58, Some(5)),
            (0x99, None),
        ];
        for (c, g) in table {
            assert_eq!(
                DriveGeneration::from_density_code(c).map(|d| d.get()),
                g,
                "{c:#x}"
            );
        }
    }
}
