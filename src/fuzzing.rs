//! Entry points for fuzzing (style: rustls' `fuzzing` module): each feeds arbitrary bytes to
//! one family of decoders and must return without panicking, whatever the bytes.
//!
//! Used by the cargo-fuzz targets in `fuzz/` (outside the workspace) and by the test that
//! decodes the whole seed corpus (`tests/fuzz_corpus.rs`). Not a public API: it may change
//! with every release.

use std::time::Duration;

use reel_hw::sense::Sense;
use reel_hw::{
    Completion, DataDirection, ScsiStatus, Transport, TransportError, TransportErrorKind,
};

use crate::changer::{Changer, ChangerConfig};
use crate::drive::{Drive, DriveConfig};
use crate::scsi::exec::{Executor, RetryPolicy};
use crate::scsi::mode_sense::{self, ElementAddressAssignment, ElementRange, Form};
use crate::scsi::{
    inquiry, log_sense, read_attribute, read_block_limits, read_element_status, read_position,
    report_density_support, request_sense,
};

/// A fuzz entry point: takes arbitrary bytes, never panics.
pub type Target = fn(&[u8]);

/// The fuzz targets of reel's decoders and drivers, by name. `fuzz/fuzz_targets/<name>.rs`
/// and `fuzz/corpus/<name>/` follow these names; the simulator's own targets are in
/// `reel_sim::fuzzing::TARGETS`.
pub const TARGETS: &[(&str, Target)] = &[
    ("read_element_status", read_element_status),
    ("mode_sense", mode_sense),
    ("inquiry", inquiry),
    ("report_density_support", report_density_support),
    ("read_attribute", read_attribute),
    ("log_sense", log_sense),
    ("read_position", read_position),
    ("read_block_limits", read_block_limits),
    ("request_sense", request_sense),
    ("sense", sense),
    ("changer", changer),
    ("drive", drive),
];

/// READ ELEMENT STATUS reply parser, and every accessor of what it returns.
pub fn read_element_status(data: &[u8]) {
    if let Ok(s) = read_element_status::parse(data) {
        assert_eq!(s.len(), s.descriptors().count());
        for d in s.descriptors() {
            let _ = d.element_type.name();
            let _ = d.medium_type.name();
            if let Some(id) = &d.device_id {
                let _ = (id.serial(), id.text());
            }
        }
    }
}

/// MODE SENSE(6) and (10) replies, and pages 0x1D, 0x1E, 0x1F within them.
pub fn mode_sense(data: &[u8]) {
    for form in [Form::Six, Form::Ten] {
        if let Ok(p) = mode_sense::parse(data, form) {
            if let Some(g) = p.page(mode_sense::page::TRANSPORT_GEOMETRY) {
                let _ = mode_sense::transport_geometry(g.data);
            }
        }
        if let Ok(map) = mode_sense::parse_element_address_assignment(data, form) {
            map_accessors(&map);
        }
        if let Ok(caps) = mode_sense::parse_device_capabilities(data, form) {
            for (a, _) in map_accessors_types() {
                let _ = caps.can_store(a);
                for (b, _) in map_accessors_types() {
                    let _ = (caps.can_move(a, b), caps.can_exchange(a, b));
                }
            }
        }
    }
    if let Ok(map) = ElementAddressAssignment::from_page(data) {
        map_accessors(&map);
    }
}

fn map_accessors_types() -> [(crate::scsi::ElementType, ElementRange); 4] {
    ElementAddressAssignment::default().ranges()
}

fn map_accessors(map: &ElementAddressAssignment) {
    for (t, r) in map.ranges() {
        let _ = (map.range(t), r.end(), r.last(), r.contains(r.first));
        let _ = r.last().map(|l| map.type_of(l));
    }
}

/// Standard INQUIRY data and every VPD page parser.
pub fn inquiry(data: &[u8]) {
    let _ = inquiry::parse_standard(data);
    for page in [
        0x00,
        0x80,
        0x83,
        0xB3,
        0xB4,
        data.get(1).copied().unwrap_or(0),
    ] {
        let _ = inquiry::parse_vpd(data, page);
    }
    let _ = inquiry::parse_supported_pages(data);
    let _ = inquiry::parse_unit_serial(data);
    let _ = inquiry::parse_automation_serial(data);
    let _ = inquiry::parse_element_address(data);
    if let Ok(ids) = inquiry::parse_device_identification(data) {
        for id in ids {
            let _ = (id.serial(), id.text(), id.designator_type.name());
        }
    }
}

/// REPORT DENSITY SUPPORT, both the density and the medium type form.
pub fn report_density_support(data: &[u8]) {
    let _ = report_density_support::parse_densities(data);
    let _ = report_density_support::parse_medium_types(data);
}

/// READ ATTRIBUTE: attribute values and attribute lists, with the typed accessors.
pub fn read_attribute(data: &[u8]) {
    if let Ok(list) = read_attribute::parse_values(data) {
        let _ = (
            list.barcode(),
            list.medium_serial(),
            list.density_code(),
            list.medium_type(),
            list.pool_name(),
            list.pool_guid(),
        );
        for a in &list.attributes {
            let _ = (a.as_ascii(), a.as_text(), a.as_u64());
            let _ = read_attribute::decode_guid(&a.value);
        }
    }
    let _ = read_attribute::parse_id_list(data);
}

/// LOG SENSE: any page, and the TapeAlert page.
pub fn log_sense(data: &[u8]) {
    let _ = log_sense::parse_page(data);
    if let Ok(flags) = log_sense::parse_tape_alert(data) {
        let _ = (flags.flags().count(), flags.needs_cleaning());
    }
}

