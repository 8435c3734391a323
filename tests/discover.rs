//! Integration tests: `reel discover` against the simulator, for every shipped layout and every
//! quirk layout, checked against an oracle read straight from the layout file.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{self, discover_sim, layouts_in, quirk_layout, reel, repo, sim_layout};

/// What a layout file says the library holds (sim-layout.md), read independently of the
/// simulator.
#[derive(Debug)]
pub struct Expected {
    pub serial: String,
    pub vendor: String,
    pub product: String,
    pub barcode_reader: bool,
    pub ranges: BTreeMap<&'static str, (u64, u64)>,
    /// Drive element address → (serial, generation, present).
    pub drives: BTreeMap<u64, (String, u8, bool)>,
    /// `slot:1000` → barcode.
    pub cartridges: BTreeMap<(String, u64), String>,
    pub quirks: toml::Table,
}

fn num(v: &toml::Value) -> u64 {
    match v {
        toml::Value::Integer(i) => *i as u64,
        toml::Value::String(s) => {
            u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex address")
        }
        other => panic!("not a number: {other:?}"),
    }
}

fn location(s: &str) -> (String, u64) {
    let (k, a) = s.split_once(':').expect("TYPE:ADDRESS");
    let a = match a.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => a.parse().unwrap(),
    };
    (k.to_owned(), a)
}

/// The n-th barcode of a run: the digits before the two-character suffix count up.
fn nth_barcode(first: &str, n: u64) -> String {
    let (head, suffix) = first.split_at(first.len() - 2);
    let digits = head.len() - head.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, number) = head.split_at(digits);
    let value: u64 = number.parse::<u64>().unwrap() + n;
    format!("{prefix}{value:0width$}{suffix}", width = number.len())
}

impl Expected {
    pub fn read(path: &Path) -> Expected {
        let text = std::fs::read_to_string(path).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        let changer = doc["changer"].as_table().unwrap();
        let s = |k: &str, d: &str| {
            changer
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or(d)
                .to_owned()
        };
        let mut ranges = BTreeMap::new();
        for k in ["transport", "storage", "import_export", "data_transfer"] {
            let t = changer[k].as_table().unwrap();
            ranges.insert(k, (num(&t["first"]), num(&t["count"])));
        }
        let mut drives = BTreeMap::new();
        let first_dt = ranges["data_transfer"].0;
        for (i, d) in doc
            .get("drive")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let d = d.as_table().unwrap();
            let generation = d["generation"].as_str().unwrap()[4..].parse().unwrap();
            let present = d.get("present").and_then(|v| v.as_bool()).unwrap_or(true);
            drives.insert(
                first_dt + i as u64,
                (
                    d["serial"].as_str().unwrap().to_owned(),
                    generation,
                    present,
                ),
            );
        }
        let mut cartridges = BTreeMap::new();
        for c in doc
            .get("cartridge")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            cartridges.insert(
                location(c["location"].as_str().unwrap()),
                c["barcode"].as_str().unwrap().to_owned(),
            );
        }
        for run in doc
            .get("cartridges")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let (kind, first) = location(run["first_location"].as_str().unwrap());
            for n in 0..num(&run["count"]) {
                cartridges.insert(
                    (kind.clone(), first + n),
                    nth_barcode(run["first_barcode"].as_str().unwrap(), n),
                );
            }
        }
        Expected {
            serial: s("serial", ""),
            vendor: s("vendor", "REELSIM"),
            product: s("product", "VIRTUAL LIBRARY"),
            barcode_reader: changer
                .get("barcode_reader")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
            ranges,
            drives,
            cartridges,
            quirks: doc
                .get("quirks")
                .and_then(|v| v.as_table())
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn quirk(&self, k: &str) -> bool {
        self.quirks
            .get(k)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }
}

/// The media type a barcode names (scsi-reference §7), as cli.md spells it.
pub fn type_of_barcode(b: &str) -> Option<String> {
    if b.starts_with("CLN") || b.ends_with("CU") {
        return Some("LTO-CLEANING".into());
    }
    let id = &b.as_bytes()[b.len() - 2..];
    match id {
        [b'L', d @ b'5'..=b'9'] => Some(format!("LTO-{}", *d as char)),
        [b'M', b'8'] => Some("LTO-M8".into()),
        [b'L', w @ b'V'..=b'Z'] => Some(format!("LTO-{}-WORM", w - b'T' + 3)),
        _ => None,
    }
}

