//! The fuzz seed corpus and the captured simulator replies (style points 7d and 8).
//!
//! - Every file of `fuzz/corpus/<target>/` goes through `reel::fuzzing::<target>` (or `reel_sim::fuzzing::<target>`): no input may
//!   panic. This is what CI runs; `cargo fuzz` (nightly) explores further from the same seeds.
//! - The seeds named `sim-*` and the files of `tests/data/` are replies of the simulator to
//!   the CDBs reel's drivers send. A test checks they are still what the simulator sends, so a
//!   change of its wire format shows up here, and the `tests/data` replies are decoded and
//!   asserted field by field.
//!
//! Regenerate both after an intended change of the simulator's replies:
//! `REEL_REGENERATE_CORPUS=1 cargo nextest run -E 'test(fuzz_corpus::)'`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reel::changer::Changer;
use reel::drive::Drive;
use reel::fuzzing;
use reel::scsi::mode_sense::{self, ElementRange, Form};
use reel::scsi::read_element_status::{self as res, ElementType, MediumType};
use reel::scsi::report_density_support::{DensityCode, ReportDensitySupport};
use reel::scsi::{
    inquiry, log_sense, read_attribute, read_block_limits, read_position, report_density_support,
    request_sense,
};
use reel_hw::sense::{FieldPointer, Sense, SenseFormat, SenseKey};
use reel_hw::{Completion, DataDirection, DeviceSource, PeripheralType, ScsiStatus, Transport};
use reel_sim::{Layout, SimLibrary, SimTransport};

const T: Duration = Duration::from_secs(5);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn regenerate() -> bool {
    std::env::var_os("REEL_REGENERATE_CORPUS").is_some()
}

// ---- the whole corpus ------------------------------------------------------------------------

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn the_whole_fuzz_corpus_decodes_without_panic() {
    let corpus = root().join("fuzz/corpus");
    let targets: BTreeMap<&str, fn(&[u8])> = all_targets().collect();
    // Every corpus directory is a target, every target has seeds and a cargo-fuzz target file.
    for dir in files_and_dirs(&corpus) {
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            targets.contains_key(name.as_str()),
            "corpus for unknown target {name}"
        );
    }
    // sim_command runs against this library; it must be a valid layout or the target is void.
    Layout::parse(reel_sim::fuzzing::SIM_LAYOUT, "fuzz.toml")
        .expect("the sim_command layout is valid");
    let mut total = 0;
    for (name, run) in &targets {
        let script = root().join(format!("fuzz/fuzz_targets/{name}.rs"));
        assert!(script.is_file(), "{} missing", script.display());
        let seeds = files(&corpus.join(name));
        assert!(seeds.len() >= 3, "{name}: {} seeds", seeds.len());
        for f in seeds {
            let bytes = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| run(&bytes));
            assert!(r.is_ok(), "{name} panicked on {}", f.display());
            total += 1;
        }
    }
    assert!(total >= 80, "{total} seeds");
}

/// reel's targets and the simulator's: every directory of `fuzz/corpus/`.
fn all_targets() -> impl Iterator<Item = (&'static str, fuzzing::Target)> {
    fuzzing::TARGETS
        .iter()
        .chain(reel_sim::fuzzing::TARGETS)
        .copied()
}

fn files_and_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

// ---- generating seeds from the simulator ----------------------------------------------------

/// Records every completion (status, sense, data-in) of a transport.
struct Rec<T> {
    inner: T,
    replies: Replies,
}

/// Completions with the data-in bytes that came with them.
type Replies = Arc<Mutex<Vec<(Completion, Vec<u8>)>>>;

impl<T: Transport> Transport for Rec<T> {
    type Error = T::Error;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, T::Error> {
        let (c, bytes) = match data {
            DataDirection::FromDevice(buf) => {
                let len = buf.len();
                let c = self
                    .inner
                    .execute(cdb, DataDirection::FromDevice(&mut *buf), timeout)?;
                let n = c.transferred(len);
                (c, buf[..n].to_vec())
            }
            d => (self.inner.execute(cdb, d, timeout)?, Vec::new()),
        };
        self.replies.lock().unwrap().push((c.clone(), bytes));
        Ok(c)
    }

    fn device(&self) -> &str {
        self.inner.device()
    }
}

