//! Drives that store data (`sim-iscsi.md` §3): READ/WRITE in variable and fixed mode, filemarks,
//! SPACE, LOCATE, READ POSITION, MODE SELECT, write protection, WORM, early warning and end of
//! medium, and data that survives a restart. Sense is checked byte by byte where it matters:
//! key, FILEMARK/EOM/ILI, INFORMATION (the residue) and ASC/ASCQ.

mod common;

use common::*;
use reel_hw::{Completion, DataDirection, DeviceSource, ScsiStatus, Transport};
use reel_sim::{Layout, SimLibrary, SimTransport};

const LAYOUT: &str = r#"[changer]
serial = "TAPEDATA"
transport = { first = 1, count = 1 }
storage = { first = 1000, count = 4 }
import_export = { first = 10, count = 0 }
data_transfer = { first = 500, count = 1 }

[[drive]]
serial = "DATADRV1"
generation = "LTO-8"

[[cartridge]]
barcode = "DAT001L8"
location = "drive:500"

[[cartridge]]
barcode = "WRM001LY"
location = "slot:1000"

[[cartridge]]
barcode = "WPT001L8"
location = "slot:1001"
write_protect = true

[media]
capacity_scale = 0.000001
"#;

/// Sense as (key, FILEMARK, EOM, ILI, INFORMATION as i32, ASC, ASCQ).
type Decoded = (u8, bool, bool, bool, i32, u8, u8);

fn decode(c: &Completion) -> Option<Decoded> {
    if c.status == ScsiStatus::GOOD {
        return None;
    }
    let s = &c.sense;
    assert_eq!(s[0] & 0x7F, 0x70, "fixed-format sense");
    Some((
        s[2] & 0x0F,
        s[2] & 0x80 != 0,
        s[2] & 0x40 != 0,
        s[2] & 0x20 != 0,
        i32::from_be_bytes([s[3], s[4], s[5], s[6]]),
        s[12],
        s[13],
    ))
}

fn drive(lib: &SimLibrary) -> SimTransport {
    let mut src = lib.source();
    open(&mut src, "sim:drive:500")
}

fn write(t: &mut SimTransport, data: &[u8]) -> Completion {
    let n = (data.len() as u32).to_be_bytes();
    t.execute(
        &[0x0A, 0, n[1], n[2], n[3], 0],
        DataDirection::ToDevice(data),
        T,
    )
    .unwrap()
}

fn cmd(t: &mut SimTransport, cdb: &[u8]) -> Completion {
    t.no_data(cdb, T).unwrap()
}

fn read_var(t: &mut SimTransport, len: u32) -> (Completion, Vec<u8>) {
    let n = len.to_be_bytes();
    read(t, &[0x08, 0, n[1], n[2], n[3], 0], len as usize)
}

fn position(t: &mut SimTransport) -> (u32, bool) {
    let (c, d) = read(t, &[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], 20);
    assert_eq!(c.status, ScsiStatus::GOOD);
    (
        u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
        d[0] & 0x80 != 0,
    )
}

const REWIND: [u8; 6] = [0x01, 0, 0, 0, 0, 0];
const WRITE_FM: [u8; 6] = [0x10, 0, 0, 0, 1, 0];

fn space(code: u8, count: i32) -> [u8; 6] {
    let c = count.to_be_bytes();
    [0x11, code, c[1], c[2], c[3], 0]
}

fn library() -> SimLibrary {
    SimLibrary::new(Layout::parse(LAYOUT, "data.toml").unwrap())
}

