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
    ("daemon_wire", daemon_wire),
    ("daemon_dispatch", daemon_dispatch),
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

/// The daemon's wire codec: frames joined into messages under the request limit, requests
/// decoded, their id read from whatever prefix is valid; what decodes encodes back to itself.
pub fn daemon_wire(data: &[u8]) {
    use crate::daemon::wire::{self, Reply, Request};
    let mut stream = data;
    while let Ok(Some(body)) = wire::read_message_sync(&mut stream, wire::MAX_REQUEST) {
        let id = wire::request_id(&body);
        if let Ok(r) = serde_json::from_slice::<Request>(&body) {
            assert_eq!(r.id, id, "the id reader and the decoder agree");
            let again = serde_json::to_vec(&r).expect("a request encodes");
            assert_eq!(serde_json::from_slice::<Request>(&again).ok(), Some(r));
        }
        if let Ok(r) = serde_json::from_slice::<Reply>(&body) {
            if let Some(e) = &r.error {
                let s = wire::Status::new(e.win32(), e.message.clone());
                assert!(s.message.len() <= wire::MAX_MESSAGE);
            }
        }
        let text = String::from_utf8_lossy(&body);
        assert!(wire::bounded(&text).len() <= wire::MAX_MESSAGE.max(text.len()));
    }
    let mut framed = Vec::new();
    if wire::write_frame_sync(&mut framed, data).is_ok() {
        assert_eq!(
            wire::read_frame_sync(&mut &framed[..])
                .ok()
                .flatten()
                .as_deref(),
            Some(data)
        );
    }
}

/// The daemon's request dispatcher on a real pool service (a scratch database, one library of
/// LTO-8): `data` is one connection's byte stream, its first byte choosing the caller (root,
/// uid 1000 in group 26, or uid 1001); every message gets exactly one reply.
pub fn daemon_dispatch(data: &[u8]) {
    use crate::daemon::{server, wire};
    let Some((&who, rest)) = data.split_first() else {
        return;
    };
    let mut messages = Vec::new();
    let mut stream = rest;
    while let Ok(Some(m)) = wire::read_message_sync(&mut stream, wire::MAX_REQUEST) {
        messages.push(m);
    }
    let who = match who % 3 {
        0 => crate::daemon::PeerIdentity {
            uid: 0,
            gids: vec![0],
            pid: Some(1),
        },
        1 => crate::daemon::PeerIdentity {
            uid: 1000,
            gids: vec![1000, 26],
            pid: Some(2),
        },
        _ => crate::daemon::PeerIdentity {
            uid: 1001,
            gids: vec![1001],
            pid: Some(3),
        },
    };
    DISPATCH.with(|cell| {
        let mut fixture = cell.borrow_mut();
        if !fixture.as_ref().is_some_and(|f| f.runs < 5_000) {
            *fixture = None;
            *fixture = DispatchFixture::new();
        }
        let Some(f) = fixture.as_mut() else { return };
        f.runs += 1;
        let replies = f
            .runtime
            .block_on(server::dispatch_for_fuzzing(&f.backend, &who, &messages));
        assert!(replies.len() <= messages.len());
        for r in replies {
            let reply: wire::Reply = serde_json::from_slice(&r).expect("replies are JSON");
            assert!(reply.ok.is_some() != reply.error.is_some(), "ok or error");
        }
    });
}

thread_local! {
    static DISPATCH: std::cell::RefCell<Option<DispatchFixture>> =
        const { std::cell::RefCell::new(None) };
}

/// A pool service for [`daemon_dispatch`], rebuilt every few thousand inputs so that what
/// earlier inputs created stays small.
struct DispatchFixture {
    runtime: tokio::runtime::Runtime,
    backend: std::sync::Arc<crate::daemon::rsm::RsmBackend>,
    runs: u32,
    _dir: tempfile_path::Scratch,
}

impl DispatchFixture {
    fn new() -> Option<DispatchFixture> {
        use crate::daemon::{DiscoveredLibrary, Startup};
        let dir = tempfile_path::Scratch::new("pools.db");
        let _ = std::fs::remove_file(&dir.path);
        let config = crate::pool::Config {
            db: crate::db::DbConfig {
                max_objects: Some(2_000),
                ..crate::db::DbConfig::default()
            },
            ..crate::pool::Config::default()
        };
        let rsm = crate::pool::Rsm::open(&dir.path, config).ok()?;
        let backend = std::sync::Arc::new(crate::daemon::rsm::RsmBackend::new(
            std::sync::Arc::new(rsm),
        ));
        // A library registered with the pool layer and no devices behind it: the controller
        // owns nothing, so no input reaches a device.
        let controller =
            crate::controller::Controller::start(Vec::new(), Default::default()).ok()?;
        let start: crate::daemon::StartFn = Box::new(move || {
            Ok(Startup {
                inventory: Default::default(),
                libraries: vec![DiscoveredLibrary {
                    serial: "FUZZLIB".into(),
                    vendor: "REEL".into(),
                    product: "FUZZ".into(),
                    revision: "1".into(),
                    media_types: vec![crate::media::MediaType::Lto8],
                    cartridges: Vec::new(),
                }],
                controller,
            })
        });
        backend.initialize(start).ok()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        Some(DispatchFixture {
            runtime,
            backend,
            runs: 0,
            _dir: dir,
        })
    }
}

/// Scratch files of the fuzz targets: a private directory per process, removed on drop.
mod tempfile_path {
    use std::path::PathBuf;

    pub(super) struct Scratch {
        pub path: PathBuf,
        dir: PathBuf,
    }

    impl Scratch {
        pub fn new(file: &str) -> Scratch {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let base = if std::path::Path::new("/dev/shm").is_dir() {
                PathBuf::from("/dev/shm")
            } else {
                std::env::temp_dir()
            };
            let dir = base.join(format!(
                "reel-fuzz-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
            Scratch {
                path: dir.join(file),
                dir,
            }
        }
    }

    use std::os::unix::fs::DirBuilderExt;

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
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
