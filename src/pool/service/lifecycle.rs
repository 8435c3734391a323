//! The media functions (rsm-media-and-mounts §2, rsm-media-pools §1.7, §5.6–5.8): allocate,
//! deallocate, complete, decommission, move between pools, delete, and reading media. Each
//! changing call is one transaction; each checks in the order of §5 (session, readiness,
//! arguments, access, objects), marked `// Row N` against the tables in the module doc of
//! [`crate::pool`].

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::catalogue::{medium_row, side_row};
use super::{now_ms, Catalog, Pool, Rsm};
use crate::db::{DbError, LogicalRow};
use crate::pool::media::{
    Allocation, LocationInfo, LocationKind, MediaState, MediumInfo, PhysicalMedium, SideInfo,
    SideState, NTMS_ALLOCATE_ERROR_IF_UNAVAILABLE, NTMS_ALLOCATE_NEW, NTMS_ALLOCATE_NEXT,
    OMID_BARCODE, OMID_REEL_MAM,
};
use crate::pool::opreq::{OpReqState, OpReqType, OperatorRequest, WaitEnd};
use crate::pool::security::{AccessMask, Identity};
use crate::pool::work::{LabelOutcome, LabelRequest, MediaWork};
use crate::pool::{Location, PoolKind, RsmError, SessionId, NTMS_DEALLOCATE_TOSCRATCH};

/// Which media [`Rsm::list_media`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaFilter {
    /// Only media of this pool.
    pub pool: Option<Uuid>,
    /// Only media in the library with this id.
    pub library: Option<Uuid>,
    /// Only offline media.
    pub offline: bool,
}

/// A page of [`Rsm::list_media`]: media in a stable order, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPage {
    /// The media of this page.
    pub media: Vec<MediumInfo>,
    /// Media matching the filter (all pages).
    pub total: usize,
}

/// What [`Rsm::deallocate_media`] left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deallocated {
    /// The side's new state (AVAILABLE or DECOMMISSIONED).
    pub state: SideState,
    /// The medium went back to Free (`DEALLOCATE_TOSCRATCH`).
    pub to_free: bool,
}

/// A move between pools, as `reel media move` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The medium.
    pub medium: Uuid,
    /// Its bar code.
    pub barcode: Option<String>,
    /// Full name of the source pool.
    pub from: String,
    /// Full name of the destination pool.
    pub to: String,
}

fn offline_error(m: &PhysicalMedium) -> RsmError {
    RsmError::MediaOffline(format!(
        "medium {} is offline: put it back into a library first",
        label(m)
    ))
}

fn label(m: &PhysicalMedium) -> String {
    match &m.barcode {
        Some(b) => format!("{b} ({})", m.id),
        None => m.id.to_string(),
    }
}

impl Catalog {
    pub(super) fn medium_info(&self, m: &PhysicalMedium) -> MediumInfo {
        let pool = self.pool(m.pool);
        MediumInfo {
            id: m.id,
            barcode: m.barcode.clone(),
            media_type: m.media_type,
            pool: self.full_name(m.pool),
            pool_type: pool.map_or(PoolKind::Application, |p| p.kind),
            state: m.state,
            location: LocationInfo {
                library: m
                    .location
                    .library
                    .and_then(|l| self.libraries.get(&l))
                    .map(|l| l.identity.serial.clone()),
                kind: m.location.kind,
                address: m.location.address,
            },
            home: m.home,
            sides: m
                .sides
                .iter()
                .map(|s| SideInfo {
                    id: s.id,
                    state: s.state,
                    lmid: s.lmid,
                    allocate_count: s.allocate_count,
                    mount_count: s.mount_count,
                    omid: s.omid_label_type.clone(),
                })
                .collect(),
        }
    }

    /// The Free pool of a media type.
    fn free_pool(&self, t: crate::media::MediaType) -> Option<&Pool> {
        let free = self.child(self.root, "Free")?;
        self.pool(self.child(free, t.name())?)
    }

    /// A medium by id, side id or LMID.
    fn medium_by_any(&self, id: Uuid) -> Option<&PhysicalMedium> {
        let m = self
            .media
            .by_side
            .get(&id)
            .or_else(|| self.media.by_lmid.get(&id).map(|(m, _)| m))
            .copied()
            .unwrap_or(id);
        self.media.media.get(&m)
    }

    /// The one medium with this bar code.
    fn medium_by_barcode(&self, barcode: &str) -> Result<&PhysicalMedium, RsmError> {
        match self.media.by_barcode.get(barcode).map(Vec::as_slice) {
            None | Some([]) => Err(RsmError::InvalidMedia(format!(
                "no medium has bar code {barcode}"
            ))),
            Some([one]) => {
                self.media.media.get(one).ok_or_else(|| {
                    RsmError::InvalidMedia(format!("no medium has bar code {barcode}"))
                })
            }
            Some(many) => Err(RsmError::InvalidMedia(format!(
                "bar code {barcode} is on {} media: name one by id",
                many.len()
            ))),
        }
    }
}

impl Rsm {
    /// Sets what does physical work (the daemon's device thread, later the scheduler).
    /// Without one, labels are not written and OMIDs stay as they were.
    pub fn set_media_work(&self, work: Arc<dyn MediaWork>) {
        *self.work.write().unwrap_or_else(|p| p.into_inner()) = Some(work);
    }