/// What an LTO drive of generation `g` reads (scsi-reference §7), in catalogue order.
pub fn reads_of_generation(g: u8) -> Vec<String> {
    let data: Vec<u8> = match g {
        8 => vec![7, 8],
        9 => vec![8, 9],
        g => (g - 2..=g).filter(|x| *x >= 5).collect(),
    };
    let mut v: Vec<String> = data.iter().map(|d| format!("LTO-{d}")).collect();
    if g == 8 {
        v.push("LTO-M8".into());
    }
    v.sort_by_key(|n| order(n));
    let mut w: Vec<String> = data.iter().map(|d| format!("LTO-{d}-WORM")).collect();
    v.append(&mut w);
    v
}

/// Catalogue order of the data types: LTO-5 … LTO-8, LTO-M8, LTO-9.
fn order(n: &str) -> u32 {
    match n {
        "LTO-M8" => 85,
        n => n[4..5].parse::<u32>().unwrap() * 10,
    }
}

fn kind_key(kind: &str) -> &'static str {
    match kind {
        "slots" => "slot",
        "import_export" => "ie",
        _ => "drive",
    }
}

/// Checks a `discover --json --stats` document against the layout, element by element.
pub fn check_document(layout: &Path, doc: &Value) {
    let x = Expected::read(layout);
    let name = layout.display();
    let libs = doc["libraries"].as_array().unwrap();
    assert_eq!(libs.len(), 1, "{name}: one library");
    let lib = &libs[0];
    assert_eq!(lib["changer"]["serial"], x.serial.as_str(), "{name}");
    assert_eq!(lib["changer"]["vendor"], x.vendor.as_str(), "{name}");
    assert_eq!(lib["changer"]["product"], x.product.as_str(), "{name}");
    for (k, (first, count)) in &x.ranges {
        assert_eq!(lib["elements"][k]["first"], *first, "{name}: {k}");
        assert_eq!(lib["elements"][k]["count"], *count, "{name}: {k}");
    }
    for (member, range) in [
        ("slots", "storage"),
        ("import_export", "import_export"),
        ("drives", "data_transfer"),
    ] {
        let elements = lib[member].as_array().unwrap();
        let (first, count) = x.ranges[range];
        assert_eq!(elements.len() as u64, count, "{name}: number of {member}");
        for (i, e) in elements.iter().enumerate() {
            let address = first + i as u64;
            assert_eq!(e["address"], address, "{name}: {member} in address order");
            let held = x.cartridges.get(&(kind_key(member).to_owned(), address));
            assert_eq!(e["full"], held.is_some(), "{name}: {member} {address} full");
            let want_barcode = held.filter(|_| x.barcode_reader);
            assert_eq!(
                e["barcode"].as_str(),
                want_barcode.map(String::as_str),
                "{name}: {member} {address} barcode"
            );
            // With a barcode reader the suffix names the type. Without one, only a cleaning
            // cartridge (element bits) or a cartridge in a drive that reads MAM is known.
            let want_type = held.and_then(|b| {
                let t = type_of_barcode(b);
                (x.barcode_reader || t.as_deref() == Some("LTO-CLEANING")).then_some(t)?
            });
            if member != "drives" || x.barcode_reader {
                assert_eq!(
                    e["media_type"].as_str(),
                    want_type.as_deref(),
                    "{name}: {member} {address} media type"
                );
            }
            assert!(e.get("media_type_conflict").is_none(), "{name}: {e}");
        }
    }
    for d in lib["drives"].as_array().unwrap() {
        let address = d["address"].as_u64().unwrap();
        let (serial, generation, present) = &x.drives[&address];
        if *present {
            assert_eq!(
                d["device"]["serial"],
                serial.as_str(),
                "{name}: drive {address}"
            );
            let reads: Vec<String> = d["reads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                reads,
                reads_of_generation(*generation),
                "{name}: drive {address} reads"
            );
        } else {
            assert!(d["device"].is_null(), "{name}: empty bay {address}: {d}");
        }
    }
    assert_eq!(doc["unmatched_drives"], serde_json::json!([]), "{name}");

    // media_types: what some drive reads, with the count of cartridges of that type.
    let mut readable: Vec<String> = x
        .drives
        .values()
        .filter(|d| d.2)
        .flat_map(|d| reads_of_generation(d.1))
        .collect();
    readable.sort_by_key(|n| (n.ends_with("WORM"), order(n.trim_end_matches("-WORM"))));
    readable.dedup();
    let got: Vec<(String, u64)> = lib["media_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["cartridges"].as_u64().unwrap(),
            )
        })
        .collect();
    if x.barcode_reader {
        let want: Vec<(String, u64)> = readable
            .iter()
            .map(|t| {
                let n = x
                    .cartridges
                    .values()
                    .filter(|b| type_of_barcode(b).as_deref() == Some(t.as_str()))
                    .count() as u64;
                (t.clone(), n)
            })
            .collect();
        assert_eq!(got, want, "{name}: media_types");
    } else {
        let names: Vec<&String> = got.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            readable.iter().collect::<Vec<_>>(),
            "{name}: media_types"
        );
    }
    for m in lib["media_types"].as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        let t = reel::media::MediaType::from_name(m["name"].as_str().unwrap()).unwrap();
        assert_eq!(id, t.id().to_string(), "{name}: stable id");
    }
    check_cost(&x, layout, doc);
}

