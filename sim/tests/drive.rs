//! The tape drives: identity, readiness, densities, load/unload, position, MAM, TapeAlert.

mod common;

use std::time::Duration;

use common::*;
use reel_hw::{DeviceSource, Transport};
use reel_sim::{SimLibrary, SimTransport};

const TUR: [u8; 6] = [0; 6];

fn setup(lib: &SimLibrary) -> (SimTransport, SimTransport, SimTransport) {
    let mut src = lib.source();
    let c = open(&mut src, "sim:changer");
    let d0 = open(&mut src, "sim:drive:500");
    let d1 = open(&mut src, "sim:drive:501");
    (c, d0, d1)
}

#[test]
fn drive_inquiry_and_vpd() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = src.open("sim:drive:500").unwrap();
    let (_, d) = read(&mut t, &[0x12, 0, 0, 0, 36, 0], 36);
    let mut want = vec![0x01, 0x80, 0x05, 0x02, 31, 0, 0, 0];
    want.extend(pad("IBM", 8));
    want.extend(pad("ULT3580-HH8", 16));
    want.extend(pad("M3G0", 4));
    assert_eq!(d, want);
    let (_, d) = read(&mut t, &[0x12, 1, 0x80, 0, 255, 0], 255);
    assert_eq!(d, [&[1u8, 0x80, 0, 10][..], b"SIMDRV0001"].concat());
    let (_, d) = read(&mut t, &[0x12, 1, 0x83, 0, 255, 0], 255);
    assert_eq!(&d[4..8], &[0x02, 0x01, 0x00, 34]);
    assert_eq!(&d[8..16], b"IBM     ");
    assert_eq!(&d[32..42], b"SIMDRV0001");
}

#[test]
fn readiness_after_a_move_with_load_time() {
    let text = std::fs::read_to_string(layout_path("default.toml")).unwrap()
        + "\n[timing]\nload_ms = 150\n";
    let lib = lib(&text);
    let (mut c, mut d, _) = setup(&lib);
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((2, 0x3A, 0)));
    assert!(nodata(&mut c, &move_cdb(1000, 500)).is_good());
    assert_eq!(
        sense3(&nodata(&mut d, &TUR)),
        Some((2, 0x04, 0x01)),
        "becoming ready"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        sense3(&nodata(&mut d, &TUR)),
        Some((6, 0x28, 0)),
        "not ready to ready"
    );
    assert_eq!(sense3(&nodata(&mut d, &TUR)), None);
    // UNLOAD: the cartridge waits in the drive, not loaded; LOAD threads it again.
    assert!(nodata(&mut d, &[0x1B, 0, 0, 0, 0, 0]).is_good());
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((2, 0x04, 0x02)));
    assert!(nodata(&mut d, &[0x1B, 0, 0, 0, 1, 0]).is_good());
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((6, 0x28, 0)));
    assert_eq!(sense3(&nodata(&mut d, &TUR)), None);
    // LOAD with IMMED returns at once; the drive becomes ready later.
    assert!(nodata(&mut d, &[0x1B, 0, 0, 0, 0, 0]).is_good());
    assert!(nodata(&mut d, &[0x1B, 1, 0, 0, 1, 0]).is_good());
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((2, 0x04, 0x01)));
}

#[test]
fn incompatible_and_cleaning_media() {
    let lib = SimLibrary::new(layout("mixed.toml"));
    let (mut c, mut lto7, mut lto9) = setup(&lib);
    // (barcode's slot, drive address, TUR sense)
    let cases: &[(u16, u16, Sense3)] = &[
        (1000, 500, None),                  // L6 in LTO-7
        (1018, 500, Some((2, 0x30, 0x00))), // L9 in LTO-7: incompatible
        (1012, 501, None),                  // L8 in LTO-9
        (1004, 501, Some((2, 0x30, 0x00))), // L7 in LTO-9
        (1010, 501, Some((2, 0x30, 0x00))), // M8 in LTO-9
        (1024, 500, None),                  // LX (WORM LTO-7) in LTO-7
        (1039, 501, Some((2, 0x30, 0x03))), // cleaning
    ];
    for &(slot, drive, want) in cases {
        assert!(
            nodata(&mut c, &move_cdb(slot, drive)).is_good(),
            "move succeeds regardless"
        );
        let t = if drive == 500 { &mut lto7 } else { &mut lto9 };
        assert_eq!(sense3(&nodata(t, &TUR)), Some((6, 0x28, 0)));
        assert_eq!(
            sense3(&nodata(t, &TUR)),
            want,
            "slot {slot} in drive {drive}"
        );
        assert!(nodata(t, &[0x1B, 0, 0, 0, 0, 0]).is_good());
        assert!(nodata(&mut c, &move_cdb(drive, slot)).is_good());
    }
}

