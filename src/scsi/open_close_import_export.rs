//! OPEN/CLOSE IMPORT/EXPORT ELEMENT (0x1B, SMC-3): open or close a mail slot. The same
//! operation code is LOAD UNLOAD on a tape drive.
//!
//! CDB (6): bytes 2..3 element address; byte 4 bits 4..0 action code (0 open, 1 close).

use std::time::Duration;

/// Default timeout: a changer command (scsi-reference §8).
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// What to do with the import/export element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open it (unlock and, where the hardware can, extend it).
    Open,
    /// Close it.
    Close,
}

/// The CDB.
pub fn cdb(element: u16, action: Action) -> [u8; 6] {
    let [a0, a1] = element.to_be_bytes();
    let code = match action {
        Action::Open => 0,
        Action::Close => 1,
    };
    [0x1B, 0, a0, a1, code, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_is_byte_exact() {
        let cases = [
            ((0x0010, Action::Open), [0x1B, 0, 0x00, 0x10, 0, 0]),
            ((0x0302, Action::Close), [0x1B, 0, 0x03, 0x02, 1, 0]),
        ];
        for ((e, a), want) in cases {
            assert_eq!(cdb(e, a), want);
        }
    }
}
