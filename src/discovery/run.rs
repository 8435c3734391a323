//! The discovery algorithm, on the drivers: [`Changer`] and [`Drive`] over the transports of a
//! [`DeviceSource`], each wrapped in [`Counted`] so one [`Counter`] sees every command. One
//! function per phase: select → identify → read → pair → compatibility → summarize.
//!
//! Cost: each changer is asked for its identity only when enumeration did not give it, its
//! element map once, and its element status once per element type (the driver's fallbacks
//! when it refuses VOLTAG or DVCID); each drive at most four times (VPD 0x83 and VPD 0xB4/0xB3
//! only while it is still unmatched, REPORT DENSITY SUPPORT once per drive model, READ
//! ATTRIBUTE only when it holds a cartridge).
//!
//! Decisions where the specs are silent: a drive command the drive does not support is the
//! drive driver's rule ([`DeviceError::is_unsupported`]: ILLEGAL REQUEST 20/00 or 24/00), and
//! READ ATTRIBUTE's NOT READY means "nothing to read", not a failure.

use std::collections::HashMap;

use reel_hw::{DeviceInfo, DeviceSource, PeripheralType, SenseKey, Transport};

use super::error::{DiscoveryError, Warning};
use super::location::ElementKind;
use super::matching::{match_drives, Designator, DriveId, ElementId, Matching};
use super::model::{
    summarize_media_types, DeviceIdentity, DriveSlot, Element, ElementMap, ElementRange, Exception,
    Inventory, Library, UnmatchedDrive,
};
use super::stats::{Counted, Counter};
use super::{DiscoverOptions, Reporter};
use crate::changer::{Changer, LibraryStatus};
use crate::drive::{Drive, Mam};
use crate::media::{self, DriveGeneration, Evidence, Format, MediaType, MediumClass, Resolution};
use crate::scsi::exec::DeviceError;
use crate::scsi::mode_sense::{ElementAddressAssignment, ElementRange as MapRange};
use crate::scsi::read_attribute::AttributeId;
use crate::scsi::read_element_status::ElementDescriptor;
use crate::scsi::report_density_support as rds;

/// A [`DeviceSource`] whose transports are counted: where discovery and `reel move` open
/// their devices.
#[derive(Debug)]
pub(crate) struct Devices<'a, S> {
    source: &'a mut S,
    counter: Counter,
}

/// The transport every driver of a run talks through.
pub(crate) type Dev<S> = Counted<<S as DeviceSource>::Transport>;

impl<'a, S: DeviceSource> Devices<'a, S> {
    /// Devices of `source`, counting into `counter`.
    pub(crate) fn new(source: &'a mut S, counter: Counter) -> Self {
        Devices { source, counter }
    }

    /// The devices the source lists, without commands.
    pub(crate) fn list(&mut self) -> Result<Vec<DeviceInfo>, DiscoveryError> {
        self.source
            .devices()
            .map_err(|e| DiscoveryError::Source(Box::new(e)))
    }

    fn open(&mut self, path: &str, kind: PeripheralType) -> Result<Dev<S>, DiscoveryError> {
        let t = self.source.open(path).map_err(|e| DiscoveryError::Open {
            path: path.to_owned(),
            error: Box::new(e),
        })?;
        Ok(Counted::new(t, kind, self.counter.clone()))
    }

    /// The changer at `path`.
    pub(crate) fn changer(&mut self, path: &str) -> Result<Changer<Dev<S>>, DiscoveryError> {
        Ok(Changer::new(
            self.open(path, PeripheralType::MEDIUM_CHANGER)?,
        ))
    }

    /// The tape drive at `path`.
    pub(crate) fn drive(&mut self, path: &str) -> Result<Drive<Dev<S>>, DiscoveryError> {
        Ok(Drive::new(self.open(path, PeripheralType::SEQUENTIAL)?))
    }

