//! Load benchmark of `reel serve`: 64 concurrent clients open existing pools
//! (`CreateNtmsMediaPool` with `OPEN_EXISTING`) through the socket for a fixed time, then the
//! figures: operations per second, p50/p99/max latency.
//!
//! Run: `cargo bench --bench daemon_load` (REEL_BENCH_SECS sets the duration, default 5;
//! REEL_BENCH_CLIENTS the client count, default 64). Goals on a 2-core machine: ≥ 20,000 ops/s,
//! p99 ≤ 5 ms.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use reel::daemon::wire::{Call, CreateDisposition, ObjectType};
use reel::daemon::Client;

const POOLS: usize = 256;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The daemon process: SIGTERM and reaped when dropped.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> (Daemon, PathBuf) {
    let socket = dir.join("reel.sock");
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/layouts/default.toml");
    let child = Daemon(
        Command::new(env!("CARGO_BIN_EXE_reel"))
            .arg("serve")
            .arg("--sim")
            .arg(layout)
            .arg("--db")
            .arg(dir.join("pools.db"))
            .arg("--socket")
            .arg(&socket)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start reel serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut c) = Client::connect(&socket, "bench") {
            let ready = c.call_value(Call::Enumerate {
                container: None,
                object_type: ObjectType::MediaPool,
                root_pool: false,
            });
            if ready.is_ok() {
                return (child, socket);
            }
        }
        assert!(Instant::now() < deadline, "the daemon did not become ready");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn open_call(i: usize) -> Call {
    Call::CreateMediaPool {
        name: format!(r"\Bench\P{i:03}"),
        media_type: None,
        action: CreateDisposition::OpenExisting,
        security: None,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness-less benches this way
    }
    let secs = env_or("REEL_BENCH_SECS", 5);
    let clients = env_or("REEL_BENCH_CLIENTS", 64) as usize;
    let tmp = tempfile::tempdir().expect("temp dir");
    let (daemon, socket) = start(tmp.path());

    let mut setup = Client::connect(&socket, "bench").expect("connect");
    for i in 0..=POOLS {
        let name = if i == 0 {
            r"\Bench".to_owned()
        } else {
            format!(r"\Bench\P{:03}", i - 1)
        };
        setup
            .call_value(Call::CreateMediaPool {
                name,
                media_type: None,
                action: CreateDisposition::OpenAlways,
                security: None,
            })
            .expect("create the pools");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(Barrier::new(clients + 1));
    let workers: Vec<_> = (0..clients)
        .map(|w| {
            let (stop, gate, socket) = (stop.clone(), gate.clone(), socket.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket, "bench").expect("connect");
                let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
                let mut errors = 0u64;
                gate.wait();
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    if c.call_value(open_call(i % POOLS)).is_err() {
                        errors += 1;
                    }
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    i += 7;
                }
                (lat, errors)
            })
        })
        .collect();
    gate.wait();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<u32> = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (lat, e) = w.join().expect("client thread");
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    let ops = all.len() as f64 / elapsed;
    println!("daemon_load: {clients} clients, {secs} s, open-existing through the socket");
    println!("  operations  {}  ({errors} errors)", all.len());
    println!("  throughput  {ops:.0} ops/s   (goal >= 20000)");
    println!(
        "  latency     p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms   (goal p99 <= 5 ms)",
        pct(0.50),
        pct(0.99),
        *all.last().unwrap_or(&0) as f64 / 1000.0
    );
    drop(daemon);
}
