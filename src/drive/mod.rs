//! SSC tape-drive driver, generic over [`reel_hw::Transport`].
//!
//! [`Drive`] owns its transport (`new(t)` / `into_inner()`) and runs every command under the
//! one error policy of [`crate::scsi::exec`]: UNIT ATTENTION is retried and kept as an
//! [`Event`], 02/04/01 "becoming ready" is waited out up to a bound, anything else is a
//! [`DeviceError`] naming the device, the command and the decoded sense.
//!
//! What it does: identify the drive (INQUIRY, VPD 0x80/0x83) and where it sits in its library
//! (VPD 0xB4/0xB3), report readiness (TEST UNIT READY decoded into [`Readiness`]), list
//! densities and medium types (REPORT DENSITY SUPPORT), block limits, LOAD/UNLOAD, REWIND, READ POSITION, the cartridge memory ([`Mam`]: READ and
//! WRITE ATTRIBUTE) and TapeAlert flags. What it does not do: read or write data blocks, or
//! move cartridges (that is the changer's job).

use std::time::Duration;

use reel_hw::sense::{Sense, SenseKey};
use reel_hw::{DeviceInfo, PeripheralType, Transport};
use uuid::Uuid;

use crate::scsi::exec::{DeviceError, Event, Executor, RetryPolicy};
use crate::scsi::inquiry::{self, Designator};
use crate::scsi::load_unload::{self, LoadUnload};
use crate::scsi::log_sense::{self, LogSense, TapeAlerts};
use crate::scsi::read_attribute::{self, AttributeId, AttributeList, MamMediumType, ReadAttribute};
use crate::scsi::read_block_limits::{self, BlockLimits};
use crate::scsi::read_position::{self, LongPosition, ShortPosition};
use crate::scsi::report_density_support::{
    self as rds, DensityCode, DensityDescriptor, MediumTypeDescriptor, ReportDensitySupport,
};
use crate::scsi::{rewind, test_unit_ready, write_attribute, ParseError};

pub use read_attribute::Attribute;

#[cfg(test)]
mod tests;

/// TEST UNIT READY timeout (scsi-reference §8).
pub const TUR_TIMEOUT: Duration = test_unit_ready::TIMEOUT;

/// The last attribute [`Drive::read_mam`] needs; it stops continuing past it.
const LAST_MAM_ID: AttributeId = AttributeId::MEDIA_POOL_GUID;

/// Most READ ATTRIBUTE commands one [`Drive::read_mam`] sends.
const MAX_MAM_READS: usize = 8;

/// Settings of a [`Drive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveConfig {
    /// Retries and waits of the error policy.
    pub retry: RetryPolicy,
    /// Allocation length of each READ ATTRIBUTE (default 16 KiB).
    pub mam_allocation: u32,
    /// Allocation length of REPORT DENSITY SUPPORT on the first try (default 8 KiB; a
    /// truncated report is re-read once with 0xFFFF).
    pub density_allocation: u16,
}

impl Default for DriveConfig {
    fn default() -> Self {
        DriveConfig {
            retry: RetryPolicy::default(),
            mam_allocation: read_attribute::DEFAULT_ALLOCATION,
            density_allocation: rds::DEFAULT_ALLOCATION,
        }
    }
}

/// Who a drive is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveIdentity {
    /// Peripheral device type (sequential access for a tape drive).
    pub peripheral_type: PeripheralType,
    /// INQUIRY vendor, trimmed.
    pub vendor: String,
    /// INQUIRY product, trimmed.
    pub product: String,
    /// INQUIRY revision, trimmed.
    pub revision: String,
    /// Unit serial number (VPD 0x80); `None` when the drive has no such page or it is blank.
    pub serial: Option<String>,
    /// Device identification designators (VPD 0x83); empty when the drive has no such page or
    /// the identity came from enumeration.
    pub designators: Vec<Designator>,
}

impl DriveIdentity {
    /// The identity enumeration already knows (sysfs, simulator listing), without sending a
    /// command. Designators are empty: call [`Drive::identify`] when they are needed.
    pub fn from_device_info(info: &DeviceInfo) -> Self {
        DriveIdentity {
            peripheral_type: info.peripheral_type,
            vendor: info.vendor.clone(),
            product: info.product.clone(),
            revision: info.revision.clone(),
            serial: info.serial.clone().filter(|s| !s.is_empty()),
            designators: Vec::new(),
        }
    }

