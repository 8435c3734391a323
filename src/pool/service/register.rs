//! The catalogue follows the library (rsm-media-and-mounts §1): every cartridge an inventory
//! saw becomes, or stays, a physical medium; what left the library goes offline or is dropped.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::catalogue::{cleaner_row, medium_row, side_row};
use super::{now_ms, Catalog, Pool, Rsm};
use crate::db::{DbError, MediaTypeRow};
use crate::media::{MediaType, MediumClass};
use crate::pool::media::{
    is_cleaner_barcode, BarcodeState, Cartridge, Cleaner, Location, LocationKind, MediaState,
    PhysicalMedium, RegisterReport, Side, SideState, NTMS_POOLPOLICY_KEEPOFFLINEIMPORT,
    NTMS_POOLPOLICY_PURGEOFFLINESCRATCH,
};
use crate::pool::{PoolKind, RsmError};

/// Default uses of a new cleaner (rsm-media-and-mounts §6, [design] 50 for LTO).
pub const DEFAULT_CLEANER_USES: u32 = 50;

/// What one registration will write, decided before anything is written.
#[derive(Default)]
struct Plan {
    new_pools: Vec<Pool>,
    added: Vec<PhysicalMedium>,
    changed: Vec<PhysicalMedium>,
    dropped: Vec<PhysicalMedium>,
    cleaners: Vec<Cleaner>,
    cleaners_dropped: Vec<Uuid>,
    report: RegisterReport,
}

fn is_cleaner(c: &Cartridge) -> bool {
    c.media_type.map(MediaType::class) == Some(MediumClass::Cleaning)
        || c.barcode.as_deref().is_some_and(is_cleaner_barcode)
}

/// Where a known medium found in `kind`/`address` is now, and in what state.
fn placed(m: &PhysicalMedium, library: Uuid, c: &Cartridge) -> PhysicalMedium {
    let mut n = m.clone();
    n.location = Location::at(library, c.kind, c.address);
    match c.kind {
        LocationKind::Slot => {
            n.home = Some(c.address);
            n.state = MediaState::Idle;
        }
        LocationKind::Drive => {
            if n.home.is_none() {
                n.home = c.source;
            }
            if !matches!(
                n.state,
                MediaState::Mounted | MediaState::Loaded | MediaState::Unloaded
            ) {
                n.state = MediaState::Idle;
            }
        }
        LocationKind::Ie | LocationKind::Transport | LocationKind::Offline => {
            n.state = MediaState::Idle;
        }
    }
    n
}

impl Rsm {
    /// Brings the media catalogue of one registered library in line with an inventory of it
    /// (rsm-media-and-mounts §1), in one transaction. Every cartridge is matched to a known
    /// medium (by reel's MAM label, else its bar code, else — without a bar code — its slot)
    /// and keeps everything; a new one is classified: reel's label with an unknown medium →
    /// Import (side IMPORT); anything else → Unrecognized (side FOREIGN), or INCOMPATIBLE when
    /// no drive of the library reads its type; cleaning cartridges become the library's
    /// cleaners. Media of this library the inventory did not see go offline (application
    /// pools; Free unless PURGEOFFLINESCRATCH; Import with KEEPOFFLINEIMPORT) or are dropped
    /// (the rest, and cleaners). Nothing is written when nothing changed. Needs no session.
    ///
    /// # Errors
    /// - `ERROR_INVALID_LIBRARY`: the library is not registered.
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: the write failed; nothing changed.
    pub fn register_media(
        &self,
        library: Uuid,
        cartridges: &[Cartridge],
    ) -> Result<RegisterReport, RsmError> {
        let _w = self.write_lock();
        let now = now_ms();
        let plan = {
            let cat = self.cat();
            self.plan_registration(&cat, library, cartridges, now)?
        };
        let nothing = plan.new_pools.is_empty()
            && plan.added.is_empty()
            && plan.changed.is_empty()
            && plan.dropped.is_empty()
            && plan.cleaners.is_empty()
            && plan.cleaners_dropped.is_empty();
        if nothing {
            return Ok(plan.report);
        }
        let mut types: Vec<MediaType> = plan.added.iter().map(|m| m.media_type).collect();
        types.sort();
        types.dedup();
        self.store.write(|tx| {
            for t in &types {
                let i = t.info();
                tx.upsert_media_type(&MediaTypeRow {
                    id: i.id,
                    name: i.name.to_owned(),
                    storage_media_type: i.media_type.0,
                    number_of_sides: i.number_of_sides,
                    read_write: i.read_write_characteristics.0,
                    device_type: i.device_type.0,
                })?;
            }
            for p in &plan.new_pools {
                tx.insert_pool(&p.row())?;
            }
            for m in &plan.added {
                tx.insert_medium(&medium_row(m))?;
                for s in &m.sides {
                    tx.insert_side(&side_row(m.id, s))?;
                }
            }
            for m in &plan.changed {
                tx.update_medium(&medium_row(m))?;
            }
            for m in &plan.dropped {
                tx.delete_medium(m.id, m.sides.len() as u32)?;
            }
            for c in &plan.cleaners {
                tx.upsert_cleaner(&cleaner_row(c, now), now)?;
            }
            for id in &plan.cleaners_dropped {
                tx.delete_cleaner(*id)?;
            }
            Ok::<_, DbError>(())
        })?;
        let mut cat = self.cat_mut();
        for p in plan.new_pools {
            cat.insert(p);
        }
        for m in plan.added {
            if let Some(p) = cat.pools.get_mut(&m.pool) {
                p.physical_media += 1;
            }
            cat.media.replace(m);
        }
        for m in plan.changed {
            cat.media.replace(m);
        }
        for m in plan.dropped {
            if let Some(p) = cat.pools.get_mut(&m.pool) {
                p.physical_media = p.physical_media.saturating_sub(1);
            }
            cat.media.remove(m.id);
        }
        for c in plan.cleaners {
            cat.media.cleaners.insert(c.id, c);
        }
        for id in plan.cleaners_dropped {
            cat.media.cleaners.remove(&id);
        }
        Ok(plan.report)
    }

