//! The controller on the in-process simulator: command counts, plans, faults.

use std::time::{Duration, Instant};

use reel_hw::DeviceSource;
use reel_sim::{Layout, SimLibrary, SimTransport};

use super::*;
use crate::discovery::{self, Location};
use crate::pool::Win32Code;

const BASE: &str = r#"
[changer]
serial = "CTLLIB01"
storage       = { first = 1000, count = 8 }
import_export = { first = 10, count = 1 }
data_transfer = { first = 500, count = 2 }

[[drive]]
serial = "CTLDRV01"
generation = "LTO-8"

[[drive]]
serial = "CTLDRV02"
generation = "LTO-8"

[[cartridges]]
first_barcode = "CTL001L8"
count = 4
first_location = "slot:1000"

[[cartridge]]
barcode = "OLD001L5"
location = "slot:1006"
"#;

pub(crate) fn fast() -> ControllerConfig {
    ControllerConfig {
        ready_poll: Duration::from_millis(5),
        ready_timeout: Duration::from_millis(500),
        deferred_delay: Duration::from_secs(300),
    }
}

pub(crate) fn start(
    extra: &str,
    config: ControllerConfig,
) -> (Controller<SimTransport>, SimLibrary) {
    let layout = Layout::parse(&format!("{BASE}{extra}"), "test.toml").unwrap();
    let sim = SimLibrary::new(layout);
    let mut source = sim.source();
    let inv = discovery::discover(&mut source, &Default::default()).unwrap();
    let libs = take_over(&inv, &|_| DeviceNodes::default(), &mut |p| source.open(p)).unwrap();
    (Controller::start(libs, config).unwrap(), sim)
}

fn count(c: &Controller<SimTransport>, device: &str, name: &str) -> u64 {
    c.device_stats()
        .into_iter()
        .find(|(d, _)| d == device)
        .map_or(0, |(_, s)| s.count(name))
}

fn at(s: &str) -> Location {
    s.parse().unwrap()
}

fn bc(s: &str) -> Vec<MediumRef> {
    vec![MediumRef::Barcode(s.into())]
}

#[test]
fn a_mount_from_a_slot_costs_one_move_and_no_element_status() {
    let (c, _sim) = start("", fast());
    let before = count(&c, "sim:changer", "READ ELEMENT STATUS");
    let m = c
        .mount(&bc("CTL002L8"), &MountOptions::default(), 1)
        .unwrap();
    assert_eq!(
        m[0].drive.address, 500,
        "an empty drive, lowest address among equals"
    );
    assert_eq!(m[0].drive.serial.as_deref(), Some("CTLDRV01"));
    assert_eq!(count(&c, "sim:changer", "MOVE MEDIUM"), 1);
    assert_eq!(count(&c, "sim:changer", "READ ELEMENT STATUS"), before);
    let status = c.status();
    assert_eq!(status.libraries[0].drives[0].state, "loaded");
    assert_eq!(
        status.libraries[0].drives[0].barcode.as_deref(),
        Some("CTL002L8")
    );

    // Deferred dismount, then the same medium again: no changer command at all.
    let d = c.dismount(&bc("CTL002L8"), true, 1).unwrap();
    assert_eq!(d[0].state, "dismountable");
    let changer_before = c.device_stats()[0].1.commands;
    let again = c
        .mount(&bc("CTL002L8"), &MountOptions::default(), 2)
        .unwrap();
    assert_eq!(again[0].drive.address, 500);
    assert_eq!(c.device_stats()[0].1.commands, changer_before);

    // A second medium takes the other, empty drive; a third has to unload a dismountable one.
    c.dismount(&bc("CTL002L8"), true, 2).unwrap();
    let m2 = c
        .mount(&bc("CTL003L8"), &MountOptions::default(), 3)
        .unwrap();
    assert_eq!(m2[0].drive.address, 501);
    let m3 = c
        .mount(&bc("CTL004L8"), &MountOptions::default(), 3)
        .unwrap();
    assert_eq!(m3[0].drive.address, 500);
    let models = c.models();
    let home = models[0].cartridge_at(at("slot:1001")).unwrap();
    assert_eq!(
        home.barcode.as_deref(),
        Some("CTL002L8"),
        "put back in its home slot"
    );

    // Immediate dismount: back home, drive empty.
    c.dismount(&bc("CTL004L8"), false, 3).unwrap();
    assert!(c.settle(Duration::from_secs(10)));
    let models = c.models();
    assert_eq!(
        models[0]
            .cartridge_at(at("slot:1003"))
            .unwrap()
            .barcode
            .as_deref(),
        Some("CTL004L8")
    );
    assert_eq!(models[0].drives[0].state, DriveState::Dismounted);
    // The simulator agrees with the model.
    assert_eq!(
        c.status().libraries[0].drives[1].barcode.as_deref(),
        Some("CTL003L8")
    );
}