    /// Every serial the drive answers to: VPD 0x80 first, then those carried by its VPD 0x83
    /// designators, without duplicates. A changer's DVCID matches one of these.
    pub fn serials(&self) -> Vec<String> {
        let mut out: Vec<String> = self.serial.iter().cloned().collect();
        for s in self.designators.iter().filter_map(Designator::serial) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

/// What TEST UNIT READY says about a drive. Expected states are values, not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// A medium is loaded and the drive is ready.
    Ready,
    /// No medium in the drive (NOT READY, 3A/xx).
    NoMedium,
    /// The drive is loading, rewinding or calibrating (NOT READY, 04/01); ask again later.
    BecomingReady,
    /// The loaded medium cannot be used (30/00 incompatible medium, 30/01 unknown format,
    /// 30/02 incompatible format).
    IncompatibleMedium(Sense),
    /// A cleaning cartridge is loaded (30/03).
    CleaningCartridge,
    /// The drive asks for cleaning (00/17 cleaning requested, or 30/07 cleaning failure).
    NeedsCleaning(Sense),
    /// The drive is offline or needs an operator (NOT READY, 04/03 manual intervention or
    /// 04/12 offline).
    Offline(Sense),
    /// Any other CHECK CONDITION, with its sense.
    Other(Sense),
}

/// The state in words, with the decoded sense where there is one.
impl std::fmt::Display for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Readiness::Ready => f.write_str("ready"),
            Readiness::NoMedium => f.write_str("no medium loaded"),
            Readiness::BecomingReady => f.write_str("becoming ready"),
            Readiness::CleaningCartridge => f.write_str("a cleaning cartridge is loaded"),
            Readiness::IncompatibleMedium(s) => write!(f, "incompatible medium ({s})"),
            Readiness::NeedsCleaning(s) => write!(f, "needs cleaning ({s})"),
            Readiness::Offline(s) => write!(f, "offline ({s})"),
            Readiness::Other(s) => write!(f, "not ready ({s})"),
        }
    }
}

impl Readiness {
    /// Decodes the sense of a TEST UNIT READY CHECK CONDITION.
    pub fn from_sense(sense: Sense) -> Readiness {
        match (sense.key, sense.asc, sense.ascq) {
            (SenseKey::NOT_READY, 0x3A, _) => Readiness::NoMedium,
            (SenseKey::NOT_READY, 0x04, 0x01) => Readiness::BecomingReady,
            (SenseKey::NOT_READY, 0x04, 0x03 | 0x12) => Readiness::Offline(sense),
            (_, 0x30, 0x03) => Readiness::CleaningCartridge,
            (_, 0x30, 0x00..=0x02) => Readiness::IncompatibleMedium(sense),
            (_, 0x00, 0x17) | (_, 0x30, 0x07) => Readiness::NeedsCleaning(sense),
            _ => Readiness::Other(sense),
        }
    }

    /// True for [`Readiness::Ready`].
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }
}

/// The cartridge memory attributes reel uses, from one READ ATTRIBUTE where the reply fits.
/// Missing or blank attributes are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mam {
    /// BARCODE (0x0806), as a library or application wrote it.
    pub barcode: Option<String>,
    /// MEDIUM TYPE (0x0408): data, cleaning or write-once.
    pub medium_type: Option<MamMediumType>,
    /// MEDIUM DENSITY CODE (0x0405).
    pub density_code: Option<DensityCode>,
    /// MEDIUM SERIAL NUMBER (0x0401).
    pub medium_serial: Option<String>,
    /// MEDIA POOL (0x0808).
    pub pool_name: Option<String>,
    /// MEDIA POOL GLOBALLY UNIQUE IDENTIFIER (0x0821).
    pub pool_guid: Option<Uuid>,
    /// Every attribute read, for callers that want more.
    pub attributes: AttributeList,
}

