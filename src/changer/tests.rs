//! Driver tests against the scripted transport: exact CDBs, exact command counts.

use std::sync::{Arc, Mutex};

use reel_hw::sense::SenseKey;
use reel_sim::script::{Expect, ScriptedTransport};

use super::*;
use crate::scsi::read_element_status::testutil::{page, report, D};
use crate::scsi::read_element_status::Request;

const ST: ElementType = ElementType::STORAGE;
const DT: ElementType = ElementType::DATA_TRANSFER;
const IE: ElementType = ElementType::IMPORT_EXPORT;
const MT: ElementType = ElementType::TRANSPORT;

fn changer(script: Vec<Expect>, max_alloc: u32) -> Changer<ScriptedTransport> {
    let t = ScriptedTransport::new(script).with_device("/dev/sg5");
    let config = ChangerConfig {
        max_allocation_length: max_alloc,
        ..ChangerConfig::default()
    };
    let mut c = Changer::with_config(t, config);
    c.executor_mut().set_sleeper(|_| {});
    c
}

fn res(ty: ElementType, start: u16, count: u16, voltag: bool, dvcid: bool, alloc: u32) -> Vec<u8> {
    Request {
        voltag,
        dvcid,
        allocation_length: alloc,
        ..Request::new(ty, start, count)
    }
    .cdb()
    .to_vec()
}

fn map(storage: (u16, u16), ie: (u16, u16), dt: (u16, u16)) -> ElementAddressAssignment {
    ElementAddressAssignment {
        transport: ElementRange::new(0, 1),
        storage: ElementRange::new(storage.0, storage.1),
        import_export: ElementRange::new(ie.0, ie.1),
        data_transfer: ElementRange::new(dt.0, dt.1),
    }
}

fn slots(first: u16, n: u16) -> Vec<D> {
    (0..n).map(|i| D::full(first + i, "ABC000L8")).collect()
}

fn addresses(ds: &[ElementDescriptor]) -> Vec<u16> {
    ds.iter().map(|d| d.address).collect()
}

#[test]
fn chunks_never_exceed_the_max_allocation_and_continue_after_the_last_address() {
    // 10 slots of 52-byte descriptors; 172 bytes hold the framing and 3 descriptors.
    let all = report(0x1000, 10, &[page(ST, true, false, 52, &slots(0x1000, 10))]);
    let from = |a: u16| {
        let n = 0x100A - a;
        report(a, n, &[page(ST, true, false, 52, &slots(a, n))])
    };
    let script = vec![
        // First request: the whole range; the device fills 172 bytes (the transport cuts).
        Expect::data(res(ST, 0x1000, 10, true, false, 172), all),
        // Then only as many as fit, from the address after the last one received.
        Expect::data(res(ST, 0x1003, 3, true, false, 172), from(0x1003)),
        Expect::data(res(ST, 0x1006, 3, true, false, 172), from(0x1006)),
        Expect::data(res(ST, 0x1009, 1, true, false, 172), from(0x1009)),
    ];
    let mut c = changer(script, 172);
    let got = c
        .read_elements(
            ST,
            ElementRange::new(0x1000, 10),
            &ReadOptions {
                voltag: true,
                dvcid: false,
            },
        )
        .unwrap();
    assert_eq!(addresses(&got), (0x1000..0x100A).collect::<Vec<_>>());
    assert!(got
        .iter()
        .all(|d| d.primary_tag.as_ref().unwrap().identifier == "ABC000L8"));
    c.into_inner().done();
}

#[test]
fn a_device_that_ignores_the_count_or_the_range_is_trimmed() {
    // Asked for 2 drives, the changer returns 4 drives and (wrongly) a storage page.
    let reply = report(
        0x0100,
        4,
        &[
            page(
                DT,
                false,
                false,
                16,
                &(0..4).map(|i| D::at(0x0100 + i)).collect::<Vec<_>>(),
            ),
            page(ST, false, false, 16, &[D::at(0x1000)]),
        ],
    );
    let script = vec![Expect::data(
        res(DT, 0x0100, 2, false, false, 0xFFFF),
        reply,
    )];
    let mut c = changer(script, 0xFFFF);
    let got = c
        .read_elements(DT, ElementRange::new(0x0100, 2), &ReadOptions::default())
        .unwrap();
    assert_eq!(addresses(&got), vec![0x0100, 0x0101]);
    c.into_inner().done();
}