#[test]
fn tapealert_clean_now_and_cleaning() {
    let text = std::fs::read_to_string(layout_path("default.toml"))
        .unwrap()
        .replacen(
            "serial     = \"SIMDRV0001\"",
            "serial     = \"SIMDRV0001\"\nclean_after_loads = 2",
            1,
        );
    let lib = lib(&text);
    let (mut c, mut d, _) = setup(&lib);
    let clean_now = |d: &mut SimTransport| {
        let (cc, p) = read(d, &[0x4D, 0, 0x40 | 0x2E, 0, 0, 0, 0, 0x01, 0x44, 0], 0x144);
        assert!(cc.is_good());
        assert_eq!(&p[0..4], &[0x2E, 0, 0x01, 0x40]);
        assert_eq!(
            &p[4 + 19 * 5..4 + 19 * 5 + 4],
            &[0, 0x14, 0x03, 1],
            "parameter 0x14"
        );
        p[4 + 19 * 5 + 4] == 1
    };
    let (_, p) = read(&mut d, &[0x4D, 0, 0x40, 0, 0, 0, 0, 0, 64, 0], 64);
    assert_eq!(p, vec![0, 0, 0, 2, 0x00, 0x2E], "supported pages");
    for (slot, want) in [(1000u16, false), (1001, true)] {
        assert!(nodata(&mut c, &move_cdb(slot, 500)).is_good());
        assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((6, 0x28, 0)));
        assert!(nodata(&mut d, &[0x1B, 0, 0, 0, 0, 0]).is_good());
        assert!(nodata(&mut c, &move_cdb(500, slot)).is_good());
        assert_eq!(clean_now(&mut d), want, "after loading {slot}");
    }
    assert!(lib.status().drives[0].needs_cleaning);
    assert!(nodata(&mut c, &move_cdb(1023, 500)).is_good());
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((6, 0x28, 0)));
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((2, 0x30, 0x03)));
    assert!(!clean_now(&mut d), "cleaned");
}

#[test]
fn report_density_support_forms() {
    let lib = default_lib();
    let (mut c, mut d, _) = setup(&lib);
    let rds = |d: &mut SimTransport, flags: u8| {
        read(d, &[0x44, flags, 0, 0, 0, 0, 0, 0x10, 0, 0], 0x1000)
    };
    let (cc, r) = rds(&mut d, 0);
    assert!(cc.is_good());
    assert_eq!(r.len(), 4 + 3 * 52);
    assert_eq!(&r[0..4], &[0, (2 + 3 * 52) as u8, 0, 0]);
    // (primary code, flags) per descriptor: LTO-7 and M8 writable, LTO-8 writable and default.
    let got: Vec<(u8, u8, u8)> = r[4..].chunks(52).map(|x| (x[0], x[1], x[2])).collect();
    assert_eq!(
        got,
        vec![(0x5C, 0x5C, 0x80), (0x5D, 0x5D, 0x80), (0x5E, 0x5E, 0xA0)]
    );
    let lto8 = &r[4 + 104..];
    assert_eq!(
        &lto8[8..16],
        &[0, 127, 0x1A, 0x00, 0x00, 0xB7, 0x1B, 0x00],
        "width, tracks, capacity"
    );
    assert_eq!(&lto8[16..32], b"LTO-CVE U-832   ");
    // Medium type form: 56-byte descriptors.
    let (_, r) = rds(&mut d, 0x02);
    assert_eq!((r.len() - 4) % 56, 0);
    let types: Vec<u8> = r[4..].chunks(56).map(|x| x[0]).collect();
    assert_eq!(types, vec![0x78, 0x7C, 0x7A, 0x88, 0x8C]);
    assert_eq!(&r[4 + 2..4 + 6], &[0, 52, 1, 0x5C]);
    // MEDIA bit: no medium → not ready; with an L8 loaded, one descriptor.
    assert_eq!(sense3(&rds(&mut d, 0x01).0), Some((2, 0x3A, 0)));
    assert!(nodata(&mut c, &move_cdb(1000, 500)).is_good());
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((6, 0x28, 0)));
    let (_, r) = rds(&mut d, 0x01);
    assert_eq!(r.len(), 4 + 52);
    assert_eq!(&r[4..7], &[0x5E, 0x5E, 0xA0]);
    let (_, r) = rds(&mut d, 0x03);
    assert_eq!(r.len(), 4 + 56);
    assert_eq!(r[4], 0x88);
}