#[test]
fn refusals_of_section_3() {
    let (c, _sim) = start("", fast());
    c.mount(&bc("CTL001L8"), &MountOptions::default(), 1)
        .unwrap();
    let busy_opts = MountOptions {
        error_if_unavailable: true,
        ..MountOptions::default()
    };
    // (media, options, session, expected code)
    let cases: Vec<(Vec<MediumRef>, MountOptions, u64, Win32Code)> = vec![
        (
            bc("NOPE01L8"),
            MountOptions::default(),
            2,
            Win32Code::ERROR_INVALID_MEDIA,
        ),
        (
            vec![
                MediumRef::Barcode("CTL002L8".into()),
                MediumRef::Barcode("CTL002L8".into()),
            ],
            MountOptions::default(),
            2,
            Win32Code::ERROR_INVALID_MEDIA,
        ),
        (bc("CTL001L8"), busy_opts.clone(), 2, Win32Code::ERROR_BUSY),
        (
            bc("CTL002L8"),
            MountOptions {
                drive: Some("NOSUCHDRIVE".into()),
                ..MountOptions::default()
            },
            2,
            Win32Code::ERROR_INVALID_DRIVE,
        ),
        (
            bc("OLD001L5"),
            MountOptions {
                write: true,
                ..MountOptions::default()
            },
            2,
            Win32Code::ERROR_NO_SUPPORTING_DRIVES,
        ),
        (
            bc("CTL002L8"),
            MountOptions {
                priority: 16,
                ..MountOptions::default()
            },
            2,
            Win32Code::ERROR_INVALID_PARAMETER,
        ),
        (
            bc("CTL002L8"),
            MountOptions {
                timeout: Some(Duration::from_millis(50)),
                drive: Some("CTLDRV01".into()),
                ..MountOptions::default()
            },
            2,
            Win32Code::ERROR_BUSY,
        ),
    ];
    for (media, opts, session, want) in cases {
        let got = c.mount(&media, &opts, session).unwrap_err();
        assert_eq!(got.code(), want, "{media:?} {opts:?}: {got}");
    }
    // Dismount by another session, and of a medium not mounted.
    assert_eq!(
        c.dismount(&bc("CTL001L8"), false, 2).unwrap_err().code(),
        Win32Code::ERROR_INVALID_STATE
    );
    assert_eq!(
        c.dismount(&bc("CTL002L8"), false, 1).unwrap_err().code(),
        Win32Code::ERROR_INVALID_STATE
    );
    let failed = c
        .requests(true)
        .iter()
        .filter(|r| r.state == RequestState::Failed)
        .count();
    assert!(failed >= 3, "refused mounts are failed requests: {failed}");
}

#[test]
fn a_jammed_picker_fails_with_its_sense_and_leaves_the_model_alone() {
    let fault = "\n[[fault]]\ncommand = \"MOVE MEDIUM\"\nsense = \"4/15/01\"\n";
    let (c, _sim) = start(fault, fast());
    let e = c
        .mount(&bc("CTL001L8"), &MountOptions::default(), 1)
        .unwrap_err();
    assert_eq!(e.code(), Win32Code::ERROR_DEVICE_NOT_AVAILABLE, "{e}");
    let s = e.sense().expect("decoded sense");
    assert_eq!((s.key.0, s.asc, s.ascq), (4, 0x15, 0x01));
    let m = c.models();
    assert!(m[0].cartridge_at(at("slot:1000")).is_some());
    assert_eq!(m[0].drives[0].state, DriveState::Dismounted);
    // A clean retry works (the fault fires once).
    c.mount(&bc("CTL001L8"), &MountOptions::default(), 1)
        .unwrap();
}

#[test]
fn a_rejected_medium_goes_back_home() {
    let fault = "\n[[fault]]\ncommand = \"TEST UNIT READY\"\nsense = \"3/30/00\"\n";
    let (c, _sim) = start(fault, fast());
    let e = c
        .mount(&bc("CTL001L8"), &MountOptions::default(), 1)
        .unwrap_err();
    assert_eq!(e.code(), Win32Code::ERROR_UNABLE_TO_LOAD_MEDIUM, "{e}");
    assert_eq!(e.sense().map(|s| (s.asc, s.ascq)), Some((0x30, 0x00)));
    let m = c.models();
    assert_eq!(
        m[0].cartridge_at(at("slot:1000"))
            .unwrap()
            .barcode
            .as_deref(),
        Some("CTL001L8")
    );
    assert!(m[0].drives[0].cartridge.is_none());
}