/// Encodes recorded completions as a [`fuzzing::FuzzTransport`] script.
fn script(replies: &[(Completion, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (c, data) in replies {
        let (kind, body) = match c.status {
            ScsiStatus::GOOD => (0u8, data.as_slice()),
            ScsiStatus::CHECK_CONDITION => (1, c.sense.as_slice()),
            _ => (2, &[][..]),
        };
        out.push(kind);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
    }
    out
}

const DEFAULT: &str = include_str!("../sim/layouts/default.toml");

/// The default library with ABC001L8 loaded in drive 500, and one initiator on it.
fn default_lib() -> (SimLibrary, reel_sim::SimSource) {
    let lib = SimLibrary::new(Layout::parse(DEFAULT, "default.toml").unwrap());
    let mut src = lib.source();
    let mut c = src.open("sim:changer").unwrap();
    // The first command meets the power-on attention; the second moves.
    let mv = reel::scsi::move_medium::cdb(1, 1000, 500, false);
    assert!(!c.no_data(&mv, T).unwrap().is_good());
    assert!(c.no_data(&mv, T).unwrap().is_good());
    (lib, src)
}

fn read(t: &mut SimTransport, cdb: &[u8], len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let c = t.read(cdb, &mut buf, T).unwrap();
    assert!(c.is_good(), "{cdb:02x?}: {:?}", c.decoded_sense());
    buf.truncate(c.transferred(len));
    buf
}

/// Simulator replies by (fuzz target, file stem), for the CDBs reel's drivers send.
fn sim_replies() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let (_lib, mut src) = default_lib();
    let mut c = src.open("sim:changer").unwrap();
    let mut d = src.open("sim:drive:500").unwrap();

    // REQUEST SENSE of a fresh initiator: the power-on unit attention as sense data.
    let mut fresh = _lib.source();
    let mut fc = fresh.open("sim:changer").unwrap();
    let rs = request_sense::cdb(request_sense::ALLOCATION_LENGTH);
    out.push((
        "request_sense",
        "sim-changer-ua-power-on".into(),
        read(&mut fc, &rs, 252),
    ));
    out.push((
        "request_sense",
        "sim-changer-no-sense".into(),
        read(&mut fc, &rs, 252),
    ));
    // The drive's power-on attention (it covers the load that happened before it), then ready.
    let senses: Vec<_> = (0..2)
        .map(|_| {
            d.no_data(&[0; 6], T)
                .unwrap()
                .decoded_sense()
                .map(|s| (s.asc, s.ascq))
        })
        .collect();
    assert_eq!(senses, [Some((0x29, 0)), None]);

    for (dev, t) in [("changer", &mut c), ("drive", &mut d)] {
        out.push((
            "inquiry",
            format!("sim-{dev}-standard"),
            read(t, &inquiry::standard_cdb(inquiry::STANDARD_LEN), 96),
        ));
        for page in [0x00u8, 0x80, 0x83] {
            out.push((
                "inquiry",
                format!("sim-{dev}-vpd-{page:02x}"),
                read(t, &inquiry::vpd_cdb(page, inquiry::VPD_LEN), 255),
            ));
        }
    }
    for (name, cdb) in [
        ("6-1d", mode_sense::cdb6(0x1D, true, 0xFF).to_vec()),
        ("6-1f", mode_sense::cdb6(0x1F, true, 0xFF).to_vec()),
        ("10-3f", mode_sense::cdb10(0x3F, true, 0xFF).to_vec()),
        ("6-1d-cut-10", mode_sense::cdb6(0x1D, true, 10).to_vec()),
    ] {
        out.push((
            "mode_sense",
            format!("sim-changer-{name}"),
            read(&mut c, &cdb, 255),
        ));
    }
    for (ty, tname) in [(1u8, "transport"), (2, "storage"), (3, "ie"), (4, "drive")] {
        for (voltag, dvcid, opt) in [
            (true, ty == 4, "voltag"),
            (false, false, "plain"),
            (true, true, "voltag-dvcid"),
        ] {
            let req = res::Request {
                voltag,
                dvcid,
                allocation_length: 0xFFFF,
                ..res::Request::new(ElementType(ty), 0, 0xFFFF)
            };
            out.push((
                "read_element_status",
                format!("sim-{tname}-{opt}"),
                read(&mut c, &req.cdb(), 0xFFFF),
            ));
        }
    }
    let cut = res::Request {
        voltag: true,
        allocation_length: 100,
        ..res::Request::new(ElementType::STORAGE, 1000, 24)
    };
    out.push((
        "read_element_status",
        "sim-storage-cut-100".into(),
        read(&mut c, &cut.cdb(), 100),
    ));

    for (name, fields) in [
        ("densities", ReportDensitySupport::densities()),
        ("medium-types", ReportDensitySupport::medium_types()),
        (
            "densities-media",
            ReportDensitySupport {
                media: true,
                ..ReportDensitySupport::densities()
            },
        ),
    ] {
        let fields = ReportDensitySupport {
            allocation_length: 0x2000,
            ..fields
        };
        out.push((
            "report_density_support",
            format!("sim-drive-{name}"),
            read(&mut d, &fields.cdb(), 0x2000),
        ));
    }
    let ra = read_attribute::ReadAttribute::values(read_attribute::AttributeId(0));
    out.push((
        "read_attribute",
        "sim-drive-values".into(),
        read(&mut d, &ra.cdb(), ra.allocation_length as usize),
    ));
    let ls = log_sense::LogSense::tape_alert();
    out.push((
        "log_sense",
        "sim-drive-tape-alert".into(),
        read(&mut d, &ls.cdb(), usize::from(ls.allocation_length)),
    ));
    out.push((
        "read_position",
        "sim-drive-short".into(),
        read(
            &mut d,
            &read_position::short_cdb(),
            read_position::SHORT_LEN,
        ),
    ));
    out.push((
        "read_position",
        "sim-drive-long".into(),
        read(&mut d, &read_position::long_cdb(), read_position::LONG_LEN),
    ));
    out.push((
        "read_block_limits",
        "sim-drive".into(),
        read(
            &mut d,
            &read_block_limits::cdb(),
            read_block_limits::REPLY_LEN,
        ),
    ));
    // Sense the simulator sends: invalid field with a field pointer, invalid opcode.
    for (name, cdb) in [
        (
            "invalid-field",
            vec![0xB8, 0x0F, 0, 0, 0, 1, 0, 0, 0, 0xFF, 0, 0],
        ),
        ("invalid-opcode", vec![0xC1, 0, 0, 0, 0, 0]),
        (
            "source-empty",
            reel::scsi::move_medium::cdb(1, 1001, 1002, false).to_vec(),
        ),
    ] {
        let comp = c.no_data(&cdb, T).unwrap();
        assert_eq!(comp.status, ScsiStatus::CHECK_CONDITION, "{name}");
        out.push(("sense", format!("sim-changer-{name}"), comp.sense));
    }

    // Whole driver sessions, recorded, as scripts for the driver targets.
    let replies = Arc::new(Mutex::new(Vec::new()));
    let (_lib2, mut src2) = default_lib();
    let mut ch = Changer::new(Rec {
        inner: src2.open("sim:changer").unwrap(),
        replies: Arc::clone(&replies),
    });
    ch.identify().unwrap();
    let _ = ch.capabilities().unwrap();
    let map = ch.element_map().unwrap();
    ch.status(&map, true).unwrap();
    ch.move_medium(1, 1001, 1010, false).unwrap_err();
    out.push((
        "changer",
        "sim-session".into(),
        script(&replies.lock().unwrap()),
    ));

    let replies = Arc::new(Mutex::new(Vec::new()));
    let mut dr = Drive::new(Rec {
        inner: src2.open("sim:drive:500").unwrap(),
        replies: Arc::clone(&replies),
    });
    dr.identify().unwrap();
    dr.readiness().unwrap();
    dr.densities(false).unwrap();
    dr.medium_types(true).unwrap();
    dr.block_limits().unwrap();
    dr.position().unwrap();
    dr.long_position().unwrap();
    dr.read_mam().unwrap();
    dr.tape_alerts().unwrap();
    out.push((
        "drive",
        "sim-session".into(),
        script(&replies.lock().unwrap()),
    ));
    out
}

/// Seeds that are not simulator replies: the shipped layouts, hand-made edge cases.
fn edge_cases() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |t: &'static str, name: &str, b: Vec<u8>| out.push((t, name.to_owned(), b));
    for (name, text) in [
        ("default", DEFAULT),
        ("autoloader", include_str!("../sim/layouts/autoloader.toml")),
        ("mixed", include_str!("../sim/layouts/mixed.toml")),
        ("large", include_str!("../sim/layouts/large.toml")),
        ("conform-large", include_str!("layouts/conform-large.toml")),
    ] {
        add("layout", name, text.as_bytes().to_vec());
    }
    add(
        "layout",
        "quirks-timing-faults",
        format!(
            "{DEFAULT}\n[quirks]\ndvcid_with_voltag_rejected = true\nvolume_tag_length = 32\n\
             max_allocation_length = 0x400\n[timing]\nmove_ms = 1\n[[fault]]\n\
             command = 0xA5\nafter = 1\ntimes = 2\nsense = \"4/15/01\"\n"
        )
        .into_bytes(),
    );
    add(
        "layout",
        "unknown-key",
        b"[changer]\nserail = \"X\"\n".to_vec(),
    );
    add("layout", "not-toml", b"[changer\n\xff\xfe".to_vec());

    // READ ELEMENT STATUS shapes of scsi-reference §5.
    let header = |first: u16, n: u16, count: u32| {
        let mut h = first.to_be_bytes().to_vec();
        h.extend_from_slice(&n.to_be_bytes());
        h.push(0);
        h.extend_from_slice(&count.to_be_bytes()[1..]);
        h
    };
    let page = |ty: u8, flags: u8, dl: u16, count: u32| {
        let mut p = vec![ty, flags];
        p.extend_from_slice(&dl.to_be_bytes());
        p.push(0);
        p.extend_from_slice(&count.to_be_bytes()[1..]);
        p
    };
    add("read_element_status", "empty", Vec::new());
    add("read_element_status", "header-only", header(0, 0, 0));
    add(
        "read_element_status",
        "header-claims-more",
        header(1000, 5, 0xFF_FFFF),
    );
    let mut zero_len = header(1000, 1, 20);
    zero_len.extend(page(2, 0x80, 0, 12));
    add("read_element_status", "descriptor-length-0", zero_len);
    let mut bad_type = header(1000, 1, 20);
    bad_type.extend(page(9, 0, 12, 12));
    bad_type.extend([0u8; 12]);
    add("read_element_status", "element-type-9", bad_type);
    let mut short = header(1000, 2, 8 + 2 * 16 - 8);
    short.extend(page(2, 0, 16, 32));
    short.extend([
        0x03, 0xE8, 1, 0, 0, 0, 0, 0, 0, 0x80, 0x03, 0xE9, 0, 0, 0, 0,
    ]);
    short.extend([0x03, 0xE9, 0, 0]);
    add("read_element_status", "count-8-short-partial", short);
    let mut dv = header(500, 1, 8 + 52);
    dv.extend(page(4, 0, 52, 52));
    let mut d = vec![0x01, 0xF4, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    d.extend([0x02, 0x01, 0, 36]);
    d.extend(b"IBM     ULT3580-HH8     SERIAL000001");
    dv.extend(d);
    add("read_element_status", "dvcid-t10-52", dv);

    add("mode_sense", "empty", Vec::new());
    add("mode_sense", "ones", vec![0xFF; 64]);
    add(
        "mode_sense",
        "bd-len-overrun",
        vec![0x20, 0, 0, 0xF0, 0x1D, 0x12],
    );
    add("inquiry", "empty", Vec::new());
    add(
        "inquiry",
        "vpd-83-overrun",
        vec![0x08, 0x83, 0, 8, 0x02, 0x01, 0, 0xFF],
    );
    add(
        "inquiry",
        "short-standard",
        vec![0x01, 0x80, 5, 2, 31, 0, 0, 0, b'I'],
    );
    add("report_density_support", "empty", Vec::new());
    add(
        "report_density_support",
        "length-odd",
        vec![0, 53, 0, 0, 0x5E],
    );
    add("report_density_support", "medium-type-count-huge", {
        let mut v = vec![0, 60, 0, 0, 0x78, 0, 0, 0xFF];
        v.resize(64, 0x41);
        v
    });
    add("read_attribute", "empty", Vec::new());
    add(
        "read_attribute",
        "attr-len-overrun",
        vec![0, 0, 0, 9, 0x04, 0x01, 0x01, 0xFF, 0xFF, 0x41],
    );
    add(
        "read_attribute",
        "guid-short",
        vec![0, 0, 0, 9, 0x08, 0x21, 0x00, 0, 4, 1, 2, 3, 4],
    );
    add("log_sense", "empty", Vec::new());
    add(
        "log_sense",
        "param-overrun",
        vec![0x2E, 0, 0, 8, 0, 1, 0, 0xFF, 1],
    );
    add(
        "log_sense",
        "other-page",
        vec![0x17, 0, 0, 5, 0, 1, 0, 1, 7],
    );
    add("read_position", "empty", Vec::new());
    add("read_position", "bpu-set", {
        let mut v = vec![0x84; 32];
        v[0] = 0x84;
        v
    });
    add("read_position", "ones-32", vec![0xFF; 32]);
    add("read_block_limits", "empty", Vec::new());
    add(
        "read_block_limits",
        "min-above-max",
        vec![0, 0, 0, 0x10, 0xFF, 0xFF],
    );
    add("read_block_limits", "fixed-only", vec![0, 0, 2, 0, 2, 0]);
    add("request_sense", "empty", Vec::new());
    add("request_sense", "unknown-code", vec![0x7F; 18]);
    let s = Sense::new(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00)
        .with_field_pointer(FieldPointer::cdb(1).with_bit(4));
    add("sense", "fixed-field-pointer", s.to_fixed_bytes());
    add("sense", "descriptor-field-pointer", s.to_descriptor_bytes());
    add(
        "sense",
        "descriptor-information-progress",
        Sense::new(SenseKey::NOT_READY, 0x04, 0x01)
            .with_progress(0x8000)
            .with_information(u64::MAX)
            .in_format(SenseFormat::Descriptor)
            .to_bytes(),
    );
    add(
        "sense",
        "deferred-stream",
        Sense::new(SenseKey::MEDIUM_ERROR, 0x11, 0)
            .deferred()
            .with_stream_flags(true, true, true)
            .to_fixed_bytes(),
    );
    add(
        "sense",
        "descriptor-length-overrun",
        vec![0x72, 5, 0x24, 0, 0, 0, 0, 0xF0, 2, 6, 0],
    );
    add("sense", "fixed-short", vec![0x70, 0, 6]);
    add("sense", "empty", Vec::new());
    // Simulator command sequences: device, CDB length, CDB, direction, length.
    add(
        "sim_command",
        "tur-inquiry",
        vec![
            0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 6, 0x12, 0, 0, 0, 96, 0, 1, 0, 96,
        ],
    );
    add(
        "sim_command",
        "move-into-drive-then-load",
        vec![
            0, 12, 0xA5, 0, 0, 1, 0x03, 0xE8, 0x01, 0xF4, 0, 0, 0, 0, 0, 0, 0, //
            1, 6, 0x1B, 0, 0, 0, 1, 0, 0, 0, 0, //
            1, 16, 0x8C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 0x40, 0,
        ],
    );
    add(
        "sim_command",
        "short-cdbs",
        vec![
            0, 1, 0xB8, 1, 0, 1, 0x05, 0, 2, 1, 3, 0x1A, 0, 0x1D, 1, 0, 9,
        ],
    );
    // The simulator's socket messages, framed and bare.
    {
        use reel_sim::wire::{write_frame, ControlRequest, Direction, Reply, Request};
        let requests = [
            (
                "command-read-element-status",
                Request::Command {
                    path: "sim:changer".into(),
                    cdb: vec![0xB8, 0x12, 0x03, 0xE8, 0, 24, 0, 0, 0xFF, 0xFF, 0, 0],
                    direction: Direction::FromDevice,
                    allocation: 0xFFFF,
                    timeout_ms: 300_000,
                    data_out: Vec::new(),
                },
            ),
            (
                "command-write-attribute",
                Request::Command {
                    path: "sim:drive:500".into(),
                    cdb: vec![0x8D, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0],
                    direction: Direction::ToDevice,
                    allocation: 0,
                    timeout_ms: 60_000,
                    data_out: vec![0, 0, 0, 12, 0x08, 0x08, 0x02, 0, 8, b'P', b'O', b'O', b'L'],
                },
            ),
            ("devices", Request::Devices),
            (
                "control-insert",
                Request::Control(ControlRequest::Insert {
                    barcode: "NEW001L8".into(),
                    ie: Some(10),
                }),
            ),
            ("control-status", Request::Control(ControlRequest::Status)),
        ];
        let mut stream = Vec::new();
        for (name, r) in &requests {
            let body = r.encode();
            add("sim_wire", &format!("request-{name}"), body.clone());
            write_frame(&mut stream, &body).unwrap();
        }
        add("sim_wire", "framed-requests", stream);
        let replies = [
            (
                "completion",
                Reply::Completion {
                    status: 2,
                    sense: Sense::new(SenseKey::UNIT_ATTENTION, 0x29, 0).to_fixed_bytes(),
                    residual: 96,
                    data: Vec::new(),
                },
            ),
            (
                "transport-error",
                Reply::TransportError {
                    kind: reel_hw::TransportErrorKind::NoDevice,
                    message: "sim:drive:501: empty drive bay".into(),
                },
            ),
            ("protocol-error", Reply::ProtocolError("bad frame".into())),
        ];
        for (name, r) in &replies {
            add("sim_wire", &format!("reply-{name}"), r.encode());
        }
        add(
            "sim_wire",
            "frame-length-huge",
            vec![0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3],
        );
    }
    // The simulator's state file, as it writes it for the fuzz layout, and damaged forms.
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let layout = Layout::parse(reel_sim::fuzzing::SIM_LAYOUT, "fuzz.toml").unwrap();
        drop(SimLibrary::open(layout, Some(&path)).unwrap());
        let fresh = std::fs::read(&path).unwrap();
        add("sim_state", "fresh", fresh.clone());
        let with_mam = |mam: serde_json::Value| {
            let mut v: serde_json::Value = serde_json::from_slice(&fresh).unwrap();
            v["cartridges"][0]["mam"] = mam;
            serde_json::to_vec_pretty(&v).unwrap()
        };
        add(
            "sim_state",
            "mam-pool-name",
            with_mam(serde_json::json!({"0808": [2, "504f4f4c"]})),
        );
        add(
            "sim_state",
            "mam-value-over-its-maximum",
            with_mam(serde_json::json!({"0808": [2, "41".repeat(200)]})),
        );
        add(
            "sim_state",
            "mam-read-only-id",
            with_mam(serde_json::json!({"0001": [0, "00"]})),
        );
        add(
            "sim_state",
            "not-json",
            b"{\"format\": \"reel-sim state 1\"".to_vec(),
        );
    }
    // The daemon's wire: every call framed, a message over one frame, ids in broken frames.
    {
        use reel::daemon::wire::{self, Call, CreateDisposition, ObjectType};
        let calls = [
            Call::Hello { protocol: 1, application: Some("fuzz".into()) },
            Call::CreateMediaPool {
                name: "\\Fuzz".into(),
                media_type: None,
                action: CreateDisposition::OpenAlways,
                security: None,
            },
            Call::CreateMediaPool {
                name: "\\Fuzz\\Eight".into(),
                media_type: Some("LTO-8".into()),
                action: CreateDisposition::CreateNew,
                security: Some(serde_json::from_value(serde_json::json!({"entries": [
                    {"kind": "deny", "who": "uid:1001", "rights": ["use"]},
                    {"kind": "allow", "who": "gid:26", "rights": ["use", "control", "write-dac"]}
                ]})).unwrap()),
            },
            Call::Enumerate { container: None, object_type: ObjectType::MediaPool, root_pool: true },
            Call::Enumerate { container: None, object_type: ObjectType::MediaType, root_pool: false },
            Call::MediaTypes {},
            Call::Library { rescan: false },
            Call::CloseSession {},
        ];
        let mut stream = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            let session = (i > 0).then(uuid::Uuid::nil);
            let body = serde_json::to_vec(&serde_json::json!({
                "id": i + 1, "session": session, "call": call.name(),
                "args": serde_json::to_value(call).unwrap()["args"],
            }))
            .unwrap();
            wire::write_frame_sync(&mut stream, &body).unwrap();
        }
        add("daemon_wire", "every-call", stream.clone());
        // The dispatcher runs the same stream as root, as uid 1000 in group 26, as uid 1001.
        for (who, name) in [(0u8, "as-root"), (1, "as-uid-1000"), (2, "as-uid-1001")] {
            let mut input = vec![who];
            input.extend_from_slice(&stream);
            add("daemon_dispatch", name, input);
        }
        let mut long = Vec::new();
        wire::write_frame_sync(&mut long, &vec![b' '; 70_000]).unwrap();
        add("daemon_wire", "one-frame-of-spaces", long);
        let mut two = (wire::CONTINUED | 3).to_be_bytes().to_vec();
        two.extend_from_slice(b"{\"i");
        two.extend_from_slice(&9u32.to_be_bytes());
        two.extend_from_slice(b"d\":7,\"x\":");
        add("daemon_wire", "continued-broken-id", two);
        add(
            "daemon_wire",
            "frame-length-huge",
            vec![0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3],
        );
        let mut bad = Vec::new();
        wire::write_frame_sync(&mut bad, b"{\"id\":5,\"call\":\"\xff\"}").unwrap();
        add("daemon_wire", "id-then-invalid-utf8", bad.clone());
        let mut input = vec![0u8];
        input.extend_from_slice(&bad);
        add("daemon_dispatch", "before-hello", input);
    }
    add("changer", "empty", Vec::new());
    add(
        "changer",
        "busy-then-garbage",
        vec![2, 0, 0, 3, 0, 0, 0, 0, 4, 1, 2, 3, 4, 1, 0, 3, 0x70, 0, 6],
    );
    add("drive", "empty", Vec::new());
    add(
        "drive",
        "not-ready-forever",
        [1u8, 0, 14, 0x70, 0, 2, 0, 0, 0, 0, 6, 0, 0, 0, 0, 4, 1].repeat(8),
    );
    out
}

