//! The daemon's [`Backend`]: wire calls carried to the pool layer ([`crate::pool::Rsm`]) and
//! to the device actor, with the inventory discovery last produced.
//!
//! Every RSM error crosses the wire in one place ([`status_of`]): its Win32 name, number and
//! text.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};
use tracing::{info, warn};

use crate::controller::{CartridgeState, ControlError, MediumRef, MountOptions, Observed};
use crate::discovery::{ElementKind, Inventory, Location};
use crate::media::MediaTypeRef;
use crate::pool::media::{LocationKind, MediaState};
use crate::pool::work::{LabelOutcome, LabelRequest, MediaWork, WorkError};
use crate::pool::MediaObject;
use crate::pool::{
    self, Identity, LibraryIdentity, MediaFilter, Rsm, RsmError, SecurityDescriptor, SessionId,
    Win32Code, NTMS_CREATE_NEW, NTMS_ENUM_DEFAULT, NTMS_ENUM_ROOTPOOL, NTMS_OPEN_ALWAYS,
    NTMS_OPEN_EXISTING,
};

use super::devices::{DeviceController, DiscoveredLibrary, StartFn};
use super::peer::PeerIdentity;
use super::server::Backend;
use super::wire::{
    AceKind, Call, CreateDisposition, Created, MediaTypeEntry, MediaTypes, ObjectType, Status,
    WireSecurity,
};
use super::wire::{DeallocatedReply, MediaList, MovedReply, OperatorRequests, MAX_MEDIA_PAGE};

/// Records every move and state change the controller makes in the media catalogue, in the
/// order they happened, on a thread of its own: a label write holds the service's write lock
/// while the controller works for it, so the controller must never wait for the catalogue.
/// [`CatalogueRecorder::flush`] waits until everything observed so far is committed; the
/// mount and dismount calls flush before they answer.
struct CatalogueRecorder {
    tx: std::sync::Mutex<std::sync::mpsc::Sender<Observed>>,
    progress: Arc<(std::sync::Mutex<(u64, u64)>, std::sync::Condvar)>,
    /// Cartridges whose moves the service itself accounts for (a label write returns the
    /// cartridge where it was, under the service's own lock).
    muted: std::sync::Mutex<Vec<String>>,
}

