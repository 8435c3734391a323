//! The changer's replies, byte for byte (scsi-reference §4–§6).

mod common;

use common::*;
use reel_hw::{DeviceSource, PeripheralType, ScsiStatus};

#[test]
fn devices_lists_changer_then_present_drives() {
    let lib = default_lib();
    let mut src = lib.source();
    let devs = src.devices().unwrap();
    let got: Vec<(&str, PeripheralType, &str, Option<&str>)> = devs
        .iter()
        .map(|d| {
            (
                d.path.as_str(),
                d.peripheral_type,
                d.product.as_str(),
                d.serial.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "sim:changer",
                PeripheralType::MEDIUM_CHANGER,
                "VIRTUAL LIBRARY",
                Some("SIMLIB0001")
            ),
            (
                "sim:drive:500",
                PeripheralType::SEQUENTIAL,
                "ULT3580-HH8",
                Some("SIMDRV0001")
            ),
            (
                "sim:drive:501",
                PeripheralType::SEQUENTIAL,
                "ULT3580-HH8",
                Some("SIMDRV0002")
            ),
        ]
    );
}

#[test]
fn standard_inquiry_is_byte_exact() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = src.open("sim:changer").unwrap();
    // INQUIRY does not report the pending unit attention.
    let (c, data) = read(&mut t, &[0x12, 0, 0, 0, 96, 0], 96);
    assert!(c.is_good());
    let mut want = vec![0x08, 0x00, 0x05, 0x02, 31, 0, 0, 0];
    want.extend(pad("REELSIM", 8));
    want.extend(pad("VIRTUAL LIBRARY", 16));
    want.extend(pad("0001", 4));
    assert_eq!(data, want);
    assert_eq!(c.residual, 96 - 36);
    // Allocation length shorter than the data.
    let (_, data) = read(&mut t, &[0x12, 0, 0, 0, 5, 0], 96);
    assert_eq!(data, want[..5]);
}

#[test]
fn vpd_pages_are_byte_exact() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = src.open("sim:changer").unwrap();
    let cases: Vec<(u8, Vec<u8>)> = vec![
        (0x00, vec![0x08, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83]),
        (
            0x80,
            [vec![0x08, 0x80, 0x00, 10], b"SIMLIB0001".to_vec()].concat(),
        ),
        (
            0x83,
            [
                vec![0x08, 0x83, 0x00, 38, 0x02, 0x01, 0x00, 34],
                pad("REELSIM", 8),
                pad("VIRTUAL LIBRARY", 16),
                b"SIMLIB0001".to_vec(),
            ]
            .concat(),
        ),
    ];
    for (page, want) in cases {
        let (c, data) = read(&mut t, &[0x12, 1, page, 0, 255, 0], 255);
        assert!(c.is_good(), "page {page:#x}");
        assert_eq!(data, want, "page {page:#x}");
    }
    let (c, _) = read(&mut t, &[0x12, 1, 0xB0, 0, 255, 0], 255);
    assert_eq!(sense3(&c), Some((5, 0x24, 0)));
    assert_eq!(&c.sense[15..18], &[0xC0, 0, 2], "field pointer: CDB byte 2");
}

#[test]
fn mode_sense_element_address_page() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    let page = [
        0x1D, 0x12, 0, 1, 0, 1, 0x03, 0xE8, 0, 24, 0, 10, 0, 1, 0x01, 0xF4, 0, 2, 0, 0,
    ];
    let (c, data) = read(&mut t, &[0x1A, 0x08, 0x1D, 0, 255, 0], 255);
    assert!(c.is_good());
    assert_eq!(data, [vec![23, 0, 0, 0], page.to_vec()].concat());
    let (c, data) = read(&mut t, &[0x5A, 0x08, 0x1D, 0, 0, 0, 0, 0, 255, 0], 255);
    assert!(c.is_good());
    assert_eq!(
        data,
        [vec![0, 26, 0, 0, 0, 0, 0, 0], page.to_vec()].concat()
    );
    // All pages: 0x1D, 0x1E, 0x1F in order.
    let (c, data) = read(&mut t, &[0x1A, 0x08, 0x3F, 0, 255, 0], 255);
    assert!(c.is_good());
    assert_eq!(data.len(), 4 + 20 + 4 + 20);
    assert_eq!(&data[24..28], &[0x1E, 0x02, 0, 0]);
    let caps = &data[28..];
    assert_eq!(&caps[..8], &[0x1F, 0x12, 0x0E, 0, 0x00, 0x0E, 0x0E, 0x0E]);
    assert_eq!(&caps[12..16], &[0x00, 0x0E, 0x0E, 0x0E]);
    // Unknown page: field pointer at byte 2 bit 5.
    let (c, _) = read(&mut t, &[0x1A, 0x08, 0x20, 0, 255, 0], 255);
    assert_eq!(sense3(&c), Some((5, 0x24, 0)));
    assert_eq!(&c.sense[15..18], &[0xCD, 0, 2]);
}

