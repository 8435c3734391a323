//! `reel-sim serve` over its socket: several clients, garbage, busy and stale paths, `ctl`.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;

use common::*;
use reel_hw::{DeviceSource, PeripheralType, TransportErrorKind};
use reel_sim::client::SocketSource;
use reel_sim::server::{ServeError, Server};
use reel_sim::SimLibrary;

fn served(lib: &SimLibrary) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.sock");
    Server::bind(&path, lib.clone()).unwrap().spawn();
    (dir, path)
}

#[test]
fn two_clients_are_two_initiators() {
    let lib = default_lib();
    let (_dir, path) = served(&lib);
    let mut a = SocketSource::connect(&path).unwrap();
    let mut b = SocketSource::connect(&path).unwrap();
    let devs = a.devices().unwrap();
    assert_eq!(devs.len(), 3);
    assert_eq!(devs[0].path, "sim:changer");
    assert_eq!(devs[0].peripheral_type, PeripheralType::MEDIUM_CHANGER);
    assert_eq!(devs[2].serial.as_deref(), Some("SIMDRV0002"));
    let mut ta = a.open("sim:changer").unwrap();
    let mut tb = b.open("sim:changer").unwrap();
    assert_eq!(sense3(&nodata(&mut ta, &[0; 6])), Some((6, 0x29, 0)));
    assert_eq!(sense3(&nodata(&mut ta, &[0; 6])), None);
    assert_eq!(sense3(&nodata(&mut tb, &[0; 6])), Some((6, 0x29, 0)));
    assert!(nodata(&mut ta, &move_cdb(1000, 1012)).is_good());
    // Byte-identical to the in-process transport.
    let cdb = res_cdb(true, 0, 0, 0xFFFF, true, 0xFFFF);
    let (c, over_socket) = read(&mut tb, &cdb, 0xFFFF);
    assert!(c.is_good());
    assert_eq!(c.residual, 0xFFFF - over_socket.len());
    let mut local = lib.source();
    let mut tl = open(&mut local, "sim:changer");
    assert_eq!(read(&mut tl, &cdb, 0xFFFF).1, over_socket);
    // Sense over the socket.
    let c = nodata(&mut tb, &move_cdb(1000, 1013));
    assert_eq!(sense3(&c), Some((5, 0x3B, 0x0E)));
    // Opening a device that is not there.
    assert_eq!(
        a.open("sim:drive:999").unwrap_err().kind,
        TransportErrorKind::NoDevice
    );
    // A drive taken offline after it was opened.
    let mut d = a.open("sim:drive:500").unwrap();
    lib.set_drive_online(500, false).unwrap();
    let e = reel_hw::Transport::no_data(&mut d, &[0; 6], T).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::NoDevice);
    assert_eq!(a.devices().unwrap().len(), 2, "the connection survives");
}

#[test]
fn garbage_closes_only_that_connection() {
    let lib = default_lib();
    let (_dir, path) = served(&lib);
    let mut good = SocketSource::connect(&path).unwrap();
    let cases: &[&[u8]] = &[
        &[0, 0, 0, 1, 0x77],       // unknown request kind
        &[0xFF, 0xFF, 0xFF, 0xFF], // length over the limit
        &[0, 0, 0, 3, 0x01, 0, 5], // truncated command
        &[0, 0, 0, 2, 0x03, b'{'], // bad JSON
    ];
    for bytes in cases {
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(bytes).unwrap();
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).unwrap();
        assert_eq!(
            reply.get(4),
            Some(&0x85),
            "protocol error reply for {bytes:02x?}"
        );
        assert!(good.devices().is_ok());
    }
    // A client that hangs up mid-frame.
    let mut s = UnixStream::connect(&path).unwrap();
    s.write_all(&[0, 0, 0, 100, 1, 2]).unwrap();
    drop(s);
    assert!(good.devices().is_ok());
}

#[test]
fn busy_stale_and_foreign_socket_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.sock");
    // Stale: a socket file nobody listens on is replaced.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let lib = default_lib();
    Server::bind(&path, lib.clone()).unwrap().spawn();
    assert!(SocketSource::connect(&path).is_ok());
    // Busy: a live server is refused.
    let e = Server::bind(&path, lib.clone()).unwrap_err();
    assert!(matches!(e, ServeError::Busy(_)), "{e}");
    assert!(e.to_string().contains("already serving"));
    // Not a socket: never replaced.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        Server::bind(&file, lib).unwrap_err(),
        ServeError::NotASocket(_)
    ));
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    // Nothing there at all.
    let e = SocketSource::connect(&dir.path().join("none.sock")).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::NoDevice);
}

fn ctl(path: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reel-sim"))
        .arg("ctl")
        .arg("--socket")
        .arg(path)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ctl_commands() {
    let lib = default_lib();
    let (_dir, path) = served(&lib);
    // (arguments, exit status, text expected on stdout or stderr)
    let cases: &[(&[&str], i32, &str)] = &[
        (&["insert", "NEW001L8"], 0, "inserted NEW001L8 into ie:10"),
        (&["insert", "NEW002L8", "ie:10"], 1, "error: ie:10 is full"),
        (&["insert", "NEW002L8", "slot:1000"], 2, "not a ie: element"),
        (&["status"], 0, "ie:10        NEW001L8"),
        (&["door", "open"], 0, "door open"),
        (&["door", "close"], 0, "door closed"),
        (&["remove", "ie:10"], 0, "removed NEW001L8 from ie:10"),
        (&["remove", "ie:10"], 1, "error: ie:10 is empty"),
        (&["drive", "offline", "500"], 0, "drive:500 offline"),
        (&["drive", "online", "drive:500"], 0, "drive:500 online"),
        (
            &["drive", "offline", "600"],
            1,
            "not a drive element address",
        ),
        (&["door", "ajar"], 2, "invalid value"),
    ];
    for &(args, code, text) in cases {
        let (c, out, err) = ctl(&path, args);
        assert_eq!(c, code, "{args:?}: {out}{err}");
        assert!(
            out.contains(text) || err.contains(text),
            "{args:?}: {out:?} {err:?}"
        );
    }
    let (c, out, _) = ctl(&path, &["status", "--json"]);
    assert_eq!(c, 0);
    assert!(out.trim_start().starts_with('{'), "{out}");
    let (c, out, _) = ctl(&path, &["--json", "status"]);
    assert_eq!(c, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["status"]["cartridges"], 13);
    assert_eq!(v["status"]["drives"][0]["serial"], "SIMDRV0001");
    assert_eq!(v["status"]["slots"][0]["barcode"], "ABC001L8");
    let (c, _, err) = ctl(std::path::Path::new("/nonexistent.sock"), &["status"]);
    assert_eq!(c, 1);
    assert!(err.contains("cannot connect"), "{err}");
}

/// A layout that does not load is bad usage for `reel-sim serve`, exit 2 as in `reel --sim`;
/// `--version` answers on every command.
#[test]
fn serve_refuses_a_bad_layout_with_exit_2_and_version_answers() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("bad.toml");
    std::fs::write(&layout, "[changer]\nserial = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reel-sim"))
        .args(["serve", "--layout"])
        .arg(&layout)
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(!dir.path().join("s.sock").exists());
    let version = env!("CARGO_PKG_VERSION");
    for args in [
        &["--version"][..],
        &["serve", "--version"],
        &["ctl", "--version"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_reel-sim"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let name = std::iter::once("reel-sim")
            .chain(args[..args.len() - 1].iter().copied())
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{name} {version}\n"),
            "{args:?}"
        );
    }
}