#[test]
fn the_seed_corpus_is_what_the_simulator_sends_today() {
    let corpus = root().join("fuzz/corpus");
    let mut stale = Vec::new();
    for (target, stem, bytes) in sim_replies().into_iter().chain(edge_cases()) {
        let path = corpus.join(target).join(format!("{stem}.bin"));
        if regenerate() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "seeds differ from what the simulator sends now (REEL_REGENERATE_CORPUS=1 rewrites them): {stale:#?}"
    );
}

// ---- captured replies (tests/data) -----------------------------------------------------------

/// (file in tests/data, fuzz seed it copies: target, stem)
const CAPTURED: &[(&str, &str, &str)] = &[
    (
        "reelsim-virtual_library-inquiry.bin",
        "inquiry",
        "sim-changer-standard",
    ),
    (
        "reelsim-virtual_library-inquiry_vpd83.bin",
        "inquiry",
        "sim-changer-vpd-83",
    ),
    (
        "reelsim-virtual_library-mode_sense6_1d.bin",
        "mode_sense",
        "sim-changer-6-1d",
    ),
    (
        "reelsim-virtual_library-mode_sense10_3f.bin",
        "mode_sense",
        "sim-changer-10-3f",
    ),
    (
        "reelsim-virtual_library-read_element_status_storage.bin",
        "read_element_status",
        "sim-storage-voltag",
    ),
    (
        "reelsim-virtual_library-read_element_status_drive.bin",
        "read_element_status",
        "sim-drive-voltag-dvcid",
    ),
    (
        "reelsim-virtual_library-read_element_status_cut100.bin",
        "read_element_status",
        "sim-storage-cut-100",
    ),
    (
        "reelsim-ult3580_hh8-report_density_support_medium_types.bin",
        "report_density_support",
        "sim-drive-medium-types",
    ),
    (
        "reelsim-ult3580_hh8-read_attribute.bin",
        "read_attribute",
        "sim-drive-values",
    ),
];

