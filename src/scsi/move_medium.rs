//! MOVE MEDIUM (0xA5): move a cartridge from one element to another with a medium transport.
//!
//! CDB (12): bytes 2..3 transport element; 4..5 source; 6..7 destination; byte 10 bit 0
//! INVERT. All addresses are real element addresses.

use std::time::Duration;

/// Default timeout: a changer command (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// The CDB.
pub fn cdb(transport: u16, source: u16, destination: u16, invert: bool) -> [u8; 12] {
    let [t0, t1] = transport.to_be_bytes();
    let [s0, s1] = source.to_be_bytes();
    let [d0, d1] = destination.to_be_bytes();
    [0xA5, 0, t0, t1, s0, s1, d0, d1, 0, 0, u8::from(invert), 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_is_byte_exact() {
        type Case = ((u16, u16, u16, bool), [u8; 12]);
        let cases: &[Case] = &[
            (
                (0x0000, 0x1000, 0x0100, false),
                [0xA5, 0, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0, 0, 0, 0],
            ),
            (
                (0x0001, 0x03E8, 0xFFFF, true),
                [0xA5, 0, 0x00, 0x01, 0x03, 0xE8, 0xFF, 0xFF, 0, 0, 1, 0],
            ),
        ];
        for &((t, s, d, inv), want) in cases {
            assert_eq!(cdb(t, s, d, inv), want);
        }
    }
}
