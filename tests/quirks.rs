//! Conformance: every quirk, timing key and scripted fault of the simulator's layout contract
//! (shared/spec/sim-layout.md), and what reel's drivers do with each.
//!
//! Each test builds a layout, opens the simulator in-process, runs `Changer`/`Drive` on it and
//! asserts the complete result (every element's address, FULL flag, barcode and DVCID serial)
//! and, where the quirk is about the wire, the exact shape of every command sent. Commands are
//! seen through [`Rec`], a recording decorator around the simulator's transport.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reel::changer::{Changer, ChangerConfig, LibraryStatus, ReadOptions};
use reel::drive::{Drive, DriveConfig, Readiness};
use reel::scsi::exec::{DeviceError, Event, RetryPolicy};
use reel::scsi::mode_sense::ElementRange;
use reel::scsi::read_element_status as res;
use reel::scsi::{ElementType, ParseError};
use reel_hw::{
    Completion, DataDirection, DeviceSource, SenseKey, Transport, TransportError,
    TransportErrorKind,
};
use reel_sim::{Layout, SimLibrary, SimSource, SimTransport, SimTransportError};

// ---- harness --------------------------------------------------------------------------------

/// One command as the device saw it.
#[derive(Debug, Clone)]
struct Cmd {
    cdb: Vec<u8>,
    /// (key, ASC, ASCQ) of a CHECK CONDITION; `None` for GOOD.
    sense: Option<(u8, u8, u8)>,
    /// The data-in bytes actually transferred.
    data_in: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Cmd>>>;

/// Records every command and its answer, then passes it on.
#[derive(Debug)]
struct Rec<T> {
    inner: T,
    log: Log,
}

impl<T: Transport> Transport for Rec<T> {
    type Error = T::Error;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, T::Error> {
        let (c, data_in) = match data {
            DataDirection::FromDevice(buf) => {
                let len = buf.len();
                let c = self
                    .inner
                    .execute(cdb, DataDirection::FromDevice(&mut *buf), timeout)?;
                let n = c.transferred(len);
                (c, buf[..n].to_vec())
            }
            other => (self.inner.execute(cdb, other, timeout)?, Vec::new()),
        };
        let sense = c
            .decoded_sense()
            .filter(|_| !c.is_good())
            .map(|s| (s.key.0, s.asc, s.ascq));
        self.log.lock().unwrap().push(Cmd {
            cdb: cdb.to_vec(),
            sense,
            data_in,
        });
        Ok(c)
    }

    fn device(&self) -> &str {
        self.inner.device()
    }
}

fn lib(text: &str) -> SimLibrary {
    SimLibrary::new(Layout::parse(text, "conform.toml").expect("test layout is valid"))
}

fn open(src: &mut SimSource, path: &str) -> (Rec<SimTransport>, Log) {
    let log = Log::default();
    let t = src.open(path).expect("device opens");
    (
        Rec {
            inner: t,
            log: Arc::clone(&log),
        },
        log,
    )
}

/// Retry policy with short, real waits (the simulator's clock is real).
fn quick(ready_wait_ms: u64) -> RetryPolicy {
    RetryPolicy {
        ready_wait: Duration::from_millis(ready_wait_ms),
        ready_poll: Duration::from_millis(10),
        busy_delay: Duration::from_millis(1),
        ..RetryPolicy::default()
    }
}

/// A changer on a fresh initiator, its power-on unit attention already consumed.
fn changer_with(lib: &SimLibrary, config: ChangerConfig) -> (Changer<Rec<SimTransport>>, Log) {
    let mut src = lib.source();
    let (t, log) = open(&mut src, "sim:changer");
    let mut c = Changer::with_config(t, config);
    c.test_unit_ready().expect("changer ready");
    assert!(
        matches!(&c.take_events()[..], [Event::InventoryMayHaveChanged(s)] if (s.asc, s.ascq) == (0x29, 0)),
        "first command meets 06/29/00"
    );
    log.lock().unwrap().clear();
    (c, log)
}

fn changer(lib: &SimLibrary) -> (Changer<Rec<SimTransport>>, Log) {
    changer_with(
        lib,
        ChangerConfig {
            retry: quick(5_000),
            ..ChangerConfig::default()
        },
    )
}

/// A drive on a fresh initiator, its power-on unit attention already consumed.
fn drive(lib: &SimLibrary, addr: u16) -> (Drive<Rec<SimTransport>>, Log) {
    let mut src = lib.source();
    let (t, log) = open(&mut src, &format!("sim:drive:{addr}"));
    let mut d = Drive::with_config(
        t,
        DriveConfig {
            retry: quick(10_000),
            ..DriveConfig::default()
        },
    );
    d.readiness().expect("TEST UNIT READY answered");
    let ev = d.take_events();
    assert!(
        matches!(&ev[..], [Event::InventoryMayHaveChanged(s)] if (s.asc, s.ascq) == (0x29, 0)),
        "{ev:?}"
    );
    log.lock().unwrap().clear();
    (d, log)
}

/// One element as a test states it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct El {
    addr: u16,
    full: bool,
    barcode: Option<String>,
    serial: Option<String>,
}

fn el(addr: u16, barcode: Option<&str>, serial: Option<&str>) -> El {
    El {
        addr,
        full: barcode.is_some(),
        barcode: barcode.map(str::to_owned),
        serial: serial.map(str::to_owned),
    }
}

fn summary(s: &LibraryStatus) -> Vec<El> {
    s.all()
        .map(|d| El {
            addr: d.address,
            full: d.full,
            barcode: d.primary_tag.as_ref().map(|t| t.identifier.clone()),
            serial: d.device_id.as_ref().and_then(|i| i.serial()),
        })
        .collect()
}

/// The shape of one READ ELEMENT STATUS: (element type, VOLTAG, DVCID, sense if refused).
type ResShape = (u8, bool, bool, Option<(u8, u8, u8)>);

fn res_shapes(log: &Log) -> Vec<ResShape> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|c| c.cdb[0] == 0xB8)
        .map(|c| {
            (
                c.cdb[1] & 0x0F,
                c.cdb[1] & 0x10 != 0,
                c.cdb[6] & 1 != 0,
                c.sense,
            )
        })
        .collect()
}

fn alloc_of(cdb: &[u8]) -> u32 {
    u32::from_be_bytes([0, cdb[7], cdb[8], cdb[9]])
}

fn sense_of<E: std::fmt::Debug>(e: &DeviceError<E>) -> (String, u8, u8, u8) {
    match e {
        DeviceError::Check { op, sense, .. } => {
            (op.to_string(), sense.key.0, sense.asc, sense.ascq)
        }
        other => panic!("expected a CHECK CONDITION error, got {other:?}"),
    }
}

// ---- the small library ----------------------------------------------------------------------

/// 1 transport, 6 slots, 1 mailslot, 2 LTO-8 drives; a cartridge loaded in drive 501.
const SMALL: &str = r#"
[changer]
serial = "CONFORM01"
transport     = { first = 1,    count = 1 }
storage       = { first = 1000, count = 6 }
import_export = { first = 10,   count = 1 }
data_transfer = { first = 500,  count = 2 }

[[drive]]
serial = "DRVA0001"
generation = "LTO-8"

[[drive]]
serial = "DRVB0002"
generation = "LTO-8"

[[cartridge]]
barcode  = "ABC001L8"
location = "slot:1000"

[[cartridge]]
barcode  = "ABC002L8"
location = "slot:1002"

[[cartridge]]
barcode  = "CLN001CU"
location = "slot:1005"

[[cartridge]]
barcode  = "ABC003L8"
location = "drive:501"
"#;

/// Every element of [`SMALL`], in the order `LibraryStatus::all` gives them.
fn small_elements(barcodes: bool) -> Vec<El> {
    let b = |s: &'static str| barcodes.then_some(s);
    let full_without_tag = |addr| El {
        addr,
        full: true,
        barcode: None,
        serial: None,
    };
    let full = |addr, tag: &'static str| match b(tag) {
        Some(_) => el(addr, Some(tag), None),
        None => full_without_tag(addr),
    };
    let mut drive501 = full(501, "ABC003L8");
    drive501.serial = Some("DRVB0002".into());
    vec![
        el(1, None, None),
        full(1000, "ABC001L8"),
        el(1001, None, None),
        full(1002, "ABC002L8"),
        el(1003, None, None),
        el(1004, None, None),
        full(1005, "CLN001CU"),
        el(10, None, None),
        el(500, None, Some("DRVA0001")),
        drive501,
    ]
}

