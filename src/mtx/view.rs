//! The library as mtx numbers it (mtx-front.md §2), built from one element-status read.
//!
//! - Drives are 0 … D−1 in ascending data-transfer element address. A drive element with
//!   ASC/ASCQ 83/04 (no drive installed in the bay) is left out, as mtx leaves it out.
//! - Slots are 1 … N: storage elements in ascending address (those with 83/02, "slot not
//!   installed", left out as mtx does), then import/export elements in ascending address.
//! - A full drive's source slot, in mtx's two passes: first the element its cartridge came from
//!   (the daemon's record of the cartridge's home when it has one, else the changer's SOURCE
//!   STORAGE ELEMENT ADDRESS), taken only when that slot is empty now; then, for drives still
//!   without one, mtx's guess — the first empty storage slot no other drive claims. Only when no
//!   such slot is left is the source unknown.

use crate::changer::LibraryStatus;
use crate::scsi::read_element_status::ElementDescriptor;

/// A storage or import/export element, numbered as a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Real element address.
    pub address: u16,
    /// A cartridge is in it.
    pub full: bool,
    /// An import/export element.
    pub import_export: bool,
    /// The volume tag as mtx prints it (empty: none).
    pub tag: String,
}

/// A data-transfer element, numbered as a drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drive {
    /// Real element address.
    pub address: u16,
    /// A cartridge is in it.
    pub full: bool,
    /// The index (0-based) in [`View::slots`] of the slot the cartridge belongs to.
    pub source: Option<usize>,
    /// The volume tag as mtx prints it (empty: none).
    pub tag: String,
}

/// What mtx knows of a library between two commands of one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// Address of the medium transport the moves use (0 when the changer reports none).
    pub transport: u16,
    /// Drives, in address order.
    pub drives: Vec<Drive>,
    /// Storage elements, then import/export elements.
    pub slots: Vec<Slot>,
}

/// What the element status did not give: where the cartridges in drives belong.
pub trait Homes {
    /// The element the cartridge now in drive element `drive` came from, when known.
    fn home_of(&self, drive: u16) -> Option<u16>;
}

/// No knowledge beyond the changer's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHomes;

impl Homes for NoHomes {
    fn home_of(&self, _drive: u16) -> Option<u16> {
        None
    }
}

impl<F: Fn(u16) -> Option<u16>> Homes for F {
    fn home_of(&self, drive: u16) -> Option<u16> {
        self(drive)
    }
}

/// The volume tag as mtx copies it: the 32 identifier bytes up to the first byte below 32 or
/// above 127, padding spaces kept.
pub fn tag_text(d: &ElementDescriptor) -> String {
    let Some(bytes) = d.primary_tag_bytes else {
        return String::new();
    };
    bytes
        .iter()
        .take_while(|&&b| (32..=127).contains(&b))
        .map(|&b| char::from(b))
        .collect()
}

/// Why the element status cannot be numbered (mtx's sanity checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// No data-transfer element: `no Data Transfer Element reported`.
    NoDrives,
    /// No storage element: `no Storage Elements reported`.
    NoSlots,
}

impl View {
    /// Numbers `status` as mtx does, with `homes` for what the changer does not say and
    /// `transport` the medium transport's address.
    ///
    /// # Errors
    /// [`Empty`] when the changer reports no drive or no slot at all.
    pub fn new(status: &LibraryStatus, transport: u16, homes: &dyn Homes) -> Result<View, Empty> {
        let mut slots: Vec<Slot> = status
            .storage
            .iter()
            .filter(|d| (d.asc, d.ascq) != (0x83, 0x02))
            .map(|d| Slot {
                address: d.address,
                full: d.full,
                import_export: false,
                tag: tag_text(d),
            })
            .collect();
        slots.extend(status.import_export.iter().map(|d| Slot {
            address: d.address,
            full: d.full,
            import_export: true,
            tag: tag_text(d),
        }));
        let present: Vec<&ElementDescriptor> = status
            .data_transfer
            .iter()
            .filter(|d| (d.asc, d.ascq) != (0x83, 0x04))
            .collect();
        if present.is_empty() {
            return Err(Empty::NoDrives);
        }
        if slots.is_empty() {
            return Err(Empty::NoSlots);
        }
        // Pass 1: the element the cartridge came from, when that slot is empty now.
        let mut drives: Vec<Drive> = present
            .iter()
            .map(|d| {
                let from = if d.full {
                    homes.home_of(d.address).or(d.source)
                } else {
                    None
                };
                Drive {
                    address: d.address,
                    full: d.full,
                    source: from.and_then(|a| slots.iter().position(|s| s.address == a && !s.full)),
                    tag: tag_text(d),
                }
            })
            .collect();
        // Pass 2: mtx's guess, the first empty storage slot no drive claims.
        for i in 0..drives.len() {
            if !drives[i].full || drives[i].source.is_some() {
                continue;
            }
            let claimed: Vec<usize> = drives.iter().filter_map(|d| d.source).collect();
            drives[i].source = slots
                .iter()
                .enumerate()
                .position(|(j, s)| !s.import_export && !s.full && !claimed.contains(&j));
        }
        Ok(View {
            transport,
            drives,
            slots,
        })
    }

    /// How many slots are import/export elements.
    pub fn import_export_count(&self) -> usize {
        self.slots.iter().filter(|s| s.import_export).count()
    }

    /// How many slots are storage elements (the first ones).
    pub fn storage_count(&self) -> usize {
        self.slots.len() - self.import_export_count()
    }

    /// Records a move from the element at `from` to the one at `to` (either may be a drive or a
    /// slot), as the next commands of the same line must see it.
    pub fn moved(&mut self, from: u16, to: u16) {
        let mut tag = String::new();
        let mut home = None;
        if let Some(s) = self.slots.iter_mut().find(|s| s.address == from) {
            s.full = false;
            tag = std::mem::take(&mut s.tag);
        } else if let Some(d) = self.drives.iter_mut().find(|d| d.address == from) {
            d.full = false;
            home = d.source.take();
            tag = std::mem::take(&mut d.tag);
        }
        let from_slot = self.slots.iter().position(|s| s.address == from);
        if let Some(s) = self.slots.iter_mut().find(|s| s.address == to) {
            s.full = true;
            s.tag = tag;
        } else if let Some(d) = self.drives.iter_mut().find(|d| d.address == to) {
            d.full = true;
            d.tag = tag;
            d.source = from_slot.or(home);
        }
    }
}
