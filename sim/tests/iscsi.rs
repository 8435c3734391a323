//! reel-sim as an iSCSI target, driven over loopback by the in-crate test initiator: logins,
//! the library's LUNs, the data path with R2T and digests, and every kind of bad input
//! `sim-iscsi.md` and issue 14 list. None may stop the target or disturb another session.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::lib;
use reel_sim::iscsi::initiator::{Data, Initiator, InitiatorError, Options};
use reel_sim::iscsi::lun::lun_field;
use reel_sim::iscsi::pdu::{Bhs, Digests, NopOut, Pdu, ScsiCommand};
use reel_sim::iscsi::{spawn, Chap, IscsiConfig, Running};

const LAYOUT: &str = r#"[changer]
serial = "ISCSI01"
transport = { first = 1, count = 1 }
storage = { first = 1000, count = 4 }
import_export = { first = 10, count = 1 }
data_transfer = { first = 500, count = 3 }

[[drive]]
serial = "DRV0001"
generation = "LTO-8"

[[drive]]
serial = "DRV0002"
generation = "LTO-8"
present = false

[[drive]]
serial = "DRV0003"
generation = "LTO-9"

[[cartridge]]
barcode = "ISC001L8"
location = "slot:1000"

[timing]
move_ms = 1500

[quirks]
max_allocation_length = 30
"#;

const NAME: &str = "iqn.2026-12.dev.reel:sim.iscsi01";
const DISK: &str = "iqn.2026-12.dev.reel:sim.iscsi01.testdisk";

fn target_with(f: impl FnOnce(&mut IscsiConfig)) -> Running {
    let mut cfg = IscsiConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.test_disk = Some(8 << 20);
    f(&mut cfg);
    spawn(lib(LAYOUT), &cfg).expect("target starts")
}

fn target() -> Running {
    target_with(|_| {})
}

fn login(t: &Running, name: &str) -> Initiator {
    Initiator::login(t.addr, &Options::new(Some(name))).expect("login")
}

/// A session with its own ISID (a second login with the same ISID replaces the first).
fn login_isid(t: &Running, name: &str, isid: u8) -> Initiator {
    let mut o = Options::new(Some(name));
    o.isid[5] = isid;
    Initiator::login(t.addr, &o).expect("login")
}

fn sense3(r: &reel_sim::iscsi::initiator::Response) -> (u8, u8, u8) {
    (r.sense[2] & 0x0F, r.sense[12], r.sense[13])
}

const TUR: [u8; 6] = [0; 6];
const INQUIRY: [u8; 6] = [0x12, 0, 0, 0, 96, 0];

/// The target is still healthy: a fresh session runs a command.
fn healthy(t: &Running) {
    let mut i = login(t, DISK);
    let r = i.command(0, &TUR, Data::None).unwrap();
    assert_eq!(r.status, 0);
}

