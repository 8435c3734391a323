//! The ports of [`super::engine`] over a real [`DeviceSource`]: every opened transport is
//! wrapped in [`Counted`], so one [`Counter`] sees every command a run sends.

use reel_hw::{DeviceInfo, DeviceSource, PeripheralType, Transport};

use super::engine::{
    AutomationIds, Backend, ChangerPort, Compatibility, DeviceFailure, DiscoveryError, DrivePort,
    Mam, RawElement, RawStatus,
};
use super::location::ElementKind;
use super::matching::Designator;
use super::model::{DeviceIdentity, ElementMap, ElementRange};
use super::stats::{Counted, Counter};
use crate::changer::{Changer, ReadOptions};
use crate::drive::Drive;
use crate::media::{Format, MediaType, MediumClass};
use crate::scsi::exec::DeviceError;
use crate::scsi::mode_sense as ms;
use crate::scsi::read_attribute::AttributeId;
use crate::scsi::read_element_status as res;
use crate::scsi::report_density_support as rds;

impl<E: std::error::Error> From<DeviceError<E>> for DeviceFailure {
    fn from(e: DeviceError<E>) -> Self {
        DeviceFailure {
            device: e.device().to_owned(),
            op: e.op().to_owned(),
            sense: e.sense().cloned(),
            message: e.to_string(),
        }
    }
}

/// True for ILLEGAL REQUEST: the device does not support the command or page.
fn unsupported(e: &DeviceFailure) -> bool {
    e.has_key(0x5)
}

/// `None` for a command the device refuses (ILLEGAL REQUEST), else the result.
fn unless_unsupported<R, E: std::error::Error>(
    r: Result<R, DeviceError<E>>,
) -> Result<Option<R>, DeviceFailure> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            let e = DeviceFailure::from(e);
            if unsupported(&e) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// A tape drive as discovery asks it: [`Drive`] and its error policy, each method one or two
/// of the drive's commands, so discovery's command budget is visible here.
#[derive(Debug)]
pub struct ScsiDrive<T: Transport> {
    drive: Drive<T>,
}

impl<T: Transport> ScsiDrive<T> {
    /// A drive over `t`, with [`Drive`]'s default policy.
    pub fn new(t: T) -> Self {
        ScsiDrive {
            drive: Drive::new(t),
        }
    }

    /// The transport back.
    pub fn into_inner(self) -> T {
        self.drive.into_inner()
    }
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

impl<T: Transport> DrivePort for ScsiDrive<T> {
    fn identify(&mut self) -> Result<DeviceIdentity, DeviceFailure> {
        let id = self.drive.inquiry()?;
        Ok(DeviceIdentity {
            path: self.drive.device().to_owned(),
            vendor: id.vendor,
            product: id.product,
            revision: id.revision,
            serial: id.serial,
        })
    }

    fn designators(&mut self) -> Result<Option<Vec<Designator>>, DeviceFailure> {
        let list = unless_unsupported(self.drive.designators())?.flatten();
        Ok(list.map(|l| {
            l.into_iter()
                .map(|d| Designator {
                    designator_type: d.designator_type.0,
                    value: d.value,
                    truncated: false,
                })
                .collect()
        }))
    }

    fn automation_ids(&mut self) -> Result<Option<AutomationIds>, DeviceFailure> {
        let ids = unless_unsupported(self.drive.automation_ids())?.flatten();
        Ok(ids.map(|i| (Some(i.element_address), i.library_serial)))
    }

