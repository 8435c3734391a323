//! POSITION TO ELEMENT (0x2B): put a medium transport in front of an element.
//!
//! CDB (10): bytes 2..3 transport; 4..5 destination; byte 8 bit 0 INVERT.

use std::time::Duration;

/// Default timeout: a changer command (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// The CDB.
pub fn cdb(transport: u16, destination: u16, invert: bool) -> [u8; 10] {
    let [t0, t1] = transport.to_be_bytes();
    let [d0, d1] = destination.to_be_bytes();
    [0x2B, 0, t0, t1, d0, d1, 0, 0, u8::from(invert), 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_is_byte_exact() {
        type Case = ((u16, u16, bool), [u8; 10]);
        let cases: &[Case] = &[
            ((0, 0x1000, false), [0x2B, 0, 0, 0, 0x10, 0, 0, 0, 0, 0]),
            ((0x0102, 0x0304, true), [0x2B, 0, 1, 2, 3, 4, 0, 0, 1, 0]),
        ];
        for &((t, d, inv), want) in cases {
            assert_eq!(cdb(t, d, inv), want);
        }
    }
}