#[test]
fn names_and_luns_as_the_spec_sets_them() {
    let t = target();
    assert_eq!(t.names, vec![NAME.to_owned(), DISK.to_owned()]);
    let mut d = Initiator::login(t.addr, &Options::new(None)).unwrap();
    let st = d.send_targets("All").unwrap();
    let addr = format!("{},1", t.addr);
    assert_eq!(
        st,
        vec![
            ("TargetName".to_owned(), NAME.to_owned()),
            ("TargetAddress".to_owned(), addr.clone()),
            ("TargetName".to_owned(), DISK.to_owned()),
            ("TargetAddress".to_owned(), addr),
        ]
    );
    assert_eq!(d.logout().unwrap(), 0);

    let mut i = login(&t, NAME);
    // REPORT LUNS: the changer and the two present drives (the empty bay has no LUN).
    let r = i
        .command(0, &[0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], Data::In(256))
        .unwrap();
    assert_eq!(r.status, 0);
    assert_eq!(
        r.data,
        [
            &[0, 0, 0, 24, 0, 0, 0, 0][..],
            &[0; 8],
            &[0, 1, 0, 0, 0, 0, 0, 0],
            &[0, 2, 0, 0, 0, 0, 0, 0]
        ]
        .concat()
    );
    assert!(r.underflow && r.residual == 256 - 32);
    // Peripheral types and serials per LUN; every device starts with 06/29/00 per nexus.
    for (lun, ty, serial) in [(0u16, 8u8, "ISCSI01"), (1, 1, "DRV0001"), (2, 1, "DRV0003")] {
        let r = i.command(lun_field(lun), &TUR, Data::None).unwrap();
        assert_eq!((r.status, sense3(&r)), (2, (6, 0x29, 0)), "LUN {lun}");
        let r = i.command(lun_field(lun), &INQUIRY, Data::In(96)).unwrap();
        assert_eq!(r.data[0], ty, "LUN {lun}");
        // max_allocation_length = 30 cuts the reply: a real residual shows it.
        assert_eq!(r.data.len(), 30);
        assert!(r.underflow && r.residual == 66 && r.collapsed);
        let r = i
            .command(lun_field(lun), &[0x12, 1, 0x80, 0, 40, 0], Data::In(40))
            .unwrap();
        assert_eq!(&r.data[4..], serial.as_bytes(), "LUN {lun}");
    }
    // A LUN that does not exist: INQUIRY with qualifier 3, others 05/25/00.
    let r = i.command(lun_field(7), &INQUIRY, Data::In(96)).unwrap();
    assert_eq!(r.data[0], 0x7F);
    let r = i.command(lun_field(7), &TUR, Data::None).unwrap();
    assert_eq!(sense3(&r), (5, 0x25, 0));
    // Unsupported opcode on a tape LUN: exactly 05/20/00, in a SCSI Response with sense.
    let r = i
        .command(lun_field(1), &[0xC1, 0, 0, 0, 0, 0], Data::None)
        .unwrap();
    assert_eq!((r.status, sense3(&r)), (2, (5, 0x20, 0)));
    // An empty drive: NOT READY 3A/00 (QEMU opens the LUN on this).
    let r = i.command(lun_field(1), &TUR, Data::None).unwrap();
    assert_eq!(sense3(&r), (2, 0x3A, 0));
    assert_eq!(i.logout().unwrap(), 0);
}

#[test]
fn both_login_starts_chap_and_digests() {
    let t = target_with(|c| {
        c.chap = Some(Chap {
            user: "reel".to_owned(),
            secret: "twelve-chars-secret".to_owned(),
        });
    });
    // (security stage, chap credentials, header digest, data digest) → login works
    type Case<'a> = (bool, Option<(&'a str, &'a str)>, bool, bool);
    let good: &[Case] = &[
        (true, Some(("reel", "twelve-chars-secret")), false, false),
        (true, Some(("reel", "twelve-chars-secret")), true, true),
        (false, Some(("reel", "twelve-chars-secret")), true, false),
    ];
    for &(sec, chap, h, d) in good {
        let mut o = Options::new(Some(DISK));
        o.security_stage = sec;
        o.chap = chap.map(|(u, s)| (u.to_owned(), s.to_owned()));
        o.header_digest = h;
        o.data_digest = d;
        let mut i = Initiator::login(t.addr, &o).unwrap();
        assert_eq!(i.digests(), Digests { header: h, data: d });
        let block: Vec<u8> = (0..4096u32).map(|x| x as u8).collect();
        let w = i
            .command(0, &[0x2A, 0, 0, 0, 0, 8, 0, 0, 8, 0], Data::Out(&block))
            .unwrap();
        assert_eq!(w.status, 0);
        let r = i
            .command(0, &[0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0], Data::In(4096))
            .unwrap();
        assert_eq!(r.data, block);
    }
    // Bad credentials, or none at all, fail with 02/01 and leave the target serving.
    let bad: &[Option<(&str, &str)>] = &[
        Some(("reel", "wrong-secret-wrong")),
        Some(("mallory", "twelve-chars-secret")),
        None,
    ];
    for chap in bad {
        let mut o = Options::new(Some(DISK));
        o.security_stage = true;
        o.chap = chap.map(|(u, s)| (u.to_owned(), s.to_owned()));
        match Initiator::login(t.addr, &o) {
            Err(InitiatorError::Login(0x0201)) => {}
            other => panic!("{chap:?}: {other:?}"),
        }
    }
    let mut o = Options::new(Some(DISK));
    o.chap = Some(("reel".to_owned(), "twelve-chars-secret".to_owned()));
    let mut i = Initiator::login(t.addr, &o).unwrap();
    assert_eq!(i.command(0, &TUR, Data::None).unwrap().status, 0);
}

