//! The library model: one typed picture of each library the controller owns — its elements and
//! what they hold, each cartridge's home slot, its drives with their state and device nodes.
//!
//! Discovery *builds* it ([`LibraryModel::from_discovered`]); the controller *updates* it from
//! each command it completes ([`LibraryModel::apply_move`]) and from targeted re-reads after a
//! unit attention ([`LibraryModel::apply_status`]); the wire *renders* it
//! ([`LibraryModel::render`], the `reel library` document). It is never rescanned after a move.
//!
//! Decisions where the specs are silent:
//! - A cartridge's home is the storage slot it was in when first seen; one found in a drive
//!   takes the element the changer says it came from (SVALID) when that is a storage slot, else
//!   it has no home and goes to the lowest empty slot on dismount.
//! - A drive's id is a UUID v5 of `<changer serial>/<drive serial or element address>` under the
//!   media-type namespace, so it is stable across restarts without a database row.

use serde::Serialize;
use uuid::Uuid;

use crate::discovery::{self, ElementKind, Exception, Location};
use crate::media::{self, MediaType};
use crate::scsi::read_element_status::ElementDescriptor;

/// A cartridge as the model tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cartridge {
    /// Primary volume tag; `None` when the changer has no reader or the label is unreadable.
    pub barcode: Option<String>,
    /// The media type, when known.
    pub media_type: Option<MediaType>,
    /// The storage slot it returns to on dismount.
    pub home: Option<u16>,
}

/// A slot, import/export element or transport, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Real element address.
    pub address: u16,
    /// The cartridge in it.
    pub cartridge: Option<Cartridge>,
    /// Where the cartridge came from, as the changer or the controller last knew.
    pub source: Option<u16>,
    /// The element's exception, when the changer reports one.
    pub exception: Option<Exception>,
}

/// NtmsDriveState, as cli.md names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveState {
    /// Empty (NTMS_DRIVESTATE_DISMOUNTED 0).
    Dismounted,
    /// A cartridge is in the drive and being mounted or dismounted (MOUNTED 1).
    Mounted,
    /// Mounted and ready for its application (LOADED 2).
    Loaded,
    /// The tape is unloaded and waits for the picker (UNLOADED 5).
    Unloaded,
    /// A cleaning cartridge is in the drive (BEING_CLEANED 23).
    BeingCleaned,
    /// A deferred dismount: the cartridge stays until a mount needs the drive (DISMOUNTABLE 24).
    Dismountable,
}

impl DriveState {
    /// The cli.md name.
    pub fn name(self) -> &'static str {
        match self {
            DriveState::Dismounted => "dismounted",
            DriveState::Mounted => "mounted",
            DriveState::Loaded => "loaded",
            DriveState::Unloaded => "unloaded",
            DriveState::BeingCleaned => "being_cleaned",
            DriveState::Dismountable => "dismountable",
        }
    }

    /// The NtmsDriveState number.
    pub fn value(self) -> u32 {
        match self {
            DriveState::Dismounted => 0,
            DriveState::Mounted => 1,
            DriveState::Loaded => 2,
            DriveState::Unloaded => 5,
            DriveState::BeingCleaned => 23,
            DriveState::Dismountable => 24,
        }
    }
}

/// The nodes an application opens a drive by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceNodes {
    /// The SCSI generic node, `/dev/sgN`; `None` for a simulated drive.
    pub sg: Option<String>,
    /// The `st` driver's no-rewind node, `/dev/nstN`, when `st` is bound to the same device.
    pub nst: Option<String>,
}

