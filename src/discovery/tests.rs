//! Discovery and `reel move` on the simulator, counting the commands sent: the cost bars of
//! the module documentation and the typed warnings. (The pairing rules themselves are case
//! tables in `matching.rs`; every shipped layout runs end to end in `tests/discover.rs`.)

use std::collections::BTreeMap;

use reel_hw::{DeviceInfo, DeviceSource};
use reel_sim::{Layout, SimLibrary, SimSource, SimTransport, SimTransportError};

use super::moves::{move_with, MoveError, MoveRequest};
use super::run::{self, Devices};
use super::{Counter, DiscoverOptions, Warning};
use crate::media::MediaType;

const LIBRARY: &str = r#"
[changer]
serial = "LIB1"
transport     = { first = 1,    count = 1 }
storage       = { first = 1000, count = 3 }
data_transfer = { first = 500,  count = 2 }

[[drive]]
serial = "S1"
generation = "LTO-8"

[[drive]]
serial = "S2"
generation = "LTO-8"

[[cartridge]]
barcode = "ABC001L8"
location = "drive:501"

[[cartridge]]
barcode = "ABC002L8"
location = "slot:1000"
"#;

fn library(text: &str) -> SimLibrary {
    SimLibrary::new(Layout::parse(text, "test.toml").expect("valid layout"))
}

/// The simulator's source with some drives left out of its listing (their bays still full),
/// as when a drive's device node is missing.
#[derive(Debug)]
struct Hiding {
    inner: SimSource,
    hidden: Vec<String>,
}

impl DeviceSource for Hiding {
    type Transport = SimTransport;
    type Error = SimTransportError;

    fn devices(&mut self) -> Result<Vec<DeviceInfo>, SimTransportError> {
        let mut v = self.inner.devices()?;
        v.retain(|d| !self.hidden.contains(&d.path));
        Ok(v)
    }

    fn open(&mut self, path: &str) -> Result<SimTransport, SimTransportError> {
        self.inner.open(path)
    }
}

fn counts(counter: &Counter) -> BTreeMap<String, u64> {
    counter.snapshot().by_command
}

fn by_command(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(k, v)| (k.to_owned(), v)).collect()
}