#[test]
fn writes_through_r2t_immediate_and_unsolicited_data() {
    let t = target();
    let data: Vec<u8> = (0..(3 << 20) + 512).map(|x: u32| (x * 7) as u8).collect();
    let blocks = (data.len() / 512) as u16;
    // (InitialR2T, ImmediateData, our MaxRecvDataSegmentLength, digests)
    let cases = [
        (true, false, 8192, false),
        (false, true, 262_144, false),
        (false, false, 4096, true),
        (true, true, 65_536, true),
    ];
    for (r2t, imm, mrdsl, dig) in cases {
        let mut o = Options::new(Some(DISK));
        o.initial_r2t = r2t;
        o.immediate_data = imm;
        o.max_recv_segment = mrdsl;
        o.header_digest = dig;
        o.data_digest = dig;
        let mut i = Initiator::login(t.addr, &o).unwrap();
        let n = blocks.to_be_bytes();
        let w = i
            .command(
                0,
                &[0x2A, 0, 0, 0, 0, 0, 0, n[0], n[1], 0],
                Data::Out(&data),
            )
            .unwrap();
        assert_eq!((w.status, w.overflow, w.underflow), (0, false, false));
        let r = i
            .command(
                0,
                &[0x28, 0, 0, 0, 0, 0, 0, n[0], n[1], 0],
                Data::In(data.len() as u32),
            )
            .unwrap();
        assert!(r.data == data, "{r2t} {imm} {mrdsl}");
        // Data-In follows the initiator's MaxRecvDataSegmentLength.
        assert_eq!(r.data_in_pdus as usize, data.len().div_ceil(mrdsl as usize));
        assert!(r.collapsed);
    }
}

#[test]
fn nop_is_answered_while_a_long_command_runs() {
    let t = target();
    let mut mover = login(&t, NAME);
    let _ = mover.command(0, &TUR, Data::None).unwrap();
    // MOVE MEDIUM slot 1000 → drive 500 takes 1.5 s (move_ms).
    let p = mover.command_pdu(
        0,
        &[0xA5, 0, 0, 1, 0x03, 0xE8, 0x01, 0xF4, 0, 0, 0, 0],
        &Data::None,
        false,
    );
    let started = Instant::now();
    mover.send(&p).unwrap();
    let echo = mover.ping(b"are you there").unwrap();
    assert_eq!(echo, b"are you there");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "NOP waited for the move"
    );
    let r = mover.recv().unwrap();
    let Bhs::ScsiResponse(s) = r.bhs else {
        panic!("{:?}", r.bhs)
    };
    assert_eq!(s.status, 0);
    assert!(started.elapsed() >= Duration::from_millis(1400));
}

#[test]
fn cmdsn_outside_the_window_is_ignored() {
    let t = target();
    let mut i = login(&t, DISK);
    for (offset, what) in [(1000u32, "too high"), (u32::MAX, "too low")] {
        let mut p = i.command_pdu(0, &TUR, &Data::None, false);
        if let Bhs::ScsiCommand(c) = &mut p.bhs {
            c.cmd_sn = c.cmd_sn.wrapping_add(offset);
        }
        i.cmd_sn = i.cmd_sn.wrapping_sub(1);
        i.send(&p).unwrap();
        // No answer to it; the next good command is answered first.
        let r = i.command(0, &TUR, Data::None).unwrap();
        assert_eq!(r.status, 0, "{what}");
    }
    // CmdSN wraps through zero.
    for _ in 0..40 {
        assert_eq!(i.command(0, &TUR, Data::None).unwrap().status, 0);
    }
}

