//! The Linux backend's errors: [`SgError`] for nodes and commands, [`SysfsError`] for
//! enumeration, [`SgSourceError`] for the [`DeviceSource`](crate::DeviceSource).

use std::fmt;
use std::path::PathBuf;

use nix::errno::Errno;
use thiserror::Error;

use super::status::{DriverStatus, HostStatus};
use crate::{TransportError, TransportErrorKind};

/// The system call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SgOp {
    /// `stat` of the path before opening it.
    Stat,
    /// `open`.
    Open,
    /// `fstat` of the opened node.
    Fstat,
    /// The `SG_GET_VERSION_NUM` ioctl.
    GetVersion,
    /// The `SG_IO` ioctl.
    SgIo,
}

impl fmt::Display for SgOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SgOp::Stat => "stat",
            SgOp::Open => "open",
            SgOp::Fstat => "fstat",
            SgOp::GetVersion => "SG_GET_VERSION_NUM",
            SgOp::SgIo => "SG_IO",
        })
    }
}

/// What a path turned out to be, when it is not an sg node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A character device of another driver.
    CharDevice {
        /// Major number.
        major: u64,
        /// Minor number.
        minor: u64,
    },
    /// A block device.
    BlockDevice {
        /// Major number.
        major: u64,
        /// Minor number.
        minor: u64,
    },
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// Anything else.
    Other,
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeKind::Regular => f.write_str("regular file"),
            NodeKind::Directory => f.write_str("directory"),
            NodeKind::CharDevice { major, minor } => {
                write!(f, "character device {major}:{minor}")
            }
            NodeKind::BlockDevice { major, minor } => write!(f, "block device {major}:{minor}"),
            NodeKind::Fifo => f.write_str("FIFO"),
            NodeKind::Socket => f.write_str("socket"),
            NodeKind::Other => f.write_str("special file"),
        }
    }
}

/// A command refused before it reached the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InvalidCommand {
    /// No CDB bytes.
    #[error("empty CDB")]
    EmptyCdb,
    /// Fewer than 6 CDB bytes.
    #[error("CDB of {0} bytes; SCSI CDBs are at least 6")]
    CdbTooShort(usize),
    /// More than 16 CDB bytes.
    #[error("CDB of {0} bytes; SG_IO takes at most 16")]
    CdbTooLong(usize),
    /// A data phase longer than `u32::MAX` bytes.
    #[error("data phase of {0} bytes; SG_IO takes at most 4 GiB - 1")]
    TransferTooLong(usize),
}

/// A failure of an sg node: opening it, or delivering a command to it.
#[derive(Debug, Error)]
pub enum SgError {
    /// A system call failed.
    #[error("{device}: {op} failed: {errno}{}", hint(*op, *errno))]
    Os {
        /// The node.
        device: String,
        /// The call.
        op: SgOp,
        /// The error number.
        #[source]
        errno: Errno,
    },
    /// The host adapter did not deliver the command or lost its answer.
    #[error("{device}: command not delivered: host adapter reported {host}")]
    Host {
        /// The node.
        device: String,
        /// Host status.
        host: HostStatus,
        /// Driver status reported with it.
        driver: DriverStatus,
    },
    /// The SCSI mid-layer failed the command.
    #[error("{device}: command failed in the SCSI mid-layer: {driver}")]
    Driver {
        /// The node.
        device: String,
        /// Driver status.
        driver: DriverStatus,
    },
    /// The path is not a SCSI generic character device.
    #[error("{device} is not a SCSI generic (sg) device: {found}; use a /dev/sgN node")]
    NotSg {
        /// The path.
        device: String,
        /// What it is instead.
        found: NodeKind,
    },
    /// The sg driver is older than the v3 (`sg_io_hdr`) interface.
    #[error("{device}: sg driver version {version} predates SG_IO v3 (needs 30000 or later)")]
    OldDriver {
        /// The node.
        device: String,
        /// `SG_GET_VERSION_NUM`'s answer.
        version: i32,
    },
    /// The command was refused before it reached the kernel.
    #[error("{device}: command not sent: {problem}")]
    InvalidCommand {
        /// The node.
        device: String,
        /// What is wrong with it.
        problem: InvalidCommand,
    },
}

/// A short "what to do" for the errors users meet when opening nodes.
fn hint(op: SgOp, errno: Errno) -> &'static str {
    match (op, errno) {
        (_, Errno::EACCES | Errno::EPERM) => {
            " (run as root, or add the user to the group that owns the node: `ls -l` it)"
        }
        (SgOp::Stat | SgOp::Open, Errno::ENOENT) => {
            " (no such node: list /sys/class/scsi_generic for the sg devices present)"
        }
        (_, Errno::ENODEV | Errno::ENXIO) => " (the device is gone: check cabling and power)",
        (SgOp::Open, Errno::EBUSY) => " (another process holds the device open exclusively)",
        _ => "",
    }
}

impl SgError {
    /// The node or path the error is about.
    pub fn device(&self) -> &str {
        match self {
            SgError::Os { device, .. }
            | SgError::Host { device, .. }
            | SgError::Driver { device, .. }
            | SgError::NotSg { device, .. }
            | SgError::OldDriver { device, .. }
            | SgError::InvalidCommand { device, .. } => device,
        }
    }

