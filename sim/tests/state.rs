//! The state file: positions and MAM survive a restart, even after SIGKILL.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reel_hw::{DeviceSource, Transport};
use reel_sim::client::SocketSource;
use reel_sim::wire::ControlRequest;
use reel_sim::{SimError, SimLibrary};

#[test]
fn positions_and_mam_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lib.state");
    {
        let lib = SimLibrary::open(layout("default.toml"), Some(&state)).unwrap();
        let mut src = lib.source();
        let mut c = open(&mut src, "sim:changer");
        assert!(nodata(&mut c, &move_cdb(1000, 500)).is_good());
        assert!(nodata(&mut c, &move_cdb(1001, 1015)).is_good());
        let mut d = open(&mut src, "sim:drive:500");
        let mut p = vec![0, 0, 0, 9, 0x08, 0x08, 0x02, 0, 4];
        p.extend(b"POOL");
        assert_eq!(p.len(), 13);
        let c2 = d
            .write(&[0x8D, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0], &p, T)
            .unwrap();
        assert!(c2.is_good(), "{c2:?}");
        lib.insert("NEW001L8", None).unwrap();
    }
    let lib = SimLibrary::open(layout("default.toml"), Some(&state)).unwrap();
    let s = lib.status();
    assert_eq!(s.drives[0].barcode.as_deref(), Some("ABC001L8"));
    assert!(s.drives[0].loaded);
    assert_eq!(s.slots[0].barcode, None);
    assert_eq!(s.slots[1].barcode, None);
    assert_eq!(s.slots[15].barcode.as_deref(), Some("ABC002L8"));
    assert_eq!(s.import_export[0].barcode.as_deref(), Some("NEW001L8"));
    let mut src = lib.source();
    let mut d = open(&mut src, "sim:drive:500");
    let (c, r) = read(
        &mut d,
        &[0x8C, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x08, 0, 0, 1, 0, 0, 0],
        256,
    );
    assert!(c.is_good());
    assert_eq!(&r[4..13], &[0x08, 0x08, 0x02, 0, 4, b'P', b'O', b'O', b'L']);
    // The source address survives too.
    let mut ch = open(&mut src, "sim:changer");
    let (_, e) = read(&mut ch, &res_cdb(false, 2, 1015, 1, false, 100), 100);
    assert_eq!(&e[16 + 9..16 + 12], &[0x81, 0x03, 0xE9]);
}

#[test]
fn a_state_file_of_another_layout_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lib.state");
    drop(SimLibrary::open(layout("default.toml"), Some(&state)).unwrap());
    let e = SimLibrary::open(layout("autoloader.toml"), Some(&state)).unwrap_err();
    assert!(matches!(e, SimError::StateMismatch { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("written for another library") && msg.contains("SIMLIB0001"),
        "{msg}"
    );
    std::fs::write(&state, b"{not json").unwrap();
    let msg = SimLibrary::open(layout("default.toml"), Some(&state))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not a reel-sim state file"), "{msg}");
}

fn serve(layout: &str, state: &std::path::Path, socket: &std::path::Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_reel-sim"))
        .args(["serve", "--layout"])
        .arg(layout_path(layout))
        .arg("--state")
        .arg(state)
        .arg("--socket")
        .arg(socket)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while SocketSource::connect(socket).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn sigkill_then_restart_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lib.state");
    let socket = dir.path().join("sim.sock");
    let mut child = serve("default.toml", &state, &socket);
    let mut src = SocketSource::connect(&socket).unwrap();
    let mut c = src.open("sim:changer").unwrap();
    assert_eq!(sense3(&nodata(&mut c, &[0; 6])), Some((6, 0x29, 0)));
    assert!(nodata(&mut c, &move_cdb(1000, 501)).is_good());
    assert!(nodata(&mut c, &move_cdb(1023, 10)).is_good());
    let before = src.control(ControlRequest::Status).unwrap().status.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    assert!(socket.exists(), "SIGKILL leaves a stale socket");
    // The restart replaces the stale socket and resumes.
    let mut child = serve("default.toml", &state, &socket);
    let src = SocketSource::connect(&socket).unwrap();
    let after = src.control(ControlRequest::Status).unwrap().status.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.drives[1].barcode.as_deref(), Some("ABC001L8"));
    assert_eq!(after.import_export[0].barcode.as_deref(), Some("CLN001CU"));
    // SIGTERM: the socket is removed and the exit status is 0.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists());
}