#[test]
fn unit_attentions_and_resets_are_per_nexus() {
    let t = target();
    let mut a = login_isid(&t, NAME, 1);
    let mut b = login_isid(&t, NAME, 2);
    for i in [&mut a, &mut b] {
        let r = i.command(0, &TUR, Data::None).unwrap();
        assert_eq!(sense3(&r), (6, 0x29, 0));
        assert_eq!(i.command(0, &TUR, Data::None).unwrap().status, 0);
    }
    // LOGICAL UNIT RESET from A: both nexuses see 06/29/00 next on the changer.
    assert_eq!(a.task_management(5, 0, 0xFFFF_FFFF, 0).unwrap(), 0);
    for i in [&mut a, &mut b] {
        let r = i.command(0, &TUR, Data::None).unwrap();
        assert_eq!(sense3(&r), (6, 0x29, 0));
    }
    // ABORT TASK for a task long gone: task does not exist; unknown functions: not supported.
    assert_eq!(a.task_management(1, 0, 0x4242, 0x10).unwrap(), 1);
    assert_eq!(a.task_management(7, 0, 0xFFFF_FFFF, 0).unwrap(), 5);
    assert_eq!(
        a.task_management(5, lun_field(9), 0xFFFF_FFFF, 0).unwrap(),
        2
    );
}

#[test]
fn malformed_pdus_never_stop_the_target() {
    let t = target();
    // Its own ISID: a login with the same one would replace it (reinstatement).
    let mut o = Options::new(Some(DISK));
    o.isid[5] = 0xEE;
    let mut bystander = Initiator::login(t.addr, &o).unwrap();
    // Unknown opcode: Reject, and the session goes on.
    let mut i = login(&t, DISK);
    let mut raw = Pdu::new(
        Bhs::NopOut(NopOut {
            immediate: true,
            lun: 0,
            itt: 1,
            ttt: 0xFFFF_FFFF,
            cmd_sn: i.cmd_sn,
            exp_stat_sn: i.exp_stat_sn,
        }),
        vec![],
    )
    .encode(Digests::default());
    raw[0] = 0x1D;
    i.send_raw(&raw).unwrap();
    let r = i.recv().unwrap();
    let Bhs::Reject(j) = r.bhs else { panic!() };
    assert_eq!(j.reason, 0x05);
    assert_eq!(r.data[..48], raw[..48]);
    assert_eq!(i.command(0, &TUR, Data::None).unwrap().status, 0);
    // A data segment over the negotiated MaxRecvDataSegmentLength: Reject, then closed.
    let mut i = login(&t, DISK);
    let mut p = i.command_pdu(0, &TUR, &Data::None, false);
    p.data = vec![0; 300_000];
    i.send(&p).unwrap();
    let r = i.recv().unwrap();
    assert!(matches!(r.bhs, Bhs::Reject(_)));
    assert!(i.recv().is_err(), "connection closed");
    // A login PDU in the full feature phase, garbage bytes, a header cut short.
    let garbage: [&[u8]; 3] = [&[0x43; 48], &[0xFF; 100], &[0x01, 0x80, 0]];
    for g in garbage {
        let mut i = login(&t, DISK);
        i.send_raw(g).unwrap();
        let _ = i.stream().shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        let _ = i.stream().read_to_end(&mut rest);
    }
    // Garbage before login.
    let mut s = std::net::TcpStream::connect(t.addr).unwrap();
    s.write_all(&[0u8; 100]).unwrap();
    let mut rest = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.read_to_end(&mut rest);
    // Write with Data-Out out of sequence: CHECK CONDITION 0B/4B/xx, the session goes on.
    let mut o = Options::new(Some(DISK));
    o.immediate_data = false;
    o.initial_r2t = true;
    let mut i = Initiator::login(t.addr, &o).unwrap();
    let p = i.command_pdu(
        0,
        &[0x2A, 0, 0, 0, 0, 1, 0, 0, 1, 0],
        &Data::Out(&[0; 512]),
        false,
    );
    let Bhs::ScsiCommand(ScsiCommand { itt, .. }) = p.bhs else {
        panic!()
    };
    i.send(&p).unwrap();
    let r2t = i.recv().unwrap();
    let Bhs::R2t(r2t) = r2t.bhs else { panic!() };
    let bad = Pdu::new(
        Bhs::DataOut(reel_sim::iscsi::pdu::DataOut {
            final_: true,
            lun: 0,
            itt,
            ttt: r2t.ttt,
            exp_stat_sn: i.exp_stat_sn,
            data_sn: 27,
            offset: 0,
        }),
        vec![0; 512],
    );
    i.send(&bad).unwrap();
    let r = i.recv().unwrap();
    let Bhs::ScsiResponse(s) = &r.bhs else {
        panic!()
    };
    assert_eq!(
        (s.status, r.data[2 + 2] & 0x0F, r.data[2 + 12]),
        (2, 0x0B, 0x4B)
    );
    assert_eq!(i.command(0, &TUR, Data::None).unwrap().status, 0);
    // The bystander never noticed.
    assert_eq!(bystander.command(0, &TUR, Data::None).unwrap().status, 0);
    healthy(&t);
}