    fn plan_registration(
        &self,
        cat: &Catalog,
        library: Uuid,
        cartridges: &[Cartridge],
        now: i64,
    ) -> Result<Plan, RsmError> {
        let lib = cat.libraries.get(&library).ok_or_else(|| {
            RsmError::InvalidLibrary(format!("library {library} is not registered"))
        })?;
        let serial = lib.identity.serial.clone();
        let mut plan = Plan::default();
        let mut labels: HashMap<&str, u32> = HashMap::new();
        for c in cartridges {
            if let Some(b) = &c.barcode {
                *labels.entry(b.as_str()).or_default() += 1;
            }
        }
        let mut warned: HashSet<&str> = HashSet::new();
        let mut seen: HashSet<Uuid> = HashSet::with_capacity(cartridges.len());
        let mut cleaners_seen: HashSet<Uuid> = HashSet::new();
        // Known media of this library without a bar code, by where they are.
        let by_place: HashMap<(LocationKind, u16), Uuid> = cat
            .media
            .media
            .values()
            .filter(|m| m.barcode.is_none() && m.location.library == Some(library))
            .filter_map(|m| Some(((m.location.kind, m.location.address?), m.id)))
            .collect();
        let mut system: HashMap<(PoolKind, MediaType), Uuid> = HashMap::new();

        for c in cartridges {
            let duplicated = c
                .barcode
                .as_deref()
                .is_some_and(|b| labels.get(b).copied().unwrap_or(0) > 1);
            if duplicated {
                let b = c.barcode.as_deref().unwrap_or_default();
                if warned.insert(b) {
                    plan.report.warnings.push(format!(
                        "bar code {b} is on {} cartridges in library {serial}: they are kept \
                         apart (the one where the catalogue last saw it keeps its record); \
                         relabel the others",
                        labels[b]
                    ));
                }
            }
            if is_cleaner(c) {
                plan.report.cleaners += 1;
                let known = cat.media.cleaners.values().find(|k| {
                    k.library == library
                        && !cleaners_seen.contains(&k.id)
                        && match (&c.barcode, &k.barcode) {
                            (Some(a), Some(b)) => a == b,
                            (None, None) => k.location.address == Some(c.address),
                            _ => false,
                        }
                });
                let location = Location::at(library, c.kind, c.address);
                let home = if c.kind == LocationKind::Slot {
                    Some(c.address)
                } else {
                    known.and_then(|k| k.home).or(c.source)
                };
                let cleaner = match known {
                    Some(k) => Cleaner {
                        location,
                        home,
                        ..k.clone()
                    },
                    None => Cleaner {
                        id: Uuid::new_v4(),
                        library,
                        barcode: c.barcode.clone(),
                        location,
                        home,
                        uses_remaining: DEFAULT_CLEANER_USES,
                    },
                };
                cleaners_seen.insert(cleaner.id);
                if known != Some(&cleaner) {
                    plan.cleaners.push(cleaner);
                }
                continue;
            }
            let here = Location::at(library, c.kind, c.address);
            let known = self.match_known(cat, c, duplicated, here, &by_place, &seen);
            if let Some(m) = known {
                seen.insert(m.id);
                let n = placed(m, library, c);
                if n == *m {
                    plan.report.unchanged += 1;
                } else {
                    plan.report.updated += 1;
                    plan.changed.push(PhysicalMedium {
                        modified_ms: now,
                        ..n
                    });
                }
                continue;
            }
            let Some(t) = c.media_type else {
                plan.report.warnings.push(format!(
                    "the cartridge in {} {} of library {serial} ({}) has no known media type: \
                     it is not catalogued",
                    kind_name(c.kind),
                    c.address,
                    c.barcode.as_deref().unwrap_or("no bar code")
                ));
                continue;
            };
            // Classification of a new cartridge (§1).
            let (kind, state) = if !lib.media_types.contains(&t) {
                (PoolKind::Unrecognized, SideState::Incompatible)
            } else if c.label.is_some() && !duplicated {
                (PoolKind::Import, SideState::Import)
            } else {
                (PoolKind::Unrecognized, SideState::Foreign)
            };
            let pool = match system.get(&(kind, t)) {
                Some(p) => *p,
                None => {
                    let p = self.system_pool(cat, kind, t, now, &mut plan.new_pools)?;
                    system.insert((kind, t), p);
                    p
                }
            };
            let id = c
                .label
                .as_ref()
                .map(|l| l.medium)
                .filter(|id| !cat.media.media.contains_key(id) && !seen.contains(id))
                .unwrap_or_else(Uuid::new_v4);
            seen.insert(id);
            let m = PhysicalMedium {
                id,
                pool,
                media_type: t,
                barcode: c.barcode.clone(),
                barcode_state: if c.barcode.is_some() {
                    BarcodeState::Ok
                } else {
                    BarcodeState::Unreadable
                },
                state: MediaState::Idle,
                location: here,
                home: if c.kind == LocationKind::Slot {
                    Some(c.address)
                } else {
                    c.source
                },
                mount_count: 0,
                last_mounted_ms: None,
                sides: (0..t.number_of_sides())
                    .map(|n| Side {
                        id: Uuid::new_v4(),
                        number: n,
                        state,
                        lmid: None,
                        allocate_count: 0,
                        mount_count: 0,
                        omid_label_type: None,
                        omid_label_id: None,
                    })
                    .collect(),
                created_ms: now,
                modified_ms: now,
            };
            plan.added.push(m);
        }
        plan.report.added = plan.added.len() as u64;

        // What left the library (§1, the offline library).
        let policy = self.config.media_pool_policy;
        for m in cat.media.media.values() {
            if m.location.library != Some(library) || seen.contains(&m.id) {
                continue;
            }
            let kind = cat.pool(m.pool).map(|p| p.kind);
            let keep = match kind {
                Some(PoolKind::Application) => true,
                Some(PoolKind::Free) => policy & NTMS_POOLPOLICY_PURGEOFFLINESCRATCH == 0,
                Some(PoolKind::Import) => policy & NTMS_POOLPOLICY_KEEPOFFLINEIMPORT != 0,
                _ => false,
            };
            if keep {
                plan.report.offline += 1;
                plan.changed.push(PhysicalMedium {
                    location: Location::OFFLINE,
                    state: MediaState::Idle,
                    modified_ms: now,
                    ..m.clone()
                });
            } else {
                plan.report.dropped += 1;
                plan.dropped.push(m.clone());
            }
        }
        for k in cat.media.cleaners.values() {
            if k.library == library && !cleaners_seen.contains(&k.id) {
                plan.report.dropped += 1;
                plan.cleaners_dropped.push(k.id);
            }
        }
        Ok(plan)
    }

