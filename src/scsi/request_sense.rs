//! REQUEST SENSE (0x03): fetch sense data explicitly (fixed format requested).
//!
//! CDB: byte 1 bit 0 DESC (0: fixed format); byte 4 allocation length.

use std::time::Duration;

use reel_hw::sense::{Sense, SenseError};

use super::ParseError;

/// Default timeout (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Allocation length that holds fixed-format sense with every field reel reads.
pub const ALLOCATION_LENGTH: u8 = 252;

/// The CDB, asking for fixed-format sense.
pub fn cdb(allocation_length: u8) -> [u8; 6] {
    [0x03, 0, 0, 0, allocation_length, 0]
}

/// Parses the sense data the device returned.
///
/// # Errors
/// - [`ParseError::Truncated`] (`sense data`) when the bytes end before the sense key;
/// - [`ParseError::InvalidField`] (`sense data response code`) for a response code other than
///   0x70..0x73, or (`sense data`) when nothing arrived.
pub fn parse(bytes: &[u8]) -> Result<Sense, ParseError> {
    Sense::parse(bytes).map_err(|e| match e {
        SenseError::UnknownResponseCode(code) => ParseError::InvalidField {
            what: "sense data response code",
            value: u64::from(code),
        },
        SenseError::TooShort { len, needed, .. } => ParseError::Truncated {
            what: "sense data",
            needed,
            available: len,
        },
        _ => ParseError::Truncated {
            what: "sense data",
            needed: 1,
            available: bytes.len(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_hw::sense::SenseKey;

    #[test]
    fn cdb_is_byte_exact() {
        for (len, want) in [(252u8, [3, 0, 0, 0, 252, 0]), (18, [3, 0, 0, 0, 18, 0])] {
            assert_eq!(cdb(len), want);
        }
    }

    #[test]
    fn parses_sense_or_names_what_is_wrong() {
        let fixed = [
            0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x28, 0x01, 0, 0, 0, 0,
        ];
        let s = parse(&fixed).unwrap();
        assert_eq!(
            (s.key, s.asc, s.ascq),
            (SenseKey::UNIT_ATTENTION, 0x28, 0x01)
        );
        assert_eq!(
            parse(&[0x42, 0, 0]),
            Err(ParseError::InvalidField {
                what: "sense data response code",
                value: 0x42
            })
        );
        assert!(matches!(parse(&[]), Err(ParseError::Truncated { .. })));
        assert!(matches!(parse(&[0x70]), Err(ParseError::Truncated { .. })));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse(&bytes);
        }
    }
}