/// One element descriptor as the simulator encodes it.
fn desc(
    addr: u16,
    flags: u8,
    medium_bits: u8,
    source: Option<u16>,
    tag: Option<(&str, usize)>,
) -> Vec<u8> {
    let mut d = vec![0u8; 12];
    d[0..2].copy_from_slice(&addr.to_be_bytes());
    d[2] = flags;
    d[9] = medium_bits;
    if let Some(s) = source {
        d[9] |= 0x80;
        d[10..12].copy_from_slice(&s.to_be_bytes());
    }
    if let Some((b, len)) = tag {
        let mut t = vec![0u8; len];
        if !b.is_empty() {
            t[..32].copy_from_slice(&pad(b, 32));
        }
        d.extend(t);
    }
    d
}

#[test]
fn read_element_status_storage_with_voltag() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    let (c, data) = read(&mut t, &res_cdb(true, 2, 1000, 3, false, 0xFFFF), 0xFFFF);
    assert!(c.is_good());
    let mut want = vec![0x03, 0xE8, 0, 3, 0, 0, 0, 8 + 3 * 48];
    want.extend([2, 0x80, 0, 48, 0, 0, 0, 3 * 48]);
    want.extend(desc(1000, 0x09, 1, None, Some(("ABC001L8", 36))));
    want.extend(desc(1001, 0x09, 1, None, Some(("ABC002L8", 36))));
    want.extend(desc(1002, 0x09, 1, None, Some(("ABC003L8", 36))));
    assert_eq!(data, want);
}

#[test]
fn read_element_status_without_voltag_and_empty_and_cleaning() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    let (c, data) = read(&mut t, &res_cdb(false, 2, 1022, 2, false, 0xFFFF), 0xFFFF);
    assert!(c.is_good());
    let mut want = vec![0x03, 0xFE, 0, 2, 0, 0, 0, 8 + 2 * 12];
    want.extend([2, 0x00, 0, 12, 0, 0, 0, 24]);
    want.extend(desc(1022, 0x08, 0, None, None));
    want.extend(desc(1023, 0x09, 2, None, None));
    assert_eq!(data, want);
}

#[test]
fn read_element_status_drives_with_dvcid() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    assert!(nodata(&mut t, &move_cdb(1000, 501)).is_good());
    let (c, data) = read(&mut t, &res_cdb(true, 4, 0, 10, true, 0xFFFF), 0xFFFF);
    assert!(c.is_good());
    let dl = 12 + 36 + 36;
    let mut want = vec![0x01, 0xF4, 0, 2, 0, 0, 0, (8 + 2 * dl) as u8];
    want.extend([4, 0x80, 0, dl as u8, 0, 0, 0, (2 * dl) as u8]);
    for (addr, serial, full) in [(500u16, "SIMDRV0001", false), (501, "SIMDRV0002", true)] {
        // A threaded tape: FULL, not ACCESS.
        let mut d = if full {
            desc(addr, 0x01, 1, Some(1000), Some(("ABC001L8", 36)))
        } else {
            desc(addr, 0x08, 0, None, Some(("", 36)))
        };
        d.extend([0x02, 0x00, 0x00, 32]);
        d.extend(pad(serial, 32));
        want.extend(d);
    }
    assert_eq!(data, want);
    // Without VOLTAG the descriptor is 12 + 36.
    let (_, data) = read(&mut t, &res_cdb(false, 4, 500, 1, true, 0xFFFF), 0xFFFF);
    assert_eq!(&data[8..16], &[4, 0, 0, 48, 0, 0, 0, 48]);
    assert_eq!(&data[16 + 12..16 + 16], &[2, 0, 0, 32]);
}