#[test]
fn captured_replies_are_the_simulators() {
    let all: BTreeMap<(String, String), Vec<u8>> = sim_replies()
        .into_iter()
        .map(|(t, s, b)| ((t.to_owned(), s), b))
        .collect();
    let mut stale = Vec::new();
    for (file, target, stem) in CAPTURED {
        let bytes = &all[&(target.to_string(), stem.to_string())];
        let path = root().join("tests/data").join(file);
        if regenerate() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(bytes) {
            stale.push(*file);
        }
    }
    assert!(
        stale.is_empty(),
        "captured replies differ from the simulator's: {stale:?}"
    );
}

#[test]
fn captured_inquiry_and_mode_pages_decode() {
    let std = inquiry::parse_standard(include_bytes!("data/reelsim-virtual_library-inquiry.bin"))
        .unwrap();
    assert_eq!(std.peripheral_type, PeripheralType::MEDIUM_CHANGER);
    assert!(!std.removable);
    assert_eq!(
        (
            std.vendor.as_str(),
            std.product.as_str(),
            std.revision.as_str()
        ),
        ("REELSIM", "VIRTUAL LIBRARY", "0001")
    );
    let ids = inquiry::parse_device_identification(include_bytes!(
        "data/reelsim-virtual_library-inquiry_vpd83.bin"
    ))
    .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].serial().as_deref(), Some("SIMLIB0001"));

    let map = mode_sense::parse_element_address_assignment(
        include_bytes!("data/reelsim-virtual_library-mode_sense6_1d.bin"),
        Form::Six,
    )
    .unwrap();
    assert_eq!(
        map.ranges().map(|(_, r)| r),
        [
            ElementRange::new(1, 1),
            ElementRange::new(1000, 24),
            ElementRange::new(10, 1),
            ElementRange::new(500, 2)
        ]
    );
    let all = include_bytes!("data/reelsim-virtual_library-mode_sense10_3f.bin");
    assert_eq!(
        mode_sense::parse_element_address_assignment(all, Form::Ten).unwrap(),
        map
    );
    let caps = mode_sense::parse_device_capabilities(all, Form::Ten).unwrap();
    for t in [
        ElementType::STORAGE,
        ElementType::IMPORT_EXPORT,
        ElementType::DATA_TRANSFER,
    ] {
        assert!(caps.can_store(t), "{t:?}");
        assert!(caps.can_move(ElementType::STORAGE, t), "{t:?}");
    }
    assert!(!caps.can_store(ElementType::TRANSPORT));
}

