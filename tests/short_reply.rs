//! tgt 1.0.85 sends every READ ELEMENT STATUS report 8 bytes short. Behind a real iSCSI
//! initiator (the residual reported) the last descriptor of each page really is cut: inside the
//! volume tag of the last slot, import/export element and transport, inside the device
//! identifier of the last drive. Behind QEMU's passthrough the missing bytes read as zeros.
//! Discovery must see the whole library either way.

use std::ffi::OsStr;

use serde_json::Value;

use crate::util::{quirk_layout, reel, tempdir, Run};

fn discover(layout: &std::path::Path) -> Run {
    reel(&[
        OsStr::new("discover"),
        OsStr::new("--json"),
        OsStr::new("--stats"),
        OsStr::new("--sim"),
        layout.as_os_str(),
    ])
}

#[test]
fn a_tgt_library_is_discovered_whole_in_both_short_forms() {
    let slots: Vec<(u16, String)> = (0..10).map(|i| (1000 + i, format!("R{i:05}L8"))).collect();
    // (layout, changer serial, READ ELEMENT STATUS commands: one per element type, plus one
    // re-read of each type's cut last element when the cut is real)
    for (name, serial, reads) in [
        ("tgt-short-residual", "QTGTRESID", 8),
        ("tgt-short-zeros", "QTGTZEROS", 4),
    ] {
        let run = discover(&quirk_layout(name));
        run.expect_code(0);
        let doc = run.json();
        let lib = &doc["libraries"][0];
        assert_eq!(lib["changer"]["serial"], serial, "{name}");
        let got: Vec<(u64, &str, bool)> = lib["slots"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {doc}"))
            .iter()
            .map(|s| {
                (
                    s["address"].as_u64().unwrap(),
                    s["barcode"].as_str().unwrap_or("<none>"),
                    s["full"].as_bool().unwrap(),
                )
            })
            .collect();
        let want: Vec<(u64, &str, bool)> = slots
            .iter()
            .map(|(a, b)| (u64::from(*a), b.as_str(), true))
            .collect();
        // The last slot's barcode arrives whole: the cut fell in its tag's padding.
        assert_eq!(got, want, "{name}");
        let ie = &lib["import_export"][0];
        assert_eq!(
            (&ie["address"], &ie["barcode"], &ie["full"]),
            (
                &Value::from(10),
                &Value::from("IEX001L8"),
                &Value::from(true)
            ),
            "{name}"
        );
        // (element, serial): both drives matched, the last by its cut identifier.
        for (i, (address, serial)) in [(500, "QTGTRES-DRIVE-0001"), (501, "QTGTRES-DRIVE-0002")]
            .into_iter()
            .enumerate()
        {
            let d = &lib["drives"][i];
            assert_eq!(d["address"], address, "{name}: {doc}");
            assert_eq!(d["device"]["serial"], serial, "{name}: {doc}");
        }
        assert_eq!(doc["unmatched_drives"], Value::Array(vec![]), "{name}");
        assert_eq!(
            doc["stats"]["by_command"]["READ ELEMENT STATUS"], reads,
            "{name}"
        );
        assert!(!run.stderr.contains("error"), "{name}: {}", run.stderr);
    }
}

#[test]
fn a_barcode_cut_mid_identifier_leaves_the_slot_full_without_a_barcode() {
    // A 32-character barcode in the last slot: the 8 lost bytes take its last 4 characters,
    // so the barcode is unknown, but the slot is still reported, full.
    let text = std::fs::read_to_string(quirk_layout("tgt-short-residual"))
        .unwrap()
        .replace("count          = 10", "count          = 9")
        + "\n[[cartridge]]\nbarcode  = \"LONGBARCODE0123456789ABCDEFGHIJK\"\nlocation = \"slot:1009\"\n";
    let dir = tempdir();
    let path = dir.path().join("long-barcode.toml");
    std::fs::write(&path, text).unwrap();
    let run = discover(&path);
    run.expect_code(0);
    let doc = run.json();
    let slots = doc["libraries"][0]["slots"].as_array().unwrap().clone();
    assert_eq!(slots.len(), 10, "{doc}");
    assert_eq!(slots[8]["barcode"], "R00008L8");
    assert_eq!(
        (
            &slots[9]["address"],
            &slots[9]["full"],
            &slots[9]["barcode"]
        ),
        (&Value::from(1009), &Value::from(true), &Value::Null),
        "{doc}"
    );
}