#[test]
fn a_connection_dropped_mid_command_loses_nothing_else() {
    let t = target();
    let mut o = Options::new(Some(DISK));
    o.immediate_data = false;
    o.initial_r2t = true;
    let mut i = Initiator::login(t.addr, &o).unwrap();
    let p = i.command_pdu(
        0,
        &[0x2A, 0, 0, 0, 0, 1, 0, 0, 8, 0],
        &Data::Out(&[1; 4096]),
        false,
    );
    i.send(&p).unwrap();
    let _r2t = i.recv().unwrap();
    drop(i);
    // A long tape move whose initiator goes away: the move still completes.
    let mut m = login(&t, NAME);
    let _ = m.command(0, &TUR, Data::None).unwrap();
    let p = m.command_pdu(
        0,
        &[0xA5, 0, 0, 1, 0x03, 0xE8, 0x01, 0xF4, 0, 0, 0, 0],
        &Data::None,
        false,
    );
    m.send(&p).unwrap();
    drop(m);
    std::thread::sleep(Duration::from_millis(1700));
    let mut m = login(&t, NAME);
    let _ = m.command(0, &TUR, Data::None).unwrap();
    // READ ELEMENT STATUS of drive 500: full.
    let r = m
        .command(
            0,
            &[0xB8, 0x04, 0x01, 0xF4, 0, 1, 0, 0, 0, 40, 0, 0],
            Data::In(40),
        )
        .unwrap();
    assert_eq!(r.status, 0);
    assert_eq!(r.data[16 + 2] & 1, 1, "the cartridge reached the drive");
    healthy(&t);
}

#[test]
fn sixty_four_sessions_at_once() {
    let t = target();
    let addr = t.addr;
    let threads: Vec<_> = (0..64u8)
        .map(|n| {
            std::thread::spawn(move || {
                let mut o = Options::new(Some(if n % 2 == 0 { NAME } else { DISK }));
                o.isid[5] = n;
                o.cmd_sn = u32::from(n) << 24;
                let mut i = Initiator::login(addr, &o).unwrap();
                for _ in 0..20 {
                    let r = i.command(0, &INQUIRY, Data::In(96)).unwrap();
                    assert_eq!(r.status, 0);
                }
                i.logout().unwrap()
            })
        })
        .collect();
    for h in threads {
        assert_eq!(h.join().unwrap(), 0);
    }
    healthy(&t);
}