impl CatalogueRecorder {
    fn start(rsm: std::sync::Weak<Rsm>) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<Observed>();
        let progress: Arc<(std::sync::Mutex<(u64, u64)>, std::sync::Condvar)> = Arc::default();
        let p = progress.clone();
        std::thread::Builder::new()
            .name("reel-catalogue".into())
            .spawn(move || {
                for o in rx {
                    if let Some(rsm) = rsm.upgrade() {
                        record(&rsm, &o);
                    }
                    let (m, cv) = &*p;
                    m.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
                    cv.notify_all();
                }
            })?;
        Ok(CatalogueRecorder {
            tx: std::sync::Mutex::new(tx),
            progress,
            muted: std::sync::Mutex::default(),
        })
    }

    fn mute(&self, barcode: &str, on: bool) {
        let mut m = self.muted.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            m.push(barcode.to_owned());
        } else if let Some(i) = m.iter().position(|b| b == barcode) {
            m.swap_remove(i);
        }
    }

    fn observe(&self, o: &Observed) {
        if let Some(b) = &o.barcode {
            if self
                .muted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(b)
            {
                return;
            }
        }
        let (m, _) = &*self.progress;
        m.lock().unwrap_or_else(|e| e.into_inner()).0 += 1;
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(o.clone());
        if sent.is_err() {
            m.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
        }
    }

    /// Waits (at most `limit`) until every observation made so far is recorded.
    fn flush(&self, limit: Duration) {
        let (m, cv) = &*self.progress;
        let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
        let want = g.0;
        let until = std::time::Instant::now() + limit;
        while g.1 < want {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                warn!("the catalogue is slow to record the controller's moves");
                return;
            }
            g = cv
                .wait_timeout(g, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Puts one observation into the catalogue.
fn record(rsm: &Rsm, o: &Observed) {
    let Some(barcode) = &o.barcode else { return };
    let Some(id) = rsm.medium_id_by_barcode(barcode) else {
        return;
    };
    let Some(library) = rsm
        .libraries()
        .into_iter()
        .find(|l| l.identity.serial == o.library)
    else {
        return;
    };
    let kind = match o.at.kind {
        ElementKind::Slot => LocationKind::Slot,
        ElementKind::Drive => LocationKind::Drive,
        ElementKind::ImportExport => LocationKind::Ie,
        ElementKind::Transport => LocationKind::Transport,
    };
    let state = match o.state {
        CartridgeState::Idle => MediaState::Idle,
        CartridgeState::Mounted => MediaState::Mounted,
        CartridgeState::Loaded => MediaState::Loaded,
    };
    let at = pool::media::Location::at(library.id, kind, o.at.address);
    if let Err(e) = rsm.record_location(id, at, state) {
        warn!(error = %e, barcode = %barcode, "cannot record where the controller put a cartridge");
    }
}

/// The service's physical work ([`MediaWork`]) carried out on the controller's scheduler.
#[derive(Debug)]
struct ControllerWork {
    controller: DeviceController,
    recorder: Arc<CatalogueRecorder>,
}

impl MediaWork for ControllerWork {
    fn write_label(&self, r: &LabelRequest) -> Result<LabelOutcome, WorkError> {
        let medium = match &r.barcode {
            Some(b) => MediumRef::Barcode(b.clone()),
            None => {
                let kind = match r.kind {
                    LocationKind::Drive => ElementKind::Drive,
                    LocationKind::Ie => ElementKind::ImportExport,
                    LocationKind::Transport => ElementKind::Transport,
                    _ => ElementKind::Slot,
                };
                MediumRef::At(Location {
                    kind,
                    address: r.address,
                })
            }
        };
        let attrs = super::label::label_attributes(r);
        if let Some(b) = &r.barcode {
            self.recorder.mute(b, true);
        }
        let wrote = self
            .controller
            .write_mam(medium, Some(r.library.clone()), attrs);
        if let Some(b) = &r.barcode {
            self.recorder.mute(b, false);
        }
        match wrote {
            Ok(true) => Ok(LabelOutcome::Written),
            Ok(false) => Ok(LabelOutcome::Unsupported),
            Err(e) => Err(WorkError(e.to_string())),
        }
    }
}

impl std::fmt::Debug for CatalogueRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogueRecorder")
    }
}

/// A resolved medium's LMID and physical medium id.
type Ids = (Option<uuid::Uuid>, Option<uuid::Uuid>);

/// What start-up produced.
#[derive(Debug)]
struct Started {
    recorder: Arc<CatalogueRecorder>,
    controller: DeviceController,
    inventory: Inventory,
    libraries: Vec<DiscoveredLibrary>,
}

/// The RSM service as the daemon serves it.
#[derive(Debug)]
pub struct RsmBackend {
    rsm: Arc<Rsm>,
    started: OnceLock<Started>,
    since: std::time::Instant,
}

/// The wire form of a pool-layer error.
pub fn status_of(e: &RsmError) -> Status {
    Status::new(e.win32(), e.to_string())
}

/// The wire form of a controller error, with the device's decoded sense when there is one.
pub fn status_of_control(e: &ControlError) -> Status {
    let code = e.code();
    let mut s = Status::new(code, e.to_string());
    s.sense = e.sense().map(super::wire::WireSense::from);
    s
}

fn rsm<T>(r: Result<T, RsmError>) -> Result<T, Status> {
    r.map_err(|e| status_of(&e))
}

