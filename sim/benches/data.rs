//! The data path: 256 KiB blocks written to (and read from) a simulated LTO-8 drive whose
//! cartridge is a file in a temporary media directory.
//!
//! 1. in-process (`SimTransport`), goal ≥ 1 GB/s of writes;
//! 2. through reel-sim's iSCSI target on loopback, with the in-crate initiator (one session,
//!    one command at a time, immediate data + R2T, no digests);
//! 3. the same client against tgt's file-backed tape (`tgtd`, `--bstype ssc`), when `tgtd`,
//!    `tgtadm` and `tgtimg` are installed (Debian `tgt`), for comparison in the same run.
//!
//! Run: `cargo bench -p reel-sim --bench data` (as root for tgt). `REEL_BENCH_MIB` sets the
//! amount per measurement (default 512 in-process, a quarter of it over iSCSI). Beyond what the
//! page cache absorbs, writes run at the disk's speed: the bench prints a plain-file baseline
//! of the same size first.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reel_hw::{DataDirection, DeviceSource, Transport};
use reel_sim::iscsi::initiator::{Data, Initiator, Options};
use reel_sim::iscsi::lun::lun_field;
use reel_sim::iscsi::{spawn, IscsiConfig};
use reel_sim::{Layout, SimLibrary};

const BLOCK: usize = 256 * 1024;
const T: Duration = Duration::from_secs(60);

const LAYOUT: &str = r#"[changer]
serial = "BENCHLIB"
transport = { first = 1, count = 1 }
storage = { first = 1000, count = 2 }
import_export = { first = 10, count = 0 }
data_transfer = { first = 500, count = 1 }

[[drive]]
serial = "BENCHDRV"
generation = "LTO-8"

[[cartridge]]
barcode = "BEN001L8"
location = "drive:500"

[media]
capacity_scale = 1.0
"#;

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn write6(len: usize) -> [u8; 6] {
    let n = (len as u32).to_be_bytes();
    [0x0A, 0, n[1], n[2], n[3], 0]
}

fn read6(len: usize) -> [u8; 6] {
    let n = (len as u32).to_be_bytes();
    [0x08, 0, n[1], n[2], n[3], 0]
}

/// The same bytes written with plain `write_all` of 256 KiB to a file in the same directory:
/// what the machine's page cache and disk allow, for reading the simulator's figure.
fn baseline(dir: &Path, blocks: usize) {
    use std::io::Write;
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join("baseline");
    let data = vec![0x5Au8; BLOCK];
    let start = Instant::now();
    {
        let mut f = std::fs::File::create(&path).expect("baseline file");
        for _ in 0..blocks {
            f.write_all(&data).expect("baseline write");
        }
    }
    let w = start.elapsed();
    let _ = std::fs::remove_file(&path);
    println!(
        "plain file      write {:>7.0} MB/s                    (the same bytes with write_all: the machine's limit)",
        mbps(blocks * BLOCK, w)
    );
}

fn in_process(dir: &Path, blocks: usize) {
    let lib = SimLibrary::open_with_media(
        Layout::parse(LAYOUT, "bench.toml").expect("layout"),
        None,
        Some(dir),
    )
    .expect("library");
    let mut src = lib.source();
    let mut t = src.open("sim:drive:500").expect("drive");
    let _ = t.no_data(&[0; 6], T);
    let data: Vec<u8> = (0..BLOCK).map(|i| (i * 31) as u8).collect();
    let start = Instant::now();
    for _ in 0..blocks {
        let c = t
            .execute(&write6(BLOCK), DataDirection::ToDevice(&data), T)
            .expect("write");
        assert!(c.is_good(), "write failed: {c:?}");
    }
    let w = start.elapsed();
    let _ = t.no_data(&[0x01, 0, 0, 0, 0, 0], T);
    let mut buf = vec![0u8; BLOCK];
    let start = Instant::now();
    for _ in 0..blocks {
        let c = t
            .execute(&read6(BLOCK), DataDirection::FromDevice(&mut buf), T)
            .expect("read");
        assert!(c.is_good());
    }
    let r = start.elapsed();
    let bytes = blocks * BLOCK;
    println!(
        "in-process      write {:>7.0} MB/s  read {:>7.0} MB/s  ({} MiB of 256 KiB blocks; goal: write >= 1000 MB/s)",
        mbps(bytes, w),
        mbps(bytes, r),
        bytes >> 20
    );
}

