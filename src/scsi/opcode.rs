//! SCSI operation codes as an open newtype (scsi-reference §4).
//!
//! Unknown values pass through intact. One code, 0x1B, means two commands depending on the
//! device: LOAD UNLOAD to a tape drive and OPEN/CLOSE IMPORT/EXPORT ELEMENT to a changer; use
//! [`OpCode::name_for`] when the peripheral type is known.

use std::fmt;

use reel_hw::PeripheralType;

/// A SCSI operation code (CDB byte 0).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpCode(pub u8);

impl OpCode {
    /// TEST UNIT READY (6).
    pub const TEST_UNIT_READY: OpCode = OpCode(0x00);
    /// REWIND (6, SSC).
    pub const REWIND: OpCode = OpCode(0x01);
    /// REQUEST SENSE (6).
    pub const REQUEST_SENSE: OpCode = OpCode(0x03);
    /// READ BLOCK LIMITS (6, SSC).
    pub const READ_BLOCK_LIMITS: OpCode = OpCode(0x05);
    /// INITIALIZE ELEMENT STATUS (6, SMC).
    pub const INITIALIZE_ELEMENT_STATUS: OpCode = OpCode(0x07);
    /// INQUIRY (6).
    pub const INQUIRY: OpCode = OpCode(0x12);
    /// MODE SENSE(6).
    pub const MODE_SENSE_6: OpCode = OpCode(0x1A);
    /// LOAD UNLOAD (6, SSC). Same code as [`OpCode::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT`].
    pub const LOAD_UNLOAD: OpCode = OpCode(0x1B);
    /// OPEN/CLOSE IMPORT/EXPORT ELEMENT (6, SMC-3). Same code as [`OpCode::LOAD_UNLOAD`].
    pub const OPEN_CLOSE_IMPORT_EXPORT_ELEMENT: OpCode = OpCode(0x1B);
    /// PREVENT/ALLOW MEDIUM REMOVAL (6).
    pub const PREVENT_ALLOW_MEDIUM_REMOVAL: OpCode = OpCode(0x1E);
    /// POSITION TO ELEMENT (10, SMC).
    pub const POSITION_TO_ELEMENT: OpCode = OpCode(0x2B);
    /// READ POSITION (10, SSC).
    pub const READ_POSITION: OpCode = OpCode(0x34);
    /// INITIALIZE ELEMENT STATUS WITH RANGE (10, SMC).
    pub const INITIALIZE_ELEMENT_STATUS_WITH_RANGE: OpCode = OpCode(0x37);
    /// REPORT DENSITY SUPPORT (10, SSC).
    pub const REPORT_DENSITY_SUPPORT: OpCode = OpCode(0x44);
    /// LOG SENSE (10).
    pub const LOG_SENSE: OpCode = OpCode(0x4D);
    /// MODE SENSE(10).
    pub const MODE_SENSE_10: OpCode = OpCode(0x5A);
    /// READ ATTRIBUTE (16, MAM).
    pub const READ_ATTRIBUTE: OpCode = OpCode(0x8C);
    /// MOVE MEDIUM (12, SMC).
    pub const MOVE_MEDIUM: OpCode = OpCode(0xA5);
    /// EXCHANGE MEDIUM (12, SMC).
    pub const EXCHANGE_MEDIUM: OpCode = OpCode(0xA6);
    /// READ ELEMENT STATUS (12, SMC).
    pub const READ_ELEMENT_STATUS: OpCode = OpCode(0xB8);

