//! `reel move`: one cartridge from one element to another, straight to the devices, with the
//! fewest commands (the element map, the source element, an unload when the source is a drive
//! whose device is known, MOVE MEDIUM).

use reel_hw::{DeviceInfo, DeviceSource, PeripheralType, Transport, TransportError};
use serde::Serialize;
use thiserror::Error;

use super::error::DiscoveryError;
use super::location::{ElementKind, Location};
use super::matching::{match_drives, DriveId, ElementId};
use super::run::{designator, element_type, Dev, Devices};
use crate::changer::Changer;
use crate::scsi::exec::DeviceError;
use crate::scsi::mode_sense::{ElementAddressAssignment, ElementRange};
use crate::scsi::read_element_status::ElementDescriptor;

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

impl<E: TransportError + Send + Sync + 'static> From<DeviceError<E>> for MoveError {
    fn from(e: DeviceError<E>) -> Self {
        MoveError::Discovery(e.into())
    }
}

fn range_of(map: &ElementAddressAssignment, kind: ElementKind) -> ElementRange {
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

/// The changer picked for a move, opened when its serial had to be asked.
type Picked<S> = (DeviceInfo, Option<Changer<Dev<S>>>);

/// Picks the changer: the one with serial `wanted`, or the only one.
fn pick_changer<S: DeviceSource>(
    backend: &mut Devices<'_, S>,
    devices: &[DeviceInfo],
    only: Option<&[String]>,
    wanted: Option<&str>,
) -> Result<Picked<S>, MoveError> {
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
                let mut port = backend.changer(&c.path)?;
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

/// The drive elements to match for unloading `src`: `src` alone when its identifier is whole;
/// every drive element when the changer cut it short (tgt does so for the last one), because a
/// cut identifier is matched by its serial prefix only among drives no whole identifier claims.
/// Returns the elements and the index of `src` among them.
fn drive_elements<T: Transport>(
    port: &mut Changer<T>,
    map: &ElementAddressAssignment,
    src: &ElementDescriptor,
) -> Result<(Vec<ElementId>, usize), DeviceError<T::Error>> {
    let id = |e: &ElementDescriptor| ElementId {
        address: e.address,
        dvcid: designator(e),
    };
    if !(src.dvcid_truncated && src.device_id.is_some()) {
        return Ok((vec![id(src)], 0));
    }
    let r = map.data_transfer;
    let mut elements = Vec::with_capacity(usize::from(r.count));
    for address in (0..r.count).filter_map(|i| r.first.checked_add(i)) {
        if address == src.address {
            elements.push(id(src));
        } else if let Some(e) = port.read_element(element_type(ElementKind::Drive), address)? {
            elements.push(id(&e));
        }
    }
    let at = elements
        .iter()
        .position(|e| e.address == src.address)
        .unwrap_or_else(|| {
            elements.push(id(src));
            elements.len() - 1
        });
    Ok((elements, at))
}

/// Moves the cartridge in `req.from` to `req.to`.
///
/// # Errors
/// [`MoveError::Usage`] for elements outside the changer's map or an unknown changer;
/// [`MoveError::Discovery`] with the device's decoded sense when a command fails (3B/0E source
/// empty, 3B/0D destination full, ...).
pub(crate) fn move_with<S: DeviceSource>(
    backend: &mut Devices<'_, S>,
    req: &MoveRequest,
) -> Result<Moved, MoveError> {
    let devices = match backend.list() {
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
        None => backend.changer(&info.path)?,
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
    let source = port.read_element(element_type(req.from.kind), req.from.address)?;
    let barcode = source
        .as_ref()
        .and_then(|e| e.primary_tag.as_ref())
        .map(|t| t.identifier.trim().to_owned())
        .filter(|t| !t.is_empty());
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
        let (elements, at) = drive_elements(&mut port, &map, src)?;
        let m = match_drives(&elements, &ids, info.serial.as_deref().unwrap_or(""));
        warnings.extend(m.notes.iter().cloned());
        match m.elements[at] {
            Some((i, _)) => {
                let mut drive = backend.drive(&drives[i].path)?;
                match drive.unload(false) {
                    // NOT READY, medium not present: nothing loaded to unload; the changer
                    // can take the cartridge.
                    Err(e) if !e.is_no_medium() => return Err(e.into()),
                    _ => {}
                }
            }
            None => warnings.push(format!(
                "drive element {}: its drive device is not known; moving without unloading first",
                src.address
            )),
        }
    }
    port.move_medium(map.transport.first, req.from.address, req.to.address, false)?;
    Ok(Moved {
        from: req.from.to_string(),
        to: req.to.to_string(),
        barcode,
        warnings,
    })
}
