//! The mtx front against element-status models: status text byte for byte, mtx's numbering,
//! the request-sense block, and every command's stdout, stderr and exit status over a fake
//! library that records what it is asked.

use std::cell::RefCell;
use std::rc::Rc;

use reel_hw::sense::{FieldPointer, Sense, SenseKey};

use super::args::parse;
use super::library::{Exchange, Inquiry, Library, LibraryError, Move, ViewError};
use super::run::{run, Opener, Output, USAGE};
use super::sense::block;
use super::status::render;
use super::view::{Empty, NoHomes, View};
use crate::changer::LibraryStatus;
use crate::scsi::read_element_status::{ElementDescriptor, ElementType, MediumType};

// ---- element-status models ---------------------------------------------------------------------

/// A descriptor: `tag` is the 32-byte identifier field as the changer sent it (shorter input is
/// padded with spaces, as SMC pads; `None`: the page carries no tags).
fn el(
    ty: u8,
    address: u16,
    full: bool,
    source: Option<u16>,
    tag: Option<&[u8]>,
) -> ElementDescriptor {
    ElementDescriptor {
        element_type: ElementType(ty),
        address,
        full,
        impexp: false,
        except: false,
        access: true,
        export_enabled: ty == 3,
        import_enabled: ty == 3,
        asc: 0,
        ascq: 0,
        disabled: false,
        invert: false,
        medium_type: if full {
            MediumType::DATA
        } else {
            MediumType::UNSPECIFIED
        },
        source,
        primary_tag: None,
        primary_tag_bytes: tag.map(|t| {
            let mut b = [b' '; 32];
            let n = t.len().min(32);
            b[..n].copy_from_slice(&t[..n]);
            b
        }),
        alternate_tag: None,
        device_id: None,
        dvcid_truncated: false,
        tag_truncated: false,
    }
}

/// A tag field of 32 bytes exactly as given (no padding added).
fn raw(t: &[u8]) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..t.len()].copy_from_slice(t);
    b
}

fn slot(a: u16, tag: Option<&str>) -> ElementDescriptor {
    el(2, a, tag.is_some(), None, tag.map(str::as_bytes))
}

fn blank_slot(a: u16) -> ElementDescriptor {
    // An empty element whose tag field is zeros (the simulator, most changers).
    let mut d = el(2, a, false, None, None);
    d.primary_tag_bytes = Some([0; 32]);
    d
}

fn ie(a: u16, tag: Option<&str>) -> ElementDescriptor {
    el(3, a, tag.is_some(), None, tag.map(str::as_bytes))
}

fn drive(a: u16, loaded: Option<(&str, Option<u16>)>) -> ElementDescriptor {
    match loaded {
        Some((t, src)) => el(4, a, true, src, Some(t.as_bytes())),
        None => {
            let mut d = el(4, a, false, None, None);
            d.primary_tag_bytes = Some([0; 32]);
            d
        }
    }
}

fn lib(
    storage: Vec<ElementDescriptor>,
    import_export: Vec<ElementDescriptor>,
    data_transfer: Vec<ElementDescriptor>,
) -> LibraryStatus {
    LibraryStatus {
        transports: vec![el(1, 1, false, None, None)],
        storage,
        import_export,
        data_transfer,
    }
}

/// mtx-front.md §3's example library.
fn spec_example() -> LibraryStatus {
    let mut s = lib(
        vec![
            slot(1000, Some("ABC001L8")),
            blank_slot(1001),
            blank_slot(1002),
            slot(1003, None),
        ],
        vec![ie(10, Some("ABC005L8")), ie(11, None)],
        vec![drive(500, Some(("ABC003L8", Some(1002)))), drive(501, None)],
    );
    // Exactly the spec's tags: no padding in the field (NUL after the identifier).
    s.storage[0].primary_tag_bytes = Some(raw(b"ABC001L8"));
    s.storage[3].full = true;
    s.storage[3].primary_tag_bytes = Some([0; 32]);
    s.import_export[0].primary_tag_bytes = Some(raw(b"ABC005L8"));
    s.import_export[1].primary_tag_bytes = Some([0; 32]);
    s.data_transfer[0].primary_tag_bytes = Some(raw(b"ABC003L8"));
    s
}

fn view(s: &LibraryStatus) -> View {
    View::new(s, 1, &NoHomes).unwrap()
}

