//! `reel move`: one cartridge from one element to another, straight to the devices, with the
//! fewest commands (the element map, the source element, an unload when the source is a drive
//! whose device is known, MOVE MEDIUM).

use reel_hw::{DeviceInfo, PeripheralType};
use serde::Serialize;
use thiserror::Error;

use super::engine::{Backend, ChangerPort, DeviceFailure, DiscoveryError, DrivePort};
use super::location::{ElementKind, Location};
use super::matching::{match_drives, DriveId, ElementId};
use super::model::{ElementMap, ElementRange};

/// What to move, and with which changer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    /// Source element.
    pub from: Location,
    /// Destination element.
    pub to: Location,
    /// The changer's serial, required when the source reaches several changers.
    pub changer: Option<String>,
    /// Only these device paths (`--device`); `None` = every changer the source lists.
    pub only: Option<Vec<String>>,
}

/// A move that happened: the `{"moved": ...}` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// Source, `TYPE:ADDRESS`.
    pub from: String,
    /// Destination, `TYPE:ADDRESS`.
    pub to: String,
    /// The cartridge's volume tag, when the changer reads barcodes.
    pub barcode: Option<String>,
    /// What was worth telling but did not stop the move.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Why a move did not happen.
#[derive(Debug, Error)]
pub enum MoveError {
    /// The request names something that does not exist (an element outside the map, an
    /// unknown changer, several changers and no `--changer`).
    #[error("{0}")]
    Usage(String),
    /// No medium changer is reachable.
    #[error("no medium changer found")]
    NoChanger,
    /// Listing, opening or a command failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

impl From<DeviceFailure> for MoveError {
    fn from(e: DeviceFailure) -> Self {
        MoveError::Discovery(DiscoveryError::Device(e))
    }
}

fn range_of(map: &ElementMap, kind: ElementKind) -> ElementRange {
    match kind {
        ElementKind::Transport => map.transport,
        ElementKind::Slot => map.storage,
        ElementKind::ImportExport => map.import_export,
        ElementKind::Drive => map.data_transfer,
    }
}

fn describe(r: ElementRange) -> String {
    match r.count {
        0 => "none".to_owned(),
        1 => r.first.to_string(),
        n => format!("{}-{}", r.first, u32::from(r.first) + u32::from(n) - 1),
    }
}

/// Picks the changer: the one with serial `wanted`, or the only one.
fn pick_changer<B: Backend>(
    backend: &mut B,
    devices: &[DeviceInfo],
    only: Option<&[String]>,
    wanted: Option<&str>,
) -> Result<(DeviceInfo, Option<B::Changer>), MoveError> {
    let mut given = Vec::new();
    for p in only.unwrap_or_default() {
        match devices.iter().find(|d| &d.path == p) {
            Some(d) => given.push(d.clone()),
            None => given.push(backend.probe(p)?),
        }
    }
    let changers: Vec<&DeviceInfo> = if only.is_some() { &given[..] } else { devices }
        .iter()
        .filter(|d| d.peripheral_type == PeripheralType::MEDIUM_CHANGER)
        .collect();
    if changers.is_empty() {
        return Err(MoveError::NoChanger);
    }
    let Some(wanted) = wanted else {
        return match changers.as_slice() {
            [one] => Ok(((*one).clone(), None)),
            many => Err(MoveError::Usage(format!(
                "{} changers found ({}); choose one with --changer SERIAL",
                many.len(),
                many.iter()
                    .map(|c| format!("{} serial {}", c.path, c.serial.as_deref().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        };
    };
    let mut seen = Vec::new();
    for c in changers {
        let (serial, port) = match &c.serial {
            Some(s) => (s.clone(), None),
            None => {
                let mut port = backend.open_changer(c)?;
                let id = port.identify()?;
                (id.serial.unwrap_or_default(), Some(port))
            }
        };
        if serial.trim() == wanted.trim() {
            return Ok((c.clone(), port));
        }
        seen.push(serial);
    }
    Err(MoveError::Usage(format!(
        "no changer has serial {wanted} (found: {})",
        seen.join(", ")
    )))
}

/// Moves the cartridge in `req.from` to `req.to`.
///
/// # Errors
/// [`MoveError::Usage`] for elements outside the changer's map or an unknown changer;
/// [`MoveError::Discovery`] with the device's decoded sense when a command fails (3B/0E source
/// empty, 3B/0D destination full, ...).
pub fn move_with<B: Backend>(backend: &mut B, req: &MoveRequest) -> Result<Moved, MoveError> {
    let devices = match backend.devices() {
        Ok(d) => d,
        // With `--device` nodes, enumeration only helps to find the drive to unload.
        Err(_) if req.only.is_some() => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let (info, port) = pick_changer(
        backend,
        &devices,
        req.only.as_deref(),
        req.changer.as_deref(),
    )?;
    let mut port = match port {
        Some(p) => p,
        None => backend.open_changer(&info)?,
    };
    let map = port.element_map()?;
    for (what, l) in [("source", req.from), ("destination", req.to)] {
        let r = range_of(&map, l.kind);
        if !r.contains(l.address) {
            return Err(MoveError::Usage(format!(
                "{what} {l} is not an element of changer {}: its {} elements are {}",
                info.path,
                l.kind.name(),
                describe(r)
            )));
        }
    }
    if map.transport.count == 0 {
        return Err(MoveError::Usage(format!(
            "changer {} reports no medium transport element",
            info.path
        )));
    }
    let mut warnings = Vec::new();
    let source = port.read_element(req.from.kind, req.from.address)?;
    let barcode = source.as_ref().and_then(|e| e.barcode.clone());
    if let Some(src) = source
        .as_ref()
        .filter(|e| e.full && req.from.kind == ElementKind::Drive)
    {
        let drives: Vec<&DeviceInfo> = devices
            .iter()
            .filter(|d| d.peripheral_type == PeripheralType::SEQUENTIAL)
            .collect();
        let ids: Vec<DriveId> = drives
            .iter()
            .map(|d| DriveId {
                serial: d.serial.clone(),
                ..DriveId::default()
            })
            .collect();
        let element = ElementId {
            address: src.address,
            dvcid: src.dvcid.clone(),
        };
        let m = match_drives(&[element], &ids, info.serial.as_deref().unwrap_or(""));
        match m.elements[0] {
            Some((i, _)) => {
                let mut drive = backend.open_drive(drives[i])?;
                if let Err(e) = drive.unload() {
                    // NOT READY, medium not present: nothing loaded to unload; the changer
                    // can take the cartridge.
                    let no_medium = e
                        .sense
                        .as_ref()
                        .is_some_and(|s| s.key.0 == 2 && s.asc == 0x3A);
                    if !no_medium {
                        return Err(e.into());
                    }
                }
            }
            None => warnings.push(format!(
                "drive element {}: its drive device is not known; moving without unloading first",
                src.address
            )),
        }
    }
    port.move_medium(map.transport.first, req.from.address, req.to.address)?;
    Ok(Moved {
        from: req.from.to_string(),
        to: req.to.to_string(),
        barcode,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::engine::tests::{dvcid, el, info, library, Fake, FakeDrive, Log};

    fn fake(log: &Log) -> Fake {
        Fake {
            devices: vec![
                info("c", PeripheralType::MEDIUM_CHANGER, "LIB", Some("LIB1")),
                info("d1", PeripheralType::SEQUENTIAL, "ULT3580-HH8", Some("S1")),
            ],
            changer: library(
                vec![
                    el(500, Some("ABC001L8"), 1, dvcid("S1")),
                    el(501, Some("ABC002L8"), 1, dvcid("GONE")),
                ],
                vec![el(1000, None, 0, None)],
            ),
            drives: [("d1".to_owned(), FakeDrive::default())]
                .into_iter()
                .collect(),
            log: log.clone(),
        }
    }

    fn req(from: &str, to: &str) -> MoveRequest {
        MoveRequest {
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
            changer: None,
            only: None,
        }
    }

    #[test]
    fn out_of_a_drive_unloads_it_first_and_reads_only_the_source() {
        let log = Log::default();
        let moved = move_with(&mut fake(&log), &req("drive:500", "slot:1000")).unwrap();
        assert_eq!(moved.barcode.as_deref(), Some("ABC001L8"));
        assert!(moved.warnings.is_empty());
        assert_eq!(
            *log.borrow(),
            [
                "changer map",
                "changer read drive 500",
                "d1 unload",
                "changer move 1 500 1000"
            ]
        );
    }

    #[test]
    fn a_drive_with_no_known_device_is_moved_from_with_a_warning() {
        let log = Log::default();
        let moved = move_with(&mut fake(&log), &req("drive:501", "slot:1000")).unwrap();
        assert_eq!(moved.warnings.len(), 1, "{:?}", moved.warnings);
        assert!(!log.borrow().iter().any(|l| l.contains("unload")));
    }

    #[test]
    fn usage_errors_before_any_move() {
        let cases = [
            (
                req("slot:999", "slot:1000"),
                "source slot:999 is not an element",
            ),
            (req("slot:1000", "ie:10"), "its ie elements are none"),
            (
                MoveRequest {
                    changer: Some("NOPE".into()),
                    ..req("slot:1000", "drive:500")
                },
                "no changer has serial NOPE",
            ),
        ];
        for (r, needle) in cases {
            let log = Log::default();
            match move_with(&mut fake(&log), &r) {
                Err(MoveError::Usage(m)) => assert!(m.contains(needle), "{m}"),
                other => panic!("{r:?}: {other:?}"),
            }
            assert!(!log.borrow().iter().any(|l| l.contains("move")));
        }
    }
}