const V: bool = true;
const D: bool = true;
const REFUSED: Option<(u8, u8, u8)> = Some((5, 0x24, 0x00));

/// One row of the quirk table: the `[quirks]`/`[changer]` text added to [`SMALL`], whether
/// barcodes come back, and the READ ELEMENT STATUS commands of a first and a second
/// `status()` (the second shows what the driver learned).
struct QuirkCase {
    name: &'static str,
    changer_keys: &'static str,
    quirks: &'static str,
    barcodes: bool,
    first: &'static [ResShape],
    second: &'static [ResShape],
}

const PLAIN: &[ResShape] = &[
    (1, V, false, None),
    (2, V, false, None),
    (3, V, false, None),
    (4, V, D, None),
];

#[test]
fn each_quirk_gives_the_whole_library_with_the_commands_the_driver_owes() {
    let cases = [
        QuirkCase {
            name: "no quirk",
            changer_keys: "",
            quirks: "",
            barcodes: true,
            first: PLAIN,
            second: PLAIN,
        },
        QuirkCase {
            // The drives are read twice: identifiers without VOLTAG, barcodes without DVCID.
            name: "dvcid_with_voltag_rejected",
            changer_keys: "",
            quirks: "dvcid_with_voltag_rejected = true",
            barcodes: true,
            first: &[
                (1, V, false, None),
                (2, V, false, None),
                (3, V, false, None),
                (4, V, D, REFUSED),
                (4, false, D, None),
                (4, V, false, None),
            ],
            second: &[
                (1, V, false, None),
                (2, V, false, None),
                (3, V, false, None),
                (4, false, D, None),
                (4, V, false, None),
            ],
        },
        QuirkCase {
            // The driver asks DVCID for data transfer elements only: never refused.
            name: "dvcid_on_non_drive_rejected",
            changer_keys: "",
            quirks: "dvcid_on_non_drive_rejected = true",
            barcodes: true,
            first: PLAIN,
            second: PLAIN,
        },
        QuirkCase {
            // Refused once, then VOLTAG is dropped for the session.
            name: "barcode_reader = false",
            changer_keys: "barcode_reader = false",
            quirks: "",
            barcodes: false,
            first: &[
                (1, V, false, REFUSED),
                (1, false, false, None),
                (2, false, false, None),
                (3, false, false, None),
                (4, false, D, None),
            ],
            second: &[
                (1, false, false, None),
                (2, false, false, None),
                (3, false, false, None),
                (4, false, D, None),
            ],
        },
        QuirkCase {
            name: "volume_tag_length = 32",
            changer_keys: "",
            quirks: "volume_tag_length = 32",
            barcodes: true,
            first: PLAIN,
            second: PLAIN,
        },
        QuirkCase {
            name: "ignore_element_count",
            changer_keys: "",
            quirks: "ignore_element_count = true",
            barcodes: true,
            first: PLAIN,
            second: PLAIN,
        },
        QuirkCase {
            name: "allocation_length_16bit",
            changer_keys: "",
            quirks: "allocation_length_16bit = true",
            barcodes: true,
            first: PLAIN,
            second: PLAIN,
        },
        QuirkCase {
            // Replies of at most 100 bytes: the driver continues address by address.
            name: "max_allocation_length = 100",
            changer_keys: "",
            quirks: "max_allocation_length = 100",
            barcodes: true,
            first: &[
                (1, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (3, V, false, None),
                (4, V, D, None),
                (4, V, D, None),
            ],
            second: &[
                (1, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (2, V, false, None),
                (3, V, false, None),
                (4, V, D, None),
                (4, V, D, None),
            ],
        },
    ];
    for case in &cases {
        let text = SMALL.replace(
            "[changer]\n",
            &format!("[changer]\n{}\n", case.changer_keys),
        ) + &format!("\n[quirks]\n{}\n", case.quirks);
        let lib = lib(&text);
        let (mut c, log) = changer(&lib);
        let map = c.element_map().unwrap();
        log.lock().unwrap().clear();

        let status = c
            .status(&map, true)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(
            summary(&status),
            small_elements(case.barcodes),
            "{}",
            case.name
        );
        assert_eq!(res_shapes(&log), case.first, "{}: first pass", case.name);
        assert!(
            log.lock()
                .unwrap()
                .iter()
                .all(|c| c.cdb[0] != 0xB8 || alloc_of(&c.cdb) <= 0xFFFF),
            "{}: no allocation length above 0xFFFF",
            case.name
        );
        // Every tag the driver kept has the field's sequence number only in 36-byte fields.
        let short_tags = case.quirks.contains("volume_tag_length = 32");
        for d in status.all() {
            if let Some(t) = &d.primary_tag {
                assert_eq!(t.sequence.is_none(), short_tags, "{}: {t:?}", case.name);
            }
        }
        assert!(c.take_events().is_empty(), "{}", case.name);

        log.lock().unwrap().clear();
        let again = c.status(&map, true).unwrap();
        assert_eq!(again, status, "{}: second pass", case.name);
        assert_eq!(res_shapes(&log), case.second, "{}: second pass", case.name);
    }
}

#[test]
fn descriptor_lengths_follow_the_volume_tag_length() {
    // (volume_tag_length, storage descriptor length with VOLTAG, drive length with VOLTAG+DVCID)
    for (tag, storage, drive) in [(36u16, 48u16, 84u16), (32, 44, 80)] {
        let lib = lib(&format!("{SMALL}\n[quirks]\nvolume_tag_length = {tag}\n"));
        let (mut c, log) = changer(&lib);
        let map = c.element_map().unwrap();
        log.lock().unwrap().clear();
        c.status(&map, true).unwrap();
        let lens: Vec<(u8, u16)> = log
            .lock()
            .unwrap()
            .iter()
            .map(|cmd| {
                let s = res::parse(&cmd.data_in).unwrap();
                (s.pages[0].element_type.0, s.pages[0].descriptor_length)
            })
            .collect();
        assert_eq!(
            lens,
            [(1, storage), (2, storage), (3, storage), (4, drive)],
            "tag {tag}"
        );
    }
}

#[test]
fn dvcid_serials_are_the_drives_unit_serials() {
    let lib = lib(SMALL);
    let (mut c, _) = changer(&lib);
    let map = c.element_map().unwrap();
    let status = c.status(&map, true).unwrap();
    for d in &status.data_transfer {
        let (mut drv, _) = drive(&lib, d.address);
        let id = drv.identify().unwrap();
        assert_eq!(
            id.serial,
            d.device_id.as_ref().and_then(|i| i.serial()),
            "drive {}",
            d.address
        );
    }
}

// ---- big libraries: chunking ----------------------------------------------------------------

const LARGE: &str = include_str!("layouts/conform-large.toml");

/// Storage elements in conform-large.toml, from 1000; cartridges `A00000L8`.. from slot 1000.
const LARGE_SLOTS: u16 = 3000;
const LARGE_CARTS: u16 = 2000;

fn large_storage_expected() -> Vec<El> {
    (0..LARGE_SLOTS)
        .map(|i| {
            let bc = (i < LARGE_CARTS).then(|| format!("A{i:05}L8"));
            El {
                addr: 1000 + i,
                full: bc.is_some(),
                barcode: bc,
                serial: None,
            }
        })
        .collect()
}

/// Commands needed for `n` descriptors of `dl` bytes when each reply carries at most `reply`
/// bytes (8-byte header + 8-byte page header, then whole descriptors).
fn chunks(n: u32, dl: u32, reply: u32) -> usize {
    let per = (reply - 16) / dl;
    n.div_ceil(per) as usize
}

#[test]
fn big_inventories_are_read_in_chunks_whatever_the_reply_limit() {
    // (quirks, driver max allocation, expected storage commands, every allocation ≤ 0xFFFF)
    let storage_dl = 48; // 12 + 36-byte tag
    let n = u32::from(LARGE_SLOTS);
    let cases: Vec<(&str, u32, usize)> = vec![
        ("", 0xFFFF, chunks(n, storage_dl, 0xFFFF)),
        (
            "max_allocation_length = 65536",
            0xFFFF,
            chunks(n, storage_dl, 0xFFFF),
        ),
        (
            "max_allocation_length = 1024",
            0xFFFF,
            chunks(n, storage_dl, 1024),
        ),
        (
            "ignore_element_count = true",
            0xFFFF,
            chunks(n, storage_dl, 0xFFFF),
        ),
        (
            "allocation_length_16bit = true",
            0xFFFF,
            chunks(n, storage_dl, 0xFFFF),
        ),
        // The changer reads 0x010400 as 0x0400: 1024-byte replies, and the driver, trusting
        // only what arrived, still reads everything.
        (
            "allocation_length_16bit = true",
            0x10400,
            chunks(n, storage_dl, 0x400),
        ),
        // Without the quirk the same driver setting gets 0x10400-byte replies.
        ("", 0x10400, chunks(n, storage_dl, 0x10400)),
    ];
    for (quirks, max, want) in cases {
        let lib = lib(&format!("{LARGE}\n[quirks]\n{quirks}\n"));
        let (mut c, log) = changer_with(
            &lib,
            ChangerConfig {
                max_allocation_length: max,
                retry: quick(1_000),
                ..ChangerConfig::default()
            },
        );
        let map = c.element_map().unwrap();
        log.lock().unwrap().clear();
        let status = c.status(&map, true).unwrap();
        assert_eq!(
            summary(&LibraryStatus {
                storage: status.storage.clone(),
                ..LibraryStatus::default()
            }),
            large_storage_expected(),
            "{quirks} / {max:#x}"
        );
        assert_eq!(status.data_transfer.len(), 4, "{quirks}");
        assert_eq!(status.import_export.len(), 4, "{quirks}");
        let log = log.lock().unwrap();
        let storage: Vec<&Cmd> = log.iter().filter(|c| c.cdb[1] & 0x0F == 2).collect();
        assert_eq!(storage.len(), want, "{quirks} / {max:#x}: storage commands");
        assert!(storage.iter().all(|c| c.sense.is_none()));
        assert!(
            storage.iter().all(|c| alloc_of(&c.cdb) == max),
            "{quirks} / {max:#x}: allocation lengths {:?}",
            storage.iter().map(|c| alloc_of(&c.cdb)).collect::<Vec<_>>()
        );
        // Each request starts right after the last element received.
        let mut next = 1000u16;
        for cmd in &storage {
            assert_eq!(
                u16::from_be_bytes([cmd.cdb[2], cmd.cdb[3]]),
                next,
                "{quirks}"
            );
            let got = res::parse(&cmd.data_in).unwrap();
            next = got.descriptors().last().unwrap().address + 1;
        }
        assert_eq!(next, 1000 + LARGE_SLOTS);
    }
}

#[test]
fn allocation_length_16bit_with_a_driver_allowed_0x10000_gets_an_empty_reply() {
    // The changer reads only the low two bytes of 0x010000: 0, so it sends nothing. The
    // driver never does this by default (0xFFFF); a user who raises the limit sees a typed
    // error naming the command and the structure, never a silently empty inventory.
    let lib = lib(&format!(
        "{LARGE}\n[quirks]\nallocation_length_16bit = true\n"
    ));
    let (mut c, log) = changer_with(
        &lib,
        ChangerConfig {
            max_allocation_length: 0x10000,
            retry: quick(1_000),
            ..ChangerConfig::default()
        },
    );
    let map = c.element_map().unwrap();
    let err = c.status(&map, true).unwrap_err();
    match &err {
        DeviceError::Malformed { op, source, .. } => {
            assert_eq!(op, "READ ELEMENT STATUS");
            assert_eq!(
                source,
                &ParseError::Truncated {
                    what: "element status header",
                    needed: 2,
                    available: 0
                }
            );
        }
        e => panic!("{e:?}"),
    }
    let last = log.lock().unwrap().last().cloned().unwrap();
    assert_eq!(alloc_of(&last.cdb), 0x10000);
    assert!(last.data_in.is_empty());
}

#[test]
fn ignore_element_count_sends_more_and_the_driver_keeps_the_range_asked() {
    // (quirk, descriptors in the changer's reply) for a read of slots 1010..1015.
    let per_reply = (0xFFFF - 16) / 48;
    for (quirks, in_reply) in [("", 5usize), ("ignore_element_count = true", per_reply)] {
        let lib = lib(&format!("{LARGE}\n[quirks]\n{quirks}\n"));
        let (mut c, log) = changer(&lib);
        let got = c
            .read_elements(
                ElementType::STORAGE,
                ElementRange::new(1010, 5),
                &ReadOptions {
                    voltag: true,
                    dvcid: false,
                },
            )
            .unwrap();
        let addrs: Vec<u16> = got.iter().map(|d| d.address).collect();
        assert_eq!(addrs, [1010, 1011, 1012, 1013, 1014], "{quirks}");
        let tags: Vec<String> = got
            .iter()
            .map(|d| d.primary_tag.as_ref().unwrap().identifier.clone())
            .collect();
        assert_eq!(
            tags,
            ["A00010L8", "A00011L8", "A00012L8", "A00013L8", "A00014L8"]
        );
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 1, "{quirks}: one command");
        assert_eq!(u16::from_be_bytes([log[0].cdb[4], log[0].cdb[5]]), 5);
        assert_eq!(
            res::parse(&log[0].data_in).unwrap().len(),
            in_reply,
            "{quirks}"
        );
    }
}

// ---- not ready on start ---------------------------------------------------------------------

#[test]
fn not_ready_on_start_is_waited_out_within_the_bound() {
    let lib = lib(&format!(
        "{SMALL}\n[quirks]\nnot_ready_on_start_ms = 1000\n"
    ));
    let mut src = lib.source();
    let (t, log) = open(&mut src, "sim:changer");
    let mut c = Changer::with_config(
        t,
        ChangerConfig {
            retry: quick(30_000),
            ..ChangerConfig::default()
        },
    );
    // INQUIRY answers at once: it never reports not ready nor a unit attention.
    let id = c.identify().unwrap();
    assert_eq!(id.serial.as_deref(), Some("CONFORM01"));
    assert!(c.take_events().is_empty());

    let map = c.element_map().unwrap();
    assert_eq!(map.storage, ElementRange::new(1000, 6));
    let ev = c.take_events();
    let Event::InventoryMayHaveChanged(ua) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (ua.key, ua.asc, ua.ascq),
        (SenseKey::UNIT_ATTENTION, 0x29, 0x00)
    );
    let Event::BecameReady { waited } = ev[1] else {
        panic!("{ev:?}")
    };
    assert!(waited > Duration::ZERO);
    assert_eq!(ev.len(), 2, "{ev:?}");

    // On the wire: INQUIRY x3, then MODE SENSE: unit attention, not ready until the start
    // delay is over, then GOOD.
    let log = log.lock().unwrap();
    let ms: Vec<Option<(u8, u8, u8)>> = log
        .iter()
        .filter(|c| c.cdb[0] == 0x1A)
        .map(|c| c.sense)
        .collect();
    assert_eq!(ms[0], Some((6, 0x29, 0x00)));
    assert!(ms.len() >= 3, "{ms:?}");
    assert!(
        ms[1..ms.len() - 1]
            .iter()
            .all(|s| *s == Some((2, 0x04, 0x01))),
        "{ms:?}"
    );
    assert_eq!(*ms.last().unwrap(), None);
}