    /// The known medium a cartridge is: by reel's label, else its bar code (for a duplicated
    /// bar code only where the catalogue last saw it), else by its place.
    fn match_known<'c>(
        &self,
        cat: &'c Catalog,
        c: &Cartridge,
        duplicated: bool,
        here: Location,
        by_place: &HashMap<(LocationKind, u16), Uuid>,
        seen: &HashSet<Uuid>,
    ) -> Option<&'c PhysicalMedium> {
        let fresh = |id: &Uuid| !seen.contains(id);
        if let Some(m) = c
            .label
            .as_ref()
            .and_then(|l| cat.media.media.get(&l.medium))
            .filter(|m| fresh(&m.id))
        {
            return Some(m);
        }
        if let Some(b) = &c.barcode {
            let ids = cat.media.by_barcode.get(b)?;
            return ids
                .iter()
                .filter(|id| fresh(id))
                .filter_map(|id| cat.media.media.get(id))
                .find(|m| !duplicated || m.location == here);
        }
        by_place
            .get(&(c.kind, c.address))
            .filter(|id| fresh(id))
            .and_then(|id| cat.media.media.get(id))
    }

    /// The system pool of `kind` for media type `t`, planning it when it does not exist yet
    /// (an incompatible type has none until its first cartridge).
    fn system_pool(
        &self,
        cat: &Catalog,
        kind: PoolKind,
        t: MediaType,
        now: i64,
        new_pools: &mut Vec<Pool>,
    ) -> Result<Uuid, RsmError> {
        let container = cat
            .child(cat.root, kind.container_name().unwrap_or_default())
            .ok_or_else(|| DbError::failure(format!("the {kind} container is missing"), None))?;
        if let Some(id) = cat.child(container, t.name()) {
            return Ok(id);
        }
        if let Some(p) = new_pools
            .iter()
            .find(|p| p.parent == Some(container) && p.media_type == Some(t))
        {
            return Ok(p.id);
        }
        let pool = Pool::system(container, kind, t, self.config.default_root_security(), now);
        let id = pool.id;
        new_pools.push(pool);
        Ok(id)
    }
}

fn kind_name(k: LocationKind) -> &'static str {
    match k {
        LocationKind::Slot => "slot",
        LocationKind::Drive => "drive",
        LocationKind::Ie => "I/E port",
        LocationKind::Transport => "transport",
        LocationKind::Offline => "offline",
    }
}
