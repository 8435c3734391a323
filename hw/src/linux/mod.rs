//! The Linux backend: `/dev/sg*` through the `SG_IO` ioctl, devices found in sysfs.
//!
//! - [`SgTransport`]: one opened sg node as a [`Transport`](crate::Transport);
//! - [`Sysfs`]: enumeration of `/sys/class/scsi_generic` (roots configurable for tests);
//! - [`SgSource`]: both together as a [`DeviceSource`].
//!
//! Per-command timeouts are protocol policy and live with the drivers; this backend takes the
//! `Duration` it is given.

mod error;
pub mod sg;
mod status;
pub mod sysfs;

pub use error::{errno_kind, InvalidCommand, NodeKind, SgError, SgOp, SgSourceError, SysfsError};
pub use sg::{classify, SgOutcome, SgTransport, Undelivered};
pub use status::{DriverStatus, HostStatus};
pub use sysfs::{is_tape_or_changer, Hctl, SgDevice, Sysfs};

use crate::{DeviceInfo, DeviceSource};

/// The Linux SCSI generic devices as a [`DeviceSource`]: sysfs lists them, `open` returns an
/// [`SgTransport`].
///
/// [`DeviceSource::devices`] lists every sg device, whatever its type, so callers decide; use
/// [`DeviceInfo::peripheral_type`] with [`is_tape_or_changer`] to keep reel's own.
#[derive(Debug, Clone, Default)]
pub struct SgSource {
    sysfs: Sysfs,
}

impl SgSource {
    /// The real system: sysfs at `/sys`, nodes in `/dev`.
    pub fn new() -> Self {
        SgSource::default()
    }

    /// A source reading the given sysfs tree and node directory (tests, containers).
    pub fn with_sysfs(sysfs: Sysfs) -> Self {
        SgSource { sysfs }
    }

    /// The sysfs view in use.
    pub fn sysfs(&self) -> &Sysfs {
        &self.sysfs
    }

    /// Every sg device with the details sysfs gives beyond [`DeviceInfo`] (H:C:T:L, the
    /// kernel's own node).
    ///
    /// # Errors
    /// As [`Sysfs::sg_devices`].
    pub fn sg_devices(&self) -> Result<Vec<SgDevice>, SysfsError> {
        self.sysfs.sg_devices()
    }
}

impl DeviceSource for SgSource {
    type Transport = SgTransport;
    type Error = SgSourceError;

    /// # Errors
    /// [`SgSourceError::Sysfs`] when sysfs cannot be read (no sg driver, unreadable class dir).
    fn devices(&mut self) -> Result<Vec<DeviceInfo>, SgSourceError> {
        Ok(self
            .sysfs
            .sg_devices()?
            .iter()
            .map(SgDevice::info)
            .collect())
    }

    /// # Errors
    /// [`SgSourceError::Open`] with the [`SgError`] of [`SgTransport::open`].
    fn open(&mut self, path: &str) -> Result<SgTransport, SgSourceError> {
        Ok(SgTransport::open(path)?)
    }
}