impl Mam {
    /// Picks the typed fields out of an attribute list.
    pub fn from_attributes(attributes: AttributeList) -> Self {
        Mam {
            barcode: attributes.barcode(),
            medium_type: attributes.medium_type(),
            density_code: attributes.density_code(),
            medium_serial: attributes.medium_serial(),
            pool_name: attributes.pool_name(),
            pool_guid: attributes.pool_guid(),
            attributes,
        }
    }
}

/// Where a drive sits in its library, as the drive itself reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationIds {
    /// The drive's data transfer element address in its changer (VPD 0xB4).
    pub element_address: u16,
    /// The serial of the library the drive is in (VPD 0xB3), when the drive gives it.
    pub library_serial: Option<String>,
}

impl<E> DeviceError<E> {
    /// True when the device does not support the command or this form of it: ILLEGAL REQUEST
    /// with 20/00 (invalid command operation code) or 24/00 (invalid field in CDB, e.g. the
    /// MEDIUM TYPE bit of REPORT DENSITY SUPPORT on an older drive, or a log page it lacks).
    pub fn is_unsupported(&self) -> bool {
        self.is_sense(SenseKey::ILLEGAL_REQUEST, 0x20, 0x00)
            || self.is_sense(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00)
    }

    /// True when the command failed because no medium is loaded (NOT READY, 3A/xx).
    pub fn is_no_medium(&self) -> bool {
        matches!(self, DeviceError::Check { sense, .. }
            if sense.key == SenseKey::NOT_READY && sense.asc == 0x3A)
    }
}

/// An SSC tape drive behind a transport.
#[derive(Debug)]
pub struct Drive<T: Transport> {
    t: T,
    exec: Executor,
    config: DriveConfig,
}

/// Result of a drive operation.
pub type DriveResult<T, E> = Result<T, DeviceError<E>>;

impl<T: Transport> Drive<T> {
    /// A drive with the default [`DriveConfig`].
    pub fn new(t: T) -> Self {
        Drive::with_config(t, DriveConfig::default())
    }

    /// A drive with `config`.
    pub fn with_config(t: T, config: DriveConfig) -> Self {
        let exec = Executor::new(config.retry.clone());
        Drive::with_executor(t, exec, config)
    }

    /// A drive that runs commands through `exec` (tests pass one with an instant sleeper).
    /// `config.retry` is replaced by the executor's policy.
    pub fn with_executor(t: T, exec: Executor, mut config: DriveConfig) -> Self {
        config.retry = exec.policy().clone();
        Drive {
            t,
            exec: exec.for_device_type(PeripheralType::SEQUENTIAL),
            config,
        }
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.t
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.t
    }

    /// The device name used in errors.
    pub fn device(&self) -> &str {
        self.t.device()
    }

    /// The configuration in force.
    pub fn config(&self) -> &DriveConfig {
        &self.config
    }