    /// Identifies a node enumeration did not list (INQUIRY, VPD 0x80: SPC commands, which a
    /// [`Drive`] asks of any device).
    pub(crate) fn probe(&mut self, path: &str) -> Result<DeviceInfo, DiscoveryError> {
        let id = self.drive(path)?.inquiry()?;
        Ok(DeviceInfo {
            path: path.to_owned(),
            peripheral_type: id.peripheral_type,
            vendor: id.vendor,
            product: id.product,
            revision: id.revision,
            serial: id.serial,
        })
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

/// One drive of the run: what is known of it, and its driver once opened.
struct DriveState<T: Transport> {
    info: DeviceInfo,
    identity: Option<DeviceIdentity>,
    id: DriveId,
    drive: Option<Drive<T>>,
    /// Listed by the user's choice (reported in `unmatched_drives` when nobody claims it).
    chosen: bool,
    claimed: bool,
    asked_designators: bool,
    asked_automation: bool,
}

impl<T: Transport> DriveState<T> {
    fn new(info: DeviceInfo, chosen: bool) -> Self {
        DriveState {
            id: DriveId {
                serial: info.serial.clone(),
                ..DriveId::default()
            },
            info,
            identity: None,
            drive: None,
            chosen,
            claimed: false,
            asked_designators: false,
            asked_automation: false,
        }
    }

    fn identity(&self) -> DeviceIdentity {
        self.identity
            .clone()
            .unwrap_or_else(|| identity_from(&self.info))
    }
}

/// Drive `d`'s driver, opened on first use.
fn driver<'d, S: DeviceSource>(
    d: &'d mut DriveState<Dev<S>>,
    devices: &mut Devices<'_, S>,
) -> Result<&'d mut Drive<Dev<S>>, DiscoveryError> {
    if d.drive.is_none() {
        d.drive = Some(devices.drive(&d.info.path)?);
    }
    Ok(d.drive.as_mut().expect("opened above"))
}

/// `None` for a command the drive does not support, else the result.
fn unless_unsupported<R, E>(r: Result<R, DeviceError<E>>) -> Result<Option<R>, DeviceError<E>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_unsupported() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads the library behind every changer `devices` reaches, with the warnings of the run.
///
/// # Errors
/// A source that cannot be listed, a changer that cannot be opened or read, a `--device` node
/// that is not a changer or a tape drive. A drive that fails only costs a warning.
pub(crate) fn discover<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    opts: &DiscoverOptions,
) -> Result<(Inventory, Vec<Warning>), DiscoveryError> {
    let mut warnings = Vec::new();
    let (changers, mut drives) = select(devices, opts, &mut warnings)?;
    identify_drives(devices, &mut drives, &mut warnings);
    let mut compat_cache = HashMap::new();
    let mut libraries = Vec::with_capacity(changers.len());
    for info in &changers {
        let read = read_changer(devices, info, opts)?;
        libraries.push(library(
            devices,
            info,
            read,
            &mut drives,
            &mut compat_cache,
            &mut warnings,
        ));
    }
    let unmatched_drives = drives
        .iter()
        .filter(|d| d.chosen && !d.claimed)
        .map(|d| {
            let ident = d.identity();
            UnmatchedDrive {
                path: ident.path,
                serial: ident.serial,
                vendor: ident.vendor,
                product: ident.product,
            }
        })
        .collect();
    let inv = Inventory {
        libraries,
        unmatched_drives,
        warnings: Vec::new(),
        stats: None,
    };
    Ok((inv, warnings))
}

fn is_ours(t: PeripheralType) -> bool {
    t == PeripheralType::MEDIUM_CHANGER || t == PeripheralType::SEQUENTIAL
}

/// The changers to read and the drives of a run.
type Selected<S> = (Vec<DeviceInfo>, Vec<DriveState<Dev<S>>>);

