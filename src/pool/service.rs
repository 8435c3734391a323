//! The RSM service object: sessions, the in-memory catalogue and the pool functions.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use super::name::{check_component, fold, PoolPath, MAX_PATH_UNITS};
use super::opreq::OpReqs;
use super::security::{AccessMask, Ace, Identity, SecurityDescriptor, Who};
use super::work::MediaWork;
use super::{
    DetectedMediaType, LibraryIdentity, LibraryInfo, PoolInfo, PoolKind, PoolUpdate, RsmError,
    SessionId, NTMS_CREATE_NEW, NTMS_ENUM_DEFAULT, NTMS_ENUM_ROOTPOOL, NTMS_OPEN_ALWAYS,
    NTMS_OPEN_EXISTING,
};
use crate::db::{DbConfig, DbError, LibraryRow, MediaTypeRow, PoolRow, Snapshot, Store};
use crate::media::{MediaType, MediaTypeRef};

/// How the service runs.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Members of this group are administrators (full access everywhere), like uid 0.
    pub admin_gid: Option<u32>,
    /// The daemon's own uid when it runs unprivileged: "local system" besides uid 0.
    pub system_uid: Option<u32>,
    /// The root pool's descriptor when the database is created (later, the stored one
    /// rules). Default: owner uid 0; full access for uid 0 and the admin group; USE for
    /// everyone.
    pub root_security: Option<SecurityDescriptor>,
    /// Database settings.
    pub db: DbConfig,
    /// The computer's `NtmsMediaPoolPolicy`: [`NTMS_POOLPOLICY_PURGEOFFLINESCRATCH`],
    /// [`NTMS_POOLPOLICY_KEEPOFFLINEIMPORT`] (default 0: offline Free media are kept, offline
    /// Import media dropped).
    ///
    /// [`NTMS_POOLPOLICY_PURGEOFFLINESCRATCH`]: super::media::NTMS_POOLPOLICY_PURGEOFFLINESCRATCH
    /// [`NTMS_POOLPOLICY_KEEPOFFLINEIMPORT`]: super::media::NTMS_POOLPOLICY_KEEPOFFLINEIMPORT
    pub media_pool_policy: u32,
}

impl Config {
    fn default_root_security(&self) -> SecurityDescriptor {
        if let Some(sd) = &self.root_security {
            return sd.clone();
        }
        let mut entries = vec![Ace::allow(Who::Uid(0), AccessMask::FULL)];
        if let Some(g) = self.admin_gid {
            entries.push(Ace::allow(Who::Gid(g), AccessMask::FULL));
        }
        entries.push(Ace::allow(Who::Everyone, AccessMask::USE));
        SecurityDescriptor::new(0, entries)
    }
}

#[derive(Debug, Clone)]
struct Pool {
    id: Uuid,
    parent: Option<Uuid>,
    name: String,
    kind: PoolKind,
    media_type: Option<MediaType>,
    description: String,
    allocation_policy: u32,
    deallocation_policy: u32,
    max_allocates: u32,
    enabled: bool,
    created_ms: i64,
    modified_ms: i64,
    security: SecurityDescriptor,
    physical_media: u64,
    logical_media: u64,
    children: BTreeMap<String, Uuid>,
}

impl Pool {
    /// A new system pool (Free, Import or Unrecognized) of media type `t` under `container`.
    fn system(
        container: Uuid,
        kind: PoolKind,
        t: MediaType,
        security: SecurityDescriptor,
        now: i64,
    ) -> Pool {
        Pool {
            id: Uuid::new_v4(),
            parent: Some(container),
            name: t.name().to_owned(),
            kind,
            media_type: Some(t),
            description: String::new(),
            allocation_policy: 0,
            deallocation_policy: 0,
            max_allocates: 0,
            enabled: true,
            created_ms: now,
            modified_ms: now,
            security,
            physical_media: 0,
            logical_media: 0,
            children: BTreeMap::new(),
        }
    }

    fn row(&self) -> PoolRow {
        PoolRow {
            id: self.id,
            parent: self.parent,
            name: self.name.clone(),
            name_key: fold(&self.name),
            description: self.description.clone(),
            pool_type: self.kind.pool_type(),
            media_type: self.media_type.map(MediaType::id),
            allocation_policy: self.allocation_policy,
            deallocation_policy: self.deallocation_policy,
            max_allocates: self.max_allocates,
            enabled: self.enabled,
            created_ms: self.created_ms,
            modified_ms: self.modified_ms,
            owner_uid: self.security.owner_uid(),
            security: security_json(&self.security),
            physical_media: self.physical_media,
            logical_media: self.logical_media,
        }
    }

    fn holds_media(&self) -> bool {
        self.media_type.is_some() || self.physical_media > 0 || self.logical_media > 0
    }

    fn is_empty(&self) -> bool {
        self.physical_media == 0 && self.logical_media == 0 && self.children.is_empty()
    }
}

fn security_json(sd: &SecurityDescriptor) -> String {
    // Serialising plain data to a String cannot fail.
    serde_json::to_string(sd).unwrap_or_default()
}

#[derive(Debug, Clone)]
struct Library {
    id: Uuid,
    identity: LibraryIdentity,
    created_ms: i64,
    media_types: BTreeSet<MediaType>,
}

#[derive(Debug)]
struct Catalog {
    root: Uuid,
    pools: HashMap<Uuid, Pool>,
    libraries: HashMap<Uuid, Library>,
    by_serial: HashMap<String, Uuid>,
    media: MediaIndex,
}

