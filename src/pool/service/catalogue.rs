//! The in-memory media catalogue: physical media with their sides, indexed by bar code, side
//! and logical medium, and the libraries' cleaners. Rows in, rows out; no RSM rule here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::db::{CleanerRow, MediaSnapshot, MediumRow, SideRow};
use crate::media::MediaType;
use crate::pool::media::{
    BarcodeState, Cleaner, Location, LocationKind, MediaState, PhysicalMedium, Side, SideState,
};

/// Media ids in listing order, and where each one stands in it.
#[derive(Debug, Default)]
pub(super) struct Order {
    pub ids: Vec<Uuid>,
    pub at: HashMap<Uuid, usize>,
}

/// Every physical medium and cleaner, with the indexes lookups need.
#[derive(Debug, Default)]
pub(super) struct MediaIndex {
    pub media: HashMap<Uuid, PhysicalMedium>,
    /// Bar code → media carrying it (more than one only for a duplicated label).
    pub by_barcode: HashMap<String, Vec<Uuid>>,
    /// Side id → medium.
    pub by_side: HashMap<Uuid, Uuid>,
    /// LMID → (medium, side index).
    pub by_lmid: HashMap<Uuid, (Uuid, usize)>,
    /// LMID → its pool.
    pub logical_pool: HashMap<Uuid, Uuid>,
    pub cleaners: HashMap<Uuid, Cleaner>,
    /// Every medium id in listing order (bar code, then id), built on demand and dropped by
    /// every change, so paging through a large catalogue sorts it once.
    order: Mutex<Option<Arc<Order>>>,
}

impl MediaIndex {
    pub fn from_snapshot(snap: MediaSnapshot) -> Result<MediaIndex, String> {
        let mut idx = MediaIndex::default();
        idx.media.reserve(snap.media.len());
        for r in snap.media {
            let m = medium_of(&r)?;
            idx.media.insert(m.id, m);
        }
        for s in snap.sides {
            let side = side_of(&s)?;
            let m = idx
                .media
                .get_mut(&s.medium)
                .ok_or_else(|| format!("side {} has no physical medium {}", s.id, s.medium))?;
            m.sides.push(side);
        }
        for l in snap.logical {
            idx.logical_pool.insert(l.id, l.pool);
        }
        let ids: Vec<Uuid> = idx.media.keys().copied().collect();
        for id in ids {
            idx.reindex(id);
        }
        for c in snap.cleaners {
            let cleaner = Cleaner {
                id: c.id,
                library: c.library,
                barcode: c.barcode,
                location: location_of(Some(c.library), c.location_type, c.location_address)?,
                home: c.home_slot.and_then(|a| u16::try_from(a).ok()),
                uses_remaining: c.uses_remaining,
            };
            idx.cleaners.insert(cleaner.id, cleaner);
        }
        Ok(idx)
    }

    /// Every medium id ordered by bar code (media without one last), then id.
    pub fn sorted(&self) -> Arc<Order> {
        let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = order.as_ref() {
            return o.clone();
        }
        let mut v: Vec<(&Option<String>, Uuid)> =
            self.media.values().map(|m| (&m.barcode, m.id)).collect();
        v.sort_unstable_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.cmp(y).then(a.1.cmp(&b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.cmp(&b.1),
        });
        let ids: Vec<Uuid> = v.into_iter().map(|(_, id)| id).collect();
        let at = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let o = Arc::new(Order { ids, at });
        *order = Some(o.clone());
        o
    }

    /// Indexes a medium already in `media` (after an insert or a change of sides/bar code).
    pub fn reindex(&mut self, id: Uuid) {
        *self.order.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        let Some(m) = self.media.get(&id) else {
            return;
        };
        if let Some(b) = &m.barcode {
            let v = self.by_barcode.entry(b.clone()).or_default();
            if !v.contains(&id) {
                v.push(id);
            }
        }
        for (i, s) in m.sides.iter().enumerate() {
            self.by_side.insert(s.id, id);
            if let Some(l) = s.lmid {
                self.by_lmid.insert(l, (id, i));
            }
        }
    }

    /// Removes a medium and its index entries; returns it.
    pub fn remove(&mut self, id: Uuid) -> Option<PhysicalMedium> {
        let m = self.media.remove(&id)?;
        *self.order.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        if let Some(b) = &m.barcode {
            if let Some(v) = self.by_barcode.get_mut(b) {
                v.retain(|x| *x != id);
                if v.is_empty() {
                    self.by_barcode.remove(b);
                }
            }
        }
        for s in &m.sides {
            self.by_side.remove(&s.id);
            if let Some(l) = s.lmid {
                self.by_lmid.remove(&l);
                self.logical_pool.remove(&l);
            }
        }
        Some(m)
    }

