//! TEST UNIT READY (0x00): is the device ready to accept medium-access commands?
//!
//! No data phase; the answer is the status (and sense: 02/04/01 becoming ready, 02/3A/00 no
//! medium, ...), which [`super::exec`] decodes.

use std::time::Duration;

/// Default timeout (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The CDB.
pub fn cdb() -> [u8; 6] {
    [0x00, 0, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_is_byte_exact() {
        assert_eq!(cdb(), [0, 0, 0, 0, 0, 0]);
    }
}
