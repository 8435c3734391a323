//! Moves and their errors, operator actions and unit attentions per initiator.

mod common;

use common::*;
use reel_hw::{DeviceSource, Transport, TransportErrorKind};
use reel_sim::{SimLibrary, SimSource};

/// The barcode at `loc` as the operator panel shows it.
fn at(lib: &SimLibrary, loc: &str) -> Option<String> {
    let s = lib.status();
    s.slots
        .iter()
        .chain(&s.import_export)
        .find(|e| e.location == loc)
        .map(|e| e.barcode.clone())
        .unwrap_or_else(|| {
            s.drives
                .iter()
                .find(|d| format!("drive:{}", d.address) == loc)
                .and_then(|d| d.barcode.clone())
        })
}

fn changer(lib: &SimLibrary) -> (SimSource, reel_sim::SimTransport) {
    let mut src = lib.source();
    let t = open(&mut src, "sim:changer");
    (src, t)
}

#[test]
fn move_medium_outcomes() {
    let lib = default_lib();
    let (_s, mut t) = changer(&lib);
    // (source, destination, expected sense)
    let cases: &[(u16, u16, Sense3)] = &[
        (1000, 1012, None),
        (1012, 1000, None),
        (1012, 1013, Some((5, 0x3B, 0x0E))), // empty source
        (1000, 1001, Some((5, 0x3B, 0x0D))), // full destination
        (1000, 999, Some((5, 0x21, 0x01))),  // no such element
        (2000, 1012, Some((5, 0x21, 0x01))),
        (1000, 1, Some((5, 0x21, 0x01))), // the transport holds nothing
        (1000, 10, None),                 // to the mailslot
        (10, 1000, None),                 // and back
        (1023, 500, None),                // cleaning cartridge into a drive
        (1001, 500, Some((5, 0x3B, 0x0D))), // drive full
    ];
    for &(s, d, want) in cases {
        let c = nodata(&mut t, &move_cdb(s, d));
        assert_eq!(sense3(&c), want, "move {s} → {d}");
    }
    assert_eq!(at(&lib, "slot:1000").as_deref(), Some("ABC001L8"));
    assert_eq!(at(&lib, "drive:500").as_deref(), Some("CLN001CU"));
    // Bad transport address, and INVERT.
    let mut cdb = move_cdb(1001, 1012);
    cdb[3] = 7;
    assert_eq!(sense3(&nodata(&mut t, &cdb)), Some((5, 0x21, 0x01)));
    let mut cdb = move_cdb(1001, 1012);
    cdb[10] = 1;
    let c = nodata(&mut t, &cdb);
    assert_eq!(sense3(&c), Some((5, 0x24, 0)));
    assert_eq!(&c.sense[15..18], &[0xC8, 0, 10]);
}

#[test]
fn source_address_travels_with_the_cartridge() {
    let lib = default_lib();
    let (_s, mut t) = changer(&lib);
    assert!(nodata(&mut t, &move_cdb(1005, 1015)).is_good());
    let (_, d) = read(&mut t, &res_cdb(false, 2, 1015, 1, false, 100), 100);
    assert_eq!(
        &d[16 + 9..16 + 12],
        &[0x81, 0x03, 0xED],
        "SVALID, data medium, source 1005"
    );
}

#[test]
fn moving_out_of_a_drive_with_a_loaded_tape_is_refused_until_unloaded() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    assert!(nodata(&mut t, &move_cdb(1000, 500)).is_good());
    assert_eq!(
        sense3(&nodata(&mut t, &move_cdb(500, 1000))),
        Some((5, 0x53, 0x02))
    );
    let mut drive = open(&mut src, "sim:drive:500");
    assert!(
        nodata(&mut drive, &[0x1B, 0, 0, 0, 0, 0]).is_good(),
        "UNLOAD"
    );
    assert!(nodata(&mut t, &move_cdb(500, 1000)).is_good());
    assert_eq!(at(&lib, "slot:1000").as_deref(), Some("ABC001L8"));
}