#[test]
fn captured_element_status_decodes() {
    let s = res::parse(include_bytes!(
        "data/reelsim-virtual_library-read_element_status_storage.bin"
    ))
    .unwrap();
    assert_eq!(
        (s.first_address, s.available, s.byte_count),
        (1000, 24, 8 + 24 * 48)
    );
    assert!(!s.incomplete);
    assert_eq!(s.pages.len(), 1);
    assert_eq!(
        (s.pages[0].pvoltag, s.pages[0].descriptor_length),
        (true, 48)
    );
    // Slots 1000..=1011 hold ABC001L8..ABC012L8 (minus 1000, moved to drive 500), 1023 the
    // cleaning cartridge.
    let got: Vec<(u16, bool, Option<String>, MediumType)> = s
        .descriptors()
        .map(|d| {
            (
                d.address,
                d.full,
                d.primary_tag.as_ref().map(|t| t.identifier.clone()),
                d.medium_type,
            )
        })
        .collect();
    let want: Vec<(u16, bool, Option<String>, MediumType)> = (1000..1024)
        .map(|a| match a {
            1001..=1011 => (
                a,
                true,
                Some(format!("ABC{:03}L8", a - 999)),
                MediumType::DATA,
            ),
            1023 => (a, true, Some("CLN001CU".into()), MediumType::CLEANING),
            _ => (a, false, None, MediumType(0)),
        })
        .collect();
    assert_eq!(got, want);

    let s = res::parse(include_bytes!(
        "data/reelsim-virtual_library-read_element_status_drive.bin"
    ))
    .unwrap();
    // (address, FULL, barcode, DVCID serial, source)
    type Drv = (u16, bool, Option<String>, Option<String>, Option<u16>);
    let d: Vec<Drv> = s
        .descriptors()
        .map(|d| {
            (
                d.address,
                d.full,
                d.primary_tag.as_ref().map(|t| t.identifier.clone()),
                d.device_id.as_ref().and_then(|i| i.serial()),
                d.source,
            )
        })
        .collect();
    assert_eq!(
        d,
        [
            (
                500,
                true,
                Some("ABC001L8".into()),
                Some("SIMDRV0001".into()),
                Some(1000)
            ),
            (501, false, None, Some("SIMDRV0002".into()), None),
        ]
    );
    assert_eq!(s.pages[0].descriptor_length, 12 + 36 + 36);

    // Cut at 100 bytes: the header still counts all 24 elements; one whole descriptor arrived.
    let s = res::parse(include_bytes!(
        "data/reelsim-virtual_library-read_element_status_cut100.bin"
    ))
    .unwrap();
    assert!(s.incomplete);
    assert_eq!((s.available, s.byte_count), (24, 8 + 24 * 48));
    assert_eq!(
        s.descriptors().map(|d| d.address).collect::<Vec<_>>(),
        [1000]
    );
}

