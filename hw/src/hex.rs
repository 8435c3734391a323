//! Bytes as hex, written one way everywhere: `Hex(b)` displays `12 34 ab` (messages, CDBs,
//! sense in errors); the alternate form `{:#}` writes `1234ab` (files), and [`parse`] reads
//! that compact form back.

use std::fmt;

/// Bytes shown as lowercase hex: `12 34 ab`, or `1234ab` with `{:#}`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spaced = !f.alternate();
        for (i, b) in self.0.iter().enumerate() {
            if spaced && i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The bytes of compact hex text (`1234ab`, either case); `None` for an odd length or a
/// character that is not a hex digit.
pub fn parse(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_the_round_trip() {
        let cases: &[(&[u8], &str, &str)] = &[
            (&[], "", ""),
            (&[0x00], "00", "00"),
            (&[0x12, 0x34, 0xAB], "12 34 ab", "1234ab"),
        ];
        for &(bytes, spaced, compact) in cases {
            assert_eq!(Hex(bytes).to_string(), spaced);
            assert_eq!(format!("{:?}", Hex(bytes)), spaced);
            assert_eq!(format!("{:#}", Hex(bytes)), compact);
            assert_eq!(parse(compact).as_deref(), Some(bytes));
        }
        assert_eq!(parse("ABcd").as_deref(), Some(&[0xAB, 0xCD][..]));
        for bad in ["1", "1g", "+1", "é1"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