#[test]
fn not_ready_on_start_past_the_bound_is_a_not_ready_error() {
    let lib = lib(&format!(
        "{SMALL}\n[quirks]\nnot_ready_on_start_ms = 600000\n"
    ));
    let mut src = lib.source();
    let (t, log) = open(&mut src, "sim:changer");
    let mut c = Changer::with_config(
        t,
        ChangerConfig {
            retry: quick(30),
            ..ChangerConfig::default()
        },
    );
    let err = c.element_map().unwrap_err();
    match &err {
        DeviceError::NotReady {
            op,
            waited,
            sense,
            device,
        } => {
            assert_eq!(op, "MODE SENSE(6)");
            assert_eq!(device, "sim:changer");
            assert_eq!(*waited, Duration::from_millis(30));
            assert_eq!(
                (sense.key, sense.asc, sense.ascq),
                (SenseKey::NOT_READY, 4, 1)
            );
        }
        e => panic!("{e:?}"),
    }
    // 30 ms in 10 ms polls: the unit attention, then four not-ready answers.
    let senses: Vec<_> = log.lock().unwrap().iter().map(|c| c.sense).collect();
    assert_eq!(
        senses,
        [
            Some((6, 0x29, 0)),
            Some((2, 4, 1)),
            Some((2, 4, 1)),
            Some((2, 4, 1)),
            Some((2, 4, 1))
        ]
    );
    // The drives are not affected by the changer's start delay.
    let (mut d, _) = drive(&lib, 500);
    assert_eq!(d.readiness().unwrap(), Readiness::NoMedium);
}

