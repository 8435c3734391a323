//! Integration tests: `reel move` against the simulator, with `--sim-state` so that each run
//! sees the previous one's moves.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::discover::Expected;
use crate::util::{self, quirk_layout, reel, sim_layout};

struct Lib {
    layout: PathBuf,
    state: PathBuf,
    _dir: tempfile::TempDir,
}

impl Lib {
    fn new(layout: PathBuf) -> Lib {
        let dir = util::tempdir();
        Lib {
            layout,
            state: dir.path().join("state.json"),
            _dir: dir,
        }
    }

    fn args<'a>(&'a self, head: &[&'a str]) -> Vec<&'a std::ffi::OsStr> {
        let mut v: Vec<&'a std::ffi::OsStr> =
            head.iter().map(|s| std::ffi::OsStr::new(*s)).collect();
        v.extend([
            "--sim".as_ref(),
            self.layout.as_os_str(),
            "--sim-state".as_ref(),
            self.state.as_os_str(),
        ]);
        v
    }

    fn mv(&self, from: &str, to: &str) -> util::Run {
        reel(&self.args(&["move", from, to, "--json"]))
    }

    fn discover(&self) -> Value {
        let run = reel(&self.args(&["discover", "--json"]));
        run.expect_code(0);
        run.json()
    }

    fn element<'a>(doc: &'a Value, member: &str, address: u64) -> &'a Value {
        doc["libraries"][0][member]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["address"] == address)
            .unwrap_or_else(|| panic!("{member} {address}"))
    }
}

fn first_full_and_empty_slot(layout: &Path) -> ((u64, String), u64) {
    let x = Expected::read(layout);
    let (first, count) = x.ranges["storage"];
    let full = (first..first + count)
        .find_map(|a| {
            x.cartridges
                .get(&("slot".into(), a))
                .map(|b| (a, b.clone()))
        })
        .expect("a full slot");
    let empty = (first..first + count)
        .find(|a| !x.cartridges.contains_key(&("slot".into(), *a)))
        .expect("an empty slot");
    (full, empty)
}

#[test]
fn slot_to_drive_and_back() {
    let layout = sim_layout("default");
    let lib = Lib::new(layout.clone());
    let ((slot, barcode), _) = first_full_and_empty_slot(&layout);
    let x = Expected::read(&layout);
    let drive = *x
        .drives
        .keys()
        .find(|a| !x.cartridges.contains_key(&("drive".into(), **a)))
        .expect("an empty drive");
    let (from, to) = (format!("slot:{slot}"), format!("drive:{drive}"));

    let run = lib.mv(&from, &to);
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({"moved": {"from": from, "to": to, "barcode": barcode}})
    );
    let doc = lib.discover();
    assert_eq!(Lib::element(&doc, "slots", slot)["full"], false);
    let d = Lib::element(&doc, "drives", drive);
    assert_eq!(
        (d["full"].clone(), d["barcode"].clone()),
        (json!(true), json!(barcode))
    );
    assert_eq!(
        d["source"], slot,
        "the changer remembers where it came from"
    );

    let run = lib.mv(&to, &from);
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({"moved": {"from": to, "to": from, "barcode": barcode}})
    );
    let doc = lib.discover();
    assert_eq!(
        Lib::element(&doc, "slots", slot)["barcode"],
        barcode.as_str()
    );
    assert_eq!(Lib::element(&doc, "drives", drive)["full"], false);
}

#[test]
fn import_export_to_slot() {
    let layout = quirk_layout("ignore-count");
    let lib = Lib::new(layout.clone());
    let (_, empty) = first_full_and_empty_slot(&layout);
    let to = format!("slot:{empty}");
    let run = lib.mv("ie:10", &to);
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({"moved": {"from": "ie:10", "to": to, "barcode": "IEX001L7"}})
    );
    let doc = lib.discover();
    assert_eq!(Lib::element(&doc, "import_export", 10)["full"], false);
    assert_eq!(Lib::element(&doc, "slots", empty)["barcode"], "IEX001L7");
}

#[test]
fn human_output_names_the_cartridge() {
    let layout = sim_layout("default");
    let lib = Lib::new(layout.clone());
    let ((slot, barcode), empty) = first_full_and_empty_slot(&layout);
    let run = reel(&lib.args(&["move", &format!("slot:{slot}"), &format!("slot:{empty}")]));
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        format!("moved {barcode} from slot:{slot} to slot:{empty}\n")
    );
}

#[test]
fn device_errors_are_decoded() {
    let layout = sim_layout("default");
    let lib = Lib::new(layout.clone());
    let ((full, _), empty) = first_full_and_empty_slot(&layout);
    let (full, empty) = (format!("slot:{full}"), format!("slot:{empty}"));
    let cases = [
        // (from, to, ASC, ASCQ, text)
        (&empty, &full, 0x3B, 0x0E, "Medium source element empty"),
        (&full, &full, 0x3B, 0x0D, "Medium destination element full"),
    ];
    for (from, to, asc, ascq, text) in cases {
        let run = lib.mv(from, to);
        run.expect_code(1);
        let doc = run.json();
        assert_eq!(doc["error"]["name"], "DEVICE_ERROR", "{doc}");
        assert_eq!(doc["error"]["code"], 1);
        assert_eq!(
            doc["error"]["sense"],
            json!({"key": 5, "asc": asc, "ascq": ascq, "text": text}),
            "{from} → {to}"
        );
        let line = run.stderr.lines().last().unwrap();
        assert_eq!(
            line,
            format!(
                "error: DEVICE_ERROR (1): MOVE MEDIUM on sim:changer failed: ILLEGAL REQUEST, \
                 ASC/ASCQ {asc:02x}/{ascq:02x}: {text}"
            )
        );
        assert_eq!(
            doc["error"]["message"],
            line.trim_start_matches("error: DEVICE_ERROR (1): ")
        );
    }
}

#[test]
fn elements_outside_the_map_are_bad_usage() {
    let lib = Lib::new(sim_layout("default"));
    let cases = [
        ("slot:5", "slot:1000", "source slot:5 is not an element"),
        (
            "slot:1000",
            "drive:7",
            "destination drive:7 is not an element",
        ),
        (
            "slot1000",
            "slot:1001",
            "is not an element: write TYPE:ADDRESS",
        ),
        ("tray:1", "slot:1001", "unknown element type"),
    ];
    for (from, to, needle) in cases {
        let run = lib.mv(from, to);
        run.expect_code(2);
        let doc = run.json();
        assert_eq!(doc["error"]["name"], "ERROR_INVALID_PARAMETER", "{doc}");
        assert!(
            doc["error"]["message"].as_str().unwrap().contains(needle),
            "{from} → {to}: {doc}"
        );
        assert!(run
            .stderr
            .starts_with("error: ERROR_INVALID_PARAMETER (87): "));
    }
}
