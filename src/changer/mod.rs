//! SMC medium-changer driver, generic over `reel_hw::Transport`.
//!
//! [`Changer`] owns its transport (`new(t)` / `into_inner()`), runs every command under the
//! one error policy of [`crate::scsi::exec`], and speaks in real element addresses, never in
//! positional slot numbers.
//!
//! How it reads a library:
//! - [`Changer::element_map`]: MODE SENSE page 0x1D, MODE SENSE(6) first (every SMC device
//!   has it); on ILLEGAL REQUEST it falls back to MODE SENSE(10) and remembers which form
//!   worked for the session.
//! - [`Changer::status`]: one READ ELEMENT STATUS series per element type, never element type
//!   0 (some changers mishandle it), each chunked by [`Changer::read_elements`]. DVCID is asked
//!   only for data transfer elements. When the device refuses VOLTAG together with DVCID
//!   (ILLEGAL REQUEST 24/00), the drives are read twice, once with DVCID and no VOLTAG (device
//!   identifiers) and once with VOLTAG and no DVCID (barcodes), and the two are merged by
//!   address; the refusal is remembered for the session. When VOLTAG alone is refused, the
//!   changer has no barcode reader: VOLTAG is dropped for the rest of the session
//!   ([`Quirks::barcode_reader`]). SMC's page 0x1F has no bit for a barcode reader, so the
//!   refusal is the only sign. An inventory change reported after the series began makes it
//!   read the library again.
//! - [`Changer::read_elements`]: never asks for more than
//!   [`ChangerConfig::max_allocation_length`] bytes and continues from the last address
//!   received + 1 until the range is read; it trusts only the bytes transferred, drops what
//!   lies outside the range, and fails rather than loops when a reply makes no progress.
//!
//! Unit attentions, recovered errors and "becoming ready" waits are not errors: they are
//! queued as [`Event`]s for [`Changer::take_events`].

#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::time::Duration;

use reel_hw::sense::SenseKey;
use reel_hw::{PeripheralType, Transport};

use crate::scsi::exec::{DeviceError, Event, Executor, RetryPolicy};
use crate::scsi::inquiry::{self, Designator, StandardInquiry};
use crate::scsi::mode_sense::{
    self, DeviceCapabilities, ElementAddressAssignment, ElementRange, Form,
};
use crate::scsi::read_element_status::{self as res, ElementDescriptor, ElementType};
use crate::scsi::{
    exchange_medium, initialize_element_status, move_medium, open_close_import_export,
    position_to_element, prevent_allow, test_unit_ready, ParseError,
};

/// The error every changer operation returns.
pub type Error<E> = DeviceError<E>;

/// Settings of a [`Changer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangerConfig {
    /// Largest READ ELEMENT STATUS allocation length ever sent (default 0xFFFF: some changers
    /// read only two of the three length bytes, and SG_IO transfers are capped anyway).
    pub max_allocation_length: u32,
    /// Retries and waits of the error policy.
    pub retry: RetryPolicy,
    /// Set CURDATA in READ ELEMENT STATUS (report what the changer knows without moving;
    /// default off, as some SMC-2 changers reject the bit).
    pub curdata: bool,
    /// Timeout of changer commands: MODE SENSE, READ ELEMENT STATUS, MOVE MEDIUM, ... (default
    /// 5 minutes, scsi-reference §8). INQUIRY and TEST UNIT READY keep their 30 seconds.
    pub command_timeout: Duration,
    /// Timeout of INITIALIZE ELEMENT STATUS (default 30 minutes; large libraries may need
    /// more).
    pub initialize_timeout: Duration,
}

impl Default for ChangerConfig {
    fn default() -> Self {
        ChangerConfig {
            max_allocation_length: 0xFFFF,
            retry: RetryPolicy::default(),
            curdata: false,
            command_timeout: move_medium::TIMEOUT,
            initialize_timeout: initialize_element_status::TIMEOUT,
        }
    }
}

/// What the driver has learned about the device during this session. `None`: not yet known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quirks {
    /// The changer reads barcodes (`Some(false)` after it refused VOLTAG).
    pub barcode_reader: Option<bool>,
    /// The changer accepts VOLTAG and DVCID in one READ ELEMENT STATUS.
    pub dvcid_with_voltag: Option<bool>,
    /// The changer accepts DVCID at all.
    pub dvcid: Option<bool>,
    /// The MODE SENSE form that works: `Some(true)` for MODE SENSE(10).
    pub mode_sense_10: Option<bool>,
}