    /// Returns and clears the events (unit attentions, recovered errors, waits) seen since the
    /// last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.exec.take_events()
    }

    fn read(
        &mut self,
        cdb: &[u8],
        len: usize,
        timeout: Duration,
    ) -> DriveResult<Vec<u8>, T::Error> {
        let mut buf = vec![0u8; len];
        let n = self.exec.read(&mut self.t, cdb, &mut buf, timeout)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn parsed<R>(&self, cdb: &[u8], r: Result<R, ParseError>) -> DriveResult<R, T::Error> {
        r.map_err(|e| DeviceError::malformed(self.t.device(), cdb, e))
    }

    /// Reads VPD page `page`, re-reading once with the announced length when the page is
    /// longer than the first allocation.
    fn vpd(&mut self, page: u8) -> DriveResult<Vec<u8>, T::Error> {
        let cdb = inquiry::vpd_cdb(page, inquiry::VPD_LEN);
        let data = self.read(&cdb, usize::from(inquiry::VPD_LEN), inquiry::TIMEOUT)?;
        if let Err(ParseError::Truncated {
            what: "VPD page",
            needed,
            ..
        }) = inquiry::parse_vpd(&data, page)
        {
            let len = u16::try_from(needed + 4).unwrap_or(u16::MAX);
            if len > inquiry::VPD_LEN && data.len() >= usize::from(inquiry::VPD_LEN) {
                let cdb = inquiry::vpd_cdb(page, len);
                return self.read(&cdb, usize::from(len), inquiry::TIMEOUT);
            }
        }
        Ok(data)
    }

    /// A VPD page the drive may lack: `None` when it refuses the page with ILLEGAL REQUEST
    /// (whatever the additional sense: drives answer 24/00, 20/00 or their own code).
    fn optional_vpd(&mut self, page: u8) -> DriveResult<Option<Vec<u8>>, T::Error> {
        match self.vpd(page) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.is_sense_key(SenseKey::ILLEGAL_REQUEST) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Identifies the drive: standard INQUIRY, then VPD 0x80 (unit serial), then VPD 0x83
    /// (designators): [`Drive::inquiry`] then [`Drive::designators`]. Three commands (four
    /// when VPD 0x83 is longer than 255 bytes). A drive that refuses a VPD page (ILLEGAL
    /// REQUEST) gets `serial: None` or no designators.
    ///
    /// # Errors
    /// Any [`DeviceError`] from the commands other than a refused VPD page;
    /// [`DeviceError::Malformed`] when a reply does not parse.
    pub fn identify(&mut self) -> DriveResult<DriveIdentity, T::Error> {
        let mut id = self.inquiry()?;
        id.designators = self.designators()?.unwrap_or_default();
        Ok(id)
    }

    /// Standard INQUIRY and VPD 0x80 (unit serial) only: two commands, no designators. Both
    /// are SPC commands, so this identifies any SCSI device, not only a drive. A device that
    /// refuses VPD 0x80 (ILLEGAL REQUEST) or leaves it blank gets `serial: None`.
    ///
    /// # Errors
    /// As [`Drive::identify`].
    pub fn inquiry(&mut self) -> DriveResult<DriveIdentity, T::Error> {
        let cdb = inquiry::standard_cdb(inquiry::STANDARD_LEN);
        let data = self.read(&cdb, usize::from(inquiry::STANDARD_LEN), inquiry::TIMEOUT)?;
        let std = self.parsed(&cdb, inquiry::parse_standard(&data))?;
        let serial = match self.optional_vpd(inquiry::page::UNIT_SERIAL_NUMBER)? {
            Some(data) => {
                let cdb = inquiry::vpd_cdb(inquiry::page::UNIT_SERIAL_NUMBER, inquiry::VPD_LEN);
                Some(self.parsed(&cdb, inquiry::parse_unit_serial(&data))?)
                    .filter(|s| !s.is_empty())
            }
            None => None,
        };
        Ok(DriveIdentity {
            peripheral_type: std.peripheral_type,
            vendor: std.vendor,
            product: std.product,
            revision: std.revision,
            serial,
            designators: Vec::new(),
        })
    }

    /// The device identification designators (VPD 0x83) alone: one command (two when the
    /// page is longer than 255 bytes). `None` when the drive refuses the page (ILLEGAL
    /// REQUEST).
    ///
    /// # Errors
    /// Any other [`DeviceError`]; [`DeviceError::Malformed`] when the page does not parse.
    pub fn designators(&mut self) -> DriveResult<Option<Vec<Designator>>, T::Error> {
        let page = inquiry::page::DEVICE_IDENTIFICATION;
        let Some(data) = self.optional_vpd(page)? else {
            return Ok(None);
        };
        let cdb = inquiry::vpd_cdb(page, inquiry::VPD_LEN);
        self.parsed(&cdb, inquiry::parse_device_identification(&data))
            .map(Some)
    }

    /// Where the drive sits in its library: VPD 0xB4 (its data transfer element address),
    /// then VPD 0xB3 (the library's serial). Two commands; one when the drive refuses 0xB4,
    /// which gives `None` (a drive outside a library, or one that does not say).
    /// `library_serial` is `None` when 0xB3 is refused, blank or does not parse: the address
    /// is what the caller needs, the serial only confirms it.
    ///
    /// # Errors
    /// Any [`DeviceError`] other than a refused page; [`DeviceError::Malformed`] when 0xB4
    /// does not parse.
    pub fn automation_ids(&mut self) -> DriveResult<Option<AutomationIds>, T::Error> {
        let page = inquiry::page::DATA_TRANSFER_DEVICE_ELEMENT_ADDRESS;
        let Some(data) = self.optional_vpd(page)? else {
            return Ok(None);
        };
        let cdb = inquiry::vpd_cdb(page, inquiry::VPD_LEN);
        let element_address = self.parsed(&cdb, inquiry::parse_element_address(&data))?;
        let library_serial = self
            .optional_vpd(inquiry::page::AUTOMATION_DEVICE_SERIAL_NUMBER)?
            .and_then(|b| inquiry::parse_automation_serial(&b).ok())
            .filter(|s| !s.is_empty());
        Ok(Some(AutomationIds {
            element_address,
            library_serial,
        }))
    }

    /// Sends one TEST UNIT READY and decodes the answer. "Becoming ready" is reported, not
    /// waited out; unit attentions are retried (and kept as events) as for every command.
    ///
    /// # Errors
    /// Only failures that say nothing about the drive's state: [`DeviceError::Transport`],
    /// [`DeviceError::Status`] (BUSY past its retries, RESERVATION CONFLICT, ...) and
    /// [`DeviceError::UndecodableSense`].
    pub fn readiness(&mut self) -> DriveResult<Readiness, T::Error> {
        let saved = std::mem::replace(&mut self.exec.policy_mut().ready_wait, Duration::ZERO);
        let r = self
            .exec
            .no_data(&mut self.t, &test_unit_ready::cdb(), TUR_TIMEOUT);
        self.exec.policy_mut().ready_wait = saved;
        match r {
            Ok(()) => Ok(Readiness::Ready),
            Err(DeviceError::Check { sense, .. }) => Ok(Readiness::from_sense(sense)),
            Err(DeviceError::NotReady { .. }) => Ok(Readiness::BecomingReady),
            Err(e) => Err(e),
        }
    }

    fn density_report<D>(
        &mut self,
        mut fields: ReportDensitySupport,
        parse: fn(&[u8]) -> Result<rds::Report<D>, ParseError>,
    ) -> DriveResult<Vec<D>, T::Error> {
        fields.allocation_length = self.config.density_allocation;
        loop {
            let cdb = fields.cdb();
            let data = self.read(&cdb, usize::from(fields.allocation_length), rds::TIMEOUT)?;
            let report = self.parsed(&cdb, parse(&data))?;
            if report.truncated {
                if fields.allocation_length < u16::MAX {
                    fields.allocation_length = u16::MAX;
                    continue;
                }
                return Err(DeviceError::protocol(
                    self.t.device(),
                    &cdb,
                    format!(
                        "REPORT DENSITY SUPPORT reply cut short at {} bytes; the list would be incomplete",
                        data.len()
                    ),
                ));
            }
            return Ok(report.descriptors);
        }
    }

    /// The densities the drive supports (`media_only`: those the loaded medium supports).
    ///
    /// # Errors
    /// Any [`DeviceError`]; a drive without the command gives an error whose
    /// [`DeviceError::is_unsupported`] is true; with `media_only` and no medium,
    /// [`DeviceError::is_no_medium`] is true; [`DeviceError::Protocol`] when the reply is still
    /// cut short with the largest allocation length (the list would be incomplete).
    pub fn densities(&mut self, media_only: bool) -> DriveResult<Vec<DensityDescriptor>, T::Error> {
        let fields = ReportDensitySupport {
            media: media_only,
            ..ReportDensitySupport::densities()
        };
        self.density_report(fields, rds::parse_densities)
    }

    /// The medium types the drive supports, each with the densities it can use on it
    /// (`media_only`: only the loaded medium's type).
    ///
    /// # Errors
    /// As [`Drive::densities`]; drives older than SSC-3 reject the MEDIUM TYPE bit
    /// ([`DeviceError::is_unsupported`]).
    pub fn medium_types(
        &mut self,
        media_only: bool,
    ) -> DriveResult<Vec<MediumTypeDescriptor>, T::Error> {
        let fields = ReportDensitySupport {
            media: media_only,
            ..ReportDensitySupport::medium_types()
        };
        self.density_report(fields, rds::parse_medium_types)
    }

    /// The block lengths the drive accepts.
    ///
    /// # Errors
    /// Any [`DeviceError`]; [`DeviceError::Malformed`] for a reply under 6 bytes.
    pub fn block_limits(&mut self) -> DriveResult<BlockLimits, T::Error> {
        let cdb = read_block_limits::cdb();
        let data = self.read(
            &cdb,
            read_block_limits::REPLY_LEN,
            read_block_limits::TIMEOUT,
        )?;
        self.parsed(&cdb, read_block_limits::parse(&data))
    }

    /// Loads (threads) the medium in the drive. With `immed` the drive answers at once and
    /// [`Drive::readiness`] reports [`Readiness::BecomingReady`] until it is done.
    ///
    /// # Errors
    /// Any [`DeviceError`]; no medium gives [`DeviceError::is_no_medium`].
    pub fn load(&mut self, immed: bool) -> DriveResult<(), T::Error> {
        self.exec.no_data(
            &mut self.t,
            &LoadUnload::load(immed).cdb(),
            load_unload::TIMEOUT,
        )
    }

    /// Rewinds and unloads (ejects) the medium, so a changer can take it.
    ///
    /// # Errors
    /// Any [`DeviceError`] (e.g. 53/02 medium removal prevented).
    pub fn unload(&mut self, immed: bool) -> DriveResult<(), T::Error> {
        self.exec.no_data(
            &mut self.t,
            &LoadUnload::unload(immed).cdb(),
            load_unload::TIMEOUT,
        )
    }

    /// Rewinds to the beginning of the current partition.
    ///
    /// # Errors
    /// Any [`DeviceError`]; no medium gives [`DeviceError::is_no_medium`].
    pub fn rewind(&mut self, immed: bool) -> DriveResult<(), T::Error> {
        self.exec
            .no_data(&mut self.t, &rewind::cdb(immed), rewind::TIMEOUT)
    }

    /// Where the medium is (READ POSITION, short form).
    ///
    /// # Errors
    /// Any [`DeviceError`]; [`DeviceError::Malformed`] for a reply under 20 bytes.
    pub fn position(&mut self) -> DriveResult<ShortPosition, T::Error> {
        let cdb = read_position::short_cdb();
        let data = self.read(&cdb, read_position::SHORT_LEN, read_position::TIMEOUT)?;
        self.parsed(&cdb, read_position::parse_short(&data))
    }

    /// Where the medium is, with 64-bit block and file numbers (READ POSITION, long form).
    ///
    /// # Errors
    /// Any [`DeviceError`]; [`DeviceError::Malformed`] for a reply under 32 bytes.
    pub fn long_position(&mut self) -> DriveResult<LongPosition, T::Error> {
        let cdb = read_position::long_cdb();
        let data = self.read(&cdb, read_position::LONG_LEN, read_position::TIMEOUT)?;
        self.parsed(&cdb, read_position::parse_long(&data))
    }

    /// Reads the loaded cartridge's memory: every attribute from 0x0000 on in one READ
    /// ATTRIBUTE, continuing from the next identifier only when the reply did not fit and
    /// the attributes reel needs were not all seen. `Ok(None)` when no medium is loaded.
    ///
    /// # Errors
    /// Any [`DeviceError`] other than no medium (e.g. 11/12 auxiliary memory read error, or
    /// [`DeviceError::is_unsupported`] for a drive without READ ATTRIBUTE);
    /// [`DeviceError::Protocol`] when a continuation makes no progress.
    pub fn read_mam(&mut self) -> DriveResult<Option<Mam>, T::Error> {
        let mut all = AttributeList::default();
        let mut fields = ReadAttribute {
            allocation_length: self.config.mam_allocation,
            ..ReadAttribute::values(AttributeId(0))
        };
        for _ in 0..MAX_MAM_READS {
            let mut list = match self.read_attribute(fields) {
                Ok(l) => l,
                Err(e) if e.is_no_medium() => return Ok(None),
                Err(e) => return Err(e),
            };
            // A device that ignores the first identifier repeats attributes already read.
            let first = fields.first_attribute;
            list.attributes.retain(|a| a.id >= first);
            let last = list.attributes.last().map(|a| a.id);
            all.attributes.extend(list.attributes);
            match last {
                Some(id) if list.truncated && id < LAST_MAM_ID => {
                    fields.first_attribute = AttributeId(id.0 + 1);
                }
                None if list.truncated => {
                    return Err(DeviceError::protocol(
                        self.t.device(),
                        &fields.cdb(),
                        format!(
                            "reply from attribute {:#06x} on does not fit {} bytes and holds no new whole attribute",
                            first.0, fields.allocation_length
                        ),
                    ))
                }
                _ => {
                    all.truncated = list.truncated;
                    return Ok(Some(Mam::from_attributes(all)));
                }
            }
        }
        all.truncated = true;
        Ok(Some(Mam::from_attributes(all)))
    }

    /// One READ ATTRIBUTE of the loaded cartridge's attribute values from `first` on, with
    /// the configured allocation length and no continuation: the list's `truncated` says
    /// whether the reply was cut. For callers with a command budget; [`Drive::read_mam`]
    /// reads everything.
    ///
    /// # Errors
    /// Any [`DeviceError`], no medium included ([`DeviceError::is_no_medium`]);
    /// [`DeviceError::Malformed`] when the reply does not parse.
    pub fn read_attributes(&mut self, first: AttributeId) -> DriveResult<AttributeList, T::Error> {
        let fields = ReadAttribute {
            allocation_length: self.config.mam_allocation,
            ..ReadAttribute::values(first)
        };
        self.read_attribute(fields)
    }

    fn read_attribute(&mut self, fields: ReadAttribute) -> DriveResult<AttributeList, T::Error> {
        let cdb = fields.cdb();
        let len = usize::try_from(fields.allocation_length).unwrap_or(usize::MAX);
        let data = self.read(&cdb, len, read_attribute::TIMEOUT)?;
        self.parsed(&cdb, read_attribute::parse_values(&data))
    }

    /// Writes attributes to the loaded cartridge's memory (WRITE ATTRIBUTE). Build them with
    /// [`Attribute::barcode`], [`Attribute::media_pool`], [`Attribute::media_pool_guid`]; a
    /// zero-length value deletes an attribute.
    ///
    /// # Errors
    /// Any [`DeviceError`] (e.g. 27/00 write protected, 24/00 or 26/xx for an attribute the
    /// drive refuses); [`DeviceError::Protocol`] when a value exceeds 65535 bytes (nothing is
    /// sent).
    pub fn write_mam(&mut self, attrs: &[Attribute]) -> DriveResult<(), T::Error> {
        let list = write_attribute::parameter_list(attrs);
        let fields = write_attribute::WriteAttribute::new(
            list.as_ref()
                .map_or(0, |l| u32::try_from(l.len()).unwrap_or(u32::MAX)),
        );
        let cdb = fields.cdb();
        let list = list.map_err(|e| DeviceError::protocol(self.t.device(), &cdb, e.to_string()))?;
        self.exec
            .write(&mut self.t, &cdb, &list, write_attribute::TIMEOUT)
    }

    /// Reads the TapeAlert log page. Most drives clear the flags when the page is read.
    ///
    /// # Errors
    /// Any [`DeviceError`]; a drive without the page gives [`DeviceError::is_unsupported`];
    /// [`DeviceError::Malformed`] when the reply is not the TapeAlert page;
    /// [`DeviceError::Protocol`] when the device cut the page short of its announced length.
    pub fn tape_alerts(&mut self) -> DriveResult<TapeAlerts, T::Error> {
        let fields = LogSense::tape_alert();
        let cdb = fields.cdb();
        let data = self.read(
            &cdb,
            usize::from(fields.allocation_length),
            log_sense::TIMEOUT,
        )?;
        let alerts = self.parsed(&cdb, log_sense::parse_tape_alert(&data))?;
        let page = self.parsed(&cdb, log_sense::parse_page(&data))?;
        if page.truncated {
            // Reading the page may have cleared the flags: a re-read could not restore them.
            let announced = usize::from(u16::from_be_bytes([data[2], data[3]])) + 4;
            return Err(DeviceError::protocol(
                self.t.device(),
                &cdb,
                format!(
                    "TapeAlert page cut short at {} of its {announced} bytes; the flags would be \
                     incomplete (and reading the page may have cleared them)",
                    data.len()
                ),
            ));
        }
        Ok(alerts)
    }
}
