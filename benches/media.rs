//! The media catalogue's speed (issue 10): registering the 40,001 cartridges of
//! `sim/layouts/large.toml` into an empty catalogue (goal ≤ 2 s) and again with nothing changed
//! (≤ 200 ms); allocate + deallocate pairs per second against the bare SQLite durable-insert
//! rate measured in the same run (≥ 0.7×); `reel media list` of 40,000 media through the
//! daemon (≤ 300 ms).
//!
//! Run: `cargo bench --bench media` (REEL_BENCH_PAIRS sets the allocation pairs, default 2,000).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reel::daemon::devices::cartridges;
use reel::daemon::wire::{Call, MediaList, ObjectType, MAX_MEDIA_PAGE};
use reel::daemon::Client;
use reel::discovery::DiscoverOptions;
use reel::media::MediaTypeRef;
use reel::pool::{
    Config, Identity, LibraryIdentity, Rsm, NTMS_ALLOCATE_FROMSCRATCH, NTMS_CREATE_NEW,
};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn large() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/layouts/large.toml")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
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

fn registration(dir: &Path) {
    let layout = reel_sim::Layout::from_file(&large()).expect("large.toml");
    let sim = reel_sim::SimLibrary::new(layout);
    let inv = reel::discovery::discover(&mut sim.source(), &DiscoverOptions::default())
        .expect("discovery");
    let lib = &inv.libraries[0];
    let carts = cartridges(lib);
    let rsm = Rsm::open(&dir.join("register.db"), Config::default()).expect("db");
    let id = rsm
        .register_library(
            &LibraryIdentity {
                serial: lib.serial().to_owned(),
                vendor: lib.changer.vendor.clone(),
                product: lib.changer.product.clone(),
                revision: lib.changer.revision.clone(),
            },
            &lib.detected_media_types(),
        )
        .expect("library");
    let t = Instant::now();
    let first = rsm.register_media(id, &carts).expect("first registration");
    let first_t = t.elapsed();
    let t = Instant::now();
    let second = rsm.register_media(id, &carts).expect("second registration");
    let second_t = t.elapsed();
    println!(
        "register {} cartridges into an empty catalogue: {:.0} ms ({} media, {} cleaners; goal ≤ 2000 ms)",
        carts.len(),
        ms(first_t),
        first.added,
        first.cleaners
    );
    println!(
        "register them again, nothing changed: {:.1} ms ({} unchanged; goal ≤ 200 ms)",
        ms(second_t),
        second.unchanged
    );
}

fn allocation(dir: &Path) {
    let pairs = env_or("REEL_BENCH_PAIRS", 2000) as usize;
    let rsm = Rsm::open(&dir.join("alloc.db"), Config::default()).expect("db");
    let lib = rsm
        .register_library(
            &LibraryIdentity {
                serial: "BENCH".into(),
                vendor: "V".into(),
                product: "P".into(),
                revision: "1".into(),
            },
            &[reel::media::MediaType::Lto8],
        )
        .expect("library");
    let carts: Vec<_> = (0..64u16)
        .map(|i| reel::pool::Cartridge {
            kind: reel::pool::LocationKind::Slot,
            address: 1000 + i,
            barcode: Some(format!("A{i:05}L8")),
            media_type: Some(reel::media::MediaType::Lto8),
            source: None,
            label: None,
        })
        .collect();
    rsm.register_media(lib, &carts).expect("media");
    rsm.set_ready(true);
    let s = rsm.open_session(Identity::new(0, vec![0], 1));
    let (pool, _) = rsm
        .create_media_pool(
            s,
            Some("\\Bench"),
            Some(&MediaTypeRef::parse("LTO-8")),
            NTMS_CREATE_NEW,
            None,
        )
        .expect("pool");
    let free = rsm.find_pool(s, "\\Free\\LTO-8").expect("free");
    for m in rsm.media() {
        rsm.move_to_media_pool(s, m.id, free).expect("to Free");
        rsm.move_to_media_pool(s, m.id, pool).expect("to the pool");
    }
    let mut update = rsm.get_pool_info(s, pool).expect("info").to_update();
    update.allocation_policy = NTMS_ALLOCATE_FROMSCRATCH;
    rsm.set_pool_info(s, pool, &update).expect("policy");
    let zero = Some(Duration::ZERO);
    let t = Instant::now();
    for _ in 0..pairs {
        let a = rsm
            .allocate_media(s, pool, None, None, 0, zero)
            .expect("allocate");
        rsm.deallocate_media(s, a.lmid, 0).expect("deallocate");
    }
    let alloc_t = t.elapsed();
    let bare_t = reel::db::bench::bare_insert_per_transaction(&dir.join("bare.db"), pairs)
        .expect("bare inserts");
    let pairs_s = pairs as f64 / alloc_t.as_secs_f64();
    let bare_s = pairs as f64 / bare_t.as_secs_f64();
    println!(
        "allocate + deallocate: {pairs_s:.0} pairs/s ({:.0} durable transactions/s); bare SQLite \
         durable inserts: {bare_s:.0}/s; pairs/bare = {:.2} (goal ≥ 0.70), transactions/bare = {:.2}",
        2.0 * pairs_s,
        pairs_s / bare_s,
        2.0 * pairs_s / bare_s
    );
}

fn start(dir: &Path) -> (Daemon, PathBuf) {
    let socket = dir.join("reel.sock");
    let child = Daemon(
        Command::new(env!("CARGO_BIN_EXE_reel"))
            .arg("serve")
            .arg("--sim")
            .arg(large())
            .arg("--db")
            .arg(dir.join("daemon.db"))
            .arg("--socket")
            .arg(&socket)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start reel serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(300);
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
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn listing(dir: &Path) {
    let t = Instant::now();
    let (_daemon, socket) = start(dir);
    println!(
        "daemon on large.toml ready (discovery + registration) in {:.0} ms",
        ms(t.elapsed())
    );
    let mut c = Client::connect(&socket, "bench").expect("connect");
    let t = Instant::now();
    let mut n = 0;
    let mut after = None;
    loop {
        let page: MediaList = c
            .call(Call::ListMedia {
                pool: None,
                library: None,
                offline: false,
                after,
                limit: MAX_MEDIA_PAGE,
            })
            .expect("list");
        n += page.media.len();
        after = page.media.last().map(|m| m.id);
        if page.media.len() < MAX_MEDIA_PAGE {
            break;
        }
    }
    println!(
        "list_media of {n} media through the socket, {MAX_MEDIA_PAGE} a page: {:.0} ms",
        ms(t.elapsed())
    );
    for args in [
        &["media", "list", "--json"][..],
        &["media", "list", "--pool", "\\Unrecognized\\LTO-8", "--json"][..],
        &["media", "list"][..],
    ] {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_reel"))
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::piped())
            .output()
            .expect("reel media list");
        let took = t.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = out.stdout.iter().filter(|&&b| b == b'\n').count();
        println!(
            "reel {} ({} bytes, {lines} lines): {:.0} ms (goal ≤ 300 ms for 40,000)",
            args.join(" "),
            out.stdout.len(),
            ms(took)
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    registration(dir.path());
    allocation(dir.path());
    listing(dir.path());
}