/// What INQUIRY says about the changer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Standard INQUIRY data.
    pub inquiry: StandardInquiry,
    /// Unit serial number (VPD 0x80), when the device has the page.
    pub serial: Option<String>,
    /// Device identification designators (VPD 0x83), empty when the device has no such page.
    pub designators: Vec<Designator>,
}

/// Options of one [`Changer::read_elements`] series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// Ask for volume tags.
    pub voltag: bool,
    /// Ask for device identifiers.
    pub dvcid: bool,
}

/// Every element of a changer, by type, in address order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LibraryStatus {
    /// Medium transports.
    pub transports: Vec<ElementDescriptor>,
    /// Storage elements.
    pub storage: Vec<ElementDescriptor>,
    /// Import/export elements.
    pub import_export: Vec<ElementDescriptor>,
    /// Data transfer elements.
    pub data_transfer: Vec<ElementDescriptor>,
}

impl LibraryStatus {
    /// Every element, transports first.
    pub fn all(&self) -> impl Iterator<Item = &ElementDescriptor> {
        self.transports
            .iter()
            .chain(&self.storage)
            .chain(&self.import_export)
            .chain(&self.data_transfer)
    }

    /// The element at `address`.
    pub fn get(&self, address: u16) -> Option<&ElementDescriptor> {
        self.all().find(|d| d.address == address)
    }
}

/// How many times [`Changer::status`] reads the library again when its inventory changes
/// during a read.
pub const STATUS_REREADS: usize = 2;

/// A MODE SENSE reply, its form, and the CDB that produced it.
type ModeReply = (Vec<u8>, Form, Vec<u8>);

/// Allocation length of MODE SENSE replies (page 0x1D and 0x1F are 20 bytes each).
const MODE_SENSE_LEN: u8 = 0xFF;

/// Bytes of READ ELEMENT STATUS framing before the first descriptor (header + page header).
const FRAMING: u32 = 16;

/// A medium changer driven through transport `T`.
#[derive(Debug)]
pub struct Changer<T: Transport> {
    transport: T,
    exec: Executor,
    config: ChangerConfig,
    quirks: Quirks,
    /// READ ELEMENT STATUS replies received in the current [`Changer::status`] series.
    series_reads: usize,
    /// An inventory event arrived after the first reply of the current series.
    changed_midway: bool,
}

impl<T: Transport> Changer<T> {
    /// A changer on `transport` with the default configuration.
    pub fn new(transport: T) -> Self {
        Self::with_config(transport, ChangerConfig::default())
    }

    /// A changer on `transport` with `config`.
    pub fn with_config(transport: T, config: ChangerConfig) -> Self {
        let exec =
            Executor::new(config.retry.clone()).for_device_type(PeripheralType::MEDIUM_CHANGER);
        Changer {
            transport,
            exec,
            config,
            quirks: Quirks::default(),
            series_reads: 0,
            changed_midway: false,
        }
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably (for commands this driver does not know).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The configuration.
    pub fn config(&self) -> &ChangerConfig {
        &self.config
    }

    /// The executor (to replace its sleeper in tests, or read its policy).
    pub fn executor_mut(&mut self) -> &mut Executor {
        &mut self.exec
    }

    /// What the driver learned about the device so far.
    pub fn quirks(&self) -> Quirks {
        self.quirks
    }

    /// Returns and clears the events (unit attentions, recovered errors, waits) reported since
    /// the last call. [`Event::InventoryMayHaveChanged`] means element status must be re-read.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.exec.take_events()
    }

    fn device(&self) -> &str {
        self.transport.device()
    }