#[test]
fn a_reply_without_progress_is_an_error_not_a_loop() {
    // The device always answers from the start of the range, whatever the start address.
    let first3 = report(0x1000, 3, &[page(ST, false, false, 16, &slots(0x1000, 3))]);
    // 8 + 8 + 3*16 = 64 bytes of allocation: 3 per chunk.
    let script = vec![
        Expect::data(res(ST, 0x1000, 6, false, false, 64), first3.clone()),
        Expect::data(res(ST, 0x1003, 3, false, false, 64), first3),
    ];
    let mut c = changer(script, 64);
    let err = c
        .read_elements(ST, ElementRange::new(0x1000, 6), &ReadOptions::default())
        .unwrap_err();
    assert!(matches!(err, DeviceError::Protocol { .. }), "{err:?}");
    assert_eq!(err.op(), "READ ELEMENT STATUS");
    assert!(err.to_string().contains("no progress"), "{err}");
    c.into_inner().done();

    // An allocation too small for even one descriptor's fixed part and tag (40 bytes of 84).
    let big = report(0x1000, 1, &[page(ST, true, false, 84, &slots(0x1000, 1))]);
    let script = vec![Expect::data(res(ST, 0x1000, 1, true, false, 56), big)];
    let mut c = changer(script, 56);
    let err = c
        .read_elements(
            ST,
            ElementRange::new(0x1000, 1),
            &ReadOptions {
                voltag: true,
                dvcid: false,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("fits in 56 bytes"), "{err}");
    c.into_inner().done();
}

#[test]
fn a_last_drive_cut_after_its_tags_is_read_again_once_then_kept() {
    let drive = |a: u16, serial: &str| D::at(a).dvcid(2, 0, serial.as_bytes());
    let from = |a: u16| {
        let ds: Vec<D> = [(500, "REELDRV001"), (501, "REELDRV002")]
            .into_iter()
            .filter(|(x, _)| *x >= a)
            .map(|(x, s)| drive(x, s))
            .collect();
        report(
            a,
            ds.len() as u16,
            &[page(DT, true, false, 12 + 36 + 4 + 10, &ds)],
        )
    };
    let short = |a: u16| {
        let mut v = from(a);
        v.truncate(v.len() - 8);
        v
    };
    let zeros = |a: u16| {
        let mut v = short(a);
        v.extend([0; 8]);
        v
    };
    let opts = ReadOptions {
        voltag: true,
        dvcid: true,
    };
    // (name, replies to the requests from 500 and then from 501, identifier of 501, cut)
    type Case = (&'static str, Vec<Vec<u8>>, &'static [u8], bool);
    let cases: Vec<Case> = vec![
        (
            "tgt: the same cut on the re-read is kept",
            vec![short(500), short(501)],
            b"RE",
            true,
        ),
        (
            "the re-read brings it whole",
            vec![short(500), from(501)],
            b"REELDRV002",
            false,
        ),
        (
            "NUL tail (no residual): kept at once",
            vec![zeros(500)],
            b"RE",
            true,
        ),
    ];
    for (name, replies, id, cut) in cases {
        let script = replies
            .into_iter()
            .zip([500u16, 501])
            .map(|(r, a)| Expect::data(res(DT, a, 502 - a, true, true, 0xFFFF), r))
            .collect();
        let mut c = changer(script, 0xFFFF);
        let got = c
            .read_elements(DT, ElementRange::new(500, 2), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(addresses(&got), [500, 501], "{name}");
        assert_eq!(
            got[0].device_id.as_ref().unwrap().value,
            b"REELDRV001",
            "{name}"
        );
        assert!(!got[0].dvcid_truncated, "{name}");
        assert_eq!(got[1].device_id.as_ref().unwrap().value, id, "{name}");
        assert_eq!(got[1].dvcid_truncated, cut, "{name}");
        c.into_inner().done();
    }
}

#[test]
fn a_last_slot_cut_inside_its_tag_is_read_again_once_then_kept() {
    // tgt 1.0.85: 10 slots of 48 bytes (12 + a 36-byte tag), barcodes REL000L8..REL009L8, the
    // byte counts claiming every slot from the start address, the transfer `short` bytes
    // fewer (the initiator reports the residual).
    let from = |a: u16, short: usize| {
        let ds: Vec<D> = (a..1010)
            .map(|x| D::full(x, &format!("REL{:03}L8", x - 1000)))
            .collect();
        let mut v = report(a, ds.len() as u16, &[page(ST, true, false, 48, &ds)]);
        assert_eq!(v.len(), 16 + ds.len() * 48);
        v.truncate(v.len() - short);
        v
    };
    let zeros = |a: u16| {
        let mut v = from(a, 8);
        v.extend([0; 8]);
        v
    };
    let opts = ReadOptions {
        voltag: true,
        dvcid: false,
    };
    // (name, replies to the requests from 1000 and then from 1009, barcode of 1009, its
    // sequence, tag_truncated)
    type Case = (
        &'static str,
        Vec<Vec<u8>>,
        Option<&'static str>,
        Option<u16>,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "tgt: cut in the padding, the same cut on the re-read is kept",
            vec![from(1000, 8), from(1009, 8)],
            Some("REL009L8"),
            None,
            true,
        ),
        (
            "cut mid-barcode twice: kept without a barcode",
            vec![from(1000, 36 - 4), from(1009, 36 - 4)],
            None,
            None,
            true,
        ),
        (
            "the re-read brings it whole",
            vec![from(1000, 8), from(1009, 0)],
            Some("REL009L8"),
            Some(1),
            false,
        ),
        (
            "no residual: zeros, whole at once",
            vec![zeros(1000)],
            Some("REL009L8"),
            Some(0),
            false,
        ),
    ];
    for (name, replies, tag, sequence, cut) in cases {
        let script = replies
            .into_iter()
            .zip([1000u16, 1009])
            .map(|(r, a)| Expect::data(res(ST, a, 1010 - a, true, false, 0xFFFF), r))
            .collect();
        let mut c = changer(script, 0xFFFF);
        let got = c
            .read_elements(ST, ElementRange::new(1000, 10), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(addresses(&got), (1000..1010).collect::<Vec<_>>(), "{name}");
        for d in &got[..9] {
            let want = format!("REL{:03}L8", d.address - 1000);
            let t = d.primary_tag.as_ref().unwrap();
            assert_eq!(
                (t.identifier.as_str(), t.sequence),
                (&*want, Some(1)),
                "{name}"
            );
            assert!(!d.truncated(), "{name}");
        }
        let last = &got[9];
        assert!(last.full, "{name}");
        let t = last.primary_tag.as_ref();
        assert_eq!(t.map(|t| t.identifier.as_str()), tag, "{name}");
        assert_eq!(t.and_then(|t| t.sequence), sequence, "{name}");
        assert_eq!(last.tag_truncated, cut, "{name}");
        assert_eq!(last.barcode_unknown(), tag.is_none(), "{name}");
        c.into_inner().done();
    }
}

#[test]
fn an_empty_reply_ends_the_series() {
    // Four drive bays announced, two drives installed: the device reports two, then nothing.
    let two = report(
        0x0100,
        2,
        &[page(DT, false, false, 16, &[D::at(0x0100), D::at(0x0101)])],
    );
    let script = vec![
        Expect::data(res(DT, 0x0100, 4, false, false, 0xFFFF), two),
        Expect::data(res(DT, 0x0102, 2, false, false, 0xFFFF), report(0, 0, &[])),
    ];
    let mut c = changer(script, 0xFFFF);
    let got = c
        .read_elements(DT, ElementRange::new(0x0100, 4), &ReadOptions::default())
        .unwrap();
    assert_eq!(addresses(&got), vec![0x0100, 0x0101]);
    c.into_inner().done();
}

#[test]
fn status_reads_each_type_separately_with_dvcid_only_for_drives() {
    let m = map((0x1000, 2), (0x0010, 1), (0x0100, 1));
    let drive = D::full(0x0100, "DRV001L8").dvcid(2, 1, b"IBM     ULT3580-HH8     10WT0345");
    let script = vec![
        Expect::data(
            res(MT, 0, 1, true, false, 0xFFFF),
            report(0, 1, &[page(MT, true, false, 52, &[D::at(0)])]),
        ),
        Expect::data(
            res(ST, 0x1000, 2, true, false, 0xFFFF),
            report(0x1000, 2, &[page(ST, true, false, 52, &slots(0x1000, 2))]),
        ),
        Expect::data(
            res(IE, 0x0010, 1, true, false, 0xFFFF),
            report(0x10, 1, &[page(IE, true, false, 52, &[D::at(0x10)])]),
        ),
        Expect::data(
            res(DT, 0x0100, 1, true, true, 0xFFFF),
            report(0x100, 1, &[page(DT, true, false, 84, &[drive])]),
        ),
    ];
    let mut c = changer(script, 0xFFFF);
    let s = c.status(&m, true).unwrap();
    assert_eq!(addresses(&s.transports), vec![0]);
    assert_eq!(addresses(&s.storage), vec![0x1000, 0x1001]);
    assert_eq!(addresses(&s.import_export), vec![0x10]);
    let d = &s.data_transfer[0];
    assert_eq!(d.primary_tag.as_ref().unwrap().identifier, "DRV001L8");
    assert_eq!(
        d.device_id.as_ref().unwrap().serial().as_deref(),
        Some("10WT0345")
    );
    assert_eq!(s.get(0x1001).unwrap().address, 0x1001);
    assert_eq!(
        c.quirks(),
        Quirks {
            barcode_reader: Some(true),
            dvcid_with_voltag: Some(true),
            dvcid: Some(true),
            mode_sense_10: None
        }
    );
    c.into_inner().done();
}

#[test]
fn voltag_with_dvcid_refused_reads_ids_and_tags_separately_and_remembers() {
    let m = map((0x1000, 0), (0x0010, 0), (0x0100, 2));
    let m = ElementAddressAssignment {
        transport: ElementRange::new(0, 0),
        ..m
    };
    let ids = report(
        0x100,
        2,
        &[page(
            DT,
            false,
            false,
            50,
            &[
                D::full(0x100, "").dvcid(2, 0, b"SERIAL-A"),
                D::at(0x101).dvcid(2, 0, b"SERIAL-B"),
            ],
        )],
    );
    let tags = report(
        0x100,
        2,
        &[page(
            DT,
            true,
            false,
            52,
            &[D::full(0x100, "TAPE01L8"), D::at(0x101)],
        )],
    );
    let refuse = |cdb| Expect::sense(cdb, 0x05, 0x24, 0x00);
    let script = vec![
        refuse(res(DT, 0x100, 2, true, true, 0xFFFF)),
        Expect::data(res(DT, 0x100, 2, false, true, 0xFFFF), ids.clone()),
        Expect::data(res(DT, 0x100, 2, true, false, 0xFFFF), tags.clone()),
        // Second status: straight to the two queries.
        Expect::data(res(DT, 0x100, 2, false, true, 0xFFFF), ids),
        Expect::data(res(DT, 0x100, 2, true, false, 0xFFFF), tags),
    ];
    let mut c = changer(script, 0xFFFF);
    for _ in 0..2 {
        let s = c.status(&m, true).unwrap();
        let d = &s.data_transfer;
        assert_eq!(addresses(d), vec![0x100, 0x101]);
        assert_eq!(
            d[0].device_id.as_ref().unwrap().serial().as_deref(),
            Some("SERIAL-A")
        );
        assert_eq!(
            d[1].device_id.as_ref().unwrap().serial().as_deref(),
            Some("SERIAL-B")
        );
        assert_eq!(d[0].primary_tag.as_ref().unwrap().identifier, "TAPE01L8");
        assert!(d[0].full && !d[1].full);
        assert_eq!(d[1].primary_tag, None);
    }
    assert_eq!(c.quirks().dvcid_with_voltag, Some(false));
    assert_eq!(c.quirks().barcode_reader, Some(true));
    c.into_inner().done();
}

#[test]
fn no_barcode_reader_drops_voltag_for_the_session() {
    let m = ElementAddressAssignment {
        transport: ElementRange::new(0, 0),
        ..map((0x1000, 2), (0, 0), (0x0100, 1))
    };
    let script = vec![
        Expect::sense(res(ST, 0x1000, 2, true, false, 0xFFFF), 0x05, 0x24, 0x00),
        Expect::data(
            res(ST, 0x1000, 2, false, false, 0xFFFF),
            report(0x1000, 2, &[page(ST, false, false, 16, &slots(0x1000, 2))]),
        ),
        // Drives: DVCID without VOLTAG, no refusal dance.
        Expect::data(
            res(DT, 0x0100, 1, false, true, 0xFFFF),
            report(0x100, 1, &[page(DT, false, false, 16, &[D::at(0x100)])]),
        ),
    ];
    let mut c = changer(script, 0xFFFF);
    let s = c.status(&m, true).unwrap();
    assert_eq!(addresses(&s.storage), vec![0x1000, 0x1001]);
    assert!(s.storage.iter().all(|d| d.primary_tag.is_none()));
    assert_eq!(c.quirks().barcode_reader, Some(false));
    c.into_inner().done();
}

#[test]
fn unit_attention_is_retried_and_reported() {
    let cdb = res(ST, 0x1000, 1, false, false, 0xFFFF);
    let script = vec![
        Expect::sense(cdb.clone(), 0x06, 0x28, 0x01),
        Expect::data(
            cdb,
            report(0x1000, 1, &[page(ST, false, false, 16, &slots(0x1000, 1))]),
        ),
    ];
    let mut c = changer(script, 0xFFFF);
    let got = c
        .read_elements(ST, ElementRange::new(0x1000, 1), &ReadOptions::default())
        .unwrap();
    assert_eq!(got.len(), 1);
    let ev = c.take_events();
    assert!(
        matches!(&ev[..], [Event::InventoryMayHaveChanged(s)] if (s.asc, s.ascq) == (0x28, 0x01)),
        "{ev:?}"
    );
    assert!(c.take_events().is_empty());
    c.into_inner().done();
}

#[test]
fn becoming_ready_is_waited_out_and_bounded() {
    let tur = vec![0u8; 6];
    let slept = Arc::new(Mutex::new(Duration::ZERO));
    let config = |wait| ChangerConfig {
        retry: RetryPolicy {
            ready_wait: Duration::from_secs(wait),
            ready_poll: Duration::from_secs(1),
            ..RetryPolicy::default()
        },
        ..ChangerConfig::default()
    };
    // Two "becoming ready" answers, then ready: waited 2 s.
    let t = ScriptedTransport::new(vec![
        Expect::sense(tur.clone(), 0x02, 0x04, 0x01),
        Expect::sense(tur.clone(), 0x02, 0x04, 0x01),
        Expect::good(tur.clone()),
    ]);
    let mut c = Changer::with_config(t, config(3));
    let s2 = Arc::clone(&slept);
    c.executor_mut()
        .set_sleeper(move |d| *s2.lock().unwrap() += d);
    c.test_unit_ready().unwrap();
    assert_eq!(*slept.lock().unwrap(), Duration::from_secs(2));
    assert_eq!(
        c.take_events(),
        vec![Event::BecameReady {
            waited: Duration::from_secs(2)
        }]
    );
    c.into_inner().done();

    // Still becoming ready after the 3 s bound: NotReady.
    let t = ScriptedTransport::new((0..4).map(|_| Expect::sense(tur.clone(), 0x02, 0x04, 0x01)));
    let mut c = Changer::with_config(t, config(3));
    c.executor_mut().set_sleeper(|_| {});
    let err = c.test_unit_ready().unwrap_err();
    assert!(
        matches!(err, DeviceError::NotReady { waited, .. } if waited == Duration::from_secs(3)),
        "{err:?}"
    );
    c.into_inner().done();
}

#[test]
fn move_medium_errors_carry_decoded_sense() {
    let cdb = move_medium::cdb(0, 0x1000, 0x0100, false).to_vec();
    let cases: &[(u8, u8, &str)] = &[
        (0x3B, 0x0E, "Medium source element empty"),
        (0x3B, 0x0D, "Medium destination element full"),
    ];
    for &(asc, ascq, text) in cases {
        let script =
            vec![Expect::sense(cdb.clone(), 0x05, asc, ascq).with_timeout(move_medium::TIMEOUT)];
        let mut c = changer(script, 0xFFFF);
        let err = c.move_medium(0, 0x1000, 0x0100, false).unwrap_err();
        assert!(
            err.is_sense(SenseKey::ILLEGAL_REQUEST, asc, ascq),
            "{err:?}"
        );
        assert_eq!(err.device(), "/dev/sg5");
        assert_eq!(err.op(), "MOVE MEDIUM");
        let msg = err.to_string();
        assert!(
            msg.starts_with("MOVE MEDIUM on /dev/sg5 failed: ILLEGAL REQUEST"),
            "{msg}"
        );
        assert!(msg.contains(text), "{msg}");
        c.into_inner().done();
    }
}

#[test]
fn element_moving_commands_send_exact_cdbs() {
    let script = vec![
        Expect::good(move_medium::cdb(0, 0x1000, 0x0100, true)),
        Expect::good(exchange_medium::cdb(
            0, 0x1000, 0x0100, 0x1001, false, false,
        )),
        Expect::good(position_to_element::cdb(0, 0x1005, false)),
        Expect::good(initialize_element_status::cdb())
            .with_timeout(initialize_element_status::TIMEOUT),
        Expect::good(initialize_element_status::range_cdb(0x1000, 10, false)),
        Expect::good(prevent_allow::cdb(true)),
        Expect::good(prevent_allow::cdb(false)),
        Expect::good([0x1B, 0, 0, 0x10, 0, 0]),
        Expect::good([0x1B, 0, 0, 0x10, 1, 0]),
    ];
    let mut c = changer(script, 0xFFFF);
    c.move_medium(0, 0x1000, 0x0100, true).unwrap();
    c.exchange_medium(0, 0x1000, 0x0100, 0x1001, false, false)
        .unwrap();
    c.position_to_element(0, 0x1005, false).unwrap();
    c.initialize_element_status().unwrap();
    c.initialize_element_status_range(0x1000, 10).unwrap();
    c.prevent_allow(true).unwrap();
    c.prevent_allow(false).unwrap();
    c.open_import_export(0x10).unwrap();
    c.close_import_export(0x10).unwrap();
    c.into_inner().done();
}

#[test]
fn open_close_errors_are_named_for_a_changer() {
    let script = vec![Expect::sense([0x1B, 0, 0, 0x10, 0, 0], 0x05, 0x20, 0x00)];
    let mut c = changer(script, 0xFFFF);
    let err = c.open_import_export(0x10).unwrap_err();
    assert_eq!(err.op(), "OPEN/CLOSE IMPORT/EXPORT ELEMENT");
    c.into_inner().done();
}

fn eaa_reply(form: Form) -> Vec<u8> {
    let page = [
        0x9D, 0x12, 0, 0, 0, 1, 0x10, 0, 0, 50, 0, 0x10, 0, 5, 0x01, 0, 0, 4, 0, 0,
    ];
    let mut v = match form {
        Form::Six => vec![(page.len() + 3) as u8, 0, 0, 0],
        Form::Ten => vec![0, (page.len() + 6) as u8, 0, 0, 0, 0, 0, 0],
    };
    v.extend(page);
    v
}

#[test]
fn element_map_falls_back_to_mode_sense_10_and_remembers() {
    let want = ElementAddressAssignment {
        transport: ElementRange::new(0, 1),
        storage: ElementRange::new(0x1000, 50),
        import_export: ElementRange::new(0x10, 5),
        data_transfer: ElementRange::new(0x100, 4),
    };
    let six = mode_sense::cdb6(0x1D, true, 0xFF);
    let ten = mode_sense::cdb10(0x1D, true, 0xFF);
    let script = vec![
        Expect::sense(six, 0x05, 0x20, 0x00),
        Expect::data(ten, eaa_reply(Form::Ten)),
        Expect::data(ten, eaa_reply(Form::Ten)),
    ];
    let mut c = changer(script, 0xFFFF);
    assert_eq!(c.element_map().unwrap(), want);
    assert_eq!(c.quirks().mode_sense_10, Some(true));
    assert_eq!(c.element_map().unwrap(), want);
    c.into_inner().done();

    // The usual case: one MODE SENSE(6).
    let script = vec![Expect::data(six, eaa_reply(Form::Six))];
    let mut c = changer(script, 0xFFFF);
    assert_eq!(c.element_map().unwrap(), want);
    c.into_inner().done();

    // A reply without the page is a malformed reply, named.
    let script = vec![Expect::data(six, vec![3, 0, 0, 0])];
    let mut c = changer(script, 0xFFFF);
    let err = c.element_map().unwrap_err();
    assert!(
        matches!(
            &err,
            DeviceError::Malformed {
                source: ParseError::Missing(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.op(), "MODE SENSE(6)");
    c.into_inner().done();
}

#[test]
fn capabilities_are_optional() {
    let six = mode_sense::cdb6(0x1F, true, 0xFF);
    let ten = mode_sense::cdb10(0x1F, true, 0xFF);
    let script = vec![
        Expect::sense(six, 0x05, 0x24, 0x00),
        Expect::sense(ten, 0x05, 0x20, 0x00),
    ];
    let mut c = changer(script, 0xFFFF);
    assert_eq!(c.capabilities().unwrap(), None);
    c.into_inner().done();

    let mut page = vec![0x1F, 0x12, 0x0E, 0, 0x0E, 0x0E, 0x0E, 0x0E];
    page.resize(20, 0);
    let mut reply = vec![(page.len() + 3) as u8, 0, 0, 0];
    reply.extend(page);
    let mut c = changer(vec![Expect::data(six, reply)], 0xFFFF);
    let caps = c.capabilities().unwrap().unwrap();
    assert!(caps.can_move(ST, DT) && caps.can_store(ST) && !caps.can_store(MT));
    c.into_inner().done();
}

#[test]
fn identify_reads_inquiry_serial_and_designators() {
    let mut std = vec![0x08, 0x80, 0x05, 0x02, 0x1F, 0, 0, 0];
    std.extend_from_slice(b"ACME    TapeLib 3000    0100");
    let serial = [&[0x08, 0x80, 0x00, 0x08][..], b"LIB12345"].concat();
    let ident = [
        &[0x08, 0x83, 0x00, 0x0C, 0x02, 0x00, 0x00, 0x08][..],
        b"LIB12345",
    ]
    .concat();
    let script = vec![
        Expect::data(inquiry::standard_cdb(96), std.clone()),
        Expect::data(inquiry::vpd_cdb(0x80, 255), serial),
        Expect::data(inquiry::vpd_cdb(0x83, 255), ident),
    ];
    let mut c = changer(script, 0xFFFF);
    let id = c.identify().unwrap();
    assert_eq!(id.inquiry.vendor, "ACME");
    assert_eq!(id.inquiry.peripheral_type, PeripheralType::MEDIUM_CHANGER);
    assert_eq!(id.serial.as_deref(), Some("LIB12345"));
    assert_eq!(id.designators.len(), 1);
    c.into_inner().done();

    // No VPD pages: left out. A long 0x83 page is re-read with the announced length.
    let mut long = vec![0x08, 0x83, 0x01, 0x04];
    for _ in 0..26 {
        long.extend([0x02, 0x00, 0x00, 0x06]);
        long.extend(b"ABCDEF");
    }
    assert_eq!(long.len(), 4 + 260);
    let script = vec![
        Expect::data(inquiry::standard_cdb(96), std),
        Expect::sense(inquiry::vpd_cdb(0x80, 255), 0x05, 0x24, 0x00),
        Expect::data(inquiry::vpd_cdb(0x83, 255), long.clone()),
        Expect::data(inquiry::vpd_cdb(0x83, 264), long),
    ];
    let mut c = changer(script, 0xFFFF);
    let id = c.identify().unwrap();
    assert_eq!(id.serial, None);
    assert_eq!(id.designators.len(), 26);
    c.into_inner().done();
}

/// A changer model that answers READ ELEMENT STATUS from a list of element addresses, as a
/// device does: from the start address, up to the count (unless it ignores the count), cut at
/// the allocation length.
#[derive(Debug)]
struct Model {
    ty: ElementType,
    addresses: Vec<u16>,
    descriptor_length: usize,
    ignore_count: bool,
    commands: usize,
    largest_allocation: usize,
}

impl Transport for Model {
    type Error = reel_sim::script::ScriptError;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: reel_hw::DataDirection<'_>,
        _timeout: Duration,
    ) -> Result<reel_hw::Completion, Self::Error> {
        self.commands += 1;
        assert_eq!(cdb[0], 0xB8);
        assert_eq!(cdb[1] & 0x0F, self.ty.0);
        let start = u16::from_be_bytes([cdb[2], cdb[3]]);
        let count = usize::from(u16::from_be_bytes([cdb[4], cdb[5]]));
        let alloc = u32::from_be_bytes([0, cdb[7], cdb[8], cdb[9]]) as usize;
        self.largest_allocation = self.largest_allocation.max(alloc);
        let take = if self.ignore_count { usize::MAX } else { count };
        let sel: Vec<D> = self
            .addresses
            .iter()
            .filter(|&&a| a >= start)
            .take(take)
            .map(|&a| D::full(a, "MODEL1L8"))
            .collect();
        let first = sel.first().map_or(0, |d| d.address);
        let bytes = if sel.is_empty() {
            report(0, 0, &[])
        } else {
            report(
                first,
                sel.len() as u16,
                &[page(self.ty, true, false, self.descriptor_length, &sel)],
            )
        };
        let reel_hw::DataDirection::FromDevice(buf) = data else {
            panic!("READ ELEMENT STATUS without a data-in buffer");
        };
        assert_eq!(buf.len(), alloc, "buffer and allocation length differ");
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(reel_hw::Completion {
            residual: buf.len() - n,
            ..reel_hw::Completion::good()
        })
    }
}

proptest::proptest! {
    #[test]
    fn chunked_reads_return_every_element_within_the_allocation_bound(
        dl in proptest::sample::select(vec![16usize, 52, 84]),
        extra in 0u32..2000,
        first in 0u16..0x2000,
        count in 1u16..80,
        holes in proptest::collection::vec(proptest::bool::weighted(0.1), 80),
        beyond in 0u16..5,
        ignore_count in proptest::bool::ANY,
    ) {
        let max_alloc = 16 + dl as u32 + extra;
        let range = ElementRange::new(first, count);
        // Elements of the range (some missing), plus some past its end.
        let addresses: Vec<u16> = (first..first + count + beyond)
            .filter(|a| !holes[usize::from(a - first) % holes.len()])
            .collect();
        let model = Model {
            ty: ST,
            addresses: addresses.clone(),
            descriptor_length: dl,
            ignore_count,
            commands: 0,
            largest_allocation: 0,
        };
        let config = ChangerConfig { max_allocation_length: max_alloc, ..ChangerConfig::default() };
        let mut c = Changer::with_config(model, config);
        let got = c
            .read_elements(ST, range, &ReadOptions { voltag: true, dvcid: false })
            .unwrap();
        let want: Vec<u16> = addresses.iter().copied().filter(|&a| range.contains(a)).collect();
        proptest::prop_assert_eq!(addresses_of(&got), want.clone());
        let m = c.into_inner();
        proptest::prop_assert!(m.largest_allocation <= max_alloc as usize);
        let per_chunk = ((max_alloc as usize - 16) / dl).max(1);
        // One command per chunk of what exists, plus the first (which may come back cut) and
        // a last empty answer when the range ends in a hole.
        proptest::prop_assert!(
            m.commands <= want.len().div_ceil(per_chunk) + 2,
            "{} commands for {} elements, {} per chunk", m.commands, want.len(), per_chunk
        );
    }
}

fn addresses_of(ds: &[ElementDescriptor]) -> Vec<u16> {
    addresses(ds)
}

#[test]
fn timeouts_follow_the_configuration() {
    let cfg = ChangerConfig {
        command_timeout: Duration::from_secs(420),
        initialize_timeout: Duration::from_secs(7200),
        ..ChangerConfig::default()
    };
    let default = ChangerConfig::default();
    assert_eq!(default.command_timeout, Duration::from_secs(300));
    assert_eq!(default.initialize_timeout, Duration::from_secs(1800));
    let t = ScriptedTransport::new([
        Expect::good(move_medium::cdb(0, 1, 2, false)).with_timeout(Duration::from_secs(420)),
        Expect::good(initialize_element_status::cdb()).with_timeout(Duration::from_secs(7200)),
        Expect::good(test_unit_ready::cdb()).with_timeout(test_unit_ready::TIMEOUT),
        Expect::data(
            res(ST, 0x1000, 1, false, false, 0xFFFF),
            report(0x1000, 1, &[page(ST, false, false, 16, &slots(0x1000, 1))]),
        )
        .with_timeout(Duration::from_secs(420)),
    ]);
    let mut c = Changer::with_config(t, cfg);
    c.move_medium(0, 1, 2, false).unwrap();
    c.initialize_element_status().unwrap();
    c.test_unit_ready().unwrap();
    c.read_elements(ST, ElementRange::new(0x1000, 1), &ReadOptions::default())
        .unwrap();
    c.into_inner().done();
}

#[test]
fn an_inventory_change_during_status_reads_the_library_again() {
    let m = ElementAddressAssignment {
        transport: ElementRange::new(0, 0),
        ..map((0x1000, 2), (0x10, 1), (0, 0))
    };
    let st = || {
        Expect::data(
            res(ST, 0x1000, 2, false, false, 0xFFFF),
            report(0x1000, 2, &[page(ST, false, false, 16, &slots(0x1000, 2))]),
        )
    };
    let ie = |full: bool| {
        let d = if full {
            D::full(0x10, "NEW001L8")
        } else {
            D::at(0x10)
        };
        Expect::data(
            res(IE, 0x10, 1, false, false, 0xFFFF),
            report(0x10, 1, &[page(IE, false, false, 16, &[d])]),
        )
    };
    let script = vec![
        // A UA on the first command of the series: what follows is current, no re-read.
        Expect::sense(res(ST, 0x1000, 2, false, false, 0xFFFF), 0x06, 0x29, 0x00),
        st(),
        ie(false),
        // Second status: the operator used the mail slot between the two queries.
        st(),
        Expect::sense(res(IE, 0x10, 1, false, false, 0xFFFF), 0x06, 0x28, 0x01),
        ie(true),
        st(),
        ie(true),
    ];
    let mut c = changer(script, 0xFFFF);
    let s = c.status(&m, false).unwrap();
    assert!(!s.import_export[0].full);
    assert_eq!(c.take_events().len(), 1);
    let s = c.status(&m, false).unwrap();
    assert!(s.import_export[0].full);
    assert!(matches!(
        &c.take_events()[..],
        [Event::InventoryMayHaveChanged(_)]
    ));
    c.into_inner().done();
}