/// A drive element and the drive behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveModel {
    /// Stable id (module doc).
    pub id: Uuid,
    /// Data transfer element address.
    pub address: u16,
    /// The drive's serial, when a device was paired with the element.
    pub serial: Option<String>,
    /// The drive's device path (`/dev/sg4`, `sim:drive:500`); `None`: no device behind it.
    pub path: Option<String>,
    /// Device nodes for applications.
    pub nodes: DeviceNodes,
    /// Media types it reads.
    pub reads: Vec<MediaType>,
    /// Media types it writes.
    pub writes: Vec<MediaType>,
    /// The cartridge in it.
    pub cartridge: Option<Cartridge>,
    /// Where that cartridge came from.
    pub source: Option<u16>,
    /// Its state.
    pub state: DriveState,
    /// TapeAlert 0x14/0x15 or sense 00/17 was seen and no cleaning followed.
    pub needs_cleaning: bool,
    /// False after the drive failed in a way that needs an operator (offline, gone).
    pub online: bool,
    /// Tick of its last mount, for least-recently-used choice.
    pub last_used: u64,
}

impl DriveModel {
    /// True when the drive can take `t` for reading (`write`: for writing). An unknown type is
    /// tried in any drive (the drive says whether it takes it).
    pub fn handles(&self, t: Option<MediaType>, write: bool) -> bool {
        match t {
            None => true,
            Some(t) if write => self.writes.contains(&t),
            Some(t) => self.reads.contains(&t),
        }
    }
}

/// Why a model update was refused: the model and the request disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// No such element in this library.
    #[error("{0} is not an element of library {1}")]
    NoElement(Location, String),
    /// The source holds nothing.
    #[error("{0} is empty")]
    SourceEmpty(Location),
    /// The destination is occupied.
    #[error("{0} is full")]
    DestinationFull(Location),
}

/// One library: its changer, elements and drives.
#[derive(Debug, Clone)]
pub struct LibraryModel {
    /// The changer's serial ("" when it has none).
    pub serial: String,
    /// The changer's device path.
    pub changer_path: String,
    /// The medium transport moves use (the first one).
    pub transport: u16,
    /// Storage slots in address order.
    pub slots: Vec<Place>,
    /// Import/export elements in address order.
    pub ports: Vec<Place>,
    /// Medium transports.
    pub transports: Vec<Place>,
    /// Drive elements in address order.
    pub drives: Vec<DriveModel>,
    /// Discovery's report, for the parts the model does not track (identities, media types).
    base: discovery::Library,
}

fn cartridge_of(e: &discovery::Element) -> Option<Cartridge> {
    e.full.then(|| Cartridge {
        barcode: e.barcode.clone(),
        media_type: e.media_type,
        home: None,
    })
}

fn place_of(e: &discovery::Element) -> Place {
    Place {
        address: e.address,
        cartridge: cartridge_of(e),
        source: e.source,
        exception: e.exception.clone(),
    }
}

/// The stable id of a drive (module doc).
pub fn drive_id(library: &str, serial: Option<&str>, address: u16) -> Uuid {
    let name = match serial {
        Some(s) => format!("{library}/{s}"),
        None => format!("{library}/drive:{address}"),
    };
    Uuid::new_v5(&media::NAMESPACE, name.as_bytes())
}

impl LibraryModel {
    /// The model of one discovered library; `nodes` gives the device nodes of a drive path.
    pub fn from_discovered(lib: &discovery::Library, nodes: &dyn Fn(&str) -> DeviceNodes) -> Self {
        let serial = lib.serial().to_owned();
        let slots: Vec<Place> = lib
            .slots
            .iter()
            .map(|e| {
                let mut p = place_of(e);
                if let Some(c) = &mut p.cartridge {
                    c.home = Some(e.address);
                }
                p
            })
            .collect();
        let is_slot = |a: u16| lib.elements.storage.contains(a);
        let drives = lib
            .drives
            .iter()
            .map(|d| {
                let mut cartridge = cartridge_of(&d.element);
                if let Some(c) = &mut cartridge {
                    c.home = d.element.source.filter(|&a| is_slot(a));
                }
                let path = d.device.as_ref().map(|x| x.path.clone());
                let dev_serial = d.device.as_ref().and_then(|x| x.serial.clone());
                DriveModel {
                    id: drive_id(&serial, dev_serial.as_deref(), d.element.address),
                    address: d.element.address,
                    nodes: path.as_deref().map(nodes).unwrap_or_default(),
                    serial: dev_serial,
                    path,
                    reads: d.reads.clone(),
                    writes: d.writes.clone(),
                    state: if cartridge.is_some() {
                        DriveState::Dismountable
                    } else {
                        DriveState::Dismounted
                    },
                    cartridge,
                    source: d.element.source,
                    needs_cleaning: false,
                    online: d.device.is_some(),
                    last_used: 0,
                }
            })
            .collect();
        LibraryModel {
            changer_path: lib.changer.path.clone(),
            transport: lib
                .transports
                .first()
                .map_or(lib.elements.transport.first, |t| t.address),
            slots,
            ports: lib.import_export.iter().map(place_of).collect(),
            transports: lib.transports.iter().map(place_of).collect(),
            drives,
            serial,
            base: lib.clone(),
        }
    }

