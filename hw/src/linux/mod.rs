//! The Linux backend: `/dev/sg*` through the `SG_IO` ioctl, devices found in sysfs.
//!
//! - [`SgTransport`]: one opened sg node as a [`Transport`](crate::Transport);
//! - [`Sysfs`]: enumeration of `/sys/class/scsi_generic` (roots configurable for tests);
//! - [`SgSource`]: both together as a [`DeviceSource`].
//!
//! Per-command timeouts are protocol policy and live with the drivers; this backend takes the
//! `Duration` it is given.

mod error;
pub mod peer;
pub mod sg;
mod status;
pub mod sysfs;

pub use error::{errno_kind, InvalidCommand, NodeKind, SgError, SgOp, SgSourceError, SysfsError};
pub use peer::peer_groups;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PeripheralType, TransportError, TransportErrorKind};
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn source_lists_every_type_and_opens_through_sg_transport() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (sg, hctl, t, model) in [(1, "2:0:0:0", "8", "TS3100"), (0, "1:0:0:0", "0", "DISK")] {
            let sdev = root.join(format!("devices/host/{hctl}"));
            fs::create_dir_all(sdev.join(format!("scsi_generic/sg{sg}"))).unwrap();
            fs::write(sdev.join("type"), format!("{t}\n")).unwrap();
            fs::write(sdev.join("vendor"), "IBM     \n").unwrap();
            fs::write(sdev.join("model"), format!("{model:<16}\n")).unwrap();
            fs::write(sdev.join("rev"), "B.50\n").unwrap();
            symlink(
                format!("../../../{hctl}"),
                sdev.join(format!("scsi_generic/sg{sg}/device")),
            )
            .unwrap();
            fs::create_dir_all(root.join("class/scsi_generic")).unwrap();
            symlink(
                format!("../../devices/host/{hctl}/scsi_generic/sg{sg}"),
                root.join(format!("class/scsi_generic/sg{sg}")),
            )
            .unwrap();
        }
        let nodes = root.join("dev");
        let mut source = SgSource::with_sysfs(Sysfs::new(root, &nodes));
        let devices = source.devices().unwrap();
        let summary: Vec<(String, PeripheralType, &str, bool)> = devices
            .iter()
            .map(|d| {
                (
                    d.path.clone(),
                    d.peripheral_type,
                    d.product.as_str(),
                    is_tape_or_changer(d.peripheral_type),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    nodes.join("sg0").display().to_string(),
                    PeripheralType::DIRECT_ACCESS,
                    "DISK",
                    false
                ),
                (
                    nodes.join("sg1").display().to_string(),
                    PeripheralType::MEDIUM_CHANGER,
                    "TS3100",
                    true
                ),
            ]
        );
        let rich = source.sg_devices().unwrap();
        assert_eq!(
            rich[1].hctl.map(|h| h.to_string()).as_deref(),
            Some("2:0:0:0")
        );

        // The listed node does not exist in this fake /dev: the open error says so.
        match source.open(&devices[1].path) {
            Err(SgSourceError::Open(e)) => {
                assert_eq!(e.kind(), TransportErrorKind::NoDevice);
                assert_eq!(e.errno(), Some(nix::errno::Errno::ENOENT));
                assert_eq!(e.device(), devices[1].path);
            }
            other => panic!("expected an open error, got {other:?}"),
        }
        match source.open("/dev/null") {
            Err(SgSourceError::Open(SgError::NotSg { found, .. })) => {
                assert_eq!(found, NodeKind::CharDevice { major: 1, minor: 3 });
            }
            other => panic!("expected NotSg, got {other:?}"),
        }
    }

    #[test]
    fn source_without_sg_class_is_an_error_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let mut source = SgSource::with_sysfs(Sysfs::new(dir.path(), "/dev"));
        let err = source.devices().unwrap_err();
        assert!(matches!(
            err,
            SgSourceError::Sysfs(SysfsError::NoScsiGeneric { .. })
        ));
        assert!(err.to_string().contains("modprobe sg"), "{err}");
    }
}