#[test]
fn status_text_is_byte_exact() {
    let pad = |t: &str| format!("{t:<32}");
    let tgt_like = lib(
        vec![
            slot(1000, Some("REL001L8")),
            el(2, 1001, false, None, Some(b"")),
            slot(1002, Some("CLN001L1")),
        ],
        vec![ie(10, Some("REL010L8"))],
        vec![drive(500, Some(("REL002L8", Some(1001)))), drive(501, None)],
    );
    let cases: Vec<(&str, LibraryStatus, bool, String)> = vec![
        (
            "the spec's example (§3)",
            spec_example(),
            true,
            "  Storage Changer /dev/sg3:2 Drives, 6 Slots ( 2 Import/Export )\n\
             Data Transfer Element 0:Full (Storage Element 3 Loaded):VolumeTag = ABC003L8\n\
             Data Transfer Element 1:Empty\n      \
             Storage Element 1:Full :VolumeTag=ABC001L8\n      \
             Storage Element 2:Empty\n      \
             Storage Element 3:Empty\n      \
             Storage Element 4:Full \n      \
             Storage Element 5 IMPORT/EXPORT:Full :VolumeTag=ABC005L8\n      \
             Storage Element 6 IMPORT/EXPORT:Empty\n"
                .to_owned(),
        ),
        (
            "nobarcode: the same without any tag",
            spec_example(),
            false,
            "  Storage Changer /dev/sg3:2 Drives, 6 Slots ( 2 Import/Export )\n\
             Data Transfer Element 0:Full (Storage Element 3 Loaded)\n\
             Data Transfer Element 1:Empty\n      \
             Storage Element 1:Full \n      \
             Storage Element 2:Empty\n      \
             Storage Element 3:Empty\n      \
             Storage Element 4:Full \n      \
             Storage Element 5 IMPORT/EXPORT:Full \n      \
             Storage Element 6 IMPORT/EXPORT:Empty\n"
                .to_owned(),
        ),
        (
            // tgt pads every tag field with spaces, empty elements' too; mtx prints them all.
            "space-padded tags, blank tags on empty slots (tgt)",
            tgt_like,
            true,
            format!(
                "  Storage Changer /dev/sg3:2 Drives, 4 Slots ( 1 Import/Export )\n\
                 Data Transfer Element 0:Full (Storage Element 2 Loaded):VolumeTag = {}\n\
                 Data Transfer Element 1:Empty\n      \
                 Storage Element 1:Full :VolumeTag={}\n      \
                 Storage Element 2:Empty:VolumeTag={}\n      \
                 Storage Element 3:Full :VolumeTag={}\n      \
                 Storage Element 4 IMPORT/EXPORT:Full :VolumeTag={}\n",
                pad("REL002L8"),
                pad("REL001L8"),
                pad(""),
                pad("CLN001L1"),
                pad("REL010L8")
            ),
        ),
    ];
    for (what, s, barcodes, want) in cases {
        let got = render("/dev/sg3", &view(&s), barcodes);
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn volume_tags_end_where_mtx_ends_them() {
    // (tag field, printed)
    let cases: &[(&[u8], &str)] = &[
        (b"ABC001L8", "ABC001L8"),
        (b"ABC\x1fDEF", "ABC"),
        (b"ABC\x7fDEF", "ABC\x7fDEF"),
        (b"ABC\x80DEF", "ABC"),
        (b"  LEAD", "  LEAD"),
        (b"", ""),
        (&[b'X'; 32], "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ];
    for (field, want) in cases {
        let mut d = el(2, 1000, true, None, None);
        d.primary_tag_bytes = Some(raw(field));
        assert_eq!(super::view::tag_text(&d), *want, "{field:?}");
    }
}

/// The source slot each drive shows, by mtx's two passes.
#[test]
fn drive_sources_follow_mtx_two_passes() {
    let full_drive = |a: u16, src: Option<u16>| drive(a, Some(("T", src)));
    // (what, storage, import/export, drives, homes, the slot numbers printed)
    type Case = (
        &'static str,
        Vec<ElementDescriptor>,
        Vec<ElementDescriptor>,
        Vec<ElementDescriptor>,
        Vec<(u16, u16)>,
        Vec<Option<usize>>,
    );
    let cases: Vec<Case> = vec![
        (
            "SVALID names an empty slot",
            vec![slot(1000, Some("A")), slot(1001, None)],
            vec![],
            vec![full_drive(500, Some(1001))],
            vec![],
            vec![Some(2)],
        ),
        (
            "SVALID names an empty import/export slot",
            vec![slot(1000, Some("A"))],
            vec![ie(10, None)],
            vec![full_drive(500, Some(10))],
            vec![],
            vec![Some(2)],
        ),
        (
            "SVALID names a full slot: mtx's guess, the first empty storage slot",
            vec![slot(1000, Some("A")), slot(1001, None), slot(1002, None)],
            vec![],
            vec![full_drive(500, Some(1000))],
            vec![],
            vec![Some(2)],
        ),
        (
            "no SVALID: the guess never hands one slot to two drives",
            vec![slot(1000, None), slot(1001, None), slot(1002, Some("A"))],
            vec![ie(10, None)],
            vec![
                full_drive(500, Some(1000)),
                full_drive(501, None),
                full_drive(502, None),
            ],
            vec![],
            vec![Some(1), Some(2), None],
        ),
        (
            "no empty storage slot left: truly unknown (I/E slots are never guessed)",
            vec![slot(1000, Some("A"))],
            vec![ie(10, None)],
            vec![full_drive(500, None)],
            vec![],
            vec![None],
        ),
        (
            "the daemon's record of the home comes before the changer's",
            vec![slot(1000, None), slot(1001, None)],
            vec![],
            vec![full_drive(500, Some(1000))],
            vec![(500, 1001)],
            vec![Some(2)],
        ),
    ];
    for (what, storage, ies, drives, homes, want) in cases {
        let s = lib(storage, ies, drives);
        let homes = move |d: u16| homes.iter().find(|h| h.0 == d).map(|h| h.1);
        let v = View::new(&s, 1, &homes).unwrap();
        let got: Vec<Option<usize>> = v.drives.iter().map(|d| d.source.map(|i| i + 1)).collect();
        assert_eq!(got, want, "{what}");
        let text = render("X", &v, true);
        for (n, w) in want.iter().enumerate() {
            let line = match w {
                Some(k) => format!("Data Transfer Element {n}:Full (Storage Element {k} Loaded)"),
                None => format!("Data Transfer Element {n}:Full (Unknown Storage Element Loaded)"),
            };
            assert!(text.contains(&line), "{what}: {line}\n{text}");
        }
    }
}

#[test]
fn numbering_leaves_out_what_mtx_leaves_out() {
    let mut absent_bay = drive(501, None);
    (absent_bay.asc, absent_bay.ascq) = (0x83, 0x04);
    let mut absent_slot = slot(1001, None);
    (absent_slot.asc, absent_slot.ascq) = (0x83, 0x02);
    let s = lib(
        vec![slot(1000, Some("A")), absent_slot, slot(1002, None)],
        vec![ie(10, None)],
        vec![drive(500, None), absent_bay, drive(502, None)],
    );
    let v = view(&s);
    let slots: Vec<u16> = v.slots.iter().map(|s| s.address).collect();
    let drives: Vec<u16> = v.drives.iter().map(|d| d.address).collect();
    assert_eq!(slots, [1000, 1002, 10]);
    assert_eq!(drives, [500, 502]);
    assert_eq!((v.storage_count(), v.import_export_count()), (2, 1));
    assert_eq!(
        View::new(&lib(vec![slot(1000, None)], vec![], vec![]), 1, &NoHomes),
        Err(Empty::NoDrives)
    );
    assert_eq!(
        View::new(&lib(vec![], vec![], vec![drive(500, None)]), 1, &NoHomes),
        Err(Empty::NoSlots)
    );
}

// ---- the request-sense block -------------------------------------------------------------------

#[test]
fn request_sense_block_is_mtx_s() {
    let lines = |v: &[&str]| {
        v.iter()
            .map(|l| format!("mtx: Request Sense: {l}\n"))
            .collect::<String>()
    };
    let cases: Vec<(Sense, String)> = vec![
        (
            // What tgt's changer answered to EXCHANGE MEDIUM in the lab, as mtx printed it.
            Sense::new(SenseKey::ILLEGAL_REQUEST, 0x20, 0x00),
            lines(&[
                "Long Report=yes",
                "Valid Residual=no",
                "Error Code=70 (Current)",
                "Sense Key=Illegal Request",
                "FileMark=no",
                "EOM=no",
                "ILI=no",
                "Additional Sense Code = 20",
                "Additional Sense Qualifier = 00",
                "BPV=no",
                "Error in CDB=no",
                "SKSV=no",
            ]),
        ),
        (
            Sense::new(SenseKey::HARDWARE_ERROR, 0x15, 0x01)
                .deferred()
                .with_information(0x0102_0304),
            lines(&[
                "Long Report=yes",
                "Valid Residual=yes",
                "Error Code=71 (Deferred)",
                "Sense Key=Hardware Error",
                "FileMark=no",
                "EOM=no",
                "ILI=no",
                "Residual = 01 02 03 04",
                "Additional Sense Code = 15",
                "Additional Sense Qualifier = 01",
                "BPV=no",
                "Error in CDB=no",
                "SKSV=no",
            ]),
        ),
        (
            Sense::new(SenseKey::ILLEGAL_REQUEST, 0x24, 0x00)
                .with_field_pointer(FieldPointer::cdb(7).with_bit(4)),
            lines(&[
                "Long Report=yes",
                "Valid Residual=no",
                "Error Code=70 (Current)",
                "Sense Key=Illegal Request",
                "FileMark=no",
                "EOM=no",
                "ILI=no",
                "Additional Sense Code = 24",
                "Additional Sense Qualifier = 00",
                "Field in Error = 04",
                "BPV=yes",
                "Error in CDB=yes",
                "SKSV=yes",
                "Field Pointer = 00 07",
            ]),
        ),
        (
            Sense::new(SenseKey(0x9), 0x80, 0x01).with_stream_flags(true, true, true),
            lines(&[
                "Long Report=yes",
                "Valid Residual=no",
                "Error Code=70 (Current)",
                "Sense Key=0x09",
                "FileMark=yes",
                "EOM=yes",
                "ILI=yes",
                "Additional Sense Code = 80",
                "Additional Sense Qualifier = 01",
                "BPV=no",
                "Error in CDB=no",
                "SKSV=no",
            ]),
        ),
    ];
    for (sense, want) in cases {
        assert_eq!(block(&sense), want, "{sense:?}");
    }
}

// ---- commands over a fake library --------------------------------------------------------------

type Log = Rc<RefCell<Vec<String>>>;

/// A library whose element status is `status`, kept up to date by its moves.
struct Fake {
    status: LibraryStatus,
    log: Log,
    /// The next move fails with this.
    fail_move: Option<LibraryError>,
    fail_view: Option<LibraryError>,
    fail_other: Option<LibraryError>,
    load_warning: Option<String>,
}

impl Fake {
    fn new(status: LibraryStatus, log: &Log) -> Fake {
        Fake {
            status,
            log: log.clone(),
            fail_move: None,
            fail_view: None,
            fail_other: None,
            load_warning: None,
        }
    }

    fn element(&mut self, a: u16) -> &mut ElementDescriptor {
        let s = &mut self.status;
        s.storage
            .iter_mut()
            .chain(s.import_export.iter_mut())
            .chain(s.data_transfer.iter_mut())
            .find(|d| d.address == a)
            .expect("element")
    }

    fn other(&mut self, what: String) -> Result<(), LibraryError> {
        self.log.borrow_mut().push(what);
        self.fail_other.take().map_or(Ok(()), Err)
    }
}

impl Library for Fake {
    fn view(&mut self, barcodes: bool) -> Result<View, ViewError> {
        self.log
            .borrow_mut()
            .push(format!("view barcodes={barcodes}"));
        if let Some(e) = self.fail_view.take() {
            return Err(ViewError::Library(e));
        }
        View::new(&self.status, 1, &NoHomes).map_err(ViewError::Empty)
    }

    fn inquiry(&mut self) -> Result<Inquiry, LibraryError> {
        self.other("inquiry".into())?;
        let mut b = vec![0u8; 36];
        b[0] = 0x08;
        b[8..36].copy_from_slice(b"STK     L80             0105");
        Ok(Inquiry::from_bytes(&b).unwrap())
    }

    fn check_load(&mut self, from: u16, drive: u16) -> Vec<String> {
        self.log
            .borrow_mut()
            .push(format!("check_load {from} {drive}"));
        self.load_warning.take().into_iter().collect()
    }

    fn unload_drive(&mut self, drive: u16) -> Vec<String> {
        self.log.borrow_mut().push(format!("unload_drive {drive}"));
        Vec::new()
    }

    fn move_medium(&mut self, m: &Move) -> Result<(), LibraryError> {
        self.log.borrow_mut().push(format!(
            "move {} {} {} invert={} eepos={}",
            m.transport, m.from, m.to, m.invert, m.eepos
        ));
        if let Some(e) = self.fail_move.take() {
            return Err(e);
        }
        // As a changer answers: 3B/0E source empty, 3B/0D destination full.
        let refuse = |ascq: u8| LibraryError::Check {
            sense: Sense::new(SenseKey::ILLEGAL_REQUEST, 0x3B, ascq),
            message: "MOVE MEDIUM failed".into(),
        };
        if !self.element(m.from).full {
            return Err(refuse(0x0E));
        }
        if self.element(m.to).full {
            return Err(refuse(0x0D));
        }
        let from = self.element(m.from);
        from.full = false;
        let tag = from.primary_tag_bytes.take();
        let to = self.element(m.to);
        to.full = true;
        to.primary_tag_bytes = tag;
        to.source = Some(m.from);
        Ok(())
    }

    fn exchange_medium(&mut self, x: &Exchange) -> Result<(), LibraryError> {
        self.other(format!(
            "exchange {} {} {} inv1={} inv2={}",
            x.source, x.first, x.second, x.invert_first, x.invert_second
        ))
    }

    fn position(&mut self, transport: u16, to: u16, invert: bool) -> Result<(), LibraryError> {
        self.other(format!("position {transport} {to} {invert}"))
    }

    fn initialize(&mut self) -> Result<(), LibraryError> {
        self.other("initialize".into())
    }

    fn eject(&mut self) -> Result<(), LibraryError> {
        self.other("eject".into())
    }
}

/// Hands out one fake per open, logging the device name.
struct FakeOpener {
    fake: Option<Fake>,
    log: Log,
}

impl Opener for FakeOpener {
    fn open(&mut self, dev: &str) -> Result<Box<dyn Library>, String> {
        self.log.borrow_mut().push(format!("open {dev}"));
        if dev == "/dev/nothing" {
            return Err("/dev/nothing: No such file or directory".into());
        }
        match self.fake.take() {
            Some(f) => Ok(Box::new(f)),
            None => Err("opened twice".into()),
        }
    }
}

/// What one run printed and did.
#[derive(Debug)]
struct Ran {
    code: u8,
    stdout: String,
    stderr: String,
    log: Vec<String>,
}

fn mtx_with(fake: impl FnOnce(&Log) -> Fake, argv: &str, env: &[(&str, &str)]) -> Ran {
    let log = Log::default();
    let mut opener = FakeOpener {
        fake: Some(fake(&log)),
        log: log.clone(),
    };
    let (mut so, mut se) = (Vec::new(), Vec::new());
    let mut out = Output {
        stdout: &mut so,
        stderr: &mut se,
        name: "mtx",
    };
    let args: Vec<&str> = argv.split_whitespace().collect();
    let env_lookup = |k: &str| env.iter().find(|e| e.0 == k).map(|e| e.1.to_owned());
    let code = run(&parse(&args), &mut opener, &env_lookup, &mut out);
    let log = log.borrow().clone();
    Ran {
        code,
        stdout: String::from_utf8(so).unwrap(),
        stderr: String::from_utf8(se).unwrap(),
        log,
    }
}

/// Slots 1000..1003 (1, 2 full), I/E 10 (full), drives 500 (loaded from 1002) and 501.
fn small() -> LibraryStatus {
    lib(
        vec![
            slot(1000, Some("A1")),
            slot(1001, Some("A2")),
            slot(1002, None),
            slot(1003, None),
        ],
        vec![ie(10, Some("IE1"))],
        vec![drive(500, Some(("A3", Some(1002)))), drive(501, None)],
    )
}

fn mtx(argv: &str) -> Ran {
    mtx_with(|l| Fake::new(small(), l), argv, &[])
}

#[test]
fn moves_print_what_mtx_prints_and_send_what_they_should() {
    // (command line, exit, stdout, stderr, calls after open and view)
    let cases: &[(&str, u8, &str, &str, &[&str])] = &[
        (
            "-f D load 1 1",
            0,
            "Loading media from Storage Element 1 into drive 1...done\n",
            "",
            &[
                "check_load 1000 501",
                "move 1 1000 501 invert=false eepos=0",
            ],
        ),
        (
            // Unload: the drive is unloaded first, then the cartridge goes to its source.
            "-f D unload",
            0,
            "Unloading drive 0 into Storage Element 3...done\n",
            "",
            &["unload_drive 500", "move 1 500 1002 invert=false eepos=0"],
        ),
        (
            "-f D unload 4 0",
            0,
            "Unloading drive 0 into Storage Element 4...done\n",
            "",
            &["unload_drive 500", "move 1 500 1003 invert=false eepos=0"],
        ),
        (
            "-f D transfer 2 4",
            0,
            "",
            "",
            &["move 1 1001 1003 invert=false eepos=0"],
        ),
        (
            "-f D invert eepos 2 transfer 5 4",
            0,
            "",
            "",
            &["move 1 10 1003 invert=true eepos=2"],
        ),
        (
            // Several commands in order, the second seeing the first's move.
            "-f D unload 3 0 load 2 0",
            0,
            "Unloading drive 0 into Storage Element 3...done\n\
             Loading media from Storage Element 2 into drive 0...done\n",
            "",
            &[
                "unload_drive 500",
                "move 1 500 1002 invert=false eepos=0",
                "check_load 1001 500",
                "move 1 1001 500 invert=false eepos=0",
            ],
        ),
        (
            "-f D load 2 1 unload 0 1",
            1,
            "Loading media from Storage Element 2 into drive 1...done\n",
            "mtx: illegal <storage-element-number> argument '0' to 'unload' command\n",
            &[
                "check_load 1001 501",
                "move 1 1001 501 invert=false eepos=0",
            ],
        ),
        (
            // The load's source is remembered: `unload` with no slot takes it back there.
            "-f D unload 3 0 load 2 0 unload",
            0,
            "Unloading drive 0 into Storage Element 3...done\n\
             Loading media from Storage Element 2 into drive 0...done\n\
             Unloading drive 0 into Storage Element 2...done\n",
            "",
            &[
                "unload_drive 500",
                "move 1 500 1002 invert=false eepos=0",
                "check_load 1001 500",
                "move 1 1001 500 invert=false eepos=0",
                "unload_drive 500",
                "move 1 500 1001 invert=false eepos=0",
            ],
        ),
        (
            "-f D exchange 1 4",
            0,
            "",
            "",
            &["exchange 1000 1003 1000 inv1=false inv2=false"],
        ),
        (
            "-f D invert2 exchange 1 4 2",
            0,
            "",
            "",
            &["exchange 1000 1003 1001 inv1=true inv2=false"],
        ),
        ("-f D position 4", 0, "", "", &["position 1 1003 false"]),
        ("-f D position 99", 0, "", "", &["position 1 1000 false"]),
        (
            // first: the drive holds slot 3's cartridge; back it goes, then slot 1.
            "-f D first",
            0,
            "Unloading drive 0 into Storage Element 3...done\n\
             Loading media from Storage Element 1 into drive 0...done\n",
            "",
            &[
                "unload_drive 500",
                "move 1 500 1002 invert=false eepos=0",
                "check_load 1000 500",
                "move 1 1000 500 invert=false eepos=0",
            ],
        ),
        (
            // next skips empty slots and import/export slots: after slot 3 nothing is left.
            "-f D next",
            1,
            "Unloading drive 0 into Storage Element 3...done\n",
            "mtx: No More Media\n",
            &["unload_drive 500", "move 1 500 1002 invert=false eepos=0"],
        ),
        (
            "-f D next 1",
            0,
            "Loading media from Storage Element 1 into drive 1...done\n",
            "",
            &[
                "check_load 1000 501",
                "move 1 1000 501 invert=false eepos=0",
            ],
        ),
        (
            // last: the last storage slot (4), never the import/export slot.
            "-f D last 1",
            1,
            "Loading media from Storage Element 4 into drive 1...",
            "mtx: Source Element Address 1003 is Empty\n",
            &[
                "check_load 1003 501",
                "move 1 1003 501 invert=false eepos=0",
            ],
        ),
        (
            "-f D previous",
            0,
            "Unloading drive 0 into Storage Element 3...done\n\
             Loading media from Storage Element 2 into drive 0...done\n",
            "",
            &[
                "unload_drive 500",
                "move 1 500 1002 invert=false eepos=0",
                "check_load 1001 500",
                "move 1 1001 500 invert=false eepos=0",
            ],
        ),
        (
            "-f D previous 1",
            0,
            "Loading media from Storage Element 2 into drive 1...done\n",
            "",
            &[
                "check_load 1001 501",
                "move 1 1001 501 invert=false eepos=0",
            ],
        ),
        ("-f D inventory", 0, "", "", &["initialize"]),
        ("-f D eject", 0, "", "", &["eject"]),
        ("-f D altres noattach nobarcode", 0, "", "", &[]),
    ];
    for (argv, code, stdout, stderr, calls) in cases {
        let r = mtx(argv);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (*code, *stdout, *stderr),
            "{argv}: {r:?}"
        );
        let mut want = vec!["open D".to_owned()];
        if !argv.ends_with("nobarcode") && !argv.ends_with("inventory") && !argv.ends_with("eject")
        {
            want.push("view barcodes=true".into());
        }
        want.extend(calls.iter().map(|c| (*c).to_owned()));
        assert_eq!(r.log, want, "{argv}");
    }
}

#[test]
fn command_errors_are_mtx_s_words_and_exit_1() {
    // (command line, stderr); stdout is empty and nothing moves in each.
    let cases: &[(&str, &str)] = &[
        ("-f D load", "mtx: No source specified\n"),
        ("-f D load 0", "mtx: No source specified\n"),
        ("-f D load 6 1", "mtx: Invalid <storage-element-number> argument '6' to 'load' command\n"),
        ("-f D load 1 2", "mtx: illegal <drive-number> argument '2' to 'load' command\n"),
        ("-f D load 1 0", "mtx: Drive 0 Full (Storage Element 3 loaded)\n"),
        ("-f D unload 2 1", "mtx: Data Transfer Element 1 is Empty\n"),
        ("-f D unload 1 0", "mtx: Storage Element 1 is Already Full\n"),
        ("-f D unload 9 0", "mtx: illegal <storage-element-number> argument '9' to 'unload' command\n"),
        ("-f D unload 3 7", "mtx: illegal <drive-number> argument '7' to 'unload' command\n"),
        ("-f D unload", ""),
        ("-f D transfer", "mtx: No source specified\n"),
        ("-f D transfer 1", "mtx: No destination specified\n"),
        ("-f D transfer 6 1", "mtx: Invalid source\n"),
        ("-f D transfer 1 6", "mtx: Invalid destination\n"),
        ("-f D exchange 1 6", "mtx: Invalid destination\n"),
        ("-f D eepos 4", "mtx: eepos equires argument between 0 and 3.\n"),
        ("-f D previous 1 previous 1 previous 1", ""),
        ("-f /dev/nothing status", "mtx: cannot open SCSI device '/dev/nothing' - /dev/nothing: No such file or directory\n"),
    ];
    for (argv, stderr) in cases {
        if stderr.is_empty() {
            continue;
        }
        let r = mtx(argv);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (1, "", *stderr),
            "{argv}"
        );
        assert!(
            !r.log.iter().any(|l| l.starts_with("move")),
            "{argv}: {:?}",
            r.log
        );
    }
    let r = mtx_with(
        |l| {
            Fake::new(
                lib(vec![slot(1000, None)], vec![], vec![drive(500, None)]),
                l,
            )
        },
        "-f D unload",
        &[],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "mtx: No Source for tape in drive 0!\n")
    );
    let r = mtx("-f D bogus");
    assert_eq!((r.code, r.stderr.as_str()), (1, USAGE));
    let r = mtx("--version");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with("mtx version 1.3.12 (reel "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.ends_with(&format!(")\n\n{USAGE}")), "{}", r.stderr);
}

#[test]
fn move_failures_by_sense() {
    let check = |key: SenseKey, asc: u8, ascq: u8| LibraryError::Check {
        sense: Sense::new(key, asc, ascq),
        message: "MOVE MEDIUM on sim:changer failed".into(),
    };
    let nr = SenseKey::NOT_READY;
    let ir = SenseKey::ILLEGAL_REQUEST;
    // (failure of `load 1 1`, stderr after the request-sense block, whether a block comes first)
    let cases: Vec<(LibraryError, &str, bool)> = vec![
        (
            check(ir, 0x30, 0x03),
            "mtx: Cleaning Cartridge Installed and Ejected\n",
            false,
        ),
        (
            check(nr, 0x3A, 0x00),
            "mtx: Drive needs offline before move\n",
            false,
        ),
        (
            check(ir, 0x3B, 0x0D),
            "mtx: Destination Element Address 501 is Already Full\n",
            false,
        ),
        (
            check(ir, 0x3B, 0x0E),
            "mtx: Source Element Address 1000 is Empty\n",
            false,
        ),
        (
            check(SenseKey::HARDWARE_ERROR, 0x15, 0x01),
            "mtx: MOVE MEDIUM from Element Address 1000 to 501 Failed\n",
            true,
        ),
        (
            LibraryError::Other("MOVE MEDIUM on /dev/sg3 failed: timed out".into()),
            "mtx: MOVE MEDIUM on /dev/sg3 failed: timed out\n\
             mtx: MOVE MEDIUM from Element Address 1000 to 501 Failed\n",
            false,
        ),
    ];
    for (e, tail, with_block) in cases {
        let sense = e.sense().cloned();
        let r = mtx_with(
            |l| {
                let mut f = Fake::new(small(), l);
                f.fail_move = Some(e);
                f
            },
            "-f D load 1 1 transfer 2 4",
            &[],
        );
        assert_eq!(
            r.stdout,
            "Loading media from Storage Element 1 into drive 1..."
        );
        let want = match (&sense, with_block) {
            (Some(s), true) => format!("{}{tail}", block(s)),
            _ => tail.to_owned(),
        };
        assert_eq!((r.code, r.stderr.as_str()), (1, want.as_str()), "{sense:?}");
        // Bacula retries only while stderr holds `Error Code=`: exactly the failures with a block.
        assert_eq!(r.stderr.contains("Error Code="), with_block, "{}", r.stderr);
        // The failure ended the line: the transfer never ran.
        assert_eq!(
            r.log.iter().filter(|l| l.starts_with("move")).count(),
            1,
            "{:?}",
            r.log
        );
    }
}

#[test]
fn read_failures_and_empty_libraries() {
    let sense = Sense::new(SenseKey::NOT_READY, 0x04, 0x12);
    let r = mtx_with(
        |l| {
            let mut f = Fake::new(small(), l);
            f.fail_view = Some(LibraryError::Check {
                sense: sense.clone(),
                message: String::new(),
            });
            f
        },
        "-f D status",
        &[],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!("{}mtx: READ ELEMENT STATUS Command Failed\n", block(&sense))
    );
    assert!(r
        .stderr
        .contains("mtx: Request Sense: Sense Key=Not Ready\n"));
    let r = mtx_with(
        |l| Fake::new(lib(vec![slot(1000, None)], vec![], vec![]), l),
        "-f D status",
        &[],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "mtx: no Data Transfer Element reported\n")
    );
    let r = mtx_with(
        |l| {
            let mut f = Fake::new(small(), l);
            f.fail_other = Some(LibraryError::Other("x".into()));
            f
        },
        "-f D inventory status",
        &[],
    );
    assert_eq!(
        (r.code, r.stderr.as_str(), r.stdout.as_str()),
        (1, "mtx:inventory failed\n", "")
    );
    // eject: reported, exit 0, and the line goes on.
    let ir = Sense::new(SenseKey::ILLEGAL_REQUEST, 0x20, 0x00);
    let r = mtx_with(
        |l| {
            let mut f = Fake::new(small(), l);
            f.fail_other = Some(LibraryError::Check {
                sense: ir.clone(),
                message: String::new(),
            });
            f
        },
        "-f D eject transfer 1 4",
        &[],
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stderr,
        format!("{}Eject (0x1B) failed\nmtx:eject failed\n", block(&ir))
    );
    assert!(
        r.log.iter().any(|l| l.starts_with("move 1 1000 1003")),
        "{:?}",
        r.log
    );
    let r = mtx_with(
        |l| {
            let mut f = Fake::new(small(), l);
            f.fail_other = Some(LibraryError::Check {
                sense: ir.clone(),
                message: String::new(),
            });
            f
        },
        "-f D position 2",
        &[],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "mtx: Could not position transport\n")
    );
}