#[test]
fn block_limits_position_rewind() {
    let lib = default_lib();
    let (mut c, mut d, _) = setup(&lib);
    let (_, r) = read(&mut d, &[0x05, 0, 0, 0, 0, 0], 6);
    assert_eq!(r, vec![0, 0x80, 0, 0, 0, 1]);
    assert_eq!(
        sense3(&read(&mut d, &[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], 20).0),
        Some((2, 0x3A, 0))
    );
    assert!(nodata(&mut c, &move_cdb(1000, 500)).is_good());
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((6, 0x28, 0)));
    let (cc, r) = read(&mut d, &[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], 20);
    assert!(cc.is_good());
    assert_eq!(r, [&[0x80u8][..], &[0; 19]].concat(), "BOP, block 0");
    assert!(nodata(&mut d, &[0x01, 0, 0, 0, 0, 0]).is_good());
    let (_, r) = read(&mut d, &[0x34, 0x06, 0, 0, 0, 0, 0, 0, 32, 0], 32);
    assert_eq!(r.len(), 32);
    assert_eq!(
        sense3(&read(&mut d, &[0x34, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0], 20).0),
        Some((5, 0x24, 0))
    );
    // Not a drive command here.
    assert_eq!(
        sense3(&nodata(&mut d, &[0xA5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
        Some((5, 0x20, 0))
    );
}

fn read_attr(d: &mut SimTransport, first: u16) -> (reel_hw::Completion, Vec<u8>) {
    let f = first.to_be_bytes();
    read(
        d,
        &[0x8C, 0, 0, 0, 0, 0, 0, 0, f[0], f[1], 0, 0, 0x10, 0, 0, 0],
        0x1000,
    )
}

/// The attributes of a READ ATTRIBUTE reply: id → (flags, value).
fn attrs(r: &[u8]) -> Vec<(u16, u8, Vec<u8>)> {
    let n = u32::from_be_bytes([r[0], r[1], r[2], r[3]]) as usize;
    assert_eq!(n, r.len() - 4);
    let mut v = Vec::new();
    let mut at = 4;
    while at < r.len() {
        let len = usize::from(u16::from_be_bytes([r[at + 3], r[at + 4]]));
        v.push((
            u16::from_be_bytes([r[at], r[at + 1]]),
            r[at + 2],
            r[at + 5..at + 5 + len].to_vec(),
        ));
        at += 5 + len;
    }
    v
}

/// An attribute to write: id, format, value.
type AttrIn<'a> = (u16, u8, &'a [u8]);

fn write_attr(d: &mut SimTransport, list: &[AttrIn]) -> reel_hw::Completion {
    let mut p = vec![0u8; 4];
    for (id, f, v) in list {
        p.extend(id.to_be_bytes());
        p.push(*f);
        p.extend((v.len() as u16).to_be_bytes());
        p.extend(*v);
    }
    let n = (p.len() - 4) as u32;
    p[0..4].copy_from_slice(&n.to_be_bytes());
    let l = (p.len() as u32).to_be_bytes();
    d.write(
        &[
            0x8D, 0, 0, 0, 0, 0, 0, 0, 0, 0, l[0], l[1], l[2], l[3], 0, 0,
        ],
        &p,
        T,
    )
    .unwrap()
}

#[test]
fn mam_travels_with_the_cartridge() {
    let lib = default_lib();
    let (mut c, mut d0, mut d1) = setup(&lib);
    assert_eq!(sense3(&read_attr(&mut d0, 0).0), Some((2, 0x3A, 0)));
    assert!(nodata(&mut c, &move_cdb(1000, 500)).is_good());
    assert_eq!(sense3(&nodata(&mut d0, &TUR)), Some((6, 0x28, 0)));
    let (cc, r) = read_attr(&mut d0, 0x0400);
    assert!(cc.is_good());
    let a = attrs(&r);
    let ids: Vec<u16> = a.iter().map(|x| x.0).collect();
    assert_eq!(ids, vec![0x0400, 0x0401, 0x0405, 0x0408, 0x0806]);
    assert_eq!(
        a[2],
        (0x0405, 0x80, vec![0x5E]),
        "density, read only, binary"
    );
    assert_eq!(a[3], (0x0408, 0x80, vec![0x00]), "medium type: data");
    assert_eq!(a[4].0, 0x0806);
    assert_eq!(a[4].1, 0x01, "barcode: ASCII, writable");
    assert_eq!(a[4].2, pad("ABC001L8", 32));
    // Write the pool name and GUID.
    let guid = [0x11u8; 36];
    assert!(write_attr(&mut d0, &[(0x0808, 2, b"Backup Pool"), (0x0821, 0, &guid)]).is_good());
    // Errors: read only, wrong format, too long — nothing written.
    let cases: &[(&[AttrIn], u16)] = &[
        (&[(0x0401, 1, b"X")], 4),
        (&[(0x0808, 1, b"X")], 6),
        (&[(0x0806, 1, &[b'A'; 33])], 7),
        (&[(0x0800, 1, b"OK"), (0x0405, 0, &[0x5E])], 11),
    ];
    for (list, byte) in cases {
        let cc = write_attr(&mut d0, list);
        assert_eq!(sense3(&cc), Some((5, 0x26, 0)), "{list:?}");
        assert_eq!(
            u16::from_be_bytes([cc.sense[16], cc.sense[17]]),
            *byte,
            "{list:?}"
        );
        assert_eq!(cc.sense[15] & 0xC0, 0x80, "SKSV, parameter list");
    }
    // Move the cartridge to the other drive: its MAM comes along.
    assert!(nodata(&mut d0, &[0x1B, 0, 0, 0, 0, 0]).is_good());
    assert!(nodata(&mut c, &move_cdb(500, 501)).is_good());
    assert_eq!(sense3(&nodata(&mut d1, &TUR)), Some((6, 0x28, 0)));
    let (_, r) = read_attr(&mut d1, 0x0808);
    let a = attrs(&r);
    assert_eq!(a[0], (0x0808, 0x02, b"Backup Pool".to_vec()));
    assert_eq!(a[1], (0x0821, 0x00, guid.to_vec()));
    assert!(
        !a.iter().any(|x| x.0 == 0x0800),
        "the failed write left nothing behind"
    );
    // Attribute list service action.
    let (_, r) = read(
        &mut d1,
        &[
            0x8C, 0x01, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0, 0, 0x10, 0, 0, 0,
        ],
        0x1000,
    );
    assert_eq!(r, vec![0, 0, 0, 6, 0x08, 0x06, 0x08, 0x08, 0x08, 0x21]);
    // Delete with a zero length.
    assert!(write_attr(&mut d1, &[(0x0808, 2, b"")]).is_good());
    let (_, r) = read_attr(&mut d1, 0x0808);
    assert_eq!(attrs(&r)[0].0, 0x0821);
    // Another cartridge has none of it.
    assert!(nodata(&mut d1, &[0x1B, 0, 0, 0, 0, 0]).is_good());
    assert!(nodata(&mut c, &move_cdb(501, 1000)).is_good());
    assert!(nodata(&mut c, &move_cdb(1001, 501)).is_good());
    assert_eq!(sense3(&nodata(&mut d1, &TUR)), Some((6, 0x28, 0)));
    assert_eq!(sense3(&read_attr(&mut d1, 0x0808).0), Some((5, 0x24, 0)));
}

#[test]
fn drive_prevent_blocks_unload_and_removal() {
    let lib = default_lib();
    let (mut c, mut d, _) = setup(&lib);
    assert!(nodata(&mut c, &move_cdb(1000, 500)).is_good());
    assert_eq!(sense3(&nodata(&mut d, &TUR)), Some((6, 0x28, 0)));
    assert!(nodata(&mut d, &[0x1E, 0, 0, 0, 1, 0]).is_good());
    assert_eq!(
        sense3(&nodata(&mut c, &move_cdb(500, 1000))),
        Some((5, 0x53, 0x02))
    );
    assert_eq!(
        sense3(&nodata(&mut d, &[0x1B, 0, 0, 0, 0, 0])),
        Some((5, 0x53, 0x02))
    );
    assert!(nodata(&mut d, &[0x1E, 0, 0, 0, 0, 0]).is_good());
    assert!(nodata(&mut d, &[0x1B, 0, 0, 0, 0, 0]).is_good());
    let mut src = lib.source();
    assert_eq!(src.devices().unwrap().len(), 3);
}
