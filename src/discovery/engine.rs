//! The discovery algorithm, over two small ports (a changer, a drive) so that it can be read
//! and tested apart from the drivers that implement them ([`super::source`]).
//!
//! Cost: each changer is asked for its identity only when enumeration did not give it, its
//! element map once, and its element status once per element type; each drive at most four
//! times (VPD 0x83 and VPD 0xB4/0xB3 only while it is still unmatched, REPORT DENSITY SUPPORT
//! once per drive model, READ ATTRIBUTE only when it holds a cartridge).

use std::collections::HashMap;
use std::sync::Arc;

use reel_hw::sense::Sense;
use reel_hw::{DeviceInfo, PeripheralType};
use thiserror::Error;

use super::location::ElementKind;
use super::matching::{match_drives, Designator, DriveId, ElementId};
use super::model::{
    summarize_media_types, DeviceIdentity, DriveSlot, Element, ElementMap, Exception, Inventory,
    Library, UnmatchedDrive,
};
use crate::media::{self, DriveGeneration, Evidence, MediaType, Resolution};

/// A command that failed on a device, with its backend erased: device, command, decoded sense.
#[derive(Debug, Clone, Error)]
#[error("{message}")]
pub struct DeviceFailure {
    /// Device name (`/dev/sg3`, `sim:changer`).
    pub device: String,
    /// Command name (scsi-reference §4).
    pub op: String,
    /// The decoded sense, when the device sent some.
    pub sense: Option<Sense>,
    /// The full message (device, command, what happened).
    pub message: String,
}

impl DeviceFailure {
    /// True for a CHECK CONDITION with this sense key.
    pub fn has_key(&self, key: u8) -> bool {
        self.sense.as_ref().is_some_and(|s| s.key.0 == key)
    }
}

/// Why discovery (or a technician command built on it) failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The device source could not be listed (sysfs missing, simulator socket gone).
    #[error("cannot list devices: {0}")]
    Source(String),
    /// A device could not be opened.
    #[error("cannot open {path}: {reason}")]
    Open {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A device named with `--device` is neither a changer nor a tape drive.
    #[error("{path} is a {kind}, not a medium changer or a tape drive")]
    NotLibraryDevice {
        /// The path.
        path: String,
        /// What it is.
        kind: String,
    },
    /// A command failed on a device.
    #[error(transparent)]
    Device(#[from] DeviceFailure),
}

impl DiscoveryError {
    /// The decoded sense, when a device sent some.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            DiscoveryError::Device(d) => d.sense.as_ref(),
            _ => None,
        }
    }
}

/// One element as READ ELEMENT STATUS reported it, in the terms discovery needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawElement {
    /// Element address.
    pub address: u16,
    /// FULL.
    pub full: bool,
    /// ASC/ASCQ when EXCEPT is set.
    pub exception: Option<(u8, u8)>,
    /// Byte 9 bits 2..0 (0 unspecified, 1 data, 2 cleaning, 3 diagnostic, 4 WORM).
    pub medium_type: u8,
    /// Source storage element address when SVALID.
    pub source: Option<u16>,
    /// Primary volume tag, trimmed; `None` when blank or not reported.
    pub barcode: Option<String>,
    /// Device identifier (data-transfer elements).
    pub dvcid: Option<Designator>,
}

/// Every element of a changer, by type, in address order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawStatus {
    /// Medium transports.
    pub transports: Vec<RawElement>,
    /// Storage elements.
    pub slots: Vec<RawElement>,
    /// Import/export elements.
    pub import_export: Vec<RawElement>,
    /// Data-transfer elements.
    pub drives: Vec<RawElement>,
}

/// The MAM attributes discovery reads from a loaded cartridge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mam {
    /// 0x0806 barcode.
    pub barcode: Option<String>,
    /// 0x0405 density code.
    pub density_code: Option<u8>,
    /// 0x0408 medium type.
    pub medium_type: Option<u8>,
}

/// A drive's readable and writable types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compatibility {
    /// Types it reads.
    pub reads: Vec<MediaType>,
    /// Types it writes.
    pub writes: Vec<MediaType>,
}