#[test]
fn read_element_status_all_types_in_address_order() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    let (c, data) = read(
        &mut t,
        &res_cdb(true, 0, 0, 0xFFFF, false, 0xFFFFFF),
        0x10000,
    );
    assert!(c.is_good());
    // transport 1, ie 10, drives 500-501, storage 1000-1023: 28 elements in 4 pages.
    assert_eq!(&data[0..4], &[0, 1, 0, 28]);
    let total = 4 * 8 + 28 * 48;
    assert_eq!(
        u32::from_be_bytes([0, data[5], data[6], data[7]]) as usize,
        total
    );
    assert_eq!(data.len(), 8 + total);
    let mut at = 8;
    let mut kinds = Vec::new();
    while at < data.len() {
        let n = u32::from_be_bytes([0, data[at + 5], data[at + 6], data[at + 7]]) as usize;
        kinds.push((data[at], u16::from_be_bytes([data[at + 8], data[at + 9]])));
        at += 8 + n;
    }
    assert_eq!(kinds, vec![(1, 1), (3, 10), (4, 500), (2, 1000)]);
    // Import/export descriptor: INENAB, EXENAB, ACCESS.
    let ie = &data[8 + 8 + 48 + 8..];
    assert_eq!(&ie[0..3], &[0, 10, 0x38]);
}

#[test]
fn read_element_status_start_and_count() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    // (type, start, count) → (first reported, number of elements)
    let cases: &[(u8, u16, u16, u16, u16)] = &[
        (2, 1000, 24, 1000, 24),
        (2, 1010, 100, 1010, 14),
        (2, 0, 5, 1000, 5),
        (0, 400, 3, 500, 3),
        (0, 501, 2, 501, 2),
        (4, 501, 9, 501, 1),
        (3, 10, 1, 10, 1),
        (2, 1023, 0, 0, 0),
    ];
    for &(ty, start, count, first, n) in cases {
        let (c, data) = read(
            &mut t,
            &res_cdb(false, ty, start, count, false, 0xFFFF),
            0xFFFF,
        );
        assert!(c.is_good(), "{ty} {start} {count}");
        assert_eq!(
            &data[0..4],
            &[(first >> 8) as u8, first as u8, (n >> 8) as u8, n as u8],
            "{ty} {start} {count}"
        );
    }
    // Errors: start past the last element, bad type.
    let (c, _) = read(&mut t, &res_cdb(false, 2, 1024, 1, false, 0xFFFF), 0xFFFF);
    assert_eq!(sense3(&c), Some((5, 0x21, 0x01)));
    let (c, _) = read(&mut t, &res_cdb(false, 5, 0, 1, false, 0xFFFF), 0xFFFF);
    assert_eq!(sense3(&c), Some((5, 0x24, 0)));
    assert_eq!(&c.sense[15..18], &[0xCB, 0, 1]);
}

#[test]
fn read_element_status_allocation_cut_off_keeps_full_counts() {
    let lib = default_lib();
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    let (c, data) = read(&mut t, &res_cdb(true, 2, 1000, 24, false, 100), 0xFFFF);
    assert_eq!(c.status, ScsiStatus::GOOD);
    assert_eq!(data.len(), 100);
    assert_eq!(c.residual, 0xFFFF - 100);
    assert_eq!(
        &data[0..8],
        &[
            0x03,
            0xE8,
            0,
            24,
            0,
            0,
            (1160u16 >> 8) as u8,
            (1160u16 & 0xFF) as u8
        ]
    );
    // Smaller than the header.
    let (_, data) = read(&mut t, &res_cdb(true, 2, 1000, 24, false, 5), 0xFFFF);
    assert_eq!(data, vec![0x03, 0xE8, 0, 24, 0]);
}
