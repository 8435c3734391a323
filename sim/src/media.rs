//! Media identity: what a barcode says a cartridge is, and which LTO drive generation can read
//! or write it (scsi-reference §7).

use std::fmt;

/// The longest volume identifier a barcode may have (the 32-byte field of a volume tag).
pub const MAX_BARCODE_LEN: usize = 32;

/// A cartridge's barcode (volume tag identifier): 1 to 32 printable ASCII characters, no spaces.
///
/// Stored inline (no allocation) so a library of 40,000 cartridges stays compact.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Barcode {
    len: u8,
    bytes: [u8; MAX_BARCODE_LEN],
}

/// Why a string is not a barcode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    /// The empty string.
    #[error("a barcode cannot be empty")]
    Empty,
    /// More than 32 characters.
    #[error("a barcode has at most 32 characters, this one has {0}")]
    TooLong(usize),
    /// A space, control or non-ASCII character.
    #[error("a barcode holds printable ASCII without spaces; {0:?} is not allowed")]
    BadChar(char),
}

impl Barcode {
    /// Validates `s` as a barcode.
    ///
    /// # Errors
    /// [`BarcodeError`] when `s` is empty, longer than 32 characters, or holds a character other
    /// than printable ASCII (0x21..=0x7E).
    pub fn new(s: &str) -> Result<Barcode, BarcodeError> {
        if s.is_empty() {
            return Err(BarcodeError::Empty);
        }
        if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(BarcodeError::BadChar(c));
        }
        if s.len() > MAX_BARCODE_LEN {
            return Err(BarcodeError::TooLong(s.len()));
        }
        let mut bytes = [b' '; MAX_BARCODE_LEN];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Barcode {
            len: s.len() as u8,
            bytes,
        })
    }

    /// The barcode text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`).
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }

    /// The 32-byte volume identifier field: the barcode, space padded.
    pub fn padded(&self) -> &[u8; MAX_BARCODE_LEN] {
        &self.bytes
    }

    /// What kind of cartridge the label says this is.
    pub fn medium(&self) -> Medium {
        Medium::from_barcode(self.as_str())
    }

    /// The barcode `n` steps after this one, counting in the digits just before the two-character
    /// media suffix (`A00000L8` + 3 = `A00003L8`). `None` when there are no such digits or the
    /// count does not fit in them.
    pub fn nth_in_run(&self, n: u64) -> Option<Barcode> {
        let s = self.as_str().as_bytes();
        if s.len() < 3 {
            return None;
        }
        let end = s.len() - 2;
        let start = s[..end]
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |p| p + 1);
        let digits = &s[start..end];
        if digits.is_empty() || digits.len() > 18 {
            return None;
        }
        let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        let next = value.checked_add(n)?;
        let width = digits.len();
        if next >= 10u64.pow(width as u32) {
            return None;
        }
        let mut out = String::with_capacity(s.len());
        out.push_str(std::str::from_utf8(&s[..start]).ok()?);
        out.push_str(&format!("{next:0width$}"));
        out.push_str(std::str::from_utf8(&s[end..]).ok()?);
        Barcode::new(&out).ok()
    }
}

impl Barcode {
    /// The next barcode of a run (`A00009L8` → `A00010L8`), incrementing the digits before the
    /// two-character suffix in place; `None` when they would overflow or there are none.
    pub fn next_in_run(&self) -> Option<Barcode> {
        let len = usize::from(self.len);
        if len < 3 {
            return None;
        }
        let mut next = *self;
        let end = len - 2;
        let mut i = end;
        while i > 0 {
            i -= 1;
            match next.bytes[i] {
                b'9' => next.bytes[i] = b'0',
                d @ b'0'..=b'8' => {
                    next.bytes[i] = d + 1;
                    return Some(next);
                }
                _ => return None,
            }
        }
        None
    }
}

impl fmt::Debug for Barcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Barcode({})", self.as_str())
    }
}

impl fmt::Display for Barcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a cartridge is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediumKind {
    /// A rewritable data cartridge.
    Data,
    /// A write-once data cartridge.
    Worm,
    /// A cleaning cartridge.
    Cleaning,
    /// A label this simulator does not recognise: no drive can use it.
    Unknown,
}