/// What discovery asks of a changer.
pub trait ChangerPort {
    /// INQUIRY and VPD 0x80.
    ///
    /// # Errors
    /// The device's failure.
    fn identify(&mut self) -> Result<DeviceIdentity, DeviceFailure>;
    /// MODE SENSE page 0x1D.
    ///
    /// # Errors
    /// The device's failure.
    fn element_map(&mut self) -> Result<ElementMap, DeviceFailure>;
    /// INITIALIZE ELEMENT STATUS.
    ///
    /// # Errors
    /// The device's failure.
    fn initialize(&mut self) -> Result<(), DeviceFailure>;
    /// Every element of every type in `map`, one READ ELEMENT STATUS series per type
    /// (chunked as the changer requires; volume tags when it reads them; DVCID for
    /// data-transfer elements).
    ///
    /// # Errors
    /// The device's failure.
    fn status(&mut self, map: &ElementMap) -> Result<RawStatus, DeviceFailure>;
    /// One element, with its volume tag (and DVCID for a data-transfer element).
    ///
    /// # Errors
    /// The device's failure.
    fn read_element(
        &mut self,
        kind: ElementKind,
        address: u16,
    ) -> Result<Option<RawElement>, DeviceFailure>;
    /// MOVE MEDIUM with transport `transport` from `source` to `destination`.
    ///
    /// # Errors
    /// The device's failure (3B/0E source empty, 3B/0D destination full, ...).
    fn move_medium(
        &mut self,
        transport: u16,
        source: u16,
        destination: u16,
    ) -> Result<(), DeviceFailure>;
}

/// What discovery asks of a tape drive. `Ok(None)` means "the drive does not support this"
/// (ILLEGAL REQUEST), which is an answer, not a failure.
pub trait DrivePort {
    /// INQUIRY and VPD 0x80.
    ///
    /// # Errors
    /// The device's failure.
    fn identify(&mut self) -> Result<DeviceIdentity, DeviceFailure>;
    /// VPD 0x83 designators.
    ///
    /// # Errors
    /// The device's failure.
    fn designators(&mut self) -> Result<Option<Vec<Designator>>, DeviceFailure>;
    /// VPD 0xB4 (element address) and VPD 0xB3 (library serial).
    ///
    /// # Errors
    /// The device's failure.
    fn automation_ids(&mut self) -> Result<Option<AutomationIds>, DeviceFailure>;
    /// REPORT DENSITY SUPPORT, medium-type form.
    ///
    /// # Errors
    /// The device's failure.
    fn compatibility(&mut self) -> Result<Option<Compatibility>, DeviceFailure>;
    /// READ ATTRIBUTE of the loaded cartridge.
    ///
    /// # Errors
    /// The device's failure.
    fn mam(&mut self) -> Result<Option<Mam>, DeviceFailure>;
    /// LOAD UNLOAD (unload), so the changer can take the cartridge out.
    ///
    /// # Errors
    /// The device's failure.
    fn unload(&mut self) -> Result<(), DeviceFailure>;
}

/// VPD 0xB4 (the drive's element address) and VPD 0xB3 (its library's serial).
pub type AutomationIds = (Option<u16>, Option<String>);

/// Where discovery gets its devices and ports from.
pub trait Backend {
    /// A changer port.
    type Changer: ChangerPort;
    /// A drive port.
    type Drive: DrivePort;
    /// The devices the source lists, without commands.
    ///
    /// # Errors
    /// [`DiscoveryError::Source`].
    fn devices(&mut self) -> Result<Vec<DeviceInfo>, DiscoveryError>;
    /// Identifies a node enumeration did not list (INQUIRY, VPD 0x80).
    ///
    /// # Errors
    /// Open or device failures.
    fn probe(&mut self, path: &str) -> Result<DeviceInfo, DiscoveryError>;
    /// Opens a changer.
    ///
    /// # Errors
    /// [`DiscoveryError::Open`].
    fn open_changer(&mut self, info: &DeviceInfo) -> Result<Self::Changer, DiscoveryError>;
    /// Opens a drive.
    ///
    /// # Errors
    /// [`DiscoveryError::Open`].
    fn open_drive(&mut self, info: &DeviceInfo) -> Result<Self::Drive, DiscoveryError>;
}

/// A progress or warning line for stderr.
pub type Reporter = Arc<dyn Fn(&str) + Send + Sync>;

/// How to discover.
#[derive(Clone, Default)]
pub struct DiscoverOptions {
    /// Send INITIALIZE ELEMENT STATUS to each changer first.
    pub rescan: bool,
    /// Only these device paths (`--device`); drives enumeration finds are still used to pair
    /// a changer's drive elements, but only these are reported as unmatched.
    pub only: Option<Vec<String>>,
    /// Where progress lines go (`--rescan` is slow); `None` = nowhere.
    pub progress: Option<Reporter>,
}

