//! The mount path through `reel serve` on the simulator (issue 11), three figures:
//!
//! 1. SCSI cost: the commands one mount sends, by device and name — a mount from a slot into an
//!    empty drive (goal: exactly 1 MOVE MEDIUM and 0 READ ELEMENT STATUS on the changer, plus
//!    the drive's readiness polls) and the mount of a deferred-dismounted medium (goal: 0
//!    changer commands).
//! 2. Parallelism: `move_ms = 200`, `load_ms = 2000`, 4 drives, 4 concurrent mounts; goal
//!    ≤ 4 × 200 + 2000 ms + 10 % (moves serialized on the picker, loads overlapped).
//! 3. Throughput with zero timing: mount + dismount cycles/s through the socket (goal ≥ 2,000),
//!    REEL_BENCH_SECS seconds (default 3) with REEL_BENCH_CLIENTS clients (default 4).
//!
//! Run: `cargo bench --bench mounts`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reel::daemon::wire::Call;
use reel::daemon::Client;
use serde_json::Value;

const LAYOUT: &str = r#"
[changer]
serial = "BENCHLIB"
storage       = { first = 1000, count = 16 }
import_export = { first = 10, count = 1 }
data_transfer = { first = 500, count = 4 }

[[drive]]
serial = "BENCHDRV1"
generation = "LTO-8"
[[drive]]
serial = "BENCHDRV2"
generation = "LTO-8"
[[drive]]
serial = "BENCHDRV3"
generation = "LTO-8"
[[drive]]
serial = "BENCHDRV4"
generation = "LTO-8"

[[cartridges]]
first_barcode = "BEN001L8"
count = 12
first_location = "slot:1000"
"#;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The daemon process: SIGTERM and reaped when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(dir: &Path, timing: &str) -> Daemon {
        let layout = dir.join("layout.toml");
        std::fs::write(&layout, format!("{LAYOUT}{timing}")).expect("write layout");
        let socket = dir.join("reel.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_reel"))
            .arg("serve")
            .arg("--sim")
            .arg(&layout)
            .arg("--db")
            .arg(dir.join("reel.db"))
            .arg("--socket")
            .arg(&socket)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start reel serve");
        let d = Daemon { child, socket };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = Client::connect(&d.socket, "bench") {
                // The library answers once discovery and registration are done.
                if c.call_value(Call::Library { rescan: false }).is_ok() {
                    return d;
                }
            }
            assert!(Instant::now() < deadline, "the daemon did not become ready");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.socket, "bench").expect("connect")
    }
}

fn mount(barcode: &str) -> Call {
    Call::Mount {
        media: vec![barcode.to_owned()],
        read: false,
        write: false,
        drive: None,
        priority: 0,
        timeout_ms: Some(60_000),
        error_if_unavailable: false,
        error_if_offline: false,
        nowait: false,
    }
}

fn dismount(barcode: &str, deferred: bool) -> Call {
    Call::Dismount {
        media: vec![barcode.to_owned()],
        deferred,
    }
}

/// Commands by device and name, from `reel status`.
fn counters(c: &mut Client) -> BTreeMap<(String, String), u64> {
    let s = c.call_value(Call::Status {}).expect("status");
    let mut out = BTreeMap::new();
    if let Some(devices) = s["status"]["scsi"]["by_device"].as_object() {
        for (device, stats) in devices {
            if let Some(by) = stats["by_command"].as_object() {
                for (name, n) in by {
                    out.insert((device.clone(), name.clone()), n.as_u64().unwrap_or(0));
                }
            }
        }
    }
    out
}

/// Waits until nothing is queued and no drive is between states (a dismount is queued work).
fn settle(c: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s: Value = c.call_value(Call::Status {}).expect("status");
        let busy = s["status"]["libraries"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| {
                l["queued"] != 0
                    || l["drives"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|d| d["state"] == "mounted" || d["state"] == "unloaded")
            });
        if !busy {
            return;
        }
        assert!(Instant::now() < deadline, "the daemon did not settle: {s}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn print_delta(
    title: &str,
    before: &BTreeMap<(String, String), u64>,
    after: &BTreeMap<(String, String), u64>,
) {
    println!("{title}");
    let mut any = false;
    for (key, n) in after {
        let d = n - before.get(key).copied().unwrap_or(0);
        if d > 0 {
            println!("  {:<28} {:<28} {d}", key.0, key.1);
            any = true;
        }
    }
    if !any {
        println!("  (no SCSI commands)");
    }
}

fn changer_commands(
    before: &BTreeMap<(String, String), u64>,
    after: &BTreeMap<(String, String), u64>,
    changer: &str,
    name: Option<&str>,
) -> u64 {
    after
        .iter()
        .filter(|((d, n), _)| d == changer && name.map_or(true, |w| w == n))
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0))
        .sum()
}

