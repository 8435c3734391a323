//! READ POSITION (0x34, SSC): where the medium is, in the short (0x00) or long (0x06) form.

use std::time::Duration;

use super::opcode::OpCode;

use super::reader::Reader;
use super::tape_code::open_code;
use super::ParseError;

/// Operation code.
pub const OPCODE: OpCode = OpCode::READ_POSITION;

/// Default timeout (answered from the drive's state, no medium motion).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Length of the short-form reply.
pub const SHORT_LEN: usize = 20;

/// Length of the long-form reply.
pub const LONG_LEN: usize = 32;

open_code! {
    /// READ POSITION service action (byte 1 bits 4..0).
    ServiceAction(u8) {
        /// Short form, block identifiers (20-byte reply).
        SHORT_BLOCK_ID = 0x00 => "SHORT FORM - BLOCK ID",
        /// Short form, vendor-specific positions.
        SHORT_VENDOR = 0x01 => "SHORT FORM - VENDOR SPECIFIC",
        /// Long form (32-byte reply: partition, object number, file and set identifiers).
        LONG = 0x06 => "LONG FORM",
        /// Extended form (SSC-3; takes an allocation length).
        EXTENDED = 0x08 => "EXTENDED FORM",
    }
}

/// The READ POSITION CDB for `action`. The allocation length is only sent for the extended
/// form: SSC requires zero for the short and long forms.
pub fn cdb(action: ServiceAction, allocation_length: u16) -> [u8; 10] {
    let len = if action == ServiceAction::EXTENDED {
        allocation_length
    } else {
        0
    };
    let [hi, lo] = len.to_be_bytes();
    [OPCODE.0, action.0 & 0x1f, 0, 0, 0, 0, 0, hi, lo, 0]
}

/// The short-form CDB.
pub fn short_cdb() -> [u8; 10] {
    cdb(ServiceAction::SHORT_BLOCK_ID, 0)
}

/// The long-form CDB.
pub fn long_cdb() -> [u8; 10] {
    cdb(ServiceAction::LONG, 0)
}

/// The short-form reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortPosition {
    /// Beginning of partition (byte 0 bit 7).
    pub bop: bool,
    /// End of partition: between early warning and end (byte 0 bit 6).
    pub eop: bool,
    /// Beyond the programmable early warning (byte 0 bit 0).
    pub bpew: bool,
    /// Current partition (byte 1).
    pub partition: u8,
    /// Block the host would read or write next (bytes 4..7); `None` when the drive sets BPU
    /// (block position unknown, byte 0 bit 2).
    pub first_block: Option<u32>,
    /// Next block the drive will write to the medium from its buffer (bytes 8..11); `None` with
    /// BPU.
    pub last_block: Option<u32>,
    /// Blocks held in the drive's buffer (bytes 13..15); `None` when the drive sets BCU (byte 0
    /// bit 5).
    pub buffered_blocks: Option<u32>,
    /// Bytes held in the drive's buffer (bytes 16..19); `None` when the drive sets BYCU (byte 0
    /// bit 4).
    pub buffered_bytes: Option<u32>,
}

/// Parses a short-form reply. Bytes past the 20th are ignored.
///
/// # Errors
/// [`ParseError::Truncated`] ("short position") when fewer than 20 bytes were transferred.
pub fn parse_short(reply: &[u8]) -> Result<ShortPosition, ParseError> {
    let mut r = Reader::new(reply).sub(SHORT_LEN, "short position")?;
    let flags = r.u8("short position flags")?;
    let partition = r.u8("short position partition")?;
    r.skip(2, "short position reserved")?;
    let first = r.u32("short position first block")?;
    let last = r.u32("short position last block")?;
    r.skip(1, "short position reserved")?;
    let blocks = r.u24("short position buffered blocks")?;
    let bytes = r.u32("short position buffered bytes")?;
    let bpu = flags & 0x04 != 0;
    Ok(ShortPosition {
        bop: flags & 0x80 != 0,
        eop: flags & 0x40 != 0,
        bpew: flags & 0x01 != 0,
        partition,
        first_block: (!bpu).then_some(first),
        last_block: (!bpu).then_some(last),
        buffered_blocks: (flags & 0x20 == 0).then_some(blocks),
        buffered_bytes: (flags & 0x10 == 0).then_some(bytes),
    })
}

/// The long-form reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongPosition {
    /// Beginning of partition (byte 0 bit 7).
    pub bop: bool,
    /// End of partition (byte 0 bit 6).
    pub eop: bool,
    /// Beyond the programmable early warning (byte 0 bit 0).
    pub bpew: bool,
    /// Current partition (bytes 4..7).
    pub partition: u32,
    /// Logical object (block) number (bytes 8..15); `None` when the drive sets LONU (byte 0
    /// bit 2).
    pub block_number: Option<u64>,
    /// Logical file identifier: filemarks before this position (bytes 16..23); `None` when the
    /// drive sets MPU (byte 0 bit 3).
    pub file_number: Option<u64>,
    /// Logical set identifier: setmarks before this position (bytes 24..31); `None` with MPU.
    pub set_number: Option<u64>,
}