impl Catalog {
    fn from_snapshot(snap: Snapshot) -> Result<Catalog, DbError> {
        let damaged = |what: String| {
            DbError::failure(format!("the database is damaged or newer: {what}"), None)
        };
        let media_type = |id: Uuid| {
            MediaType::from_id(id)
                .ok_or_else(|| damaged(format!("media type {id} is not in this reel's catalogue")))
        };
        let mut libraries = HashMap::new();
        let mut by_serial = HashMap::new();
        for l in snap.libraries {
            by_serial.insert(l.serial.clone(), l.id);
            libraries.insert(
                l.id,
                Library {
                    id: l.id,
                    identity: LibraryIdentity {
                        serial: l.serial,
                        vendor: l.vendor,
                        product: l.product,
                        revision: l.revision,
                    },
                    created_ms: l.created_ms,
                    media_types: BTreeSet::new(),
                },
            );
        }
        for (lib, t) in snap.library_media_types {
            let t = media_type(t)?;
            if let Some(l) = libraries.get_mut(&lib) {
                l.media_types.insert(t);
            }
        }
        let mut pools: HashMap<Uuid, Pool> = HashMap::with_capacity(snap.pools.len());
        let mut root = None;
        for r in snap.pools {
            // Keyed by today's fold, not the key an older reel stored.
            let key = fold(&r.name);
            let kind = PoolKind::from_pool_type(r.pool_type)
                .ok_or_else(|| damaged(format!("pool {} has pool type {}", r.id, r.pool_type)))?;
            let security: SecurityDescriptor = serde_json::from_str(&r.security)
                .map_err(|e| damaged(format!("security descriptor of pool {}: {e}", r.id)))?;
            let pool = Pool {
                id: r.id,
                parent: r.parent,
                name: r.name,
                kind,
                media_type: r.media_type.map(media_type).transpose()?,
                description: r.description,
                allocation_policy: r.allocation_policy,
                deallocation_policy: r.deallocation_policy,
                max_allocates: r.max_allocates,
                enabled: r.enabled,
                created_ms: r.created_ms,
                modified_ms: r.modified_ms,
                security,
                physical_media: r.physical_media,
                logical_media: r.logical_media,
                children: BTreeMap::new(),
            };
            match r.parent {
                None => root = Some(r.id),
                Some(p) => {
                    let parent = pools
                        .get_mut(&p)
                        .ok_or_else(|| damaged(format!("pool {} has no parent {p}", r.id)))?;
                    parent.children.insert(key, r.id);
                }
            }
            pools.insert(pool.id, pool);
        }
        let root = root.ok_or_else(|| damaged("no root pool".into()))?;
        let media = MediaIndex::from_snapshot(snap.media).map_err(damaged)?;
        Ok(Catalog {
            root,
            pools,
            libraries,
            by_serial,
            media,
        })
    }

    fn pool(&self, id: Uuid) -> Option<&Pool> {
        self.pools.get(&id)
    }

    fn child(&self, parent: Uuid, name: &str) -> Option<Uuid> {
        self.pools.get(&parent)?.children.get(&fold(name)).copied()
    }

    fn lookup(&self, path: &PoolPath) -> Option<Uuid> {
        let mut cur = self.root;
        for c in path.components() {
            cur = self.child(cur, c)?;
        }
        Some(cur)
    }

    fn full_name(&self, id: Uuid) -> String {
        let mut parts = Vec::new();
        let mut cur = self.pools.get(&id);
        while let Some(p) = cur {
            if p.parent.is_none() {
                break;
            }
            parts.push(p.name.as_str());
            cur = p.parent.and_then(|q| self.pools.get(&q));
        }
        if parts.is_empty() {
            return "\\".into();
        }
        let mut s = String::new();
        for p in parts.iter().rev() {
            s.push('\\');
            s.push_str(p);
        }
        s
    }

    fn under_system(&self, id: Uuid) -> bool {
        let mut cur = self.pools.get(&id);
        while let Some(p) = cur {
            if p.kind.is_system() {
                return true;
            }
            cur = p.parent.and_then(|q| self.pools.get(&q));
        }
        false
    }

    fn info(&self, p: &Pool) -> PoolInfo {
        PoolInfo {
            id: p.id,
            name: self.full_name(p.id),
            kind: p.kind,
            pool_type: p.kind.pool_type(),
            media_type: p.media_type,
            media_type_id: p.media_type.map(MediaType::id),
            parent: p.parent.filter(|&q| q != self.root),
            allocation_policy: p.allocation_policy,
            deallocation_policy: p.deallocation_policy,
            max_allocates: p.max_allocates,
            physical_media: p.physical_media,
            logical_media: p.logical_media,
            child_pools: p.children.len() as u64,
            owner: p.security.owner,
            description: p.description.clone(),
            enabled: p.enabled,
            created_ms: p.created_ms,
            modified_ms: p.modified_ms,
        }
    }

    fn detected(&self, t: MediaType) -> bool {
        self.libraries.values().any(|l| l.media_types.contains(&t))
    }

    /// UTF-16 length of the longest path below `id`, relative to `id` (0 for a leaf).
    fn deepest_suffix(&self, id: Uuid) -> usize {
        let Some(p) = self.pools.get(&id) else {
            return 0;
        };
        p.children
            .values()
            .filter_map(|c| self.pools.get(c))
            .map(|c| 1 + c.name.encode_utf16().count() + self.deepest_suffix(c.id))
            .max()
            .unwrap_or(0)
    }

