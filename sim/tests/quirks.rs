//! Quirks, scripted faults and timing, as the layout asks for them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reel_sim::SimLibrary;

fn with(extra: &str) -> SimLibrary {
    lib(&(std::fs::read_to_string(layout_path("default.toml")).unwrap() + "\n" + extra))
}

fn changer(lib: &SimLibrary) -> reel_sim::SimTransport {
    let mut src = lib.source();
    open(&mut src, "sim:changer")
}

#[test]
fn dvcid_with_voltag_rejected() {
    let lib = with("[quirks]\ndvcid_with_voltag_rejected = true\n");
    let mut t = changer(&lib);
    // (voltag, type, dvcid, accepted)
    for (voltag, ty, dvcid, ok) in [
        (true, 4, true, false),
        (true, 0, true, false),
        (true, 4, false, true),
        (false, 4, true, true),
    ] {
        let (c, _) = read(&mut t, &res_cdb(voltag, ty, 0, 100, dvcid, 0xFFFF), 0xFFFF);
        if ok {
            assert!(c.is_good(), "{voltag} {ty} {dvcid}");
        } else {
            assert_eq!(sense3(&c), Some((5, 0x24, 0)), "{voltag} {ty} {dvcid}");
            assert_eq!(&c.sense[15..18], &[0xC8, 0, 6], "CDB byte 6 bit 0");
        }
    }
}

#[test]
fn dvcid_on_non_drive_rejected() {
    let lib = with("[quirks]\ndvcid_on_non_drive_rejected = true\n");
    let mut t = changer(&lib);
    for (ty, ok) in [(0u8, false), (1, false), (2, false), (3, false), (4, true)] {
        let (c, _) = read(&mut t, &res_cdb(false, ty, 0, 100, true, 0xFFFF), 0xFFFF);
        assert_eq!(c.is_good(), ok, "type {ty}");
        if !ok {
            assert_eq!(sense3(&c), Some((5, 0x24, 0)));
        }
        // Without DVCID every type is fine.
        assert!(
            read(&mut t, &res_cdb(false, ty, 0, 100, false, 0xFFFF), 0xFFFF)
                .0
                .is_good()
        );
    }
    // Without the quirk, DVCID on all types is accepted and only drive pages grow.
    let lib = default_lib();
    let mut t = changer(&lib);
    let (c, d) = read(&mut t, &res_cdb(false, 0, 0, 100, true, 0xFFFF), 0xFFFF);
    assert!(c.is_good());
    assert_eq!(
        &d[8..12],
        &[1, 0, 0, 12],
        "transport page: 12-byte descriptors"
    );
}

#[test]
fn max_allocation_length_cuts_every_reply() {
    let lib = with("[quirks]\nmax_allocation_length = 100\n");
    let mut t = changer(&lib);
    let (c, d) = read(
        &mut t,
        &res_cdb(true, 2, 1000, 24, false, 0xFF_FFFF),
        0x10000,
    );
    assert!(c.is_good());
    assert_eq!(d.len(), 100);
    assert_eq!(
        &d[0..8],
        &[0x03, 0xE8, 0, 24, 0, 0, 0x04, 0x88],
        "the header counts all 1160 bytes"
    );
    let (_, d) = read(&mut t, &[0x12, 0, 0, 0, 255, 0], 255);
    assert_eq!(d.len(), 36);
    let lib = with("[quirks]\nmax_allocation_length = 20\n");
    let mut t = changer(&lib);
    assert_eq!(read(&mut t, &[0x12, 0, 0, 0, 255, 0], 255).1.len(), 20);
}

#[test]
fn allocation_length_16bit() {
    let lib = with("[quirks]\nallocation_length_16bit = true\n");
    let mut t = changer(&lib);
    // (allocation length in the CDB, bytes returned)
    for (alloc, n) in [
        (0x01_0000u32, 0usize),
        (0x01_0040, 0x40),
        (0x00_0040, 0x40),
        (0x00_FFFF, 1168),
    ] {
        let (c, d) = read(&mut t, &res_cdb(true, 2, 1000, 24, false, alloc), 0x2_0000);
        assert!(c.is_good());
        assert_eq!(d.len(), n, "allocation {alloc:#x}");
    }
    let lib = default_lib();
    let mut t = changer(&lib);
    assert_eq!(
        read(
            &mut t,
            &res_cdb(true, 2, 1000, 24, false, 0x01_0000),
            0x2_0000
        )
        .1
        .len(),
        1168
    );
}

