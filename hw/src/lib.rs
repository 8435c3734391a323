//! reel-hw: the transport boundary of reel.
//!
//! This crate delivers CDBs to devices and decodes the sense data they send back. It knows
//! nothing of changers, drives, elements or pools: those live in the `reel` crate, whose drivers
//! are generic over the [`Transport`] trait defined here.
//!
//! What it holds:
//! - [`Transport`]: run one CDB with a data phase and a timeout (the contract between protocol
//!   and transport, shaped like embedded-hal's bus traits);
//! - [`DeviceSource`]: list the SCSI devices a backend can reach and open one as a `Transport`;
//! - [`sense`]: fixed and descriptor sense decoding and the ASC/ASCQ text table;
//! - [`opcode`]: operation codes and the one table of command names;
//! - [`linux`]: the Linux backend, `/dev/sg*` through the `SG_IO` ioctl and sysfs enumeration.
//!
//! What it does not do: retries, unit-attention handling, waiting for readiness. Those are
//! protocol policy and live with the drivers.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod device;
pub mod hex;
pub mod linux;
pub mod opcode;
pub mod sense;
mod status;

pub use device::{DeviceInfo, DeviceSource, PeripheralType};
pub use linux::{SgError, SgSource, SgTransport};
pub use opcode::OpCode;
pub use sense::{
    asc_description, asc_label, asc_text, FieldPointer, Sense, SenseError, SenseFormat, SenseKey,
};
pub use status::ScsiStatus;

use std::fmt;
use std::time::Duration;

/// The data phase of one command: its direction and the caller's buffer.
#[derive(Debug)]
pub enum DataDirection<'a> {
    /// No data phase (TEST UNIT READY, MOVE MEDIUM, ...).
    None,
    /// The device sends data into this buffer; its length is the transfer length.
    FromDevice(&'a mut [u8]),
    /// The device receives this buffer.
    ToDevice(&'a [u8]),
}

impl DataDirection<'_> {
    /// Number of bytes the data phase asks for (0 for [`DataDirection::None`]).
    pub fn len(&self) -> usize {
        match self {
            DataDirection::None => 0,
            DataDirection::FromDevice(b) => b.len(),
            DataDirection::ToDevice(b) => b.len(),
        }
    }

    /// True when there is no data to move.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a device answered to a command that was delivered.
///
/// A CHECK CONDITION is a completion, not an error: the command reached the device and the
/// device answered. Only failures to deliver are [`Transport::Error`]s.
#[derive(Clone, PartialEq, Eq)]
pub struct Completion {
    /// SCSI status byte (GOOD, CHECK CONDITION, BUSY, ...).
    pub status: ScsiStatus,
    /// Sense bytes the device returned (empty when none were written).
    pub sense: Vec<u8>,
    /// Bytes of the data phase that were not transferred (`resid`).
    pub residual: usize,
}

impl Completion {
    /// A GOOD completion that moved every byte.
    pub fn good() -> Self {
        Completion {
            status: ScsiStatus::GOOD,
            sense: Vec::new(),
            residual: 0,
        }
    }

    /// A CHECK CONDITION completion carrying `sense`.
    pub fn check_condition(sense: Vec<u8>) -> Self {
        Completion {
            status: ScsiStatus::CHECK_CONDITION,
            sense,
            residual: 0,
        }
    }

    /// Bytes actually moved, given how many the data phase asked for.
    pub fn transferred(&self, requested: usize) -> usize {
        requested.saturating_sub(self.residual)
    }

    /// True for GOOD status (sense, if any, is informational).
    pub fn is_good(&self) -> bool {
        self.status == ScsiStatus::GOOD
    }

    /// Decodes the sense bytes, if the device sent any that parse.
    pub fn decoded_sense(&self) -> Option<sense::Sense> {
        if self.sense.is_empty() {
            None
        } else {
            sense::Sense::parse(&self.sense).ok()
        }
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("status", &self.status)
            .field("sense", &hex::Hex(&self.sense))
            .field("residual", &self.residual)
            .finish()
    }
}

/// What generic code needs to know about a transport failure, whatever the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The device is gone or was never there (ENODEV, ENXIO, host NO_CONNECT, a drive bay with
    /// no drive).
    NoDevice,
    /// The device or its queue is busy; trying again later may work.
    Busy,
    /// The command did not complete within its timeout.
    Timeout,
    /// The caller may not open or use the device.
    Permission,
    /// The command was aborted or the bus was reset under it.
    Aborted,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::NoDevice => "no device",
            TransportErrorKind::Busy => "busy",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Permission => "permission denied",
            TransportErrorKind::Aborted => "aborted",
            TransportErrorKind::Other => "transport failure",
        })
    }
}

