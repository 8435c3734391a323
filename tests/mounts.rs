//! Integration tests: the controller through the daemon socket — mounts and dismounts, the
//! technician move, status/metrics/requests/watch, readiness, and device failures from the
//! simulator's faults and operator actions (rsm-media-and-mounts.md §3, §4, §8, §10, §11).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reel::daemon::wire::Call;
use reel::daemon::Client;
use serde_json::{json, Value};

use crate::util::{self, daemon::REEL};

const LAYOUT: &str = r#"
[changer]
serial = "MNTLIB01"
storage       = { first = 1000, count = 16 }
import_export = { first = 10, count = 1 }
data_transfer = { first = 500, count = 4 }

[[drive]]
serial = "MNTDRV01"
generation = "LTO-8"
[[drive]]
serial = "MNTDRV02"
generation = "LTO-8"
[[drive]]
serial = "MNTDRV03"
generation = "LTO-8"
[[drive]]
serial = "MNTDRV04"
generation = "LTO-8"

[[cartridges]]
first_barcode = "MNT001L8"
count = 12
first_location = "slot:1000"
"#;

/// A `reel serve` child on its own files.
struct Serve {
    child: Option<Child>,
    dir: PathBuf,
    socket: PathBuf,
    args: Vec<String>,
}

impl Serve {
    /// Serves the layout text `extra` appended to [`LAYOUT`], in-process.
    fn sim(dir: &Path, extra: &str) -> Serve {
        let layout = dir.join("layout.toml");
        fs::write(&layout, format!("{LAYOUT}{extra}")).unwrap();
        Serve::start(dir, vec!["--sim".into(), layout.display().to_string()])
    }

    /// Serves a simulator behind a socket.
    fn socket(dir: &Path, sim_socket: &Path) -> Serve {
        Serve::start(
            dir,
            vec!["--sim-socket".into(), sim_socket.display().to_string()],
        )
    }

    fn start(dir: &Path, devices: Vec<String>) -> Serve {
        let mut s = Serve {
            child: None,
            dir: dir.to_path_buf(),
            socket: dir.join("reel.sock"),
            args: devices,
        };
        s.restart();
        s
    }

    fn restart(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("daemon.log"))
            .unwrap();
        let child = Command::new(REEL)
            .arg("serve")
            .args(&self.args)
            .arg("--db")
            .arg(self.dir.join("pools.db"))
            .arg("--socket")
            .arg(&self.socket)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("daemon exited ({st}): {}", self.log());
            }
            if let Ok(mut c) = Client::connect(&self.socket, "t") {
                if let Ok(v) = c.call_value(Call::Status {}) {
                    if v["status"]["ready"] == true {
                        return;
                    }
                }
            }
            assert!(Instant::now() < deadline, "not ready: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    fn client(&self) -> Client {
        Client::connect(&self.socket, "test").unwrap()
    }

    fn reel(&self, args: &[&str]) -> util::Run {
        let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        all.push("--socket".into());
        all.push(self.socket.display().to_string());
        util::reel(&all)
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

fn mount_call(media: &[&str]) -> Call {
    Call::Mount {
        media: media.iter().map(|s| (*s).to_owned()).collect(),
        read: false,
        write: false,
        drive: None,
        priority: 0,
        timeout_ms: None,
        error_if_unavailable: false,
        error_if_offline: false,
        nowait: false,
    }
}

fn dismount_call(media: &[&str], deferred: bool) -> Call {
    Call::Dismount {
        media: media.iter().map(|s| (*s).to_owned()).collect(),
        deferred,
    }
}

/// Polls `status` until no drive is being worked on and nothing is queued.
fn settle(c: &mut Client) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = c.call_value(Call::Status {}).unwrap();
        let busy = s["status"]["libraries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| {
                l["queued"] != 0
                    || l["drives"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|d| d["state"] == "mounted" || d["state"] == "unloaded")
            });
        if !busy {
            return s;
        }
        assert!(Instant::now() < deadline, "did not settle: {s}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn drive_states(s: &Value) -> Vec<(String, Value)> {
    s["status"]["libraries"][0]["drives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["state"].as_str().unwrap().to_owned(),
                d["barcode"].clone(),
            )
        })
        .collect()
}

