//! Every shipped layout loads, and every inconsistency is an error naming file, line and key.

mod common;

use common::*;
use reel_hw::DeviceSource;
use reel_sim::layout::ShortForm;
use reel_sim::{Layout, LayoutError};

#[test]
fn every_shipped_layout_loads() {
    // (file, slots, ie, drives, cartridges)
    let cases: &[(&str, u16, u16, usize, usize)] = &[
        ("autoloader.toml", 8, 0, 1, 8),
        ("default.toml", 24, 1, 2, 13),
        ("mixed.toml", 40, 4, 2, 29),
        ("large.toml", 50_000, 50, 128, 40_001),
    ];
    let dir = std::fs::read_dir(layout_path("")).unwrap();
    let mut shipped: Vec<String> = dir
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    shipped.sort();
    let mut named: Vec<String> = cases.iter().map(|c| c.0.to_owned()).collect();
    named.sort();
    assert_eq!(shipped, named, "every shipped layout is in this table");
    for &(file, slots, ie, drives, carts) in cases {
        let l = layout(file);
        assert_eq!(l.changer.storage.count, slots, "{file}");
        assert_eq!(l.changer.import_export.count, ie, "{file}");
        assert_eq!(l.drives.len(), drives, "{file}");
        assert_eq!(l.cartridges.len(), carts, "{file}");
        let lib = reel_sim::SimLibrary::new(l);
        let devs = lib.source().devices().unwrap();
        assert_eq!(devs.len(), 1 + drives, "{file}");
    }
}

#[test]
fn mixed_layout_has_every_media_kind() {
    let l = layout("mixed.toml");
    let mut suffixes: Vec<String> = l
        .cartridges
        .iter()
        .map(|c| c.barcode.as_str()[6..].to_owned())
        .collect();
    suffixes.sort();
    suffixes.dedup();
    for s in ["L6", "L7", "M8", "L8", "L9", "LX", "CU"] {
        assert!(suffixes.contains(&s.to_owned()), "{s}");
    }
    let gens: Vec<u8> = l.drives.iter().map(|d| d.generation.0).collect();
    assert_eq!(gens, vec![7, 9]);
}

const BASE: &str = r#"[changer]
serial = "LIB1"
storage = { first = 1000, count = 10 }
import_export = { first = 10, count = 2 }
data_transfer = { first = 500, count = 1 }

[[drive]]
serial = "DRV1"
generation = "LTO-8"
"#;

fn err(extra: &str) -> (usize, String, String) {
    let text = format!("{BASE}{extra}");
    match Layout::parse(&text, "t.toml") {
        Ok(_) => panic!("accepted: {extra}"),
        Err(e @ LayoutError::Key { .. }) => {
            let msg = e.to_string();
            let LayoutError::Key { line, key, .. } = e else {
                unreachable!()
            };
            (line, key, msg)
        }
        Err(e) => panic!("{extra}: not a key error: {e}"),
    }
}

#[test]
fn defaults_are_the_spec_defaults() {
    let l = Layout::parse(BASE, "t.toml").unwrap();
    assert_eq!(l.changer.vendor, "REELSIM");
    assert_eq!(l.changer.product, "VIRTUAL LIBRARY");
    assert_eq!(l.changer.revision, "0001");
    assert!(l.changer.barcode_reader);
    assert_eq!(
        (l.changer.transport.first, l.changer.transport.count),
        (1, 1)
    );
    let q = l.quirks;
    assert!(!q.dvcid_with_voltag_rejected && !q.dvcid_on_non_drive_rejected);
    assert_eq!(q.max_allocation_length, 16_777_215);
    assert!(!q.allocation_length_16bit && !q.ignore_element_count);
    assert_eq!(q.volume_tag_length, 36);
    assert_eq!(q.not_ready_on_start_ms, 0);
    assert_eq!(q.element_status_short_form, ShortForm::Zeros);
    assert_eq!(
        (
            l.timing.move_ms,
            l.timing.load_ms,
            l.timing.inventory_ms_per_element
        ),
        (0, 0, 0)
    );
    assert!(l.drives[0].present);
    assert_eq!(l.drives[0].product, "ULT3580-HH8");
}