fn ctl<T>(r: Result<T, ControlError>) -> Result<T, Status> {
    r.map_err(|e| status_of_control(&e))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, Status> {
    serde_json::to_value(v).map_err(|e| {
        Status::new(
            Win32Code::ERROR_NOT_ENOUGH_MEMORY,
            format!("cannot encode the reply: {e}"),
        )
    })
}

fn location(text: &str) -> Result<Location, Status> {
    text.parse()
        .map_err(|e: crate::discovery::LocationError| Status::invalid_parameter(e.to_string()))
}

impl RsmBackend {
    /// A backend over an open pool service. Not ready until
    /// [`initialize`](Self::initialize) has run.
    pub fn new(rsm: Arc<Rsm>) -> RsmBackend {
        RsmBackend {
            rsm,
            started: OnceLock::new(),
            since: std::time::Instant::now(),
        }
    }

    /// The pool service.
    pub fn rsm(&self) -> &Arc<Rsm> {
        &self.rsm
    }

    /// The controller, once start-up is done.
    pub fn controller(&self) -> Option<&DeviceController> {
        self.started.get().map(|s| &s.controller)
    }

    /// Start-up: discovery and the controller (`start`), then every library and its media
    /// types (and so their system pools) registered, then the service marked ready. Blocking.
    ///
    /// # Errors
    /// Discovery's failure, or the database's.
    pub fn initialize(&self, start: StartFn) -> Result<(), Status> {
        let startup = start().map_err(|m| Status::new(Win32Code::ERROR_DEVICE_NOT_AVAILABLE, m))?;
        let libraries = startup.libraries;
        self.register(&libraries)?;
        if libraries.is_empty() {
            warn!("discovery found no library: only pools of pools can be created");
        }
        let recorder = Arc::new(
            CatalogueRecorder::start(Arc::downgrade(&self.rsm))
                .map_err(|e| Status::new(Win32Code::ERROR_NOT_ENOUGH_MEMORY, e.to_string()))?,
        );
        let r = recorder.clone();
        startup
            .controller
            .set_observer(Arc::new(move |o: &Observed| r.observe(o)));
        self.rsm.set_media_work(Arc::new(ControllerWork {
            controller: startup.controller.clone(),
            recorder: recorder.clone(),
        }));
        let _ = self.started.set(Started {
            controller: startup.controller,
            inventory: startup.inventory,
            libraries,
            recorder,
        });
        self.rsm.set_ready(true);
        info!("ready");
        Ok(())
    }

    /// Registers each library, its media types and its cartridges with the pool layer.
    fn register(&self, libraries: &[DiscoveredLibrary]) -> Result<(), Status> {
        for lib in libraries {
            let identity = LibraryIdentity {
                serial: lib.serial.clone(),
                vendor: lib.vendor.clone(),
                product: lib.product.clone(),
                revision: lib.revision.clone(),
            };
            let id = rsm(self.rsm.register_library(&identity, &lib.media_types))?;
            let report = rsm(self.rsm.register_media(id, &lib.cartridges))?;
            for w in &report.warnings {
                warn!(serial = %lib.serial, "{w}");
            }
            info!(
                serial = %lib.serial,
                media_types = %lib
                    .media_types
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                added = report.added,
                updated = report.updated,
                offline = report.offline,
                dropped = report.dropped,
                cleaners = report.cleaners,
                "library registered"
            );
        }
        Ok(())
    }

    /// Stops the controller's workers (service stop: queued work is dropped).
    pub fn stop(&self) {
        if let Some(c) = self.controller() {
            c.stop();
        }
    }

    fn started(&self) -> Result<&Started, Status> {
        self.started
            .get()
            .ok_or_else(|| Status::not_ready("the service is still initializing: retry shortly"))
    }

    /// The `library` document: discovery's report with the libraries as the controller's
    /// models know them now.
    fn library_document(&self, rescan: bool) -> Result<Value, Status> {
        let started = self.started()?;
        let c = &started.controller;
        if rescan {
            for i in 0..c.models().len() {
                ctl(c.rescan(i, true))?;
            }
            let found: Vec<DiscoveredLibrary> = c
                .models()
                .iter()
                .map(|m| DiscoveredLibrary::from_model(&m.render()))
                .collect();
            self.register(&found)?;
        }
        let doc = Inventory {
            libraries: c.models().iter().map(|m| m.render()).collect(),
            unmatched_drives: started.inventory.unmatched_drives.clone(),
            warnings: started.inventory.warnings.clone(),
            stats: None,
        };
        to_value(&doc)
    }

    /// A medium argument of `mount`/`dismount`: an LMID, side or medium id, or a bar code,
    /// looked up in the catalogue with USE on its pool (§3 rights); an element (`slot:1000`)
    /// names a cartridge directly and is a technician's form. Returns the controller's
    /// reference, the LMID and the medium id.
    ///
    /// # Errors
    /// The catalogue's (`ERROR_INVALID_MEDIA`, `ERROR_OBJECT_NOT_FOUND`,
    /// `ERROR_ACCESS_DENIED`); `ERROR_MEDIA_OFFLINE` for a medium outside every library
    /// (operator requests to bring one back are not raised yet); `ERROR_WRITE_PROTECT` for
    /// `write` on a COMPLETE side.
    fn resolve_medium(
        &self,
        s: SessionId,
        text: &str,
        write: bool,
        error_if_offline: bool,
    ) -> Result<(MediumRef, Ids), Status> {
        if let Ok(l) = text.parse::<Location>() {
            self.technician(s)?;
            return Ok((MediumRef::At(l), (None, None)));
        }
        let info = match uuid::Uuid::parse_str(text) {
            Ok(id) => rsm(self.rsm.get_medium(s, id))?,
            Err(_) => rsm(self.rsm.find_medium(s, text))?,
        };
        let asked = uuid::Uuid::parse_str(text).ok();
        let lmid = info
            .sides
            .iter()
            .find_map(|side| side.lmid.filter(|l| Some(*l) == asked))
            .or_else(|| info.sides.first().and_then(|side| side.lmid));
        let name = info.barcode.clone().unwrap_or_else(|| info.id.to_string());
        if info.location.kind == LocationKind::Offline {
            let how = if error_if_offline {
                "it is offline"
            } else {
                "it is offline (put it back into the library, then mount it again)"
            };
            return Err(Status::new(
                Win32Code::ERROR_MEDIA_OFFLINE,
                format!("{name}: {how}"),
            ));
        }
        if write
            && info
                .sides
                .iter()
                .any(|side| side.state == crate::pool::SideState::Complete)
        {
            return Err(Status::new(
                Win32Code::ERROR_WRITE_PROTECT,
                format!("{name} is complete: it can only be mounted for reading"),
            ));
        }
        let r = match (&info.barcode, info.location.address) {
            (Some(b), _) => MediumRef::Barcode(b.clone()),
            (None, Some(address)) => {
                let kind = match info.location.kind {
                    LocationKind::Drive => ElementKind::Drive,
                    LocationKind::Ie => ElementKind::ImportExport,
                    LocationKind::Transport => ElementKind::Transport,
                    _ => ElementKind::Slot,
                };
                MediumRef::At(Location { kind, address })
            }
            (None, None) => {
                return Err(Status::new(
                    Win32Code::ERROR_MEDIA_OFFLINE,
                    format!("{name}: the catalogue does not know where it is"),
                ))
            }
        };
        Ok((r, (lmid, Some(info.id))))
    }

    /// Technician commands (moves, DismountNtmsDrive) need an administrator or the daemon's
    /// own uid until libraries carry access lists [design].
    fn technician(&self, s: SessionId) -> Result<(), Status> {
        let who = rsm(self.rsm.session_identity(s))?;
        let config = self.rsm.config();
        if who.is_admin(config.admin_gid) || config.system_uid == Some(who.uid) {
            Ok(())
        } else {
            Err(Status::new(
                Win32Code::ERROR_ACCESS_DENIED,
                "technician commands need root, the admin group or the daemon's own user",
            ))
        }
    }

    fn status(&self) -> Result<Value, Status> {
        let ready = self.rsm.is_ready();
        let mut status = json!({
            "ready": ready,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": self.since.elapsed().as_secs(),
            "libraries": [],
            "scsi": {"commands": 0, "by_command": {}},
        });
        if let Ok(started) = self.started() {
            let c = started.controller.status();
            status["libraries"] = to_value(&c.libraries)?;
            status["scsi"] = to_value(&c.scsi)?;
            status["mounts"] = json!({"completed": c.mounts, "failed": c.mounts_failed,
                                      "dismounts": c.dismounts});
        }
        Ok(json!({ "status": status }))
    }

    /// Session, then readiness: what every call that reaches no pool function checks.
    fn begin(&self, s: SessionId) -> Result<(), Status> {
        rsm(self.rsm.session_identity(s))?;
        if !self.rsm.is_ready() {
            return Err(Status::not_ready(
                "the service is still initializing: retry shortly",
            ));
        }
        Ok(())
    }

    fn create(
        &self,
        s: SessionId,
        name: &str,
        media_type: Option<&str>,
        action: CreateDisposition,
        security: Option<WireSecurity>,
    ) -> Result<Value, Status> {
        let action = match action {
            CreateDisposition::OpenExisting => NTMS_OPEN_EXISTING,
            CreateDisposition::CreateNew => NTMS_CREATE_NEW,
            CreateDisposition::OpenAlways => NTMS_OPEN_ALWAYS,
        };
        let media = media_type.map(MediaTypeRef::parse);
        // Rows 1, 2 and 5 in order: the descriptor is converted after session and readiness.
        self.begin(s)?;
        let caller = rsm(self.rsm.session_identity(s))?;
        let security = security.map(|w| descriptor(w, caller.uid)).transpose()?;
        let (id, created) = rsm(self.rsm.create_media_pool(
            s,
            Some(name),
            media.as_ref(),
            action,
            security.as_ref(),
        ))?;
        // The stored name and type; a creator whose own descriptor denies it USE gets back
        // what it asked for.
        let made = match self.rsm.get_pool_info(s, id) {
            Ok(info) => Created {
                id,
                name: info.name,
                media_type: info.media_type.map(|t| t.name().to_owned()),
                created,
            },
            Err(_) => Created {
                id,
                name: rooted(name),
                media_type: media.and_then(|m| m.resolve()).map(|t| t.name().to_owned()),
                created,
            },
        };
        to_value(&made)
    }

    fn set_security(&self, s: SessionId, id: uuid::Uuid, w: WireSecurity) -> Result<(), Status> {
        self.begin(s)?;
        let owner = match w.owner {
            Some(o) => o.uid,
            // Keep the owner: read it as the caller may (READ_CONTROL, or USE).
            None => match self.rsm.get_security(s, id) {
                Ok(sd) => sd.owner_uid(),
                Err(e) => match self.rsm.get_pool_info(s, id) {
                    Ok(info) => info.owner.uid,
                    Err(_) => return Err(status_of(&e)),
                },
            },
        };
        let sd = descriptor(w, owner)?;
        rsm(self.rsm.set_security(s, id, &sd))
    }

    fn media_types(&self) -> MediaTypes {
        let libs: &[DiscoveredLibrary] = self.started.get().map_or(&[], |s| &s.libraries);
        let mut entries: Vec<MediaTypeEntry> = Vec::new();
        for t in crate::media::MediaType::all() {
            let libraries: Vec<String> = libs
                .iter()
                .filter(|l| l.media_types.contains(t))
                .map(|l| l.serial.clone())
                .collect();
            if !libraries.is_empty() {
                entries.push(MediaTypeEntry {
                    name: t.name().to_owned(),
                    id: t.id(),
                    libraries,
                });
            }
        }
        MediaTypes {
            media_types: entries,
        }
    }
}

impl RsmBackend {
    /// The media calls (rsm-media-and-mounts §2).
    fn media_call(&self, s: SessionId, call: Call) -> Result<Value, Status> {
        match call {
            Call::ListMedia {
                pool,
                library,
                offline,
                after,
                limit,
            } => {
                if limit == 0 || limit > MAX_MEDIA_PAGE {
                    return Err(Status::invalid_parameter(format!(
                        "a page holds 1 to {MAX_MEDIA_PAGE} media, not {limit}"
                    )));
                }
                let library = match library {
                    None => None,
                    Some(serial) => {
                        self.begin(s)?;
                        let id = self
                            .rsm
                            .libraries()
                            .into_iter()
                            .find(|l| l.identity.serial == serial)
                            .map(|l| l.id);
                        Some(id.ok_or_else(|| {
                            status_of(&RsmError::InvalidLibrary(format!(
                                "no library has serial {serial}"
                            )))
                        })?)
                    }
                };
                let filter = MediaFilter {
                    pool,
                    library,
                    offline,
                };
                let page = rsm(self.rsm.list_media(s, &filter, after, limit))?;
                to_value(&MediaList {
                    media: page.media,
                    total: page.total,
                })
            }
            Call::GetMedium { id, barcode } => match (id, barcode) {
                (Some(id), None) => to_value(&rsm(self.rsm.get_medium(s, id))?),
                (None, Some(b)) => to_value(&rsm(self.rsm.find_medium(s, &b))?),
                _ => Err(Status::invalid_parameter(
                    "name the medium by id or by bar code, not both",
                )),
            },
            Call::AllocateMedia {
                pool,
                side,
                next,
                options,
                timeout_ms,
            } => {
                let timeout = timeout_ms.map(Duration::from_millis);
                to_value(&rsm(self
                    .rsm
                    .allocate_media(s, pool, side, next, options, timeout))?)
            }
            Call::DeallocateMedia { lmid, options } => {
                let d = rsm(self.rsm.deallocate_media(s, lmid, options))?;
                to_value(&DeallocatedReply {
                    lmid,
                    state: d.state,
                })
            }
            Call::SetMediaComplete { lmid } => {
                to_value(&rsm(self.rsm.set_media_complete(s, lmid))?)
            }
            Call::DecommissionMedia { id } => to_value(&rsm(self.rsm.decommission_media(s, id))?),
            Call::MoveToMediaPool { medium, pool } => {
                let m = rsm(self.rsm.move_to_media_pool(s, medium, pool))?;
                to_value(&MovedReply {
                    medium: m.medium,
                    barcode: m.barcode,
                    from: m.from,
                    to: m.to,
                })
            }
            Call::DeleteMedia { id } => {
                rsm(self.rsm.delete_media(s, id))?;
                Ok(json!({}))
            }
            Call::OperatorRequests {} => to_value(&OperatorRequests {
                operator_requests: rsm(self.rsm.operator_requests(s))?,
            }),
            Call::AnswerOperatorRequest { id, satisfy } => {
                rsm(self.rsm.answer_operator_request(s, id, satisfy))?;
                Ok(json!({}))
            }
            Call::SubmitOperatorRequest { message } => {
                to_value(&rsm(self.rsm.submit_message(s, &message))?)
            }
            other => Err(Status::invalid_parameter(format!(
                "{} is not a media call",
                other.name()
            ))),
        }
    }
}

fn rooted(name: &str) -> String {
    if name.starts_with('\\') {
        name.to_owned()
    } else {
        format!("\\{name}")
    }
}

/// The pool layer's descriptor for wire entries, owned by `owner`.
///
/// # Errors
/// `ERROR_INVALID_PARAMETER` for an entry whose `who` or rights do not parse (§3 row 5).
fn descriptor(w: WireSecurity, owner: u32) -> Result<SecurityDescriptor, Status> {
    let mut entries = Vec::with_capacity(w.entries.len());
    for e in w.entries {
        let who: pool::Who = rsm(e.who.parse())?;
        let mask = rsm(pool::AccessMask::parse_list(&e.rights.join(",")))?;
        entries.push(match e.kind {
            AceKind::Allow => pool::Ace::allow(who, mask),
            AceKind::Deny => pool::Ace::deny(who, mask),
        });
    }
    Ok(SecurityDescriptor::new(owner, entries))
}

impl RsmBackend {
    /// The calls the controller answers.
    fn device_call(&self, s: SessionId, call: Call) -> Result<Value, Status> {
        self.begin(s)?;
        let c = &self.started()?.controller;
        match call {
            Call::MoveElement {
                library,
                from,
                to,
                priority,
            } => {
                self.technician(s)?;
                let (from, to) = (location(&from)?, location(&to)?);
                let done = ctl(c.move_element(library.as_deref(), from, to, priority))?;
                Ok(json!({ "moved": done }))
            }
            Call::ExchangeElement {
                library,
                source,
                first,
                second,
                priority,
            } => {
                self.technician(s)?;
                let (source, first) = (location(&source)?, location(&first)?);
                let second = second
                    .as_deref()
                    .map(location)
                    .transpose()?
                    .unwrap_or(source);
                let done =
                    ctl(c.exchange_element(library.as_deref(), source, first, second, priority))?;
                Ok(json!({ "exchanged": done }))
            }
            Call::PositionElement {
                library,
                to,
                priority,
            } => {
                self.technician(s)?;
                let to = location(&to)?;
                let serial = ctl(c.position_element(library.as_deref(), to, priority))?;
                Ok(json!({ "positioned": {"library": serial, "to": to.to_string()} }))
            }
            Call::Requests { all } => Ok(json!({ "requests": c.requests(all) })),
            Call::CancelRequest { id } => {
                ctl(c.cancel(id))?;
                Ok(json!({}))
            }
            Call::OpenNotification { types } => Ok(json!({ "channel": c.hub().open(types) })),
            Call::CloseNotification { channel } => {
                if c.hub().close(channel) {
                    Ok(json!({}))
                } else {
                    Err(Status::invalid_handle(format!(
                        "no notification channel {channel}"
                    )))
                }
            }
            Call::WaitNotification {
                channel,
                timeout_ms,
            } => {
                let wait = Duration::from_millis(timeout_ms.min(60_000));
                match c.hub().wait(channel, wait) {
                    Ok(Some(events)) => Ok(json!({ "events": events })),
                    Ok(None) => Err(Status::invalid_handle(format!(
                        "no notification channel {channel}"
                    ))),
                    Err(e) => Err(Status::new(Win32Code::ERROR_NO_DATA, e.to_string())),
                }
            }
            Call::Mount {
                media,
                read: _,
                write,
                drive,
                priority,
                timeout_ms,
                error_if_unavailable,
                error_if_offline,
                nowait,
            } => {
                let mut refs = Vec::with_capacity(media.len());
                let mut lmids = Vec::with_capacity(media.len());
                for m in &media {
                    let (r, lmid) = self.resolve_medium(s, m, write, error_if_offline)?;
                    refs.push(r);
                    lmids.push(lmid);
                }
                let opts = MountOptions {
                    write,
                    error_if_unavailable,
                    drive,
                    priority,
                    timeout: timeout_ms.map(Duration::from_millis),
                    library: None,
                };
                if nowait {
                    let id = ctl(c.mount_nowait(&refs, &opts, s.0))?;
                    let state = c.request(id).map(|r| r.state);
                    return Ok(json!({ "request": {"id": id, "state": state} }));
                }
                let mounted = c.mount(&refs, &opts, s.0);
                self.started()?.recorder.flush(Duration::from_secs(30));
                let mounted = ctl(mounted)?;
                let list: Vec<Value> = mounted
                    .into_iter()
                    .zip(lmids)
                    .map(|(m, (lmid, id))| {
                        json!({"lmid": lmid, "medium": id.map_or(Value::String(m.medium.clone()), |i| json!(i)),
                               "barcode": m.barcode, "drive": m.drive})
                    })
                    .collect();
                Ok(json!({ "mounted": list }))
            }
            Call::Dismount { media, deferred } => {
                let mut refs = Vec::with_capacity(media.len());
                let mut ids = Vec::with_capacity(media.len());
                for m in &media {
                    let (r, (_, id)) = self.resolve_medium(s, m, false, false)?;
                    refs.push(r);
                    ids.push(id);
                }
                let done = c.dismount(&refs, deferred, s.0);
                self.started()?.recorder.flush(Duration::from_secs(30));
                let done = ctl(done)?;
                let list: Vec<Value> = done
                    .into_iter()
                    .zip(ids)
                    .map(|(d, id)| {
                        json!({"medium": id.map_or(Value::String(d.medium.clone()), |i| json!(i)),
                               "barcode": d.barcode, "state": d.state, "request": d.request})
                    })
                    .collect();
                Ok(json!({ "dismounted": list }))
            }
            Call::DismountDrive { drive } => {
                self.technician(s)?;
                Ok(json!({ "dismounted": [ctl(c.dismount_drive(&drive))?] }))
            }
            other => self.media_call(s, other),
        }
    }
}

impl Backend for RsmBackend {
    type Session = SessionId;

    fn open_session(&self, who: &PeerIdentity, application: &str) -> Result<SessionId, Status> {
        let pid = who.pid.and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
        let s = self
            .rsm
            .open_session(Identity::new(who.uid, who.gids.clone(), pid));
        self.rsm.set_application(s, application);
        Ok(s)
    }

    fn close_session(&self, session: SessionId) {
        if let Some(c) = self.controller() {
            c.end_session(session.0);
        }
        let _ = self.rsm.close_session(session);
    }

    /// The pool layer answers these from its in-memory catalogue (reads never wait for the
    /// disk), and the inventory is a cached document: no reason to hop to the blocking pool.
    fn is_quick(&self, call: &Call) -> bool {
        match call {
            Call::Enumerate { .. }
            | Call::GetPoolInformation { .. }
            | Call::GetMediaPoolName { .. }
            | Call::GetObjectSecurity { .. }
            | Call::MediaTypes {}
            | Call::ListMedia { .. }
            | Call::GetMedium { .. }
            | Call::OperatorRequests {} => true,
            Call::Library { rescan } => !rescan,
            Call::Status {}
            | Call::Metrics {}
            | Call::Requests { .. }
            | Call::CancelRequest { .. }
            | Call::OpenNotification { .. }
            | Call::CloseNotification { .. } => true,
            Call::CreateMediaPool { action, .. } => *action == CreateDisposition::OpenExisting,
            _ => false,
        }
    }

    fn call(&self, s: &SessionId, call: Call) -> Result<Value, Status> {
        let s = *s;
        match call {
            Call::Hello { .. } | Call::CloseSession {} => Err(Status::invalid_parameter(
                "hello and close_session are handled by the connection",
            )),
            Call::CreateMediaPool {
                name,
                media_type,
                action,
                security,
            } => self.create(s, &name, media_type.as_deref(), action, security),
            Call::DeleteMediaPool { id } => {
                rsm(self.rsm.delete_media_pool(s, id))?;
                Ok(json!({}))
            }
            Call::Enumerate {
                container,
                object_type,
                root_pool,
            } => {
                let ids = match object_type {
                    ObjectType::MediaPool => {
                        let options = if root_pool {
                            NTMS_ENUM_ROOTPOOL
                        } else {
                            NTMS_ENUM_DEFAULT
                        };
                        rsm(self.rsm.enumerate_pools(s, container, options))?
                    }
                    ObjectType::PhysicalMedia
                    | ObjectType::Partition
                    | ObjectType::LogicalMedia => {
                        if root_pool {
                            return Err(Status::invalid_parameter(
                                "ROOTPOOL applies to media pools only",
                            ));
                        }
                        let kind = match object_type {
                            ObjectType::PhysicalMedia => MediaObject::PhysicalMedia,
                            ObjectType::Partition => MediaObject::Side,
                            _ => MediaObject::LogicalMedia,
                        };
                        rsm(self.rsm.enumerate_media(s, container, kind))?
                    }
                    ObjectType::MediaType | ObjectType::Library => {
                        self.begin(s)?;
                        if container.is_some() || root_pool {
                            return Err(Status::invalid_parameter(
                                "media types and libraries are enumerated with a null container \
                                 and no options",
                            ));
                        }
                        if object_type == ObjectType::Library {
                            self.rsm.libraries().into_iter().map(|l| l.id).collect()
                        } else {
                            self.media_types()
                                .media_types
                                .into_iter()
                                .map(|t| t.id)
                                .collect()
                        }
                    }
                };
                Ok(json!({ "ids": ids }))
            }
            Call::GetPoolInformation { id } => to_value(&rsm(self.rsm.get_pool_info(s, id))?),
            Call::SetPoolInformation { id, info } => {
                rsm(self.rsm.set_pool_info(s, id, &info))?;
                Ok(json!({}))
            }
            Call::GetMediaPoolName { id } => Ok(json!({ "name": rsm(self.rsm.pool_name(s, id))? })),
            Call::GetObjectSecurity { id } => to_value(&rsm(self.rsm.get_security(s, id))?),
            Call::SetObjectSecurity { id, security } => {
                self.set_security(s, id, security)?;
                Ok(json!({}))
            }
            Call::MediaTypes {} => {
                self.begin(s)?;
                to_value(&self.media_types())
            }
            Call::Library { rescan } => {
                self.begin(s)?;
                self.library_document(rescan)
            }
            Call::Status {} => {
                rsm(self.rsm.session_identity(s))?;
                self.status()
            }
            Call::Metrics {} => {
                rsm(self.rsm.session_identity(s))?;
                let ready = self.rsm.is_ready();
                let text = match self.started() {
                    Ok(st) => st.controller.metrics(ready),
                    Err(_) => format!(
                        "# HELP reel_ready 1 once discovery and registration are done.\n\
                         # TYPE reel_ready gauge\nreel_ready {}\n",
                        u8::from(ready)
                    ),
                };
                Ok(json!({ "text": text }))
            }
            call => self.device_call(s, call),
        }
    }
}
