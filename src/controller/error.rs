//! What a controller request can fail with: a refusal decided from the library model, or a
//! device failure carrying the device, the command and the decoded sense.
//!
//! Each error maps to one Win32 code of `rsm-media-and-mounts.md` §3/§4 in [`ControlError::code`];
//! the daemon turns that into its wire status in one place.

use reel_hw::sense::{Sense, SenseKey};

use crate::pool::Win32Code;
use crate::scsi::exec::DeviceError;

/// A failed controller request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// Decided without a device: the request cannot be carried out as asked.
    #[error("{message}")]
    Refused {
        /// The Win32 code (`ERROR_BUSY`, `ERROR_INVALID_DRIVE`, ...).
        code: Win32Code,
        /// What happened and what to do.
        message: String,
    },
    /// A device command failed.
    #[error("{message}")]
    Device {
        /// The Win32 code (`ERROR_DEVICE_NOT_AVAILABLE`, `ERROR_UNABLE_TO_LOAD_MEDIUM`).
        code: Win32Code,
        /// The device node or simulator path.
        device: String,
        /// The command name (scsi-reference §4).
        op: String,
        /// The decoded sense, when the device sent one.
        sense: Option<Sense>,
        /// What happened, with the device's own words.
        message: String,
    },
}

impl ControlError {
    /// A refusal with `code`.
    pub fn refused(code: Win32Code, message: impl Into<String>) -> Self {
        ControlError::Refused {
            code,
            message: message.into(),
        }
    }

    /// A device failure, classified by [`device_code`].
    pub fn device<E: std::error::Error>(e: &DeviceError<E>, doing: &str) -> Self {
        ControlError::Device {
            code: device_code(e),
            device: e.device().to_owned(),
            op: e.op().to_owned(),
            sense: e.sense().cloned(),
            message: format!("{doing}: {e}"),
        }
    }

    /// The Win32 code.
    pub fn code(&self) -> Win32Code {
        match self {
            ControlError::Refused { code, .. } | ControlError::Device { code, .. } => *code,
        }
    }

    /// The decoded sense of a device failure.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            ControlError::Device { sense, .. } => sense.as_ref(),
            ControlError::Refused { .. } => None,
        }
    }

    /// The same error with another code (a drive failure that means the medium cannot load).
    pub fn with_code(mut self, new: Win32Code) -> Self {
        match &mut self {
            ControlError::Refused { code, .. } | ControlError::Device { code, .. } => *code = new,
        }
        self
    }

    /// `ERROR_CANCELLED`.
    pub fn cancelled(what: &str) -> Self {
        Self::refused(Win32Code::ERROR_CANCELLED, format!("{what} was cancelled"))
    }

    /// `ERROR_DEVICE_NOT_AVAILABLE`: the controller's worker for a device stopped.
    pub fn worker_gone(device: &str) -> Self {
        Self::refused(
            Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
            format!("the worker of {device} stopped; restart the daemon"),
        )
    }
}

/// The Win32 code of a device failure:
///
/// | sense or failure | code |
/// |---|---|
/// | 30/xx incompatible or unreadable medium, 3B/xx medium position errors on a drive load | `ERROR_UNABLE_TO_LOAD_MEDIUM` (4324) |
/// | 27/xx write protected | `ERROR_WRITE_PROTECT` (19) |
/// | 04/12 offline, 04/03 manual intervention, 3A no medium, transport `NoDevice` | `ERROR_DEVICE_NOT_AVAILABLE` (4319) |
/// | 04/01 still becoming ready past the wait | `ERROR_TIMEOUT` (1460) |
/// | anything else (hardware errors 04/15/01, illegal requests, ...) | `ERROR_DEVICE_NOT_AVAILABLE` (4319) |
pub fn device_code<E>(e: &DeviceError<E>) -> Win32Code {
    if let DeviceError::NotReady { .. } = e {
        return Win32Code::ERROR_TIMEOUT;
    }
    match e.sense() {
        Some(s) if s.asc == 0x30 => Win32Code::ERROR_UNABLE_TO_LOAD_MEDIUM,
        Some(s) if s.key == SenseKey::DATA_PROTECT || s.asc == 0x27 => {
            Win32Code::ERROR_WRITE_PROTECT
        }
        _ => Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
    }
}