/// The command budget: one MODE SENSE, the changer's identity only when enumeration lacks it,
/// READ ELEMENT STATUS once per element type (more only when a reply must be chunked), and at
/// most four commands per drive.
fn check_cost(x: &Expected, layout: &Path, doc: &Value) {
    let name = layout.display();
    let stats = &doc["stats"];
    let by = |k: &str| stats["by_command"][k].as_u64().unwrap_or(0);
    let types = x.ranges.values().filter(|(_, c)| *c > 0).count() as u64;
    let res = by("READ ELEMENT STATUS");
    let big = x.ranges["storage"].1 > 500;
    // A changer that refuses DVCID with VOLTAG costs the refused command and one more read.
    // A changer without a barcode reader refuses the first VOLTAG request.
    let refusals =
        2 * u64::from(x.quirk("dvcid_with_voltag_rejected")) + u64::from(!x.barcode_reader);
    // Replies that really arrive cut (tgt behind a real initiator) cost one re-read per type.
    let cut = x
        .quirks
        .get("element_status_short_form")
        .and_then(|v| v.as_str())
        == Some("residual");
    let refusals = refusals + if cut { types } else { 0 };
    if big {
        assert!(
            res > types,
            "{name}: chunked READ ELEMENT STATUS, got {res}"
        );
    } else {
        assert!(
            res >= types && res <= types + refusals,
            "{name}: one READ ELEMENT STATUS per type, got {res}"
        );
    }
    // Every device's first command after the simulator starts meets the power-on UNIT
    // ATTENTION (sim-layout.md) and is sent again: one extra command per device. On the
    // changer that is INITIALIZE ELEMENT STATUS with --rescan, else MODE SENSE; READ ELEMENT
    // STATUS never pays it.
    let rescan = u64::from(by("INITIALIZE ELEMENT STATUS") > 0);
    assert_eq!(
        by("MODE SENSE(6)") + by("MODE SENSE(10)") + by("INITIALIZE ELEMENT STATUS"),
        2 + rescan,
        "{name}: element map once"
    );
    assert_eq!(by("INQUIRY"), 0, "{name}: identity comes from enumeration");
    let drive_cmds = by("REPORT DENSITY SUPPORT") + by("READ ATTRIBUTE") + by("TEST UNIT READY");
    let drives = x.drives.values().filter(|d| d.2).count() as u64;
    assert!(
        drive_cmds <= 5 * drives,
        "{name}: {drive_cmds} drive commands for {drives} drives"
    );
    let total: u64 = stats["by_command"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(stats["commands"], total, "{name}: stats add up");
}

fn discover_json(layout: &Path) -> Value {
    let run = discover_sim(layout, &["--json", "--stats"]);
    run.expect_code(0);
    run.json()
}

#[test]
fn every_shipped_layout() {
    let layouts = layouts_in(&repo().join("sim/layouts"));
    assert!(
        layouts.len() >= 4,
        "sim/layouts has the four shipped layouts"
    );
    for l in layouts {
        check_document(&l, &discover_json(&l));
    }
}

#[test]
fn every_quirk_layout() {
    let layouts = layouts_in(&repo().join("tests/layouts"));
    assert!(layouts.len() >= 8);
    for l in layouts {
        check_document(&l, &discover_json(&l));
    }
}

#[test]
fn an_empty_drive_bay_is_null_with_a_warning() {
    let l = quirk_layout("empty-bay");
    let run = discover_sim(&l, &["--json"]);
    run.expect_code(0);
    let doc = run.json();
    assert!(doc["libraries"][0]["drives"][1]["device"].is_null());
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("drive element 501"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_barcode_reader_still_knows_the_loaded_cartridge_from_its_mam() {
    let doc = discover_json(&quirk_layout("no-barcode"));
    let lib = &doc["libraries"][0];
    assert!(lib["slots"][0]["barcode"].is_null());
    assert_eq!(lib["slots"][0]["full"], true);
    // Element bits say "data", MAM says density LTO-8: together, LTO-8.
    assert_eq!(
        lib["drives"][0]["media_type"], "LTO-8",
        "{}",
        lib["drives"][0]
    );
    assert_eq!(doc["stats"]["by_command"]["READ ATTRIBUTE"], 1);
}

#[test]
fn tgt_like_changer_falls_back_to_the_lto_table_and_says_so() {
    let l = quirk_layout("tgt-like");
    let run = discover_sim(&l, &["--json"]);
    run.expect_code(0);
    assert!(run.stderr.contains("LTO table"), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(
        doc["libraries"][0]["drives"][0]["device"]["serial"],
        "QTGTD1"
    );
}

#[test]
fn a_64k_allocation_limit_is_read_in_chunks() {
    for name in ["alloc-64k", "alloc-16bit"] {
        let doc = discover_json(&quirk_layout(name));
        let res = doc["stats"]["by_command"]["READ ELEMENT STATUS"]
            .as_u64()
            .unwrap();
        // 3000 slots of 52-byte descriptors are ~156 KB: at least three 64 KiB chunks.
        assert!(res >= 3 + 3, "{name}: {res} READ ELEMENT STATUS");
        assert_eq!(doc["libraries"][0]["slots"].as_array().unwrap().len(), 3000);
    }
}

#[test]
fn the_human_report_shows_the_library() {
    let l = sim_layout("default");
    let run = reel(&["discover".as_ref(), "--sim".as_ref(), l.as_os_str()]);
    run.expect_code(0);
    let x = Expected::read(&l);
    for needle in [
        "Library",
        "Element map",
        "Drives",
        "Media types",
        "Slots",
        "Import/export",
    ] {
        assert!(run.stdout.contains(needle), "{needle}:\n{}", run.stdout);
    }
    assert!(run.stdout.contains(&x.serial));
    for (serial, _, _) in x.drives.values() {
        assert!(
            run.stdout.contains(serial.as_str()),
            "{serial}:\n{}",
            run.stdout
        );
    }
    // Consecutive labels and empty slots fold into one line each.
    for line in [
        "  1000-1011  ABC001L8..ABC012L8 LTO-8 (12)",
        "  1012-1022  empty (11)",
        "  1023       CLN001CU LTO-CLEANING",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == line),
            "{line:?} in\n{}",
            run.stdout
        );
    }
}

#[test]
fn stats_go_to_stderr_in_the_contract_form() {
    let l = sim_layout("default");
    let run = discover_sim(&l, &["--stats"]);
    run.expect_code(0);
    let first = run
        .stderr
        .lines()
        .find(|l| l.starts_with("stats: "))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        first.contains(" SCSI commands, ") && first.ends_with(" ms in devices"),
        "{first}"
    );
    assert!(
        run.stderr.contains("READ ELEMENT STATUS: "),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("stats:"));
}

#[test]
fn failures_follow_the_contract() {
    let dir = util::tempdir();
    let missing = dir.path().join("missing.toml");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[changer]\nserial = \"X\"\nbogus_key = 1\n").unwrap();
    for (layout, code) in [(&missing, 2), (&bad, 2)] {
        let run = discover_sim(layout, &["--json"]);
        run.expect_code(code);
        let doc = run.json();
        assert!(doc["error"]["name"].is_string(), "{doc}");
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    // A node that is not a SCSI generic device is refused clearly.
    let run = reel(&["discover", "--device", "/dev/null", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["error"]["name"], "DEVICE_ERROR");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/dev/null"));
}

#[test]
fn through_the_simulator_socket() {
    let dir = util::tempdir();
    let layout = sim_layout("default");
    let (socket, _library) = util::serve_sim(&layout, dir.path());
    let args = |head: &[&str]| {
        let mut v: Vec<std::ffi::OsString> = head.iter().map(Into::into).collect();
        v.extend(["--sim-socket".into(), socket.clone().into_os_string()]);
        v
    };
    let run = reel(&args(&["discover", "--json", "--stats"]));
    run.expect_code(0);
    check_document(&layout, &run.json());

    // The served library keeps its state between clients: a move shows in the next discovery.
    let x = Expected::read(&layout);
    let (first, _) = x.ranges["storage"];
    let barcode = &x.cartridges[&("slot".to_owned(), first)];
    let run = reel(&args(&[
        "move",
        &format!("slot:{first}"),
        "drive:500",
        "--json",
    ]));
    run.expect_code(0);
    assert_eq!(run.json()["moved"]["barcode"], barcode.as_str());
    let doc = reel(&args(&["discover", "--json"])).json();
    assert_eq!(
        doc["libraries"][0]["drives"][0]["barcode"],
        barcode.as_str()
    );
    assert_eq!(doc["libraries"][0]["slots"][0]["full"], false);
}

#[test]
fn a_dead_socket_is_a_clear_failure() {
    let dir = util::tempdir();
    let socket = dir.path().join("nobody.sock");
    let run = reel(&[
        "discover".as_ref(),
        "--sim-socket".as_ref(),
        socket.as_os_str(),
        "--json".as_ref(),
    ]);
    run.expect_code(1);
    let doc = run.json();
    assert_eq!(doc["error"]["name"], "DEVICE_ERROR");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nobody.sock"),
        "{doc}"
    );
}

#[test]
fn rescan_initializes_element_status_first_with_progress() {
    let l = sim_layout("default");
    let run = discover_sim(&l, &["--rescan", "--json", "--stats"]);
    run.expect_code(0);
    let doc = run.json();
    let init = doc["stats"]["by_command"]["INITIALIZE ELEMENT STATUS"].as_u64();
    assert!(matches!(init, Some(1 | 2)), "{doc}");
    assert!(
        run.stderr.contains("INITIALIZE ELEMENT STATUS"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("element status initialized in"),
        "{}",
        run.stderr
    );
    check_document(&l, &doc);
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[test]
fn the_document_has_every_member_of_cli_md() {
    let doc = discover_json(&sim_layout("default"));
    let has = |v: &Value, want: &[&str]| {
        let k = keys(v);
        for w in want {
            assert!(k.contains(w), "{w} missing from {k:?}");
        }
    };
    has(&doc, &["libraries", "unmatched_drives", "stats"]);
    assert_eq!(keys(&doc["stats"]), ["by_command", "commands", "device_ms"]);
    let lib = &doc["libraries"][0];
    has(
        lib,
        &[
            "changer",
            "elements",
            "slots",
            "import_export",
            "drives",
            "media_types",
        ],
    );
    assert_eq!(
        keys(&lib["changer"]),
        ["path", "product", "revision", "serial", "vendor"]
    );
    assert_eq!(
        keys(&lib["elements"]),
        ["data_transfer", "import_export", "storage", "transport"]
    );
    assert_eq!(keys(&lib["elements"]["storage"]), ["count", "first"]);
    for s in lib["slots"]
        .as_array()
        .unwrap()
        .iter()
        .chain(lib["import_export"].as_array().unwrap())
    {
        has(s, &["address", "full", "barcode", "media_type"]);
    }
    for d in lib["drives"].as_array().unwrap() {
        has(
            d,
            &[
                "address",
                "full",
                "barcode",
                "media_type",
                "source",
                "device",
                "reads",
                "writes",
            ],
        );
        assert_eq!(
            keys(&d["device"]),
            ["path", "product", "revision", "serial", "vendor"]
        );
    }
    for m in lib["media_types"].as_array().unwrap() {
        assert_eq!(keys(m), ["cartridges", "id", "name"]);
    }
    // Without --stats there is no stats member.
    let l = sim_layout("default");
    let run = discover_sim(&l, &["--json"]);
    assert!(run.json().get("stats").is_none());
}

/// A fake `/sys` with one changer behind `sg7` (after hw's sysfs tests).
fn fake_sysfs(root: &Path) {
    use std::os::unix::fs::symlink;
    let hctl = "3:0:0:0";
    let sdev = root.join(format!("devices/host3/{hctl}"));
    std::fs::create_dir_all(sdev.join("scsi_generic/sg7")).unwrap();
    std::fs::write(sdev.join("type"), "8\n").unwrap();
    std::fs::write(sdev.join("vendor"), "IBM     \n").unwrap();
    std::fs::write(sdev.join("model"), "3573-TL         \n").unwrap();
    std::fs::write(sdev.join("rev"), "F.11\n").unwrap();
    symlink(
        format!("../../../{hctl}"),
        sdev.join("scsi_generic/sg7/device"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("class/scsi_generic")).unwrap();
    symlink(
        format!("../../devices/host3/{hctl}/scsi_generic/sg7"),
        root.join("class/scsi_generic/sg7"),
    )
    .unwrap();
}

#[test]
fn by_default_devices_come_from_sysfs() {
    let dir = util::tempdir();
    fake_sysfs(dir.path());
    // The changer sysfs lists has no node on this machine: opening it is the failure, which
    // shows discovery went to sysfs and then to /dev/sg7.
    let run = reel(&[
        "discover".as_ref(),
        "--sysfs-root".as_ref(),
        dir.path().as_os_str(),
        "--json".as_ref(),
    ]);
    run.expect_code(1);
    let doc = run.json();
    assert_eq!(doc["error"]["name"], "DEVICE_ERROR");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/dev/sg7"),
        "{doc}"
    );
    // An empty sysfs class: no library, and that is not an error.
    let empty = util::tempdir();
    std::fs::create_dir_all(empty.path().join("class/scsi_generic")).unwrap();
    let run = reel(&[
        "discover".as_ref(),
        "--sysfs-root".as_ref(),
        empty.path().as_os_str(),
        "--json".as_ref(),
    ]);
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!({"libraries": [], "unmatched_drives": [], "warnings": []})
    );
}

#[test]
fn a_cut_density_report_falls_back_to_the_lto_table_and_says_so() {
    // Every reply cut at 200 bytes: REPORT DENSITY SUPPORT (medium types) is longer even when
    // re-read with 0xFFFF, so its list would be partial; discovery warns and uses the LTO table.
    let whole = discover_json(&sim_layout("default"));
    let dir = util::tempdir();
    let l = dir.path().join("cut.toml");
    let text = std::fs::read_to_string(sim_layout("default")).unwrap();
    std::fs::write(&l, text + "\n[quirks]\nmax_allocation_length = 200\n").unwrap();
    let run = discover_sim(&l, &["--json"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("REPORT DENSITY SUPPORT reply cut short at 200 bytes")
            && run.stderr.contains("LTO table"),
        "{}",
        run.stderr
    );
    let doc = run.json();
    let drives = doc["libraries"][0]["drives"].as_array().unwrap();
    assert_eq!(drives.len(), 2);
    for (i, d) in drives.iter().enumerate() {
        let w = &whole["libraries"][0]["drives"][i];
        for k in ["reads", "writes"] {
            assert!(
                d[k].as_array().is_some_and(|a| !a.is_empty()),
                "drive {i} {k}: {d}"
            );
            assert_eq!(
                d[k], w[k],
                "drive {i} {k}: the LTO-8 table says what the drive does"
            );
        }
    }
}
