//! The sense data the simulated devices send: fixed format (0x70), with the sense-key-specific
//! field pointer for ILLEGAL REQUEST.

use reel_hw::sense::{FieldPointer, Sense, SenseKey};

/// One CHECK CONDITION's sense: key, ASC, ASCQ and, for ILLEGAL REQUEST, where the bad field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimSense {
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// Field pointer: in the CDB (`true`) or the parameter list, byte, and bit (None: BPV = 0).
    pub field: Option<(bool, u16, Option<u8>)>,
    /// FILEMARK, EOM and ILI bits (tape reads, writes and spaces).
    pub stream: (bool, bool, bool),
    /// INFORMATION (VALID set): the residue of a tape command, negative for an overlength
    /// block.
    pub information: Option<i64>,
}

impl SimSense {
    /// Sense without a field pointer.
    pub const fn new(key: u8, asc: u8, ascq: u8) -> SimSense {
        SimSense {
            key,
            asc,
            ascq,
            field: None,
            stream: (false, false, false),
            information: None,
        }
    }

    /// The same sense with FILEMARK, EOM and ILI bits and a residue in INFORMATION.
    pub const fn with_residue(
        mut self,
        filemark: bool,
        eom: bool,
        ili: bool,
        residue: i64,
    ) -> SimSense {
        self.stream = (filemark, eom, ili);
        self.information = Some(residue);
        self
    }

    /// 05/24/00 INVALID FIELD IN CDB pointing at `byte` (and `bit`, when given).
    pub const fn invalid_cdb_field(byte: u16, bit: Option<u8>) -> SimSense {
        SimSense {
            key: 5,
            asc: 0x24,
            ascq: 0,
            field: Some((true, byte, bit)),
            stream: (false, false, false),
            information: None,
        }
    }

    /// 05/26/00 INVALID FIELD IN PARAMETER LIST pointing at `byte` of the data-out buffer.
    pub const fn invalid_param_field(byte: u16, bit: Option<u8>) -> SimSense {
        SimSense {
            key: 5,
            asc: 0x26,
            ascq: 0,
            field: Some((false, byte, bit)),
            stream: (false, false, false),
            information: None,
        }
    }

    /// The 18-byte fixed-format sense data (response code 0x70, additional length 10), encoded
    /// by `reel_hw::sense`.
    pub fn to_fixed_bytes(self) -> Vec<u8> {
        let mut s = Sense::new(SenseKey(self.key), self.asc, self.ascq);
        if let Some((cd, byte, bit)) = self.field {
            let mut p = if cd {
                FieldPointer::cdb(byte)
            } else {
                FieldPointer::parameter(byte)
            };
            if let Some(bit) = bit {
                p = p.with_bit(bit);
            }
            s = s.with_field_pointer(p);
        }
        let (fm, eom, ili) = self.stream;
        if fm || eom || ili {
            s = s.with_stream_flags(fm, eom, ili);
        }
        if let Some(i) = self.information {
            // A 32-bit two's complement residue in the 4-byte INFORMATION field.
            s = s.with_information(u64::from(i as i32 as u32));
        }
        s.to_fixed_bytes()
    }
}

/// Sense codes the simulator uses, by name.
pub mod codes {
    use super::SimSense;
    /// 00/00/00 no sense.
    pub const NO_SENSE: SimSense = SimSense::new(0, 0, 0);
    /// 02/04/01 becoming ready.
    pub const BECOMING_READY: SimSense = SimSense::new(2, 0x04, 0x01);
    /// 02/04/02 initializing command required (a cartridge is in the drive, not loaded).
    pub const LOAD_REQUIRED: SimSense = SimSense::new(2, 0x04, 0x02);
    /// 02/04/12 offline.
    pub const OFFLINE: SimSense = SimSense::new(2, 0x04, 0x12);
    /// 02/04/18 a door is open.
    pub const DOOR_OPEN: SimSense = SimSense::new(2, 0x04, 0x18);
    /// 02/30/00 incompatible medium installed.
    pub const INCOMPATIBLE_MEDIUM: SimSense = SimSense::new(2, 0x30, 0x00);
    /// 02/30/03 cleaning cartridge installed.
    pub const CLEANING_CARTRIDGE: SimSense = SimSense::new(2, 0x30, 0x03);
    /// 02/3A/00 medium not present.
    pub const NO_MEDIUM: SimSense = SimSense::new(2, 0x3A, 0x00);
    /// 04/44/00 internal target failure.
    pub const INTERNAL_FAILURE: SimSense = SimSense::new(4, 0x44, 0x00);
    /// 05/20/00 invalid command operation code.
    pub const INVALID_OPCODE: SimSense = SimSense::new(5, 0x20, 0x00);
    /// 05/21/01 invalid element address.
    pub const INVALID_ELEMENT: SimSense = SimSense::new(5, 0x21, 0x01);
    /// 05/39/00 saving parameters not supported.
    pub const SAVING_NOT_SUPPORTED: SimSense = SimSense::new(5, 0x39, 0x00);
    /// 05/3B/0D medium destination element full.
    pub const DESTINATION_FULL: SimSense = SimSense::new(5, 0x3B, 0x0D);
    /// 05/3B/0E medium source element empty.
    pub const SOURCE_EMPTY: SimSense = SimSense::new(5, 0x3B, 0x0E);
    /// 05/3B/1A data transfer element removed (an empty drive bay).
    pub const DRIVE_REMOVED: SimSense = SimSense::new(5, 0x3B, 0x1A);
    /// 05/53/02 medium removal prevented.
    pub const REMOVAL_PREVENTED: SimSense = SimSense::new(5, 0x53, 0x02);
    /// 06/28/00 not ready to ready change (a cartridge was loaded).
    pub const UA_MEDIUM_CHANGED: SimSense = SimSense::new(6, 0x28, 0x00);
    /// 06/28/01 import or export element accessed.
    pub const UA_IMPORT_EXPORT: SimSense = SimSense::new(6, 0x28, 0x01);
    /// 06/29/00 power on, reset, or bus device reset occurred.
    pub const UA_POWER_ON: SimSense = SimSense::new(6, 0x29, 0x00);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_format_bytes() {
        let cases: &[(SimSense, [u8; 18])] = &[
            (
                SimSense::new(5, 0x3B, 0x0E),
                [
                    0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x3B, 0x0E, 0, 0, 0, 0,
                ],
            ),
            (
                SimSense::invalid_cdb_field(6, Some(0)),
                [
                    0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0xC8, 0, 6,
                ],
            ),
            (
                SimSense::invalid_cdb_field(2, None),
                [
                    0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0xC0, 0, 2,
                ],
            ),
            (
                SimSense::invalid_param_field(0x104, Some(7)),
                [
                    0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x26, 0, 0, 0x8F, 1, 4,
                ],
            ),
        ];
        for (s, bytes) in cases {
            assert_eq!(s.to_fixed_bytes(), bytes.to_vec(), "{s:?}");
        }
    }
}
