//! LOAD UNLOAD (0x1B, SSC): thread the medium and position it at the beginning, or rewind and
//! eject it.
//!
//! The same operation code is OPEN/CLOSE IMPORT/EXPORT ELEMENT to a medium changer; this
//! builder is for tape drives only.

use std::time::Duration;

use super::opcode::OpCode;

/// Operation code.
pub const OPCODE: OpCode = OpCode::LOAD_UNLOAD;

/// Default timeout. scsi-reference §8: up to 15 minutes for new LTO-8/9 media, and a first-load
/// calibration can take far longer, so allow 30.
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The fields of a LOAD UNLOAD CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadUnload {
    /// Return once the command is accepted (byte 1 bit 0).
    pub immed: bool,
    /// Load (true) or unload (false) (byte 4 bit 0).
    pub load: bool,
    /// Retension: wind to end of medium and back before completing (byte 4 bit 1).
    pub reten: bool,
    /// Unload at end of tape, for drives that support it (byte 4 bit 2).
    pub eot: bool,
    /// Hold: with LOAD, thread without positioning; with unload, keep the cartridge in the drive
    /// (byte 4 bit 3).
    pub hold: bool,
}

impl LoadUnload {
    /// A plain load.
    pub fn load(immed: bool) -> Self {
        LoadUnload {
            immed,
            load: true,
            ..Default::default()
        }
    }

    /// A plain unload (rewind and eject).
    pub fn unload(immed: bool) -> Self {
        LoadUnload {
            immed,
            ..Default::default()
        }
    }

    /// The CDB bytes.
    pub fn cdb(&self) -> [u8; 6] {
        let byte4 = u8::from(self.load)
            | u8::from(self.reten) << 1
            | u8::from(self.eot) << 2
            | u8::from(self.hold) << 3;
        [OPCODE.0, u8::from(self.immed), 0, 0, byte4, 0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        let lu = |immed, load, reten, eot, hold| LoadUnload {
            immed,
            load,
            reten,
            eot,
            hold,
        };
        let cases: &[(LoadUnload, [u8; 6])] = &[
            (LoadUnload::load(false), [0x1b, 0, 0, 0, 0x01, 0]),
            (LoadUnload::load(true), [0x1b, 0x01, 0, 0, 0x01, 0]),
            (LoadUnload::unload(false), [0x1b, 0, 0, 0, 0x00, 0]),
            (LoadUnload::unload(true), [0x1b, 0x01, 0, 0, 0x00, 0]),
            (
                lu(false, true, true, false, false),
                [0x1b, 0, 0, 0, 0x03, 0],
            ),
            (
                lu(false, false, false, true, false),
                [0x1b, 0, 0, 0, 0x04, 0],
            ),
            (
                lu(false, true, false, false, true),
                [0x1b, 0, 0, 0, 0x09, 0],
            ),
            (
                lu(true, true, true, true, true),
                [0x1b, 0x01, 0, 0, 0x0f, 0],
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(&fields.cdb(), want, "{fields:?}");
        }
    }
}