#[test]
fn ignore_element_count() {
    let lib = with("[quirks]\nignore_element_count = true\n");
    let mut t = changer(&lib);
    let (_, d) = read(&mut t, &res_cdb(false, 2, 1010, 1, false, 0xFFFF), 0xFFFF);
    assert_eq!(&d[0..4], &[0x03, 0xF2, 0, 14]);
    let (_, d) = read(&mut t, &res_cdb(false, 0, 0, 1, false, 0xFFFF), 0xFFFF);
    assert_eq!(&d[0..4], &[0, 1, 0, 28]);
}

#[test]
fn volume_tag_length_32() {
    let lib = with("[quirks]\nvolume_tag_length = 32\n");
    let mut t = changer(&lib);
    let (_, d) = read(&mut t, &res_cdb(true, 2, 1000, 1, false, 0xFFFF), 0xFFFF);
    let mut want = vec![0x03, 0xE8, 0, 1, 0, 0, 0, 52, 2, 0x80, 0, 44, 0, 0, 0, 44];
    want.extend([0x03, 0xE8, 0x09, 0, 0, 0, 0, 0, 0, 0x01, 0, 0]);
    want.extend(pad("ABC001L8", 32));
    assert_eq!(d, want);
    let (_, d) = read(&mut t, &res_cdb(true, 4, 500, 1, true, 0xFFFF), 0xFFFF);
    assert_eq!(&d[8..12], &[4, 0x80, 0, 80]);
    assert_eq!(
        &d[16 + 44..16 + 48],
        &[2, 0, 0, 32],
        "identifier right after the short tag"
    );
}

#[test]
fn no_barcode_reader_rejects_voltag() {
    let text = std::fs::read_to_string(layout_path("default.toml"))
        .unwrap()
        .replace("barcode_reader = true", "barcode_reader = false");
    let lib = lib(&text);
    let mut t = changer(&lib);
    let (c, _) = read(&mut t, &res_cdb(true, 2, 1000, 1, false, 0xFFFF), 0xFFFF);
    assert_eq!(sense3(&c), Some((5, 0x24, 0)));
    assert_eq!(&c.sense[15..18], &[0xCC, 0, 1]);
    assert!(
        read(&mut t, &res_cdb(false, 2, 1000, 1, false, 0xFFFF), 0xFFFF)
            .0
            .is_good()
    );
}

#[test]
fn not_ready_on_start() {
    let lib = with("[quirks]\nnot_ready_on_start_ms = 200\n");
    let mut src = lib.source();
    let mut t = reel_hw::DeviceSource::open(&mut src, "sim:changer").unwrap();
    assert!(
        read(&mut t, &[0x12, 0, 0, 0, 36, 0], 36).0.is_good(),
        "INQUIRY answers at once"
    );
    assert_eq!(sense3(&nodata(&mut t, &[0; 6])), Some((6, 0x29, 0)));
    assert_eq!(sense3(&nodata(&mut t, &[0; 6])), Some((2, 0x04, 0x01)));
    let (_, s) = read(&mut t, &[0x03, 0, 0, 0, 18, 0], 18);
    assert_eq!((s[2], s[12], s[13]), (2, 0x04, 0x01));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(sense3(&nodata(&mut t, &[0; 6])), None);
}

#[test]
fn faults_fire_after_and_times() {
    let lib =
        with("[[fault]]\ncommand = \"MOVE MEDIUM\"\nafter = 1\ntimes = 2\nsense = \"4/15/01\"\n");
    let mut t = changer(&lib);
    let moves = [(1000, 1012), (1012, 1013), (1012, 1013), (1012, 1013)];
    let want = [None, Some((4, 0x15, 1)), Some((4, 0x15, 1)), None];
    for ((s, d), w) in moves.into_iter().zip(want) {
        let c = nodata(&mut t, &move_cdb(s, d));
        assert_eq!(sense3(&c), w, "{s} → {d}");
        if w.is_some() {
            assert_eq!(
                c.sense,
                vec![0x70, 0, 4, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x15, 1, 0, 0, 0, 0]
            );
        }
    }
    assert_eq!(
        lib.status().slots[13].barcode.as_deref(),
        Some("ABC001L8"),
        "failed moves moved nothing"
    );
}