    fn places(&self, kind: ElementKind) -> &[Place] {
        match kind {
            ElementKind::Slot => &self.slots,
            ElementKind::ImportExport => &self.ports,
            ElementKind::Transport => &self.transports,
            ElementKind::Drive => &[],
        }
    }

    fn places_mut(&mut self, kind: ElementKind) -> &mut Vec<Place> {
        match kind {
            ElementKind::Slot => &mut self.slots,
            ElementKind::ImportExport => &mut self.ports,
            _ => &mut self.transports,
        }
    }

    /// The element address assignment discovery read.
    pub fn element_map(&self) -> discovery::ElementMap {
        self.base.elements
    }

    /// The index of the drive at element `address`.
    pub fn drive_index(&self, address: u16) -> Option<usize> {
        self.drives.iter().position(|d| d.address == address)
    }

    /// True when `loc` is an element of this library.
    pub fn has(&self, loc: Location) -> bool {
        match loc.kind {
            ElementKind::Drive => self.drive_index(loc.address).is_some(),
            k => self.places(k).iter().any(|p| p.address == loc.address),
        }
    }

    /// What `loc` holds (`None`: empty or no such element).
    pub fn cartridge_at(&self, loc: Location) -> Option<&Cartridge> {
        match loc.kind {
            ElementKind::Drive => self
                .drive_index(loc.address)
                .and_then(|i| self.drives[i].cartridge.as_ref()),
            k => self
                .places(k)
                .iter()
                .find(|p| p.address == loc.address)
                .and_then(|p| p.cartridge.as_ref()),
        }
    }

    fn take(&mut self, loc: Location) -> Option<Cartridge> {
        match loc.kind {
            ElementKind::Drive => {
                let i = self.drive_index(loc.address)?;
                let d = &mut self.drives[i];
                d.state = DriveState::Dismounted;
                d.source = None;
                d.cartridge.take()
            }
            k => {
                let p = self
                    .places_mut(k)
                    .iter_mut()
                    .find(|p| p.address == loc.address)?;
                p.source = None;
                p.cartridge.take()
            }
        }
    }

    fn put(&mut self, loc: Location, c: Cartridge, from: Location) {
        match loc.kind {
            ElementKind::Drive => {
                if let Some(i) = self.drive_index(loc.address) {
                    let d = &mut self.drives[i];
                    d.cartridge = Some(c);
                    d.source = Some(from.address);
                    d.state = DriveState::Mounted;
                }
            }
            k => {
                if let Some(p) = self
                    .places_mut(k)
                    .iter_mut()
                    .find(|p| p.address == loc.address)
                {
                    p.cartridge = Some(c);
                    p.source = Some(from.address);
                }
            }
        }
    }

    /// Checks a move against the model without changing it.
    ///
    /// # Errors
    /// [`ModelError`] when an element does not exist, the source is empty or the destination
    /// full.
    pub fn check_move(&self, from: Location, to: Location) -> Result<(), ModelError> {
        for l in [from, to] {
            if !self.has(l) {
                return Err(ModelError::NoElement(l, self.serial.clone()));
            }
        }
        if self.cartridge_at(from).is_none() {
            return Err(ModelError::SourceEmpty(from));
        }
        if from != to && self.cartridge_at(to).is_some() {
            return Err(ModelError::DestinationFull(to));
        }
        Ok(())
    }