/// Select: the changers to read, and the drives that may pair with their drive elements (the
/// chosen ones first, then, with `--device`, every other drive enumeration lists).
fn select<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    opts: &DiscoverOptions,
    warnings: &mut Vec<Warning>,
) -> Result<Selected<S>, DiscoveryError> {
    // With `--device` nodes, enumeration only helps to pair drives: do without it.
    let listed = match devices.list() {
        Ok(l) => l,
        Err(e) if opts.only.is_some() => {
            warnings.push(Warning::NoEnumeration(e));
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let (chosen, others): (Vec<DeviceInfo>, Vec<DeviceInfo>) = match &opts.only {
        None => (
            listed
                .into_iter()
                .filter(|d| is_ours(d.peripheral_type))
                .collect(),
            Vec::new(),
        ),
        Some(paths) => {
            let mut chosen: Vec<DeviceInfo> = Vec::new();
            for p in paths {
                let info = match listed.iter().find(|d| &d.path == p) {
                    Some(d) => d.clone(),
                    None => devices.probe(p)?,
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
                if !chosen.iter().any(|d| d.path == info.path) {
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
    let mut changers = Vec::new();
    let mut drives = Vec::new();
    for info in chosen {
        if info.peripheral_type == PeripheralType::MEDIUM_CHANGER {
            changers.push(info);
        } else {
            drives.push(DriveState::new(info, true));
        }
    }
    drives.extend(others.into_iter().map(|i| DriveState::new(i, false)));
    Ok((changers, drives))
}

/// Identify: drives whose serial enumeration did not give are asked (INQUIRY + VPD 0x80).
fn identify_drives<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    drives: &mut [DriveState<Dev<S>>],
    warnings: &mut Vec<Warning>,
) {
    for d in drives.iter_mut().filter(|d| d.id.serial.is_none()) {
        let asked =
            driver(d, devices).and_then(|drive| drive.inquiry().map_err(DiscoveryError::from));
        match asked {
            Ok(id) => {
                d.id.serial = id.serial.clone();
                d.identity = Some(DeviceIdentity {
                    path: d.info.path.clone(),
                    vendor: id.vendor,
                    product: id.product,
                    revision: id.revision,
                    serial: id.serial,
                });
            }
            Err(error) => warnings.push(Warning::Drive {
                path: d.info.path.clone(),
                error,
            }),
        }
    }
}

/// What reading one changer gives.
struct ChangerRead {
    identity: DeviceIdentity,
    map: ElementAddressAssignment,
    status: LibraryStatus,
}

/// Read: the changer's identity (unless enumeration gave it), INITIALIZE ELEMENT STATUS with
/// `--rescan`, its element map, and every element's status.
fn read_changer<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    info: &DeviceInfo,
    opts: &DiscoverOptions,
) -> Result<ChangerRead, DiscoveryError> {
    let mut changer = devices.changer(&info.path)?;
    let identity = if info.serial.is_some() {
        identity_from(info)
    } else {
        let id = changer.identify()?;
        DeviceIdentity {
            path: info.path.clone(),
            vendor: id.inquiry.vendor,
            product: id.inquiry.product,
            revision: id.inquiry.revision,
            serial: id.serial,
        }
    };
    if opts.rescan {
        let progress = |s: &str| {
            if let Some(p) = &opts.progress {
                p(s);
            }
        };
        progress(&format!(
            "{}: INITIALIZE ELEMENT STATUS (the changer scans every element; this can take minutes)",
            info.path
        ));
        let start = std::time::Instant::now();
        initialize_with_progress(&mut changer, &info.path, opts.progress.clone())?;
        progress(&format!(
            "{}: element status initialized in {:.1} s",
            info.path,
            start.elapsed().as_secs_f64()
        ));
    }
    let map = changer.element_map()?;
    let status = changer.status(&map, true)?;
    Ok(ChangerRead {
        identity,
        map,
        status,
    })
}

/// INITIALIZE ELEMENT STATUS, with a line every few seconds while the changer scans (a big
/// library takes minutes).
fn initialize_with_progress<T: Transport>(
    changer: &mut Changer<T>,
    path: &str,
    progress: Option<Reporter>,
) -> Result<(), DeviceError<T::Error>> {
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
        let r = changer.initialize_element_status();
        drop(done);
        r
    })
}

/// A drive element's device identifier, as pairing compares it.
pub(crate) fn designator(d: &ElementDescriptor) -> Option<Designator> {
    d.device_id.as_ref().map(|x| Designator {
        designator_type: x.designator_type.0,
        value: x.value.clone(),
        truncated: d.dvcid_truncated,
    })
}

/// One library from what its changer said: drives paired, their media types, the summary.
fn library<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    info: &DeviceInfo,
    read: ChangerRead,
    drives: &mut [DriveState<Dev<S>>],
    compat_cache: &mut HashMap<(String, String, String), Compatibility>,
    warnings: &mut Vec<Warning>,
) -> Library {
    let ChangerRead {
        identity,
        map,
        status,
    } = read;
    let serial = identity.serial.clone().unwrap_or_default();
    let element_ids: Vec<ElementId> = status
        .data_transfer
        .iter()
        .map(|e| ElementId {
            address: e.address,
            dvcid: designator(e).filter(|d| !d.value.iter().all(|b| *b == b' ' || *b == 0)),
        })
        .collect();
    let matching = pair(devices, &element_ids, drives, &serial, warnings);
    for note in matching.ambiguities.iter().chain(&matching.notes) {
        warnings.push(Warning::Pairing {
            changer: info.path.clone(),
            note: note.clone(),
        });
    }
    let mut drive_slots = Vec::with_capacity(status.data_transfer.len());
    for (desc, m) in status.data_transfer.into_iter().zip(&matching.elements) {
        let Some((di, _)) = m else {
            warnings.push(Warning::NoDriveBehind {
                changer: info.path.clone(),
                address: desc.address,
            });
            drive_slots.push(DriveSlot {
                element: element_from(desc, None),
                device: None,
                reads: Vec::new(),
                writes: Vec::new(),
            });
            continue;
        };
        let d = &mut drives[*di];
        d.claimed = true;
        let identity = d.identity();
        let compat = compatibility(devices, d, &identity, compat_cache, warnings);
        let mam = if desc.full {
            mam(devices, d, warnings)
        } else {
            None
        };
        drive_slots.push(DriveSlot {
            element: element_from(desc, mam.as_ref()),
            device: Some(identity),
            reads: compat.reads,
            writes: compat.writes,
        });
    }
    let elements = |v: Vec<ElementDescriptor>| -> Vec<Element> {
        v.into_iter().map(|d| element_from(d, None)).collect()
    };
    let range = |r: MapRange| ElementRange {
        first: r.first,
        count: r.count,
    };
    let mut library = Library {
        changer: identity,
        elements: ElementMap {
            transport: range(map.transport),
            storage: range(map.storage),
            import_export: range(map.import_export),
            data_transfer: range(map.data_transfer),
        },
        slots: elements(status.storage),
        import_export: elements(status.import_export),
        drives: drive_slots,
        media_types: Vec::new(),
        transports: elements(status.transports),
    };
    summarize(&info.path, &mut library, warnings);
    library
}

/// Summarize: warnings for media types whose sources disagree, the per-type counts.
fn summarize(path: &str, library: &mut Library, warnings: &mut Vec<Warning>) {
    let all = || {
        library
            .slots
            .iter()
            .chain(&library.import_export)
            .chain(&library.transports)
            .chain(library.drives.iter().map(|d| &d.element))
    };
    for e in all().filter(|e| e.media_type_conflict.is_some()) {
        warnings.push(Warning::MediaTypeConflict {
            changer: path.to_owned(),
            address: e.address,
        });
    }
    library.media_types =
        summarize_media_types(&library.drives, all().filter_map(|e| e.media_type));
}

/// A drive's readable and writable types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Compatibility {
    reads: Vec<MediaType>,
    writes: Vec<MediaType>,
}

/// Compatibility: what a drive model reads and writes, asked once per model (REPORT DENSITY
/// SUPPORT), else its LTO generation's table.
fn compatibility<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    d: &mut DriveState<Dev<S>>,
    identity: &DeviceIdentity,
    cache: &mut HashMap<(String, String, String), Compatibility>,
    warnings: &mut Vec<Warning>,
) -> Compatibility {
    let key = (
        identity.vendor.clone(),
        identity.product.clone(),
        identity.revision.clone(),
    );
    if let Some(c) = cache.get(&key) {
        return c.clone();
    }
    let asked =
        driver(d, devices).and_then(|drive| medium_types(drive).map_err(DiscoveryError::from));
    let c = match asked {
        Ok(Some(c)) => Some(c),
        Ok(None) => None,
        Err(error) => {
            warnings.push(Warning::Drive {
                path: identity.path.clone(),
                error,
            });
            None
        }
    };
    let c = c.unwrap_or_else(|| match DriveGeneration::from_product(&identity.product) {
        Some(generation) => {
            warnings.push(Warning::LtoTable {
                drive: identity.path.clone(),
                generation,
                product: identity.product.clone(),
            });
            Compatibility {
                reads: generation.reads(),
                writes: generation.writes(),
            }
        }
        None => {
            warnings.push(Warning::UnknownMediaTypes {
                drive: identity.path.clone(),
                product: identity.product.clone(),
            });
            Compatibility::default()
        }
    });
    cache.insert(key, c.clone());
    c
}

