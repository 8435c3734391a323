//! Pool-layer speed, printed: `cargo bench --bench pools`.
//!
//! In one run and on one disk (a temporary directory under `$REEL_BENCH_DIR`, default
//! `target/`): pools created per second (100 top-level pools × 100 children, each
//! `CreateNtmsMediaPool` one transaction), pools opened by name per second (in-process,
//! OPEN_EXISTING), and the rate of a bare SQLite insert per transaction with the same pragmas —
//! the limit a create is measured against. Goals: create ≥ 0.7 × bare; open ≥ 100,000/s.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reel::media::MediaType;
use reel::pool::{Config, Identity, LibraryIdentity, Rsm, NTMS_CREATE_NEW, NTMS_OPEN_EXISTING};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let base = std::env::var_os("REEL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    std::fs::create_dir_all(&base).expect("bench directory");
    let dir = tempfile::TempDir::new_in(&base).expect("temporary directory");
    let top = env_usize("REEL_BENCH_TOP", 100);
    let children = env_usize("REEL_BENCH_CHILDREN", 100);
    let open_rounds = env_usize("REEL_BENCH_OPEN_ROUNDS", 20);

    let rsm = Rsm::open(&dir.path().join("pools.db"), Config::default()).expect("open");
    let library = LibraryIdentity {
        serial: "BENCH".into(),
        vendor: "IBM".into(),
        product: "3573-TL".into(),
        revision: "1".into(),
    };
    rsm.register_library(&library, &[MediaType::Lto8])
        .expect("register");
    rsm.set_ready(true);
    let s = rsm.open_session(Identity::new(0, vec![0], std::process::id()));

    // Creates and bare inserts run interleaved, one top-level pool and its children at a
    // time, so both see the same disk and the same load from anything else on the machine.
    let mut bare = reel::db::bench::Bare::create(&dir.path().join("bare.db")).expect("bare");
    let mut names = Vec::with_capacity(top * children);
    let (mut create_time, mut bare_time) = (Duration::ZERO, Duration::ZERO);
    for t in 0..top {
        let start = Instant::now();
        let parent = format!("\\App{t:03}");
        rsm.create_media_pool(s, Some(&parent), None, NTMS_CREATE_NEW, None)
            .expect("create");
        for c in 0..children {
            let name = format!("{parent}\\Pool{c:03}");
            rsm.create_media_pool(s, Some(&name), None, NTMS_CREATE_NEW, None)
                .expect("create");
            names.push(name);
        }
        create_time += start.elapsed();
        bare_time += bare.insert(children + 1).expect("bare");
    }
    let created = top * (children + 1);

    let start = Instant::now();
    let mut opened = 0;
    for _ in 0..open_rounds {
        for name in &names {
            let (_, created) = rsm
                .create_media_pool(s, Some(name), None, NTMS_OPEN_EXISTING, None)
                .expect("open");
            assert!(!created);
            opened += 1;
        }
    }
    let open_time = start.elapsed();

    // Two threads opening at once (the daemon's case).
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let s = rsm.open_session(Identity::new(0, vec![0], 1));
                for name in &names {
                    rsm.create_media_pool(s, Some(name), None, NTMS_OPEN_EXISTING, None)
                        .expect("open");
                }
            });
        }
    });
    let open2_time = start.elapsed();

    let (create_rate, bare_rate) = (rate(created, create_time), rate(created, bare_time));
    println!("pools bench in {}", dir.path().display());
    println!("  create  {created:>8} pools, one transaction each: {create_rate:>12.0} /s  ({create_time:.2?})");
    println!("  bare    {created:>8} inserts, one transaction each: {bare_rate:>10.0} /s  ({bare_time:.2?})");
    println!(
        "  create / bare = {:.2}  (goal >= 0.70)",
        create_rate / bare_rate
    );
    println!(
        "  open    {opened:>8} by name (OPEN_EXISTING), 1 thread: {:>9.0} /s  ({open_time:.2?}, goal >= 100000)",
        rate(opened, open_time)
    );
    println!(
        "  open    {:>8} by name, 2 threads:                {:>9.0} /s  ({open2_time:.2?})",
        2 * names.len(),
        rate(2 * names.len(), open2_time)
    );
}
