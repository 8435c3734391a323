//! Drive driver tests against the scripted transport: exact CDBs, in order, and decoded
//! results.

use std::time::Duration;

use reel_hw::sense::{Sense, SenseKey};
use reel_hw::{DeviceInfo, PeripheralType, ScsiStatus};
use reel_sim::script::{Expect, ScriptedTransport};
use uuid::Uuid;

use super::*;
use crate::scsi::inquiry::DesignatorType;
use crate::scsi::log_sense::TapeAlertFlag;
use crate::scsi::read_attribute::{encode_attributes, AttributeFormat};
use crate::scsi::report_density_support::tests::{density_desc, medium_desc, reply};

const INQ: [u8; 6] = [0x12, 0, 0, 0, 0x60, 0];
const VPD80: [u8; 6] = [0x12, 0x01, 0x80, 0, 0xff, 0];
const VPD83: [u8; 6] = [0x12, 0x01, 0x83, 0, 0xff, 0];
const TUR: [u8; 6] = [0; 6];
const RDS: [u8; 10] = [0x44, 0, 0, 0, 0, 0, 0, 0x20, 0x00, 0];
const RDS_MT: [u8; 10] = [0x44, 0x02, 0, 0, 0, 0, 0, 0x20, 0x00, 0];
const MAM: [u8; 16] = [0x8c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0];
const TAPE_ALERT: [u8; 10] = [0x4d, 0, 0x6e, 0, 0, 0, 0, 0x02, 0x00, 0];

/// A drive whose executor never really sleeps.
fn drive(script: Vec<Expect>) -> Drive<ScriptedTransport> {
    let t = ScriptedTransport::new(script).with_device("/dev/sg4");
    let exec = Executor::new(RetryPolicy::default()).with_sleeper(|_| {});
    Drive::with_executor(t, exec, DriveConfig::default())
}

fn finish(d: Drive<ScriptedTransport>) {
    d.into_inner().done();
}

fn pad(s: &str, n: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(n, b' ');
    v
}

fn standard_inquiry() -> Vec<u8> {
    let mut v = vec![0x01, 0x80, 0x06, 0x02, 91, 0, 0x08, 0];
    v.extend(pad("IBM", 8));
    v.extend(pad("ULT3580-HH8", 16));
    v.extend(pad("N9M1", 4));
    v.resize(96, 0);
    v
}

fn vpd(page: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x01, page];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn designator(code_set: u8, kind: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![code_set, kind, 0, value.len() as u8];
    v.extend_from_slice(value);
    v
}

fn vpd83() -> Vec<u8> {
    let t10 = [
        pad("IBM", 8),
        pad("ULT3580-HH8", 16),
        b"10WT012345".to_vec(),
    ]
    .concat();
    let naa = [0x50, 0x05, 0x07, 0x63, 0x12, 0x34, 0x56, 0x78];
    vpd(
        0x83,
        &[designator(0x02, 0x01, &t10), designator(0x01, 0x03, &naa)].concat(),
    )
}

#[test]
fn identify_sends_inquiry_then_vpd_80_then_83() {
    let mut d = drive(vec![
        Expect::data(INQ, standard_inquiry()).with_timeout(Duration::from_secs(30)),
        Expect::data(VPD80, vpd(0x80, b"  10WT012345")),
        Expect::data(VPD83, vpd83()),
    ]);
    let id = d.identify().unwrap();
    finish(d);
    assert_eq!(id.peripheral_type, PeripheralType::SEQUENTIAL);
    assert_eq!(
        (
            id.vendor.as_str(),
            id.product.as_str(),
            id.revision.as_str()
        ),
        ("IBM", "ULT3580-HH8", "N9M1")
    );
    assert_eq!(id.serial.as_deref(), Some("10WT012345"));
    assert_eq!(id.designators.len(), 2);
    assert_eq!(
        id.designators[0].designator_type,
        DesignatorType::T10_VENDOR_ID
    );
    assert_eq!(id.designators[1].designator_type, DesignatorType::NAA);
    assert_eq!(id.serials(), vec!["10WT012345".to_owned()]);
}