#[test]
fn becoming_ready_that_never_ends_times_out_and_puts_the_medium_back() {
    let fault = "\n[[fault]]\ncommand = \"TEST UNIT READY\"\ntimes = 100000\nsense = \"2/04/01\"\n";
    let (c, _sim) = start(fault, fast());
    let t = Instant::now();
    let e = c
        .mount(&bc("CTL001L8"), &MountOptions::default(), 1)
        .unwrap_err();
    assert_eq!(e.code(), Win32Code::ERROR_TIMEOUT, "{e}");
    assert!(t.elapsed() < Duration::from_secs(20));
    let m = c.models();
    assert!(
        m[0].cartridge_at(at("slot:1000")).is_some(),
        "medium left safe at home"
    );
}

#[test]
fn a_drive_going_offline_mid_mount_is_taken_out_of_use() {
    let timing = "\n[timing]\nload_ms = 300\n";
    let (c, sim) = start(timing, fast());
    let c2 = c.clone();
    let t = std::thread::spawn(move || c2.mount(&bc("CTL001L8"), &MountOptions::default(), 1));
    std::thread::sleep(Duration::from_millis(100));
    sim.set_drive_online(500, false).unwrap();
    let e = t.join().unwrap().unwrap_err();
    assert_eq!(e.code(), Win32Code::ERROR_DEVICE_NOT_AVAILABLE, "{e}");
    let st = c.status();
    assert!(!st.libraries[0].drives[0].online);
    // The next mount takes the other drive.
    let m = c
        .mount(&bc("CTL002L8"), &MountOptions::default(), 1)
        .unwrap();
    assert_eq!(m[0].drive.address, 501);
}

#[test]
fn technician_moves_run_on_the_picker_and_update_the_model() {
    let (c, _sim) = start("", fast());
    // (from, to, expected code)
    let cases: [(&str, &str, Option<Win32Code>); 4] = [
        ("slot:1000", "drive:500", None),
        ("drive:500", "slot:1007", None),
        (
            "slot:1005",
            "slot:1004",
            Some(Win32Code::ERROR_DEVICE_NOT_AVAILABLE),
        ),
        (
            "slot:1000",
            "slot:4000",
            Some(Win32Code::ERROR_INVALID_PARAMETER),
        ),
    ];
    for (from, to, want) in cases {
        let r = c.move_element(None, at(from), at(to), 0);
        assert_eq!(
            r.as_ref().err().map(ControlError::code),
            want,
            "{from} -> {to}: {r:?}"
        );
    }
    let m = c.models();
    assert_eq!(
        m[0].cartridge_at(at("slot:1007"))
            .unwrap()
            .barcode
            .as_deref(),
        Some("CTL001L8")
    );
    // Out of a drive costs an UNLOAD first: sent twice, as the drive's first command after
    // its load completed meets UNIT ATTENTION 28/00 and is re-issued.
    assert_eq!(count(&c, "sim:drive:500", "LOAD UNLOAD"), 2);
    let e = c
        .move_element(None, at("slot:1005"), at("slot:1004"), 0)
        .unwrap_err();
    assert_eq!(
        e.sense().map(|s| (s.asc, s.ascq)),
        Some((0x3B, 0x0E)),
        "source empty"
    );
}

#[test]
fn an_operator_at_the_mailslot_rereads_only_the_import_export_elements() {
    let (c, sim) = start("", fast());
    sim.insert("NEW001L8", None).unwrap();
    let res_before = count(&c, "sim:changer", "READ ELEMENT STATUS");
    c.move_element(None, at("slot:1000"), at("slot:1007"), 0)
        .unwrap();
    assert_eq!(
        count(&c, "sim:changer", "READ ELEMENT STATUS"),
        res_before + 1
    );
    let m = c.models();
    assert_eq!(
        m[0].cartridge_at(at("ie:10")).unwrap().barcode.as_deref(),
        Some("NEW001L8")
    );
    c.move_element(None, at("ie:10"), at("slot:1000"), 0)
        .unwrap();
    assert_eq!(
        c.models()[0].cartridge_at(at("slot:1000")).unwrap().home,
        Some(1000)
    );
}

#[test]
fn moves_serialize_and_loads_overlap() {
    let timing = "\n[timing]\nmove_ms = 100\nload_ms = 600\n";
    let config = ControllerConfig {
        ready_timeout: Duration::from_secs(30),
        ..fast()
    };
    let (c, _sim) = start(timing, config);
    let t = Instant::now();
    let threads: Vec<_> = ["CTL001L8", "CTL002L8"]
        .into_iter()
        .map(|b| {
            let c = c.clone();
            std::thread::spawn(move || c.mount(&bc(b), &MountOptions::default(), 1))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let spent = t.elapsed();
    // Serial would be 2 × 700 ms; overlapped loads finish near 2 × 100 + 600.
    assert!(spent < Duration::from_millis(1350), "{spent:?}");
}