fn scsi_cost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(dir.path(), "");
    let mut c = d.client();
    let status = c
        .call_value(Call::Library { rescan: false })
        .expect("library");
    let changer = status["libraries"][0]["changer"]["path"]
        .as_str()
        .unwrap_or("sim:changer")
        .to_owned();

    let before = counters(&mut c);
    c.call_value(mount("BEN001L8")).expect("mount");
    let after = counters(&mut c);
    print_delta(
        "1. a mount from a slot into an empty drive:",
        &before,
        &after,
    );
    let moves = changer_commands(&before, &after, &changer, Some("MOVE MEDIUM"));
    let res = changer_commands(&before, &after, &changer, Some("READ ELEMENT STATUS"));
    println!(
        "   changer: {moves} MOVE MEDIUM, {res} READ ELEMENT STATUS  (goal: 1 and 0) {}",
        if moves == 1 && res == 0 {
            "met"
        } else {
            "MISSED"
        }
    );

    c.call_value(dismount("BEN001L8", true))
        .expect("deferred dismount");
    settle(&mut c);
    let before = counters(&mut c);
    c.call_value(mount("BEN001L8")).expect("remount");
    let after = counters(&mut c);
    print_delta(
        "   the mount of a deferred-dismounted medium:",
        &before,
        &after,
    );
    let all = changer_commands(&before, &after, &changer, None);
    println!(
        "   changer: {all} commands  (goal: 0) {}",
        if all == 0 { "met" } else { "MISSED" }
    );
}

fn parallelism() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(dir.path(), "\n[timing]\nmove_ms = 200\nload_ms = 2000\n");
    let socket = Arc::new(d.socket.clone());
    let start = Instant::now();
    let threads: Vec<_> = (1..=4)
        .map(|i| {
            let s = socket.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(&s, "bench").expect("connect");
                c.call_value(mount(&format!("BEN{i:03}L8"))).expect("mount");
                start.elapsed()
            })
        })
        .collect();
    let ends: Vec<Duration> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wall = ends.iter().max().copied().unwrap_or_default();
    let bound = Duration::from_millis((4 * 200 + 2000) * 11 / 10);
    println!(
        "2. 4 concurrent mounts, move_ms = 200, load_ms = 2000, 4 drives: {:.0} ms \
         (goal ≤ {} ms; serial would be {} ms) {}",
        wall.as_secs_f64() * 1e3,
        bound.as_millis(),
        4 * 2200,
        if wall <= bound { "met" } else { "MISSED" }
    );
}

fn throughput() {
    let secs = env_or("REEL_BENCH_SECS", 3);
    let clients = env_or("REEL_BENCH_CLIENTS", 4) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let d = Daemon::start(dir.path(), "");
    let socket = Arc::new(d.socket.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let cycles = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let (s, stop, n) = (socket.clone(), stop.clone(), cycles.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(&s, "bench").expect("connect");
                // Each client keeps to its own cartridges, so the figure is the controller's
                // work rather than contention for one medium.
                let mine: Vec<String> = (0..12)
                    .filter(|k| k % clients == i)
                    .map(|k| format!("BEN{:03}L8", k + 1))
                    .collect();
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    let b = &mine[k % mine.len()];
                    c.call_value(mount(b)).expect("mount");
                    c.call_value(dismount(b, false)).expect("dismount");
                    n.fetch_add(1, Ordering::Relaxed);
                    k += 1;
                }
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rate = cycles.load(Ordering::Relaxed) as f64 / elapsed;
    println!(
        "3. mount + dismount cycles through the socket, zero timing, {clients} clients, {secs} s: \
         {rate:.0} cycles/s (goal ≥ 2,000) {}",
        if rate >= 2000.0 { "met" } else { "MISSED" }
    );
}

fn main() {
    scsi_cost();
    parallelism();
    throughput();
}
