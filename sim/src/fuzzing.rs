//! Entry points for fuzzing the simulator (as `reel::fuzzing` does for reel's decoders): each
//! feeds arbitrary bytes to one of the simulator's decoders and must return without panicking,
//! whatever the bytes.
//!
//! Used by the cargo-fuzz targets `layout`, `sim_command`, `sim_wire`, `sim_state` and
//! `iscsi_pdu` in `fuzz/` and by
//! the test that decodes the whole seed corpus (`tests/fuzz_corpus.rs`). Not a public API.

use std::time::Duration;

use reel_hw::{DataDirection, Transport};

/// A fuzz entry point: takes arbitrary bytes, never panics.
pub type Target = fn(&[u8]);

/// The simulator's fuzz targets, by name (`fuzz/fuzz_targets/<name>.rs`,
/// `fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("layout", layout),
    ("sim_command", sim_command),
    ("sim_wire", sim_wire),
    ("sim_state", sim_state),
    ("iscsi_pdu", iscsi_pdu),
];

const TIMEOUT: Duration = Duration::from_secs(1);

/// The simulator's layout parser (any text, valid UTF-8 or not).
pub fn layout(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = crate::Layout::parse(&text, "fuzz.toml") {
        let _ = (e.to_string(), e.line());
    }
}

/// A small library every [`sim_command`] input runs against: each kind of element, a loaded
/// drive, an empty bay.
pub const SIM_LAYOUT: &str = r#"
[changer]
serial = "FUZZLIB"
transport     = { first = 1,    count = 1 }
storage       = { first = 1000, count = 4 }
import_export = { first = 10,   count = 1 }
data_transfer = { first = 500,  count = 3 }

[[drive]]
serial = "FUZZDRV1"
generation = "LTO-8"

[[drive]]
serial = "FUZZDRV2"
generation = "LTO-7"

[[drive]]
serial = "FUZZDRV3"
generation = "LTO-9"
present = false

[[cartridge]]
barcode = "FUZ001L8"
location = "slot:1000"

[[cartridge]]
barcode = "CLN001CU"
location = "slot:1003"

[[cartridge]]
barcode = "FUZ002L7"
location = "drive:501"
"#;

/// The simulator's command decoder: `data` is a sequence of commands, each `device` (even:
/// changer, odd: drive 500, 501, 502), CDB length, CDB, direction, 2-byte length, data-out.
/// The simulator must answer every one (CHECK CONDITION for nonsense), never panic.
pub fn sim_command(data: &[u8]) {
    use reel_hw::DeviceSource;
    static LAYOUT: std::sync::OnceLock<Option<crate::Layout>> = std::sync::OnceLock::new();
    let Some(layout) = LAYOUT.get_or_init(|| crate::Layout::parse(SIM_LAYOUT, "fuzz.toml").ok())
    else {
        return;
    };
    let lib = crate::SimLibrary::new(layout.clone());
    let mut src = lib.source();
    let mut bytes = Bytes(data);
    while let Some(dev) = bytes.u8() {
        let path = match dev % 4 {
            0 | 2 => "sim:changer".to_owned(),
            d => format!("sim:drive:{}", 499 + u16::from(d)),
        };
        let Some(n) = bytes.u8() else { return };
        let cdb = bytes.take(usize::from(n % 17));
        let dir = bytes.u8().unwrap_or(0);
        let len = usize::from(bytes.u16().unwrap_or(0));
        let Ok(mut t) = src.open(&path) else { continue };
        let _ = match dir % 3 {
            0 => t.execute(cdb, DataDirection::None, TIMEOUT),
            1 => t.execute(cdb, DataDirection::FromDevice(&mut vec![0; len]), TIMEOUT),
            _ => {
                let out = bytes.take(len).to_vec();
                t.execute(cdb, DataDirection::ToDevice(&out), TIMEOUT)
            }
        };
    }
    let _ = lib.status();
}

/// The simulator's socket framing (`crate::wire`), what a hostile client or server can send:
/// frames read from a stream, requests and replies decoded; whatever decodes encodes back to
/// the same message.
pub fn sim_wire(data: &[u8]) {
    use crate::wire::{read_frame, Reply, Request};
    let mut stream = std::io::Cursor::new(data);
    while let Ok(Some(body)) = read_frame(&mut stream) {
        let _ = Request::decode(&body);
    }
    if let Ok(r) = Request::decode(data) {
        assert_eq!(Request::decode(&r.encode()).ok(), Some(r));
    }
    if let Ok(r) = Reply::decode(data) {
        assert_eq!(Reply::decode(&r.encode()).ok(), Some(r));
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

/// The simulator's state file loader: `data` is the file, loaded over [`SIM_LAYOUT`]'s library.
/// Whatever loads must serve a full inventory without panicking.
pub fn sim_state(data: &[u8]) {
    thread_local! {
        static FILE: Scratch = Scratch::new();
    }
    FILE.with(|f| {
        if std::fs::write(&f.0, data).is_err() {
            return;
        }
        let Ok(layout) = crate::Layout::parse(SIM_LAYOUT, "fuzz.toml") else {
            return;
        };
        if let Ok(lib) = crate::SimLibrary::open(layout, Some(&f.0)) {
            let _ = lib.status();
        }
    });
}

/// A state file private to this process and thread, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        Scratch(base.join(format!(
            "reel-sim-fuzz-{}-{}.json",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("json.tmp"));
    }
}

/// The iSCSI codec (`crate::iscsi`): any bytes as a PDU stream, with and without digests; a
/// PDU that decodes re-encodes to the same value; login requests go through the login state
/// machine, text segments through the key parser.
pub fn iscsi_pdu(data: &[u8]) {
    use crate::iscsi::login::{Login, LoginConfig};
    use crate::iscsi::pdu::{Bhs, Digests, Lengths, Pdu, BHS_LEN};
    let mut login = Login::new(
        LoginConfig {
            targets: vec!["iqn.2026-12.dev.reel:sim.fuzz".to_owned()],
            ..LoginConfig::default()
        },
        1,
        [7; 17],
    );
    for d in [
        Digests::default(),
        Digests {
            header: true,
            data: true,
        },
    ] {
        let mut rest = data;
        while rest.len() >= BHS_LEN {
            let mut head = [0u8; BHS_LEN];
            head.copy_from_slice(&rest[..BHS_LEN]);
            let n = (BHS_LEN + Lengths::of(&head).rest(d)).min(rest.len());
            if let Ok(p) = Pdu::decode(&rest[..n], d) {
                assert_eq!(Pdu::decode(&p.encode(d), d).as_ref(), Ok(&p));
                let _ = crate::iscsi::text::parse(&p.data);
                if let Bhs::LoginRequest(r) = &p.bhs {
                    let _ = login.step(r, &p.data);
                }
            }
            rest = &rest[n..];
        }
    }
}