#[test]
fn auto_unload_quirk_lets_the_library_unload_the_drive() {
    let text = std::fs::read_to_string(layout_path("default.toml")).unwrap()
        + "\n[quirks]\nauto_unload = true\n";
    let lib = lib(&text);
    let (_s, mut t) = changer(&lib);
    assert!(nodata(&mut t, &move_cdb(1000, 500)).is_good());
    assert!(nodata(&mut t, &move_cdb(500, 1000)).is_good());
}

#[test]
fn exchange_medium() {
    let lib = default_lib();
    let (_s, mut t) = changer(&lib);
    let x = |s: u16, d1: u16, d2: u16| {
        let (a, b, c) = (s.to_be_bytes(), d1.to_be_bytes(), d2.to_be_bytes());
        [0xA6, 0, 0, 0, a[0], a[1], b[0], b[1], c[0], c[1], 0, 0]
    };
    // Swap 1000 and 1001.
    assert!(nodata(&mut t, &x(1000, 1001, 1000)).is_good());
    assert_eq!(at(&lib, "slot:1000").as_deref(), Some("ABC002L8"));
    assert_eq!(at(&lib, "slot:1001").as_deref(), Some("ABC001L8"));
    // 1002 → 1003, 1003's cartridge → empty 1015.
    assert!(nodata(&mut t, &x(1002, 1003, 1015)).is_good());
    assert_eq!(at(&lib, "slot:1003").as_deref(), Some("ABC003L8"));
    assert_eq!(at(&lib, "slot:1015").as_deref(), Some("ABC004L8"));
    assert_eq!(
        sense3(&nodata(&mut t, &x(1012, 1003, 1016))),
        Some((5, 0x3B, 0x0E))
    );
    assert_eq!(
        sense3(&nodata(&mut t, &x(1000, 1001, 1004))),
        Some((5, 0x3B, 0x0D))
    );
}

#[test]
fn position_initialize_prevent_open_close() {
    let lib = default_lib();
    let (_s, mut t) = changer(&lib);
    let cases: &[(&[u8], Sense3)] = &[
        (&[0x2B, 0, 0, 1, 0x03, 0xE8, 0, 0, 0, 0], None),
        (
            &[0x2B, 0, 0, 1, 0x07, 0xD0, 0, 0, 0, 0],
            Some((5, 0x21, 0x01)),
        ),
        (&[0x2B, 0, 0, 1, 0x03, 0xE8, 0, 0, 1, 0], Some((5, 0x24, 0))),
        (&[0x07, 0, 0, 0, 0, 0], None),
        (&[0x37, 1, 0x03, 0xE8, 0, 0, 0, 10, 0, 0], None),
        (
            &[0x37, 1, 0x07, 0xD0, 0, 0, 0, 10, 0, 0],
            Some((5, 0x21, 0x01)),
        ),
        (&[0x37, 0, 0, 0, 0, 0, 0, 0, 0, 0], None),
        (&[0x1E, 0, 0, 0, 2, 0], Some((5, 0x24, 0))),
        (&[0x1B, 0, 0, 11, 0, 0], Some((5, 0x21, 0x01))),
        (&[0x1B, 0, 0, 10, 7, 0], Some((5, 0x24, 0))),
        (&[0x1E, 0, 0, 0, 1, 0], None),
        (&[0x1B, 0, 0, 10, 0, 0], Some((5, 0x53, 0x02))), // open while prevented
        (&[0x1E, 0, 0, 0, 0, 0], None),
        (&[0x1B, 0, 0, 10, 0, 0], None), // open
        (
            &[0xA5, 0, 0, 0, 0x03, 0xE8, 0, 10, 0, 0, 0, 0],
            Some((2, 0x04, 0x18)),
        ),
        (&[0x1B, 0, 0, 10, 1, 0], None), // close
        (&[0xA5, 0, 0, 0, 0x03, 0xE8, 0, 10, 0, 0, 0, 0], None),
        (&[0x08, 0, 0, 0, 1, 0], Some((5, 0x20, 0))), // READ(6) is not a changer command
        (&[0x4D, 0, 0x2E, 0, 0, 0, 0, 0, 64, 0], Some((5, 0x20, 0))),
    ];
    for (cdb, want) in cases {
        assert_eq!(sense3(&nodata(&mut t, cdb)), *want, "{cdb:02x?}");
    }
}

