//! Helpers shared by the simulator's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use reel_hw::{Completion, DataDirection, DeviceSource, ScsiStatus, Transport};
use reel_sim::{Layout, SimLibrary, SimSource, SimTransport};

pub const T: Duration = Duration::from_secs(5);

pub fn layout_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("layouts")
        .join(name)
}

pub fn layout(name: &str) -> Layout {
    Layout::from_file(&layout_path(name)).expect("shipped layout loads")
}

/// A library from layout text.
pub fn lib(text: &str) -> SimLibrary {
    SimLibrary::new(Layout::parse(text, "test.toml").expect("test layout is valid"))
}

/// The default layout's library.
pub fn default_lib() -> SimLibrary {
    SimLibrary::new(layout("default.toml"))
}

/// Opens `path` and clears the power-on unit attention with one TEST UNIT READY.
pub fn open(src: &mut SimSource, path: &str) -> SimTransport {
    let mut t = src.open(path).expect("device opens");
    let c = t.no_data(&[0, 0, 0, 0, 0, 0], T).unwrap();
    assert_eq!(
        sense3(&c),
        Some((6, 0x29, 0)),
        "first command gets power-on UA"
    );
    t
}

/// Runs a data-in command, returning the completion and the bytes transferred.
pub fn read(t: &mut impl Transport, cdb: &[u8], len: usize) -> (Completion, Vec<u8>) {
    let mut buf = vec![0u8; len];
    let c = t.read(cdb, &mut buf, T).expect("delivered");
    let n = c.transferred(len);
    buf.truncate(n);
    (c, buf)
}

/// Runs a no-data command.
pub fn nodata(t: &mut impl Transport, cdb: &[u8]) -> Completion {
    t.execute(cdb, DataDirection::None, T).expect("delivered")
}

/// (key, asc, ascq) of a CHECK CONDITION, None for GOOD.
pub fn sense3(c: &Completion) -> Option<(u8, u8, u8)> {
    if c.status == ScsiStatus::GOOD {
        return None;
    }
    assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
    assert_eq!(c.sense[0], 0x70, "fixed format sense");
    Some((c.sense[2] & 0x0F, c.sense[12], c.sense[13]))
}

pub fn move_cdb(src: u16, dst: u16) -> [u8; 12] {
    let s = src.to_be_bytes();
    let d = dst.to_be_bytes();
    [0xA5, 0, 0, 0, s[0], s[1], d[0], d[1], 0, 0, 0, 0]
}

pub fn res_cdb(voltag: bool, ty: u8, start: u16, count: u16, dvcid: bool, alloc: u32) -> [u8; 12] {
    let s = start.to_be_bytes();
    let n = count.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        0xB8,
        (u8::from(voltag) << 4) | ty,
        s[0],
        s[1],
        n[0],
        n[1],
        u8::from(dvcid),
        a[1],
        a[2],
        a[3],
        0,
        0,
    ]
}

/// A padded ASCII field.
pub fn pad(s: &str, n: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(n, b' ');
    v
}

/// An expected sense (key, ASC, ASCQ), None for GOOD.
pub type Sense3 = Option<(u8, u8, u8)>;