/// A cartridge's identity as its barcode suffix tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Medium {
    /// Data, WORM, cleaning or unknown.
    pub kind: MediumKind,
    /// LTO generation 1..=9 (0 for cleaning and unknown cartridges).
    pub generation: u8,
    /// LTO-7 cartridge formatted as LTO-8 Type M (`M8`).
    pub type_m: bool,
}

impl Medium {
    /// Reads the barcode's suffix: `L1`..`L9` data, `M8` LTO-7 Type M, `LT`..`LZ` WORM
    /// (LTO-3..9), `CLN...` ending `Lx` or `CU` cleaning; anything else is unknown.
    pub fn from_barcode(barcode: &str) -> Medium {
        let b = barcode.as_bytes();
        let unknown = Medium {
            kind: MediumKind::Unknown,
            generation: 0,
            type_m: false,
        };
        if b.len() < 3 {
            return unknown;
        }
        let suffix = [b[b.len() - 2], b[b.len() - 1]];
        if barcode.starts_with("CLN") && (suffix == *b"CU" || suffix[0] == b'L') {
            return Medium {
                kind: MediumKind::Cleaning,
                generation: 0,
                type_m: false,
            };
        }
        match suffix {
            [b'L', g @ b'1'..=b'9'] => Medium {
                kind: MediumKind::Data,
                generation: g - b'0',
                type_m: false,
            },
            [b'M', b'8'] => Medium {
                kind: MediumKind::Data,
                generation: 7,
                type_m: true,
            },
            [b'L', w @ b'T'..=b'Z'] => Medium {
                kind: MediumKind::Worm,
                generation: w - b'T' + 3,
                type_m: false,
            },
            _ => unknown,
        }
    }

    /// The medium-type bits of an element descriptor (byte 9 bits 2..0): 1 data, 2 cleaning,
    /// 4 WORM, 0 unspecified.
    pub fn element_type_bits(self) -> u8 {
        match self.kind {
            MediumKind::Data => 1,
            MediumKind::Cleaning => 2,
            MediumKind::Worm => 4,
            MediumKind::Unknown => 0,
        }
    }

    /// The density code data on this cartridge is written in, if it is a data cartridge.
    pub fn density_code(self) -> Option<u8> {
        match self.kind {
            MediumKind::Data | MediumKind::Worm if self.type_m => Some(0x5D),
            MediumKind::Data | MediumKind::Worm => density_of_generation(self.generation),
            _ => None,
        }
    }

    /// The MAM medium type (attribute 0x0408): 0x00 data, 0x01 cleaning, 0x80 WORM.
    pub fn mam_medium_type(self) -> u8 {
        match self.kind {
            MediumKind::Cleaning => 0x01,
            MediumKind::Worm => 0x80,
            _ => 0x00,
        }
    }

    /// The simulator's medium type code in REPORT DENSITY SUPPORT (medium type form):
    /// generation × 0x10 + 0x08 for data, + 0x0C for WORM, 0x7A for LTO-7 Type M.
    pub fn medium_type_code(self) -> u8 {
        match self.kind {
            MediumKind::Data if self.type_m => 0x7A,
            MediumKind::Data => self.generation * 0x10 + 0x08,
            MediumKind::Worm => self.generation * 0x10 + 0x0C,
            MediumKind::Cleaning => 0x01,
            MediumKind::Unknown => 0x00,
        }
    }
}

/// The density code of LTO generation `g` (1..=9).
pub fn density_of_generation(g: u8) -> Option<u8> {
    Some(match g {
        1 => 0x40,
        2 => 0x42,
        3 => 0x44,
        4 => 0x46,
        5 => 0x58,
        6 => 0x5A,
        7 => 0x5C,
        8 => 0x5E,
        9 => 0x60,
        _ => return None,
    })
}

/// Descriptive facts about one LTO density, as REPORT DENSITY SUPPORT gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DensityInfo {
    /// Density code.
    pub code: u8,
    /// Bits per mm.
    pub bits_per_mm: u32,
    /// Number of tracks.
    pub tracks: u16,
    /// Native capacity in megabytes (10^6 bytes).
    pub capacity_mb: u32,
    /// Tape length in metres.
    pub length_m: u16,
    /// Density name (≤ 8 characters).
    pub name: &'static str,
    /// Description (≤ 20 characters).
    pub description: &'static str,
}

