//! PREVENT/ALLOW MEDIUM REMOVAL (0x1E): lock or unlock the changer's doors and mail slots (or
//! a drive's eject).
//!
//! CDB (6): byte 4 bits 1..0 PREVENT (00 allow, 01 prevent).

use std::time::Duration;

/// Default timeout: a changer command (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// The CDB: `prevent` locks, `!prevent` unlocks.
pub fn cdb(prevent: bool) -> [u8; 6] {
    [0x1E, 0, 0, 0, u8::from(prevent), 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_is_byte_exact() {
        for (prevent, want) in [
            (true, [0x1E, 0, 0, 0, 1, 0]),
            (false, [0x1E, 0, 0, 0, 0, 0]),
        ] {
            assert_eq!(cdb(prevent), want);
        }
    }
}