/// The catalogue types a medium-type descriptor stands for: its class from its name (WORM,
/// cleaning, else data) and one type per density code.
fn descriptor_types(d: &rds::MediumTypeDescriptor) -> Vec<MediaType> {
    let text = format!("{} {}", d.name, d.description).to_ascii_uppercase();
    let class = if text.contains("WORM") {
        MediumClass::Worm
    } else if text.contains("CLEAN") {
        return Vec::new();
    } else {
        MediumClass::Data
    };
    d.density_codes
        .iter()
        .filter_map(|c| Format::from_density_code(c.0))
        .filter_map(|f| MediaType::from_parts(class, Some(f)))
        .collect()
}

/// REPORT DENSITY SUPPORT, medium types then densities; `None` when the drive does not
/// support either form.
fn medium_types<T: Transport>(
    drive: &mut Drive<T>,
) -> Result<Option<Compatibility>, DeviceError<T::Error>> {
    let Some(types) = unless_unsupported(drive.medium_types(false))? else {
        return Ok(None);
    };
    let mut reads: Vec<MediaType> = types.iter().flat_map(descriptor_types).collect();
    reads.sort();
    reads.dedup();
    let Some(densities) = unless_unsupported(drive.densities(false))? else {
        return Ok(None);
    };
    let writable: Vec<u8> = densities
        .iter()
        .filter(|d| d.writable)
        .map(|d| d.primary.0)
        .collect();
    let writes = reads
        .iter()
        .copied()
        .filter(|t| {
            t.format()
                .is_some_and(|f| writable.contains(&f.density_code()))
        })
        .collect();
    Ok(Some(Compatibility { reads, writes }))
}