/// The facts of density `code`, when it is an LTO density.
pub fn density_info(code: u8) -> Option<DensityInfo> {
    let d = |bits_per_mm, tracks, capacity_mb, length_m, name, description| DensityInfo {
        code,
        bits_per_mm,
        tracks,
        capacity_mb,
        length_m,
        name,
        description,
    };
    Some(match code {
        0x40 => d(4880, 384, 100_000, 609, "U-18", "Ultrium 1/8T"),
        0x42 => d(7398, 512, 200_000, 609, "U-28", "Ultrium 2/8T"),
        0x44 => d(9638, 704, 400_000, 680, "U-316", "Ultrium 3/16T"),
        0x46 => d(13250, 896, 800_000, 820, "U-416", "Ultrium 4/16T"),
        0x58 => d(15142, 1280, 1_500_000, 846, "U-516", "Ultrium 5/16T"),
        0x5A => d(15142, 2176, 2_500_000, 846, "U-616", "Ultrium 6/16T"),
        0x5C => d(19107, 3584, 6_000_000, 960, "U-732", "Ultrium 7/32T"),
        0x5D => d(19107, 5376, 9_000_000, 960, "U-732M", "Ultrium 7 Type M"),
        0x5E => d(20669, 6656, 12_000_000, 960, "U-832", "Ultrium 8/32T"),
        0x60 => d(21850, 8960, 18_000_000, 1035, "U-932", "Ultrium 9/32T"),
        _ => return None,
    })
}

/// An LTO drive generation (5..=9), as a layout's `generation = "LTO-8"` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Generation(pub u8);

impl Generation {
    /// Parses `LTO-5` .. `LTO-9`.
    pub fn parse(s: &str) -> Option<Generation> {
        match s.strip_prefix("LTO-")?.as_bytes() {
            [g @ b'5'..=b'9'] => Some(Generation(g - b'0')),
            _ => None,
        }
    }

    /// True when a drive of this generation can read `m` (scsi-reference §7).
    pub fn reads(self, m: Medium) -> bool {
        if !matches!(m.kind, MediumKind::Data | MediumKind::Worm) {
            return false;
        }
        if m.type_m {
            return self.0 == 8;
        }
        match self.0 {
            8 => m.generation == 7 || m.generation == 8,
            9 => m.generation == 8 || m.generation == 9,
            g => m.generation <= g && m.generation + 2 >= g,
        }
    }

    /// True when a drive of this generation can write `m`.
    pub fn writes(self, m: Medium) -> bool {
        if !self.reads(m) {
            return false;
        }
        match self.0 {
            8 | 9 => true,
            g => m.generation + 1 >= g,
        }
    }

    /// The density codes this drive reads, oldest first.
    pub fn densities(self) -> Vec<u8> {
        match self.0 {
            8 => vec![0x5C, 0x5D, 0x5E],
            9 => vec![0x5E, 0x60],
            g => (g - 2..=g).filter_map(density_of_generation).collect(),
        }
    }

    /// The density codes this drive writes.
    pub fn writable_densities(self) -> Vec<u8> {
        match self.0 {
            8 => vec![0x5C, 0x5D, 0x5E],
            9 => vec![0x5E, 0x60],
            g => (g - 1..=g).filter_map(density_of_generation).collect(),
        }
    }