#[test]
fn variable_blocks_filemarks_and_their_sense() {
    let lib = library();
    let mut t = drive(&lib);
    let a = vec![0xA1u8; 1000];
    let b = vec![0xB2u8; 2000];
    let c = vec![0xC3u8; 500];
    for step in [
        write(&mut t, &a),
        write(&mut t, &b),
        cmd(&mut t, &WRITE_FM),
        write(&mut t, &c),
        cmd(&mut t, &WRITE_FM),
    ] {
        assert_eq!(step.status, ScsiStatus::GOOD);
    }
    assert_eq!(position(&mut t), (5, false));
    cmd(&mut t, &REWIND);
    assert_eq!(position(&mut t), (0, true));
    // (request length, expected sense, bytes returned, position after)
    let cases: &[(u32, Option<Decoded>, usize, u32)] = &[
        (1000, None, 1000, 1),
        // Long block: ILI with a negative residue; the request's bytes arrive.
        (1500, Some((0, false, false, true, -500, 0, 0)), 1500, 2),
        // Filemark: NO SENSE, FILEMARK, 00/01, residue = the request, positioned after it.
        (100, Some((0, true, false, false, 100, 0, 1)), 0, 3),
        // Short block: ILI with a positive residue.
        (800, Some((0, false, false, true, 300, 0, 0)), 500, 4),
        (100, Some((0, true, false, false, 100, 0, 1)), 0, 5),
        // End of data: BLANK CHECK 00/05, EOM clear.
        (100, Some((8, false, false, false, 100, 0, 5)), 0, 5),
    ];
    for (i, &(len, sense, n, pos)) in cases.iter().enumerate() {
        let (comp, data) = read_var(&mut t, len);
        assert_eq!(decode(&comp), sense, "read {i}");
        assert_eq!(data.len(), n, "read {i}");
        assert_eq!(position(&mut t).0, pos, "read {i}");
    }
    // SPACE: (from, code, count) → (sense, position after)
    let spaces: &[(u32, u8, i32, Option<Decoded>, u32)] = &[
        (0, 1, 1, None, 3),
        (0, 1, 2, None, 5),
        (0, 1, 3, Some((8, false, false, false, 1, 0, 5)), 5),
        (0, 0, 2, None, 2),
        (0, 0, 3, Some((0, true, false, false, 1, 0, 1)), 3),
        (3, 0, -1, Some((0, true, false, false, 1, 0, 1)), 2),
        (2, 0, -5, Some((0, false, true, false, 3, 0, 4)), 0),
        (4, 1, -1, None, 2),
        (0, 3, 0, None, 5),
        (5, 0, 1, Some((8, false, false, false, 1, 0, 5)), 5),
    ];
    for (i, &(from, code, count, sense, after)) in spaces.iter().enumerate() {
        let f = from.to_be_bytes();
        assert_eq!(
            cmd(&mut t, &[0x2B, 0, 0, f[0], f[1], f[2], f[3], 0, 0, 0]).status,
            ScsiStatus::GOOD
        );
        let comp = cmd(&mut t, &space(code, count));
        assert_eq!(decode(&comp), sense, "space {i}");
        assert_eq!(position(&mut t).0, after, "space {i}");
    }
    // LOCATE(10) with BT, as the st driver sends it, then the block there.
    assert_eq!(
        cmd(&mut t, &[0x2B, 0x04, 0, 0, 0, 0, 3, 0, 0, 0]).status,
        ScsiStatus::GOOD
    );
    let (comp, data) = read_var(&mut t, 500);
    assert_eq!((comp.status, data), (ScsiStatus::GOOD, c));
    // READ POSITION long: block 4, file 1.
    let (_, long) = read(&mut t, &[0x34, 0x06, 0, 0, 0, 0, 0, 0, 32, 0], 32);
    assert_eq!(u64::from_be_bytes(long[8..16].try_into().unwrap()), 4);
    assert_eq!(u64::from_be_bytes(long[16..24].try_into().unwrap()), 1);
    // LOCATE past the data: BLANK CHECK at end of data.
    let comp = cmd(&mut t, &[0x2B, 0, 0, 0, 0, 0, 9, 0, 0, 0]);
    assert_eq!(decode(&comp).map(|d| (d.0, d.5, d.6)), Some((8, 0, 5)));
    // Writing in the middle ends the data there.
    cmd(&mut t, &[0x2B, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(write(&mut t, &[7; 10]).status, ScsiStatus::GOOD);
    let comp = cmd(&mut t, &space(3, 0));
    assert_eq!(comp.status, ScsiStatus::GOOD);
    assert_eq!(position(&mut t).0, 2);
}

#[test]
fn fixed_blocks_after_mode_select() {
    let lib = library();
    let mut t = drive(&lib);
    // Fixed mode without a block length: 05/24/00.
    let comp = t
        .execute(
            &[0x0A, 1, 0, 0, 1, 0],
            DataDirection::ToDevice(&[0; 512]),
            T,
        )
        .unwrap();
    assert_eq!(decode(&comp).map(|d| (d.0, d.5)), Some((5, 0x24)));
    // MODE SELECT(6): header + block descriptor with block length 512.
    let ms = [0, 0, 0x10, 8, 0, 0, 0, 0, 0, 0, 0x02, 0x00];
    let comp = t
        .execute(&[0x15, 0x10, 0, 0, 12, 0], DataDirection::ToDevice(&ms), T)
        .unwrap();
    assert_eq!(comp.status, ScsiStatus::GOOD);
    let (_, sense) = read(&mut t, &[0x1A, 0, 0x3F, 0, 255, 0], 255);
    assert_eq!(sense[3], 8);
    assert_eq!(
        &sense[4 + 5..4 + 8],
        &[0, 2, 0],
        "block length in the descriptor"
    );
    assert_eq!(sense[4 + 8], 0x0F, "data compression page");
    let data: Vec<u8> = (0..2048u32).map(|x| x as u8).collect();
    let comp = t
        .execute(&[0x0A, 1, 0, 0, 4, 0], DataDirection::ToDevice(&data), T)
        .unwrap();
    assert_eq!(comp.status, ScsiStatus::GOOD);
    cmd(&mut t, &REWIND);
    let (comp, back) = read(&mut t, &[0x08, 1, 0, 0, 4, 0], 2048);
    assert_eq!((comp.status, back), (ScsiStatus::GOOD, data));
    // Two more blocks asked at end of data: BLANK CHECK, residue 2 blocks.
    let (comp, _) = read(&mut t, &[0x08, 1, 0, 0, 2, 0], 1024);
    assert_eq!(decode(&comp), Some((8, false, false, false, 2, 0, 5)));
}

#[test]
fn write_protection_worm_and_end_of_medium() {
    let lib = library();
    let mut src = lib.source();
    let mut changer = src.open("sim:changer").unwrap();
    let _ = changer.no_data(&[0; 6], T);
    let mut t = drive(&lib);
    // The data cartridge fills: early warning first (data written), then VOLUME OVERFLOW.
    let block = vec![0x55u8; 256 * 1024];
    let mut early = None;
    let mut overflow = None;
    for i in 0..100 {
        let comp = write(&mut t, &block);
        match decode(&comp) {
            None => {}
            Some(d) if d.0 == 0 => {
                early.get_or_insert((i, d));
            }
            Some(d) => {
                overflow = Some((i, d));
                break;
            }
        }
    }
    let (ew_at, ew) = early.expect("early warning");
    assert_eq!(ew, (0, false, true, false, 0, 0, 2));
    let (end_at, end) = overflow.expect("end of medium");
    assert_eq!(end, (0x0D, false, true, false, 256 * 1024, 0, 2));
    assert!(ew_at < end_at && end_at <= 46, "12 MB: {ew_at} {end_at}");
    // Unload (move back to a slot), load the write-protected cartridge: 07/27/00.
    let mv = |c: &mut SimTransport, s: u16, d: u16| {
        let (s, d) = (s.to_be_bytes(), d.to_be_bytes());
        c.no_data(&[0xA5, 0, 0, 1, s[0], s[1], d[0], d[1], 0, 0, 0, 0], T)
            .unwrap()
    };
    const UNLOAD: [u8; 6] = [0x1B, 0, 0, 0, 0, 0];
    assert_eq!(cmd(&mut t, &UNLOAD).status, ScsiStatus::GOOD);
    assert_eq!(mv(&mut changer, 500, 1002).status, ScsiStatus::GOOD);
    assert_eq!(mv(&mut changer, 1001, 500).status, ScsiStatus::GOOD);
    let _ = cmd(&mut t, &[0; 6]);
    let comp = write(&mut t, &[1; 100]);
    assert_eq!(decode(&comp).map(|d| (d.0, d.5, d.6)), Some((7, 0x27, 0)));
    let (_, ms) = read(&mut t, &[0x1A, 0, 0, 0, 12, 0], 12);
    assert_eq!(ms[2] & 0x80, 0x80, "WP in MODE SENSE");
    // WORM: appending works, overwriting does not.
    assert_eq!(cmd(&mut t, &UNLOAD).status, ScsiStatus::GOOD);
    assert_eq!(mv(&mut changer, 500, 1001).status, ScsiStatus::GOOD);
    assert_eq!(mv(&mut changer, 1000, 500).status, ScsiStatus::GOOD);
    let _ = cmd(&mut t, &[0; 6]);
    assert_eq!(write(&mut t, &[1; 100]).status, ScsiStatus::GOOD);
    assert_eq!(cmd(&mut t, &WRITE_FM).status, ScsiStatus::GOOD);
    cmd(&mut t, &REWIND);
    let comp = write(&mut t, &[2; 100]);
    assert_eq!(
        decode(&comp).map(|d| (d.0, d.5, d.6)),
        Some((7, 0x30, 0x0C))
    );
    assert_eq!(cmd(&mut t, &space(3, 0)).status, ScsiStatus::GOOD);
    assert_eq!(write(&mut t, &[3; 100]).status, ScsiStatus::GOOD);
}

#[test]
fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let media = dir.path().join("media");
    let payload: Vec<u8> = (0..70_000u32).map(|x| (x % 251) as u8).collect();
    {
        let lib = SimLibrary::open_with_media(
            Layout::parse(LAYOUT, "data.toml").unwrap(),
            Some(&state),
            Some(&media),
        )
        .unwrap();
        let mut t = drive(&lib);
        assert_eq!(write(&mut t, &payload).status, ScsiStatus::GOOD);
        assert_eq!(cmd(&mut t, &WRITE_FM).status, ScsiStatus::GOOD);
    }
    assert!(media.join("DAT001L8.tape").is_file());
    let lib = SimLibrary::open_with_media(
        Layout::parse(LAYOUT, "data.toml").unwrap(),
        Some(&state),
        Some(&media),
    )
    .unwrap();
    let mut t = drive(&lib);
    cmd(&mut t, &REWIND);
    let (comp, back) = read_var(&mut t, 70_000);
    assert_eq!(comp.status, ScsiStatus::GOOD);
    assert!(back == payload);
    let (comp, _) = read_var(&mut t, 10);
    assert_eq!(decode(&comp).map(|d| (d.1, d.6)), Some((true, 1)));
}
