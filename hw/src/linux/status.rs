//! The host and driver status fields of `sg_io_hdr` as open newtypes (Linux
//! `include/scsi/scsi_status.h`, `scsi.h`). Unknown values pass through intact.

use std::fmt;

use crate::TransportErrorKind;

/// `host_status`: what the host adapter (HBA) driver says about delivery (`DID_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostStatus(pub u16);

impl HostStatus {
    /// No error.
    pub const OK: HostStatus = HostStatus(0x00);
    /// Could not connect before timeout (no device at that address).
    pub const NO_CONNECT: HostStatus = HostStatus(0x01);
    /// The bus stayed busy through the timeout period.
    pub const BUS_BUSY: HostStatus = HostStatus(0x02);
    /// The command timed out.
    pub const TIME_OUT: HostStatus = HostStatus(0x03);
    /// Bad target.
    pub const BAD_TARGET: HostStatus = HostStatus(0x04);
    /// The command was aborted.
    pub const ABORT: HostStatus = HostStatus(0x05);
    /// Parity error.
    pub const PARITY: HostStatus = HostStatus(0x06);
    /// Internal error of the host adapter.
    pub const ERROR: HostStatus = HostStatus(0x07);
    /// The bus or device was reset.
    pub const RESET: HostStatus = HostStatus(0x08);
    /// Interrupt with no command pending.
    pub const BAD_INTR: HostStatus = HostStatus(0x09);
    /// Forced pass-through past the mid-layer.
    pub const PASSTHROUGH: HostStatus = HostStatus(0x0A);
    /// The low-level driver wants the command retried.
    pub const SOFT_ERROR: HostStatus = HostStatus(0x0B);
    /// Retry without decrementing the retry count.
    pub const IMM_RETRY: HostStatus = HostStatus(0x0C);
    /// Requeue the command.
    pub const REQUEUE: HostStatus = HostStatus(0x0D);
    /// The transport (FC, iSCSI, SAS link) was disrupted; the device may come back.
    pub const TRANSPORT_DISRUPTED: HostStatus = HostStatus(0x0E);
    /// The transport class failed the command fast (link down past its timeout).
    pub const TRANSPORT_FAILFAST: HostStatus = HostStatus(0x0F);
    /// Permanent target failure.
    pub const TARGET_FAILURE: HostStatus = HostStatus(0x10);
    /// Permanent nexus failure (reservation conflict on this path).
    pub const NEXUS_FAILURE: HostStatus = HostStatus(0x11);
    /// Space allocation on the device failed.
    pub const ALLOC_FAILURE: HostStatus = HostStatus(0x12);
    /// Medium error.
    pub const MEDIUM_ERROR: HostStatus = HostStatus(0x13);
    /// The transport is marginal (errors seen on the link).
    pub const TRANSPORT_MARGINAL: HostStatus = HostStatus(0x14);

    /// The kernel's name (`DID_NO_CONNECT`, ...), or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            HostStatus::OK => "DID_OK",
            HostStatus::NO_CONNECT => "DID_NO_CONNECT",
            HostStatus::BUS_BUSY => "DID_BUS_BUSY",
            HostStatus::TIME_OUT => "DID_TIME_OUT",
            HostStatus::BAD_TARGET => "DID_BAD_TARGET",
            HostStatus::ABORT => "DID_ABORT",
            HostStatus::PARITY => "DID_PARITY",
            HostStatus::ERROR => "DID_ERROR",
            HostStatus::RESET => "DID_RESET",
            HostStatus::BAD_INTR => "DID_BAD_INTR",
            HostStatus::PASSTHROUGH => "DID_PASSTHROUGH",
            HostStatus::SOFT_ERROR => "DID_SOFT_ERROR",
            HostStatus::IMM_RETRY => "DID_IMM_RETRY",
            HostStatus::REQUEUE => "DID_REQUEUE",
            HostStatus::TRANSPORT_DISRUPTED => "DID_TRANSPORT_DISRUPTED",
            HostStatus::TRANSPORT_FAILFAST => "DID_TRANSPORT_FAILFAST",
            HostStatus::TARGET_FAILURE => "DID_TARGET_FAILURE",
            HostStatus::NEXUS_FAILURE => "DID_NEXUS_FAILURE",
            HostStatus::ALLOC_FAILURE => "DID_ALLOC_FAILURE",
            HostStatus::MEDIUM_ERROR => "DID_MEDIUM_ERROR",
            HostStatus::TRANSPORT_MARGINAL => "DID_TRANSPORT_MARGINAL",
            _ => return None,
        })
    }

    /// The class of failure generic code acts on.
    pub fn kind(self) -> TransportErrorKind {
        match self {
            HostStatus::NO_CONNECT | HostStatus::BAD_TARGET | HostStatus::TRANSPORT_FAILFAST => {
                TransportErrorKind::NoDevice
            }
            HostStatus::TIME_OUT => TransportErrorKind::Timeout,
            HostStatus::ABORT | HostStatus::RESET | HostStatus::TRANSPORT_DISRUPTED => {
                TransportErrorKind::Aborted
            }
            HostStatus::BUS_BUSY
            | HostStatus::SOFT_ERROR
            | HostStatus::IMM_RETRY
            | HostStatus::REQUEUE => TransportErrorKind::Busy,
            _ => TransportErrorKind::Other,
        }
    }
}