/// The loaded cartridge's memory: one READ ATTRIBUTE from the medium attributes on (the three
/// discovery uses fit). `None` when the drive has no MAM support or nothing loaded.
fn mam<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    d: &mut DriveState<Dev<S>>,
    warnings: &mut Vec<Warning>,
) -> Option<Mam> {
    let read =
        driver(d, devices).and_then(|drive| match drive.read_attributes(AttributeId(0x0400)) {
            Ok(list) => Ok(Some(Mam::from_attributes(list))),
            Err(e) if e.is_unsupported() || e.is_sense_key(SenseKey::NOT_READY) => Ok(None),
            Err(e) => Err(DiscoveryError::from(e)),
        });
    read.unwrap_or_else(|error| {
        warnings.push(Warning::Drive {
            path: d.info.path.clone(),
            error,
        });
        None
    })
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

/// The report's element from the changer's descriptor and, for a loaded drive, the MAM.
fn element_from(d: ElementDescriptor, mam: Option<&Mam>) -> Element {
    let barcode = d
        .primary_tag
        .map(|t| {
            // The parser trims; trim again only if a tag still carries padding.
            if t.identifier.trim().len() == t.identifier.len() {
                t.identifier
            } else {
                t.identifier.trim().to_owned()
            }
        })
        .filter(|t| !t.is_empty());
    let medium_type = d.medium_type.0 & 0x07;
    // At most four sources speak; keep them on the stack (this runs once per element).
    let mut evidence = [media::identity::from_element_medium_type(0); 4];
    let mut n = 0;
    let mut push = |e| {
        evidence[n] = e;
        n += 1;
    };
    if d.full {
        if let Some(b) = &barcode {
            push(media::identity::from_barcode(b));
        }
        push(media::identity::from_element_medium_type(medium_type));
        if let Some(m) = mam {
            if let Some(c) = m.density_code {
                push(media::identity::from_mam_density_code(c.0));
            }
            if let Some(t) = m.medium_type {
                push(media::identity::from_mam_medium_type(t.0));
            }
        }
    }
    let (mut media_type, mut media_type_conflict) = if d.full {
        cartridge_type(&evidence[..n])
    } else {
        (None, None)
    };
    // No volume tag from the changer: the MAM's barcode attribute is one more witness.
    if let (true, None, Some(b)) = (d.full, &barcode, mam.and_then(|m| m.barcode.as_ref())) {
        let mut all = evidence[..n].to_vec();
        all.push(media::identity::from_barcode(b));
        (media_type, media_type_conflict) = cartridge_type(&all);
    }
    Element {
        address: d.address,
        full: d.full,
        barcode,
        media_type,
        source: d.source,
        exception: d.except.then(|| Exception {
            asc: d.asc,
            ascq: d.ascq,
            text: reel_hw::asc_label(d.asc, d.ascq).into_owned(),
        }),
        media_type_conflict,
    }
}

/// Pair: the drive elements of one changer with the drives not yet claimed, spending commands
/// only on drives still unmatched and only when an element needs that evidence (VPD 0x83 for
/// elements with a device identifier, then VPD 0xB4/0xB3 for those without).
fn pair<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    elements: &[ElementId],
    drives: &mut [DriveState<Dev<S>>],
    changer_serial: &str,
    warnings: &mut Vec<Warning>,
) -> Matching {
    let free: Vec<usize> = (0..drives.len()).filter(|&i| !drives[i].claimed).collect();
    let run = |drives: &[DriveState<Dev<S>>]| {
        let ids: Vec<DriveId> = free.iter().map(|&i| drives[i].id.clone()).collect();
        let mut m = match_drives(elements, &ids, changer_serial);
        for (d, _) in m.elements.iter_mut().flatten() {
            *d = free[*d];
        }
        m
    };
    let mut m = run(drives);
    let unmatched = |m: &Matching, dvcid: bool| {
        elements
            .iter()
            .zip(&m.elements)
            .any(|(e, x)| x.is_none() && e.dvcid.is_some() == dvcid)
    };
    for by_designators in [true, false] {
        if !unmatched(&m, by_designators) {
            continue;
        }
        for &i in &free {
            if m.claims(i) {
                continue;
            }
            let d = &mut drives[i];
            let asked = if by_designators {
                &mut d.asked_designators
            } else {
                &mut d.asked_automation
            };
            if *asked {
                continue;
            }
            *asked = true;
            if let Err(error) = ask_for_pairing(devices, d, by_designators) {
                warnings.push(Warning::Drive {
                    path: d.info.path.clone(),
                    error,
                });
            }
        }
        m = run(drives);
    }
    m
}

/// VPD 0x83 (`by_designators`) or VPD 0xB4/0xB3 of one drive, into its pairing evidence.
fn ask_for_pairing<S: DeviceSource>(
    devices: &mut Devices<'_, S>,
    d: &mut DriveState<Dev<S>>,
    by_designators: bool,
) -> Result<(), DiscoveryError> {
    let drive = driver(d, devices)?;
    if by_designators {
        let list = unless_unsupported(drive.designators())?.flatten();
        d.id.designators = list
            .unwrap_or_default()
            .into_iter()
            .map(|x| Designator {
                designator_type: x.designator_type.0,
                value: x.value,
                truncated: false,
            })
            .collect();
    } else if let Some(ids) = unless_unsupported(drive.automation_ids())?.flatten() {
        d.id.element_address = Some(ids.element_address);
        d.id.library_serial = ids.library_serial;
    }
    Ok(())
}

/// The kind of element a descriptor page reports, for `reel move`'s element reads.
pub(crate) fn element_type(kind: ElementKind) -> crate::scsi::read_element_status::ElementType {
    crate::scsi::read_element_status::ElementType(kind.smc_code())
}
