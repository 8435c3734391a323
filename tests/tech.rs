//! Integration tests of the technician's commands and tgt's flaws, against the simulator:
//! `reel discover` with a cut last drive identifier, `reel lock` / `reel unlock`,
//! `reel exchange`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::util::{discover_sim, quirk_layout, reel, sim_layout, tempdir, Run};

#[test]
fn a_cut_last_drive_identifier_still_matches_its_drive_with_a_warning() {
    let l = quirk_layout("tgt-truncated");
    let run = discover_sim(&l, &["--json"]);
    run.expect_code(0);
    let doc = run.json();
    let drives = &doc["libraries"][0]["drives"];
    // (element, serial)
    for (i, (address, serial)) in [
        (500, "QTGT-TRUNCATED-DVCID-DRIVE-00001"),
        (501, "QTGT-TRUNCATED-DVCID-DRIVE-00002"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(drives[i]["address"], address, "{doc}");
        assert_eq!(drives[i]["device"]["serial"], serial, "{doc}");
    }
    assert_eq!(doc["unmatched_drives"], Value::Array(vec![]));
    // The 8 lost bytes leave 24 of the last serial's 32 characters.
    let note = "warning: sim:changer: drive element 501: the changer cut its device identifier \
                short (received serial \"QTGT-TRUNCATED-DVCID-DRI\"); matched to drive \
                QTGT-TRUNCATED-DVCID-DRIVE-00002, the only drive not claimed by a whole \
                identifier whose serial starts with it";
    assert!(run.stderr.contains(note), "{}", run.stderr);
    assert!(
        !run.stderr.contains("no drive device found"),
        "{}",
        run.stderr
    );
}

/// `sim/layouts/default.toml` with `extra` appended, written in `dir`.
fn layout_with(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(sim_layout("default")).unwrap() + "\n" + extra;
    let path = dir.join("layout.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_on(layout: &Path, args: &[&str]) -> Run {
    let mut argv: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    argv.extend([OsStr::new("--sim"), layout.as_os_str()]);
    reel(&argv)
}

#[test]
fn lock_and_unlock_name_the_changer() {
    let l = sim_layout("default");
    // (command, JSON key, human text)
    for (cmd, key, text) in [
        ("lock", "locked", "medium removal prevented"),
        ("unlock", "unlocked", "medium removal allowed"),
    ] {
        let run = run_on(&l, &[cmd, "--json"]);
        run.expect_code(0);
        assert_eq!(
            run.json(),
            json!({ key: { "changer": "SIMLIB0001" } }),
            "{cmd}"
        );
        let run = run_on(&l, &[cmd, "--changer", "SIMLIB0001"]);
        run.expect_code(0);
        assert_eq!(
            run.stdout.lines().next().unwrap_or(""),
            format!("sim:changer (serial SIMLIB0001): {text}")
                + if cmd == "lock" {
                    ": the import/export elements stay shut until `reel unlock`"
                } else {
                    ""
                },
            "{cmd}"
        );
    }
    let run = run_on(&l, &["lock", "--changer", "NOSUCH"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("no changer has serial NOSUCH (found: SIMLIB0001)"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unsupported_command_gives_illegal_request_with_its_text() {
    let dir = tempdir();
    // tgt's changer rejects both opcodes (hw lab).
    let l = layout_with(
        dir.path(),
        "[[fault]]\ncommand = \"PREVENT ALLOW MEDIUM REMOVAL\"\ntimes = 100\nsense = \"5/20/00\"\n\
         [[fault]]\ncommand = \"EXCHANGE MEDIUM\"\ntimes = 100\nsense = \"5/20/00\"\n",
    );
    // (arguments, operation in the error line)
    for (args, op) in [
        (&["lock"][..], "PREVENT/ALLOW MEDIUM REMOVAL"),
        (&["unlock"][..], "PREVENT/ALLOW MEDIUM REMOVAL"),
        (
            &["exchange", "slot:1000", "slot:1001"][..],
            "EXCHANGE MEDIUM",
        ),
    ] {
        let run = run_on(&l, args);
        run.expect_code(1);
        let line = run
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or("");
        assert_eq!(
            line,
            format!(
                "error: DEVICE_ERROR (1): {op} on sim:changer failed: ILLEGAL REQUEST, \
                 ASC/ASCQ 20/00: Invalid command operation code"
            ),
            "{args:?}"
        );
        let mut json_args = args.to_vec();
        json_args.push("--json");
        let run = run_on(&l, &json_args);
        run.expect_code(1);
        let e = &run.json()["error"];
        assert_eq!(
            (&e["name"], &e["code"]),
            (&json!("DEVICE_ERROR"), &json!(1))
        );
        assert_eq!(
            e["sense"],
            json!({"key": 5, "asc": 32, "ascq": 0, "text": "Invalid command operation code"}),
            "{args:?}"
        );
    }
}

#[test]
fn exchange_swaps_or_rotates_cartridges() {
    let dir = tempdir();
    let l = sim_layout("default");
    let state = dir.path().join("state.json");
    let on = |args: &[&str]| {
        let mut argv: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        argv.extend([
            OsStr::new("--sim"),
            l.as_os_str(),
            OsStr::new("--sim-state"),
            state.as_os_str(),
        ]);
        reel(&argv)
    };
    let barcodes = || {
        let run = on(&["discover", "--json"]);
        run.expect_code(0);
        let doc = run.json();
        let slots = doc["libraries"][0]["slots"].as_array().unwrap().clone();
        let at = |a: u64| {
            slots
                .iter()
                .find(|s| s["address"] == a)
                .map(|s| s["barcode"].clone())
                .unwrap()
        };
        [at(1000), at(1001), at(1012)]
    };
    assert_eq!(
        barcodes(),
        [json!("ABC001L8"), json!("ABC002L8"), Value::Null]
    );
    // (arguments, document, slots 1000, 1001, 1012 after)
    let cases = [
        (
            &["exchange", "slot:1000", "slot:1001", "--json"][..],
            json!({"exchanged": {"changer": "SIMLIB0001", "source": "slot:1000",
                   "first_destination": "slot:1001", "second_destination": "slot:1000"}}),
            [json!("ABC002L8"), json!("ABC001L8"), Value::Null],
        ),
        (
            &["exchange", "slot:1000", "slot:1001", "slot:1012", "--json"][..],
            json!({"exchanged": {"changer": "SIMLIB0001", "source": "slot:1000",
                   "first_destination": "slot:1001", "second_destination": "slot:1012"}}),
            [Value::Null, json!("ABC002L8"), json!("ABC001L8")],
        ),
    ];
    for (args, doc, after) in cases {
        let run = on(args);
        run.expect_code(0);
        assert_eq!(run.json(), doc, "{args:?}");
        assert_eq!(barcodes(), after, "{args:?}");
    }
    // Elements the changer does not have are usage errors, before any command.
    let run = on(&["exchange", "slot:999", "slot:1001"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("slot:999: no such element on changer SIMLIB0001 (slot elements: 1000-1023)"),
        "{}",
        run.stderr
    );
    // The device's own refusal, decoded: the source is empty now.
    let run = on(&["exchange", "slot:1000", "slot:1001"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("Medium source element empty"),
        "{}",
        run.stderr
    );
}
