//! SCSI sense data decoding (fixed and descriptor formats) and the ASC/ASCQ text table.
//!
//! Filled in by the foundation work; see scsi-reference §3.

use thiserror::Error;

/// Decoded sense data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sense {
    /// Sense key (bits 3..0).
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
}

/// Sense bytes that cannot be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SenseError {
    /// Too short or an unknown response code.
    #[error("sense data not decodable: {0}")]
    Invalid(&'static str),
}

impl Sense {
    /// Decodes sense bytes.
    ///
    /// # Errors
    /// [`SenseError`] when the bytes are not sense data.
    pub fn parse(bytes: &[u8]) -> Result<Sense, SenseError> {
        let _ = bytes;
        Err(SenseError::Invalid("not yet implemented"))
    }
}
