//! READ BLOCK LIMITS (0x05, SSC): the block lengths the drive accepts.

use std::time::Duration;

use super::opcode::OpCode;

use super::reader::Reader;
use super::ParseError;

/// Operation code.
pub const OPCODE: OpCode = OpCode::READ_BLOCK_LIMITS;

/// Default timeout (answered from the drive's firmware, no medium motion).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Length of the reply.
pub const REPLY_LEN: usize = 6;

/// The READ BLOCK LIMITS CDB.
pub fn cdb() -> [u8; 6] {
    [OPCODE.0, 0, 0, 0, 0, 0]
}

/// The drive's block length limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    /// Block lengths must be a multiple of `2^granularity` bytes (byte 0 bits 4..0).
    pub granularity: u8,
    /// Largest block length in bytes; 0 means the drive states no limit (24-bit field).
    pub max_block_length: u32,
    /// Smallest block length in bytes.
    pub min_block_length: u16,
}

impl BlockLimits {
    /// True when the drive accepts only one block length (fixed-block only).
    pub fn fixed_only(&self) -> bool {
        self.max_block_length != 0 && self.max_block_length == u32::from(self.min_block_length)
    }

    /// True when a block of `len` bytes is within the limits and the granularity.
    pub fn accepts(&self, len: u32) -> bool {
        let granule = 1u64 << self.granularity.min(31);
        len >= u32::from(self.min_block_length)
            && (self.max_block_length == 0 || len <= self.max_block_length)
            && u64::from(len) % granule == 0
    }
}

/// Parses the 6-byte reply. Bytes past the sixth are ignored.
///
/// # Errors
/// [`ParseError::Truncated`] ("block limits") when fewer than 6 bytes were transferred.
pub fn parse(reply: &[u8]) -> Result<BlockLimits, ParseError> {
    let mut r = Reader::new(reply);
    let mut r = r.sub(REPLY_LEN, "block limits")?;
    let granularity = r.u8("block limits granularity")? & 0x1f;
    let max_block_length = r.u24("block limits maximum")?;
    let min_block_length = r.u16("block limits minimum")?;
    Ok(BlockLimits {
        granularity,
        max_block_length,
        min_block_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        assert_eq!(cdb(), [0x05, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn parses_replies() {
        let cases: &[(&[u8], Result<BlockLimits, ParseError>)] = &[
            // LTO: 1 byte .. 8 MiB, no granularity.
            (
                &[0x00, 0x80, 0x00, 0x00, 0x00, 0x01],
                Ok(BlockLimits {
                    granularity: 0,
                    max_block_length: 0x80_0000,
                    min_block_length: 1,
                }),
            ),
            // Granularity 2 (multiples of 4), reserved bits of byte 0 ignored.
            (
                &[0xe2, 0x00, 0xff, 0xfc, 0x00, 0x04],
                Ok(BlockLimits {
                    granularity: 2,
                    max_block_length: 0xfffc,
                    min_block_length: 4,
                }),
            ),
            // Trailing bytes are ignored.
            (
                &[0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0xaa],
                Ok(BlockLimits {
                    granularity: 0,
                    max_block_length: 512,
                    min_block_length: 512,
                }),
            ),
            (
                &[0x00, 0x80, 0x00, 0x00, 0x00],
                Err(ParseError::Truncated {
                    what: "block limits",
                    needed: 6,
                    available: 5,
                }),
            ),
            (
                &[],
                Err(ParseError::Truncated {
                    what: "block limits",
                    needed: 6,
                    available: 0,
                }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&parse(input), want, "{input:02x?}");
        }
    }

    #[test]
    fn accepts_and_fixed_only() {
        let lto = BlockLimits {
            granularity: 0,
            max_block_length: 0x80_0000,
            min_block_length: 1,
        };
        let fixed = BlockLimits {
            granularity: 0,
            max_block_length: 512,
            min_block_length: 512,
        };
        let gran = BlockLimits {
            granularity: 2,
            max_block_length: 0,
            min_block_length: 4,
        };
        let cases: &[(BlockLimits, u32, bool)] = &[
            (lto, 1, true),
            (lto, 0x80_0000, true),
            (lto, 0x80_0001, false),
            (lto, 0, false),
            (fixed, 512, true),
            (fixed, 1024, false),
            (gran, 6, false),
            (gran, 8, true),
            (gran, u32::MAX - 3, true),
        ];
        for &(limits, len, want) in cases {
            assert_eq!(limits.accepts(len), want, "{limits:?} {len}");
        }
        assert!(fixed.fixed_only());
        assert!(!lto.fixed_only());
        assert!(!gran.fixed_only());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..16)) {
            let got = parse(&bytes);
            proptest::prop_assert_eq!(got.is_ok(), bytes.len() >= REPLY_LEN);
        }
    }
}