/// READ POSITION, short and long form.
pub fn read_position(data: &[u8]) {
    let _ = read_position::parse_short(data);
    let _ = read_position::parse_long(data);
}

/// READ BLOCK LIMITS.
pub fn read_block_limits(data: &[u8]) {
    if let Ok(l) = read_block_limits::parse(data) {
        let _ = (l.fixed_only(), l.accepts(512), l.accepts(0));
    }
}

/// REQUEST SENSE reply.
pub fn request_sense(data: &[u8]) {
    let _ = request_sense::parse(data);
}

/// Sense data (`reel_hw::sense::Sense::parse`): what decodes re-encodes to the same
/// key/ASC/ASCQ, and renders as text.
pub fn sense(data: &[u8]) {
    if let Ok(s) = Sense::parse(data) {
        let _ = (s.to_string(), s.text());
        let again = Sense::parse(&s.to_bytes()).expect("encoded sense decodes");
        assert_eq!((again.key, again.asc, again.ascq), (s.key, s.asc, s.ascq));
        let _ = Sense::parse(&s.to_fixed_bytes());
        let _ = Sense::parse(&s.to_descriptor_bytes());
    }
}

/// The changer driver against a device whose every answer comes from `data` (see
/// [`FuzzTransport`]): identify, element map, capabilities, full status, a move.
pub fn changer(data: &[u8]) {
    let mut c = Changer::with_config(
        FuzzTransport::new(data),
        ChangerConfig {
            retry: instant_policy(),
            ..ChangerConfig::default()
        },
    );
    c.executor_mut().set_sleeper(|_| {});
    let _ = c.identify().map_err(|e| e.to_string());
    let _ = c.capabilities().map_err(|e| e.to_string());
    let map = c.element_map().unwrap_or(ElementAddressAssignment {
        transport: ElementRange::new(1, 1),
        storage: ElementRange::new(1000, 40),
        import_export: ElementRange::new(10, 2),
        data_transfer: ElementRange::new(500, 2),
    });
    let _ = c.status(&map, true).map_err(|e| e.to_string());
    let _ = c
        .move_medium(1, 1000, 500, false)
        .map_err(|e| e.to_string());
    let _ = c.take_events();
}

/// The drive driver against a device whose every answer comes from `data`.
pub fn drive(data: &[u8]) {
    let exec = Executor::new(instant_policy()).with_sleeper(|_| {});
    let mut d = Drive::with_executor(FuzzTransport::new(data), exec, DriveConfig::default());
    let _ = d.identify().map_err(|e| e.to_string());
    let _ = d.readiness();
    let _ = d.densities(false).map_err(|e| e.to_string());
    let _ = d.medium_types(true).map_err(|e| e.to_string());
    let _ = d.block_limits().map_err(|e| e.to_string());
    let _ = d.position().map_err(|e| e.to_string());
    let _ = d.long_position().map_err(|e| e.to_string());
    let _ = d.read_mam().map_err(|e| e.to_string());
    let _ = d.tape_alerts().map_err(|e| e.to_string());
    let _ = d.take_events();
}

fn instant_policy() -> RetryPolicy {
    RetryPolicy {
        busy_delay: Duration::ZERO,
        ready_poll: Duration::from_millis(1),
        ready_wait: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

/// A cursor that never fails: reads what is left.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

/// A device that answers each command with the next record of the fuzz input: one byte of
/// kind (0 GOOD with data, 1 CHECK CONDITION with sense, 2 BUSY, 3 a transport error; taken
/// modulo 4), a 2-byte length, then that many bytes. When the input runs out, every command
/// fails with a NoDevice transport error, so drivers always terminate.
#[derive(Debug)]
pub struct FuzzTransport<'a> {
    bytes: &'a [u8],
}

impl<'a> FuzzTransport<'a> {
    /// A device scripted by `data`.
    pub fn new(data: &'a [u8]) -> Self {
        FuzzTransport { bytes: data }
    }
}

/// The error of a [`FuzzTransport`].
#[derive(Debug, thiserror::Error)]
#[error("fuzz transport: {0:?}")]
pub struct FuzzTransportError(TransportErrorKind);

impl TransportError for FuzzTransportError {
    fn kind(&self) -> TransportErrorKind {
        self.0
    }
}

impl Transport for FuzzTransport<'_> {
    type Error = FuzzTransportError;

    fn execute(
        &mut self,
        _cdb: &[u8],
        data: DataDirection<'_>,
        _timeout: Duration,
    ) -> Result<Completion, FuzzTransportError> {
        let mut b = Bytes(self.bytes);
        let (Some(kind), Some(len)) = (b.u8(), b.u16()) else {
            self.bytes = &[];
            return Err(FuzzTransportError(TransportErrorKind::NoDevice));
        };
        let body = b.take(usize::from(len));
        self.bytes = b.0;
        let requested = data.len();
        match kind % 4 {
            0 => {
                let n = match data {
                    DataDirection::FromDevice(buf) => {
                        let n = body.len().min(buf.len());
                        buf[..n].copy_from_slice(&body[..n]);
                        n
                    }
                    _ => requested,
                };
                Ok(Completion {
                    status: ScsiStatus::GOOD,
                    sense: Vec::new(),
                    residual: requested - n,
                })
            }
            1 => Ok(Completion {
                status: ScsiStatus::CHECK_CONDITION,
                sense: body.to_vec(),
                residual: requested,
            }),
            2 => Ok(Completion {
                status: ScsiStatus::BUSY,
                sense: Vec::new(),
                residual: requested,
            }),
            _ => Err(FuzzTransportError(TransportErrorKind::Busy)),
        }
    }

    fn device(&self) -> &str {
        "fuzz"
    }
}