#[test]
fn hex_addresses_and_hex_locations() {
    let text = BASE.replace("first = 1000", "first = 0x3E8");
    let text = format!("{text}[[cartridge]]\nbarcode = \"X00001L8\"\nlocation = \"slot:0x3E9\"\n");
    let l = Layout::parse(&text, "t.toml").unwrap();
    assert_eq!(l.changer.storage.first, 1000);
    assert_eq!(l.cartridges[0].location.address, 1001);
}

#[test]
fn layout_errors_name_file_line_key_and_reason() {
    // (text appended to BASE (line 10 is its first line), line, key, words in the reason)
    let cases: &[(&str, usize, &str, &str)] = &[
        ("[quirks]\ndvcid_whith_voltag = true\n", 11, "dvcid_whith_voltag", "unknown key in [quirks]"),
        ("[timing]\nmove_msec = 1\n", 11, "move_msec", "unknown key in [timing]"),
        ("[[cartridge]]\nbarcode = \"A00001L8\"\nlocation = \"slot:1000\"\n[[cartridge]]\nbarcode = \"A00001L8\"\nlocation = \"slot:1001\"\n", 14, "barcode", "duplicate barcode A00001L8 (also on line 11)"),
        ("[[cartridge]]\nbarcode = \"A00001L8\"\nlocation = \"slot:1000\"\n[[cartridge]]\nbarcode = \"A00002L8\"\nlocation = \"slot:1000\"\n", 15, "location", "two cartridges in slot:1000"),
        ("[[cartridge]]\nbarcode = \"A00001L8\"\nlocation = \"slot:1010\"\n", 12, "location", "outside the slot elements (1000..=1009)"),
        ("[[cartridge]]\nbarcode = \"A00001L8\"\nlocation = \"drive:501\"\n", 12, "location", "outside the drive elements"),
        ("[[cartridge]]\nbarcode = \"A00001L8\"\nlocation = \"shelf:1\"\n", 12, "location", "unknown element type"),
        ("[[cartridge]]\nbarcode = \"A0 001L8\"\nlocation = \"slot:1000\"\n", 11, "barcode", "printable ASCII"),
        ("[[cartridge]]\nbarcode = \"\"\nlocation = \"slot:1000\"\n", 11, "barcode", "cannot be empty"),
        ("[[cartridge]]\nbarcode = \"A234567890123456789012345678901234\"\nlocation = \"slot:1000\"\n", 11, "barcode", "at most 32"),
        ("[[cartridge]]\nlocation = \"slot:1000\"\n", 10, "barcode", "required key missing"),
        ("[[cartridges]]\nfirst_barcode = \"A00000L8\"\ncount = 11\nfirst_location = \"slot:1000\"\n", 12, "count", "does not fit"),
        ("[[cartridges]]\nfirst_barcode = \"A99998L8\"\ncount = 3\nfirst_location = \"slot:1000\"\n", 11, "first_barcode", "does not fit in the digits"),
        ("[[cartridges]]\nfirst_barcode = \"ABCDEFL8\"\ncount = 2\nfirst_location = \"slot:1000\"\n", 11, "first_barcode", "does not fit in the digits"),
        ("[[drive]]\nserial = \"DRV2\"\ngeneration = \"LTO-8\"\n", 10, "data_transfer", "count 1 but the layout has 2 [[drive]]"),
        ("[[fault]]\ncommand = \"MOVE MEDUIM\"\nsense = \"4/15/01\"\n", 11, "command", "not a command"),
        ("[[fault]]\ncommand = \"MOVE MEDIUM\"\nsense = \"4/15\"\n", 12, "sense", "KEY/ASC/ASCQ"),
        ("[[fault]]\ncommand = \"MOVE MEDIUM\"\nsense = \"4/15/01\"\ntimes = 0\n", 13, "times", "out of range"),
        ("[quirks]\nvolume_tag_length = 34\n", 11, "volume_tag_length", "36 or 32"),
        ("[quirks]\nmax_allocation_length = 16777216\n", 11, "max_allocation_length", "out of range"),
        ("[quirks]\nignore_element_count = \"yes\"\n", 11, "ignore_element_count", "invalid type"),
        ("[quirks]\nelement_status_short_by = -8\n", 11, "element_status_short_by", "out of range"),
        ("[quirks]\nelement_status_short_by = 1025\n", 11, "element_status_short_by", "out of range"),
        ("[quirks]\nelement_status_short_form = \"zero\"\n", 11, "element_status_short_form", "must be \"zeros\" or \"residual\""),
        ("[quirks]\nelement_status_short_form = 8\n", 11, "element_status_short_form", "invalid type"),
    ];
    for &(extra, line, key, reason) in cases {
        let (l, k, msg) = err(extra);
        assert_eq!((l, k.as_str()), (line, key), "{msg}");
        assert!(
            msg.starts_with(&format!("t.toml:{line}: key `{key}`: ")),
            "{msg}"
        );
        assert!(msg.contains(reason), "{msg:?} should contain {reason:?}");
    }
}

