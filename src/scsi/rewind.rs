//! REWIND (0x01, SSC): position the medium at the beginning of the current partition.

use std::time::Duration;

use super::opcode::OpCode;

/// Operation code.
pub const OPCODE: OpCode = OpCode::REWIND;

/// Default timeout. A full-length LTO rewind takes a few minutes; a drive finishing a write
/// first flushes its buffer, so allow ten.
pub const TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The REWIND CDB. With `immed` the drive returns GOOD once the command is accepted and rewinds
/// in the background (later commands wait or report 02/04/01 becoming ready).
pub fn cdb(immed: bool) -> [u8; 6] {
    [OPCODE.0, u8::from(immed), 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        let cases: &[(bool, [u8; 6])] = &[
            (false, [0x01, 0, 0, 0, 0, 0]),
            (true, [0x01, 0x01, 0, 0, 0, 0]),
        ];
        for &(immed, want) in cases {
            assert_eq!(cdb(immed), want, "immed={immed}");
        }
    }
}