    fn media_work(&self) -> Option<Arc<dyn MediaWork>> {
        self.work.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Writes reel's label for `m` as a member of `pool` (§9) and returns the OMID label type
    /// to record: `REEL-MAM`, `BARCODE` when the drive refused ATTRIBUTE commands, or the
    /// side's current type when no [`MediaWork`] is set.
    fn write_label(
        &self,
        cat: &Catalog,
        m: &PhysicalMedium,
        pool: Uuid,
    ) -> Result<Option<String>, RsmError> {
        let Some(work) = self.media_work() else {
            return Ok(m.sides.first().and_then(|s| s.omid_label_type.clone()));
        };
        let (Some(library), Some(address)) = (m.location.library, m.location.address) else {
            return Err(offline_error(m));
        };
        let serial = cat
            .libraries
            .get(&library)
            .map(|l| l.identity.serial.clone())
            .unwrap_or_default();
        let request = LabelRequest {
            library: serial,
            kind: m.location.kind,
            address,
            home: m.home,
            barcode: m.barcode.clone(),
            media_type: m.media_type,
            medium: m.id,
            pool,
            pool_name: cat.full_name(pool),
        };
        match work.write_label(&request) {
            Ok(LabelOutcome::Written) => Ok(Some(OMID_REEL_MAM.to_owned())),
            Ok(LabelOutcome::Unsupported) => Ok(Some(OMID_BARCODE.to_owned())),
            Err(e) => Err(RsmError::DeviceNotAvailable(format!(
                "writing the label of {}: {e}",
                label(m)
            ))),
        }
    }

    fn require_pool(
        &self,
        who: &Identity,
        cat: &Catalog,
        pool: Uuid,
        wanted: AccessMask,
        op: &str,
    ) -> Result<(), RsmError> {
        let p = cat
            .pool(pool)
            .ok_or_else(|| RsmError::InvalidMediaPool(format!("no pool has id {pool}")))?;
        self.require(who, p, wanted, op, &cat.full_name(pool))
    }

    /// `AllocateNtmsMedia` (§5.6): reserves one side in the application pool `pool` for the
    /// caller and returns a new logical medium. `side` names the side (or medium) to take,
    /// which may come from Free, Import or another pool; `next` is the LMID for
    /// [`NTMS_ALLOCATE_NEXT`]. With nothing available and no ERROR_IF_UNAVAILABLE, a NEWMEDIA
    /// operator request is raised and the call waits up to `timeout` (`None`: forever;
    /// zero: no wait).
    ///
    /// # Errors
    /// In the order checked:
    /// - `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`.
    /// - `ERROR_INVALID_PARAMETER`: unknown option bits; NEW with NEXT; NEXT without an LMID.
    /// - `ERROR_INVALID_MEDIA_POOL`: the pool is unknown or not an application pool of media.
    /// - `ERROR_ACCESS_DENIED`: no CONTROL on the pool; no USE on Free (or the given side's
    ///   system pool), no CONTROL on the given side's application pool.
    /// - `ERROR_INVALID_MEDIA`: the side or LMID is unknown, or the side is decommissioned,
    ///   foreign, incompatible or unprepared.
    /// - `ERROR_MEDIA_INCOMPATIBLE`: the side's media type is not the pool's.
    /// - `ERROR_MEDIA_OFFLINE`: the given side's medium is offline.
    /// - `ERROR_MEDIA_UNAVAILABLE`: the given side is in use; nothing available with
    ///   ERROR_IF_UNAVAILABLE; NEXT and the medium has no further side.
    /// - `ERROR_TIMEOUT`: nothing came within the timeout (the request is withdrawn).
    /// - `ERROR_CANCELLED`: the operator refused the request.
    /// - `ERROR_DEVICE_NOT_AVAILABLE`: writing the label failed.
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: nothing was written.
    pub fn allocate_media(
        &self,
        session: SessionId,
        pool: Uuid,
        side: Option<Uuid>,
        next: Option<Uuid>,
        options: u32,
        timeout: Option<Duration>,
    ) -> Result<Allocation, RsmError> {
        // Rows 1 and 2.
        let who = self.begin(session)?;
        // Row 3.
        let known = NTMS_ALLOCATE_NEW | NTMS_ALLOCATE_NEXT | NTMS_ALLOCATE_ERROR_IF_UNAVAILABLE;
        if options & !known != 0 {
            return Err(RsmError::InvalidParameter(format!(
                "allocation options {options:#x} hold bits other than NEW (1), NEXT (2) and \
                 ERROR_IF_UNAVAILABLE (4)"
            )));
        }
        if options & NTMS_ALLOCATE_NEW != 0 && options & NTMS_ALLOCATE_NEXT != 0 {
            return Err(RsmError::InvalidParameter(
                "NEW and NEXT exclude each other".into(),
            ));
        }
        let is_next = options & NTMS_ALLOCATE_NEXT != 0;
        if is_next && next.is_none() {
            return Err(RsmError::InvalidParameter(
                "NEXT needs the LMID of the medium's first allocation".into(),
            ));
        }
        let mut request: Option<Uuid> = None;
        loop {
            let found = {
                let _w = self.write_lock();
                let picked = {
                    let cat = self.cat();
                    self.pick_side(&cat, &who, pool, side, next, options)?
                };
                match picked {
                    Some((medium, index, from)) => {
                        Some(self.commit_allocation(pool, medium, index, from)?)
                    }
                    None => None,
                }
            };
            if let Some(a) = found {
                return Ok(a);
            }
            // Nothing to allocate: an operator request (§2, §7), unless the caller said no.
            if options & NTMS_ALLOCATE_ERROR_IF_UNAVAILABLE != 0 || side.is_some() || is_next {
                return Err(RsmError::MediaUnavailable(format!(
                    "{} has no available medium",
                    self.cat().full_name(pool)
                )));
            }
            if request.is_some() {
                return Err(RsmError::MediaUnavailable(format!(
                    "the operator satisfied the request, but {} still has no available medium",
                    self.cat().full_name(pool)
                )));
            }
            if timeout == Some(Duration::ZERO) {
                return Err(RsmError::Timeout(format!(
                    "{} has no available medium and the timeout is 0 (no wait)",
                    self.cat().full_name(pool)
                )));
            }
            let id = self.raise_newmedia(session, &who, pool);
            request = Some(id);
            match self.opreqs.wait(id, timeout) {
                WaitEnd::Satisfied => continue,
                WaitEnd::Refused => {
                    return Err(RsmError::Cancelled(format!(
                        "the operator refused request {id} for new media"
                    )))
                }
                WaitEnd::TimedOut => {
                    return Err(RsmError::Timeout(format!(
                        "no medium came for {} in time; request {id} is withdrawn",
                        self.cat().full_name(pool)
                    )))
                }
            }
        }
    }

    fn raise_newmedia(&self, session: SessionId, who: &Identity, pool: Uuid) -> Uuid {
        let (message, application) = {
            let cat = self.cat();
            let p = cat.pool(pool);
            let t = p
                .and_then(|p| p.media_type)
                .map_or("?", |t| t.name())
                .to_owned();
            let libraries: Vec<String> = cat
                .libraries
                .values()
                .filter(|l| {
                    p.and_then(|p| p.media_type)
                        .is_some_and(|t| l.media_types.contains(&t))
                })
                .map(|l| l.identity.serial.clone())
                .collect();
            let app = self
                .applications
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&session)
                .cloned()
                .unwrap_or_else(|| "RSM".into());
            (
                format!(
                    "insert a cartridge for pool {} ({t}) into library {}, or move one into it",
                    cat.full_name(pool),
                    if libraries.is_empty() {
                        "-".into()
                    } else {
                        libraries.join(" or ")
                    }
                ),
                app,
            )
        };
        self.opreqs.submit(OperatorRequest {
            id: Uuid::new_v4(),
            kind: OpReqType::Newmedia,
            state: OpReqState::Submitted,
            message,
            submitted_ms: now_ms(),
            application,
            user: format!("uid:{}", who.uid),
            pool: Some(pool),
        })
    }