    fn insert(&mut self, pool: Pool) {
        if let Some(parent) = pool.parent.and_then(|q| self.pools.get_mut(&q)) {
            parent.children.insert(fold(&pool.name), pool.id);
        }
        self.pools.insert(pool.id, pool);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The RSM service: share it (`Arc<Rsm>`) across threads; every method takes `&self`.
#[derive(Debug)]
pub struct Rsm {
    store: Store,
    catalog: RwLock<Catalog>,
    writer: Mutex<()>,
    sessions: RwLock<HashMap<SessionId, Arc<Identity>>>,
    next_session: AtomicU64,
    ready: AtomicBool,
    config: Config,
    work: RwLock<Option<Arc<dyn MediaWork>>>,
    opreqs: OpReqs,
    applications: RwLock<HashMap<SessionId, String>>,
}

const NO_SESSION: &str = "the session is unknown or closed: open a new one";

impl Rsm {
    /// Opens the database at `path` (creating it, with the root pool and the three system
    /// containers, when new) and loads the catalogue. The service starts not ready: call
    /// [`set_ready`](Self::set_ready) once libraries are registered.
    ///
    /// # Errors
    /// - `ERROR_DATABASE_FAILURE`: the file cannot be opened or created, is not a database,
    ///   is damaged, read-only, locked longer than the busy timeout, or from a newer reel.
    /// - `ERROR_DATABASE_FULL`: no room to create the initial pools.
    /// - `ERROR_INVALID_PARAMETER`: the configured root descriptor is malformed.
    pub fn open(path: &Path, config: Config) -> Result<Rsm, RsmError> {
        if let Some(sd) = &config.root_security {
            sd.validate()?;
        }
        let store = Store::open(path, &config.db)?;
        let mut snap = store.load()?;
        if bootstrap(&store, &snap, &config)? {
            snap = store.load()?;
        }
        let catalog = Catalog::from_snapshot(snap)?;
        Ok(Rsm {
            store,
            catalog: RwLock::new(catalog),
            writer: Mutex::new(()),
            sessions: RwLock::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            ready: AtomicBool::new(false),
            config,
            work: RwLock::new(None),
            opreqs: OpReqs::default(),
            applications: RwLock::new(HashMap::new()),
        })
    }

    /// The database file (canonical path).
    pub fn database_path(&self) -> &Path {
        self.store.path()
    }

    fn cat(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner())
    }

    fn cat_mut(&self) -> RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(|p| p.into_inner())
    }

    fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the service ready (or not). Until it is, every call but opening and closing
    /// sessions and registering libraries returns `ERROR_NOT_READY`.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Whether the service is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The id of the hidden root pool.
    pub fn root_pool(&self) -> Uuid {
        self.cat().root
    }

    /// Objects (libraries, pools, media, sides, logical media) in the database: what the
    /// configured object limit counts.
    pub fn object_count(&self) -> u64 {
        self.store.objects()
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Opens a session for a client identity (the daemon takes it from `SO_PEERCRED`).
    /// Allowed before the service is ready.
    pub fn open_session(&self, identity: Identity) -> SessionId {
        let id = SessionId(self.next_session.fetch_add(1, Ordering::Relaxed));
        self.sessions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Arc::new(identity));
        id
    }