/// Parses a long-form reply. Bytes past the 32nd are ignored.
///
/// # Errors
/// [`ParseError::Truncated`] ("long position") when fewer than 32 bytes were transferred.
pub fn parse_long(reply: &[u8]) -> Result<LongPosition, ParseError> {
    let mut r = Reader::new(reply).sub(LONG_LEN, "long position")?;
    let flags = r.u8("long position flags")?;
    r.skip(3, "long position reserved")?;
    let partition = r.u32("long position partition")?;
    let block = r.u64("long position block number")?;
    let file = r.u64("long position file number")?;
    let set = r.u64("long position set number")?;
    let lonu = flags & 0x04 != 0;
    let mpu = flags & 0x08 != 0;
    Ok(LongPosition {
        bop: flags & 0x80 != 0,
        eop: flags & 0x40 != 0,
        bpew: flags & 0x01 != 0,
        partition,
        block_number: (!lonu).then_some(block),
        file_number: (!mpu).then_some(file),
        set_number: (!mpu).then_some(set),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        let cases: &[([u8; 10], [u8; 10])] = &[
            (short_cdb(), [0x34, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]),
            (long_cdb(), [0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]),
            (
                cdb(ServiceAction::SHORT_VENDOR, 0),
                [0x34, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            // The allocation length is zeroed for short and long forms...
            (
                cdb(ServiceAction::LONG, 0x20),
                [0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            // ...and sent for the extended form.
            (
                cdb(ServiceAction::EXTENDED, 0x0120),
                [0x34, 0x08, 0, 0, 0, 0, 0, 0x01, 0x20, 0],
            ),
            // Bits above the 5-bit service action field are masked.
            (
                cdb(ServiceAction(0xe6), 0),
                [0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    fn short(flags: u8, part: u8, first: u32, last: u32, blocks: u32, bytes: u32) -> Vec<u8> {
        let mut v = vec![flags, part, 0, 0];
        v.extend_from_slice(&first.to_be_bytes());
        v.extend_from_slice(&last.to_be_bytes());
        v.push(0);
        v.extend_from_slice(&blocks.to_be_bytes()[1..]);
        v.extend_from_slice(&bytes.to_be_bytes());
        v
    }

    #[test]
    fn parses_short_form() {
        let at_bop = ShortPosition {
            bop: true,
            eop: false,
            bpew: false,
            partition: 0,
            first_block: Some(0),
            last_block: Some(0),
            buffered_blocks: Some(0),
            buffered_bytes: Some(0),
        };
        let cases: Vec<(Vec<u8>, Result<ShortPosition, ParseError>)> = vec![
            (short(0x80, 0, 0, 0, 0, 0), Ok(at_bop.clone())),
            (
                short(0x00, 1, 1234, 1200, 34, 34 * 262_144),
                Ok(ShortPosition {
                    bop: false,
                    partition: 1,
                    first_block: Some(1234),
                    last_block: Some(1200),
                    buffered_blocks: Some(34),
                    buffered_bytes: Some(34 * 262_144),
                    ..at_bop.clone()
                }),
            ),
            // EOP + BPEW, BPU: positions unknown; BCU and BYCU: buffer counts unknown.
            (
                short(0x41 | 0x04 | 0x20 | 0x10, 0, 0xffff_ffff, 7, 9, 9),
                Ok(ShortPosition {
                    bop: false,
                    eop: true,
                    bpew: true,
                    partition: 0,
                    first_block: None,
                    last_block: None,
                    buffered_blocks: None,
                    buffered_bytes: None,
                }),
            ),
            // Trailing bytes ignored.
            (
                [short(0x80, 0, 0, 0, 0, 0), vec![0xff; 4]].concat(),
                Ok(at_bop),
            ),
            (
                short(0x80, 0, 0, 0, 0, 0)[..19].to_vec(),
                Err(ParseError::Truncated {
                    what: "short position",
                    needed: 20,
                    available: 19,
                }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_short(&input), want, "{input:02x?}");
        }
    }

    fn long(flags: u8, part: u32, block: u64, file: u64, set: u64) -> Vec<u8> {
        let mut v = vec![flags, 0, 0, 0];
        v.extend_from_slice(&part.to_be_bytes());
        v.extend_from_slice(&block.to_be_bytes());
        v.extend_from_slice(&file.to_be_bytes());
        v.extend_from_slice(&set.to_be_bytes());
        v
    }

    #[test]
    fn parses_long_form() {
        let cases: Vec<(Vec<u8>, Result<LongPosition, ParseError>)> = vec![
            (
                long(0x80, 0, 0, 0, 0),
                Ok(LongPosition {
                    bop: true,
                    eop: false,
                    bpew: false,
                    partition: 0,
                    block_number: Some(0),
                    file_number: Some(0),
                    set_number: Some(0),
                }),
            ),
            (
                long(0x00, 1, 0x1_0000_0001, 3, 0),
                Ok(LongPosition {
                    bop: false,
                    eop: false,
                    bpew: false,
                    partition: 1,
                    block_number: Some(0x1_0000_0001),
                    file_number: Some(3),
                    set_number: Some(0),
                }),
            ),
            // LONU and MPU: numbers unknown.
            (
                long(0x40 | 0x08 | 0x04 | 0x01, 2, 5, 6, 7),
                Ok(LongPosition {
                    bop: false,
                    eop: true,
                    bpew: true,
                    partition: 2,
                    block_number: None,
                    file_number: None,
                    set_number: None,
                }),
            ),
            (
                long(0, 0, 0, 0, 0)[..20].to_vec(),
                Err(ParseError::Truncated {
                    what: "long position",
                    needed: 32,
                    available: 20,
                }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_long(&input), want, "{input:02x?}");
        }
    }

    #[test]
    fn service_action_names_round_trip() {
        for &a in ServiceAction::KNOWN {
            assert_eq!(ServiceAction::from(a.0), a);
            assert!(a.name().is_some());
        }
        assert_eq!(format!("{:?}", ServiceAction(0x1f)), "ServiceAction(0x1f)");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..48)) {
            proptest::prop_assert_eq!(parse_short(&bytes).is_ok(), bytes.len() >= SHORT_LEN);
            proptest::prop_assert_eq!(parse_long(&bytes).is_ok(), bytes.len() >= LONG_LEN);
        }
    }
}