impl std::fmt::Debug for DiscoverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoverOptions")
            .field("rescan", &self.rescan)
            .field("only", &self.only)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

fn identity_from(info: &DeviceInfo) -> DeviceIdentity {
    DeviceIdentity {
        path: info.path.clone(),
        vendor: info.vendor.clone(),
        product: info.product.clone(),
        revision: info.revision.clone(),
        serial: info.serial.clone(),
    }
}

struct DriveState<P> {
    info: DeviceInfo,
    identity: Option<DeviceIdentity>,
    id: DriveId,
    port: Option<P>,
    /// Listed by the user's choice (reported in `unmatched_drives` when nobody claims it).
    chosen: bool,
    claimed: bool,
    asked_designators: bool,
    asked_automation: bool,
}

impl<P: DrivePort> DriveState<P> {
    fn port<B: Backend<Drive = P>>(&mut self, backend: &mut B) -> Result<&mut P, DiscoveryError> {
        if self.port.is_none() {
            self.port = Some(backend.open_drive(&self.info)?);
        }
        Ok(self.port.as_mut().expect("opened above"))
    }
}

/// The media type of a cartridge from every source that spoke, and the claims when they
/// disagree.
pub fn cartridge_type(evidence: &[Evidence]) -> (Option<MediaType>, Option<Vec<Evidence>>) {
    match media::resolve(evidence) {
        Resolution::Known { media_type } => (Some(media_type), None),
        Resolution::Conflict { claims } => (None, Some(claims)),
        Resolution::Unsupported { .. } | Resolution::Unknown => (None, None),
    }
}

fn element_from(raw: RawElement, mam: Option<&Mam>) -> Element {
    // At most four sources speak; keep them on the stack (this runs once per element).
    let mut evidence = [media::identity::from_element_medium_type(0); 4];
    let mut n = 0;
    let mut push = |e| {
        evidence[n] = e;
        n += 1;
    };
    if raw.full {
        if let Some(b) = &raw.barcode {
            push(media::identity::from_barcode(b));
        }
        push(media::identity::from_element_medium_type(raw.medium_type));
        if let Some(m) = mam {
            if let Some(c) = m.density_code {
                push(media::identity::from_mam_density_code(c));
            }
            if let Some(t) = m.medium_type {
                push(media::identity::from_mam_medium_type(t));
            }
        }
    }
    let (mut media_type, mut media_type_conflict) = if raw.full {
        cartridge_type(&evidence[..n])
    } else {
        (None, None)
    };
    // No volume tag from the changer: the MAM's barcode attribute is one more witness.
    if let (true, None, Some(b)) = (raw.full, &raw.barcode, mam.and_then(|m| m.barcode.as_ref())) {
        let mut all = evidence[..n].to_vec();
        all.push(media::identity::from_barcode(b));
        (media_type, media_type_conflict) = cartridge_type(&all);
    }
    Element {
        address: raw.address,
        full: raw.full,
        barcode: raw.barcode,
        media_type,
        source: raw.source,
        exception: raw.exception.map(|(asc, ascq)| Exception {
            asc,
            ascq,
            text: reel_hw::asc_label(asc, ascq).into_owned(),
        }),
        media_type_conflict,
    }
}

