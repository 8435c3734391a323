//! The ports of [`super::engine`] over a real [`DeviceSource`]: every opened transport is
//! wrapped in [`Counted`], so one [`Counter`] sees every command a run sends.

use std::time::Duration;

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
use crate::media::{Format, MediaType, MediumClass};
use crate::scsi::exec::{DeviceError, Executor, RetryPolicy};
use crate::scsi::inquiry;
use crate::scsi::load_unload::{self, LoadUnload};
use crate::scsi::mode_sense as ms;
use crate::scsi::read_attribute::{self, AttributeId, ReadAttribute};
use crate::scsi::read_element_status as res;
use crate::scsi::report_density_support::{self as rds, ReportDensitySupport};
use crate::scsi::ParseError;

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

fn malformed(device: &str, cdb: &[u8], e: ParseError) -> DeviceFailure {
    DeviceError::<std::io::Error>::malformed(device, cdb, e).into()
}

/// True for ILLEGAL REQUEST: the device does not support the command or page.
fn unsupported(e: &DeviceFailure) -> bool {
    e.has_key(0x5)
}

/// Runs one data-in command and returns the bytes that arrived.
fn read_in<T: Transport>(
    exec: &mut Executor,
    t: &mut T,
    cdb: &[u8],
    len: usize,
    timeout: Duration,
) -> Result<Vec<u8>, DeviceFailure> {
    let mut buf = vec![0u8; len];
    let n = exec.read(t, cdb, &mut buf, timeout)?;
    buf.truncate(n);
    Ok(buf)
}