#[test]
fn captured_drive_replies_decode() {
    let r = report_density_support::parse_medium_types(include_bytes!(
        "data/reelsim-ult3580_hh8-report_density_support_medium_types.bin"
    ))
    .unwrap();
    assert!(!r.truncated);
    assert!(!r.descriptors.is_empty());
    // An LTO-8 drive: LTO-7 (0x5C), LTO-7 Type M (0x5D) and LTO-8 (0x5E) media.
    let codes: Vec<DensityCode> = r
        .descriptors
        .iter()
        .flat_map(|m| m.density_codes.iter().copied())
        .collect();
    for want in [0x5C, 0x5D, 0x5E] {
        assert!(codes.contains(&DensityCode(want)), "{want:#x} in {codes:?}");
    }
    assert!(!codes.contains(&DensityCode(0x5A)), "{codes:?}");

    let mam = read_attribute::parse_values(include_bytes!(
        "data/reelsim-ult3580_hh8-read_attribute.bin"
    ))
    .unwrap();
    assert_eq!(mam.barcode().as_deref(), Some("ABC001L8"));
    assert_eq!(mam.density_code(), Some(DensityCode(0x5E)));
    assert!(!mam.truncated);
}

#[test]
fn every_simulator_reply_decodes_with_reels_parsers() {
    // The parser each seed target stands for accepts every reply the simulator sends.
    for (target, stem, b) in sim_replies() {
        let ok = match target {
            "inquiry" if stem.ends_with("standard") => inquiry::parse_standard(&b).is_ok(),
            "inquiry" => inquiry::parse_vpd(&b, b[1]).is_ok(),
            "mode_sense" if stem.contains("-10-") => mode_sense::parse(&b, Form::Ten).is_ok(),
            "mode_sense" => mode_sense::parse(&b, Form::Six).is_ok(),
            "read_element_status" => res::parse(&b).is_ok(),
            "report_density_support" if stem.contains("medium") => {
                report_density_support::parse_medium_types(&b).is_ok()
            }
            "report_density_support" => report_density_support::parse_densities(&b).is_ok(),
            "read_attribute" => read_attribute::parse_values(&b).is_ok(),
            "log_sense" => log_sense::parse_tape_alert(&b).is_ok(),
            "read_position" if stem.ends_with("long") => read_position::parse_long(&b).is_ok(),
            "read_position" => read_position::parse_short(&b).is_ok(),
            "read_block_limits" => read_block_limits::parse(&b).is_ok(),
            "request_sense" => request_sense::parse(&b).is_ok(),
            "sense" => Sense::parse(&b).is_ok(),
            _ => true,
        };
        assert!(ok, "{target}/{stem}: {b:02x?}");
    }
}

// ---- mutated seeds, on the stable toolchain ----------------------------------------------------

mod mutated {
    //! A little of what the fuzzer does, in every test run: seeds with bytes changed, cut or
    //! appended, into their targets.

    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn seeds() -> &'static Vec<(fuzzing::Target, Vec<u8>)> {
        static SEEDS: OnceLock<Vec<(fuzzing::Target, Vec<u8>)>> = OnceLock::new();
        SEEDS.get_or_init(|| {
            let corpus = root().join("fuzz/corpus");
            let mut v = Vec::new();
            for (name, run) in all_targets() {
                for f in files(&corpus.join(name)) {
                    v.push((run, std::fs::read(f).unwrap()));
                }
            }
            v
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn mutated_seeds_never_panic(
            pick in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            cut in any::<prop::sample::Index>(),
            tail in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let (run, seed) = &seeds()[pick.index(seeds().len())];
            let mut b = seed.clone();
            if !b.is_empty() {
                for (at, v) in &flips {
                    let i = at.index(b.len());
                    b[i] = *v;
                }
                b.truncate(cut.index(b.len() + 1));
            }
            b.extend_from_slice(&tail);
            run(&b);
        }
    }
}