    /// Rows 4 to 8 of allocation: the side to allocate and the pool it comes from, or `None`
    /// when nothing is available.
    fn pick_side(
        &self,
        cat: &Catalog,
        who: &Identity,
        pool: Uuid,
        side: Option<Uuid>,
        next: Option<Uuid>,
        options: u32,
    ) -> Result<Option<(Uuid, usize, Uuid)>, RsmError> {
        // Row 4.
        let p = cat
            .pool(pool)
            .filter(|p| p.kind == PoolKind::Application && p.media_type.is_some())
            .ok_or_else(|| {
                RsmError::InvalidMediaPool(format!("{pool} is not an application pool of media"))
            })?;
        let name = cat.full_name(pool);
        // Row 5.
        self.require(who, p, AccessMask::CONTROL, "allocate from", &name)?;
        let t = p.media_type;
        // Row 6: a given side.
        if let Some(id) = side {
            let m = cat
                .medium_by_any(id)
                .ok_or_else(|| RsmError::InvalidMedia(format!("no side or medium has id {id}")))?;
            let index = m.sides.iter().position(|s| s.id == id).unwrap_or(0);
            let s = &m.sides[index];
            let source = cat.pool(m.pool);
            match source.map(|s| s.kind) {
                Some(PoolKind::Application) if m.pool != pool => {
                    self.require_pool(who, cat, m.pool, AccessMask::CONTROL, "move media out of")?
                }
                Some(PoolKind::Free | PoolKind::Import) => {
                    self.require_pool(who, cat, m.pool, AccessMask::USE, "take media from")?
                }
                _ => {}
            }
            if Some(m.media_type) != t {
                return Err(RsmError::MediaIncompatible(format!(
                    "medium {} is {}, pool {name} holds {}",
                    label(m),
                    m.media_type.name(),
                    t.map_or("-", |t| t.name())
                )));
            }
            match s.state {
                SideState::Available | SideState::Import => {}
                st if st.in_use() => {
                    return Err(RsmError::MediaUnavailable(format!(
                        "side {} of {} is {st}, not available",
                        s.number,
                        label(m)
                    )))
                }
                st => {
                    return Err(RsmError::InvalidMedia(format!(
                        "side {} of {} is {st}: only AVAILABLE or IMPORT sides are allocated",
                        s.number,
                        label(m)
                    )))
                }
            }
            if m.location.is_offline() {
                return Err(offline_error(m));
            }
            return Ok(Some((m.id, index, m.pool)));
        }
        // Row 7: NEXT, the next side of the medium an LMID holds.
        if let Some(lmid) = next {
            let (mid, index) = cat
                .media
                .by_lmid
                .get(&lmid)
                .copied()
                .ok_or_else(|| RsmError::InvalidMedia(format!("no logical medium {lmid}")))?;
            let m = &cat.media.media[&mid];
            if m.pool != pool {
                return Err(RsmError::InvalidMedia(format!(
                    "logical medium {lmid} is not in {name}"
                )));
            }
            return Ok(m
                .sides
                .iter()
                .enumerate()
                .skip(index + 1)
                .find(|(_, s)| s.state == SideState::Available)
                .map(|(i, _)| (mid, i, pool)));
        }
        // Row 8: an available online side of the pool, then (FROMSCRATCH) one from Free.
        let whole = options & NTMS_ALLOCATE_NEW != 0;
        let best = |from: &Pool| {
            let limit = from.max_allocates;
            cat.media
                .media
                .values()
                .filter(|m| m.pool == from.id && !m.location.is_offline())
                .filter(|m| m.state == MediaState::Idle || m.pool == pool)
                .filter(|m| !whole || m.sides.iter().all(|s| s.state == SideState::Available))
                .flat_map(|m| m.sides.iter().enumerate().map(move |(i, s)| (m, i, s)))
                .filter(|(_, _, s)| s.state == SideState::Available)
                .filter(|(_, _, s)| limit == 0 || s.allocate_count < limit)
                .min_by(|a, b| {
                    (a.2.allocate_count, &a.0.barcode, a.0.id).cmp(&(
                        b.2.allocate_count,
                        &b.0.barcode,
                        b.0.id,
                    ))
                })
                .map(|(m, i, _)| (m.id, i, from.id))
        };
        if let Some(found) = best(p) {
            return Ok(Some(found));
        }
        if p.allocation_policy & crate::pool::NTMS_ALLOCATE_FROMSCRATCH != 0 {
            if let Some(free) = t.and_then(|t| cat.free_pool(t)) {
                self.require(
                    who,
                    free,
                    AccessMask::USE,
                    "take media from",
                    &cat.full_name(free.id),
                )?;
                return Ok(best(free));
            }
        }
        Ok(None)
    }