    /// Replaces a medium (same id) and keeps the indexes right.
    pub fn replace(&mut self, m: PhysicalMedium) {
        let id = m.id;
        if let Some(old) = self.media.get(&id) {
            let stale: Vec<Uuid> = old
                .sides
                .iter()
                .filter_map(|s| s.lmid)
                .filter(|l| !m.sides.iter().any(|n| n.lmid == Some(*l)))
                .collect();
            let old_barcode = old.barcode.clone();
            for l in stale {
                self.by_lmid.remove(&l);
                self.logical_pool.remove(&l);
            }
            if old_barcode != m.barcode {
                if let Some(b) = old_barcode {
                    if let Some(v) = self.by_barcode.get_mut(&b) {
                        v.retain(|x| *x != id);
                    }
                }
            }
        }
        self.media.insert(id, m);
        self.reindex(id);
    }
}

fn location_of(library: Option<Uuid>, kind: u32, address: Option<u32>) -> Result<Location, String> {
    let kind = LocationKind::from_code(kind).ok_or_else(|| format!("location type {kind}"))?;
    if kind == LocationKind::Offline {
        return Ok(Location::OFFLINE);
    }
    Ok(Location {
        library,
        kind,
        address: address.and_then(|a| u16::try_from(a).ok()),
    })
}

pub(super) fn medium_of(r: &MediumRow) -> Result<PhysicalMedium, String> {
    Ok(PhysicalMedium {
        id: r.id,
        pool: r.pool,
        media_type: MediaType::from_id(r.media_type)
            .ok_or_else(|| format!("medium {} has media type {}", r.id, r.media_type))?,
        barcode: r.barcode.clone(),
        barcode_state: if r.barcode_state == 2 {
            BarcodeState::Unreadable
        } else {
            BarcodeState::Ok
        },
        state: MediaState::from_code(r.state)
            .ok_or_else(|| format!("medium {} has state {}", r.id, r.state))?,
        location: location_of(r.library, r.location_type, r.location_address)?,
        home: r.home_slot.and_then(|a| u16::try_from(a).ok()),
        mount_count: r.mount_count,
        last_mounted_ms: r.last_mounted_ms,
        sides: Vec::with_capacity(r.number_of_sides as usize),
        created_ms: r.created_ms,
        modified_ms: r.modified_ms,
    })
}

fn side_of(s: &SideRow) -> Result<Side, String> {
    Ok(Side {
        id: s.id,
        number: s.side,
        state: SideState::from_code(s.state)
            .ok_or_else(|| format!("side {} has state {}", s.id, s.state))?,
        lmid: s.logical_media,
        allocate_count: s.allocate_count,
        mount_count: s.mount_count,
        omid_label_type: s.omid_label_type.clone(),
        omid_label_id: s.omid_label_id.clone(),
    })
}

pub(super) fn medium_row(m: &PhysicalMedium) -> MediumRow {
    MediumRow {
        id: m.id,
        library: m.location.library,
        pool: m.pool,
        media_type: m.media_type.id(),
        barcode: m.barcode.clone(),
        barcode_state: match m.barcode_state {
            BarcodeState::Ok => 1,
            BarcodeState::Unreadable => 2,
        },
        state: m.state.code(),
        location_type: m.location.kind.code(),
        location_address: m.location.address.map(u32::from),
        home_slot: m.home.map(u32::from),
        number_of_sides: m.sides.len() as u32,
        mount_count: m.mount_count,
        last_mounted_ms: m.last_mounted_ms,
        created_ms: m.created_ms,
        modified_ms: m.modified_ms,
    }
}

pub(super) fn side_row(medium: Uuid, s: &Side) -> SideRow {
    SideRow {
        id: s.id,
        medium,
        side: s.number,
        logical_media: s.lmid,
        state: s.state.code(),
        omid_label_id: s.omid_label_id.clone(),
        omid_label_type: s.omid_label_type.clone(),
        mount_count: s.mount_count,
        allocate_count: s.allocate_count,
    }
}

pub(super) fn cleaner_row(c: &Cleaner, created_ms: i64) -> CleanerRow {
    CleanerRow {
        id: c.id,
        library: c.library,
        barcode: c.barcode.clone(),
        location_type: c.location.kind.code(),
        location_address: c.location.address.map(u32::from),
        home_slot: c.home.map(u32::from),
        uses_remaining: c.uses_remaining,
        created_ms,
    }
}