    fn compatibility(&mut self) -> Result<Option<Compatibility>, DeviceFailure> {
        let Some(types) = unless_unsupported(self.drive.medium_types(false))? else {
            return Ok(None);
        };
        let mut reads: Vec<MediaType> = types.iter().flat_map(descriptor_types).collect();
        reads.sort();
        reads.dedup();
        let Some(densities) = unless_unsupported(self.drive.densities(false))? else {
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

    fn mam(&mut self) -> Result<Option<Mam>, DeviceFailure> {
        // One READ ATTRIBUTE from the medium attributes on: the three discovery uses fit.
        let list = match unless_unsupported(self.drive.read_attributes(AttributeId(0x0400))) {
            Ok(Some(l)) => l,
            // ILLEGAL REQUEST (no MAM support) or NOT READY (nothing loaded): no MAM to read.
            Ok(None) => return Ok(None),
            Err(e) if e.has_key(0x2) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(Mam {
            barcode: list.barcode(),
            density_code: list.density_code().map(|d| d.0),
            medium_type: list.medium_type().map(|m| m.0),
        }))
    }

    fn unload(&mut self) -> Result<(), DeviceFailure> {
        Ok(self.drive.unload(false)?)
    }
}

/// Discovery's [`Backend`] over a [`DeviceSource`].
#[derive(Debug)]
pub struct SourceBackend<'a, S> {
    source: &'a mut S,
    counter: Counter,
}

impl<'a, S: DeviceSource> SourceBackend<'a, S> {
    /// A backend over `source`, counting into `counter`.
    pub fn new(source: &'a mut S, counter: Counter) -> Self {
        SourceBackend { source, counter }
    }

    fn open(
        &mut self,
        path: &str,
        kind: PeripheralType,
    ) -> Result<Counted<S::Transport>, DiscoveryError> {
        let t = self.source.open(path).map_err(|e| DiscoveryError::Open {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Counted::new(t, kind, self.counter.clone()))
    }
}

fn raw_element(d: res::ElementDescriptor) -> RawElement {
    let barcode = d.primary_tag.map(|t| {
        // The parser trims; trim again only if a tag still carries padding.
        if t.identifier.trim().len() == t.identifier.len() {
            t.identifier
        } else {
            t.identifier.trim().to_owned()
        }
    });
    RawElement {
        address: d.address,
        full: d.full,
        exception: d.except.then_some((d.asc, d.ascq)),
        medium_type: d.medium_type.0 & 0x07,
        source: d.source,
        barcode: barcode.filter(|t| !t.is_empty()),
        dvcid: d.device_id.map(|x| Designator {
            designator_type: x.designator_type.0,
            value: x.value,
            truncated: d.dvcid_truncated,
        }),
    }
}

fn range(r: ElementRange) -> ms::ElementRange {
    ms::ElementRange::new(r.first, r.count)
}

fn element_type(kind: ElementKind) -> res::ElementType {
    res::ElementType(kind.smc_code())
}

/// A changer as discovery asks it: [`Changer`] and its chunking and fallback policy.
#[derive(Debug)]
pub struct ScsiChanger<T: Transport> {
    changer: Changer<T>,
}

impl<T: Transport> ScsiChanger<T> {
    /// A changer over `t`.
    pub fn new(t: T) -> Self {
        ScsiChanger {
            changer: Changer::new(t),
        }
    }
}

impl<T: Transport> ChangerPort for ScsiChanger<T> {
    fn identify(&mut self) -> Result<DeviceIdentity, DeviceFailure> {
        let id = self.changer.identify()?;
        Ok(DeviceIdentity {
            path: self.changer.transport().device().to_owned(),
            vendor: id.inquiry.vendor,
            product: id.inquiry.product,
            revision: id.inquiry.revision,
            serial: id.serial,
        })
    }

    fn element_map(&mut self) -> Result<ElementMap, DeviceFailure> {
        let m = self.changer.element_map()?;
        let r = |x: ms::ElementRange| ElementRange {
            first: x.first,
            count: x.count,
        };
        Ok(ElementMap {
            transport: r(m.transport),
            storage: r(m.storage),
            import_export: r(m.import_export),
            data_transfer: r(m.data_transfer),
        })
    }

    fn initialize(&mut self) -> Result<(), DeviceFailure> {
        Ok(self.changer.initialize_element_status()?)
    }

