//! EXCHANGE MEDIUM (0xA6): move the cartridge at the source to the first destination and the
//! one at the first destination to the second destination, in one operation.
//!
//! CDB (12): bytes 2..3 transport; 4..5 source; 6..7 first destination; 8..9 second
//! destination; byte 10 bit 0 INV1, bit 1 INV2.

use std::time::Duration;

/// Default timeout: a changer command (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// The CDB.
pub fn cdb(
    transport: u16,
    source: u16,
    first_destination: u16,
    second_destination: u16,
    invert_first: bool,
    invert_second: bool,
) -> [u8; 12] {
    let [t0, t1] = transport.to_be_bytes();
    let [s0, s1] = source.to_be_bytes();
    let [d0, d1] = first_destination.to_be_bytes();
    let [e0, e1] = second_destination.to_be_bytes();
    let flags = u8::from(invert_first) | (u8::from(invert_second) << 1);
    [0xA6, 0, t0, t1, s0, s1, d0, d1, e0, e1, flags, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_is_byte_exact() {
        type Args = (u16, u16, u16, u16, bool, bool);
        let cases: &[(Args, [u8; 12])] = &[
            (
                (0, 0x1000, 0x0100, 0x1001, false, false),
                [0xA6, 0, 0, 0, 0x10, 0x00, 0x01, 0x00, 0x10, 0x01, 0, 0],
            ),
            (
                (1, 0x1000, 0x0100, 0x1000, true, false),
                [0xA6, 0, 0, 1, 0x10, 0x00, 0x01, 0x00, 0x10, 0x00, 1, 0],
            ),
            (
                (1, 2, 3, 4, false, true),
                [0xA6, 0, 0, 1, 0, 2, 0, 3, 0, 4, 2, 0],
            ),
            (
                (1, 2, 3, 4, true, true),
                [0xA6, 0, 0, 1, 0, 2, 0, 3, 0, 4, 3, 0],
            ),
        ];
        for &((t, s, d1, d2, i1, i2), want) in cases {
            assert_eq!(cdb(t, s, d1, d2, i1, i2), want);
        }
    }
}