    /// Closes a session; every later call with it fails with `ERROR_INVALID_HANDLE`.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE` when the session is unknown or already closed.
    pub fn close_session(&self, session: SessionId) -> Result<(), RsmError> {
        self.sessions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&session)
            .map(drop)
            .ok_or_else(|| RsmError::InvalidHandle(NO_SESSION.into()))
    }

    /// The identity a session acts for.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE` when the session is unknown or closed.
    pub fn session_identity(&self, session: SessionId) -> Result<Identity, RsmError> {
        self.session(session).map(|i| (*i).clone())
    }

    fn session(&self, session: SessionId) -> Result<Arc<Identity>, RsmError> {
        self.sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&session)
            .cloned()
            .ok_or_else(|| RsmError::InvalidHandle(NO_SESSION.into()))
    }

    /// Session, then readiness: the first two checks of every call.
    fn begin(&self, session: SessionId) -> Result<Arc<Identity>, RsmError> {
        let who = self.session(session)?;
        if !self.is_ready() {
            return Err(RsmError::NotReady(
                "the service is still initializing: retry shortly".into(),
            ));
        }
        Ok(who)
    }

    fn can(&self, who: &Identity, sd: &SecurityDescriptor, wanted: AccessMask) -> bool {
        who.is_admin(self.config.admin_gid) || sd.allows(who, wanted)
    }

    fn require(
        &self,
        who: &Identity,
        pool: &Pool,
        wanted: AccessMask,
        op: &str,
        name: &str,
    ) -> Result<(), RsmError> {
        if self.can(who, &pool.security, wanted) {
            Ok(())
        } else {
            Err(RsmError::AccessDenied(format!(
                "uid {} may not {op} {name}: it needs {} on it",
                who.uid,
                wanted.names().join("+")
            )))
        }
    }

    fn local_system_uids(&self) -> Vec<u32> {
        let mut v = vec![0];
        if let Some(u) = self.config.system_uid {
            if u != 0 {
                v.push(u);
            }
        }
        v
    }

    /// Registers a library (one discovered changer) and the media types it currently detects.
    /// Idempotent: the same serial keeps its id; the detected set replaces the previous one;
    /// missing Free, Import and Unrecognized pools are created for each type. One transaction.
    /// Needs no session and is allowed before the service is ready (the daemon's own work).
    ///
    /// # Errors
    /// - `ERROR_INVALID_PARAMETER`: the serial is empty.
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: the write failed; nothing changed.
    pub fn register_library(
        &self,
        identity: &LibraryIdentity,
        detected: &[MediaType],
    ) -> Result<Uuid, RsmError> {
        let serial = identity.serial.trim();
        if serial.is_empty() {
            return Err(RsmError::InvalidParameter(
                "a library needs a serial number".into(),
            ));
        }
        let identity = LibraryIdentity {
            serial: serial.to_owned(),
            ..identity.clone()
        };
        let types: BTreeSet<MediaType> = detected.iter().copied().collect();
        let _w = self.write_lock();
        let now = now_ms();
        let (library, new_pools) = {
            let cat = self.cat();
            let existing = cat
                .by_serial
                .get(serial)
                .and_then(|id| cat.libraries.get(id));
            let library = Library {
                id: existing.map_or_else(Uuid::new_v4, |l| l.id),
                identity,
                created_ms: existing.map_or(now, |l| l.created_ms),
                media_types: types.clone(),
            };
            let security = self.config.default_root_security();
            let mut new_pools = Vec::new();
            for kind in [PoolKind::Free, PoolKind::Import, PoolKind::Unrecognized] {
                let container = cat
                    .child(cat.root, kind.container_name().unwrap_or_default())
                    .ok_or_else(|| {
                        DbError::failure(format!("the {kind} container is missing"), None)
                    })?;
                for &t in &types {
                    if cat.child(container, t.name()).is_none() {
                        new_pools.push(Pool::system(container, kind, t, security.clone(), now));
                    }
                }
            }
            (library, new_pools)
        };
        let is_new = !self.cat().libraries.contains_key(&library.id);
        self.store.write(|tx| {
            for &t in &types {
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
            tx.upsert_library(
                &LibraryRow {
                    id: library.id,
                    serial: library.identity.serial.clone(),
                    vendor: library.identity.vendor.clone(),
                    product: library.identity.product.clone(),
                    revision: library.identity.revision.clone(),
                    created_ms: library.created_ms,
                    modified_ms: now,
                },
                is_new,
            )?;
            let ids: Vec<Uuid> = types.iter().map(|t| t.id()).collect();
            tx.set_library_media_types(library.id, &ids)?;
            for p in &new_pools {
                tx.insert_pool(&p.row())?;
            }
            Ok::<_, RsmError>(())
        })?;
        let mut cat = self.cat_mut();
        let id = library.id;
        cat.by_serial.insert(library.identity.serial.clone(), id);
        cat.libraries.insert(id, library);
        for p in new_pools {
            cat.insert(p);
        }
        Ok(id)
    }

    /// The registered libraries.
    pub fn libraries(&self) -> Vec<LibraryInfo> {
        let cat = self.cat();
        let mut v: Vec<LibraryInfo> = cat
            .libraries
            .values()
            .map(|l| LibraryInfo {
                id: l.id,
                identity: l.identity.clone(),
                media_types: l.media_types.iter().copied().collect(),
            })
            .collect();
        v.sort_by(|a, b| a.identity.serial.cmp(&b.identity.serial));
        v
    }

    /// The media types some registered library currently detects, in catalogue order, each
    /// with the serials of those libraries (`reel media-types`).
    pub fn detected_media_types(&self) -> Vec<DetectedMediaType> {
        let cat = self.cat();
        MediaType::all()
            .iter()
            .filter_map(|&t| {
                let mut libraries: Vec<String> = cat
                    .libraries
                    .values()
                    .filter(|l| l.media_types.contains(&t))
                    .map(|l| l.identity.serial.clone())
                    .collect();
                libraries.sort();
                (!libraries.is_empty()).then(|| DetectedMediaType {
                    name: t,
                    id: t.id(),
                    libraries,
                })
            })
            .collect()
    }

    /// `CreateNtmsMediaPool`: creates or opens the pool `name`, following the decision table
    /// of rsm-media-pools §3 in its order. Returns the pool's id and whether it was created.
    ///
    /// `action` is [`NTMS_OPEN_EXISTING`], [`NTMS_CREATE_NEW`] or [`NTMS_OPEN_ALWAYS`];
    /// `media_type` `None` makes a pool that holds only pools; `security` `None` gives the
    /// default descriptor of §4.3.
    ///
    /// # Errors
    /// In the order checked:
    /// - `ERROR_INVALID_HANDLE`: the session is unknown or closed.
    /// - `ERROR_NOT_READY`: the service is still initializing.
    /// - `ERROR_INVALID_PARAMETER`: `name` is `None`; `action` is not 1, 2 or 3; `security` is
    ///   malformed.
    /// - `ERROR_INVALID_NAME`: the name breaks §2 (or is `\`).
    /// - `ERROR_OBJECT_NOT_FOUND`: OPEN_EXISTING and the pool is absent; or the parent is absent.
    /// - `ERROR_ACCESS_DENIED`: opening without USE on the pool; creating without CONTROL on
    ///   the root pool and on the parent.
    /// - `ERROR_ALREADY_EXISTS`: CREATE_NEW and the pool (or a system pool of that name) exists.
    /// - `ERROR_INVALID_MEDIA_POOL`: the parent is a system pool, lies under one, or holds media.
    /// - `ERROR_INVALID_MEDIA`: the media type is not in the catalogue or no registered library
    ///   detects it.
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: the write failed; nothing was written.
    pub fn create_media_pool(
        &self,
        session: SessionId,
        name: Option<&str>,
        media_type: Option<&MediaTypeRef>,
        action: u32,
        security: Option<&SecurityDescriptor>,
    ) -> Result<(Uuid, bool), RsmError> {
        // Rows 1 and 2.
        let who = self.begin(session)?;
        // Row 3.
        let name =
            name.ok_or_else(|| RsmError::InvalidParameter("the pool name is missing".into()))?;
        // Row 4.
        if !matches!(
            action,
            NTMS_OPEN_EXISTING | NTMS_CREATE_NEW | NTMS_OPEN_ALWAYS
        ) {
            return Err(RsmError::InvalidParameter(format!(
                "action {action} is not OPEN_EXISTING (1), CREATE_NEW (2) or OPEN_ALWAYS (3)"
            )));
        }
        // Row 5.
        if let Some(sd) = security {
            sd.validate()?;
        }
        // Row 6.
        let path = PoolPath::parse(name)?;
        let Some(parent_path) = path.parent() else {
            return Err(RsmError::InvalidName(
                "`\\` is the root pool; name a pool below it".into(),
            ));
        };
        // Row 7: the catalogue was read when the service opened (see the module doc).
        if action == NTMS_OPEN_EXISTING {
            // Row 8.
            let cat = self.cat();
            let id = cat
                .lookup(&path)
                .ok_or_else(|| RsmError::ObjectNotFound(format!("no pool {path}")))?;
            return self.open_found(&cat, &who, id, &path);
        }
        if action == NTMS_OPEN_ALWAYS {
            // Rows 9 and 10 without the writer lock: the common case of an existing pool.
            let cat = self.cat();
            let parent = cat.lookup(&parent_path).ok_or_else(|| {
                RsmError::ObjectNotFound(format!("no parent pool {parent_path}: create it first"))
            })?;
            if let Some(id) = cat.child(parent, path.leaf().unwrap_or_default()) {
                return self.open_found(&cat, &who, id, &path);
            }
        }
        let _w = self.write_lock();
        let pool = {
            let cat = self.cat();
            // Row 9.
            let parent_id = cat.lookup(&parent_path).ok_or_else(|| {
                RsmError::ObjectNotFound(format!("no parent pool {parent_path}: create it first"))
            })?;
            let leaf = path.leaf().unwrap_or_default();
            let existing = cat.child(parent_id, leaf);
            // Row 10.
            if let (Some(id), NTMS_OPEN_ALWAYS) = (existing, action) {
                return self.open_found(&cat, &who, id, &path);
            }
            let (Some(root), Some(parent)) = (cat.pool(cat.root), cat.pool(parent_id)) else {
                return Err(
                    DbError::failure("the catalogue lost the root or parent pool", None).into(),
                );
            };
            // Row 11.
            self.require(
                &who,
                root,
                AccessMask::CONTROL,
                "create pools in",
                "the root pool",
            )?;
            self.require(
                &who,
                parent,
                AccessMask::CONTROL,
                "create pools in",
                &parent_path.to_string(),
            )?;
            // Row 12.
            if existing.is_some() {
                return Err(RsmError::AlreadyExists(format!("pool {path} exists")));
            }
            // Row 13.
            if cat.under_system(parent_id) {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{parent_path} is a system pool: pools cannot be created under it"
                )));
            }
            if parent.holds_media() {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{parent_path} holds media (it has a media type), so it cannot hold pools"
                )));
            }
            // Row 14.
            let media_type = media_type
                .map(|r| self.detected_type(&cat, r))
                .transpose()?;
            let now = now_ms();
            Pool {
                id: Uuid::new_v4(),
                parent: Some(parent_id),
                name: leaf.to_owned(),
                kind: PoolKind::Application,
                media_type,
                description: String::new(),
                allocation_policy: 0,
                deallocation_policy: 0,
                max_allocates: 0,
                enabled: true,
                created_ms: now,
                modified_ms: now,
                security: self.new_pool_security(&who, parent, parent_id == cat.root, security),
                physical_media: 0,
                logical_media: 0,
                children: BTreeMap::new(),
            }
        };
        // Rows 15 and 16.
        let row = pool.row();
        self.store.write(|tx| tx.insert_pool(&row))?;
        // Row 17.
        let id = pool.id;
        self.cat_mut().insert(pool);
        Ok((id, true))
    }

    fn open_found(
        &self,
        cat: &Catalog,
        who: &Identity,
        id: Uuid,
        path: &PoolPath,
    ) -> Result<(Uuid, bool), RsmError> {
        let pool = cat
            .pool(id)
            .ok_or_else(|| RsmError::ObjectNotFound(format!("no pool {path}")))?;
        self.require(who, pool, AccessMask::USE, "open", &path.to_string())?;
        Ok((id, false))
    }

    fn detected_type(&self, cat: &Catalog, r: &MediaTypeRef) -> Result<MediaType, RsmError> {
        let t = r.resolve().ok_or_else(|| {
            RsmError::InvalidMedia(format!(
                "{r} is not a media type; `reel media-types` lists the types this library uses"
            ))
        })?;
        if !cat.detected(t) {
            return Err(RsmError::InvalidMedia(format!(
                "no registered library detects {t}: see `reel media-types`"
            )));
        }
        Ok(t)
    }

    fn new_pool_security(
        &self,
        creator: &Identity,
        parent: &Pool,
        parent_is_root: bool,
        supplied: Option<&SecurityDescriptor>,
    ) -> SecurityDescriptor {
        if let Some(sd) = supplied {
            return SecurityDescriptor::new(creator.uid, sd.entries.clone());
        }
        let mut entries = if parent_is_root {
            Vec::new()
        } else {
            parent.security.entries.clone()
        };
        let mut uids = vec![creator.uid];
        uids.extend(self.local_system_uids());
        for uid in uids {
            let full = Ace::allow(Who::Uid(uid), AccessMask::FULL);
            if !entries.contains(&full) {
                entries.push(full);
            }
        }
        SecurityDescriptor::new(creator.uid, entries)
    }

    /// The id of the pool named `name` (`\` alone is the root pool), for a caller with USE on it.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_NAME` for a name breaking §2;
    /// `ERROR_OBJECT_NOT_FOUND` when no such pool exists; `ERROR_ACCESS_DENIED` without USE.
    pub fn find_pool(&self, session: SessionId, name: &str) -> Result<Uuid, RsmError> {
        let who = self.begin(session)?;
        let path = PoolPath::parse(name)?;
        let cat = self.cat();
        let id = cat
            .lookup(&path)
            .ok_or_else(|| RsmError::ObjectNotFound(format!("no pool {path}")))?;
        self.open_found(&cat, &who, id, &path).map(|(id, _)| id)
    }

    /// `DeleteNtmsMediaPool` (§5.2). Returns the pool as it was.
    ///
    /// # Errors
    /// - `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`.
    /// - `ERROR_INVALID_PARAMETER`: the id is nil (absent).
    /// - `ERROR_ACCESS_DENIED`: the caller lacks MODIFY on the pool.
    /// - `ERROR_INVALID_MEDIA_POOL`: unknown id, the root pool, a system pool or one under it.
    /// - `ERROR_NOT_EMPTY`: the pool holds media or child pools.
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: the write failed; nothing changed.
    pub fn delete_media_pool(&self, session: SessionId, pool: Uuid) -> Result<PoolInfo, RsmError> {
        let who = self.begin(session)?;
        if pool.is_nil() {
            return Err(RsmError::InvalidParameter("the pool id is missing".into()));
        }
        let _w = self.write_lock();
        let info = {
            let cat = self.cat();
            let p = cat
                .pool(pool)
                .ok_or_else(|| RsmError::InvalidMediaPool(format!("no pool has id {pool}")))?;
            let name = cat.full_name(pool);
            self.require(&who, p, AccessMask::MODIFY, "delete", &name)?;
            if p.kind == PoolKind::Root || cat.under_system(pool) {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{name} is managed by the server and cannot be deleted"
                )));
            }
            if !p.is_empty() {
                return Err(RsmError::NotEmpty(format!(
                    "{name} holds {}; empty it first",
                    holdings(p.physical_media, p.logical_media, p.children.len())
                )));
            }
            cat.info(p)
        };
        self.store.write(|tx| tx.delete_pool(pool))?;
        let mut cat = self.cat_mut();
        if let Some(p) = cat.pools.remove(&pool) {
            if let Some(parent) = p.parent.and_then(|q| cat.pools.get_mut(&q)) {
                parent.children.remove(&fold(&p.name));
            }
        }
        Ok(info)
    }

    /// `EnumerateNtmsObject` for media pools (§5.3): the child pools of `container` (the
    /// top-level pools when `None`), in name order; with [`NTMS_ENUM_ROOTPOOL`] the root
    /// pool first, then the top-level pools. An empty result is success.
    ///
    /// # Errors
    /// - `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`.
    /// - `ERROR_INVALID_PARAMETER`: options other than 0/1; ROOTPOOL with a container; a
    ///   container that is not a pool (a library, a media type).
    /// - `ERROR_OBJECT_NOT_FOUND`: the container is unknown.
    /// - `ERROR_ACCESS_DENIED`: the caller lacks USE on the container (the root pool for `None`).
    pub fn enumerate_pools(
        &self,
        session: SessionId,
        container: Option<Uuid>,
        options: u32,
    ) -> Result<Vec<Uuid>, RsmError> {
        let who = self.begin(session)?;
        let cat = self.cat();
        self.enumerate_in(&cat, &who, container, options)
    }

    /// [`enumerate_pools`](Self::enumerate_pools) into a caller's buffer of ids, as the C API
    /// does: `Ok(count)` when everything fit.
    ///
    /// # Errors
    /// As [`enumerate_pools`](Self::enumerate_pools), and `ERROR_INSUFFICIENT_BUFFER` when the
    /// buffer is too small: it then holds the first `buf.len()` ids and `needed` is the count
    /// needed (a retry may still fall short if pools were added meanwhile).
    pub fn enumerate_pools_into(
        &self,
        session: SessionId,
        container: Option<Uuid>,
        options: u32,
        buf: &mut [Uuid],
    ) -> Result<usize, RsmError> {
        let ids = self.enumerate_pools(session, container, options)?;
        let n = ids.len().min(buf.len());
        buf[..n].copy_from_slice(&ids[..n]);
        if ids.len() > buf.len() {
            return Err(RsmError::InsufficientBuffer {
                needed: ids.len(),
                given: buf.len(),
            });
        }
        Ok(ids.len())
    }

    /// [`enumerate_pools`](Self::enumerate_pools) with each pool's information, read at one
    /// instant (`reel pool list`).
    ///
    /// # Errors
    /// As [`enumerate_pools`](Self::enumerate_pools).
    pub fn list_pools(
        &self,
        session: SessionId,
        container: Option<Uuid>,
        options: u32,
    ) -> Result<Vec<PoolInfo>, RsmError> {
        let who = self.begin(session)?;
        let cat = self.cat();
        let ids = self.enumerate_in(&cat, &who, container, options)?;
        Ok(ids
            .into_iter()
            .filter_map(|id| cat.pool(id).map(|p| cat.info(p)))
            .collect())
    }

    fn enumerate_in(
        &self,
        cat: &Catalog,
        who: &Identity,
        container: Option<Uuid>,
        options: u32,
    ) -> Result<Vec<Uuid>, RsmError> {
        if !matches!(options, NTMS_ENUM_DEFAULT | NTMS_ENUM_ROOTPOOL) {
            return Err(RsmError::InvalidParameter(format!(
                "enumeration option {options} is not DEFAULT (0) or ROOTPOOL (1)"
            )));
        }
        if options == NTMS_ENUM_ROOTPOOL && container.is_some() {
            return Err(RsmError::InvalidParameter(
                "ROOTPOOL needs a null container".into(),
            ));
        }
        let id = container.unwrap_or(cat.root);
        let Some(p) = cat.pool(id) else {
            if cat.libraries.contains_key(&id) || MediaType::from_id(id).is_some() {
                return Err(RsmError::InvalidParameter(format!(
                    "{id} is not a pool: pools are enumerated in pools"
                )));
            }
            return Err(RsmError::ObjectNotFound(format!("no object has id {id}")));
        };
        let name = cat.full_name(id);
        self.require(who, p, AccessMask::USE, "enumerate", &name)?;
        let mut ids = Vec::with_capacity(p.children.len() + 1);
        if options == NTMS_ENUM_ROOTPOOL {
            ids.push(cat.root);
        }
        ids.extend(p.children.values().copied());
        Ok(ids)
    }

    fn pool_for<'c>(&self, cat: &'c Catalog, id: Uuid) -> Result<&'c Pool, RsmError> {
        if id.is_nil() {
            return Err(RsmError::InvalidParameter(
                "the object id is missing".into(),
            ));
        }
        cat.pool(id)
            .ok_or_else(|| RsmError::ObjectNotFound(format!("no pool has id {id}")))
    }

    /// `GetNtmsObjectInformation` for a pool (§5.4).
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for a nil id;
    /// `ERROR_OBJECT_NOT_FOUND` for an unknown one; `ERROR_ACCESS_DENIED` without USE.
    pub fn get_pool_info(&self, session: SessionId, pool: Uuid) -> Result<PoolInfo, RsmError> {
        let who = self.begin(session)?;
        let cat = self.cat();
        let p = self.pool_for(&cat, pool)?;
        self.require(&who, p, AccessMask::USE, "read", &cat.full_name(pool))?;
        Ok(cat.info(p))
    }

    /// `SetNtmsObjectInformation` for a pool (§5.4): writes every writable member at once
    /// (last writer wins; get first). Returns the pool as it now is.
    ///
    /// # Errors
    /// - `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`.
    /// - `ERROR_INVALID_PARAMETER`: nil id; a policy other than 0/1; a description longer than
    ///   126 UTF-16 units.
    /// - `ERROR_OBJECT_NOT_FOUND`: unknown id.
    /// - `ERROR_ACCESS_DENIED`: the caller lacks MODIFY on the pool.
    /// - `ERROR_INVALID_MEDIA_POOL`: renaming, or changing the media type of, the root or a system pool.
    /// - `ERROR_INVALID_NAME`: the new name breaks §2, or would make a descendant's path too long.
    /// - `ERROR_ALREADY_EXISTS`: a sibling has the new name.
    /// - `ERROR_INVALID_MEDIA`: the new media type is unknown or not detected.
    /// - `ERROR_NOT_EMPTY`: changing the media type of a pool holding media or child pools.
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: the write failed; nothing changed.
    pub fn set_pool_info(
        &self,
        session: SessionId,
        pool: Uuid,
        update: &PoolUpdate,
    ) -> Result<PoolInfo, RsmError> {
        let who = self.begin(session)?;
        for (what, v) in [
            ("allocation policy", update.allocation_policy),
            ("deallocation policy", update.deallocation_policy),
        ] {
            if v > 1 {
                return Err(RsmError::InvalidParameter(format!(
                    "{what} {v} is not 0 or 1"
                )));
            }
        }
        let units = update.description.encode_utf16().count();
        if units > 126 {
            return Err(RsmError::InvalidParameter(format!(
                "the description is {units} UTF-16 units long, at most 126 allowed"
            )));
        }
        let _w = self.write_lock();
        let new = {
            let cat = self.cat();
            let p = self.pool_for(&cat, pool)?;
            let full = cat.full_name(pool);
            self.require(&who, p, AccessMask::MODIFY, "change", &full)?;
            let renamed = update.name != p.name;
            let media_type = match &update.media_type {
                None => None,
                Some(r) if r.resolve() == p.media_type && p.media_type.is_some() => p.media_type,
                Some(r) => Some(self.detected_type(&cat, r)?),
            };
            let retyped = media_type != p.media_type;
            if (renamed || retyped) && (p.kind == PoolKind::Root || p.kind.is_system()) {
                return Err(RsmError::InvalidMediaPool(format!(
                    "{full} is managed by the server: its name and media type cannot change"
                )));
            }
            if renamed {
                let units = check_component(&update.name)?;
                let parent = p.parent.unwrap_or(cat.root);
                if let Some(other) = cat.child(parent, &update.name) {
                    if other != pool {
                        return Err(RsmError::AlreadyExists(format!(
                            "{} exists",
                            cat.full_name(other)
                        )));
                    }
                }
                let parent_units = if parent == cat.root {
                    0
                } else {
                    cat.full_name(parent).encode_utf16().count()
                };
                let longest = parent_units + 1 + units + cat.deepest_suffix(pool);
                if longest > MAX_PATH_UNITS {
                    return Err(RsmError::InvalidName(format!(
                        "renaming would make a path of {longest} UTF-16 units, at most {MAX_PATH_UNITS} allowed"
                    )));
                }
            }
            if retyped && (p.physical_media > 0 || p.logical_media > 0 || !p.children.is_empty()) {
                return Err(RsmError::NotEmpty(format!(
                    "{full} holds media or pools: its media type cannot change"
                )));
            }
            Pool {
                name: update.name.clone(),
                description: update.description.clone(),
                media_type,
                allocation_policy: update.allocation_policy,
                deallocation_policy: update.deallocation_policy,
                max_allocates: update.max_allocates,
                modified_ms: now_ms(),
                ..p.clone()
            }
        };
        let row = new.row();
        self.store.write(|tx| tx.update_pool(&row))?;
        let mut cat = self.cat_mut();
        let old_key = cat.pools.get(&pool).map(|p| fold(&p.name));
        if let (Some(old_key), Some(parent)) =
            (old_key, new.parent.and_then(|q| cat.pools.get_mut(&q)))
        {
            parent.children.remove(&old_key);
            parent.children.insert(fold(&new.name), pool);
        }
        cat.pools.insert(pool, new);
        let info = cat.pools.get(&pool).map(|p| cat.info(p));
        info.ok_or_else(|| RsmError::ObjectNotFound(format!("pool {pool} vanished")))
    }

    /// `GetNtmsMediaPoolName` (§5.5): the full hierarchy, `\App\Pool`.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for a nil id;
    /// `ERROR_INVALID_MEDIA_POOL` for an unknown one; `ERROR_ACCESS_DENIED` without USE.
    pub fn pool_name(&self, session: SessionId, pool: Uuid) -> Result<String, RsmError> {
        let who = self.begin(session)?;
        if pool.is_nil() {
            return Err(RsmError::InvalidParameter("the pool id is missing".into()));
        }
        let cat = self.cat();
        let p = cat
            .pool(pool)
            .ok_or_else(|| RsmError::InvalidMediaPool(format!("no pool has id {pool}")))?;
        let name = cat.full_name(pool);
        self.require(&who, p, AccessMask::USE, "read", &name)?;
        Ok(name)
    }

    /// [`pool_name`](Self::pool_name) for a caller's buffer of `capacity` UTF-16 units
    /// including the terminator, as the C API sizes it.
    ///
    /// # Errors
    /// As [`pool_name`](Self::pool_name), and `ERROR_INSUFFICIENT_BUFFER` with the size
    /// needed (UTF-16 units including the terminator) when `capacity` is smaller.
    pub fn pool_name_sized(
        &self,
        session: SessionId,
        pool: Uuid,
        capacity: usize,
    ) -> Result<String, RsmError> {
        let name = self.pool_name(session, pool)?;
        let needed = name.encode_utf16().count() + 1;
        if capacity < needed {
            return Err(RsmError::InsufficientBuffer {
                needed,
                given: capacity,
            });
        }
        Ok(name)
    }

    fn securable<'c>(&self, cat: &'c Catalog, id: Uuid) -> Result<&'c Pool, RsmError> {
        if id.is_nil() {
            return Err(RsmError::InvalidParameter(
                "the object id is missing".into(),
            ));
        }
        if let Some(p) = cat.pool(id) {
            return Ok(p);
        }
        if cat.libraries.contains_key(&id) || MediaType::from_id(id).is_some() {
            return Err(RsmError::NoSecurityOnObject(format!(
                "object {id} has no security descriptor"
            )));
        }
        Err(RsmError::ObjectNotFound(format!("no object has id {id}")))
    }

    /// `GetNtmsObjectSecurity` for a pool, the root pool included (§5.9).
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`; `ERROR_INVALID_PARAMETER` for a nil id;
    /// `ERROR_NO_SECURITY_ON_OBJECT` for a library or media type; `ERROR_OBJECT_NOT_FOUND`
    /// for an unknown id; `ERROR_ACCESS_DENIED` without READ_CONTROL (the owner always has it).
    pub fn get_security(
        &self,
        session: SessionId,
        object: Uuid,
    ) -> Result<SecurityDescriptor, RsmError> {
        let who = self.begin(session)?;
        let cat = self.cat();
        let p = self.securable(&cat, object)?;
        self.require(
            &who,
            p,
            AccessMask::READ_CONTROL,
            "read the security of",
            &cat.full_name(object),
        )?;
        Ok(p.security.clone())
    }

    /// `SetNtmsObjectSecurity` for a pool, the root pool included (§5.9): replaces the access
    /// list (and, for administrators, the owner). Existing children keep theirs.
    ///
    /// # Errors
    /// - `ERROR_INVALID_HANDLE`, `ERROR_NOT_READY`.
    /// - `ERROR_INVALID_PARAMETER`: nil id or a malformed descriptor.
    /// - `ERROR_NO_SECURITY_ON_OBJECT`, `ERROR_OBJECT_NOT_FOUND`: as [`get_security`](Self::get_security).
    /// - `ERROR_ACCESS_DENIED`: the caller has neither WRITE_DAC nor ownership, or changes the
    ///   owner without being an administrator.
    /// - `ERROR_DATABASE_FULL`, `ERROR_DATABASE_FAILURE`: the write failed; nothing changed.
    pub fn set_security(
        &self,
        session: SessionId,
        object: Uuid,
        security: &SecurityDescriptor,
    ) -> Result<(), RsmError> {
        let who = self.begin(session)?;
        if object.is_nil() {
            return Err(RsmError::InvalidParameter(
                "the object id is missing".into(),
            ));
        }
        security.validate()?;
        let _w = self.write_lock();
        let now = now_ms();
        {
            let cat = self.cat();
            let p = self.securable(&cat, object)?;
            let name = cat.full_name(object);
            self.require(
                &who,
                p,
                AccessMask::WRITE_DAC,
                "change the security of",
                &name,
            )?;
            if security.owner != p.security.owner && !who.is_admin(self.config.admin_gid) {
                return Err(RsmError::AccessDenied(format!(
                    "only an administrator may change the owner of {name}"
                )));
            }
        }
        let json = security_json(security);
        self.store
            .write(|tx| tx.set_pool_security(object, security.owner_uid(), &json, now))?;
        if let Some(p) = self.cat_mut().pools.get_mut(&object) {
            p.security = security.clone();
            p.modified_ms = now;
        }
        Ok(())
    }
}

/// Creates what a new database needs (the root pool, the three system containers) in one
/// transaction. Returns whether anything was created.
fn bootstrap(store: &Store, snap: &Snapshot, config: &Config) -> Result<bool, RsmError> {
    let now = now_ms();
    let security = config.default_root_security();
    let pool = |id, parent, name: &str, kind: PoolKind| PoolRow {
        id,
        parent,
        name: name.to_owned(),
        name_key: fold(name),
        description: String::new(),
        pool_type: kind.pool_type(),
        media_type: None,
        allocation_policy: 0,
        deallocation_policy: 0,
        max_allocates: 0,
        enabled: true,
        created_ms: now,
        modified_ms: now,
        owner_uid: security.owner_uid(),
        security: security_json(&security),
        physical_media: 0,
        logical_media: 0,
    };
    let mut rows = Vec::new();
    let root = match snap.pools.iter().find(|p| p.parent.is_none()) {
        Some(r) => r.id,
        None => {
            let id = Uuid::new_v4();
            rows.push(pool(id, None, "", PoolKind::Root));
            id
        }
    };
    for kind in [PoolKind::Free, PoolKind::Import, PoolKind::Unrecognized] {
        let name = kind.container_name().unwrap_or_default();
        let present = snap
            .pools
            .iter()
            .any(|p| p.parent == Some(root) && p.name_key == fold(name));
        if !present {
            rows.push(pool(Uuid::new_v4(), Some(root), name, kind));
        }
    }
    if rows.is_empty() {
        return Ok(false);
    }
    store.write(|tx| {
        for r in &rows {
            tx.insert_pool(r)?;
        }
        Ok::<_, RsmError>(())
    })?;
    Ok(true)
}

mod catalogue;
mod lifecycle;
mod register;

use catalogue::MediaIndex;
pub use lifecycle::{Deallocated, MediaFilter, MediaObject, MediaPage, Moved};

#[cfg(test)]
mod media_tests;
#[cfg(test)]
mod tests;

/// What a pool still holds, in words: "1 child pool", "2 physical media and 1 child pool".
fn holdings(physical: u64, logical: u64, pools: usize) -> String {
    let mut parts = Vec::new();
    if physical > 0 {
        parts.push(format!(
            "{physical} physical {}",
            plural(physical, "medium", "media")
        ));
    }
    if logical > 0 {
        parts.push(format!(
            "{logical} logical {}",
            plural(logical, "medium", "media")
        ));
    }
    if pools > 0 {
        parts.push(format!(
            "{pools} child {}",
            plural(pools as u64, "pool", "pools")
        ));
    }
    match parts.len() {
        0 => "nothing".to_owned(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod message_tests {
    use super::holdings;

    #[test]
    fn holdings_read_as_words() {
        for (physical, logical, pools, want) in [
            (0, 0, 1, "1 child pool"),
            (0, 0, 3, "3 child pools"),
            (1, 0, 0, "1 physical medium"),
            (2, 1, 0, "2 physical media and 1 logical medium"),
            (
                2,
                2,
                2,
                "2 physical media, 2 logical media and 2 child pools",
            ),
        ] {
            assert_eq!(holdings(physical, logical, pools), want);
        }
    }
}