    /// Rows 9 and 10 of allocation: label (when the medium changes pool), then one transaction.
    fn commit_allocation(
        &self,
        pool: Uuid,
        medium: Uuid,
        index: usize,
        from: Uuid,
    ) -> Result<Allocation, RsmError> {
        let now = now_ms();
        let (updated, lmid, from_name) = {
            let cat = self.cat();
            let m = cat.media.media.get(&medium).ok_or_else(|| {
                RsmError::InvalidMedia(format!("medium {medium} left the catalogue"))
            })?;
            // Row 9: the OMID is rewritten on allocation (§9).
            let omid = self.write_label(&cat, m, pool)?;
            let lmid = Uuid::new_v4();
            let mut n = m.clone();
            n.pool = pool;
            n.modified_ms = now;
            let s = &mut n.sides[index];
            s.state = SideState::Allocated;
            s.lmid = Some(lmid);
            s.allocate_count += 1;
            if omid.is_some() {
                s.omid_label_type = omid;
                s.omid_label_id = Some(medium.as_bytes().to_vec());
            }
            // Two-sided media: the other sides follow the medium into the pool (§1.7: for
            // Import media the other side stays IMPORT).
            (n, lmid, cat.full_name(from))
        };
        // Row 10.
        self.store.write(|tx| {
            tx.insert_logical(&LogicalRow {
                id: lmid,
                pool,
                created_ms: now,
            })?;
            tx.update_medium(&medium_row(&updated))?;
            tx.update_side(&side_row(medium, &updated.sides[index]))?;
            Ok::<_, DbError>(())
        })?;
        let mut cat = self.cat_mut();
        if from != pool {
            if let Some(p) = cat.pools.get_mut(&from) {
                p.physical_media = p.physical_media.saturating_sub(1);
            }
            if let Some(p) = cat.pools.get_mut(&pool) {
                p.physical_media += 1;
            }
        }
        if let Some(p) = cat.pools.get_mut(&pool) {
            p.logical_media += 1;
        }
        cat.media.logical_pool.insert(lmid, pool);
        let a = Allocation {
            lmid,
            medium,
            barcode: updated.barcode.clone(),
            side: updated.sides[index].id,
            from_pool: from_name,
        };
        cat.media.replace(updated);
        Ok(a)
    }