#[test]
fn an_initiator_that_never_reads_is_dropped_alone() {
    let t = target_with(|c| c.write_timeout = Duration::from_secs(2));
    let mut stuck = login(&t, DISK);
    // Queue reads of 1 MiB each and never read a byte back.
    for _ in 0..30 {
        let p = stuck.command_pdu(
            0,
            &[0x28, 0, 0, 0, 0, 0, 0, 0x08, 0, 0],
            &Data::In(1 << 20),
            false,
        );
        stuck.send(&p).unwrap();
    }
    // Others are served meanwhile.
    let started = Instant::now();
    let mut other = login(&t, DISK);
    for _ in 0..20 {
        let r = other
            .command(0, &[0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], Data::In(4096))
            .unwrap();
        assert_eq!(r.status, 0);
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    // The stuck connection is closed after the write timeout.
    std::thread::sleep(Duration::from_secs(4));
    let s = stuck.stream();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sink = vec![0u8; 1 << 20];
    let mut total = 0usize;
    loop {
        match s.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => panic!("connection not closed: {e} after {total} bytes"),
        }
    }
    assert!(total < 30 << 20, "it was cut off before getting everything");
    healthy(&t);
}

#[test]
fn refuses_to_listen_off_loopback_without_chap() {
    let cfg = IscsiConfig::new("0.0.0.0:0".parse().unwrap());
    let e = spawn(lib(LAYOUT), &cfg).unwrap_err();
    assert!(e.to_string().contains("--iscsi-chap"), "{e}");
}

#[test]
fn a_new_login_with_the_same_isid_replaces_the_old_session() {
    let t = target();
    let mut old = login(&t, NAME);
    let _ = old.command(0, &TUR, Data::None).unwrap();
    let mut new = login(&t, NAME);
    let _ = new.command(0, &TUR, Data::None).unwrap();
    old.stream()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(
        old.command(0, &TUR, Data::None).is_err(),
        "old session closed"
    );
    assert_eq!(new.command(0, &TUR, Data::None).unwrap().status, 0);
}

#[test]
fn tape_reads_with_check_condition_send_data_then_sense_with_the_residual() {
    let t = target();
    let mut i = login_isid(&t, NAME, 0x33);
    let _ = i.command(0, &TUR, Data::None).unwrap();
    // Load ISC001L8 into drive 500 (LUN 1).
    let r = i
        .command(
            0,
            &[0xA5, 0, 0, 1, 0x03, 0xE8, 0x01, 0xF4, 0, 0, 0, 0],
            Data::None,
        )
        .unwrap();
    assert_eq!(r.status, 0);
    let d = lun_field(1);
    let r = i.command(d, &TUR, Data::None).unwrap();
    assert_eq!(sense3(&r), (6, 0x29, 0), "power-on first");
    assert_eq!(i.command(d, &TUR, Data::None).unwrap().status, 0);
    let block: Vec<u8> = (0..3000u32).map(|x| x as u8).collect();
    let w = i
        .command(d, &[0x0A, 0, 0, 0x0B, 0xB8, 0], Data::Out(&block))
        .unwrap();
    assert_eq!(w.status, 0);
    assert_eq!(
        i.command(d, &[0x10, 0, 0, 0, 1, 0], Data::None)
            .unwrap()
            .status,
        0
    );
    assert_eq!(
        i.command(d, &[0x01, 0, 0, 0, 0, 0], Data::None)
            .unwrap()
            .status,
        0
    );
    // Ask 4000 bytes of a 3000-byte block: the data in Data-In, then a SCSI Response with
    // CHECK CONDITION, ILI, residue 1000 in INFORMATION, and the U bit with residual 1000.
    let r = i
        .command(d, &[0x08, 0, 0, 0x0F, 0xA0, 0], Data::In(4000))
        .unwrap();
    assert_eq!(r.data, block);
    assert!(
        !r.collapsed,
        "status does not ride in Data-In with CHECK CONDITION"
    );
    assert_eq!((r.status, r.underflow, r.residual), (2, true, 1000));
    assert_eq!(r.sense[2], 0x20, "ILI, NO SENSE");
    assert_eq!(r.sense[3..7], 1000i32.to_be_bytes());
    // The filemark: no data, FILEMARK, 00/01.
    let r = i
        .command(d, &[0x08, 0, 0, 0x0F, 0xA0, 0], Data::In(4000))
        .unwrap();
    assert_eq!(
        (r.status, r.sense[2], r.sense[13], r.data.len()),
        (2, 0x80, 1, 0)
    );
    assert_eq!((r.underflow, r.residual), (true, 4000));
}