impl fmt::Debug for HostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "HostStatus({:#04x})", self.0),
        }
    }
}

impl fmt::Display for HostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({:#04x})", self.0),
            None => write!(f, "host status {:#04x}", self.0),
        }
    }
}

/// `driver_status`: the SCSI mid-layer's verdict (`DRIVER_*` in bits 3..0, `SUGGEST_*` in bits
/// 7..4). Kernels since 5.x report only `DRIVER_SENSE` or nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DriverStatus(pub u16);

impl DriverStatus {
    /// No driver-level condition.
    pub const OK: DriverStatus = DriverStatus(0x00);
    /// Busy.
    pub const BUSY: DriverStatus = DriverStatus(0x01);
    /// Soft error.
    pub const SOFT: DriverStatus = DriverStatus(0x02);
    /// Media error.
    pub const MEDIA: DriverStatus = DriverStatus(0x03);
    /// Error.
    pub const ERROR: DriverStatus = DriverStatus(0x04);
    /// Invalid request.
    pub const INVALID: DriverStatus = DriverStatus(0x05);
    /// Timed out.
    pub const TIMEOUT: DriverStatus = DriverStatus(0x06);
    /// Hard error.
    pub const HARD: DriverStatus = DriverStatus(0x07);
    /// Sense data is available: not a failure.
    pub const SENSE: DriverStatus = DriverStatus(0x08);
    /// Mask of the driver code proper; the bits above are `SUGGEST_*` hints.
    pub const MASK: u16 = 0x0F;

    /// The driver code with the suggest bits masked off.
    pub fn code(self) -> DriverStatus {
        DriverStatus(self.0 & Self::MASK)
    }

    /// True when the code is `DRIVER_SENSE`.
    pub fn is_sense(self) -> bool {
        self.code() == DriverStatus::SENSE
    }

    /// True when the code is `DRIVER_OK` or `DRIVER_SENSE`: the command reached the device.
    pub fn is_ok_or_sense(self) -> bool {
        matches!(self.code(), DriverStatus::OK | DriverStatus::SENSE)
    }

    /// The kernel's name of the code (suggest bits ignored), or `None` when unknown.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.code() {
            DriverStatus::OK => "DRIVER_OK",
            DriverStatus::BUSY => "DRIVER_BUSY",
            DriverStatus::SOFT => "DRIVER_SOFT",
            DriverStatus::MEDIA => "DRIVER_MEDIA",
            DriverStatus::ERROR => "DRIVER_ERROR",
            DriverStatus::INVALID => "DRIVER_INVALID",
            DriverStatus::TIMEOUT => "DRIVER_TIMEOUT",
            DriverStatus::HARD => "DRIVER_HARD",
            DriverStatus::SENSE => "DRIVER_SENSE",
            _ => return None,
        })
    }

    /// The class of failure generic code acts on.
    pub fn kind(self) -> TransportErrorKind {
        match self.code() {
            DriverStatus::TIMEOUT => TransportErrorKind::Timeout,
            DriverStatus::BUSY => TransportErrorKind::Busy,
            _ => TransportErrorKind::Other,
        }
    }
}