    /// The command name when it does not depend on the device type; `None` for 0x1B (see
    /// [`OpCode::name_for`]) and for codes this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            OpCode::TEST_UNIT_READY => "TEST UNIT READY",
            OpCode::REWIND => "REWIND",
            OpCode::REQUEST_SENSE => "REQUEST SENSE",
            OpCode::READ_BLOCK_LIMITS => "READ BLOCK LIMITS",
            OpCode::INITIALIZE_ELEMENT_STATUS => "INITIALIZE ELEMENT STATUS",
            OpCode::INQUIRY => "INQUIRY",
            OpCode::MODE_SENSE_6 => "MODE SENSE(6)",
            OpCode::PREVENT_ALLOW_MEDIUM_REMOVAL => "PREVENT/ALLOW MEDIUM REMOVAL",
            OpCode::POSITION_TO_ELEMENT => "POSITION TO ELEMENT",
            OpCode::READ_POSITION => "READ POSITION",
            OpCode::INITIALIZE_ELEMENT_STATUS_WITH_RANGE => "INITIALIZE ELEMENT STATUS WITH RANGE",
            OpCode::REPORT_DENSITY_SUPPORT => "REPORT DENSITY SUPPORT",
            OpCode::LOG_SENSE => "LOG SENSE",
            OpCode::MODE_SENSE_10 => "MODE SENSE(10)",
            OpCode::READ_ATTRIBUTE => "READ ATTRIBUTE",
            OpCode::MOVE_MEDIUM => "MOVE MEDIUM",
            OpCode::EXCHANGE_MEDIUM => "EXCHANGE MEDIUM",
            OpCode::READ_ELEMENT_STATUS => "READ ELEMENT STATUS",
            _ => return None,
        })
    }

    /// The command name as a device of type `device` understands the code: 0x1B is LOAD
    /// UNLOAD for a tape drive and OPEN/CLOSE IMPORT/EXPORT ELEMENT for a changer.
    pub fn name_for(self, device: PeripheralType) -> Option<&'static str> {
        if self.0 == 0x1B {
            return match device {
                PeripheralType::SEQUENTIAL => Some("LOAD UNLOAD"),
                PeripheralType::MEDIUM_CHANGER => Some("OPEN/CLOSE IMPORT/EXPORT ELEMENT"),
                _ => None,
            };
        }
        self.name()
    }

    /// The code for a command name of scsi-reference §4 (exact spelling), if known.
    pub fn from_name(name: &str) -> Option<OpCode> {
        match name {
            "LOAD UNLOAD" => Some(OpCode::LOAD_UNLOAD),
            "OPEN/CLOSE IMPORT/EXPORT ELEMENT" => Some(OpCode::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT),
            _ => (0..=255u8).map(OpCode).find(|c| c.name() == Some(name)),
        }
    }
}

impl fmt::Debug for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.name()) {
            (_, Some(n)) => f.write_str(n),
            (0x1B, None) => f.write_str("LOAD UNLOAD | OPEN/CLOSE IMPORT/EXPORT ELEMENT"),
            (v, None) => write!(f, "OpCode({v:#04x})"),
        }
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[(u8, &str)] = &[
        (0x00, "TEST UNIT READY"),
        (0x01, "REWIND"),
        (0x03, "REQUEST SENSE"),
        (0x05, "READ BLOCK LIMITS"),
        (0x07, "INITIALIZE ELEMENT STATUS"),
        (0x12, "INQUIRY"),
        (0x1A, "MODE SENSE(6)"),
        (0x1E, "PREVENT/ALLOW MEDIUM REMOVAL"),
        (0x2B, "POSITION TO ELEMENT"),
        (0x34, "READ POSITION"),
        (0x37, "INITIALIZE ELEMENT STATUS WITH RANGE"),
        (0x44, "REPORT DENSITY SUPPORT"),
        (0x4D, "LOG SENSE"),
        (0x5A, "MODE SENSE(10)"),
        (0x8C, "READ ATTRIBUTE"),
        (0xA5, "MOVE MEDIUM"),
        (0xA6, "EXCHANGE MEDIUM"),
        (0xB8, "READ ELEMENT STATUS"),
    ];

    #[test]
    fn every_named_code_round_trips() {
        for &(code, name) in TABLE {
            let op = OpCode(code);
            assert_eq!(op.name(), Some(name), "{code:#04x}");
            assert_eq!(OpCode::from_name(name), Some(op), "{name}");
            assert_eq!(format!("{op:?}"), name);
            assert_eq!(op.name_for(PeripheralType::MEDIUM_CHANGER), Some(name));
        }
        // Every code the table does not name passes through intact and prints as hex.
        let named = TABLE.len() + 1; // + 0x1B
        let unknown = (0..=255u8)
            .map(OpCode)
            .filter(|c| c.name().is_none() && c.0 != 0x1B);
        assert_eq!(unknown.clone().count(), 256 - named);
        for c in unknown {
            assert_eq!(format!("{c:?}"), format!("OpCode({:#04x})", c.0));
        }
    }

    #[test]
    fn opcode_0x1b_depends_on_the_device() {
        let cases = [
            (PeripheralType::SEQUENTIAL, Some("LOAD UNLOAD")),
            (
                PeripheralType::MEDIUM_CHANGER,
                Some("OPEN/CLOSE IMPORT/EXPORT ELEMENT"),
            ),
            (PeripheralType::DIRECT_ACCESS, None),
        ];
        for (pt, want) in cases {
            assert_eq!(OpCode(0x1B).name_for(pt), want, "{pt:?}");
        }
        assert_eq!(
            OpCode::LOAD_UNLOAD,
            OpCode::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT
        );
        assert_eq!(OpCode::from_name("LOAD UNLOAD"), Some(OpCode(0x1B)));
        assert_eq!(OpCode::from_name("NOT A COMMAND"), None);
        assert_eq!(
            format!("{:?}", OpCode(0x1B)),
            "LOAD UNLOAD | OPEN/CLOSE IMPORT/EXPORT ELEMENT"
        );
    }
}