#[test]
fn no_sense_and_recovered_error_faults_still_execute_the_command() {
    // (fault sense, timing, command executed): NO SENSE and RECOVERED ERROR mean the command
    // completed, every other key that it did not; with and without mechanical time.
    let cases = [
        ("1/17/01", "", true),
        ("1/17/01", "[timing]\nmove_ms = 20\n", true),
        ("0/00/00", "", true),
        ("0/00/00", "[timing]\nmove_ms = 20\n", true),
        ("3/15/01", "", false),
        ("3/15/01", "[timing]\nmove_ms = 20\n", false),
    ];
    for (sense, timing, done) in cases {
        let lib = with(&format!(
            "{timing}[[fault]]\ncommand = \"MOVE MEDIUM\"\nsense = \"{sense}\"\n\n\
             [[fault]]\ncommand = \"READ ELEMENT STATUS\"\nsense = \"{sense}\"\n"
        ));
        let mut t = changer(&lib);
        let c = nodata(&mut t, &move_cdb(1000, 1012));
        let key = u8::from_str_radix(&sense[..1], 16).unwrap();
        let asc = u8::from_str_radix(&sense[2..4], 16).unwrap();
        let ascq = u8::from_str_radix(&sense[5..7], 16).unwrap();
        assert_eq!(sense3(&c), Some((key, asc, ascq)), "{sense} {timing:?}");
        assert_eq!(
            c.sense,
            vec![0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0]
        );
        let st = lib.status();
        let want = |b: &str| Some(b.to_owned());
        assert_eq!(
            (st.slots[0].barcode.clone(), st.slots[12].barcode.clone()),
            if done {
                (None, want("ABC001L8"))
            } else {
                (want("ABC001L8"), None)
            },
            "{sense} {timing:?}"
        );
        // A data-in command under the fault: the whole reply is still transferred.
        let (c, data) = read(&mut t, &res_cdb(true, 2, 1000, 1, false, 100), 100);
        assert_eq!(sense3(&c), Some((key, asc, ascq)), "{sense}");
        if done {
            assert_eq!(c.residual, 100 - data.len());
            assert!(data.len() > 16, "{sense}: {} bytes", data.len());
            assert_eq!(&data[..2], &[0x03, 0xE8], "first element reported: 1000");
        } else {
            assert!(data.is_empty(), "{sense}");
        }
    }
}

#[test]
fn faults_by_opcode_and_by_device_kind() {
    let lib = with(
        "[[fault]]\ncommand = 0xB8\nsense = \"2/04/03\"\n\n[[fault]]\ncommand = \"LOAD UNLOAD\"\ntimes = 1\nsense = \"3/53/00\"\n\n[[fault]]\ncommand = \"TEST UNIT READY\"\nafter = 1\ntimes = 1\nsense = \"4/44/00\"\n[[fault]]\ncommand = \"TEST UNIT READY\"\nafter = 1\ntimes = 2\nsense = \"2/04/01\"\n",
    );
    let mut src = lib.source();
    let mut c = open(&mut src, "sim:changer");
    assert_eq!(
        sense3(&read(&mut c, &res_cdb(false, 2, 1000, 1, false, 100), 100).0),
        Some((2, 4, 3))
    );
    assert!(read(&mut c, &res_cdb(false, 2, 1000, 1, false, 100), 100)
        .0
        .is_good());
    // 0x1B to the changer (OPEN/CLOSE) does not match LOAD UNLOAD.
    assert!(nodata(&mut c, &[0x1B, 0, 0, 10, 1, 0]).is_good());
    assert!(nodata(&mut c, &move_cdb(1000, 500)).is_good());
    let mut d = reel_hw::DeviceSource::open(&mut src, "sim:drive:500").unwrap();
    // REQUEST SENSE takes the power-on UA (which covers the load's 06/28/00) without counting.
    let (_, s) = read(&mut d, &[0x03, 0, 0, 0, 18, 0], 18);
    assert_eq!((s[2], s[12]), (6, 0x29));
    assert_eq!(
        sense3(&nodata(&mut d, &[0x1B, 0, 0, 0, 0, 0])),
        Some((3, 0x53, 0))
    );
    assert!(nodata(&mut d, &[0x1B, 0, 0, 0, 0, 0]).is_good());
    // Two faults on one command: each counts on its own, the first in file order wins.
    let got: Vec<_> = (0..4).map(|_| sense3(&nodata(&mut c, &[0; 6]))).collect();
    assert_eq!(got, vec![None, Some((4, 0x44, 0)), Some((2, 4, 1)), None]);
}