impl fmt::Debug for DriverStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) if self.0 == self.code().0 => f.write_str(n),
            _ => write!(f, "DriverStatus({:#04x})", self.0),
        }
    }
}

impl fmt::Display for DriverStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({:#04x})", self.0),
            None => write!(f, "driver status {:#04x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransportErrorKind::*;

    #[test]
    fn host_status_names_and_kinds() {
        #[rustfmt::skip]
        let table: &[(u16, &str, TransportErrorKind)] = &[
            (0x00, "DID_OK", Other),
            (0x01, "DID_NO_CONNECT", NoDevice),
            (0x02, "DID_BUS_BUSY", Busy),
            (0x03, "DID_TIME_OUT", Timeout),
            (0x04, "DID_BAD_TARGET", NoDevice),
            (0x05, "DID_ABORT", Aborted),
            (0x06, "DID_PARITY", Other),
            (0x07, "DID_ERROR", Other),
            (0x08, "DID_RESET", Aborted),
            (0x09, "DID_BAD_INTR", Other),
            (0x0A, "DID_PASSTHROUGH", Other),
            (0x0B, "DID_SOFT_ERROR", Busy),
            (0x0C, "DID_IMM_RETRY", Busy),
            (0x0D, "DID_REQUEUE", Busy),
            (0x0E, "DID_TRANSPORT_DISRUPTED", Aborted),
            (0x0F, "DID_TRANSPORT_FAILFAST", NoDevice),
            (0x10, "DID_TARGET_FAILURE", Other),
            (0x11, "DID_NEXUS_FAILURE", Other),
            (0x12, "DID_ALLOC_FAILURE", Other),
            (0x13, "DID_MEDIUM_ERROR", Other),
            (0x14, "DID_TRANSPORT_MARGINAL", Other),
        ];
        for v in 0..=0xFFu16 {
            let h = HostStatus(v);
            match table.iter().find(|(c, _, _)| *c == v) {
                Some(&(_, name, kind)) => {
                    assert_eq!(h.name(), Some(name));
                    assert_eq!(format!("{h:?}"), name);
                    assert_eq!(h.to_string(), format!("{name} ({v:#04x})"));
                    assert_eq!(h.kind(), kind, "{name}");
                }
                None => {
                    assert_eq!(h.name(), None);
                    assert_eq!(h.kind(), Other);
                    assert_eq!(h.to_string(), format!("host status {v:#04x}"));
                }
            }
        }
    }

    #[test]
    fn driver_status_masks_suggest_bits() {
        #[rustfmt::skip]
        let table: &[(u16, Option<&str>, bool, TransportErrorKind)] = &[
            (0x00, Some("DRIVER_OK"), true, Other),
            (0x01, Some("DRIVER_BUSY"), false, Busy),
            (0x04, Some("DRIVER_ERROR"), false, Other),
            (0x06, Some("DRIVER_TIMEOUT"), false, Timeout),
            (0x08, Some("DRIVER_SENSE"), true, Other),
            (0x18, Some("DRIVER_SENSE"), true, Other),
            (0x28, Some("DRIVER_SENSE"), true, Other),
            (0x88, Some("DRIVER_SENSE"), true, Other),
            (0x14, Some("DRIVER_ERROR"), false, Other),
            (0x26, Some("DRIVER_TIMEOUT"), false, Timeout),
            (0x10, Some("DRIVER_OK"), true, Other),
            (0x0F, None, false, Other),
        ];
        for &(v, name, delivered, kind) in table {
            let d = DriverStatus(v);
            assert_eq!(d.name(), name, "{v:#x}");
            assert_eq!(d.is_ok_or_sense(), delivered, "{v:#x}");
            assert_eq!(d.kind(), kind, "{v:#x}");
        }
        assert_eq!(format!("{:?}", DriverStatus(0x08)), "DRIVER_SENSE");
        assert_eq!(format!("{:?}", DriverStatus(0x18)), "DriverStatus(0x18)");
        assert_eq!(DriverStatus(0x26).to_string(), "DRIVER_TIMEOUT (0x26)");
    }
}