/// Reads the library behind every changer `backend` reaches.
///
/// # Errors
/// A source that cannot be listed, a changer that cannot be opened or read, a `--device` node
/// that is not a changer or a tape drive. A drive that fails only costs a warning.
pub fn discover_with<B: Backend>(
    backend: &mut B,
    opts: &DiscoverOptions,
) -> Result<Inventory, DiscoveryError> {
    let progress = |s: &str| {
        if let Some(p) = &opts.progress {
            p(s);
        }
    };
    let mut warnings = Vec::new();
    // With `--device` nodes, enumeration only helps to pair drives: do without it.
    let listed = match backend.devices() {
        Ok(l) => l,
        Err(e) if opts.only.is_some() => {
            warnings.push(format!("{e}; using only the nodes given"));
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let is_ours =
        |t: PeripheralType| t == PeripheralType::MEDIUM_CHANGER || t == PeripheralType::SEQUENTIAL;

    // Which devices are reported, and which drives may pair with drive elements.
    let (chosen, mut candidates): (Vec<DeviceInfo>, Vec<DeviceInfo>) = match &opts.only {
        None => {
            let chosen: Vec<_> = listed
                .into_iter()
                .filter(|d| is_ours(d.peripheral_type))
                .collect();
            (chosen, Vec::new())
        }
        Some(paths) => {
            let mut chosen = Vec::new();
            for p in paths {
                let info = match listed.iter().find(|d| &d.path == p) {
                    Some(d) => d.clone(),
                    None => backend.probe(p)?,
                };
                if !is_ours(info.peripheral_type) {
                    let kind = info
                        .peripheral_type
                        .name()
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            format!("device of type {:#04x}", info.peripheral_type.0)
                        });
                    return Err(DiscoveryError::NotLibraryDevice {
                        path: p.clone(),
                        kind,
                    });
                }
                if !chosen.iter().any(|d: &DeviceInfo| d.path == info.path) {
                    chosen.push(info);
                }
            }
            let others = listed
                .into_iter()
                .filter(|d| {
                    d.peripheral_type == PeripheralType::SEQUENTIAL
                        && !chosen.iter().any(|c| c.path == d.path)
                })
                .collect();
            (chosen, others)
        }
    };

    let mut drives: Vec<DriveState<B::Drive>> = Vec::new();
    let mut changers = Vec::new();
    for info in chosen {
        if info.peripheral_type == PeripheralType::MEDIUM_CHANGER {
            changers.push(info);
        } else {
            drives.push(new_drive(info, true));
        }
    }
    drives.extend(candidates.drain(..).map(|i| new_drive(i, false)));

    // Drives whose serial enumeration did not give: ask them (INQUIRY + VPD 0x80).
    for d in &mut drives {
        if d.id.serial.is_none() {
            match d
                .port(backend)
                .and_then(|p| p.identify().map_err(Into::into))
            {
                Ok(ident) => {
                    d.id.serial = ident.serial.clone();
                    d.identity = Some(ident);
                }
                Err(e) => warnings.push(format!("drive {}: {e}", d.info.path)),
            }
        }
    }

    let mut compat_cache: HashMap<(String, String, String), Compatibility> = HashMap::new();
    let mut libraries = Vec::new();
    for info in &changers {
        let mut port = backend.open_changer(info)?;
        let changer = if info.serial.is_some() {
            identity_from(info)
        } else {
            port.identify()?
        };
        let serial = changer.serial.clone().unwrap_or_default();
        if opts.rescan {
            progress(&format!(
                "{}: INITIALIZE ELEMENT STATUS (the changer scans every element; this can take minutes)",
                info.path
            ));
            let start = std::time::Instant::now();
            initialize_with_progress(&mut port, &info.path, opts.progress.clone())?;
            progress(&format!(
                "{}: element status initialized in {:.1} s",
                info.path,
                start.elapsed().as_secs_f64()
            ));
        }
        let map = port.element_map()?;
        let RawStatus {
            transports,
            slots,
            import_export: ie,
            drives: dts,
        } = port.status(&map)?;

        let element_ids: Vec<ElementId> = dts
            .iter()
            .map(|e| ElementId {
                address: e.address,
                dvcid: e
                    .dvcid
                    .clone()
                    .filter(|d| !d.value.iter().all(|b| *b == b' ' || *b == 0)),
            })
            .collect();
        let matching = pair(backend, &element_ids, &mut drives, &serial, &mut warnings);
        for a in matching.ambiguities.iter().chain(&matching.notes) {
            warnings.push(format!("{}: {a}", info.path));
        }

        let mut drive_slots = Vec::with_capacity(dts.len());
        for (raw, m) in dts.iter().zip(&matching.elements) {
            let Some((di, _)) = m else {
                warnings.push(format!(
                    "{}: drive element {}: no drive device found behind it (device null)",
                    info.path, raw.address
                ));
                drive_slots.push(DriveSlot {
                    element: element_from(raw.clone(), None),
                    device: None,
                    reads: Vec::new(),
                    writes: Vec::new(),
                });
                continue;
            };
            let d = &mut drives[*di];
            d.claimed = true;
            let identity = d.identity.clone().unwrap_or_else(|| identity_from(&d.info));
            let key = (
                identity.vendor.clone(),
                identity.product.clone(),
                identity.revision.clone(),
            );
            let compat = match compat_cache.get(&key) {
                Some(c) => c.clone(),
                None => {
                    let asked = d
                        .port(backend)
                        .and_then(|p| p.compatibility().map_err(Into::into));
                    let c = match asked {
                        Ok(Some(c)) => Some(c),
                        Ok(None) => None,
                        Err(e) => {
                            warnings.push(format!("drive {}: {e}", identity.path));
                            None
                        }
                    };
                    let c = c.unwrap_or_else(|| match DriveGeneration::from_product(&identity.product) {
                        Some(g) => {
                            warnings.push(format!(
                                "drive {}: no REPORT DENSITY SUPPORT medium types; using the LTO table for {} ({})",
                                identity.path, g, identity.product
                            ));
                            Compatibility {
                                reads: g.reads(),
                                writes: g.writes(),
                            }
                        }
                        None => {
                            warnings.push(format!(
                                "drive {}: no REPORT DENSITY SUPPORT medium types and product {:?} names no LTO generation; its media types are unknown",
                                identity.path, identity.product
                            ));
                            Compatibility::default()
                        }
                    });
                    compat_cache.insert(key, c.clone());
                    c
                }
            };
            let mam = if raw.full {
                match d.port(backend).and_then(|p| p.mam().map_err(Into::into)) {
                    Ok(m) => m,
                    Err(e) => {
                        warnings.push(format!("drive {}: {e}", identity.path));
                        None
                    }
                }
            } else {
                None
            };
            drive_slots.push(DriveSlot {
                element: element_from(raw.clone(), mam.as_ref()),
                device: Some(identity),
                reads: compat.reads,
                writes: compat.writes,
            });
        }

        let slots: Vec<Element> = slots.into_iter().map(|r| element_from(r, None)).collect();
        let import_export: Vec<Element> = ie.into_iter().map(|r| element_from(r, None)).collect();
        let transports: Vec<Element> = transports
            .into_iter()
            .map(|r| element_from(r, None))
            .collect();
        for e in slots
            .iter()
            .chain(&import_export)
            .chain(&transports)
            .chain(drive_slots.iter().map(|d| &d.element))
        {
            if e.media_type_conflict.is_some() {
                warnings.push(format!(
                    "{}: element {}: the sources of its media type disagree (see media_type_conflict)",
                    info.path, e.address
                ));
            }
        }
        let cartridges = slots
            .iter()
            .chain(&import_export)
            .chain(&transports)
            .chain(drive_slots.iter().map(|d| &d.element))
            .filter_map(|e| e.media_type);
        let media_types = summarize_media_types(&drive_slots, cartridges);
        libraries.push(Library {
            changer,
            elements: map,
            slots,
            import_export,
            drives: drive_slots,
            media_types,
            transports,
        });
    }

    let unmatched_drives = drives
        .iter()
        .filter(|d| d.chosen && !d.claimed)
        .map(|d| {
            let ident = d.identity.clone().unwrap_or_else(|| identity_from(&d.info));
            UnmatchedDrive {
                path: ident.path,
                serial: ident.serial,
                vendor: ident.vendor,
                product: ident.product,
            }
        })
        .collect();
    Ok(Inventory {
        libraries,
        unmatched_drives,
        warnings,
        stats: None,
    })
}

