//! What the mtx front asks of a library, whoever carries it out: the devices themselves
//! ([`super::device`]) or `reel serve` ([`super::daemon`]).

use reel_hw::sense::Sense;
use thiserror::Error;

use super::view::{Empty, View};

/// A command the library could not carry out.
#[derive(Debug, Clone, Error)]
pub enum LibraryError {
    /// The device answered CHECK CONDITION (mtx prints its request-sense block).
    #[error("{message}")]
    Check {
        /// The decoded sense.
        sense: Sense,
        /// What happened, device and command named.
        message: String,
    },
    /// Anything else: the device could not be reached, the reply did not parse, the daemon
    /// refused.
    #[error("{0}")]
    Other(String),
}

impl LibraryError {
    /// The sense, for a CHECK CONDITION.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            LibraryError::Check { sense, .. } => Some(sense),
            LibraryError::Other(_) => None,
        }
    }

    /// The ASC/ASCQ of a CHECK CONDITION.
    pub fn code(&self) -> Option<(u8, u8)> {
        self.sense().map(|s| (s.asc, s.ascq))
    }
}

impl<E: std::error::Error> From<crate::scsi::exec::DeviceError<E>> for LibraryError {
    fn from(e: crate::scsi::exec::DeviceError<E>) -> Self {
        match e.sense() {
            Some(sense) => LibraryError::Check {
                sense: sense.clone(),
                message: e.to_string(),
            },
            None => LibraryError::Other(e.to_string()),
        }
    }
}

/// Why a view could not be read.
#[derive(Debug, Clone)]
pub enum ViewError {
    /// A command failed.
    Library(LibraryError),
    /// The library has no drive or no slot.
    Empty(Empty),
}

impl From<LibraryError> for ViewError {
    fn from(e: LibraryError) -> Self {
        ViewError::Library(e)
    }
}

/// A MOVE MEDIUM as mtx sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// Medium transport element.
    pub transport: u16,
    /// Source element.
    pub from: u16,
    /// Destination element.
    pub to: u16,
    /// `invert`: turn the cartridge over.
    pub invert: bool,
    /// `eepos N`: the import/export element's tray position (CDB byte 11 bits 7..6).
    pub eepos: u8,
}

/// An EXCHANGE MEDIUM as mtx sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// Medium transport element.
    pub transport: u16,
    /// Source element.
    pub source: u16,
    /// Where the source's cartridge goes.
    pub first: u16,
    /// Where the first destination's cartridge goes.
    pub second: u16,
    /// `invert2`: turn the first cartridge over (INV1).
    pub invert_first: bool,
    /// `invert`: turn the second cartridge over (INV2).
    pub invert_second: bool,
    /// `eepos N`.
    pub eepos: u8,
}

/// What mtx's `inquiry` prints: the standard INQUIRY fields exactly as the device sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    /// Peripheral device type (byte 0 bits 4..0).
    pub peripheral_type: u8,
    /// Bytes 8..16, padding kept.
    pub vendor: Vec<u8>,
    /// Bytes 16..32.
    pub product: Vec<u8>,
    /// Bytes 32..36.
    pub revision: Vec<u8>,
    /// MCHNGR (byte 6 bit 3).
    pub attached_changer: bool,
}

impl Inquiry {
    /// The fields of standard INQUIRY data (`None` when fewer than 36 bytes arrived).
    pub fn from_bytes(b: &[u8]) -> Option<Inquiry> {
        (b.len() >= 36).then(|| Inquiry {
            peripheral_type: b[0] & 0x1F,
            vendor: b[8..16].to_vec(),
            product: b[16..32].to_vec(),
            revision: b[32..36].to_vec(),
            attached_changer: b[6] & 0x08 != 0,
        })
    }
}

/// One library as the mtx front drives it. Every method is one mtx operation; the warnings
/// returned go to stderr and do not stop the command.
pub trait Library {
    /// Reads every element (volume tags when `barcodes`) and numbers it as mtx does.
    ///
    /// # Errors
    /// The failed command, or [`ViewError::Empty`].
    fn view(&mut self, barcodes: bool) -> Result<View, ViewError>;

    /// Standard INQUIRY of the changer.
    ///
    /// # Errors
    /// The failed command.
    fn inquiry(&mut self) -> Result<Inquiry, LibraryError>;

    /// Before a load of the cartridge at `from` into drive element `drive`: what is worth a
    /// warning (a drive that cannot read the cartridge's media type). Never stops the load.
    fn check_load(&mut self, from: u16, drive: u16) -> Vec<String>;

    /// Before a move out of drive element `drive`: unloads the tape in the drive (LOAD UNLOAD)
    /// when its device is known. A failure is a warning: the changer then decides.
    fn unload_drive(&mut self, drive: u16) -> Vec<String>;

    /// MOVE MEDIUM.
    ///
    /// # Errors
    /// The changer's refusal, with its sense.
    fn move_medium(&mut self, m: &Move) -> Result<(), LibraryError>;

    /// EXCHANGE MEDIUM.
    ///
    /// # Errors
    /// The changer's refusal, with its sense.
    fn exchange_medium(&mut self, x: &Exchange) -> Result<(), LibraryError>;

    /// POSITION TO ELEMENT.
    ///
    /// # Errors
    /// The changer's refusal.
    fn position(&mut self, transport: u16, to: u16, invert: bool) -> Result<(), LibraryError>;

    /// INITIALIZE ELEMENT STATUS (30-minute timeout).
    ///
    /// # Errors
    /// The changer's refusal.
    fn initialize(&mut self) -> Result<(), LibraryError>;

    /// mtx's `eject`: START STOP UNIT with LOEJ set and START clear (opcode 0x1B) to the
    /// changer.
    ///
    /// # Errors
    /// The changer's refusal.
    fn eject(&mut self) -> Result<(), LibraryError>;
}