    /// The medium and side an LMID holds, checked for CONTROL on its pool.
    fn allocated<'c>(
        &self,
        cat: &'c Catalog,
        who: &Identity,
        lmid: Uuid,
        op: &str,
    ) -> Result<(&'c PhysicalMedium, usize), RsmError> {
        if lmid.is_nil() {
            return Err(RsmError::InvalidParameter("the LMID is missing".into()));
        }
        let (mid, index) = cat
            .media
            .by_lmid
            .get(&lmid)
            .copied()
            .ok_or_else(|| RsmError::InvalidMedia(format!("no logical medium {lmid}")))?;
        let m = &cat.media.media[&mid];
        self.require_pool(who, cat, m.pool, AccessMask::CONTROL, op)?;
        Ok((m, index))
    }

    /// `DeallocateNtmsMedia` (§5.7): deletes the logical medium; the side becomes AVAILABLE,
    /// or DECOMMISSIONED once its allocations reached the pool's `max_allocates`. With the
    /// pool's `DEALLOCATE_TOSCRATCH` a medium left with no allocated side goes to Free (its
    /// free label written first).
    ///
    /// # Errors
    /// - `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`.
    /// - `ERROR_INVALID_PARAMETER`: options other than 0, or a nil LMID.
    /// - `ERROR_INVALID_MEDIA`: the LMID is unknown.
    /// - `ERROR_ACCESS_DENIED`: no CONTROL on the pool (and, to Free, no USE on Free).
    /// - `ERROR_BUSY`: the medium is mounted.
    /// - `ERROR_DEVICE_NOT_AVAILABLE`: writing the free label failed (nothing changed).
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: nothing was written.
    pub fn deallocate_media(
        &self,
        session: SessionId,
        lmid: Uuid,
        options: u32,
    ) -> Result<Deallocated, RsmError> {
        let who = self.begin(session)?;
        if options != 0 {
            return Err(RsmError::InvalidParameter(format!(
                "deallocation options {options} are not 0"
            )));
        }
        let _w = self.write_lock();
        let now = now_ms();
        let (updated, index, pool, free) = {
            let cat = self.cat();
            let (m, index) = self.allocated(&cat, &who, lmid, "deallocate media of")?;
            let p = &cat.pools[&m.pool];
            if m.state != MediaState::Idle {
                return Err(RsmError::Busy(format!(
                    "medium {} is {}: dismount it first",
                    label(m),
                    m.state
                )));
            }
            let mut n = m.clone();
            n.modified_ms = now;
            let s = &mut n.sides[index];
            s.lmid = None;
            s.state = if p.max_allocates > 0 && s.allocate_count >= p.max_allocates {
                SideState::Decommissioned
            } else {
                SideState::Available
            };
            let mut free = None;
            let all_free = n.sides.iter().all(|s| s.state == SideState::Available);
            if p.deallocation_policy & NTMS_DEALLOCATE_TOSCRATCH != 0 && all_free {
                let f = cat.free_pool(m.media_type).ok_or_else(|| {
                    RsmError::DeviceNotAvailable(format!(
                        "there is no Free pool for {}",
                        m.media_type.name()
                    ))
                })?;
                self.require(
                    &who,
                    f,
                    AccessMask::USE,
                    "return media to",
                    &cat.full_name(f.id),
                )?;
                if !m.location.is_offline() {
                    let omid = self.write_label(&cat, m, f.id)?;
                    for s in &mut n.sides {
                        if omid.is_some() {
                            s.omid_label_type = omid.clone();
                        }
                    }
                }
                n.pool = f.id;
                free = Some(f.id);
            }
            (n, index, m.pool, free)
        };
        self.store.write(|tx| {
            if free.is_some() {
                tx.update_medium(&medium_row(&updated))?;
                for s in &updated.sides {
                    tx.update_side(&side_row(updated.id, s))?;
                }
            } else {
                tx.update_side(&side_row(updated.id, &updated.sides[index]))?;
            }
            tx.delete_logical(lmid)?;
            Ok::<_, DbError>(())
        })?;
        let state = updated.sides[index].state;
        let mut cat = self.cat_mut();
        if let Some(p) = cat.pools.get_mut(&pool) {
            p.logical_media = p.logical_media.saturating_sub(1);
        }
        if let Some(f) = free {
            if let Some(p) = cat.pools.get_mut(&pool) {
                p.physical_media = p.physical_media.saturating_sub(1);
            }
            if let Some(p) = cat.pools.get_mut(&f) {
                p.physical_media += 1;
            }
        }
        cat.media.replace(updated);
        Ok(Deallocated {
            state,
            to_free: free.is_some(),
        })
    }

    /// `SetNtmsMediaComplete`: an ALLOCATED side that is not mounted becomes COMPLETE.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for a nil LMID;
    /// `ERROR_INVALID_MEDIA` for an unknown one; `ERROR_ACCESS_DENIED` without CONTROL on the
    /// pool; `ERROR_INVALID_STATE` when the side is not ALLOCATED or the medium is mounted;
    /// `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`.
    pub fn set_media_complete(
        &self,
        session: SessionId,
        lmid: Uuid,
    ) -> Result<MediumInfo, RsmError> {
        let who = self.begin(session)?;
        let _w = self.write_lock();
        let (updated, index) = {
            let cat = self.cat();
            let (m, index) = self.allocated(&cat, &who, lmid, "complete media of")?;
            let s = &m.sides[index];
            if s.state != SideState::Allocated || m.state != MediaState::Idle {
                return Err(RsmError::InvalidState(format!(
                    "side {} of {} is {} and the medium {}: only an ALLOCATED side that is \
                     not mounted can be marked complete",
                    s.number,
                    label(m),
                    s.state,
                    m.state
                )));
            }
            let mut n = m.clone();
            n.sides[index].state = SideState::Complete;
            n.modified_ms = now_ms();
            (n, index)
        };
        self.store
            .write(|tx| tx.update_side(&side_row(updated.id, &updated.sides[index])))?;
        let mut cat = self.cat_mut();
        let info = cat.medium_info(&updated);
        cat.media.replace(updated);
        Ok(info)
    }

    /// `DecommissionNtmsMedia`: every AVAILABLE side of the medium (or the one side named)
    /// becomes DECOMMISSIONED, for good.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for a nil id;
    /// `ERROR_INVALID_MEDIA` for an unknown one; `ERROR_ACCESS_DENIED` without CONTROL on the
    /// pool; `ERROR_INVALID_STATE` when a side concerned is not AVAILABLE;
    /// `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`.
    pub fn decommission_media(&self, session: SessionId, id: Uuid) -> Result<MediumInfo, RsmError> {
        let who = self.begin(session)?;
        if id.is_nil() {
            return Err(RsmError::InvalidParameter(
                "the medium id is missing".into(),
            ));
        }
        let _w = self.write_lock();
        let updated = {
            let cat = self.cat();
            let m = cat
                .medium_by_any(id)
                .ok_or_else(|| RsmError::InvalidMedia(format!("no side or medium has id {id}")))?;
            self.require_pool(
                &who,
                &cat,
                m.pool,
                AccessMask::CONTROL,
                "decommission media of",
            )?;
            let mut n = m.clone();
            for s in n.sides.iter_mut().filter(|s| s.id == id || m.id == id) {
                if s.state != SideState::Available {
                    return Err(RsmError::InvalidState(format!(
                        "side {} of {} is {}: only AVAILABLE sides can be decommissioned",
                        s.number,
                        label(m),
                        s.state
                    )));
                }
                s.state = SideState::Decommissioned;
            }
            n.modified_ms = now_ms();
            n
        };
        self.store.write(|tx| {
            for s in &updated.sides {
                tx.update_side(&side_row(updated.id, s))?;
            }
            Ok::<_, DbError>(())
        })?;
        let mut cat = self.cat_mut();
        let info = cat.medium_info(&updated);
        cat.media.replace(updated);
        Ok(info)
    }

    /// `MoveToNtmsMediaPool` (§5.8).
    ///
    /// # Errors
    /// In the order checked:
    /// - `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for nil ids.
    /// - `ERROR_INVALID_MEDIA`: the medium is unknown.
    /// - `ERROR_INVALID_MEDIA_POOL`: the destination is unknown, the root, a pool of pools, or
    ///   the medium's own pool (Free→Free included).
    /// - `ERROR_ACCESS_DENIED`: no CONTROL on source or destination (USE for Free).
    /// - `ERROR_INVALID_MEDIA_POOL`: an Import or Unrecognized medium to anything but Free;
    ///   into Import with a side not IMPORT; into Unrecognized.
    /// - `ERROR_MEDIA_INCOMPATIBLE`: media types differ; into Free with an INCOMPATIBLE side.
    /// - `ERROR_BUSY`: the medium is mounted; into Free with a side ALLOCATED, COMPLETE,
    ///   RESERVED or DECOMMISSIONED.
    /// - `ERROR_MEDIA_OFFLINE`: into Free (the free label needs the cartridge).
    /// - `ERROR_DEVICE_NOT_AVAILABLE`: writing the label failed (nothing changed).
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: nothing was written.
    pub fn move_to_media_pool(
        &self,
        session: SessionId,
        medium: Uuid,
        destination: Uuid,
    ) -> Result<Moved, RsmError> {
        let who = self.begin(session)?;
        if medium.is_nil() || destination.is_nil() {
            return Err(RsmError::InvalidParameter(
                "the medium or pool id is missing".into(),
            ));
        }
        let _w = self.write_lock();
        let now = now_ms();
        let (updated, from, moved) = {
            let cat = self.cat();
            let m = cat
                .media
                .media
                .get(&medium)
                .ok_or_else(|| RsmError::InvalidMedia(format!("no medium has id {medium}")))?;
            let src = cat.pool(m.pool).ok_or_else(|| {
                RsmError::InvalidMedia(format!("the pool of {} is gone", label(m)))
            })?;
            let dst = cat
                .pool(destination)
                .filter(|p| p.media_type.is_some())
                .ok_or_else(|| {
                    RsmError::InvalidMediaPool(format!(
                        "{destination} is not a pool that holds media"
                    ))
                })?;
            let (src_name, dst_name) = (cat.full_name(src.id), cat.full_name(dst.id));
            if src.id == dst.id {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{} is already in {dst_name}: source and destination are one pool",
                    label(m)
                )));
            }
            let need = |p: &Pool| {
                if p.kind == PoolKind::Free {
                    AccessMask::USE
                } else {
                    AccessMask::CONTROL
                }
            };
            self.require(&who, src, need(src), "move media out of", &src_name)?;
            self.require(&who, dst, need(dst), "move media into", &dst_name)?;
            if matches!(src.kind, PoolKind::Import | PoolKind::Unrecognized)
                && dst.kind != PoolKind::Free
            {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{} is in {src_name}: {} media move only to Free",
                    label(m),
                    src.kind
                )));
            }
            if dst.kind == PoolKind::Unrecognized {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{dst_name} is managed by the server: media cannot be moved into it"
                )));
            }
            if dst.kind == PoolKind::Import && m.sides.iter().any(|s| s.state != SideState::Import)
            {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{dst_name} takes only media whose every side is IMPORT"
                )));
            }
            if dst.media_type != Some(m.media_type) {
                return Err(RsmError::MediaIncompatible(format!(
                    "{} is {}, {dst_name} holds {}",
                    label(m),
                    m.media_type.name(),
                    dst.media_type.map_or("-", |t| t.name())
                )));
            }
            if m.state != MediaState::Idle {
                return Err(RsmError::Busy(format!(
                    "{} is {}: dismount it first",
                    label(m),
                    m.state
                )));
            }
            let mut n = m.clone();
            n.pool = dst.id;
            n.modified_ms = now;
            if dst.kind == PoolKind::Free {
                if let Some(s) = m.sides.iter().find(|s| s.state == SideState::Incompatible) {
                    return Err(RsmError::MediaIncompatible(format!(
                        "side {} of {} is INCOMPATIBLE: no drive of its library can label it",
                        s.number,
                        label(m)
                    )));
                }
                if let Some(s) = m
                    .sides
                    .iter()
                    .find(|s| s.state.in_use() || s.state == SideState::Decommissioned)
                {
                    return Err(RsmError::Busy(format!(
                        "side {} of {} is {}: only media with no side in use go to Free",
                        s.number,
                        label(m),
                        s.state
                    )));
                }
                if m.location.is_offline() {
                    return Err(offline_error(m));
                }
                let omid = self.write_label(&cat, m, dst.id)?;
                for s in &mut n.sides {
                    s.state = SideState::Available;
                    if omid.is_some() {
                        s.omid_label_type = omid.clone();
                        s.omid_label_id = Some(m.id.as_bytes().to_vec());
                    }
                }
            } else if !m.location.is_offline() {
                // The OMID follows the pool (§9); an offline medium keeps its old label.
                let omid = self.write_label(&cat, m, dst.id)?;
                for s in &mut n.sides {
                    if omid.is_some() {
                        s.omid_label_type = omid.clone();
                    }
                }
            }
            let moved = Moved {
                medium,
                barcode: m.barcode.clone(),
                from: src_name,
                to: dst_name,
            };
            (n, src.id, moved)
        };
        let lmids: Vec<Uuid> = updated.sides.iter().filter_map(|s| s.lmid).collect();
        self.store.write(|tx| {
            tx.update_medium(&medium_row(&updated))?;
            for s in &updated.sides {
                tx.update_side(&side_row(updated.id, s))?;
            }
            for l in &lmids {
                tx.set_logical_pool(*l, destination, now)?;
            }
            Ok::<_, DbError>(())
        })?;
        let mut cat = self.cat_mut();
        if let Some(p) = cat.pools.get_mut(&from) {
            p.physical_media = p.physical_media.saturating_sub(1);
            p.logical_media = p.logical_media.saturating_sub(lmids.len() as u64);
        }
        if let Some(p) = cat.pools.get_mut(&destination) {
            p.physical_media += 1;
            p.logical_media += lmids.len() as u64;
        }
        for l in lmids {
            cat.media.logical_pool.insert(l, destination);
        }
        cat.media.replace(updated);
        Ok(moved)
    }

    /// `DeleteNtmsMedia`: removes a medium from the catalogue. Only offline media, or media
    /// whose every side is AVAILABLE, FOREIGN or IMPORT (an online one is catalogued afresh
    /// by the next inventory).
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for a nil id;
    /// `ERROR_INVALID_MEDIA` for an unknown one; `ERROR_ACCESS_DENIED` without CONTROL on the
    /// pool; `ERROR_INVALID_STATE` for an online medium with another side state;
    /// `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`.
    pub fn delete_media(&self, session: SessionId, medium: Uuid) -> Result<(), RsmError> {
        let who = self.begin(session)?;
        if medium.is_nil() {
            return Err(RsmError::InvalidParameter(
                "the medium id is missing".into(),
            ));
        }
        let _w = self.write_lock();
        let (sides, lmids, pool) = {
            let cat = self.cat();
            let m = cat
                .media
                .media
                .get(&medium)
                .ok_or_else(|| RsmError::InvalidMedia(format!("no medium has id {medium}")))?;
            self.require_pool(&who, &cat, m.pool, AccessMask::CONTROL, "delete media of")?;
            let deletable = |s: &SideState| {
                matches!(
                    s,
                    SideState::Available | SideState::Foreign | SideState::Import
                )
            };
            if !m.location.is_offline() {
                if let Some(s) = m.sides.iter().find(|s| !deletable(&s.state)) {
                    return Err(RsmError::InvalidState(format!(
                        "side {} of {} is {}: only offline media, or media whose sides are \
                         all AVAILABLE, FOREIGN or IMPORT, can be deleted",
                        s.number,
                        label(m),
                        s.state
                    )));
                }
            }
            let lmids: Vec<Uuid> = m.sides.iter().filter_map(|s| s.lmid).collect();
            (m.sides.len() as u32, lmids, m.pool)
        };
        self.store.write(|tx| {
            tx.delete_medium(medium, sides)?;
            for l in &lmids {
                tx.delete_logical(*l)?;
            }
            Ok::<_, DbError>(())
        })?;
        let mut cat = self.cat_mut();
        if let Some(p) = cat.pools.get_mut(&pool) {
            p.physical_media = p.physical_media.saturating_sub(1);
            p.logical_media = p.logical_media.saturating_sub(lmids.len() as u64);
        }
        cat.media.remove(medium);
        Ok(())
    }

    /// `GetNtmsObjectInformation` for a physical medium, one of its sides or an LMID (§2):
    /// the medium as cli.md prints it. USE on its pool.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for a nil id;
    /// `ERROR_OBJECT_NOT_FOUND` for an unknown one; `ERROR_ACCESS_DENIED` without USE.
    pub fn get_medium(&self, session: SessionId, id: Uuid) -> Result<MediumInfo, RsmError> {
        let who = self.begin(session)?;
        if id.is_nil() {
            return Err(RsmError::InvalidParameter(
                "the object id is missing".into(),
            ));
        }
        let cat = self.cat();
        let m = cat
            .medium_by_any(id)
            .ok_or_else(|| RsmError::ObjectNotFound(format!("no medium, side or LMID {id}")))?;
        self.require_pool(&who, &cat, m.pool, AccessMask::USE, "read media of")?;
        Ok(cat.medium_info(m))
    }

    /// The medium with this bar code (cli.md: a medium argument is its id or its bar code).
    ///
    /// # Errors
    /// As [`get_medium`](Self::get_medium); `ERROR_INVALID_MEDIA` when no medium, or more than
    /// one, has the bar code.
    pub fn find_medium(&self, session: SessionId, barcode: &str) -> Result<MediumInfo, RsmError> {
        let who = self.begin(session)?;
        let cat = self.cat();
        let m = cat.medium_by_barcode(barcode)?;
        self.require_pool(&who, &cat, m.pool, AccessMask::USE, "read media of")?;
        Ok(cat.medium_info(m))
    }

    /// `EnumerateNtmsObject` for physical media with their information, one page at a time:
    /// media in pools the caller may USE (a named pool needs USE, else
    /// `ERROR_ACCESS_DENIED`), ordered by bar code then id, `limit` from `offset`.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_MEDIA_POOL` for an unknown
    /// pool, `ERROR_INVALID_LIBRARY` for an unknown library; `ERROR_ACCESS_DENIED`.
    pub fn list_media(
        &self,
        session: SessionId,
        filter: &MediaFilter,
        offset: usize,
        limit: usize,
    ) -> Result<MediaPage, RsmError> {
        let who = self.begin(session)?;
        let cat = self.cat();
        if let Some(p) = filter.pool {
            self.require_pool(&who, &cat, p, AccessMask::USE, "list media of")?;
        }
        if let Some(l) = filter.library {
            if !cat.libraries.contains_key(&l) {
                return Err(RsmError::InvalidLibrary(format!("no library has id {l}")));
            }
        }
        let mut allowed: std::collections::HashMap<Uuid, bool> = std::collections::HashMap::new();
        let mut matching: Vec<&PhysicalMedium> = cat
            .media
            .media
            .values()
            .filter(|m| filter.pool.map_or(true, |p| m.pool == p))
            .filter(|m| {
                filter
                    .library
                    .map_or(true, |l| m.location.library == Some(l))
            })
            .filter(|m| !filter.offline || m.location.is_offline())
            .filter(|m| {
                *allowed.entry(m.pool).or_insert_with(|| {
                    cat.pool(m.pool)
                        .is_some_and(|p| self.can(&who, &p.security, AccessMask::USE))
                })
            })
            .collect();
        let total = matching.len();
        matching.sort_unstable_by(|a, b| (&a.barcode, a.id).cmp(&(&b.barcode, b.id)));
        let media = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|m| cat.medium_info(m))
            .collect();
        Ok(MediaPage { media, total })
    }

    /// Records where the controller put a cartridge and its state (after a move, a mount, a
    /// dismount). One transaction; the catalogue's own work, so no session.
    ///
    /// # Errors
    /// `ERROR_INVALID_MEDIA` for an unknown medium; `ERROR_DATABASE_FULL`,
    /// `ERROR_DATABASE_FAILURE`.
    pub fn record_location(
        &self,
        medium: Uuid,
        location: Location,
        state: MediaState,
    ) -> Result<(), RsmError> {
        let _w = self.write_lock();
        let updated = {
            let cat = self.cat();
            let m = cat
                .media
                .media
                .get(&medium)
                .ok_or_else(|| RsmError::InvalidMedia(format!("no medium has id {medium}")))?;
            let mut n = m.clone();
            n.location = location;
            n.state = state;
            if location.kind == LocationKind::Slot {
                n.home = location.address;
            }
            n.modified_ms = now_ms();
            n
        };
        self.store
            .write(|tx| tx.update_medium(&medium_row(&updated)))?;
        self.cat_mut().media.replace(updated);
        Ok(())
    }

    /// A medium as the catalogue holds it (for the controller).
    pub fn medium(&self, id: Uuid) -> Option<PhysicalMedium> {
        self.cat().media.media.get(&id).cloned()
    }

    /// The id of the one medium with this bar code (for the controller's records), if exactly
    /// one has it.
    pub fn medium_id_by_barcode(&self, barcode: &str) -> Option<Uuid> {
        self.cat().medium_by_barcode(barcode).ok().map(|m| m.id)
    }

    /// Every physical medium (for the controller and tests), unordered.
    pub fn media(&self) -> Vec<PhysicalMedium> {
        self.cat().media.media.values().cloned().collect()
    }

    /// The cleaners of a library.
    pub fn cleaners(&self, library: Uuid) -> Vec<crate::pool::media::Cleaner> {
        let mut v: Vec<_> = self
            .cat()
            .media
            .cleaners
            .values()
            .filter(|c| c.library == library)
            .cloned()
            .collect();
        v.sort_by_key(|c| c.location.address);
        v
    }

    /// Records a session's application name (operator requests name it).
    pub fn set_application(&self, session: SessionId, application: &str) {
        self.applications
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session, application.to_owned());
    }

    /// The open operator requests (`reel opreq`). Any session may list them.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`.
    pub fn operator_requests(&self, session: SessionId) -> Result<Vec<OperatorRequest>, RsmError> {
        self.begin(session)?;
        Ok(self.opreqs.open())
    }

    /// Satisfies (`true`) or refuses (`false`) an open operator request: CONTROL on its pool
    /// (a MESSAGE: its submitter or an administrator).
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_OBJECT_NOT_FOUND` when no open
    /// request has the id; `ERROR_ACCESS_DENIED`.
    pub fn answer_operator_request(
        &self,
        session: SessionId,
        id: Uuid,
        satisfied: bool,
    ) -> Result<(), RsmError> {
        let who = self.begin(session)?;
        let r = self
            .opreqs
            .open()
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| RsmError::ObjectNotFound(format!("no open operator request {id}")))?;
        match r.pool {
            Some(p) => {
                let cat = self.cat();
                self.require_pool(&who, &cat, p, AccessMask::CONTROL, "answer requests for")?;
            }
            None => {
                if r.user != format!("uid:{}", who.uid) && !who.is_admin(self.config.admin_gid) {
                    return Err(RsmError::AccessDenied(format!(
                        "uid {} may not answer request {id} of {}",
                        who.uid, r.user
                    )));
                }
            }
        }
        let state = if satisfied {
            OpReqState::Complete
        } else {
            OpReqState::Refused
        };
        if self.opreqs.finish(id, state) {
            Ok(())
        } else {
            Err(RsmError::ObjectNotFound(format!(
                "operator request {id} was answered or withdrawn meanwhile"
            )))
        }
    }

    /// `SubmitNtmsOperatorRequest` with MESSAGE: needs no rights. Returns the request.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for an empty
    /// message or one longer than 255 characters (MESSAGE 256 with the terminator).
    pub fn submit_message(
        &self,
        session: SessionId,
        text: &str,
    ) -> Result<OperatorRequest, RsmError> {
        let who = self.begin(session)?;
        let units = text.encode_utf16().count();
        if text.trim().is_empty() || units > 255 {
            return Err(RsmError::InvalidParameter(format!(
                "an operator message has 1 to 255 characters, not {units}"
            )));
        }
        let application = self
            .applications
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&session)
            .cloned()
            .unwrap_or_else(|| "RSM".into());
        let r = OperatorRequest {
            id: Uuid::new_v4(),
            kind: OpReqType::Message,
            state: OpReqState::Submitted,
            message: text.to_owned(),
            submitted_ms: now_ms(),
            application,
            user: format!("uid:{}", who.uid),
            pool: None,
        };
        self.opreqs.submit(r.clone());
        Ok(r)
    }
}