/// Writes then reads `blocks` blocks on `lun` through an iSCSI session; returns MB/s.
fn over_iscsi(addr: std::net::SocketAddr, target: &str, lun: u16, blocks: usize) -> (f64, f64) {
    let mut o = Options::new(Some(target));
    o.timeout = Duration::from_secs(120);
    let mut i = Initiator::login(addr, &o).expect("login");
    let l = lun_field(lun);
    for _ in 0..3 {
        let _ = i.command(l, &[0; 6], Data::None);
    }
    let _ = i.command(l, &[0x1B, 0, 0, 0, 1, 0], Data::None);
    let _ = i.command(l, &[0x01, 0, 0, 0, 0, 0], Data::None);
    let data: Vec<u8> = (0..BLOCK).map(|i| (i * 17) as u8).collect();
    let start = Instant::now();
    for _ in 0..blocks {
        let r = i
            .command(l, &write6(BLOCK), Data::Out(&data))
            .expect("write");
        assert_eq!(r.status, 0, "write: {r:?}");
    }
    let w = start.elapsed();
    let r = i
        .command(l, &[0x01, 0, 0, 0, 0, 0], Data::None)
        .expect("rewind");
    assert_eq!(r.status, 0);
    let start = Instant::now();
    for _ in 0..blocks {
        let r = i
            .command(l, &read6(BLOCK), Data::In(BLOCK as u32))
            .expect("read");
        assert_eq!((r.status, r.data.len()), (0, BLOCK), "read");
    }
    let rd = start.elapsed();
    let _ = i.logout();
    (mbps(blocks * BLOCK, w), mbps(blocks * BLOCK, rd))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(13260)
}

struct Tgtd(Child);

impl Drop for Tgtd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tgt(dir: &Path, blocks: usize) -> Option<(f64, f64)> {
    let have = |t: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("tgtd") && have("tgtadm") && have("tgtimg")) {
        println!("tgt             not installed (Debian tgt): no comparison");
        return None;
    }
    let port = free_port();
    let ctl = (port % 30000 + 1000).to_string();
    let child = Command::new("tgtd")
        .args([
            "-f",
            "-C",
            &ctl,
            "--iscsi",
            &format!("portal=127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let _guard = Tgtd(child);
    let adm = |args: &[&str]| {
        let mut a = vec!["-C", &ctl, "--lld", "iscsi"];
        a.extend_from_slice(args);
        Command::new("tgtadm")
            .args(&a)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut up = false;
    for _ in 0..50 {
        if adm(&["--mode", "sys", "--op", "show"]) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !up {
        println!("tgt             tgtd did not start (needs root): no comparison");
        return None;
    }
    let image = dir.join("TGT001L8");
    let size_mb = ((blocks * BLOCK) >> 20) + 64;
    let made = Command::new("tgtimg")
        .args([
            "--op",
            "new",
            "--device-type",
            "tape",
            "--barcode",
            "TGT001L8",
            "--size",
        ])
        .arg(size_mb.to_string())
        .args(["--type", "data", "--file"])
        .arg(&image)
        .output()
        .is_ok_and(|o| o.status.success());
    let name = "iqn.2026-12.dev.reel:bench.tgt";
    let ok =
        made && adm(&[
            "--mode",
            "target",
            "--op",
            "new",
            "--tid",
            "1",
            "--targetname",
            name,
        ]) && adm(&[
            "--mode",
            "logicalunit",
            "--op",
            "new",
            "--tid",
            "1",
            "--lun",
            "1",
            "--device-type",
            "tape",
            "--bstype",
            "ssc",
            "-b",
            image.to_str()?,
        ]) && adm(&[
            "--mode", "target", "--op", "bind", "--tid", "1", "-I", "ALL",
        ]);
    if !ok {
        println!("tgt             could not be configured: no comparison");
        return None;
    }
    Some(over_iscsi(
        format!("127.0.0.1:{port}").parse().ok()?,
        name,
        1,
        blocks,
    ))
}

fn main() {
    let mib: usize = std::env::var("REEL_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let blocks = (mib << 20) / BLOCK;
    let dir = tempfile::tempdir().expect("temp dir");
    baseline(&dir.path().join("baseline"), blocks);
    in_process(&dir.path().join("in-process"), blocks);
    let _ = std::fs::remove_dir_all(dir.path().join("in-process"));

    let net_blocks = (blocks / 4).max(1);
    let media = dir.path().join("iscsi");
    let lib = SimLibrary::open_with_media(
        Layout::parse(LAYOUT, "bench.toml").expect("layout"),
        None,
        Some(&media),
    )
    .expect("library");
    let target =
        spawn(lib, &IscsiConfig::new("127.0.0.1:0".parse().expect("addr"))).expect("target");
    let (w, r) = over_iscsi(target.addr, &target.names[0], 1, net_blocks);
    println!(
        "reel-sim iSCSI  write {w:>7.0} MB/s  read {r:>7.0} MB/s  ({} MiB, loopback, one session)",
        (net_blocks * BLOCK) >> 20
    );
    drop(target);
    let _ = std::fs::remove_dir_all(&media);
    if let Some((w, r)) = tgt(dir.path(), net_blocks) {
        println!(
            "tgt ssc iSCSI   write {w:>7.0} MB/s  read {r:>7.0} MB/s  (same client, file-backed tape)",
        );
    }
}
