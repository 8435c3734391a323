//! SCSI commands: one file per CDB, each with its builder, its parser and its tests.
//!
//! Every parser reads through [`reader::Reader`] and returns [`ParseError`] on malformed input;
//! none panics on any byte string. [`exec`] holds the one error policy both drivers run
//! commands under.

pub mod exchange_medium;
pub mod exec;
#[cfg(test)]
mod fuzz_tests;
pub mod initialize_element_status;
pub mod inquiry;
pub mod mode_sense;
pub mod move_medium;
pub mod opcode;
pub mod open_close_import_export;
pub mod position_to_element;
pub mod prevent_allow;
pub mod read_element_status;
pub mod reader;
pub mod request_sense;
pub mod test_unit_ready;

pub use read_element_status::ElementType;

use thiserror::Error;

/// A device reply that does not parse. Each variant names the structure that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The reply ended inside a structure.
    #[error("{what} truncated: needed {needed} bytes, {available} available")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes it needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A field holds a value the structure does not allow.
    #[error("{what}: invalid value {value:#x}")]
    InvalidField {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A structure the reply should contain is absent (e.g. a mode page the device did not
    /// return).
    #[error("{0} missing from the reply")]
    Missing(&'static str),
}

// Tape (SSC) commands
pub mod load_unload;
pub mod log_sense;
pub mod read_attribute;
pub mod read_block_limits;
pub mod read_position;
pub mod report_density_support;
pub mod rewind;
mod tape_code;
pub mod write_attribute;
