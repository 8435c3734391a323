//! No CDB, buffer or request sequence makes the simulator panic; every reply is well formed.

mod common;

use common::*;
use proptest::prelude::*;
use reel_hw::{DataDirection, DeviceSource, ScsiStatus, Transport};

/// A library whose elements reach the top of the address space.
const EDGE: &str = r#"[changer]
serial = "EDGE"
transport = { first = 0, count = 1 }
storage = { first = 65500, count = 36 }
import_export = { first = 1, count = 2 }
data_transfer = { first = 3, count = 2 }

[[drive]]
serial = "D1"
generation = "LTO-5"

[[drive]]
serial = "D2"
generation = "LTO-9"
present = false

[[cartridge]]
barcode = "E00001L5"
location = "slot:65535"

[[cartridge]]
barcode = "E00002L9"
location = "drive:3"
"#;

fn check(c: &reel_hw::Completion, len: usize) {
    assert!(c.residual <= len);
    if c.status == ScsiStatus::CHECK_CONDITION {
        assert_eq!(c.sense.len(), 18);
        assert_eq!(c.sense[0], 0x70);
    } else {
        assert_eq!(c.status, ScsiStatus::GOOD);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]
    #[test]
    fn any_cdb_to_any_device(
        op in prop::sample::select(vec![0x00u8, 0x01, 0x03, 0x05, 0x07, 0x12, 0x1A, 0x1B, 0x1E, 0x2B, 0x34, 0x37, 0x44, 0x4D, 0x5A, 0x8C, 0x8D, 0xA5, 0xA6, 0xB8, 0x08, 0xFF]),
        rest in prop::collection::vec(any::<u8>(), 0..16),
        len in 0usize..70_000,
        dev in 0usize..2,
        dir in 0u8..3,
    ) {
        let lib = lib(EDGE);
        let mut src = lib.source();
        let path = ["sim:changer", "sim:drive:3"][dev];
        let mut t = src.open(path).unwrap();
        let mut cdb = vec![op];
        cdb.extend(rest);
        let mut buf = vec![0u8; len];
        for _ in 0..2 {
            let data = match dir {
                0 => DataDirection::None,
                1 => DataDirection::FromDevice(&mut buf),
                _ => DataDirection::ToDevice(&buf),
            };
            let want = data.len();
            let c = t.execute(&cdb, data, T).unwrap();
            check(&c, want);
        }
    }
}

#[test]
fn read_element_status_at_the_top_of_the_address_space() {
    let lib = lib(EDGE);
    let mut src = lib.source();
    let mut t = open(&mut src, "sim:changer");
    let (c, d) = read(
        &mut t,
        &res_cdb(true, 0, 0, 0xFFFF, true, 0xFF_FFFF),
        0x10000,
    );
    assert!(c.is_good());
    assert_eq!(&d[0..4], &[0, 0, 0, 41]);
    let (c, d) = read(&mut t, &res_cdb(true, 2, 65535, 10, false, 0xFFFF), 0xFFFF);
    assert!(c.is_good());
    assert_eq!(&d[0..4], &[0xFF, 0xFF, 0, 1]);
    assert!(nodata(&mut t, &move_cdb(65535, 65534)).is_good());
    assert!(lib.insert("E00003L5", None).is_ok());
}

#[test]
fn library_and_transports_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<reel_sim::SimLibrary>();
    send_sync::<reel_sim::SimSource>();
    send::<reel_sim::SimTransport>();
    send::<reel_sim::client::SocketSource>();
    send::<reel_sim::client::SocketTransport>();
}