// ---- empty drive bays -----------------------------------------------------------------------

#[test]
fn an_empty_drive_bay_is_an_element_without_a_drive() {
    let text = r#"
[changer]
serial = "CONFORM02"
transport     = { first = 1,    count = 1 }
storage       = { first = 1000, count = 2 }
import_export = { first = 10,   count = 0 }
data_transfer = { first = 500,  count = 3 }

[[drive]]
serial = "DRVA0001"
generation = "LTO-8"

[[drive]]
serial = "DRVB0002"
generation = "LTO-8"
present = false

[[drive]]
serial = "DRVC0003"
generation = "LTO-9"

[[cartridge]]
barcode  = "ABC001L8"
location = "slot:1000"
"#;
    let lib = lib(text);
    let (mut c, _) = changer(&lib);
    let map = c.element_map().unwrap();
    assert_eq!(map.import_export.count, 0);
    let status = c.status(&map, true).unwrap();
    assert_eq!(
        summary(&status),
        [
            el(1, None, None),
            el(1000, Some("ABC001L8"), None),
            el(1001, None, None),
            el(500, None, Some("DRVA0001")),
            el(501, None, None),
            el(502, None, Some("DRVC0003")),
        ]
    );
    // (address, EXCEPT, ACCESS, ASC, ASCQ): the bay reports 83/04 "drive not installed".
    let dt: Vec<(u16, bool, bool, u8, u8)> = status
        .data_transfer
        .iter()
        .map(|d| (d.address, d.except, d.access, d.asc, d.ascq))
        .collect();
    assert_eq!(
        dt,
        [
            (500, false, true, 0, 0),
            (501, true, false, 0x83, 0x04),
            (502, false, true, 0, 0)
        ]
    );

    // No device answers behind the bay.
    let mut src = lib.source();
    let paths: Vec<String> = src.devices().unwrap().into_iter().map(|d| d.path).collect();
    assert_eq!(paths, ["sim:changer", "sim:drive:500", "sim:drive:502"]);
    let e: SimTransportError = src.open("sim:drive:501").unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::NoDevice);

    // A move into it is refused with the bay's sense, named and decoded.
    let err = c.move_medium(1, 1000, 501, false).unwrap_err();
    assert_eq!(sense_of(&err), ("MOVE MEDIUM".into(), 5, 0x3B, 0x1A));
    let err = c.move_medium(1, 1000, 502, false);
    assert!(err.is_ok(), "{err:?}");
}

// ---- faults ---------------------------------------------------------------------------------

/// One step of a fault scenario.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// MOVE MEDIUM from, to.
    Move(u16, u16),
    /// Changer::status.
    Status,
    /// Drive 501: read its cartridge memory.
    ReadMam,
    /// Drive 501: unload.
    Unload,
    /// Changer: close import/export element 10 (OPEN/CLOSE, opcode 0x1B to a changer).
    CloseIe,
}

