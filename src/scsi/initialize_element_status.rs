//! INITIALIZE ELEMENT STATUS (0x07) and INITIALIZE ELEMENT STATUS WITH RANGE (0x37): make the
//! changer re-scan its elements (all of them, or a range). Long-running.
//!
//! 0x37 CDB (10): byte 1 bit 0 RANGE, bit 1 FAST; bytes 2..3 first element address; bytes
//! 6..7 number of elements.

use std::time::Duration;

/// Default timeout: a full inventory scan (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// CDB of INITIALIZE ELEMENT STATUS (every element).
pub fn cdb() -> [u8; 6] {
    [0x07, 0, 0, 0, 0, 0]
}

/// CDB of INITIALIZE ELEMENT STATUS WITH RANGE for `count` elements from `first`. `fast`
/// asks the changer to scan only elements whose status it does not know (SMC-3 FAST).
pub fn range_cdb(first: u16, count: u16, fast: bool) -> [u8; 10] {
    let [f0, f1] = first.to_be_bytes();
    let [n0, n1] = count.to_be_bytes();
    let flags = 0x01 | (u8::from(fast) << 1);
    [0x37, flags, f0, f1, 0, 0, n0, n1, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdbs_are_byte_exact() {
        assert_eq!(cdb(), [0x07, 0, 0, 0, 0, 0]);
        type Case = ((u16, u16, bool), [u8; 10]);
        let cases: &[Case] = &[
            (
                (0x1000, 50, false),
                [0x37, 1, 0x10, 0x00, 0, 0, 0, 50, 0, 0],
            ),
            (
                (0x0100, 0x0102, true),
                [0x37, 3, 0x01, 0x00, 0, 0, 0x01, 0x02, 0, 0],
            ),
        ];
        for &((f, n, fast), want) in cases {
            assert_eq!(range_cdb(f, n, fast), want);
        }
    }
}