    /// Records a completed MOVE MEDIUM. A cartridge put into a slot for the first time (from a
    /// port) takes that slot as its home.
    ///
    /// # Errors
    /// As [`LibraryModel::check_move`]; the model is unchanged then.
    pub fn apply_move(&mut self, from: Location, to: Location) -> Result<(), ModelError> {
        self.check_move(from, to)?;
        if from == to {
            return Ok(());
        }
        let mut c = self.take(from).ok_or(ModelError::SourceEmpty(from))?;
        if to.kind == ElementKind::Slot && c.home.is_none() {
            c.home = Some(to.address);
        }
        if from.kind == ElementKind::Slot && c.home.is_none() {
            c.home = Some(from.address);
        }
        self.put(to, c, from);
        Ok(())
    }

    /// Records a completed EXCHANGE MEDIUM: `source`'s cartridge went to `first`, `first`'s to
    /// `second` (which may be `source`). Homes follow [`LibraryModel::apply_move`]'s rule.
    ///
    /// # Errors
    /// An element the library lacks, an empty `source` or `first`, a full `second` that is
    /// neither of them; the model is unchanged then.
    pub fn apply_exchange(
        &mut self,
        source: Location,
        first: Location,
        second: Location,
    ) -> Result<(), ModelError> {
        for l in [source, first, second] {
            if !self.has(l) {
                return Err(ModelError::NoElement(l, self.serial.clone()));
            }
        }
        for l in [source, first] {
            if self.cartridge_at(l).is_none() {
                return Err(ModelError::SourceEmpty(l));
            }
        }
        if second != source && second != first && self.cartridge_at(second).is_some() {
            return Err(ModelError::DestinationFull(second));
        }
        let a = self.take(source).ok_or(ModelError::SourceEmpty(source))?;
        let b = self.take(first).ok_or(ModelError::SourceEmpty(first))?;
        let homed = |mut c: Cartridge, from: Location, to: Location| {
            if to.kind == ElementKind::Slot && c.home.is_none() {
                c.home = Some(to.address);
            }
            if from.kind == ElementKind::Slot && c.home.is_none() {
                c.home = Some(from.address);
            }
            c
        };
        let (a, b) = (homed(a, source, first), homed(b, first, second));
        self.put(first, a, source);
        self.put(second, b, first);
        Ok(())
    }

    /// Where the cartridge labelled `barcode` is.
    pub fn find_barcode(&self, barcode: &str) -> Option<Location> {
        let hit = |c: &Option<Cartridge>| {
            c.as_ref()
                .is_some_and(|c| c.barcode.as_deref() == Some(barcode))
        };
        for (kind, places) in [
            (ElementKind::Slot, &self.slots),
            (ElementKind::ImportExport, &self.ports),
            (ElementKind::Transport, &self.transports),
        ] {
            if let Some(p) = places.iter().find(|p| hit(&p.cartridge)) {
                return Some(Location {
                    kind,
                    address: p.address,
                });
            }
        }
        self.drives
            .iter()
            .find(|d| hit(&d.cartridge))
            .map(|d| Location {
                kind: ElementKind::Drive,
                address: d.address,
            })
    }

    /// The lowest storage slot that is empty and not in `reserved`.
    pub fn lowest_empty_slot(&self, reserved: &[u16]) -> Option<u16> {
        self.slots
            .iter()
            .find(|p| p.cartridge.is_none() && !reserved.contains(&p.address))
            .map(|p| p.address)
    }