#[test]
fn unit_attentions_are_per_initiator() {
    let lib = default_lib();
    let mut a = lib.source();
    let mut b = lib.source();
    let mut ta = a.open("sim:changer").unwrap();
    let mut tb = b.open("sim:changer").unwrap();
    let tur = [0u8; 6];
    // Power on: once per initiator; INQUIRY neither reports nor clears it.
    assert!(read(&mut ta, &[0x12, 0, 0, 0, 36, 0], 36).0.is_good());
    assert_eq!(sense3(&nodata(&mut ta, &tur)), Some((6, 0x29, 0)));
    assert_eq!(sense3(&nodata(&mut ta, &tur)), None);
    // REQUEST SENSE returns the UA and clears it.
    let (c, s) = read(&mut tb, &[0x03, 0, 0, 0, 18, 0], 18);
    assert!(c.is_good());
    assert_eq!((s[2], s[12], s[13]), (6, 0x29, 0));
    assert_eq!(sense3(&nodata(&mut tb, &tur)), None);
    let (_, s) = read(&mut tb, &[0x03, 0, 0, 0, 18, 0], 18);
    assert_eq!((s[2], s[12], s[13]), (0, 0, 0));
    // An operator action on the mailslot: each initiator once.
    lib.insert("NEW001L8", None).unwrap();
    assert_eq!(sense3(&nodata(&mut ta, &tur)), Some((6, 0x28, 0x01)));
    assert_eq!(sense3(&nodata(&mut ta, &tur)), None);
    assert_eq!(sense3(&nodata(&mut tb, &tur)), Some((6, 0x28, 0x01)));
    assert_eq!(sense3(&nodata(&mut tb, &tur)), None);
    // A new initiator sees power-on, not the older event.
    let mut c = lib.source();
    let mut tc = c.open("sim:changer").unwrap();
    assert_eq!(sense3(&nodata(&mut tc, &tur)), Some((6, 0x29, 0)));
    assert_eq!(sense3(&nodata(&mut tc, &tur)), None);
    // Drives have their own power-on UA per initiator.
    let mut d = a.open("sim:drive:500").unwrap();
    assert_eq!(sense3(&nodata(&mut d, &tur)), Some((6, 0x29, 0)));
    assert_eq!(sense3(&nodata(&mut d, &tur)), Some((2, 0x3A, 0)));
}