#[test]
fn a_load_the_drive_cannot_read_moves_after_a_warning() {
    let r = mtx_with(
        |l| {
            let mut f = Fake::new(small(), l);
            f.load_warning = Some("drive element 501 cannot read LTO-9 cartridge X".into());
            f
        },
        "-f D load 1 1",
        &[],
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "Loading media from Storage Element 1 into drive 1...done\n"
    );
    assert_eq!(
        r.stderr,
        "mtx: warning: drive element 501 cannot read LTO-9 cartridge X\n"
    );
    assert!(r
        .log
        .iter()
        .any(|l| l == "move 1 1000 501 invert=false eepos=0"));
}

#[test]
fn the_device_comes_from_f_then_changer_then_tape_then_dev_changer() {
    // (command line, environment, the device opened)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("-f /dev/sg7 status", &[("CHANGER", "/dev/sg1")], "/dev/sg7"),
        (
            "status",
            &[("CHANGER", "/dev/sg1"), ("TAPE", "/dev/sg2")],
            "/dev/sg1",
        ),
        ("status", &[("TAPE", "/dev/sg2")], "/dev/sg2"),
        ("status", &[], "/dev/changer"),
    ];
    for (argv, env, dev) in cases {
        let r = mtx_with(|l| Fake::new(small(), l), argv, env);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.log[0], format!("open {dev}"));
        // The header names the device as given.
        assert!(
            r.stdout.starts_with(&format!(
                "  Storage Changer {dev}:2 Drives, 5 Slots ( 1 Import/Export )\n"
            )),
            "{}",
            r.stdout
        );
    }
    // Commands that need no device open none.
    let r = mtx_with(|l| Fake::new(small(), l), "nobarcode invert", &[]);
    assert_eq!((r.code, r.log.len()), (0, 0));
}

#[test]
fn status_reads_the_library_each_time_and_nobarcode_applies_to_the_next() {
    let r = mtx("-f D status nobarcode status");
    assert_eq!(r.code, 0);
    assert_eq!(
        r.log,
        ["open D", "view barcodes=true", "view barcodes=false"]
    );
    let halves: Vec<&str> = r.stdout.split("  Storage Changer").collect();
    assert_eq!(halves.len(), 3);
    assert!(halves[1].contains(":VolumeTag=A1"));
    assert!(!halves[2].contains("VolumeTag"));
}

#[test]
fn inquiry_prints_the_fields_as_sent() {
    let r = mtx("-f D inquiry");
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "Product Type: Medium Changer\nVendor ID: 'STK     '\nProduct ID: 'L80             '\n\
         Revision: '0105'\nAttached Changer API: No\n"
    );
}

#[test]
fn a_usage_error_stops_the_line_after_what_ran() {
    let r = mtx("-f D transfer 1 4 bogus transfer 4 1");
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, USAGE);
    let moves: Vec<&String> = r.log.iter().filter(|l| l.starts_with("move")).collect();
    assert_eq!(moves, ["move 1 1000 1003 invert=false eepos=0"]);
}
