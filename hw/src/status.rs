//! The SCSI status byte as an open newtype.

use std::fmt;

/// SCSI status byte (SAM). Unknown values pass through intact.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScsiStatus(pub u8);

impl ScsiStatus {
    /// The command completed.
    pub const GOOD: ScsiStatus = ScsiStatus(0x00);
    /// The device has sense data describing a failure or an event.
    pub const CHECK_CONDITION: ScsiStatus = ScsiStatus(0x02);
    /// Condition met (prefetch commands).
    pub const CONDITION_MET: ScsiStatus = ScsiStatus(0x04);
    /// The logical unit is busy.
    pub const BUSY: ScsiStatus = ScsiStatus(0x08);
    /// Another initiator holds a reservation.
    pub const RESERVATION_CONFLICT: ScsiStatus = ScsiStatus(0x18);
    /// The task set is full.
    pub const TASK_SET_FULL: ScsiStatus = ScsiStatus(0x28);
    /// ACA active.
    pub const ACA_ACTIVE: ScsiStatus = ScsiStatus(0x30);
    /// The task was aborted.
    pub const TASK_ABORTED: ScsiStatus = ScsiStatus(0x40);

    /// The status name, or `None` for a value this table does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ScsiStatus::GOOD => "GOOD",
            ScsiStatus::CHECK_CONDITION => "CHECK CONDITION",
            ScsiStatus::CONDITION_MET => "CONDITION MET",
            ScsiStatus::BUSY => "BUSY",
            ScsiStatus::RESERVATION_CONFLICT => "RESERVATION CONFLICT",
            ScsiStatus::TASK_SET_FULL => "TASK SET FULL",
            ScsiStatus::ACA_ACTIVE => "ACA ACTIVE",
            ScsiStatus::TASK_ABORTED => "TASK ABORTED",
            _ => return None,
        })
    }
}

impl fmt::Debug for ScsiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "ScsiStatus({:#04x})", self.0),
        }
    }
}

impl fmt::Display for ScsiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_passes_through() {
        for v in 0..=255u8 {
            let s = ScsiStatus(v);
            assert_eq!(s.0, v);
            if let Some(n) = s.name() {
                assert_eq!(format!("{s:?}"), n);
            } else {
                assert_eq!(format!("{s:?}"), format!("ScsiStatus({v:#04x})"));
            }
        }
        assert_eq!(ScsiStatus(0x02), ScsiStatus::CHECK_CONDITION);
    }
}
