//! The daemon's [`Backend`]: wire calls carried to the pool layer ([`crate::pool::Rsm`]) and
//! to the device actor, with the inventory discovery last produced.
//!
//! Every RSM error crosses the wire in one place ([`status_of`]): its Win32 name, number and
//! text.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{json, Value};
use tracing::{info, warn};

use crate::media::MediaTypeRef;
use crate::pool::{
    self, Identity, LibraryIdentity, MediaFilter, Rsm, RsmError, SecurityDescriptor, SessionId,
    Win32Code, NTMS_CREATE_NEW, NTMS_ENUM_DEFAULT, NTMS_ENUM_ROOTPOOL, NTMS_OPEN_ALWAYS,
    NTMS_OPEN_EXISTING,
};

use super::devices::{Devices, Discovered};
use super::peer::PeerIdentity;
use super::server::Backend;
use super::wire::{
    AceKind, Call, CreateDisposition, Created, MediaTypeEntry, MediaTypes, ObjectType, Status,
    WireSecurity,
};
use super::wire::{DeallocatedReply, MediaList, MovedReply, OperatorRequests, MAX_MEDIA_PAGE};

/// The RSM service as the daemon serves it.
#[derive(Debug)]
pub struct RsmBackend {
    rsm: Arc<Rsm>,
    devices: Devices,
    inventory: RwLock<Arc<Discovered>>,
}

/// The wire form of a pool-layer error.
pub fn status_of(e: &RsmError) -> Status {
    Status::new(e.win32(), e.to_string())
}

fn rsm<T>(r: Result<T, RsmError>) -> Result<T, Status> {
    r.map_err(|e| status_of(&e))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, Status> {
    serde_json::to_value(v).map_err(|e| {
        Status::new(
            Win32Code::ERROR_NOT_ENOUGH_MEMORY,
            format!("cannot encode the reply: {e}"),
        )
    })
}

impl RsmBackend {
    /// A backend over an open pool service and the device actor. Not ready until
    /// [`initialize`](Self::initialize) has run.
    pub fn new(rsm: Arc<Rsm>, devices: Devices) -> RsmBackend {
        RsmBackend {
            rsm,
            devices,
            inventory: RwLock::new(Arc::new(Discovered::default())),
        }
    }

    /// The pool service.
    pub fn rsm(&self) -> &Arc<Rsm> {
        &self.rsm
    }

    /// Start-up: discovery, then every library and its media types (and so their system
    /// pools) registered, then the service marked ready. Blocking.
    ///
    /// # Errors
    /// Discovery's failure, or the database's.
    pub fn initialize(&self) -> Result<(), Status> {
        self.refresh(false)?;
        self.rsm.set_ready(true);
        info!("ready");
        Ok(())
    }

    /// Runs discovery on the device thread, registers what it found and caches it.
    fn refresh(&self, rescan: bool) -> Result<Arc<Discovered>, Status> {
        let found = self.devices.discover(rescan)?;
        for lib in &found.libraries {
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
        if found.libraries.is_empty() {
            warn!("discovery found no library: only pools of pools can be created");
        }
        let found = Arc::new(found);
        *self.inventory.write().unwrap_or_else(|p| p.into_inner()) = found.clone();
        Ok(found)
    }

    fn inventory(&self) -> Arc<Discovered> {
        self.inventory
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
        let inv = self.inventory();
        let mut entries: Vec<MediaTypeEntry> = Vec::new();
        for t in crate::media::MediaType::all() {
            let libraries: Vec<String> = inv
                .libraries
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
                offset,
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
                let page = rsm(self.rsm.list_media(s, &filter, offset, limit))?;
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
                let inv = if rescan {
                    self.refresh(true)?
                } else {
                    self.inventory()
                };
                Ok(inv.document.clone())
            }
            other => self.media_call(s, other),
        }
    }
}
