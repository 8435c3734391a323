//! Discovery benchmark: wall time, SCSI commands and peak RSS of `reel discover` on
//! `sim/layouts/default.toml` and `large.toml`, in-process and through a simulator socket.
//!
//! Run with `cargo bench --bench discover`. Each measurement runs in a child process of this
//! binary so that its peak RSS (VmHWM) is its own: for the in-process runs it includes the
//! simulated library, for the socket runs only reel's side (the simulator is served by the
//! parent, as `reel-sim serve` would). Goals for `large.toml` (issue 4): ≤ 50 ms in-process,
//! ≤ 150 ms through the socket, ≤ 64 MiB RSS.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reel::discovery::{discover, DiscoverOptions, Inventory};
use reel_sim::client::SocketSource;
use reel_sim::{Layout, SimLibrary};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this thread has run (ns), from /proc/thread-self/schedstat: a figure the other
/// processes on a shared machine do not inflate the way they inflate wall time.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn runs_for(layout: &Path) -> usize {
    if layout.ends_with("large.toml") {
        10
    } else {
        50
    }
}

fn summary(times: &mut [Duration], cpu: &mut [Duration], inv: &Inventory, extra: &str) -> String {
    times.sort();
    cpu.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let stats = inv.stats.clone().unwrap_or_default();
    let slots: usize = inv.libraries.iter().map(|l| l.slots.len()).sum();
    let drives: usize = inv.libraries.iter().map(|l| l.drives.len()).sum();
    let by: Vec<String> = stats
        .by_command
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "median {:.2} ms  min {:.2} ms  max {:.2} ms  ({} runs)  cpu median {:.2} ms  \
         commands {} [{}]  device {:.2} ms  slots {}  drives {}  peak RSS {:.1} MiB{}",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len(),
        ms(cpu[cpu.len() / 2]),
        stats.commands,
        by.join(", "),
        stats.device_ms,
        slots,
        drives,
        vm_hwm_kib() as f64 / 1024.0,
        extra
    )
}

/// Child: discovery with the simulator in this process.
fn in_process(layout: &Path) -> String {
    let t0 = Instant::now();
    let lib = SimLibrary::new(Layout::from_file(layout).expect("layout"));
    let build = t0.elapsed();
    let opts = DiscoverOptions::default();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut last = None;
    for _ in 0..runs_for(layout) {
        // A fresh initiator each run, as a new `reel discover` process would be.
        let mut source = lib.source();
        let (t, c) = (Instant::now(), thread_cpu());
        let inv = discover(&mut source, &opts).expect("discover");
        times.push(t.elapsed());
        cpu.push(thread_cpu() - c);
        last = Some(inv);
    }
    let extra = format!(
        "  (library built in {:.1} ms)",
        build.as_secs_f64() * 1000.0
    );
    summary(&mut times, &mut cpu, &last.expect("one run"), &extra)
}

/// Child: discovery through a served simulator.
fn through_socket(socket: &Path, layout: &Path) -> String {
    let opts = DiscoverOptions::default();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut last = None;
    for _ in 0..runs_for(layout) {
        let (t, c) = (Instant::now(), thread_cpu());
        let mut source = SocketSource::connect(socket).expect("connect");
        let inv = discover(&mut source, &opts).expect("discover");
        times.push(t.elapsed());
        cpu.push(thread_cpu() - c);
        last = Some(inv);
    }
    summary(&mut times, &mut cpu, &last.expect("one run"), "")
}

fn child(args: &[String]) -> String {
    let me = std::env::current_exe().expect("current exe");
    let out = Command::new(me)
        .arg("--child")
        .args(args)
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let line = match args.get(1).map(String::as_str) {
            Some("in-process") => in_process(Path::new(&args[2])),
            Some("socket") => through_socket(Path::new(&args[2]), Path::new(&args[3])),
            other => panic!("unknown child mode {other:?}"),
        };
        println!("{line}");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    println!("reel discover benchmark (cargo bench --bench discover)");
    for name in ["default", "large"] {
        let layout = root.join("sim/layouts").join(format!("{name}.toml"));
        let l = layout.to_string_lossy().into_owned();
        println!(
            "{name}.toml in-process:  {}",
            child(&["in-process".into(), l.clone()])
        );
        let socket = dir.path().join(format!("{name}.sock"));
        let lib = SimLibrary::new(Layout::from_file(&layout).expect("layout"));
        reel_sim::server::Server::bind(&socket, lib)
            .expect("bind")
            .spawn();
        let s = socket.to_string_lossy().into_owned();
        println!(
            "{name}.toml via socket:  {}",
            child(&["socket".into(), s, l])
        );
    }
}