#[test]
fn changer_table_errors() {
    // (replace in BASE, with, line, key, reason)
    let cases: &[(&str, &str, usize, &str, &str)] = &[
        (
            "serial = \"LIB1\"\n",
            "vendor = \"TOOLONGVENDOR\"\nserial = \"LIB1\"\n",
            2,
            "vendor",
            "1 to 8",
        ),
        (
            "serial = \"LIB1\"\n",
            "",
            1,
            "serial",
            "required key missing in [changer]",
        ),
        (
            "first = 10, count = 2",
            "first = 1005, count = 2",
            4,
            "import_export",
            "overlap `storage`",
        ),
        (
            "first = 500, count = 1",
            "first = 1, count = 1",
            5,
            "data_transfer",
            "overlap `transport`",
        ),
        (
            "first = 1000, count = 10",
            "first = 65530, count = 10",
            3,
            "storage",
            "past the last element address",
        ),
        (
            "generation = \"LTO-8\"",
            "generation = \"LTO-4\"",
            9,
            "generation",
            "LTO-5 .. LTO-9",
        ),
        (
            "serial = \"DRV1\"",
            "serial = \"LIB1\"",
            8,
            "serial",
            "already used on line 2",
        ),
        (
            "serial = \"LIB1\"\n",
            "serial = \"LIB1\"\nbarcode_raeder = false\n",
            3,
            "barcode_raeder",
            "unknown key in [changer]",
        ),
    ];
    for &(from, to, line, key, reason) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let e = Layout::parse(&text, "t.toml").expect_err(to);
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("t.toml:{line}: key `{key}`: ")),
            "{msg}"
        );
        assert!(msg.contains(reason), "{msg:?} should contain {reason:?}");
    }
}

#[test]
fn cartridges_may_start_in_a_drive_but_not_in_an_empty_bay() {
    let ok = format!("{BASE}[[cartridge]]\nbarcode = \"A00001L8\"\nlocation = \"drive:500\"\n");
    let l = Layout::parse(&ok, "t.toml").unwrap();
    assert_eq!(l.cartridges[0].location.to_string(), "drive:500");
    let bay = ok.replace(
        "generation = \"LTO-8\"",
        "generation = \"LTO-8\"\npresent = false",
    );
    let e = Layout::parse(&bay, "t.toml").unwrap_err().to_string();
    assert!(e.contains("empty drive bay"), "{e}");
}

#[test]
fn unreadable_file_and_bad_toml() {
    let e = Layout::from_file(std::path::Path::new("/nonexistent/x.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.toml: cannot read layout"),
        "{e}"
    );
    let e = Layout::parse("[changer\nserial = 1", "b.toml").unwrap_err();
    assert!(e.to_string().starts_with("b.toml:1: "), "{e}");
}