    /// The OS error number, for [`SgError::Os`].
    pub fn errno(&self) -> Option<Errno> {
        match self {
            SgError::Os { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// The class of an OS error number.
pub fn errno_kind(errno: Errno) -> TransportErrorKind {
    match errno {
        Errno::ENODEV | Errno::ENXIO | Errno::ENOENT => TransportErrorKind::NoDevice,
        // EDOM: the sg file descriptor has no free request slot.
        Errno::EBUSY | Errno::EAGAIN | Errno::EDOM => TransportErrorKind::Busy,
        Errno::ETIMEDOUT => TransportErrorKind::Timeout,
        Errno::EACCES | Errno::EPERM | Errno::EROFS => TransportErrorKind::Permission,
        Errno::EINTR => TransportErrorKind::Aborted,
        _ => TransportErrorKind::Other,
    }
}

impl TransportError for SgError {
    fn kind(&self) -> TransportErrorKind {
        match self {
            SgError::Os { errno, .. } => errno_kind(*errno),
            SgError::Host { host, .. } => host.kind(),
            SgError::Driver { driver, .. } => driver.kind(),
            // The path names no sg device: there is no device to talk to there.
            SgError::NotSg { .. } => TransportErrorKind::NoDevice,
            SgError::OldDriver { .. } | SgError::InvalidCommand { .. } => TransportErrorKind::Other,
        }
    }
}

/// A failure reading sysfs.
#[derive(Debug, Error)]
pub enum SysfsError {
    /// The scsi_generic class directory does not exist.
    #[error(
        "{} does not exist: the sg driver is not loaded (modprobe sg) or the kernel has no \
         SCSI support",
        path.display()
    )]
    NoScsiGeneric {
        /// The missing directory.
        path: PathBuf,
    },
    /// The class directory could not be listed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A failure of [`SgSource`](super::SgSource): enumeration or opening.
#[derive(Debug, Error)]
pub enum SgSourceError {
    /// Enumeration failed.
    #[error(transparent)]
    Sysfs(#[from] SysfsError),
    /// Opening a node failed.
    #[error(transparent)]
    Open(#[from] SgError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransportErrorKind::*;

    #[test]
    fn errno_kinds() {
        #[rustfmt::skip]
        let table = [
            (Errno::ENODEV, NoDevice), (Errno::ENXIO, NoDevice), (Errno::ENOENT, NoDevice),
            (Errno::EBUSY, Busy), (Errno::EAGAIN, Busy), (Errno::EDOM, Busy),
            (Errno::ETIMEDOUT, Timeout),
            (Errno::EACCES, Permission), (Errno::EPERM, Permission), (Errno::EROFS, Permission),
            (Errno::EINTR, Aborted),
            (Errno::EIO, Other), (Errno::EINVAL, Other), (Errno::ENOMEM, Other),
            (Errno::ENOTTY, Other),
        ];
        for (errno, kind) in table {
            assert_eq!(errno_kind(errno), kind, "{errno}");
            let e = SgError::Os {
                device: "/dev/sg9".into(),
                op: SgOp::SgIo,
                errno,
            };
            assert_eq!(e.kind(), kind, "{errno}");
            assert_eq!(e.errno(), Some(errno));
            assert_eq!(e.device(), "/dev/sg9");
        }
    }

    #[test]
    fn every_variant_has_a_kind_and_a_message_naming_the_device() {
        let d = || "/dev/sg4".to_owned();
        let cases: Vec<(SgError, TransportErrorKind, &str)> =
            vec![
            (
                SgError::Os { device: d(), op: SgOp::Open, errno: Errno::EACCES },
                Permission,
                "/dev/sg4: open failed: EACCES: Permission denied (run as root, or add the user \
                 to the group that owns the node: `ls -l` it)",
            ),
            (
                SgError::Os { device: d(), op: SgOp::SgIo, errno: Errno::EIO },
                Other,
                "/dev/sg4: SG_IO failed: EIO: I/O error",
            ),
            (
                SgError::Host {
                    device: d(),
                    host: HostStatus::NO_CONNECT,
                    driver: DriverStatus::OK,
                },
                NoDevice,
                "/dev/sg4: command not delivered: host adapter reported DID_NO_CONNECT (0x01)",
            ),
            (
                SgError::Host {
                    device: d(),
                    host: HostStatus::TRANSPORT_DISRUPTED,
                    driver: DriverStatus::OK,
                },
                Aborted,
                "/dev/sg4: command not delivered: host adapter reported \
                 DID_TRANSPORT_DISRUPTED (0x0e)",
            ),
            (
                SgError::Driver { device: d(), driver: DriverStatus(0x06) },
                Timeout,
                "/dev/sg4: command failed in the SCSI mid-layer: DRIVER_TIMEOUT (0x06)",
            ),
            (
                SgError::NotSg {
                    device: "/dev/null".into(),
                    found: NodeKind::CharDevice { major: 1, minor: 3 },
                },
                NoDevice,
                "/dev/null is not a SCSI generic (sg) device: character device 1:3; use a \
                 /dev/sgN node",
            ),
            (
                SgError::OldDriver { device: d(), version: 20134 },
                Other,
                "/dev/sg4: sg driver version 20134 predates SG_IO v3 (needs 30000 or later)",
            ),
            (
                SgError::InvalidCommand { device: d(), problem: InvalidCommand::CdbTooLong(32) },
                Other,
                "/dev/sg4: command not sent: CDB of 32 bytes; SG_IO takes at most 16",
            ),
        ];
        for (e, kind, text) in cases {
            assert_eq!(e.kind(), kind, "{e:?}");
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn os_errors_expose_the_errno_as_source() {
        use std::error::Error as _;
        let e = SgError::Os {
            device: "/dev/sg0".into(),
            op: SgOp::SgIo,
            errno: Errno::ENODEV,
        };
        let source = e.source().expect("errno source");
        assert_eq!(source.downcast_ref::<Errno>(), Some(&Errno::ENODEV));
        let e = SgError::Driver {
            device: "/dev/sg0".into(),
            driver: DriverStatus::ERROR,
        };
        assert!(e.source().is_none());
    }
}