#[test]
fn mount_dismount_and_the_live_library_through_the_socket() {
    let tmp = util::tempdir();
    let d = Serve::sim(tmp.path(), "");
    let r = d.reel(&["mount", "MNT003L8", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = r.json();
    let m = &doc["mounted"][0];
    assert_eq!(m["barcode"], "MNT003L8");
    assert_eq!(m["drive"]["address"], 500);
    assert_eq!(m["drive"]["serial"], "MNTDRV01");
    assert_eq!(m["drive"]["library"], "MNTLIB01");
    assert_eq!(
        m["drive"]["sg"],
        Value::Null,
        "a simulated drive has no /dev node"
    );
    // The CLI's session ended: the medium stays in its drive, dismountable (the daemon
    // closes the session once it sees the connection go).
    let mut c = d.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    let s = loop {
        let s = c.call_value(Call::Status {}).unwrap();
        if drive_states(&s)[0].0 != "loaded" || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(
        drive_states(&s)[0],
        ("dismountable".into(), json!("MNT003L8"))
    );
    // `library` reflects the move without a rescan.
    let lib = d.reel(&["library", "--json"]).json();
    assert_eq!(lib["libraries"][0]["slots"][2]["full"], false);
    assert_eq!(lib["libraries"][0]["drives"][0]["barcode"], "MNT003L8");
    assert_eq!(lib["libraries"][0]["drives"][0]["source"], 1002);

    // Mount again (no changer command), dismount immediately, and it is home.
    let before = s["status"]["scsi"]["by_command"]["MOVE MEDIUM"].clone();
    c.call_value(mount_call(&["MNT003L8"])).unwrap();
    let s = c.call_value(Call::Status {}).unwrap();
    assert_eq!(s["status"]["scsi"]["by_command"]["MOVE MEDIUM"], before);
    let out = c.call_value(dismount_call(&["MNT003L8"], false)).unwrap();
    assert_eq!(out["dismounted"][0]["state"], "dismounting");
    let s = settle(&mut c);
    assert_eq!(drive_states(&s)[0], ("dismounted".into(), Value::Null));
    let lib = d.reel(&["library", "--json"]).json();
    assert_eq!(lib["libraries"][0]["slots"][2]["barcode"], "MNT003L8");

    // Requests: the mounts and the dismount, passed.
    let reqs = d.reel(&["requests", "--all", "--json"]).json();
    let ops: Vec<(String, String)> = reqs["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["operation"].as_str().unwrap().into(),
                r["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("mount", "passed"),
            ("mount", "passed"),
            ("dismount", "passed")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    // Metrics in the Prometheus text format.
    let m = d.reel(&["metrics"]);
    assert_eq!(m.code, 0);
    for want in [
        "reel_ready 1\n",
        "reel_mounts_total 2\n",
        "reel_dismounts_total 1\n",
        "reel_scsi_commands_total{device=\"sim:changer\",command=\"MOVE MEDIUM\"} 2\n",
        "reel_drive_state{library=\"MNTLIB01\",drive=\"500\",serial=\"MNTDRV01\",state=\"dismounted\"} 1\n",
        "reel_queue_depth{library=\"MNTLIB01\"} 0\n",
        "reel_mount_latency_seconds_count 2\n",
    ] {
        assert!(m.stdout.contains(want), "missing {want:?} in\n{}", m.stdout);
    }
}

#[test]
fn the_technician_move_runs_on_the_daemons_picker() {
    let tmp = util::tempdir();
    let d = Serve::sim(tmp.path(), "");
    // (args, exit code, JSON member checked)
    let r = d.reel(&["move", "slot:1000", "drive:502", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json(),
        json!({"moved": {"from": "slot:1000", "to": "drive:502", "barcode": "MNT001L8"}})
    );
    let r = d.reel(&["move", "drive:502", "slot:1015", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Source empty: the device's sense, decoded.
    let r = d.reel(&["move", "slot:1000", "slot:1014", "--json"]);
    assert_eq!(r.code, 1);
    let e = r.json()["error"].clone();
    assert_eq!(
        (e["name"].as_str(), e["code"].as_u64()),
        (Some("ERROR_DEVICE_NOT_AVAILABLE"), Some(4319))
    );
    assert_eq!(
        (
            e["sense"]["key"].as_u64(),
            e["sense"]["asc"].as_u64(),
            e["sense"]["ascq"].as_u64()
        ),
        (Some(5), Some(0x3B), Some(0x0E))
    );
    let lib = d.reel(&["library", "--json"]).json();
    assert_eq!(lib["libraries"][0]["slots"][15]["barcode"], "MNT001L8");
    assert_eq!(lib["libraries"][0]["slots"][0]["full"], false);
    // Another user may not move tapes.
    let nobody = util::daemon::User::new(65534);
    let mut cmd = nobody.setpriv();
    fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    fs::set_permissions(
        &d.socket,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    let out = cmd
        .arg(REEL)
        .args(["move", "slot:1001", "slot:1000", "--json", "--socket"])
        .arg(&d.socket)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["name"], "ERROR_ACCESS_DENIED", "{doc}");
}

#[test]
fn a_jammed_picker_is_a_decoded_error_and_a_clean_retry() {
    let tmp = util::tempdir();
    let d = Serve::sim(
        tmp.path(),
        "\n[[fault]]\ncommand = \"MOVE MEDIUM\"\nsense = \"4/15/01\"\n",
    );
    let r = d.reel(&["mount", "MNT001L8", "--json"]);
    assert_eq!(r.code, 1);
    let e = &r.json()["error"];
    assert_eq!(e["name"], "ERROR_DEVICE_NOT_AVAILABLE");
    assert_eq!(
        e["sense"],
        json!({"key": 4, "asc": 0x15, "ascq": 1, "text": e["sense"]["text"]})
    );
    assert!(e["sense"]["text"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("positioning"));
    let r = d.reel(&["requests", "--all", "--json"]).json();
    assert_eq!(r["requests"][0]["state"], "failed");
    assert_eq!(
        r["requests"][0]["error"],
        json!({"name": "ERROR_DEVICE_NOT_AVAILABLE", "code": 4319})
    );
    let r = d.reel(&["mount", "MNT001L8", "--json"]);
    assert_eq!(r.code, 0, "the retry succeeds: {}", r.stderr);
}

#[test]
fn a_medium_the_drive_rejects_goes_home_with_30_00() {
    let tmp = util::tempdir();
    let d = Serve::sim(
        tmp.path(),
        "\n[[fault]]\ncommand = \"TEST UNIT READY\"\nsense = \"3/30/00\"\n",
    );
    let r = d.reel(&["mount", "MNT002L8", "--json"]);
    assert_eq!(r.code, 1);
    let e = &r.json()["error"];
    assert_eq!(
        (e["name"].as_str(), e["code"].as_u64()),
        (Some("ERROR_UNABLE_TO_LOAD_MEDIUM"), Some(4324))
    );
    assert_eq!(
        (e["sense"]["asc"].as_u64(), e["sense"]["ascq"].as_u64()),
        (Some(0x30), Some(0))
    );
    let lib = d.reel(&["library", "--json"]).json();
    assert_eq!(lib["libraries"][0]["slots"][1]["barcode"], "MNT002L8");
    assert_eq!(lib["libraries"][0]["drives"][0]["full"], false);
}

#[test]
fn nowait_mounts_end_with_event_complete_and_watch_sees_them() {
    let tmp = util::tempdir();
    let d = Serve::sim(tmp.path(), "\n[timing]\nload_ms = 200\n");
    let mut watcher = d.client();
    let ch = watcher
        .call_value(Call::OpenNotification { types: vec![] })
        .unwrap()["channel"]
        .clone();
    let channel = serde_json::from_value(ch).unwrap();
    let mut c = d.client();
    let q = c
        .call_value(mount_opts("MNT004L8", true, false, None))
        .unwrap();
    let id = q["request"]["id"].as_str().unwrap().to_owned();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !events.iter().any(|e: &Value| e["operation"] == "complete") {
        assert!(Instant::now() < deadline, "{events:?}");
        let got = watcher
            .call_value(Call::WaitNotification {
                channel,
                timeout_ms: 1000,
            })
            .unwrap();
        events.extend(got["events"].as_array().unwrap().iter().cloned());
    }
    let complete = events
        .iter()
        .find(|e| e["operation"] == "complete")
        .unwrap();
    assert_eq!(
        complete,
        &json!({"operation": "complete", "type": "request", "id": id})
    );
    assert!(events
        .iter()
        .any(|e| e == &json!({"operation": "insert", "type": "request", "id": id})));
    assert!(events
        .iter()
        .any(|e| e["type"] == "drive" && e["operation"] == "update"));
    let reqs = c.call_value(Call::Requests { all: true }).unwrap();
    assert_eq!(reqs["requests"][0]["state"], "passed");
    // `reel watch` prints the same objects, one a line.
    let out = Command::new(REEL)
        .args(["watch", "--type", "request", "--count", "2", "--socket"])
        .arg(&d.socket)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    c.call_value(dismount_call(&["MNT004L8"], false)).unwrap();
    let out = out.wait_with_output().unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[1]["operation"], "insert");
    assert_eq!(lines[1]["type"], "request");
}

fn mount_args(b: &str) -> Call {
    mount_call(&[b])
}

/// A mount of `b` with NOWAIT, ERROR_IF_UNAVAILABLE and a timeout as given.
fn mount_opts(b: &str, nowait: bool, error_if_unavailable: bool, timeout_ms: Option<u64>) -> Call {
    Call::Mount {
        media: vec![b.to_owned()],
        read: false,
        write: false,
        drive: None,
        priority: 0,
        timeout_ms,
        error_if_unavailable,
        error_if_offline: false,
        nowait,
    }
}

#[test]
fn a_queued_mount_can_be_cancelled_and_the_last_drive_is_raced_for() {
    let tmp = util::tempdir();
    let d = Serve::sim(tmp.path(), "");
    let mut holders = Vec::new();
    for b in ["MNT001L8", "MNT002L8", "MNT003L8"] {
        let mut c = d.client();
        c.call_value(mount_call(&[b])).unwrap();
        holders.push(c);
    }
    // Two sessions race for the last free drive: one wins, the other (ERROR_IF_UNAVAILABLE)
    // gets ERROR_BUSY.
    let socket = Arc::new(d.socket.clone());
    let racers: Vec<_> = ["MNT004L8", "MNT005L8"]
        .into_iter()
        .map(|b| {
            let s = socket.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(&s, "racer").unwrap();
                let r = c.call_value(mount_opts(b, false, true, None));
                (r.map(|_| ()).map_err(|e| e.code), c)
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    let codes: Vec<Result<(), u32>> = results.iter().map(|(r, _)| *r).collect();
    assert!(codes.contains(&Ok(())), "{codes:?}");
    assert!(codes.contains(&Err(170)), "{codes:?}");
    // A waiting mount is listed as waiting and can be cancelled.
    let s = socket.clone();
    let waiter = std::thread::spawn(move || {
        let mut c = Client::connect(&s, "waiter").unwrap();
        c.call_value(mount_args("MNT006L8")).map_err(|e| e.code)
    });
    let mut c = d.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let r = c.call_value(Call::Requests { all: false }).unwrap();
        if let Some(w) = r["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["state"] == "waiting")
        {
            break w["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    };
    let r = d.reel(&["requests", "cancel", &id, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(waiter.join().unwrap(), Err(1223), "ERROR_CANCELLED");
    let r = d.reel(&["requests", "cancel", &id, "--json"]);
    assert_eq!(r.json()["error"]["name"], "ERROR_INVALID_STATE");
    drop(results);
}

#[test]
fn thirty_two_clients_two_thousand_cycles_and_the_library_agrees() {
    let tmp = util::tempdir();
    let (sim_socket, sim) = util::serve_sim(&write_layout(tmp.path(), ""), tmp.path());
    let d = Serve::socket(tmp.path(), &sim_socket);
    let socket = Arc::new(d.socket.clone());
    let cycles = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let (s, n) = (socket.clone(), cycles.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(&s, "stress").unwrap();
                let mut k = i;
                let mut done = 0;
                while n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2000 {
                    k = (k * 7 + 3) % 12;
                    let b = format!("MNT{:03}L8", k + 1);
                    match c.call_value(mount_opts(&b, false, false, Some(20_000))) {
                        Ok(_) => {}
                        Err(e) => panic!("mount {b}: {e}"),
                    }
                    c.call_value(dismount_call(&[&b], k % 3 == 0)).unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 2000);
    let mut c = d.client();
    settle(&mut c);
    // The daemon's library and the simulator's agree, element by element.
    let lib = c.call_value(Call::Library { rescan: false }).unwrap();
    let truth = sim.status();
    for (i, slot) in truth.slots.iter().enumerate() {
        assert_eq!(
            lib["libraries"][0]["slots"][i]["barcode"],
            json!(slot.barcode),
            "{}",
            slot.location
        );
    }
    for (i, drv) in truth.drives.iter().enumerate() {
        assert_eq!(
            lib["libraries"][0]["drives"][i]["barcode"],
            json!(drv.barcode),
            "drive {}",
            drv.address
        );
    }
    let s = c.call_value(Call::Status {}).unwrap();
    assert_eq!(
        s["status"]["scsi"]["by_command"].get("READ ELEMENT STATUS"),
        None,
        "no element status read after discovery: {s}"
    );
}

fn write_layout(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("layout.toml");
    fs::write(&p, format!("{LAYOUT}{extra}")).unwrap();
    p
}

#[test]
fn door_opened_during_a_mount_and_a_drive_going_offline() {
    let tmp = util::tempdir();
    let (sim_socket, sim) = util::serve_sim(
        &write_layout(tmp.path(), "\n[timing]\nload_ms = 400\n"),
        tmp.path(),
    );
    let d = Serve::socket(tmp.path(), &sim_socket);
    // The door opens while a tape loads: the mount is not disturbed.
    let s = d.socket.clone();
    let t = std::thread::spawn(move || {
        Client::connect(&s, "a")
            .unwrap()
            .call_value(mount_args("MNT001L8"))
    });
    std::thread::sleep(Duration::from_millis(150));
    sim.set_door(true).unwrap();
    assert!(t.join().unwrap().is_ok());
    // The operator puts a tape in the mailslot and closes the door: the next changer command
    // meets 06/28/01 and the daemon re-reads the import/export element only.
    sim.set_door(false).unwrap();
    let mut c = d.client();
    let before = c.call_value(Call::Status {}).unwrap()["status"]["scsi"]["by_command"]
        ["READ ELEMENT STATUS"]
        .as_u64()
        .unwrap_or(0);
    c.call_value(Call::MoveElement {
        library: None,
        from: "slot:1005".into(),
        to: "slot:1015".into(),
        priority: 0,
    })
    .unwrap();
    let after = c.call_value(Call::Status {}).unwrap()["status"]["scsi"]["by_command"]
        ["READ ELEMENT STATUS"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(after, before + 1);
    // A drive taken offline mid-mount: a decoded error, the drive out of use, the next mount
    // on another drive.
    let s = d.socket.clone();
    let t = std::thread::spawn(move || {
        Client::connect(&s, "b")
            .unwrap()
            .call_value(mount_args("MNT002L8"))
    });
    std::thread::sleep(Duration::from_millis(150));
    sim.set_drive_online(501, false).unwrap();
    let e = t.join().unwrap().unwrap_err();
    assert_eq!(
        (e.name.as_str(), e.code),
        ("ERROR_DEVICE_NOT_AVAILABLE", 4319),
        "{e}"
    );
    let st = c.call_value(Call::Status {}).unwrap();
    assert_eq!(st["status"]["libraries"][0]["drives"][1]["online"], false);
    let m = c.call_value(mount_args("MNT003L8")).unwrap();
    assert_eq!(m["mounted"][0]["drive"]["address"], 502);
}

#[test]
fn sigkill_in_the_middle_of_a_move_then_one_reconciling_inventory() {
    let tmp = util::tempdir();
    let (sim_socket, sim) = util::serve_sim(
        &write_layout(tmp.path(), "\n[timing]\nmove_ms = 800\n"),
        tmp.path(),
    );
    let mut d = Serve::socket(tmp.path(), &sim_socket);
    let mut c = d.client();
    let q = c
        .call_value(mount_opts("MNT007L8", true, false, None))
        .unwrap();
    assert!(
        q["request"]["state"] == "queued" || q["request"]["state"] == "in_process",
        "{q}"
    );
    std::thread::sleep(Duration::from_millis(300));
    d.kill();
    // The robot finishes its move; the daemon comes back and reads the library once.
    std::thread::sleep(Duration::from_millis(900));
    d.restart();
    let mut c = d.client();
    let lib = c.call_value(Call::Library { rescan: false }).unwrap();
    let truth = sim.status();
    assert_eq!(
        lib["libraries"][0]["drives"][0]["barcode"],
        json!(truth.drives[0].barcode)
    );
    assert_eq!(truth.drives[0].barcode.as_deref(), Some("MNT007L8"));
    let s = c.call_value(Call::Status {}).unwrap();
    assert_eq!(
        drive_states(&s)[0],
        ("dismountable".into(), json!("MNT007L8"))
    );
    // It mounts from where it is (no move), and goes home on dismount.
    let m = c.call_value(mount_args("MNT007L8")).unwrap();
    assert_eq!(m["mounted"][0]["drive"]["address"], 500);
    c.call_value(dismount_call(&["MNT007L8"], false)).unwrap();
    settle(&mut c);
    assert_eq!(sim.status().slots[6].barcode.as_deref(), Some("MNT007L8"));
}

#[test]
fn the_client_waits_for_readiness() {
    let tmp = util::tempdir();
    let layout = write_layout(tmp.path(), "\n[quirks]\nnot_ready_on_start_ms = 1500\n");
    let socket = tmp.path().join("reel.sock");
    let mut child = Command::new(REEL)
        .args(["serve", "--sim"])
        .arg(&layout)
        .arg("--db")
        .arg(tmp.path().join("pools.db"))
        .arg("--socket")
        .arg(&socket)
        .env("RUST_LOG", "error")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    // --wait-ready 0: the daemon's own ERROR_NOT_READY at once.
    let out = Command::new(REEL)
        .args(["media-types", "--json", "--wait-ready", "0", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["name"], "ERROR_NOT_READY", "{doc}");
    // The default waits until discovery is done.
    let out = Command::new(REEL)
        .args(["status", "--json", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"]["ready"], true, "{doc}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sd_notify_ready_once_discovery_is_done() {
    let tmp = util::tempdir();
    let layout = write_layout(tmp.path(), "");
    let notify = tmp.path().join("notify.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let socket = tmp.path().join("reel.sock");
    let mut child = Command::new(REEL)
        .args(["serve", "--sim"])
        .arg(&layout)
        .arg("--db")
        .arg(tmp.path().join("pools.db"))
        .arg("--socket")
        .arg(&socket)
        .env("NOTIFY_SOCKET", &notify)
        .env("RUST_LOG", "error")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = listener.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.lines().any(|l| l == "READY=1"), "{msg:?}");
    // By then the daemon answers as ready.
    let mut c = Client::connect(&socket, "t").unwrap();
    assert_eq!(
        c.call_value(Call::Status {}).unwrap()["status"]["ready"],
        true
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_catalogue_follows_mounts_and_the_omid_is_written_on_the_scheduler() {
    let tmp = util::tempdir();
    let d = Serve::sim(tmp.path(), "");
    let shown = d.reel(&["media", "show", "MNT005L8", "--json"]).json();
    let id = shown["medium"]["id"].as_str().unwrap().to_owned();
    // Mount by the medium's id: the catalogue answers where it is and records the mount.
    let mut c = d.client();
    let m = c.call_value(mount_args(&id)).unwrap();
    assert_eq!(m["mounted"][0]["medium"], json!(id));
    assert_eq!(m["mounted"][0]["barcode"], "MNT005L8");
    let shown = d.reel(&["media", "show", &id, "--json"]).json();
    assert_eq!(
        (
            shown["medium"]["location"].clone(),
            shown["medium"]["state"].clone()
        ),
        (
            json!({"library": "MNTLIB01", "type": "drive", "address": 500}),
            json!("loaded")
        )
    );
    c.call_value(dismount_call(&[&id], false)).unwrap();
    settle(&mut c);
    let shown = d.reel(&["media", "show", &id, "--json"]).json();
    assert_eq!(
        (
            shown["medium"]["location"].clone(),
            shown["medium"]["state"].clone()
        ),
        (
            json!({"library": "MNTLIB01", "type": "slot", "address": 1004}),
            json!("idle")
        )
    );
    // Unknown media are the catalogue's refusal.
    let e = c.call_value(mount_args("NOSUCH01")).unwrap_err();
    assert_eq!(e.code, 4300, "{e}");
    // Moving a cartridge into Free writes reel's label into its MAM through the controller:
    // mount for writing, WRITE ATTRIBUTE, dismount home.
    let r = d.reel(&["media", "move", "MNT006L8", "\\Free\\LTO-8", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = settle(&mut c);
    assert_eq!(
        s["status"]["scsi"]["by_command"]["WRITE ATTRIBUTE"], 1,
        "{s}"
    );
    let lib = d.reel(&["library", "--json"]).json();
    assert_eq!(lib["libraries"][0]["slots"][5]["barcode"], "MNT006L8");
}
