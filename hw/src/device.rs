//! Device enumeration: what a backend can reach, and opening one device as a transport.

use std::fmt;

use crate::Transport;

/// SCSI peripheral device type (INQUIRY byte 0, bits 4..0). Unknown values pass through.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeripheralType(pub u8);

impl PeripheralType {
    /// Direct-access block device (disk).
    pub const DIRECT_ACCESS: PeripheralType = PeripheralType(0x00);
    /// Sequential-access device (tape drive, SSC).
    pub const SEQUENTIAL: PeripheralType = PeripheralType(0x01);
    /// Medium changer (SMC).
    pub const MEDIUM_CHANGER: PeripheralType = PeripheralType(0x08);
    /// Enclosure services.
    pub const ENCLOSURE: PeripheralType = PeripheralType(0x0D);

    /// The type's name, or `None` when this table does not know it.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            PeripheralType::DIRECT_ACCESS => "disk",
            PeripheralType::SEQUENTIAL => "tape",
            PeripheralType::MEDIUM_CHANGER => "changer",
            PeripheralType::ENCLOSURE => "enclosure",
            _ => return None,
        })
    }
}

impl fmt::Debug for PeripheralType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "PeripheralType({:#04x})", self.0),
        }
    }
}

/// One SCSI device a backend can reach, as enumeration describes it (before any command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Node path (`/dev/sg3`) or a backend-specific name (`sim:drive:500`).
    pub path: String,
    /// Peripheral device type.
    pub peripheral_type: PeripheralType,
    /// INQUIRY vendor, trimmed.
    pub vendor: String,
    /// INQUIRY product, trimmed.
    pub product: String,
    /// INQUIRY revision, trimmed.
    pub revision: String,
    /// Unit serial number (VPD 0x80), when enumeration could learn it without a command.
    pub serial: Option<String>,
}

/// A place devices come from: Linux sysfs + `/dev/sg*`, the in-process simulator, a simulator
/// socket.
pub trait DeviceSource {
    /// The transport each opened device is.
    type Transport: Transport;
    /// Enumeration and open failures.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Lists the devices this source can reach, in a stable order.
    ///
    /// # Errors
    /// When the source cannot be read (sysfs missing, socket gone).
    fn devices(&mut self) -> Result<Vec<DeviceInfo>, Self::Error>;

    /// Opens the device at `path` (one of [`DeviceSource::devices`]' paths, or a node the user
    /// named).
    ///
    /// # Errors
    /// When the device does not exist, is not a SCSI generic device, or may not be opened.
    fn open(&mut self, path: &str) -> Result<Self::Transport, Self::Error>;
}