#[test]
fn operator_actions() {
    let lib = default_lib();
    let (_s, mut t) = changer(&lib);
    assert_eq!(
        lib.insert("NEW001L8", Some(10)).unwrap().to_string(),
        "ie:10"
    );
    assert_eq!(
        sense3(&nodata(&mut t, &[0, 0, 0, 0, 0, 0])),
        Some((6, 0x28, 1))
    );
    // IMPEXP set: the operator put it there.
    let (_, d) = read(&mut t, &res_cdb(true, 3, 10, 1, false, 100), 100);
    assert_eq!(&d[16..19], &[0, 10, 0x3B]);
    assert_eq!(&d[16 + 12..16 + 20], b"NEW001L8");
    let errors = [
        lib.insert("NEW002L8", None).unwrap_err().to_string(),
        lib.insert("ABC001L8", None).unwrap_err().to_string(),
        lib.insert("BAD CODE", None).unwrap_err().to_string(),
        lib.remove(1000).unwrap_err().to_string(),
        lib.set_drive_online(1000, false).unwrap_err().to_string(),
    ];
    let want = [
        "every import/export element is full",
        "already in the library",
        "printable ASCII",
        "not an import/export element",
        "not a drive element address",
    ];
    for (e, w) in errors.iter().zip(want) {
        assert!(e.contains(w), "{e:?} should contain {w:?}");
    }
    // Prevented: the operator cannot take it out.
    assert!(nodata(&mut t, &[0x1E, 0, 0, 0, 1, 0]).is_good());
    assert!(lib
        .remove(10)
        .unwrap_err()
        .to_string()
        .contains("PREVENT MEDIUM REMOVAL"));
    assert!(lib.set_door(true).is_err());
    // The host may still move it (prevention is about the operator).
    assert!(nodata(&mut t, &move_cdb(10, 1012)).is_good());
    assert!(nodata(&mut t, &move_cdb(1012, 10)).is_good());
    // Dropping the initiator releases its prevention.
    drop(t);
    drop(_s);
    assert_eq!(lib.remove(10).unwrap().as_str(), "NEW001L8");
    // Door open: the robot cannot reach the mailslot.
    lib.set_door(true).unwrap();
    let (_s2, mut t2) = changer(&lib);
    assert_eq!(
        sense3(&nodata(&mut t2, &move_cdb(1000, 10))),
        Some((2, 0x04, 0x18))
    );
    let (_, d) = read(&mut t2, &res_cdb(false, 3, 10, 1, false, 100), 100);
    assert_eq!(d[16 + 2] & 0x08, 0, "no ACCESS while the door is open");
    lib.set_door(false).unwrap();
    assert_eq!(
        sense3(&nodata(&mut t2, &[0; 6])),
        Some((6, 0x28, 1)),
        "closing the door rescans"
    );
}

#[test]
fn offline_drive_and_absent_bay() {
    let text = std::fs::read_to_string(layout_path("default.toml"))
        .unwrap()
        .replacen(
            "serial     = \"SIMDRV0002\"",
            "serial     = \"SIMDRV0002\"\npresent    = false",
            1,
        );
    let lib = lib(&text);
    let mut src = lib.source();
    let paths: Vec<String> = src.devices().unwrap().into_iter().map(|d| d.path).collect();
    assert_eq!(paths, vec!["sim:changer", "sim:drive:500"]);
    assert_eq!(
        src.open("sim:drive:501").unwrap_err().kind,
        TransportErrorKind::NoDevice
    );
    assert_eq!(
        src.open("sim:drive:502").unwrap_err().kind,
        TransportErrorKind::NoDevice
    );
    assert_eq!(
        src.open("/dev/sg0").unwrap_err().kind,
        TransportErrorKind::NoDevice
    );
    let mut t = open(&mut src, "sim:changer");
    // The empty bay: EXCEPT, 83/04, no ACCESS; moves to it fail.
    let (_, d) = read(&mut t, &res_cdb(false, 4, 501, 1, false, 100), 100);
    assert_eq!(&d[16..22], &[0x01, 0xF5, 0x04, 0, 0x83, 0x04]);
    assert_eq!(
        sense3(&nodata(&mut t, &move_cdb(1000, 501))),
        Some((5, 0x3B, 0x1A))
    );
    // Offline: the device disappears, the transport fails with NoDevice.
    let mut drive = open(&mut src, "sim:drive:500");
    lib.set_drive_online(500, false).unwrap();
    let e = drive.no_data(&[0; 6], T).unwrap_err();
    assert_eq!(
        reel_hw::TransportError::kind(&e),
        TransportErrorKind::NoDevice
    );
    assert_eq!(src.devices().unwrap().len(), 1);
    assert_eq!(
        sense3(&nodata(&mut t, &move_cdb(1000, 500))),
        Some((2, 0x04, 0x12))
    );
    lib.set_drive_online(500, true).unwrap();
    assert_eq!(
        sense3(&nodata(&mut drive, &[0; 6])),
        Some((6, 0x29, 0)),
        "back online: reset UA"
    );
}