    /// The media this drive can read: data and WORM of each generation it reads, Type M for
    /// LTO-8.
    pub fn media(self) -> Vec<Medium> {
        let mut v = Vec::new();
        for g in 1..=9u8 {
            for kind in [MediumKind::Data, MediumKind::Worm] {
                let m = Medium {
                    kind,
                    generation: g,
                    type_m: false,
                };
                if (kind == MediumKind::Data || g >= 3) && self.reads(m) {
                    v.push(m);
                }
            }
            if g == 7 {
                let m = Medium {
                    kind: MediumKind::Data,
                    generation: 7,
                    type_m: true,
                };
                if self.reads(m) {
                    v.push(m);
                }
            }
        }
        v
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LTO-{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcode_suffix_table() {
        let cases: &[(&str, MediumKind, u8, bool, u8)] = &[
            ("ABC001L8", MediumKind::Data, 8, false, 1),
            ("ABC001L5", MediumKind::Data, 5, false, 1),
            ("ABC001M8", MediumKind::Data, 7, true, 1),
            ("ABC001LT", MediumKind::Worm, 3, false, 4),
            ("ABC001LX", MediumKind::Worm, 7, false, 4),
            ("ABC001LZ", MediumKind::Worm, 9, false, 4),
            ("CLN001CU", MediumKind::Cleaning, 0, false, 2),
            ("CLN001L8", MediumKind::Cleaning, 0, false, 2),
            ("ABC001XX", MediumKind::Unknown, 0, false, 0),
            ("AB", MediumKind::Unknown, 0, false, 0),
        ];
        for &(b, kind, generation, type_m, bits) in cases {
            let m = Medium::from_barcode(b);
            assert_eq!(
                m,
                Medium {
                    kind,
                    generation,
                    type_m
                },
                "{b}"
            );
            assert_eq!(m.element_type_bits(), bits, "{b}");
        }
    }

    #[test]
    fn compatibility_table() {
        // (drive generation, barcode, reads, writes)
        let cases: &[(u8, &str, bool, bool)] = &[
            (5, "X00000L3", true, false),
            (5, "X00000L4", true, true),
            (5, "X00000L5", true, true),
            (5, "X00000L6", false, false),
            (7, "X00000L4", false, false),
            (7, "X00000L5", true, false),
            (7, "X00000L6", true, true),
            (7, "X00000L7", true, true),
            (7, "X00000M8", false, false),
            (8, "X00000L6", false, false),
            (8, "X00000L7", true, true),
            (8, "X00000M8", true, true),
            (8, "X00000L8", true, true),
            (8, "X00000LY", true, true),
            (9, "X00000L7", false, false),
            (9, "X00000M8", false, false),
            (9, "X00000L8", true, true),
            (9, "X00000L9", true, true),
            (9, "CLN001CU", false, false),
        ];
        for &(g, b, r, w) in cases {
            let m = Medium::from_barcode(b);
            assert_eq!(Generation(g).reads(m), r, "LTO-{g} reads {b}");
            assert_eq!(Generation(g).writes(m), w, "LTO-{g} writes {b}");
        }
    }

    #[test]
    fn runs_count_in_the_digits_before_the_suffix() {
        let b = Barcode::new("A00000L8").unwrap();
        assert_eq!(b.nth_in_run(499).unwrap().as_str(), "A00499L8");
        assert_eq!(
            Barcode::new("AB9998L8")
                .unwrap()
                .nth_in_run(1)
                .unwrap()
                .as_str(),
            "AB9999L8"
        );
        assert!(Barcode::new("AB9998L8").unwrap().nth_in_run(2).is_none());
        assert!(Barcode::new("ABCDEFL8").unwrap().nth_in_run(1).is_none());
        let cases = [
            ("A00009L8", Some("A00010L8")),
            ("AB0999L8", Some("AB1000L8")),
            ("AB9999L8", None),
            ("ABCDEFL8", None),
            ("999999L8", None),
            ("000000L8", Some("000001L8")),
        ];
        for (b, want) in cases {
            let got = Barcode::new(b).unwrap().next_in_run();
            assert_eq!(got.as_ref().map(Barcode::as_str), want, "{b}");
        }
    }

    #[test]
    fn bad_barcodes() {
        assert_eq!(Barcode::new(""), Err(BarcodeError::Empty));
        assert_eq!(Barcode::new("AB C01L8"), Err(BarcodeError::BadChar(' ')));
        assert_eq!(Barcode::new("ABCé01L8"), Err(BarcodeError::BadChar('é')));
        assert_eq!(
            Barcode::new(&"A".repeat(33)),
            Err(BarcodeError::TooLong(33))
        );
        assert!(Barcode::new(&"A".repeat(32)).is_ok());
    }
}