/// INITIALIZE ELEMENT STATUS, with a line every few seconds while the changer scans (a big
/// library takes minutes).
fn initialize_with_progress<C: ChangerPort>(
    port: &mut C,
    path: &str,
    progress: Option<Reporter>,
) -> Result<(), DeviceFailure> {
    use std::sync::mpsc::{channel, RecvTimeoutError};
    let (done, wait) = channel::<()>();
    std::thread::scope(|s| {
        if let Some(p) = progress {
            s.spawn(move || {
                let start = std::time::Instant::now();
                while let Err(RecvTimeoutError::Timeout) =
                    wait.recv_timeout(std::time::Duration::from_secs(5))
                {
                    p(&format!(
                        "{path}: still initializing element status ({} s)",
                        start.elapsed().as_secs()
                    ));
                }
            });
        }
        let r = port.initialize();
        drop(done);
        r
    })
}

fn new_drive<P>(info: DeviceInfo, chosen: bool) -> DriveState<P> {
    DriveState {
        id: DriveId {
            serial: info.serial.clone(),
            ..DriveId::default()
        },
        info,
        identity: None,
        port: None,
        chosen,
        claimed: false,
        asked_designators: false,
        asked_automation: false,
    }
}

/// Pairs the drive elements of one changer with the drives not yet claimed, spending commands
/// only on drives still unmatched and only when an element needs that evidence.
fn pair<B: Backend>(
    backend: &mut B,
    elements: &[ElementId],
    drives: &mut [DriveState<B::Drive>],
    changer_serial: &str,
    warnings: &mut Vec<String>,
) -> super::matching::Matching {
    let free: Vec<usize> = (0..drives.len()).filter(|&i| !drives[i].claimed).collect();
    let run = |drives: &[DriveState<B::Drive>]| {
        let ids: Vec<DriveId> = free.iter().map(|&i| drives[i].id.clone()).collect();
        let mut m = match_drives(elements, &ids, changer_serial);
        for (d, _) in m.elements.iter_mut().flatten() {
            *d = free[*d];
        }
        m
    };
    let mut m = run(drives);
    let unmatched = |m: &super::matching::Matching, dvcid: bool| {
        elements
            .iter()
            .zip(&m.elements)
            .any(|(e, x)| x.is_none() && e.dvcid.is_some() == dvcid)
    };
    for stage in [true, false] {
        if !unmatched(&m, stage) {
            continue;
        }
        for &i in &free {
            if m.claims(i) {
                continue;
            }
            let d = &mut drives[i];
            let asked = if stage {
                &mut d.asked_designators
            } else {
                &mut d.asked_automation
            };
            if *asked {
                continue;
            }
            *asked = true;
            let port = match d.port(backend) {
                Ok(p) => p,
                Err(e) => {
                    warnings.push(format!("drive {}: {e}", d.info.path));
                    continue;
                }
            };
            let res = if stage {
                port.designators().map(|x| {
                    d.id.designators = x.unwrap_or_default();
                })
            } else {
                port.automation_ids().map(|x| {
                    if let Some((addr, lib)) = x {
                        d.id.element_address = addr;
                        d.id.library_serial = lib;
                    }
                })
            };
            match res {
                Ok(()) => {}
                Err(e) => warnings.push(format!("drive {}: {e}", d.info.path)),
            }
        }
        m = run(drives);
    }
    m
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::discovery::model::ElementRange;
    use std::cell::RefCell;
    use std::rc::Rc;

    pub(crate) type Log = Rc<RefCell<Vec<String>>>;

    #[derive(Clone, Default)]
    pub(crate) struct FakeDrive {
        pub(crate) info: Option<DeviceInfo>,
        pub(crate) designators: Option<Vec<Designator>>,
        pub(crate) automation: Option<(Option<u16>, Option<String>)>,
        pub(crate) compat: Option<Compatibility>,
        pub(crate) mam: Option<Mam>,
    }

    pub(crate) struct FakeChanger {
        pub(crate) map: ElementMap,
        pub(crate) elements: Vec<(ElementKind, RawElement)>,
    }

    pub(crate) struct Fake {
        pub(crate) devices: Vec<DeviceInfo>,
        pub(crate) changer: Rc<FakeChanger>,
        pub(crate) drives: HashMap<String, FakeDrive>,
        pub(crate) log: Log,
    }

    pub(crate) struct CPort(pub(crate) Rc<FakeChanger>, pub(crate) Log);
    pub(crate) struct DPort(pub(crate) String, pub(crate) FakeDrive, pub(crate) Log);

    impl ChangerPort for CPort {
        fn identify(&mut self) -> Result<DeviceIdentity, DeviceFailure> {
            self.1.borrow_mut().push("changer identify".into());
            Ok(DeviceIdentity::default())
        }
        fn element_map(&mut self) -> Result<ElementMap, DeviceFailure> {
            self.1.borrow_mut().push("changer map".into());
            Ok(self.0.map)
        }
        fn initialize(&mut self) -> Result<(), DeviceFailure> {
            self.1.borrow_mut().push("changer init".into());
            Ok(())
        }
        fn status(&mut self, _map: &ElementMap) -> Result<RawStatus, DeviceFailure> {
            let of = |kind| {
                self.1
                    .borrow_mut()
                    .push(format!("changer read {}", ElementKind::name(kind)));
                self.0
                    .elements
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, e)| e.clone())
                    .collect()
            };
            Ok(RawStatus {
                transports: of(ElementKind::Transport),
                slots: of(ElementKind::Slot),
                import_export: Vec::new(),
                drives: of(ElementKind::Drive),
            })
        }
        fn read_element(
            &mut self,
            kind: ElementKind,
            address: u16,
        ) -> Result<Option<RawElement>, DeviceFailure> {
            self.1
                .borrow_mut()
                .push(format!("changer read {} {address}", kind.name()));
            Ok(self
                .0
                .elements
                .iter()
                .find(|(k, e)| *k == kind && e.address == address)
                .map(|(_, e)| e.clone()))
        }
        fn move_medium(&mut self, t: u16, s: u16, d: u16) -> Result<(), DeviceFailure> {
            self.1
                .borrow_mut()
                .push(format!("changer move {t} {s} {d}"));
            Ok(())
        }
    }

    impl DrivePort for DPort {
        fn identify(&mut self) -> Result<DeviceIdentity, DeviceFailure> {
            self.2.borrow_mut().push(format!("{} identify", self.0));
            Ok(identity_from(self.1.info.as_ref().unwrap()))
        }
        fn designators(&mut self) -> Result<Option<Vec<Designator>>, DeviceFailure> {
            self.2.borrow_mut().push(format!("{} vpd83", self.0));
            Ok(self.1.designators.clone())
        }
        fn automation_ids(&mut self) -> Result<Option<AutomationIds>, DeviceFailure> {
            self.2.borrow_mut().push(format!("{} vpdb4", self.0));
            Ok(self.1.automation.clone())
        }
        fn compatibility(&mut self) -> Result<Option<Compatibility>, DeviceFailure> {
            self.2.borrow_mut().push(format!("{} rds", self.0));
            Ok(self.1.compat.clone())
        }
        fn mam(&mut self) -> Result<Option<Mam>, DeviceFailure> {
            self.2.borrow_mut().push(format!("{} mam", self.0));
            Ok(self.1.mam.clone())
        }
        fn unload(&mut self) -> Result<(), DeviceFailure> {
            self.2.borrow_mut().push(format!("{} unload", self.0));
            Ok(())
        }
    }

    impl Backend for Fake {
        type Changer = CPort;
        type Drive = DPort;
        fn devices(&mut self) -> Result<Vec<DeviceInfo>, DiscoveryError> {
            Ok(self.devices.clone())
        }
        fn probe(&mut self, path: &str) -> Result<DeviceInfo, DiscoveryError> {
            Err(DiscoveryError::Open {
                path: path.into(),
                reason: "no such node".into(),
            })
        }
        fn open_changer(&mut self, _info: &DeviceInfo) -> Result<CPort, DiscoveryError> {
            Ok(CPort(self.changer.clone(), self.log.clone()))
        }
        fn open_drive(&mut self, info: &DeviceInfo) -> Result<DPort, DiscoveryError> {
            let d = self.drives.get(&info.path).cloned().unwrap_or_default();
            Ok(DPort(info.path.clone(), d, self.log.clone()))
        }
    }

    pub(crate) fn info(
        path: &str,
        t: PeripheralType,
        product: &str,
        serial: Option<&str>,
    ) -> DeviceInfo {
        DeviceInfo {
            path: path.into(),
            peripheral_type: t,
            vendor: "IBM".into(),
            product: product.into(),
            revision: "0001".into(),
            serial: serial.map(str::to_owned),
        }
    }

    pub(crate) fn dvcid(s: &str) -> Option<Designator> {
        Some(Designator {
            designator_type: 0,
            value: s.as_bytes().to_vec(),
            truncated: false,
        })
    }

    pub(crate) fn el(
        address: u16,
        barcode: Option<&str>,
        medium_type: u8,
        dv: Option<Designator>,
    ) -> RawElement {
        RawElement {
            address,
            full: barcode.is_some(),
            barcode: barcode.map(str::to_owned),
            medium_type,
            dvcid: dv,
            ..RawElement::default()
        }
    }

    pub(crate) fn library(dts: Vec<RawElement>, slots: Vec<RawElement>) -> Rc<FakeChanger> {
        let range = |first, count| ElementRange { first, count };
        let mut elements = vec![(ElementKind::Transport, el(1, None, 0, None))];
        let n = slots.len() as u16;
        let d = dts.len() as u16;
        elements.extend(slots.into_iter().map(|s| (ElementKind::Slot, s)));
        elements.extend(dts.into_iter().map(|s| (ElementKind::Drive, s)));
        Rc::new(FakeChanger {
            map: ElementMap {
                transport: range(1, 1),
                storage: range(1000, n),
                import_export: range(10, 0),
                data_transfer: range(500, d),
            },
            elements,
        })
    }

    pub(crate) fn lto8() -> Compatibility {
        let g = DriveGeneration::new(8).unwrap();
        Compatibility {
            reads: g.reads(),
            writes: g.writes(),
        }
    }

    #[test]
    fn serial_matching_costs_one_density_query_per_model_and_mam_only_when_loaded() {
        let log = Log::default();
        let mut fake = Fake {
            devices: vec![
                info("c", PeripheralType::MEDIUM_CHANGER, "LIB", Some("LIB1")),
                info("d1", PeripheralType::SEQUENTIAL, "ULT3580-HH8", Some("S1")),
                info("d2", PeripheralType::SEQUENTIAL, "ULT3580-HH8", Some("S2")),
                info(
                    "d3",
                    PeripheralType::SEQUENTIAL,
                    "ULT3580-HH9",
                    Some("LONE"),
                ),
            ],
            changer: library(
                vec![
                    el(500, None, 0, dvcid("S2")),
                    el(501, Some("ABC001L8"), 1, dvcid("S1")),
                ],
                vec![el(1000, Some("ABC002L8"), 1, None), el(1001, None, 0, None)],
            ),
            drives: [
                (
                    "d1",
                    FakeDrive {
                        compat: Some(lto8()),
                        mam: Some(Mam {
                            density_code: Some(0x5E),
                            ..Mam::default()
                        }),
                        ..FakeDrive::default()
                    },
                ),
                (
                    "d2",
                    FakeDrive {
                        compat: Some(lto8()),
                        ..FakeDrive::default()
                    },
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            log: log.clone(),
        };
        let inv = discover_with(&mut fake, &DiscoverOptions::default()).unwrap();
        assert_eq!(
            *log.borrow(),
            [
                "changer map",
                "changer read transport",
                "changer read slot",
                "changer read drive",
                "d2 rds",
                "d1 mam",
            ]
        );
        let lib = &inv.libraries[0];
        let paths: Vec<_> = lib
            .drives
            .iter()
            .map(|d| d.device.as_ref().unwrap().path.as_str())
            .collect();
        assert_eq!(paths, ["d2", "d1"]);
        assert_eq!(lib.drives[1].element.media_type, Some(MediaType::Lto8));
        assert_eq!(
            lib.media_types
                .iter()
                .map(|m| (m.name, m.cartridges))
                .collect::<Vec<_>>(),
            [
                (MediaType::Lto7, 0),
                (MediaType::Lto8, 2),
                (MediaType::LtoM8, 0),
                (MediaType::Lto7Worm, 0),
                (MediaType::Lto8Worm, 0)
            ]
        );
        assert_eq!(inv.unmatched_drives.len(), 1);
        assert_eq!(inv.unmatched_drives[0].path, "d3");
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    }

    #[test]
    fn no_dvcid_falls_back_to_vpd_b4_and_table_and_never_guesses() {
        let log = Log::default();
        let mut fake = Fake {
            devices: vec![
                info("c", PeripheralType::MEDIUM_CHANGER, "LIB", Some("LIB1")),
                info("d1", PeripheralType::SEQUENTIAL, "ULTRIUM-HH7", Some("S1")),
            ],
            changer: library(
                vec![el(500, None, 0, None), el(501, None, 0, None)],
                vec![
                    el(1000, Some("CLN001L8"), 2, None),
                    el(1001, Some("ABC001L8"), 2, None),
                ],
            ),
            drives: [(
                "d1".to_owned(),
                FakeDrive {
                    automation: Some((Some(501), Some("LIB1".into()))),
                    ..FakeDrive::default()
                },
            )]
            .into_iter()
            .collect(),
            log: log.clone(),
        };
        let inv = discover_with(&mut fake, &DiscoverOptions::default()).unwrap();
        let lib = &inv.libraries[0];
        assert!(lib.drives[0].device.is_none());
        assert_eq!(lib.drives[1].device.as_ref().unwrap().path, "d1");
        assert_eq!(
            lib.drives[1].reads,
            DriveGeneration::new(7).unwrap().reads()
        );
        // The cleaning tag agrees with the element bits; the data tag does not.
        assert_eq!(lib.slots[0].media_type, Some(MediaType::LtoCleaning));
        assert_eq!(lib.slots[1].media_type, None);
        assert!(lib.slots[1].media_type_conflict.is_some());
        let w = inv.warnings.join("\n");
        for needle in ["drive element 500", "LTO table", "element 1001"] {
            assert!(w.contains(needle), "{needle} in {w}");
        }
        assert_eq!(
            log.borrow()
                .iter()
                .filter(|l| l.starts_with("d1"))
                .cloned()
                .collect::<Vec<_>>(),
            ["d1 vpdb4", "d1 rds"]
        );
    }
}
