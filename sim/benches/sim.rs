//! Simulator benchmark for `large.toml` (50,000 slots, 128 drives, 40,000 cartridges):
//! build time, peak RSS, READ ELEMENT STATUS throughput in-process and through the socket.
//!
//! Run: `cargo bench -p reel-sim --bench sim`. Goals: build ≤ 100 ms, RSS ≤ 64 MiB,
//! ≥ 5 M elements/s in-process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reel_hw::{DeviceSource, Transport};
use reel_sim::client::SocketSource;
use reel_sim::server::Server;
use reel_sim::{Layout, SimLibrary};

const T: Duration = Duration::from_secs(60);

fn vm(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l[key.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn res_cdb(voltag: bool, ty: u8, start: u16, count: u16, dvcid: bool, alloc: u32) -> [u8; 12] {
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

/// Runs full READ ELEMENT STATUS (all types, VOLTAG) for at least `budget`; elements/s.
fn throughput<T: Transport>(t: &mut T, budget: Duration, cdb: &[u8]) -> (f64, usize, u32) {
    let mut buf = vec![0u8; 8 << 20];
    let start = Instant::now();
    let mut elements = 0usize;
    let mut runs = 0u32;
    while start.elapsed() < budget || runs == 0 {
        let c = t.read(cdb, &mut buf, T).expect("delivered");
        assert!(c.is_good(), "{c:?}");
        elements += usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        runs += 1;
    }
    (
        elements as f64 / start.elapsed().as_secs_f64(),
        elements / runs as usize,
        runs,
    )
}

fn main() {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("layouts/large.toml");
    println!("reel-sim benchmark: {}", path.display());
    println!("RSS before loading: {}", vm("VmRSS:"));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average (wall-clock figures below are inflated on a busy machine): {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let mut builds = Vec::new();
    let mut lib = None;
    for _ in 0..5 {
        let t0 = Instant::now();
        let layout = Layout::from_file(&path).expect("large.toml loads");
        let parsed = t0.elapsed();
        let l = SimLibrary::new(layout);
        builds.push((t0.elapsed(), parsed));
        lib = Some(l);
    }
    let lib = lib.expect("built");
    builds.sort();
    let (best, parsed) = builds[0];
    let (median, _) = builds[builds.len() / 2];
    println!(
        "build (parse + validate + model): best {:.1} ms (parse/validate {:.1} ms), median {:.1} ms  [goal ≤ 100 ms]",
        best.as_secs_f64() * 1e3,
        parsed.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3
    );
    println!("peak RSS after building: {}  [goal ≤ 64 MiB]", vm("VmHWM:"));

    let mut src = lib.source();
    let mut t = src.open("sim:changer").unwrap();
    let _ = t.no_data(&[0; 6], T);
    let full = res_cdb(true, 0, 0, 0xFFFF, false, 0xFF_FFFF);
    let (rate, per, runs) = throughput(&mut t, Duration::from_secs(2), &full);
    println!(
        "READ ELEMENT STATUS in-process, all elements with VOLTAG: {:.2} M elements/s ({per} elements per reply, {runs} replies)  [goal ≥ 5 M/s]",
        rate / 1e6
    );
    let drives = res_cdb(true, 4, 0, 0xFFFF, true, 0xFF_FFFF);
    let (rate, per, _) = throughput(&mut t, Duration::from_secs(1), &drives);
    println!("READ ELEMENT STATUS in-process, drives with VOLTAG+DVCID: {:.2} M elements/s ({per} per reply)", rate / 1e6);
    let chunk = res_cdb(true, 2, 0, 1000, false, 0xFFFF);
    let (rate, per, _) = throughput(&mut t, Duration::from_secs(1), &chunk);
    println!(
        "READ ELEMENT STATUS in-process, 1000-slot chunks: {:.2} M elements/s ({per} per reply)",
        rate / 1e6
    );

    let dir = std::env::temp_dir().join(format!("reel-sim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("sim.sock");
    Server::bind(&sock, lib.clone()).expect("bind").spawn();
    let mut ss = SocketSource::connect(&sock).unwrap();
    let mut st = ss.open("sim:changer").unwrap();
    let _ = st.no_data(&[0; 6], T);
    let (rate, per, runs) = throughput(&mut st, Duration::from_secs(2), &full);
    println!(
        "READ ELEMENT STATUS through the socket, all elements with VOLTAG: {:.2} M elements/s ({per} per reply, {runs} replies)",
        rate / 1e6
    );
    let (rate, _, _) = throughput(&mut st, Duration::from_secs(1), &chunk);
    println!(
        "READ ELEMENT STATUS through the socket, 1000-slot chunks: {:.2} M elements/s",
        rate / 1e6
    );
    let _ = reel_sim::server::remove_socket(&sock);
    let _ = std::fs::remove_dir(&dir);
    println!(
        "peak RSS at the end (includes 8 MiB reply buffers and the server): {}",
        vm("VmHWM:")
    );
}