    fn status(&mut self, map: &ElementMap) -> Result<RawStatus, DeviceFailure> {
        let m = ms::ElementAddressAssignment {
            transport: range(map.transport),
            storage: range(map.storage),
            import_export: range(map.import_export),
            data_transfer: range(map.data_transfer),
        };
        let s = self.changer.status(&m, true)?;
        let conv = |v: Vec<res::ElementDescriptor>| v.into_iter().map(raw_element).collect();
        Ok(RawStatus {
            transports: conv(s.transports),
            slots: conv(s.storage),
            import_export: conv(s.import_export),
            drives: conv(s.data_transfer),
        })
    }

    fn read_element(
        &mut self,
        kind: ElementKind,
        address: u16,
    ) -> Result<Option<RawElement>, DeviceFailure> {
        let dvcid = kind == ElementKind::Drive;
        let r = ms::ElementRange::new(address, 1);
        let ty = element_type(kind);
        let mut attempts = vec![
            ReadOptions {
                voltag: true,
                dvcid,
            },
            ReadOptions {
                voltag: true,
                dvcid: false,
            },
            ReadOptions {
                voltag: false,
                dvcid,
            },
            ReadOptions::default(),
        ];
        attempts.dedup();
        let mut last = None;
        for o in attempts {
            match self.changer.read_elements(ty, r, &o) {
                Ok(v) => {
                    return Ok(v
                        .into_iter()
                        .find(|d| d.address == address)
                        .map(raw_element));
                }
                // 05/24/00: this changer refuses VOLTAG or DVCID (here); ask with less.
                Err(e) if e.is_sense(reel_hw::sense::SenseKey::ILLEGAL_REQUEST, 0x24, 0x00) => {
                    last = Some(e)
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map(Into::into).unwrap_or_else(|| DeviceFailure {
            device: self.changer.transport().device().to_owned(),
            op: "READ ELEMENT STATUS".into(),
            sense: None,
            message: "no READ ELEMENT STATUS form was tried".into(),
        }))
    }

    fn move_medium(
        &mut self,
        transport: u16,
        source: u16,
        destination: u16,
    ) -> Result<(), DeviceFailure> {
        Ok(self
            .changer
            .move_medium(transport, source, destination, false)?)
    }
}

impl<S: DeviceSource> Backend for SourceBackend<'_, S> {
    type Changer = ScsiChanger<Counted<S::Transport>>;
    type Drive = ScsiDrive<Counted<S::Transport>>;

    fn devices(&mut self) -> Result<Vec<DeviceInfo>, DiscoveryError> {
        self.source
            .devices()
            .map_err(|e| DiscoveryError::Source(e.to_string()))
    }

    fn probe(&mut self, path: &str) -> Result<DeviceInfo, DiscoveryError> {
        // The type is not known yet; 0x1B is not among INQUIRY's commands, so either name does.
        // INQUIRY and VPD 0x80 are SPC commands: a `Drive` asks them of any device.
        let t = self.open(path, PeripheralType::SEQUENTIAL)?;
        let id = Drive::new(t).inquiry().map_err(DeviceFailure::from)?;
        Ok(DeviceInfo {
            path: path.to_owned(),
            peripheral_type: id.peripheral_type,
            vendor: id.vendor,
            product: id.product,
            revision: id.revision,
            serial: id.serial,
        })
    }

    fn open_changer(&mut self, info: &DeviceInfo) -> Result<Self::Changer, DiscoveryError> {
        Ok(ScsiChanger::new(
            self.open(&info.path, PeripheralType::MEDIUM_CHANGER)?,
        ))
    }

    fn open_drive(&mut self, info: &DeviceInfo) -> Result<Self::Drive, DiscoveryError> {
        Ok(ScsiDrive::new(
            self.open(&info.path, PeripheralType::SEQUENTIAL)?,
        ))
    }
}