#[test]
fn move_time_does_not_block_other_initiators() {
    // Generous durations: the bounds below must hold on a loaded CI machine too.
    let lib = with("[timing]\nmove_ms = 1000\n");
    let mut a = changer(&lib);
    let mut b = changer(&lib);
    let start = Instant::now();
    let h = std::thread::spawn(move || {
        let c = nodata(&mut a, &move_cdb(1000, 1012));
        (c, start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    assert!(
        read(&mut b, &res_cdb(true, 2, 1000, 24, false, 0xFFFF), 0xFFFF)
            .0
            .is_good()
    );
    assert!(
        t0.elapsed() < Duration::from_millis(700),
        "READ ELEMENT STATUS waited for the robot"
    );
    let (c, took) = h.join().unwrap();
    assert!(c.is_good());
    assert!(took >= Duration::from_millis(1000), "{took:?}");
    // A second move waits for the robot.
    let t1 = Instant::now();
    assert!(nodata(&mut b, &move_cdb(1012, 1000)).is_good());
    assert!(t1.elapsed() >= Duration::from_millis(1000));
}

#[test]
fn inventory_time_per_element() {
    let lib = with("[timing]\ninventory_ms_per_element = 20\n");
    let mut t = changer(&lib);
    let t0 = Instant::now();
    assert!(nodata(&mut t, &[0x07, 0, 0, 0, 0, 0]).is_good());
    assert!(t0.elapsed() >= Duration::from_millis(28 * 20));
    let t0 = Instant::now();
    assert!(nodata(&mut t, &[0x37, 1, 0x03, 0xE8, 0, 0, 0, 4, 0, 0]).is_good());
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(4 * 20) && took < Duration::from_millis(28 * 20),
        "{took:?}"
    );
}

#[test]
fn a_move_longer_than_the_timeout_is_aborted() {
    let lib = with("[timing]\nmove_ms = 2000\n");
    let mut t = changer(&lib);
    let t0 = Instant::now();
    let e = reel_hw::Transport::execute(
        &mut t,
        &move_cdb(1000, 1012),
        reel_hw::DataDirection::None,
        Duration::from_millis(50),
    )
    .unwrap_err();
    assert_eq!(e.kind, reel_hw::TransportErrorKind::Timeout);
    assert!(t0.elapsed() < Duration::from_millis(1500));
    assert_eq!(
        lib.status().slots[0].barcode.as_deref(),
        Some("ABC001L8"),
        "nothing moved"
    );
    assert!(
        nodata(&mut t, &move_cdb(1000, 1012)).is_good(),
        "T allows it"
    );
}

#[test]
fn element_status_short_by_zeroes_the_end_of_the_report() {
    // (start, count, allocation length): whole reports, and one cut by the allocation length
    // before the lost bytes.
    for (start, count, alloc) in [(0u16, 100u16, 0xFFFFu32), (0, 1, 0xFFFF), (0, 100, 60)] {
        let cdb = res_cdb(true, 4, start, count, true, alloc);
        let (c, whole) = read(&mut changer(&default_lib()), &cdb, 0xFFFF);
        assert!(c.is_good());
        let lib = with("[quirks]\nelement_status_short_by = 8\n");
        let (c, short) = read(&mut changer(&lib), &cdb, 0xFFFF);
        assert!(c.is_good());
        assert_eq!(
            short.len(),
            whole.len(),
            "the transfer still counts the lost bytes"
        );
        let end = 8 + u32::from_be_bytes([0, whole[5], whole[6], whole[7]]) as usize;
        let lost = end.saturating_sub(8).min(whole.len())..end.min(whole.len());
        assert_eq!(
            short[..lost.start],
            whole[..lost.start],
            "{start} {count} {alloc}"
        );
        assert!(short[lost.clone()].iter().all(|&b| b == 0), "{lost:?}");
        assert_eq!(short[lost.end..], whole[lost.end..]);
    }
}

#[test]
fn element_status_short_form_residual_ends_the_transfer_early() {
    // (start, count, allocation length): whole reports, one with a storage page, and one cut
    // by the allocation length before the lost bytes.
    for (ty, start, count, alloc) in [
        (4u8, 0u16, 100u16, 0xFFFFu32),
        (4, 0, 1, 0xFFFF),
        (2, 0, 100, 0xFFFF),
        (4, 0, 100, 60),
    ] {
        let cdb = res_cdb(true, ty, start, count, ty == 4, alloc);
        let (c, whole) = read(&mut changer(&default_lib()), &cdb, 0xFFFF);
        assert!(c.is_good());
        // (form, transfer)
        let end = 8 + u32::from_be_bytes([0, whole[5], whole[6], whole[7]]) as usize;
        let cut = if end <= whole.len() {
            whole[..end - 8].to_vec()
        } else {
            whole.clone()
        };
        let mut zeros = whole.clone();
        if end <= whole.len() {
            zeros[end - 8..end].fill(0);
        }
        for (form, want) in [
            ("", &zeros),
            ("element_status_short_form = \"zeros\"\n", &zeros),
            ("element_status_short_form = \"residual\"\n", &cut),
        ] {
            let lib = with(&format!("[quirks]\nelement_status_short_by = 8\n{form}"));
            let (c, short) = read(&mut changer(&lib), &cdb, 0xFFFF);
            assert!(c.is_good(), "{form}");
            assert_eq!(c.residual, 0xFFFF - want.len(), "{form} {ty} {alloc}");
            assert_eq!(&short, want, "{form} {ty} {alloc}");
            // The header and page byte counts still claim the lost bytes.
            assert_eq!(short[..8], whole[..8], "{form}");
        }
    }
}