    /// Replaces what the model knows of one element type with a fresh READ ELEMENT STATUS
    /// (after a unit attention). Cartridges already known (same barcode) keep their home;
    /// a cartridge that vanished from a drive leaves the drive `Dismounted`.
    pub fn apply_status(&mut self, kind: ElementKind, descriptors: &[ElementDescriptor]) {
        let homes: Vec<(String, Option<u16>)> = self
            .all_cartridges()
            .filter_map(|c| Some((c.barcode.clone()?, c.home)))
            .collect();
        let home_of = |barcode: &Option<String>, fallback: Option<u16>| {
            barcode
                .as_ref()
                .and_then(|b| homes.iter().find(|(x, _)| x == b).map(|(_, h)| *h))
                .unwrap_or(fallback)
        };
        let fresh = |d: &ElementDescriptor, home: Option<u16>| -> Option<Cartridge> {
            if !d.full {
                return None;
            }
            let barcode = d
                .primary_tag
                .as_ref()
                .map(|t| t.identifier.trim().to_owned())
                .filter(|b| !b.is_empty());
            let mut evidence = Vec::new();
            if let Some(b) = &barcode {
                evidence.push(media::identity::from_barcode(b));
            }
            evidence.push(media::identity::from_element_medium_type(d.medium_type.0));
            let media_type = media::identity::resolve(&evidence).media_type();
            Some(Cartridge {
                home: home_of(&barcode, home),
                barcode,
                media_type,
            })
        };
        let exception = |d: &ElementDescriptor| {
            d.except.then(|| Exception {
                asc: d.asc,
                ascq: d.ascq,
                text: reel_hw::sense::asc_text(d.asc, d.ascq)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("ASC/ASCQ {:02X}/{:02X}", d.asc, d.ascq)),
            })
        };
        match kind {
            ElementKind::Drive => {
                for d in descriptors {
                    let Some(i) = self.drive_index(d.address) else {
                        continue;
                    };
                    let slot_home = d
                        .source
                        .filter(|&a| self.slots.iter().any(|p| p.address == a));
                    let c = fresh(d, slot_home);
                    let drive = &mut self.drives[i];
                    let same = drive.cartridge.as_ref().map(|x| &x.barcode)
                        == c.as_ref().map(|x| &x.barcode);
                    if !same || c.is_none() {
                        drive.state = if c.is_some() {
                            DriveState::Dismountable
                        } else {
                            DriveState::Dismounted
                        };
                    }
                    drive.cartridge = c;
                    drive.source = d.source;
                }
            }
            k => {
                let slot = k == ElementKind::Slot;
                for d in descriptors {
                    let c = fresh(d, slot.then_some(d.address));
                    if let Some(p) = self
                        .places_mut(k)
                        .iter_mut()
                        .find(|p| p.address == d.address)
                    {
                        p.cartridge = c;
                        p.source = d.source;
                        p.exception = exception(d);
                    }
                }
            }
        }
    }

    /// Every cartridge in the library.
    pub fn all_cartridges(&self) -> impl Iterator<Item = &Cartridge> {
        self.slots
            .iter()
            .chain(&self.ports)
            .chain(&self.transports)
            .filter_map(|p| p.cartridge.as_ref())
            .chain(self.drives.iter().filter_map(|d| d.cartridge.as_ref()))
    }

    /// The `reel library` document of this library (cli.md `discover` shape), as the model
    /// knows it now.
    pub fn render(&self) -> discovery::Library {
        let mut lib = self.base.clone();
        let element = |address: u16, c: Option<&Cartridge>, source, exception| discovery::Element {
            address,
            full: c.is_some(),
            barcode: c.and_then(|c| c.barcode.clone()),
            media_type: c.and_then(|c| c.media_type),
            source,
            exception,
            media_type_conflict: None,
        };
        let render = |places: &[Place]| -> Vec<discovery::Element> {
            places
                .iter()
                .map(|p| {
                    element(
                        p.address,
                        p.cartridge.as_ref(),
                        p.source,
                        p.exception.clone(),
                    )
                })
                .collect()
        };
        lib.slots = render(&self.slots);
        lib.import_export = render(&self.ports);
        lib.transports = render(&self.transports);
        for slot in &mut lib.drives {
            if let Some(d) = self
                .drives
                .iter()
                .find(|d| d.address == slot.element.address)
            {
                let exception = slot.element.exception.clone();
                slot.element = element(d.address, d.cartridge.as_ref(), d.source, exception);
            }
        }
        let types: Vec<MediaType> = self.all_cartridges().filter_map(|c| c.media_type).collect();
        lib.media_types = discovery::model::summarize_media_types(&lib.drives, types);
        lib
    }
}

#[cfg(test)]
mod tests;