/// What a step returns: `Ok`, or a CHECK CONDITION on this command with this sense.
type Want = Result<(), (&'static str, u8, u8, u8)>;

/// A fault scenario: its name, the `[[fault]]` body, and the steps with what each returns.
type FaultCase = (&'static str, &'static str, Vec<(Step, Want)>);

#[test]
fn scripted_faults_fail_exactly_the_commands_they_name() {
    let hw: Want = Err(("MOVE MEDIUM", 4, 0x15, 0x01));
    let cases: Vec<FaultCase> = vec![
        (
            "by name, after 1, times 2",
            r#"command = "MOVE MEDIUM"
after = 1
times = 2
sense = "4/15/01""#,
            vec![
                (Step::Move(1000, 1001), Ok(())),
                (Step::Move(1001, 1003), hw),
                (Step::Move(1001, 1003), hw),
                (Step::Move(1001, 1003), Ok(())),
                (Step::Move(1003, 1004), Ok(())),
            ],
        ),
        (
            "by opcode (integer), defaults after 0 and times 1",
            "command = 0xA5\nsense = \"4/15/01\"",
            vec![
                (Step::Move(1000, 1001), hw),
                (Step::Move(1000, 1001), Ok(())),
            ],
        ),
        (
            "by opcode (string)",
            "command = \"0xa5\"\nsense = \"3/53/00\"",
            vec![
                (Step::Move(1000, 1001), Err(("MOVE MEDIUM", 3, 0x53, 0x00))),
                (Step::Move(1000, 1001), Ok(())),
            ],
        ),
        (
            "READ ELEMENT STATUS",
            "command = \"READ ELEMENT STATUS\"\nafter = 2\nsense = \"4/44/00\"",
            vec![
                // One status() sends four READ ELEMENT STATUS (one per type): the third fails.
                (Step::Status, Err(("READ ELEMENT STATUS", 4, 0x44, 0x00))),
                (Step::Status, Ok(())),
            ],
        ),
        (
            "a fault on a drive command",
            "command = \"READ ATTRIBUTE\"\nsense = \"3/11/12\"",
            vec![
                (Step::ReadMam, Err(("READ ATTRIBUTE", 3, 0x11, 0x12))),
                (Step::ReadMam, Ok(())),
            ],
        ),
        (
            "LOAD UNLOAD is 0x1B to a drive only",
            "command = \"LOAD UNLOAD\"\nsense = \"4/53/01\"",
            vec![
                (Step::CloseIe, Ok(())),
                (Step::Unload, Err(("LOAD UNLOAD", 4, 0x53, 0x01))),
                (Step::Unload, Ok(())),
            ],
        ),
        (
            "OPEN/CLOSE IMPORT/EXPORT ELEMENT is 0x1B to a changer only",
            "command = \"OPEN/CLOSE IMPORT/EXPORT ELEMENT\"\nsense = \"4/15/01\"",
            vec![
                (Step::Unload, Ok(())),
                (Step::CloseIe, Err(("OPEN/CLOSE IMPORT/EXPORT ELEMENT", 4, 0x15, 0x01))),
                (Step::CloseIe, Ok(())),
            ],
        ),
        (
            "two faults on one command, applied in order",
            "command = \"MOVE MEDIUM\"\nsense = \"4/15/01\"\n\n[[fault]]\ncommand = \"MOVE MEDIUM\"\nafter = 2\nsense = \"B/47/00\"",
            vec![
                (Step::Move(1000, 1001), hw),
                (Step::Move(1000, 1001), Ok(())),
                (Step::Move(1001, 1000), Err(("MOVE MEDIUM", 0xB, 0x47, 0x00))),
                (Step::Move(1001, 1000), Ok(())),
            ],
        ),
    ];
    for (name, fault, steps) in cases {
        let lib = lib(&format!("{SMALL}\n[[fault]]\n{fault}\n"));
        let (mut c, _) = changer(&lib);
        let map = c.element_map().unwrap();
        let (mut d, _) = drive(&lib, 501);
        for (i, (step, want)) in steps.iter().enumerate() {
            let got: Result<(), DeviceError<SimTransportError>> = match *step {
                Step::Move(from, to) => c.move_medium(1, from, to, false),
                Step::Status => c.status(&map, true).map(|_| ()),
                Step::ReadMam => d.read_mam().map(|m| {
                    assert_eq!(m.unwrap().barcode.as_deref(), Some("ABC003L8"), "{name}");
                }),
                Step::Unload => d.unload(false),
                Step::CloseIe => c.close_import_export(10),
            };
            match (got, want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err((op, key, asc, ascq))) => {
                    assert_eq!(
                        sense_of(&e),
                        (op.to_string(), *key, *asc, *ascq),
                        "{name} step {i}"
                    );
                    assert_eq!(
                        e.device(),
                        if matches!(step, Step::ReadMam | Step::Unload) {
                            "sim:drive:501"
                        } else {
                            "sim:changer"
                        }
                    );
                }
                (got, want) => panic!("{name} step {i} {step:?}: got {got:?}, want {want:?}"),
            }
        }
        assert!(c.take_events().is_empty(), "{name}: no event from a fault");
        // The failed moves moved nothing: the library is where the successful ones left it.
        let moved: Vec<(u16, u16)> = steps
            .iter()
            .filter_map(|(s, w)| match (s, w) {
                (Step::Move(a, b), Ok(())) => Some((*a, *b)),
                _ => None,
            })
            .collect();
        let mut want_slots: Vec<Option<&str>> = vec![
            Some("ABC001L8"),
            None,
            Some("ABC002L8"),
            None,
            None,
            Some("CLN001CU"),
        ];
        for (a, b) in moved {
            let x = want_slots[usize::from(a - 1000)].take();
            want_slots[usize::from(b - 1000)] = x;
        }
        let status = c.status(&map, true).unwrap();
        let got: Vec<Option<String>> = status
            .storage
            .iter()
            .map(|d| d.primary_tag.as_ref().map(|t| t.identifier.clone()))
            .collect();
        let want: Vec<Option<String>> = want_slots.iter().map(|s| s.map(str::to_owned)).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_unit_attention_fault_is_retried_and_reported_up_to_the_bound() {
    // (times the fault fires, status() succeeds) with the default bound of 5 retries.
    for (times, ok) in [(1, true), (5, true), (6, false)] {
        let lib = lib(&format!(
            "{SMALL}\n[[fault]]\ncommand = \"READ ELEMENT STATUS\"\ntimes = {times}\nsense = \"6/28/01\"\n"
        ));
        let (mut c, log) = changer(&lib);
        let map = c.element_map().unwrap();
        log.lock().unwrap().clear();
        let got = c.status(&map, true);
        let ev = c.take_events();
        let ua = |e: &Event| {
            matches!(e, Event::InventoryMayHaveChanged(s)
                if (s.key, s.asc, s.ascq) == (SenseKey::UNIT_ATTENTION, 0x28, 0x01))
        };
        assert_eq!(ev.len(), times.min(5), "times {times}: {ev:?}");
        assert!(ev.iter().all(ua), "{ev:?}");
        match got {
            Ok(s) => {
                assert!(ok, "times {times}");
                assert_eq!(summary(&s), small_elements(true));
                let shapes = res_shapes(&log);
                assert_eq!(shapes.len(), 4 + times);
                assert!(shapes[..times].iter().all(|s| s.3 == Some((6, 0x28, 1))));
            }
            Err(e) => {
                assert!(!ok, "times {times}: {e}");
                assert_eq!(sense_of(&e), ("READ ELEMENT STATUS".into(), 6, 0x28, 0x01));
                assert_eq!(log.lock().unwrap().len(), 6);
            }
        }
    }
}

// ---- timing ---------------------------------------------------------------------------------

#[test]
fn timing_a_loaded_drive_becomes_ready_and_the_driver_waits() {
    let lib = lib(&format!(
        "{SMALL}\n[timing]\nmove_ms = 20\nload_ms = 1000\ninventory_ms_per_element = 1\n"
    ));
    let (mut c, _) = changer(&lib);
    let (mut d, log) = drive(&lib, 500);
    assert_eq!(d.readiness().unwrap(), Readiness::NoMedium);

    c.move_medium(1, 1000, 500, false).unwrap();
    // The load takes load_ms: the drive says so, and read_mam waits it out.
    assert_eq!(d.readiness().unwrap(), Readiness::BecomingReady);
    let mam = d.read_mam().unwrap().expect("a cartridge is loaded");
    assert_eq!(mam.barcode.as_deref(), Some("ABC001L8"));
    let ev = d.take_events();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(
        matches!(&ev[0], Event::InventoryMayHaveChanged(s) if (s.asc, s.ascq) == (0x28, 0x00)),
        "medium changed once the load is done: {ev:?}"
    );
    assert!(matches!(ev[1], Event::BecameReady { waited } if waited > Duration::ZERO));
    let senses: Vec<_> = log.lock().unwrap().iter().map(|c| c.sense).collect();
    // TUR before the move (no medium), TUR after it (becoming ready), then READ ATTRIBUTE:
    // not ready until the load is done, the medium-changed attention, GOOD.
    assert_eq!(senses[0], Some((2, 0x3A, 0)));
    assert_eq!(senses[1], Some((2, 4, 1)));
    let n = senses.len();
    assert!(n >= 5, "{senses:?}");
    assert!(
        senses[2..n - 2].iter().all(|s| *s == Some((2, 4, 1))),
        "{senses:?}"
    );
    assert_eq!(&senses[n - 2..], [Some((6, 0x28, 0)), None]);
    assert_eq!(d.readiness().unwrap(), Readiness::Ready);

    // A mechanical move and an inventory scan simply take their time.
    let map = c.element_map().unwrap();
    c.move_medium(1, 1002, 1001, false).unwrap();
    c.initialize_element_status().unwrap();
    let s = c.status(&map, true).unwrap();
    assert_eq!(
        s.get(1001)
            .and_then(|d| d.primary_tag.as_ref())
            .map(|t| t.identifier.as_str()),
        Some("ABC002L8")
    );
    assert_eq!(s.get(1001).and_then(|d| d.source), Some(1002));
    assert!(c.take_events().is_empty());
}

// ---- unit attentions per initiator ----------------------------------------------------------

#[test]
fn each_initiator_sees_each_unit_attention_once() {
    let lib = lib(SMALL);
    let mut sources = [lib.source(), lib.source()];
    let mut changers: Vec<(Changer<Rec<SimTransport>>, Log)> = sources
        .iter_mut()
        .map(|s| {
            let (t, log) = open(s, "sim:changer");
            (
                Changer::with_config(
                    t,
                    ChangerConfig {
                        retry: quick(1_000),
                        ..ChangerConfig::default()
                    },
                ),
                log,
            )
        })
        .collect();
    let asc = |ev: &[Event]| -> Vec<(u8, u8)> {
        ev.iter()
            .map(|e| match e {
                Event::InventoryMayHaveChanged(s) => (s.asc, s.ascq),
                e => panic!("{e:?}"),
            })
            .collect()
    };
    // Power on: each initiator once.
    for (i, (c, _)) in changers.iter_mut().enumerate() {
        c.test_unit_ready().unwrap();
        assert_eq!(asc(&c.take_events()), [(0x29, 0)], "initiator {i}");
        c.test_unit_ready().unwrap();
        assert!(c.take_events().is_empty(), "initiator {i}: only once");
    }
    // The operator puts a cartridge in the mailslot: each initiator once, and the next
    // inventory shows it.
    lib.insert("NEW001L8", None).unwrap();
    for (i, (c, log)) in changers.iter_mut().enumerate() {
        log.lock().unwrap().clear();
        let map = c.element_map().unwrap();
        assert_eq!(asc(&c.take_events()), [(0x28, 0x01)], "initiator {i}");
        let s = c.status(&map, true).unwrap();
        assert!(c.take_events().is_empty());
        let ie = &s.import_export[0];
        assert_eq!((ie.address, ie.full, ie.impexp), (10, true, true));
        assert_eq!(ie.primary_tag.as_ref().unwrap().identifier, "NEW001L8");
        let checks: Vec<_> = log.lock().unwrap().iter().filter_map(|c| c.sense).collect();
        assert_eq!(checks, [(6, 0x28, 0x01)], "initiator {i}");
    }
    // Removing it and closing the door are operator actions too.
    lib.remove(10).unwrap();
    for (c, _) in &mut changers {
        c.test_unit_ready().unwrap();
        assert_eq!(asc(&c.take_events()), [(0x28, 0x01)]);
    }
    // A third initiator that arrives now sees only the power-on attention.
    let mut late = lib.source();
    let (t, _) = open(&mut late, "sim:changer");
    let mut c = Changer::new(t);
    c.test_unit_ready().unwrap();
    assert_eq!(asc(&c.take_events()), [(0x29, 0)]);

    // Drives: each initiator's drive transport sees its own power-on attention.
    for s in &mut sources {
        let (t, _) = open(s, "sim:drive:500");
        let mut d = Drive::new(t);
        assert_eq!(d.readiness().unwrap(), Readiness::NoMedium);
        assert_eq!(asc(&d.take_events()), [(0x29, 0)]);
    }
}

// ---- limits, offline drives, becoming-ready faults, operator actions ------------------------

#[test]
fn reply_limits_too_small_for_the_structures_give_typed_errors() {
    // (max_allocation_length, what element_map gives, what status gives)
    let lib_with = |max: u32| {
        lib(&format!(
            "{SMALL}\n[quirks]\nmax_allocation_length = {max}\n"
        ))
    };

    // 40 bytes: the mode page fits (4 + 20), no storage descriptor (16 + 48) does.
    let l = lib_with(40);
    let (mut c, _) = changer(&l);
    let map = c.element_map().unwrap();
    assert_eq!(map.storage, ElementRange::new(1000, 6));
    match c.status(&map, true).unwrap_err() {
        DeviceError::Protocol { op, reason, .. } => {
            assert_eq!(op, "READ ELEMENT STATUS");
            assert!(
                reason.contains("no complete element descriptor fits"),
                "{reason}"
            );
        }
        e => panic!("{e:?}"),
    }

    // 16 bytes: the element address assignment page itself is cut.
    let l = lib_with(16);
    let (mut c, _) = changer(&l);
    match c.element_map().unwrap_err() {
        DeviceError::Malformed { op, .. } => assert_eq!(op, "MODE SENSE(6)"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn an_offline_drive_keeps_its_element_and_loses_its_device() {
    let lib = lib(SMALL);
    let (mut c, _) = changer(&lib);
    let map = c.element_map().unwrap();
    lib.set_drive_online(500, false).unwrap();
    let s = c.status(&map, true).unwrap();
    let d = s.get(500).unwrap();
    assert_eq!(
        (d.except, d.access, d.asc, d.ascq),
        (true, false, 0x04, 0x12)
    );
    assert_eq!(
        d.device_id.as_ref().and_then(|i| i.serial()).as_deref(),
        Some("DRVA0001")
    );
    let mut src = lib.source();
    assert_eq!(
        src.open("sim:drive:500").unwrap_err().kind(),
        TransportErrorKind::NoDevice
    );
    let err = c.move_medium(1, 1000, 500, false).unwrap_err();
    assert_eq!(sense_of(&err), ("MOVE MEDIUM".into(), 2, 0x04, 0x12));

    // Back online: every initiator's drive sees a power-on reset once.
    lib.set_drive_online(500, true).unwrap();
    let (mut t, log) = open(&mut src, "sim:drive:500");
    t.no_data(&[0; 6], Duration::from_secs(1)).unwrap();
    assert_eq!(log.lock().unwrap()[0].sense, Some((6, 0x29, 0)));
    c.move_medium(1, 1000, 500, false).unwrap();
}

#[test]
fn a_becoming_ready_fault_is_waited_out_or_reported_as_not_ready() {
    // (times the fault fires, ready_wait in ms) → Ok(sleeps of 10 ms) or Err(waited ms)
    let cases: [(u32, u64, Result<u64, u64>); 3] =
        [(1, 100, Ok(10)), (3, 100, Ok(30)), (20, 50, Err(50))];
    for (times, wait, want) in cases {
        let lib = lib(&format!(
            "{SMALL}\n[[fault]]\ncommand = \"MOVE MEDIUM\"\ntimes = {times}\nsense = \"2/04/01\"\n"
        ));
        let (mut c, log) = changer_with(
            &lib,
            ChangerConfig {
                retry: quick(wait),
                ..ChangerConfig::default()
            },
        );
        let got = c.move_medium(1, 1000, 1001, false);
        let ev = c.take_events();
        match (got, want) {
            (Ok(()), Ok(ms)) => {
                assert_eq!(
                    ev,
                    [Event::BecameReady {
                        waited: Duration::from_millis(ms)
                    }],
                    "times {times}"
                );
                assert_eq!(log.lock().unwrap().len() as u32, times + 1);
            }
            (Err(DeviceError::NotReady { op, waited, .. }), Err(ms)) => {
                assert_eq!(op, "MOVE MEDIUM");
                assert_eq!(waited, Duration::from_millis(ms));
                assert!(ev.is_empty());
            }
            (got, want) => panic!("times {times}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_recovered_error_fault_still_executes_the_command() {
    let lib = lib(&format!(
        "{SMALL}\n[[fault]]\ncommand = \"MOVE MEDIUM\"\nsense = \"1/17/01\"\n"
    ));
    let (mut c, _) = changer(&lib);
    let map = c.element_map().unwrap();
    c.move_medium(1, 1000, 1001, false).unwrap();
    let ev = c.take_events();
    assert!(
        matches!(&ev[..], [Event::Recovered(s)] if (s.key.0, s.asc, s.ascq) == (1, 0x17, 0x01)),
        "{ev:?}"
    );
    let s = c.status(&map, true).unwrap();
    assert!(!s.get(1000).unwrap().full, "the move was reported done");
    assert_eq!(
        s.get(1001)
            .and_then(|d| d.primary_tag.as_ref())
            .map(|t| t.identifier.as_str()),
        Some("ABC001L8")
    );
}

#[test]
fn operator_actions_reach_every_initiator_once_and_prevent_locks_them_out() {
    let lib = lib(SMALL);
    let (mut a, _) = changer(&lib);
    let (mut b, _) = changer(&lib);
    let map = a.element_map().unwrap();
    b.element_map().unwrap();
    let ua = |c: &mut Changer<Rec<SimTransport>>| -> Vec<(u8, u8)> {
        c.take_events()
            .iter()
            .filter_map(|e| e.sense().map(|s| (s.asc, s.ascq)))
            .collect()
    };

    // A host holding PREVENT MEDIUM REMOVAL locks the mailslot against the operator.
    a.prevent_allow(true).unwrap();
    assert!(lib.insert("OPR001L8", None).is_err());
    assert!(lib.set_door(true).is_err());
    a.prevent_allow(false).unwrap();

    // Door open: the robot cannot reach the mailslot (02/04/18), its element loses ACCESS.
    lib.set_door(true).unwrap();
    let s = a.status(&map, true).unwrap();
    assert!(!s.import_export[0].access);
    let err = a.move_medium(1, 1000, 10, false).unwrap_err();
    assert_eq!(sense_of(&err), ("MOVE MEDIUM".into(), 2, 0x04, 0x18));
    // The operator puts a cartridge in and closes the door: one 06/28/01 per initiator.
    lib.insert("OPR001L8", Some(10)).unwrap();
    lib.set_door(false).unwrap();
    for c in [&mut a, &mut b] {
        let s = c.status(&map, true).unwrap();
        let ie = &s.import_export[0];
        assert_eq!((ie.full, ie.impexp, ie.access), (true, true, true));
        assert_eq!(ie.primary_tag.as_ref().unwrap().identifier, "OPR001L8");
        let got = ua(c);
        assert!(
            !got.is_empty() && got.iter().all(|&x| x == (0x28, 0x01)),
            "{got:?}"
        );
        c.test_unit_ready().unwrap();
        assert!(ua(c).is_empty(), "once");
    }
    // The host imports it: IMPEXP clears, the source is the mailslot.
    a.move_medium(1, 10, 1001, false).unwrap();
    let s = b.status(&map, true).unwrap();
    let d = s.get(1001).unwrap();
    assert_eq!((d.full, d.impexp, d.source), (true, false, Some(10)));
    assert!(!s.import_export[0].full);
    assert!(
        ua(&mut b).is_empty(),
        "a host's own move is no unit attention"
    );
}

#[test]
fn a_load_by_one_initiator_is_a_medium_change_for_every_other() {
    let lib = lib(SMALL);
    let (mut c, _) = changer(&lib);
    let (mut d1, _) = drive(&lib, 500);
    let (mut d2, _) = drive(&lib, 500);
    c.move_medium(1, 1000, 500, false).unwrap();
    for d in [&mut d1, &mut d2] {
        assert_eq!(d.readiness().unwrap(), Readiness::Ready);
        let ev = d.take_events();
        assert!(
            matches!(&ev[..], [Event::InventoryMayHaveChanged(s)] if (s.asc, s.ascq) == (0x28, 0)),
            "{ev:?}"
        );
        assert_eq!(d.readiness().unwrap(), Readiness::Ready);
        assert!(d.take_events().is_empty());
    }
    // The tape is threaded: the changer cannot take it until a host unloads it.
    let err = c.move_medium(1, 500, 1000, false).unwrap_err();
    assert_eq!(sense_of(&err), ("MOVE MEDIUM".into(), 5, 0x53, 0x02));
    d1.unload(false).unwrap();
    c.move_medium(1, 500, 1000, false).unwrap();
    assert_eq!(d2.readiness().unwrap(), Readiness::NoMedium);
}

#[test]
fn timing_exchange_and_range_inventory_complete_with_the_right_result() {
    let lib = lib(&format!(
        "{SMALL}\n[timing]\nmove_ms = 10\ninventory_ms_per_element = 1\n"
    ));
    let (mut c, _) = changer(&lib);
    let map = c.element_map().unwrap();
    // 1000 → 1002 and 1002's cartridge → 1003.
    c.exchange_medium(1, 1000, 1002, 1003, false, false)
        .unwrap();
    c.initialize_element_status_range(1000, 6).unwrap();
    let s = c.status(&map, true).unwrap();
    let tags: Vec<(u16, Option<&str>, Option<u16>)> = s
        .storage
        .iter()
        .map(|d| {
            (
                d.address,
                d.primary_tag.as_ref().map(|t| t.identifier.as_str()),
                d.source,
            )
        })
        .collect();
    assert_eq!(
        tags,
        [
            (1000, None, None),
            (1001, None, None),
            (1002, Some("ABC001L8"), Some(1000)),
            (1003, Some("ABC002L8"), Some(1002)),
            (1004, None, None),
            (1005, Some("CLN001CU"), None),
        ]
    );
}

// ---- model check: any quirks, any moves -----------------------------------------------------

mod model {
    //! Random quirk combinations and random moves: after every step the driver's view of the
    //! library equals a model that knows only the layout contract.

    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Addresses of [`SMALL`] that can hold a cartridge.
    const PLACES: [u16; 9] = [1000, 1001, 1002, 1003, 1004, 1005, 10, 500, 501];

    #[derive(Debug, Clone)]
    enum Op {
        Move(u16, u16),
        Unload(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..PLACES.len(), 0..PLACES.len()).prop_map(|(a, b)| Op::Move(PLACES[a], PLACES[b])),
            1 => prop_oneof![Just(500u16), Just(501u16)].prop_map(Op::Unload),
        ]
    }

    #[derive(Debug, Clone)]
    struct Quirks {
        barcode_reader: bool,
        dvcid_with_voltag_rejected: bool,
        dvcid_on_non_drive_rejected: bool,
        ignore_element_count: bool,
        allocation_length_16bit: bool,
        volume_tag_length: u8,
        max_allocation_length: u32,
    }

    fn quirks() -> impl Strategy<Value = Quirks> {
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(32u8), Just(36u8)],
            prop_oneof![Just(100u32), Just(200), Just(1024), Just(0xFF_FFFF)],
        )
            .prop_map(|(b, dv, dn, ign, a16, tag, max)| Quirks {
                barcode_reader: b,
                dvcid_with_voltag_rejected: dv,
                dvcid_on_non_drive_rejected: dn,
                ignore_element_count: ign,
                allocation_length_16bit: a16,
                volume_tag_length: tag,
                max_allocation_length: max,
            })
    }

    /// (barcode, source) per address, and which drives have their tape threaded.
    struct Model {
        at: BTreeMap<u16, (&'static str, Option<u16>)>,
        threaded: [bool; 2],
    }

    impl Model {
        fn new() -> Model {
            let mut at = BTreeMap::new();
            for (a, b) in [
                (1000, "ABC001L8"),
                (1002, "ABC002L8"),
                (1005, "CLN001CU"),
                (501, "ABC003L8"),
            ] {
                at.insert(a, (b, None));
            }
            Model {
                at,
                threaded: [false, true],
            }
        }

        /// What MOVE MEDIUM answers: `None` for GOOD, or the sense.
        fn moved(&mut self, a: u16, b: u16) -> Option<(u8, u8, u8)> {
            if !self.at.contains_key(&a) {
                return Some((5, 0x3B, 0x0E));
            }
            if self.at.contains_key(&b) {
                return Some((5, 0x3B, 0x0D));
            }
            if (500..=501).contains(&a) && self.threaded[usize::from(a - 500)] {
                return Some((5, 0x53, 0x02));
            }
            let (bc, _) = self.at.remove(&a).unwrap();
            self.at.insert(b, (bc, Some(a)));
            if (500..=501).contains(&a) {
                self.threaded[usize::from(a - 500)] = false;
            }
            if (500..=501).contains(&b) {
                self.threaded[usize::from(b - 500)] = true;
            }
            None
        }

        fn elements(&self, barcodes: bool) -> Vec<(u16, bool, Option<String>, Option<u16>)> {
            [1u16, 1000, 1001, 1002, 1003, 1004, 1005, 10, 500, 501]
                .iter()
                .map(|&a| match self.at.get(&a) {
                    Some((bc, src)) => (a, true, barcodes.then(|| bc.to_string()), *src),
                    None => (a, false, None, None),
                })
                .collect()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn the_driver_sees_what_the_model_says(q in quirks(), ops in proptest::collection::vec(op(), 1..16)) {
            let text = SMALL.replace(
                "[changer]\n",
                &format!("[changer]\nbarcode_reader = {}\n", q.barcode_reader),
            ) + &format!(
                "\n[quirks]\ndvcid_with_voltag_rejected = {}\ndvcid_on_non_drive_rejected = {}\n\
                 ignore_element_count = {}\nallocation_length_16bit = {}\nvolume_tag_length = {}\n\
                 max_allocation_length = {}\n",
                q.dvcid_with_voltag_rejected,
                q.dvcid_on_non_drive_rejected,
                q.ignore_element_count,
                q.allocation_length_16bit,
                q.volume_tag_length,
                q.max_allocation_length,
            );
            let lib = lib(&text);
            let (mut c, _) = changer(&lib);
            let map = c.element_map().unwrap();
            let mut drives = [drive(&lib, 500).0, drive(&lib, 501).0];
            let mut m = Model::new();
            for op in &ops {
                match *op {
                    Op::Move(a, b) => {
                        let want = m.moved(a, b);
                        let got = c.move_medium(1, a, b, false).err().map(|e| {
                            let (op, k, asc, ascq) = sense_of(&e);
                            assert_eq!(op, "MOVE MEDIUM");
                            (k, asc, ascq)
                        });
                        prop_assert_eq!(got, want, "{:?}", op);
                    }
                    Op::Unload(d) => {
                        let i = usize::from(d - 500);
                        let r = drives[i].unload(false);
                        // A cartridge in the drive: GOOD, threaded or not; none: 02/3A/00.
                        if m.at.contains_key(&d) {
                            prop_assert!(r.is_ok(), "{:?}: {:?}", op, r);
                            m.threaded[i] = false;
                        } else {
                            let e = r.expect_err("unload of an empty drive");
                            prop_assert!(e.is_no_medium(), "{:?}: {:?}", op, e);
                        }
                    }
                }
                let s = c.status(&map, true).unwrap();
                let got: Vec<(u16, bool, Option<String>, Option<u16>)> = s
                    .all()
                    .map(|d| (d.address, d.full, d.primary_tag.as_ref().map(|t| t.identifier.clone()), d.source))
                    .collect();
                prop_assert_eq!(got, m.elements(q.barcode_reader), "after {:?}", op);
                let serials: Vec<Option<String>> = s
                    .data_transfer
                    .iter()
                    .map(|d| d.device_id.as_ref().and_then(|i| i.serial()))
                    .collect();
                prop_assert_eq!(serials, [Some("DRVA0001".to_owned()), Some("DRVB0002".to_owned())]);
            }
        }
    }
}

// ---- drives under a reply limit -------------------------------------------------------------

#[test]
fn a_drive_under_a_reply_limit_continues_its_cartridge_memory_reads() {
    // (max_allocation_length, first attribute of each READ ATTRIBUTE, whole MAM read)
    let cases: [(u32, &[u16], bool); 4] = [
        (0xFF_FFFF, &[0x0000], true),
        (200, &[0x0000], true),
        (64, &[0x0000, 0x0401, 0x0409], true),
        // The 37-byte MEDIUM SERIAL NUMBER attribute never fits: a typed error.
        (40, &[0x0000, 0x0002, 0x0401], false),
    ];
    let full = {
        let lib = lib(SMALL);
        let (mut d, _) = drive(&lib, 501);
        d.read_mam().unwrap().unwrap()
    };
    assert_eq!(full.barcode.as_deref(), Some("ABC003L8"));
    for (max, firsts, whole) in cases {
        let lib = lib(&format!(
            "{SMALL}\n[quirks]\nmax_allocation_length = {max}\n"
        ));
        let (mut d, log) = drive(&lib, 501);
        let id = d.identify().unwrap();
        assert_eq!(id.serial.as_deref(), Some("DRVB0002"), "max {max}");
        log.lock().unwrap().clear();
        let got = d.read_mam();
        let sent: Vec<u16> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.cdb[0] == 0x8C)
            .map(|c| u16::from_be_bytes([c.cdb[8], c.cdb[9]]))
            .collect();
        assert_eq!(sent, firsts, "max {max}");
        match (got, whole) {
            (Ok(Some(mam)), true) => {
                // Every attribute the whole reply has, in the same order, nothing lost.
                assert_eq!(
                    mam.attributes.attributes, full.attributes.attributes,
                    "max {max}"
                );
                assert_eq!(mam.barcode, full.barcode);
                assert_eq!(mam.density_code, full.density_code);
            }
            (Err(DeviceError::Protocol { op, .. }), false) => assert_eq!(op, "READ ATTRIBUTE"),
            (got, _) => panic!("max {max}: got {got:?}"),
        }
    }
}

#[test]
fn a_cut_density_report_is_never_taken_for_the_whole_list() {
    let whole = {
        let lib = lib(SMALL);
        let (mut d, _) = drive(&lib, 501);
        (d.medium_types(false).unwrap(), d.densities(false).unwrap())
    };
    assert_eq!(whole.0.len(), 5);
    for max in [200u32, 40] {
        let lib = lib(&format!(
            "{SMALL}\n[quirks]\nmax_allocation_length = {max}\n"
        ));
        let (mut d, _) = drive(&lib, 501);
        match d.medium_types(false) {
            Ok(v) => assert_eq!(v, whole.0, "max {max}: a partial list"),
            Err(e) => assert!(
                matches!(
                    e,
                    DeviceError::Malformed { .. } | DeviceError::Protocol { .. }
                ),
                "{e:?}"
            ),
        }
        match d.densities(false) {
            Ok(v) => assert_eq!(v, whole.1, "max {max}: a partial list"),
            Err(e) => assert!(
                matches!(
                    e,
                    DeviceError::Malformed { .. } | DeviceError::Protocol { .. }
                ),
                "{e:?}"
            ),
        }
    }
}

// ---- media in drives: incompatible, cleaning, auto_unload -----------------------------------

const MEDIA: &str = r#"
[changer]
serial = "CONFORM03"
transport     = { first = 1,    count = 1 }
storage       = { first = 1000, count = 4 }
import_export = { first = 10,   count = 0 }
data_transfer = { first = 500,  count = 1 }

[[drive]]
serial = "DRVM0001"
generation = "LTO-8"
needs_cleaning = true

[[cartridge]]
barcode  = "OLD001L6"
location = "slot:1000"

[[cartridge]]
barcode  = "CLN001CU"
location = "slot:1001"

[[cartridge]]
barcode  = "NEW001L8"
location = "slot:1002"
"#;

#[test]
fn what_a_drive_says_about_the_medium_the_changer_put_in() {
    let lib = lib(MEDIA);
    let (mut c, _) = changer(&lib);
    let (mut d, _) = drive(&lib, 500);
    let mut step = |c: &mut Changer<Rec<SimTransport>>, from: u16, to: u16| {
        c.move_medium(1, from, to, false).unwrap();
        let r = d.readiness().unwrap();
        let _ = d.take_events();
        let alerts = d.tape_alerts().unwrap();
        // LTO drives thread whatever the changer puts in; the host unloads it.
        d.unload(false).unwrap();
        c.move_medium(1, to, from, false).unwrap();
        (r, alerts.needs_cleaning())
    };
    // An LTO-6 cartridge in an LTO-8 drive: the move succeeds, the drive says 30/00.
    let (r, dirty) = step(&mut c, 1000, 500);
    match r {
        Readiness::IncompatibleMedium(s) => assert_eq!((s.asc, s.ascq), (0x30, 0x00)),
        r => panic!("{r:?}"),
    }
    assert!(
        dirty,
        "the layout says the drive needs cleaning: TapeAlert CLEAN NOW"
    );
    // The cleaning cartridge: 30/03, and it cleans the drive.
    let (r, dirty) = step(&mut c, 1001, 500);
    assert_eq!(r, Readiness::CleaningCartridge);
    assert!(!dirty, "cleaned");
    // An LTO-8 cartridge: ready.
    let (r, dirty) = step(&mut c, 1002, 500);
    assert_eq!(r, Readiness::Ready);
    assert!(!dirty);
}

#[test]
fn auto_unload_lets_the_changer_take_a_loaded_tape() {
    // (auto_unload, what MOVE MEDIUM out of a drive with its tape threaded answers)
    for (auto, want) in [(false, Some((5u8, 0x53u8, 0x02u8))), (true, None)] {
        let lib = lib(&format!("{SMALL}\n[quirks]\nauto_unload = {auto}\n"));
        let (mut c, _) = changer(&lib);
        let got = c.move_medium(1, 501, 1001, false).err().map(|e| {
            let (op, k, a, q) = sense_of(&e);
            assert_eq!(op, "MOVE MEDIUM");
            (k, a, q)
        });
        assert_eq!(got, want, "auto_unload = {auto}");
        let (mut d, _) = drive(&lib, 501);
        let r = d.readiness().unwrap();
        assert_eq!(r.is_ready(), !auto, "auto_unload = {auto}: {r:?}");
    }
}

#[test]
fn a_cut_tape_alert_page_is_never_taken_for_no_alerts() {
    let lib = lib(&format!("{MEDIA}\n[quirks]\nmax_allocation_length = 64\n"));
    let (mut d, _) = drive(&lib, 500);
    match d.tape_alerts() {
        Ok(a) => assert!(a.needs_cleaning(), "{a:?}"),
        Err(e) => assert!(
            matches!(
                e,
                DeviceError::Malformed { .. } | DeviceError::Protocol { .. }
            ),
            "{e:?}"
        ),
    }
}