/// Implemented by every backend's error type so generic code can act on it.
pub trait TransportError: std::error::Error {
    /// The class of failure.
    fn kind(&self) -> TransportErrorKind;
}

/// Delivers one CDB to one device (the logical unit behind a `/dev/sg*` node, a simulated
/// element, ...).
///
/// # Contract
/// - [`Transport::execute`] sends `cdb` with the data phase `data` and waits at most `timeout`.
/// - `Ok` means the command was delivered and the device answered: the [`Completion`] carries
///   the SCSI status, any sense bytes and the residual count. CHECK CONDITION is `Ok`.
/// - `Err` means the command was not delivered or no answer came back (OS error, host or
///   driver status, timeout, vanished device). The error's [`TransportError::kind`] classifies
///   it.
/// - For [`DataDirection::FromDevice`], bytes past `len - residual` are unspecified; callers
///   must trust only the bytes actually transferred.
///
/// # For backend authors
/// Implement `execute` and, when you have one, `device` (a name used in error messages). Never
/// panic on any CDB: a command you do not know is a device answer (CHECK CONDITION, ILLEGAL
/// REQUEST, 20/00), not a transport error. Report the residual honestly.
///
/// # For driver authors
/// Take the transport by value (`Driver::new(transport)`), give it back with `into_inner`, and
/// keep retry and unit-attention policy in the driver layer. Use the provided
/// [`read`](Transport::read), [`write`](Transport::write) and [`no_data`](Transport::no_data)
/// helpers.
pub trait Transport {
    /// The backend's error.
    type Error: TransportError + Send + Sync + 'static;

    /// Executes one command. See the trait documentation for the contract.
    ///
    /// # Errors
    /// Returns `Self::Error` when the command could not be delivered or no answer came back.
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, Self::Error>;

    /// A name for the device, used in error messages (e.g. `/dev/sg3`).
    fn device(&self) -> &str {
        "scsi device"
    }

    /// Executes a command whose device sends data into `buf`.
    ///
    /// # Errors
    /// As [`Transport::execute`].
    fn read(
        &mut self,
        cdb: &[u8],
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<Completion, Self::Error> {
        self.execute(cdb, DataDirection::FromDevice(buf), timeout)
    }

    /// Executes a command that sends `buf` to the device.
    ///
    /// # Errors
    /// As [`Transport::execute`].
    fn write(
        &mut self,
        cdb: &[u8],
        buf: &[u8],
        timeout: Duration,
    ) -> Result<Completion, Self::Error> {
        self.execute(cdb, DataDirection::ToDevice(buf), timeout)
    }

    /// Executes a command without a data phase.
    ///
    /// # Errors
    /// As [`Transport::execute`].
    fn no_data(&mut self, cdb: &[u8], timeout: Duration) -> Result<Completion, Self::Error> {
        self.execute(cdb, DataDirection::None, timeout)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    type Error = T::Error;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, Self::Error> {
        (**self).execute(cdb, data, timeout)
    }

    fn device(&self) -> &str {
        (**self).device()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    type Error = T::Error;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, Self::Error> {
        (**self).execute(cdb, data, timeout)
    }

    fn device(&self) -> &str {
        (**self).device()
    }
}

/// A transport error with its backend erased, for code that picks a backend at run time.
#[derive(Debug)]
pub struct AnyTransportError {
    kind: TransportErrorKind,
    inner: Box<dyn std::error::Error + Send + Sync>,
}

impl AnyTransportError {
    /// Wraps a backend error, keeping its kind and message.
    pub fn new<E: TransportError + Send + Sync + 'static>(e: E) -> Self {
        AnyTransportError {
            kind: e.kind(),
            inner: Box::new(e),
        }
    }
}

impl fmt::Display for AnyTransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for AnyTransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl TransportError for AnyTransportError {
    fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

/// A transport whose backend is chosen at run time (real device, simulator, simulator socket).
pub struct AnyTransport {
    inner: Box<dyn Transport<Error = AnyTransportError> + Send>,
}

impl fmt::Debug for AnyTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTransport")
            .field("device", &self.inner.device())
            .finish()
    }
}

struct Erased<T>(T);

impl<T: Transport> Transport for Erased<T> {
    type Error = AnyTransportError;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, Self::Error> {
        self.0
            .execute(cdb, data, timeout)
            .map_err(AnyTransportError::new)
    }

    fn device(&self) -> &str {
        self.0.device()
    }
}

impl AnyTransport {
    /// Erases the backend of `transport`.
    pub fn new<T: Transport + Send + 'static>(transport: T) -> Self {
        AnyTransport {
            inner: Box::new(Erased(transport)),
        }
    }
}

impl Transport for AnyTransport {
    type Error = AnyTransportError;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, Self::Error> {
        self.inner.execute(cdb, data, timeout)
    }

    fn device(&self) -> &str {
        self.inner.device()
    }
}