/// A VPD page, `None` when the device refuses it; re-read once at the announced length when
/// the first allocation was too short.
fn vpd<T: Transport>(
    exec: &mut Executor,
    t: &mut T,
    page: u8,
) -> Result<Option<Vec<u8>>, DeviceFailure> {
    let cdb = inquiry::vpd_cdb(page, inquiry::VPD_LEN);
    let bytes = match read_in(
        exec,
        t,
        &cdb,
        usize::from(inquiry::VPD_LEN),
        inquiry::TIMEOUT,
    ) {
        Ok(b) => b,
        Err(e) if unsupported(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    if let Err(ParseError::Truncated { needed, .. }) = inquiry::parse_vpd(&bytes, page) {
        let len = u16::try_from(needed + 4).unwrap_or(u16::MAX);
        let cdb = inquiry::vpd_cdb(page, len);
        return read_in(exec, t, &cdb, usize::from(len), inquiry::TIMEOUT).map(Some);
    }
    Ok(Some(bytes))
}

/// INQUIRY + VPD 0x80 of any device.
fn identify<T: Transport>(
    exec: &mut Executor,
    t: &mut T,
) -> Result<(PeripheralType, DeviceIdentity), DeviceFailure> {
    let cdb = inquiry::standard_cdb(inquiry::STANDARD_LEN);
    let bytes = read_in(
        exec,
        t,
        &cdb,
        usize::from(inquiry::STANDARD_LEN),
        inquiry::TIMEOUT,
    )?;
    let std = inquiry::parse_standard(&bytes).map_err(|e| malformed(t.device(), &cdb, e))?;
    let serial = match vpd(exec, t, inquiry::page::UNIT_SERIAL_NUMBER)? {
        Some(b) => {
            let s = inquiry::parse_unit_serial(&b)
                .map_err(|e| malformed(t.device(), &inquiry::vpd_cdb(0x80, inquiry::VPD_LEN), e))?;
            (!s.is_empty()).then_some(s)
        }
        None => None,
    };
    Ok((
        std.peripheral_type,
        DeviceIdentity {
            path: t.device().to_owned(),
            vendor: std.vendor,
            product: std.product,
            revision: std.revision,
            serial,
        },
    ))
}

/// A tape drive as discovery asks it, straight on the SCSI layer: each method is exactly the
/// commands it names, so discovery's command budget is visible here.
#[derive(Debug)]
pub struct ScsiDrive<T> {
    t: T,
    exec: Executor,
}

impl<T: Transport> ScsiDrive<T> {
    /// A drive over `t`.
    pub fn new(t: T) -> Self {
        ScsiDrive {
            t,
            exec: Executor::new(RetryPolicy::default()).for_device_type(PeripheralType::SEQUENTIAL),
        }
    }

    /// The transport back.
    pub fn into_inner(self) -> T {
        self.t
    }

    fn rds(&mut self, form: ReportDensitySupport) -> Result<Option<Vec<u8>>, DeviceFailure> {
        let cdb = form.cdb();
        match read_in(
            &mut self.exec,
            &mut self.t,
            &cdb,
            usize::from(form.allocation_length),
            rds::TIMEOUT,
        ) {
            Ok(b) => Ok(Some(b)),
            Err(e) if unsupported(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl<T: Transport> ScsiDrive<T> {
    /// One REPORT DENSITY SUPPORT list, re-read once with 0xFFFF when the reply was cut short.
    /// `None` when the drive refuses the command; a reply still cut short is an error (a partial
    /// list would be taken for all the drive supports).
    fn rds_list<D>(
        &mut self,
        mut form: ReportDensitySupport,
        parse: fn(&[u8]) -> Result<rds::Report<D>, ParseError>,
    ) -> Result<Option<Vec<D>>, DeviceFailure> {
        loop {
            let Some(bytes) = self.rds(form)? else {
                return Ok(None);
            };
            let report = parse(&bytes).map_err(|e| malformed(self.t.device(), &form.cdb(), e))?;
            if !report.truncated {
                return Ok(Some(report.descriptors));
            }
            if form.allocation_length < u16::MAX {
                form.allocation_length = u16::MAX;
                continue;
            }
            return Err(DeviceError::<std::io::Error>::protocol(
                self.t.device(),
                &form.cdb(),
                format!(
                    "REPORT DENSITY SUPPORT reply cut short at {} bytes; the list would be incomplete",
                    bytes.len()
                ),
            )
            .into());
        }
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
        identify(&mut self.exec, &mut self.t).map(|(_, i)| i)
    }

    fn designators(&mut self) -> Result<Option<Vec<Designator>>, DeviceFailure> {
        let page = inquiry::page::DEVICE_IDENTIFICATION;
        let Some(bytes) = vpd(&mut self.exec, &mut self.t, page)? else {
            return Ok(None);
        };
        let list = inquiry::parse_device_identification(&bytes)
            .map_err(|e| malformed(self.t.device(), &inquiry::vpd_cdb(page, 0), e))?;
        Ok(Some(
            list.into_iter()
                .map(|d| Designator {
                    designator_type: d.designator_type.0,
                    value: d.value,
                    truncated: false,
                })
                .collect(),
        ))
    }

    fn automation_ids(&mut self) -> Result<Option<AutomationIds>, DeviceFailure> {
        let page = inquiry::page::DATA_TRANSFER_DEVICE_ELEMENT_ADDRESS;
        let Some(bytes) = vpd(&mut self.exec, &mut self.t, page)? else {
            return Ok(None);
        };
        let address = inquiry::parse_element_address(&bytes)
            .map_err(|e| malformed(self.t.device(), &inquiry::vpd_cdb(page, 0), e))?;
        let page = inquiry::page::AUTOMATION_DEVICE_SERIAL_NUMBER;
        let library = match vpd(&mut self.exec, &mut self.t, page)? {
            Some(b) => inquiry::parse_automation_serial(&b)
                .ok()
                .filter(|s| !s.is_empty()),
            None => None,
        };
        Ok(Some((Some(address), library)))
    }

    fn compatibility(&mut self) -> Result<Option<Compatibility>, DeviceFailure> {
        let form = ReportDensitySupport::medium_types();
        let Some(types) = self.rds_list(form, rds::parse_medium_types)? else {
            return Ok(None);
        };
        let mut reads: Vec<MediaType> = types.iter().flat_map(descriptor_types).collect();
        reads.sort();
        reads.dedup();
        let form = ReportDensitySupport::densities();
        let Some(densities) = self.rds_list(form, rds::parse_densities)? else {
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
        let ra = ReadAttribute::values(AttributeId(0x0400));
        let cdb = ra.cdb();
        let bytes = match read_in(
            &mut self.exec,
            &mut self.t,
            &cdb,
            ra.allocation_length as usize,
            read_attribute::TIMEOUT,
        ) {
            Ok(b) => b,
            // ILLEGAL REQUEST (no MAM support) or NOT READY (nothing loaded): no MAM to read.
            Err(e) if unsupported(&e) || e.has_key(0x2) => return Ok(None),
            Err(e) => return Err(e),
        };
        let list = read_attribute::parse_values(&bytes)
            .map_err(|e| malformed(self.t.device(), &cdb, e))?;
        Ok(Some(Mam {
            barcode: list.barcode(),
            density_code: list.density_code().map(|d| d.0),
            medium_type: list.medium_type().map(|m| m.0),
        }))
    }

    fn unload(&mut self) -> Result<(), DeviceFailure> {
        let cdb = LoadUnload::unload(false).cdb();
        self.exec
            .no_data(&mut self.t, &cdb, load_unload::TIMEOUT)
            .map_err(Into::into)
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
        let mut t = self.open(path, PeripheralType::SEQUENTIAL)?;
        let mut exec = Executor::new(RetryPolicy::default());
        let (peripheral_type, id) = identify(&mut exec, &mut t)?;
        Ok(DeviceInfo {
            path: path.to_owned(),
            peripheral_type,
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