    fn read_into(
        &mut self,
        cdb: &[u8],
        len: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, Error<T::Error>> {
        let mut buf = vec![0u8; len];
        let n = self
            .exec
            .read(&mut self.transport, cdb, &mut buf, timeout)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn malformed(&self, cdb: &[u8], e: ParseError) -> Error<T::Error> {
        DeviceError::malformed(self.device(), cdb, e)
    }

    /// TEST UNIT READY.
    ///
    /// # Errors
    /// [`DeviceError::Check`] with the reason the changer is not ready (door open 04/18, ...),
    /// [`DeviceError::NotReady`] when it stays "becoming ready" past the configured wait, or a
    /// transport error.
    pub fn test_unit_ready(&mut self) -> Result<(), Error<T::Error>> {
        self.exec.no_data(
            &mut self.transport,
            &test_unit_ready::cdb(),
            test_unit_ready::TIMEOUT,
        )
    }

    /// Reads a VPD page, re-reading with a larger allocation when the page is longer than the
    /// first try. `None` when the device refuses the page (ILLEGAL REQUEST).
    fn vpd(&mut self, page: u8) -> Result<Option<Vec<u8>>, Error<T::Error>> {
        let mut len = inquiry::VPD_LEN;
        loop {
            let cdb = inquiry::vpd_cdb(page, len);
            let bytes = match self.read_into(&cdb, usize::from(len), inquiry::TIMEOUT) {
                Ok(b) => b,
                Err(e) if e.is_sense_key(SenseKey::ILLEGAL_REQUEST) => return Ok(None),
                Err(e) => return Err(e),
            };
            match inquiry::parse_vpd(&bytes, page) {
                Err(ParseError::Truncated { needed, .. })
                    if needed + 4 > usize::from(len) && len < u16::MAX =>
                {
                    len = u16::try_from(needed + 4).unwrap_or(u16::MAX);
                }
                Err(e) => return Err(self.malformed(&cdb, e)),
                Ok(_) => return Ok(Some(bytes)),
            }
        }
    }

    /// INQUIRY: standard data, unit serial number (VPD 0x80) and device identification (VPD
    /// 0x83). Three commands; a page the device does not have is left out, not an error.
    ///
    /// # Errors
    /// [`DeviceError::Malformed`] when a reply does not parse; any error of the policy.
    pub fn identify(&mut self) -> Result<Identity, Error<T::Error>> {
        let cdb = inquiry::standard_cdb(inquiry::STANDARD_LEN);
        let bytes = self.read_into(&cdb, usize::from(inquiry::STANDARD_LEN), inquiry::TIMEOUT)?;
        let std = inquiry::parse_standard(&bytes).map_err(|e| self.malformed(&cdb, e))?;
        let vpd_err = |this: &Self, page: u8, e| this.malformed(&inquiry::vpd_cdb(page, 0), e);
        let serial = match self.vpd(inquiry::page::UNIT_SERIAL_NUMBER)? {
            Some(b) => Some(
                inquiry::parse_unit_serial(&b)
                    .map_err(|e| vpd_err(self, inquiry::page::UNIT_SERIAL_NUMBER, e))?,
            )
            .filter(|s| !s.is_empty()),
            None => None,
        };
        let designators = match self.vpd(inquiry::page::DEVICE_IDENTIFICATION)? {
            Some(b) => inquiry::parse_device_identification(&b)
                .map_err(|e| vpd_err(self, inquiry::page::DEVICE_IDENTIFICATION, e))?,
            None => Vec::new(),
        };
        Ok(Identity {
            inquiry: std,
            serial,
            designators,
        })
    }

    /// Reads mode page `page`, trying the MODE SENSE form that worked before (6 first when
    /// unknown) and falling back to the other on ILLEGAL REQUEST. Returns the reply and its
    /// form, and the CDB that produced it.
    fn mode_sense(&mut self, page: u8) -> Result<ModeReply, Error<T::Error>> {
        let forms = match self.quirks.mode_sense_10 {
            Some(true) => [Form::Ten, Form::Six],
            _ => [Form::Six, Form::Ten],
        };
        let mut last = None;
        for form in forms {
            let cdb: Vec<u8> = match form {
                Form::Six => mode_sense::cdb6(page, true, MODE_SENSE_LEN).to_vec(),
                Form::Ten => mode_sense::cdb10(page, true, u16::from(MODE_SENSE_LEN)).to_vec(),
            };
            match self.read_into(
                &cdb,
                usize::from(MODE_SENSE_LEN),
                self.config.command_timeout,
            ) {
                Ok(bytes) => {
                    self.quirks.mode_sense_10 = Some(form == Form::Ten);
                    return Ok((bytes, form, cdb));
                }
                Err(e) if e.is_sense_key(SenseKey::ILLEGAL_REQUEST) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            DeviceError::protocol(self.device(), &[0x1A], "no MODE SENSE form was tried")
        }))
    }

    /// The element address assignment (mode page 0x1D): where each element type's addresses
    /// start and how many there are.
    ///
    /// # Errors
    /// [`DeviceError::Check`] when both MODE SENSE forms are refused; [`DeviceError::Malformed`]
    /// when the page is missing or short; any error of the policy.
    pub fn element_map(&mut self) -> Result<ElementAddressAssignment, Error<T::Error>> {
        let (bytes, form, cdb) = self.mode_sense(mode_sense::page::ELEMENT_ADDRESS_ASSIGNMENT)?;
        mode_sense::parse_element_address_assignment(&bytes, form)
            .map_err(|e| self.malformed(&cdb, e))
    }

    /// The device capabilities (mode page 0x1F), or `None` when the changer does not have the
    /// page (it is optional in practice).
    ///
    /// # Errors
    /// [`DeviceError::Malformed`] when a returned page is short; any error of the policy
    /// other than ILLEGAL REQUEST.
    pub fn capabilities(&mut self) -> Result<Option<DeviceCapabilities>, Error<T::Error>> {
        let (bytes, form, cdb) = match self.mode_sense(mode_sense::page::DEVICE_CAPABILITIES) {
            Ok(r) => r,
            Err(e) if e.is_sense_key(SenseKey::ILLEGAL_REQUEST) => return Ok(None),
            Err(e) => return Err(e),
        };
        match mode_sense::parse_device_capabilities(&bytes, form) {
            Ok(c) => Ok(Some(c)),
            Err(ParseError::Missing(_)) => Ok(None),
            Err(e) => Err(self.malformed(&cdb, e)),
        }
    }

    /// Reads every element of `element_type` in `range` with READ ELEMENT STATUS, in chunks.
    ///
    /// Each request asks for the rest of the range, never with more than
    /// [`ChangerConfig::max_allocation_length`] bytes (and, once the descriptor length is known,
    /// for no more elements than fit). The next request starts after the last address
    /// received. Descriptors outside the range, of another type, before the start address, or
    /// already received are dropped (for changers that ignore the element count or the start
    /// address); the result is in address order whatever order the device used. A reply with
    /// nothing in the rest of the range (empty, or only elements past its end) ends the series
    /// early: the device has no more elements there. A last descriptor that arrived cut (its
    /// identifier or a volume tag, [`ElementDescriptor::truncated`]) is asked for again from
    /// its address; cut the same way again (tgt sends every reply 8 bytes short), it is kept
    /// as it arrived, marked, and the series goes on.
    ///
    /// # Errors
    /// - [`DeviceError::Protocol`] when a reply makes no progress (only elements before the
    ///   requested start, or not even one descriptor fits the allocation length, its tag
    ///   included);
    /// - [`DeviceError::Malformed`] when a reply does not parse;
    /// - [`DeviceError::Check`] (e.g. ILLEGAL REQUEST 24/00 when the device refuses VOLTAG or
    ///   DVCID) and any other error of the policy.
    pub fn read_elements(
        &mut self,
        element_type: ElementType,
        range: ElementRange,
        options: &ReadOptions,
    ) -> Result<Vec<ElementDescriptor>, Error<T::Error>> {
        let alloc = self
            .config
            .max_allocation_length
            .clamp(FRAMING, res::MAX_ALLOCATION_LENGTH);
        let end = range.end();
        let mut next = u32::from(range.first);
        let mut out: BTreeMap<u16, ElementDescriptor> = BTreeMap::new();
        let mut per_chunk: Option<u32> = None;
        // The element whose descriptor came cut and is being read again.
        let mut reread_cut: Option<u32> = None;
        while next < end {
            let left = end - next;
            let count = per_chunk.map_or(left, |n| n.min(left));
            let request = res::Request {
                element_type,
                start: u16::try_from(next).unwrap_or(u16::MAX),
                count: u16::try_from(count).unwrap_or(u16::MAX),
                voltag: options.voltag,
                curdata: self.config.curdata,
                dvcid: options.dvcid,
                allocation_length: alloc,
            };
            let cdb = request.cdb();
            let seen = self.exec.events().len();
            let bytes = self.read_into(&cdb, alloc as usize, self.config.command_timeout)?;
            if self.series_reads > 0
                && self.exec.events()[seen..]
                    .iter()
                    .any(|e| matches!(e, Event::InventoryMayHaveChanged(_)))
            {
                self.changed_midway = true;
            }
            self.series_reads += 1;
            let status = res::parse(&bytes).map_err(|e| self.malformed(&cdb, e))?;
            if let Some(page) = status.pages.first() {
                let dl = u32::from(page.descriptor_length).max(1);
                per_chunk = Some(((alloc - FRAMING) / dl).max(1));
            }
            let incomplete = status.incomplete;
            let received = status.len();
            if bytes.len() >= alloc as usize
                && received > 0
                && status.descriptors().all(|d| d.tag_truncated)
            {
                // Our allocation length cut the only descriptor inside its tag: asking again
                // would bring the same cut.
                let reason = format!(
                    "no complete element descriptor fits in {alloc} bytes (element {next:#06x})"
                );
                return Err(DeviceError::protocol(self.device(), &cdb, reason));
            }
            let mut highest = None;
            let mut went_back = 0usize;
            let mut cut = None;
            for d in status.into_descriptors() {
                let a = u32::from(d.address);
                if d.element_type != element_type || a >= end {
                    continue;
                }
                if a < next {
                    went_back += 1;
                    continue;
                }
                if d.truncated() && incomplete && reread_cut != Some(a) {
                    // Ask again from this element: the cut may be the allocation length's.
                    cut = cut.max(Some(a));
                } else {
                    highest = highest.max(Some(a));
                }
                match out.entry(d.address) {
                    Entry::Vacant(v) => {
                        v.insert(d);
                    }
                    Entry::Occupied(mut o) if o.get().truncated() && !d.truncated() => {
                        o.insert(d);
                    }
                    Entry::Occupied(_) => {}
                }
            }
            if let Some(a) = cut.filter(|&a| highest.map_or(true, |h| a > h)) {
                // The same cut on the re-read is kept as it is (no progress to be made).
                next = a;
                reread_cut = Some(a);
                continue;
            }
            match highest {
                Some(a) => next = a + 1,
                None if went_back > 0 => {
                    let reason = format!(
                        "reply made no progress: asked from {next:#06x}, got {went_back} \
                         {element_type} element(s) before it"
                    );
                    return Err(DeviceError::protocol(self.device(), &cdb, reason));
                }
                None if received == 0 && incomplete => {
                    let reason = format!(
                        "no complete element descriptor fits in {alloc} bytes (element {next:#06x})"
                    );
                    return Err(DeviceError::protocol(self.device(), &cdb, reason));
                }
                // Nothing at or after `next` in the range: the device has no more elements.
                None => break,
            }
        }
        Ok(out.into_values().collect())
    }

    /// One element's status, with its volume tag (and device identifier for a data transfer
    /// element), under the fallbacks of [`Changer::status`] and what the driver has learned
    /// of refused flags; `None` when the changer does not report that element.
    ///
    /// # Errors
    /// As [`Changer::read_elements`], except the refusals the fallbacks handle.
    pub fn read_element(
        &mut self,
        element_type: ElementType,
        address: u16,
    ) -> Result<Option<ElementDescriptor>, Error<T::Error>> {
        let d = self.read_type(element_type, ElementRange::new(address, 1), true)?;
        Ok(d.into_iter().find(|d| d.address == address))
    }

    /// Reads one element type with the fallbacks of the module documentation.
    fn read_type(
        &mut self,
        element_type: ElementType,
        range: ElementRange,
        voltag: bool,
    ) -> Result<Vec<ElementDescriptor>, Error<T::Error>> {
        let refused = |e: &Error<T::Error>| e.is_sense(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00);
        let voltag = voltag && self.quirks.barcode_reader != Some(false);
        let dvcid = element_type == ElementType::DATA_TRANSFER && self.quirks.dvcid != Some(false);
        if voltag && dvcid && self.quirks.dvcid_with_voltag == Some(false) {
            return self.read_ids_then_tags(element_type, range);
        }
        match self.read_elements(element_type, range, &ReadOptions { voltag, dvcid }) {
            Ok(d) => {
                if voltag {
                    self.quirks.barcode_reader = Some(true);
                }
                if dvcid {
                    self.quirks.dvcid = Some(true);
                    if voltag {
                        self.quirks.dvcid_with_voltag = Some(true);
                    }
                }
                Ok(d)
            }
            Err(e) if refused(&e) && voltag && dvcid => {
                self.quirks.dvcid_with_voltag = Some(false);
                self.read_ids_then_tags(element_type, range)
            }
            Err(e) if refused(&e) && voltag => {
                self.quirks.barcode_reader = Some(false);
                self.read_elements(element_type, range, &ReadOptions::default())
            }
            Err(e) if refused(&e) && dvcid => {
                self.quirks.dvcid = Some(false);
                self.read_elements(element_type, range, &ReadOptions::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Reads device identifiers without VOLTAG, then barcodes without DVCID, and merges them.
    fn read_ids_then_tags(
        &mut self,
        element_type: ElementType,
        range: ElementRange,
    ) -> Result<Vec<ElementDescriptor>, Error<T::Error>> {
        let refused = |e: &Error<T::Error>| e.is_sense(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00);
        let ids_opts = ReadOptions {
            voltag: false,
            dvcid: true,
        };
        let mut ids = match self.read_elements(element_type, range, &ids_opts) {
            Ok(d) => {
                self.quirks.dvcid = Some(true);
                d
            }
            Err(e) if refused(&e) => {
                // DVCID itself is refused: tags only.
                self.quirks.dvcid = Some(false);
                return self.read_type(element_type, range, true);
            }
            Err(e) => return Err(e),
        };
        let tag_opts = ReadOptions {
            voltag: true,
            dvcid: false,
        };
        match self.read_elements(element_type, range, &tag_opts) {
            Ok(tagged) => {
                self.quirks.barcode_reader = Some(true);
                let mut tags: BTreeMap<u16, ElementDescriptor> =
                    tagged.into_iter().map(|d| (d.address, d)).collect();
                for d in &mut ids {
                    if let Some(t) = tags.remove(&d.address) {
                        d.primary_tag = t.primary_tag;
                        d.primary_tag_bytes = t.primary_tag_bytes;
                        d.alternate_tag = t.alternate_tag;
                    }
                }
                Ok(ids)
            }
            Err(e) if refused(&e) => {
                self.quirks.barcode_reader = Some(false);
                Ok(ids)
            }
            Err(e) => Err(e),
        }
    }

    /// The status of every element in `map`: one READ ELEMENT STATUS series per element type
    /// (never type 0), with volume tags when `voltag` and the changer reads barcodes, and
    /// device identifiers for data transfer elements.
    ///
    /// When the changer reports that its inventory may have changed (UNIT ATTENTION 28/xx or
    /// 29/xx) after the series has begun, what was read before may be stale: the series is
    /// read again, up to [`STATUS_REREADS`] times. The events stay queued for
    /// [`Changer::take_events`].
    ///
    /// # Errors
    /// As [`Changer::read_elements`]; ILLEGAL REQUEST 24/00 answers to VOLTAG or DVCID are
    /// handled by the fallbacks of the module documentation, not returned.
    pub fn status(
        &mut self,
        map: &ElementAddressAssignment,
        voltag: bool,
    ) -> Result<LibraryStatus, Error<T::Error>> {
        let mut attempt = 0;
        loop {
            self.series_reads = 0;
            self.changed_midway = false;
            let mut s = LibraryStatus::default();
            for (ty, range) in map.ranges() {
                if range.is_empty() {
                    continue;
                }
                let d = self.read_type(ty, range, voltag)?;
                match ty {
                    ElementType::TRANSPORT => s.transports = d,
                    ElementType::STORAGE => s.storage = d,
                    ElementType::IMPORT_EXPORT => s.import_export = d,
                    _ => s.data_transfer = d,
                }
            }
            if !self.changed_midway || attempt >= STATUS_REREADS {
                return Ok(s);
            }
            attempt += 1;
        }
    }

    fn no_data(&mut self, cdb: &[u8], timeout: Duration) -> Result<(), Error<T::Error>> {
        self.exec.no_data(&mut self.transport, cdb, timeout)
    }

    /// MOVE MEDIUM: moves the cartridge at `source` to `destination` with transport
    /// `transport` (all real element addresses), turning it over when `invert`.
    ///
    /// # Errors
    /// [`DeviceError::Check`] with the decoded sense: 05/3B/0E source empty, 05/3B/0D
    /// destination full, 05/21/01 invalid address, 02/04/18 door open, 05/53/02 removal
    /// prevented, ...; any error of the policy.
    pub fn move_medium(
        &mut self,
        transport: u16,
        source: u16,
        destination: u16,
        invert: bool,
    ) -> Result<(), Error<T::Error>> {
        let cdb = move_medium::cdb(transport, source, destination, invert);
        self.no_data(&cdb, self.config.command_timeout)
    }

    /// EXCHANGE MEDIUM: moves the cartridge at `source` to `first_destination` and the one
    /// there to `second_destination`.
    ///
    /// # Errors
    /// As [`Changer::move_medium`]; ILLEGAL REQUEST 20/00 when the changer cannot exchange.
    pub fn exchange_medium(
        &mut self,
        transport: u16,
        source: u16,
        first_destination: u16,
        second_destination: u16,
        invert_first: bool,
        invert_second: bool,
    ) -> Result<(), Error<T::Error>> {
        let cdb = exchange_medium::cdb(
            transport,
            source,
            first_destination,
            second_destination,
            invert_first,
            invert_second,
        );
        self.no_data(&cdb, self.config.command_timeout)
    }

    /// POSITION TO ELEMENT: moves `transport` in front of `destination`.
    ///
    /// # Errors
    /// [`DeviceError::Check`] (invalid address, door open, ...); any error of the policy.
    pub fn position_to_element(
        &mut self,
        transport: u16,
        destination: u16,
        invert: bool,
    ) -> Result<(), Error<T::Error>> {
        let cdb = position_to_element::cdb(transport, destination, invert);
        self.no_data(&cdb, self.config.command_timeout)
    }

    /// INITIALIZE ELEMENT STATUS: re-scans every element (may take many minutes).
    ///
    /// # Errors
    /// [`DeviceError::Check`]; [`DeviceError::Transport`] with kind `Timeout` past 30 minutes;
    /// any error of the policy.
    pub fn initialize_element_status(&mut self) -> Result<(), Error<T::Error>> {
        self.no_data(
            &initialize_element_status::cdb(),
            self.config.initialize_timeout,
        )
    }

    /// INITIALIZE ELEMENT STATUS WITH RANGE: re-scans `count` elements from `first`.
    ///
    /// # Errors
    /// As [`Changer::initialize_element_status`]; ILLEGAL REQUEST 20/00 when the changer does
    /// not support ranges.
    pub fn initialize_element_status_range(
        &mut self,
        first: u16,
        count: u16,
    ) -> Result<(), Error<T::Error>> {
        self.no_data(
            &initialize_element_status::range_cdb(first, count, false),
            self.config.initialize_timeout,
        )
    }

    /// PREVENT/ALLOW MEDIUM REMOVAL: locks (`prevent`) or unlocks the changer's doors and
    /// mail slots.
    ///
    /// # Errors
    /// [`DeviceError::Check`]; any error of the policy.
    pub fn prevent_allow(&mut self, prevent: bool) -> Result<(), Error<T::Error>> {
        self.no_data(&prevent_allow::cdb(prevent), self.config.command_timeout)
    }

    /// OPEN IMPORT/EXPORT ELEMENT (SMC-3): opens the mail slot at `element`.
    ///
    /// # Errors
    /// [`DeviceError::Check`] (ILLEGAL REQUEST 20/00 on SMC-2 changers); any error of the
    /// policy.
    pub fn open_import_export(&mut self, element: u16) -> Result<(), Error<T::Error>> {
        let cdb = open_close_import_export::cdb(element, open_close_import_export::Action::Open);
        self.no_data(&cdb, self.config.command_timeout)
    }

    /// CLOSE IMPORT/EXPORT ELEMENT (SMC-3): closes the mail slot at `element`.
    ///
    /// # Errors
    /// As [`Changer::open_import_export`].
    pub fn close_import_export(&mut self, element: u16) -> Result<(), Error<T::Error>> {
        let cdb = open_close_import_export::cdb(element, open_close_import_export::Action::Close);
        self.no_data(&cdb, self.config.command_timeout)
    }
}
