//! Whole-process benchmark of the CLI as users run it: `reel discover --sim
//! sim/layouts/large.toml --json >/dev/null`, and the human report, timed as processes
//! (start-up, discovery, output), with their peak RSS and their write(2) count; then
//! in-process discovery of the same layout.
//!
//! Run with `cargo bench --bench cli`. The write count needs `strace` (Debian: `apt-get
//! install strace`); without it the count is reported as unavailable. Goals (issue 16):
//! median ≤ 60 ms per process, ≤ 64 MiB peak RSS, ≤ 64 write calls, in-process discovery
//! ≤ 5 ms.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reel::discovery::{discover, DiscoverOptions};
use reel_sim::{Layout, SimLibrary};

const RUNS: usize = 15;

fn reel() -> &'static str {
    env!("CARGO_BIN_EXE_reel")
}

fn layout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/layouts/large.toml")
}

fn args(json: bool) -> Vec<String> {
    let mut v = vec![
        "discover".to_owned(),
        "--sim".to_owned(),
        layout().display().to_string(),
    ];
    if json {
        v.push("--json".to_owned());
    }
    v
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Wall time of `RUNS` whole processes, stdout to /dev/null.
fn time_processes(json: bool) -> Vec<Duration> {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(reel())
                .args(args(json))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("reel runs");
            let took = start.elapsed();
            assert!(status.success(), "reel discover failed: {status}");
            took
        })
        .collect()
}

/// The highest VmHWM (peak RSS, KiB) seen while one process runs, sampled every 200 µs from
/// /proc (untimed run: the sampling slows it).
fn peak_rss_kib(json: bool) -> u64 {
    let mut child = Command::new(reel())
        .args(args(json))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("reel runs");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        let hwm = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0);
        peak = peak.max(hwm);
        std::thread::sleep(Duration::from_micros(200));
    }
    peak
}

/// The write(2) calls of one process, counted by `strace -f -c`; `None` without strace.
fn writes(json: bool) -> Option<u64> {
    let out = std::env::temp_dir().join(format!("reel-bench-strace-{}", std::process::id()));
    let status = Command::new("strace")
        .args(["-f", "-c", "-e", "trace=write", "-o"])
        .arg(&out)
        .arg(reel())
        .args(args(json))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    let text = std::fs::read_to_string(&out).ok();
    let _ = std::fs::remove_file(&out);
    if !status.success() {
        return None;
    }
    // "... calls errors syscall": the `write` row's fourth column, or 0 when absent.
    Some(
        text?
            .lines()
            .find(|l| l.split_whitespace().last() == Some("write"))
            .and_then(|l| l.split_whitespace().nth(3).and_then(|c| c.parse().ok()))
            .unwrap_or(0),
    )
}

fn in_process() -> (Duration, usize) {
    let layout = Layout::from_file(&layout()).expect("large.toml parses");
    let mut times = Vec::with_capacity(RUNS);
    let mut elements = 0;
    for _ in 0..RUNS {
        let lib = SimLibrary::new(layout.clone());
        let mut source = lib.source();
        let start = Instant::now();
        let inv = discover(&mut source, &DiscoverOptions::default()).expect("discovery");
        times.push(start.elapsed());
        elements = inv
            .libraries
            .iter()
            .map(|l| l.slots.len() + l.drives.len() + l.import_export.len())
            .sum();
    }
    (median(&mut times), elements)
}

fn main() {
    println!("reel discover --sim sim/layouts/large.toml, whole processes ({RUNS} runs each):");
    for (json, what) in [(true, "--json >/dev/null"), (false, "(human) >/dev/null")] {
        let mut t = time_processes(json);
        let w = writes(json).map_or_else(|| "n/a (install strace)".to_owned(), |n| n.to_string());
        println!(
            "  {what:<20} median {:7.1} ms  min {:7.1} ms  peak RSS {:5.1} MiB  write(2) calls {w}  (goals: ≤ 60 ms, ≤ 64 MiB, ≤ 64 writes)",
            ms(median(&mut t)),
            ms(t[0]),
            peak_rss_kib(json) as f64 / 1024.0,
        );
    }
    let (t, elements) = in_process();
    println!(
        "in-process discovery of large.toml ({elements} elements): median {:.2} ms  (goal: ≤ 5 ms; details: cargo bench --bench discover)",
        ms(t)
    );
}