#[test]
fn identify_tolerates_missing_vpd_pages_and_rereads_long_ones() {
    // VPD 0x80 unsupported; VPD 0x83 longer than 255 bytes: re-read with its length.
    let many: Vec<u8> = (0..30u8)
        .flat_map(|i| designator(0x02, 0x00, format!("SERIAL{i:02}").as_bytes()))
        .collect();
    let long83 = vpd(0x83, &many);
    assert!(long83.len() > 255);
    let len = long83.len() as u16;
    let mut d = drive(vec![
        Expect::data(INQ, standard_inquiry()),
        Expect::sense(VPD80, 0x5, 0x24, 0x00),
        Expect::data(VPD83, long83[..255].to_vec()),
        Expect::data(
            [0x12, 0x01, 0x83, (len >> 8) as u8, len as u8, 0],
            long83.clone(),
        ),
    ]);
    let id = d.identify().unwrap();
    finish(d);
    assert_eq!(id.serial, None);
    assert_eq!(id.designators.len(), 30);
    assert_eq!(id.serials()[0], "SERIAL00");
    assert_eq!(id.serials().len(), 30);
}

#[test]
fn identify_reports_other_failures_with_device_and_command() {
    let mut d = drive(vec![
        Expect::data(INQ, standard_inquiry()),
        Expect::sense(VPD80, 0x4, 0x44, 0x00),
    ]);
    let e = d.identify().unwrap_err();
    finish(d);
    assert!(e.is_sense(SenseKey::HARDWARE_ERROR, 0x44, 0x00), "{e:?}");
    assert_eq!((e.device(), e.op()), ("/dev/sg4", "INQUIRY"));
    assert!(!e.is_unsupported());

    let mut d = drive(vec![Expect::data(INQ, standard_inquiry()[..20].to_vec())]);
    let e = d.identify().unwrap_err();
    finish(d);
    assert!(matches!(e, DeviceError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("standard INQUIRY data"), "{e}");
}

#[test]
fn identity_from_enumeration_sends_nothing() {
    let info = DeviceInfo {
        path: "/dev/sg4".into(),
        peripheral_type: PeripheralType::SEQUENTIAL,
        vendor: "HP".into(),
        product: "Ultrium 6-SCSI".into(),
        revision: "35GD".into(),
        serial: Some("HU1234ABCD".into()),
    };
    let id = DriveIdentity::from_device_info(&info);
    assert_eq!(id.serial.as_deref(), Some("HU1234ABCD"));
    assert_eq!(id.serials(), vec!["HU1234ABCD".to_owned()]);
    assert!(id.designators.is_empty());
    let blank = DriveIdentity::from_device_info(&DeviceInfo {
        serial: Some(String::new()),
        ..info
    });
    assert_eq!(blank.serial, None);
}

#[test]
fn readiness_maps_each_sense_to_a_state() {
    let s = |key: u8, asc, ascq| Sense::new(SenseKey(key), asc, ascq);
    let cases: Vec<((u8, u8, u8), Readiness)> = vec![
        ((0x2, 0x3A, 0x00), Readiness::NoMedium),
        ((0x2, 0x3A, 0x02), Readiness::NoMedium),
        ((0x2, 0x04, 0x01), Readiness::BecomingReady),
        (
            (0x2, 0x30, 0x00),
            Readiness::IncompatibleMedium(s(0x2, 0x30, 0x00)),
        ),
        (
            (0x2, 0x30, 0x01),
            Readiness::IncompatibleMedium(s(0x2, 0x30, 0x01)),
        ),
        (
            (0x5, 0x30, 0x02),
            Readiness::IncompatibleMedium(s(0x5, 0x30, 0x02)),
        ),
        ((0x2, 0x30, 0x03), Readiness::CleaningCartridge),
        (
            (0x0, 0x00, 0x17),
            Readiness::NeedsCleaning(s(0x0, 0x00, 0x17)),
        ),
        (
            (0x2, 0x30, 0x07),
            Readiness::NeedsCleaning(s(0x2, 0x30, 0x07)),
        ),
        ((0x2, 0x04, 0x12), Readiness::Offline(s(0x2, 0x04, 0x12))),
        ((0x2, 0x04, 0x03), Readiness::Offline(s(0x2, 0x04, 0x03))),
        ((0x4, 0x44, 0x00), Readiness::Other(s(0x4, 0x44, 0x00))),
        ((0x2, 0x04, 0x02), Readiness::Other(s(0x2, 0x04, 0x02))),
    ];
    for ((key, asc, ascq), want) in cases {
        // One TUR each: becoming ready is reported, not waited out.
        let mut d = drive(vec![
            Expect::sense(TUR, key, asc, ascq).with_timeout(TUR_TIMEOUT)
        ]);
        let got = d.readiness().unwrap();
        finish(d);
        let strip = |r: Readiness| match r {
            Readiness::IncompatibleMedium(x) => {
                Readiness::IncompatibleMedium(Sense::new(x.key, x.asc, x.ascq))
            }
            Readiness::NeedsCleaning(x) => {
                Readiness::NeedsCleaning(Sense::new(x.key, x.asc, x.ascq))
            }
            Readiness::Offline(x) => Readiness::Offline(Sense::new(x.key, x.asc, x.ascq)),
            Readiness::Other(x) => Readiness::Other(Sense::new(x.key, x.asc, x.ascq)),
            r => r,
        };
        assert_eq!(strip(got), want, "{key:x}/{asc:02x}/{ascq:02x}");
    }
}

#[test]
fn readiness_ready_after_unit_attention_and_restores_the_wait_policy() {
    let mut d = drive(vec![
        Expect::sense(TUR, 0x6, 0x28, 0x00),
        Expect::good(TUR),
        // A later command still waits out becoming ready.
        Expect::sense([0x01, 0, 0, 0, 0, 0], 0x2, 0x04, 0x01),
        Expect::good([0x01, 0, 0, 0, 0, 0]),
    ]);
    assert!(d.readiness().unwrap().is_ready());
    let ev = d.take_events();
    assert!(
        matches!(ev.as_slice(), [Event::InventoryMayHaveChanged(_)]),
        "{ev:?}"
    );
    d.rewind(false).unwrap();
    assert!(matches!(
        d.take_events().as_slice(),
        [Event::BecameReady { .. }]
    ));
    finish(d);
}

#[test]
fn readiness_errors_only_when_the_state_is_unknown() {
    let mut d = drive(
        (0..4)
            .map(|_| Expect::status(TUR, ScsiStatus::BUSY))
            .collect(),
    );
    let e = d.readiness().unwrap_err();
    finish(d);
    assert!(
        matches!(
            e,
            DeviceError::Status {
                status: ScsiStatus::BUSY,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.op(), "TEST UNIT READY");

    let mut d = drive(vec![Expect::check(TUR, vec![0x00, 0x01])]);
    let e = d.readiness().unwrap_err();
    finish(d);
    assert!(matches!(e, DeviceError::UndecodableSense { .. }), "{e:?}");
}

#[test]
fn densities_and_medium_types() {
    let d8 = density_desc(0x5e, 0xa0, 12_000_000, "U-832", "Ultrium 8/16T");
    let d7 = density_desc(0x5c, 0x80, 6_000_000, "U-732", "Ultrium 7/16T");
    let m8 = medium_desc(0x88, &[0x5e], "LTO-8", "Ultrium 8");
    let m7 = medium_desc(0x78, &[0x5c, 0x5d, 0x5e], "LTO-7", "Ultrium 7");
    let mut d = drive(vec![
        Expect::data(RDS, reply(2 + 104, &[d8.clone(), d7])).with_timeout(Duration::from_secs(60)),
        Expect::data(RDS_MT, reply(2 + 112, &[m8, m7])),
        Expect::data(
            [0x44, 0x01, 0, 0, 0, 0, 0, 0x20, 0x00, 0],
            reply(2 + 52, std::slice::from_ref(&d8)),
        ),
        Expect::sense([0x44, 0x03, 0, 0, 0, 0, 0, 0x20, 0x00, 0], 0x2, 0x3A, 0x00),
    ]);
    let dens = d.densities(false).unwrap();
    assert_eq!(
        dens.iter().map(|x| x.primary).collect::<Vec<_>>(),
        [DensityCode::LTO8, DensityCode::LTO7]
    );
    assert!(dens[0].default && dens[0].writable && dens[1].writable && !dens[1].default);
    let types = d.medium_types(false).unwrap();
    assert_eq!(types.len(), 2);
    assert_eq!(types[1].name, "LTO-7");
    assert_eq!(
        types[1].density_codes,
        [
            DensityCode::LTO7,
            DensityCode::LTO7_TYPE_M,
            DensityCode::LTO8
        ]
    );
    assert_eq!(d.densities(true).unwrap().len(), 1);
    let e = d.medium_types(true).unwrap_err();
    assert!(e.is_no_medium() && !e.is_unsupported(), "{e:?}");
    finish(d);
}

#[test]
fn truncated_density_report_is_reread_once_with_the_largest_allocation() {
    let descs: Vec<Vec<u8>> = (0..3)
        .map(|i| density_desc(0x40 + 2 * i, 0x80, 100_000, "U-18", "Ultrium"))
        .collect();
    let full = reply(2 + 156, &descs);
    let config = DriveConfig {
        density_allocation: 100,
        ..DriveConfig::default()
    };
    let t = ScriptedTransport::new([
        Expect::data([0x44, 0, 0, 0, 0, 0, 0, 0, 100, 0], full[..100].to_vec()),
        Expect::data([0x44, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0], full.clone()),
    ]);
    let mut d = Drive::with_executor(t, Executor::default(), config);
    assert_eq!(d.densities(false).unwrap().len(), 3);
    finish(d);
}

#[test]
fn a_density_report_still_cut_at_the_largest_allocation_is_an_error() {
    let descs: Vec<Vec<u8>> = (0..3)
        .map(|i| density_desc(0x40 + 2 * i, 0x80, 100_000, "U-18", "Ultrium"))
        .collect();
    let full = reply(2 + 156, &descs);
    // (bytes the device sends to the re-read, whole list)
    for (sent, whole) in [(full.len(), true), (100, false), (4, false)] {
        let t = ScriptedTransport::new([
            Expect::data([0x44, 0, 0, 0, 0, 0, 0, 0, 100, 0], full[..100].to_vec()),
            Expect::data(
                [0x44, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0],
                full[..sent].to_vec(),
            ),
        ]);
        let config = DriveConfig {
            density_allocation: 100,
            ..DriveConfig::default()
        };
        let mut d = Drive::with_executor(t, Executor::default(), config);
        match (d.densities(false), whole) {
            (Ok(v), true) => assert_eq!(v.len(), 3),
            (Err(DeviceError::Protocol { op, reason, .. }), false) => {
                assert_eq!(op, "REPORT DENSITY SUPPORT");
                assert_eq!(
                    reason,
                    format!(
                        "REPORT DENSITY SUPPORT reply cut short at {sent} bytes; the list would be incomplete"
                    )
                );
            }
            (got, _) => panic!("{sent} bytes: got {got:?}"),
        }
        finish(d);
    }
}

#[test]
fn unsupported_report_density_support_is_recognisable() {
    for (key, asc, ascq, unsupported) in [
        (0x5, 0x20, 0x00, true),
        (0x5, 0x24, 0x00, true),
        (0x5, 0x26, 0x00, false),
        (0x3, 0x20, 0x00, false),
    ] {
        let mut d = drive(vec![Expect::sense(RDS_MT, key, asc, ascq)]);
        let e = d.medium_types(false).unwrap_err();
        finish(d);
        assert_eq!(
            e.is_unsupported(),
            unsupported,
            "{key:x}/{asc:02x}/{ascq:02x}"
        );
        assert_eq!(e.op(), "REPORT DENSITY SUPPORT");
        assert!(matches!(e, DeviceError::Check { .. }));
    }
}

#[test]
fn motion_commands_send_exact_cdbs_and_timeouts() {
    let min = |m: u64| Duration::from_secs(60 * m);
    let mut d = drive(vec![
        Expect::good([0x1b, 0, 0, 0, 0x01, 0]).with_timeout(min(30)),
        Expect::good([0x1b, 0x01, 0, 0, 0x01, 0]).with_timeout(min(30)),
        Expect::good([0x1b, 0, 0, 0, 0x00, 0]).with_timeout(min(30)),
        Expect::good([0x01, 0, 0, 0, 0, 0]).with_timeout(min(10)),
        Expect::good([0x01, 0x01, 0, 0, 0, 0]).with_timeout(min(10)),
        Expect::sense([0x1b, 0x01, 0, 0, 0x00, 0], 0x5, 0x53, 0x02),
    ]);
    d.load(false).unwrap();
    d.load(true).unwrap();
    d.unload(false).unwrap();
    d.rewind(false).unwrap();
    d.rewind(true).unwrap();
    let e = d.unload(true).unwrap_err();
    assert!(e.is_sense(SenseKey::ILLEGAL_REQUEST, 0x53, 0x02));
    assert_eq!(e.op(), "LOAD UNLOAD");
    finish(d);
}

#[test]
fn block_limits_and_positions() {
    let mut short = vec![
        0x80, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    short[0] = 0x00;
    let mut long = vec![0u8; 32];
    long[7] = 1;
    long[15] = 42;
    long[23] = 3;
    let mut d = drive(vec![
        Expect::data([0x05, 0, 0, 0, 0, 0], [0x00, 0x80, 0x00, 0x00, 0x00, 0x01]),
        Expect::data([0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], short),
        Expect::data([0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0], long),
        Expect::data([0x05, 0, 0, 0, 0, 0], [0x00, 0x80, 0x00]),
    ]);
    let bl = d.block_limits().unwrap();
    assert_eq!((bl.max_block_length, bl.min_block_length), (0x80_0000, 1));
    let p = d.position().unwrap();
    assert_eq!(
        (p.bop, p.first_block, p.last_block),
        (false, Some(7), Some(7))
    );
    let l = d.long_position().unwrap();
    assert_eq!(
        (l.partition, l.block_number, l.file_number),
        (1, Some(42), Some(3))
    );
    let e = d.block_limits().unwrap_err();
    assert!(
        matches!(
            &e,
            DeviceError::Malformed {
                source: ParseError::Truncated {
                    what: "block limits",
                    ..
                },
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.op(), "READ BLOCK LIMITS");
    finish(d);
}

const VPDB3: [u8; 6] = [0x12, 0x01, 0xb3, 0, 0xff, 0];
const VPDB4: [u8; 6] = [0x12, 0x01, 0xb4, 0, 0xff, 0];

/// The sense an error case expects.
type Failure = (SenseKey, u8, u8);

/// What the script answers to one command: a reply, or CHECK CONDITION with this sense.
#[derive(Clone)]
enum Answer {
    Data(Vec<u8>),
    Sense(u8, u8, u8),
}

impl Answer {
    fn to(self, cdb: [u8; 6]) -> Expect {
        match self {
            Answer::Data(d) => Expect::data(cdb, d),
            Answer::Sense(k, a, q) => Expect::sense(cdb, k, a, q),
        }
    }
}

#[test]
fn inquiry_sends_inquiry_and_vpd_80_only() {
    use Answer::*;
    // (VPD 0x80 answer, serial or the sense of the error)
    let cases: Vec<(Answer, Result<Option<&str>, Failure>)> = vec![
        (Data(vpd(0x80, b"  10WT012345")), Ok(Some("10WT012345"))),
        (Data(vpd(0x80, b"    ")), Ok(None)),
        (Sense(0x5, 0x24, 0x00), Ok(None)),
        // Any ILLEGAL REQUEST is a refused page, not only 24/00.
        (Sense(0x5, 0x25, 0x00), Ok(None)),
        (
            Sense(0x4, 0x44, 0x00),
            Err((SenseKey::HARDWARE_ERROR, 0x44, 0x00)),
        ),
    ];
    for (answer, want) in cases {
        let mut d = drive(vec![
            Expect::data(INQ, standard_inquiry()),
            answer.to(VPD80),
        ]);
        let got = d.inquiry();
        finish(d);
        match (got, want) {
            (Ok(id), Ok(serial)) => {
                assert_eq!(id.serial.as_deref(), serial);
                assert_eq!(
                    (id.vendor.as_str(), id.product.as_str()),
                    ("IBM", "ULT3580-HH8")
                );
                assert_eq!(id.peripheral_type, PeripheralType::SEQUENTIAL);
                assert!(id.designators.is_empty());
            }
            (Err(e), Err((key, asc, ascq))) => {
                assert!(e.is_sense(key, asc, ascq), "{e:?}");
                assert_eq!(e.op(), "INQUIRY");
            }
            (got, want) => panic!("{got:?}, want {want:?}"),
        }
    }
}

#[test]
fn designators_alone_send_vpd_83_only() {
    use Answer::*;
    // (VPD 0x83 answer, designator count or the sense of the error)
    let cases: Vec<(Answer, Result<Option<usize>, Failure>)> = vec![
        (Data(vpd83()), Ok(Some(2))),
        (Data(vpd(0x83, &[])), Ok(Some(0))),
        (Sense(0x5, 0x24, 0x00), Ok(None)),
        (Sense(0x5, 0x20, 0x00), Ok(None)),
        (
            Sense(0x3, 0x11, 0x00),
            Err((SenseKey::MEDIUM_ERROR, 0x11, 0x00)),
        ),
    ];
    for (answer, want) in cases {
        let mut d = drive(vec![answer.to(VPD83)]);
        let got = d.designators();
        finish(d);
        match (got, want) {
            (Ok(list), Ok(n)) => assert_eq!(list.map(|l| l.len()), n),
            (Err(e), Err((key, asc, ascq))) => assert!(e.is_sense(key, asc, ascq), "{e:?}"),
            (got, want) => panic!("{got:?}, want {want:?}"),
        }
    }

    let mut d = drive(vec![Expect::data(
        VPD83,
        vpd(0x83, &[0x02, 0x00, 0, 8, b'A']),
    )]);
    let e = d.designators().unwrap_err();
    finish(d);
    assert!(matches!(e, DeviceError::Malformed { .. }), "{e:?}");
}

#[test]
fn automation_ids_read_vpd_b4_then_b3() {
    use Answer::*;
    let b4 = || Data(vpd(0xb4, &[0, 0, 0x01, 0x02]));
    // (VPD 0xB4 answer, VPD 0xB3 answer if asked, expected ids or the sense of the error)
    type Want = Result<Option<(u16, Option<&'static str>)>, Failure>;
    let cases: Vec<(Answer, Option<Answer>, Want)> = vec![
        (
            b4(),
            Some(Data(vpd(0xb3, b"LIB0001234  "))),
            Ok(Some((0x0102, Some("LIB0001234")))),
        ),
        (
            b4(),
            Some(Data(vpd(0xb3, b"    "))),
            Ok(Some((0x0102, None))),
        ),
        (b4(), Some(Sense(0x5, 0x24, 0x00)), Ok(Some((0x0102, None)))),
        // A 0xB3 that does not parse (another page answered) leaves only the address.
        (b4(), Some(Data(vpd(0x80, b"X"))), Ok(Some((0x0102, None)))),
        (
            b4(),
            Some(Sense(0x4, 0x44, 0x00)),
            Err((SenseKey::HARDWARE_ERROR, 0x44, 0x00)),
        ),
        (Sense(0x5, 0x24, 0x00), None, Ok(None)),
        (
            Sense(0x2, 0x04, 0x03),
            None,
            Err((SenseKey::NOT_READY, 0x04, 0x03)),
        ),
    ];
    for (b4_answer, b3_answer, want) in cases {
        let mut script = vec![b4_answer.to(VPDB4)];
        script.extend(b3_answer.map(|a| a.to(VPDB3)));
        let mut d = drive(script);
        let got = d.automation_ids();
        finish(d);
        match (got, want) {
            (Ok(ids), Ok(w)) => assert_eq!(
                ids,
                w.map(|(element_address, serial)| AutomationIds {
                    element_address,
                    library_serial: serial.map(str::to_owned),
                })
            ),
            (Err(e), Err((key, asc, ascq))) => assert!(e.is_sense(key, asc, ascq), "{e:?}"),
            (got, want) => panic!("{got:?}, want {want:?}"),
        }
    }

    // An element address page without the address is malformed, and 0xB3 is not asked.
    let mut d = drive(vec![Expect::data(VPDB4, vpd(0xb4, &[0]))]);
    let e = d.automation_ids().unwrap_err();
    finish(d);
    assert!(matches!(e, DeviceError::Malformed { .. }), "{e:?}");
}

#[test]
fn read_attributes_sends_one_command_from_the_first_identifier() {
    const MAM_0400: [u8; 16] = [0x8c, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x00, 0, 0, 0x40, 0, 0, 0];
    let medium: Vec<Attribute> = realistic_mam()
        .into_iter()
        .filter(|a| a.id.0 >= 0x0400)
        .collect();
    let whole = encode_attributes(&medium).unwrap();
    let mut d = drive(vec![
        Expect::data(MAM_0400, whole.clone()).with_timeout(Duration::from_secs(60)),
        // A cut reply is taken as it is, with no continuation.
        Expect::data(MAM_0400, whole[..60].to_vec()),
        Expect::sense(MAM_0400, 0x2, 0x3A, 0x00),
    ]);
    let list = d.read_attributes(AttributeId(0x0400)).unwrap();
    assert_eq!(list.attributes, medium);
    assert!(!list.truncated);
    assert_eq!(list.barcode().as_deref(), Some("ABC123L8"));
    let cut = d.read_attributes(AttributeId(0x0400)).unwrap();
    assert!(cut.truncated);
    assert!(cut.attributes.len() < medium.len());
    let e = d.read_attributes(AttributeId(0x0400)).unwrap_err();
    finish(d);
    assert!(e.is_no_medium(), "{e:?}");
}

const GUID: &str = "6f1c1a52-3b1e-4c55-9a51-8d2e0b7c9f10";

fn realistic_mam() -> Vec<Attribute> {
    let ro = |a: Attribute| Attribute {
        read_only: true,
        ..a
    };
    vec![
        ro(Attribute::binary(
            AttributeId::REMAINING_CAPACITY,
            11_000_000u64.to_be_bytes(),
        )),
        ro(Attribute::binary(
            AttributeId::MAXIMUM_CAPACITY,
            11_444_224u64.to_be_bytes(),
        )),
        ro(Attribute::binary(
            AttributeId::LOAD_COUNT,
            17u64.to_be_bytes(),
        )),
        ro(Attribute::ascii(
            AttributeId::MEDIUM_MANUFACTURER,
            "FUJIFILM",
            8,
        )),
        ro(Attribute::ascii(
            AttributeId::MEDIUM_SERIAL_NUMBER,
            "A1B2C3D4E5",
            32,
        )),
        ro(Attribute::binary(AttributeId::MEDIUM_DENSITY_CODE, [0x5e])),
        ro(Attribute::binary(AttributeId::MEDIUM_TYPE, [0x00])),
        Attribute::ascii(AttributeId::APPLICATION_VENDOR, "REEL", 8),
        Attribute::barcode("ABC123L8"),
        Attribute::media_pool("Nightly Backups"),
        Attribute::media_pool_guid(Uuid::parse_str(GUID).unwrap()),
    ]
}

#[test]
fn read_mam_parses_a_realistic_attribute_list_in_one_command() {
    let bytes = encode_attributes(&realistic_mam()).unwrap();
    let mut d = drive(vec![
        Expect::data(MAM, bytes).with_timeout(Duration::from_secs(60))
    ]);
    let mam = d.read_mam().unwrap().unwrap();
    finish(d);
    assert_eq!(mam.barcode.as_deref(), Some("ABC123L8"));
    assert_eq!(mam.medium_type, Some(MamMediumType::DATA));
    assert_eq!(mam.density_code, Some(DensityCode::LTO8));
    assert_eq!(mam.medium_serial.as_deref(), Some("A1B2C3D4E5"));
    assert_eq!(mam.pool_name.as_deref(), Some("Nightly Backups"));
    assert_eq!(mam.pool_guid, Some(Uuid::parse_str(GUID).unwrap()));
    assert_eq!(mam.attributes.attributes.len(), 11);
    assert!(!mam.attributes.truncated);
}

#[test]
fn read_mam_missing_attributes_and_no_medium() {
    let only_device = encode_attributes(&realistic_mam()[..7]).unwrap();
    let mut d = drive(vec![
        Expect::data(MAM, only_device),
        Expect::sense(MAM, 0x2, 0x3A, 0x00),
    ]);
    let mam = d.read_mam().unwrap().unwrap();
    assert_eq!(
        (mam.barcode, mam.pool_name, mam.pool_guid),
        (None, None, None)
    );
    assert_eq!(mam.density_code, Some(DensityCode::LTO8));
    assert_eq!(d.read_mam().unwrap(), None);
    finish(d);

    let mut d = drive(vec![Expect::sense(MAM, 0x3, 0x11, 0x12)]);
    let e = d.read_mam().unwrap_err();
    finish(d);
    assert!(e.is_sense(SenseKey::MEDIUM_ERROR, 0x11, 0x12));
    assert_eq!(e.op(), "READ ATTRIBUTE");
}

#[test]
fn read_mam_continues_from_the_next_identifier_when_the_reply_does_not_fit() {
    let attrs = realistic_mam();
    let full = encode_attributes(&attrs).unwrap();
    let cdb = |id: u16| {
        let [a, b] = id.to_be_bytes();
        [0x8c, 0, 0, 0, 0, 0, 0, 0, a, b, 0, 0, 0, 200, 0, 0]
    };
    // A device with a 200-byte allocation: each reply lists the attributes from the first
    // identifier on and is cut at 200 bytes.
    let from = |id: u16| {
        let rest: Vec<Attribute> = attrs.iter().filter(|a| a.id.0 >= id).cloned().collect();
        let mut b = encode_attributes(&rest).unwrap();
        b.truncate(200);
        b
    };
    // Expected exchange: 0x0000.. cut inside MEDIA POOL (9 whole attributes, 4 + 151 bytes),
    // then 0x0807.. cut inside the GUID (MEDIA POOL is 165 bytes), then 0x0809.. holds it.
    let script = vec![
        Expect::data(cdb(0x0000), from(0x0000)),
        Expect::data(cdb(0x0807), from(0x0807)),
        Expect::data(cdb(0x0809), from(0x0809)),
    ];
    let config = DriveConfig {
        mam_allocation: 200,
        ..DriveConfig::default()
    };
    let mut d = Drive::with_executor(
        ScriptedTransport::new(script),
        Executor::default(),
        config.clone(),
    );
    let mam = d.read_mam().unwrap().unwrap();
    finish(d);
    assert_eq!(mam.attributes.attributes, attrs);
    assert!(!mam.attributes.truncated);
    assert_eq!(mam.barcode.as_deref(), Some("ABC123L8"));
    assert_eq!(mam.pool_name.as_deref(), Some("Nightly Backups"));
    assert_eq!(mam.pool_guid, Some(Uuid::parse_str(GUID).unwrap()));

    // A device that ignores the first identifier and repeats from 0 makes no progress.
    let script = vec![
        Expect::data(cdb(0), full[..200].to_vec()),
        Expect::data(cdb(0x0807), full[..200].to_vec()),
    ];
    let mut d = Drive::with_executor(ScriptedTransport::new(script), Executor::default(), config);
    let e = d.read_mam().unwrap_err();
    finish(d);
    assert!(matches!(e, DeviceError::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("0x0807"), "{e}");
}

#[test]
fn write_mam_sends_the_parameter_list() {
    let attrs = [
        Attribute::barcode("ABC123L8"),
        Attribute::media_pool_guid(Uuid::parse_str(GUID).unwrap()),
    ];
    let list = crate::scsi::write_attribute::parameter_list(&attrs).unwrap();
    assert_eq!(list.len(), 4 + 37 + 41);
    let mut d = drive(vec![Expect::good([
        0x8d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 82, 0, 0,
    ])
    .with_data_out(list)]);
    d.write_mam(&attrs).unwrap();
    finish(d);

    let mut d = drive(vec![]);
    let e = d
        .write_mam(&[Attribute::binary(AttributeId(0x1000), vec![0; 70_000])])
        .unwrap_err();
    finish(d);
    assert!(matches!(e, DeviceError::Protocol { .. }), "{e:?}");
    assert_eq!(e.op(), "WRITE ATTRIBUTE");
    assert_eq!(Attribute::barcode("X").format, AttributeFormat::ASCII);
}

#[test]
fn a_cut_tape_alert_page_is_an_error_not_an_empty_set() {
    let mut page = vec![0x2e, 0, 0x01, 0x40];
    for code in 1..=64u16 {
        page.extend_from_slice(&code.to_be_bytes());
        page.extend_from_slice(&[0x03, 1, u8::from(code == 0x14)]);
    }
    assert_eq!(page.len(), 324);
    // (bytes transferred, flags read whole)
    for (sent, whole) in [(324, true), (323, false), (64, false), (4, false)] {
        let mut d = drive(vec![Expect::data(TAPE_ALERT, page[..sent].to_vec())]);
        match (d.tape_alerts(), whole) {
            (Ok(a), true) => assert!(a.needs_cleaning(), "{a:?}"),
            (Err(DeviceError::Protocol { op, reason, .. }), false) => {
                assert_eq!(op, "LOG SENSE");
                assert!(
                    reason.starts_with(&format!(
                        "TapeAlert page cut short at {sent} of its 324 bytes"
                    )),
                    "{reason}"
                );
            }
            (got, _) => panic!("{sent} bytes: got {got:?}"),
        }
        finish(d);
    }
}

#[test]
fn tape_alerts_read_the_flags() {
    let mut page = vec![0x2e, 0, 0, 0];
    for code in 1..=64u16 {
        page.extend_from_slice(&code.to_be_bytes());
        page.extend_from_slice(&[0x03, 1, u8::from(code == 0x14 || code == 0x1f)]);
    }
    let len = (page.len() - 4) as u16;
    page[2..4].copy_from_slice(&len.to_be_bytes());
    let mut d = drive(vec![
        Expect::data(TAPE_ALERT, page),
        Expect::sense(TAPE_ALERT, 0x5, 0x24, 0x00),
    ]);
    let a = d.tape_alerts().unwrap();
    assert_eq!(
        a.flags().collect::<Vec<_>>(),
        [TapeAlertFlag::CLEAN_NOW, TapeAlertFlag::HARDWARE_B]
    );
    assert!(a.needs_cleaning());
    let e = d.tape_alerts().unwrap_err();
    assert!(e.is_unsupported());
    assert_eq!(e.op(), "LOG SENSE");
    finish(d);
}