#[test]
fn serial_matching_costs_one_density_query_per_model_and_mam_only_when_loaded() {
    let lib = library(LIBRARY);
    let mut source = lib.source();
    let counter = Counter::new();
    let (inv, warnings) = run::discover(
        &mut Devices::new(&mut source, counter.clone()),
        &DiscoverOptions::default(),
    )
    .unwrap();
    // Serials came with the listing: no INQUIRY. Element map, one READ ELEMENT STATUS per
    // element type present, REPORT DENSITY SUPPORT (medium types, densities) once for the one
    // model, READ ATTRIBUTE for the one loaded drive. Each device's first command is sent
    // twice: the simulator's power-on UNIT ATTENTION, retried by the executor.
    assert_eq!(
        counts(&counter),
        by_command(&[
            ("MODE SENSE(6)", 1 + 1),
            ("READ ELEMENT STATUS", 3),
            ("REPORT DENSITY SUPPORT", 2 + 1),
            ("READ ATTRIBUTE", 1 + 1),
        ])
    );
    let l = &inv.libraries[0];
    let paths: Vec<_> = l
        .drives
        .iter()
        .map(|d| d.device.as_ref().unwrap().path.as_str())
        .collect();
    assert_eq!(paths, ["sim:drive:500", "sim:drive:501"]);
    assert_eq!(l.drives[1].element.media_type, Some(MediaType::Lto8));
    let lto8 = l.media_types.iter().find(|m| m.name == MediaType::Lto8);
    assert_eq!(lto8.map(|m| m.cartridges), Some(2));
    assert!(inv.unmatched_drives.is_empty());
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_drive_element_with_no_device_is_null_with_a_typed_warning() {
    let lib = library(LIBRARY);
    let mut source = Hiding {
        inner: lib.source(),
        hidden: vec!["sim:drive:500".into()],
    };
    let counter = Counter::new();
    let (inv, warnings) = run::discover(
        &mut Devices::new(&mut source, counter.clone()),
        &DiscoverOptions::default(),
    )
    .unwrap();
    let l = &inv.libraries[0];
    assert!(l.drives[0].device.is_none());
    assert_eq!(
        l.drives[1].device.as_ref().unwrap().serial.as_deref(),
        Some("S2")
    );
    assert!(
        matches!(
            warnings.as_slice(),
            [Warning::NoDriveBehind { changer, address: 500 }] if changer == "sim:changer"
        ),
        "{warnings:?}"
    );
    assert_eq!(
        warnings[0].to_string(),
        "sim:changer: drive element 500: no drive device found behind it (device null)"
    );
    // The one listed drive was claimed by its serial: nothing more was asked of it.
    assert_eq!(counts(&counter).get("INQUIRY"), None);
}

fn req(from: &str, to: &str) -> MoveRequest {
    MoveRequest {
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        changer: None,
        only: None,
    }
}

#[test]
fn out_of_a_drive_unloads_it_first_and_reads_only_the_source() {
    let lib = library(LIBRARY);
    let mut source = lib.source();
    let counter = Counter::new();
    let moved = move_with(
        &mut Devices::new(&mut source, counter.clone()),
        &req("drive:501", "slot:1001"),
    )
    .unwrap();
    assert_eq!(moved.barcode.as_deref(), Some("ABC001L8"));
    assert!(moved.warnings.is_empty(), "{:?}", moved.warnings);
    // (+1: each device's power-on UNIT ATTENTION, retried.)
    assert_eq!(
        counts(&counter),
        by_command(&[
            ("MODE SENSE(6)", 1 + 1),
            ("READ ELEMENT STATUS", 1),
            ("LOAD UNLOAD", 1 + 1),
            ("MOVE MEDIUM", 1),
        ])
    );
    let slot = lib
        .status()
        .slots
        .into_iter()
        .find(|s| s.location == "slot:1001");
    assert_eq!(slot.and_then(|s| s.barcode).as_deref(), Some("ABC001L8"));
}

#[test]
fn a_drive_with_no_known_device_is_moved_from_with_a_warning() {
    let lib = library(LIBRARY);
    // The sim's drive unthreads on the robot's pick only with auto_unload; unload it first
    // through its own device so the changer can take it.
    let mut t = lib.source().open("sim:drive:501").unwrap();
    crate::drive::Drive::new(&mut t).unload(false).unwrap();
    let mut source = Hiding {
        inner: lib.source(),
        hidden: vec!["sim:drive:501".into()],
    };
    let counter = Counter::new();
    let moved = move_with(
        &mut Devices::new(&mut source, counter.clone()),
        &req("drive:501", "slot:1001"),
    )
    .unwrap();
    assert_eq!(moved.warnings.len(), 1, "{:?}", moved.warnings);
    assert_eq!(counts(&counter).get("LOAD UNLOAD"), None);
    assert_eq!(counts(&counter).get("MOVE MEDIUM"), Some(&1));
}

#[test]
fn usage_errors_before_any_move() {
    let cases = [
        (
            req("slot:999", "slot:1000"),
            "source slot:999 is not an element",
        ),
        (req("slot:1000", "ie:10"), "its ie elements are none"),
        (
            MoveRequest {
                changer: Some("NOPE".into()),
                ..req("slot:1000", "drive:500")
            },
            "no changer has serial NOPE",
        ),
    ];
    for (r, needle) in cases {
        let lib = library(LIBRARY);
        let mut source = lib.source();
        let counter = Counter::new();
        match move_with(&mut Devices::new(&mut source, counter.clone()), &r) {
            Err(MoveError::Usage(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{r:?}: {other:?}"),
        }
        assert_eq!(counts(&counter).get("MOVE MEDIUM"), None, "{r:?}");
    }
}
