//! Integration tests: the daemon itself — sessions and handles, identity from the socket,
//! hostile clients, crashes, socket life cycle and signals.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reel::daemon::wire::{self, Call, CreateDisposition, ObjectType, Reply};
use reel::daemon::Client;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::util::daemon::{identity_as, signal, wait_with_timeout, Daemon, User, REEL};

/// Not a test: the access tests run this binary as another uid to make protocol calls.
#[test]
#[ignore = "helper: the access tests run it under setpriv as another uid"]
fn peer_helper() {
    let Ok(socket) = std::env::var("REEL_PEER_SOCKET") else {
        return;
    };
    let calls: Vec<Call> =
        serde_json::from_str(&std::env::var("REEL_PEER_CALLS").unwrap_or_else(|_| "[]".into()))
            .unwrap();
    let mut results = Vec::new();
    match Client::connect(socket.as_ref(), "peer-helper") {
        Ok(mut c) => {
            println!(
                "PEER-IDENTITY:{}",
                serde_json::to_string(&c.welcome().identity).unwrap()
            );
            for call in calls {
                results.push(match c.call_value(call) {
                    Ok(v) => json!({ "ok": v }),
                    Err(s) => json!({ "error": s }),
                });
            }
        }
        Err(s) => results.extend(calls.iter().map(|_| json!({ "error": s }))),
    }
    println!("PEER-RESULT:{}", Value::Array(results));
}

/// A raw protocol connection, for sending what a well-behaved client never would.
struct Raw(UnixStream);

impl Raw {
    fn connect(d: &Daemon) -> Raw {
        let s = UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Raw(s)
    }
    fn send(&mut self, v: &Value) {
        wire::write_frame_sync(&mut self.0, v.to_string().as_bytes()).unwrap();
    }
    fn recv(&mut self) -> Option<Reply> {
        wire::read_frame_sync(&mut self.0)
            .unwrap()
            .map(|f| serde_json::from_slice(&f).unwrap())
    }
    fn call(&mut self, v: Value) -> Reply {
        self.send(&v);
        self.recv().expect("a reply")
    }
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0) | Err(_))
    }
}

fn err_code(r: &Reply) -> Option<(String, u32)> {
    r.error.as_ref().map(|e| (e.name.clone(), e.code))
}

fn hello() -> Value {
    json!({"id": 1, "call": "hello", "args": {"protocol": wire::PROTOCOL_VERSION}})
}

#[test]
fn sessions_open_with_hello_and_foreign_or_closed_handles_are_invalid() {
    let d = Daemon::start();
    let mut raw = Raw::connect(&d);
    let enumerate = |session: Option<String>| {
        json!({"id": 7, "session": session, "call": "enumerate",
               "args": {"container": null, "type": "media_pool", "root_pool": false}})
    };
    let invalid = Some(("ERROR_INVALID_HANDLE".to_owned(), 6));
    assert_eq!(
        err_code(&raw.call(enumerate(None))),
        invalid,
        "before hello"
    );

    let welcome = raw.call(hello());
    let ok = welcome.ok.expect("welcome");
    assert_eq!(ok["protocol"], wire::PROTOCOL_VERSION);
    assert_eq!(ok["identity"]["uid"], 0);
    assert_eq!(ok["identity"]["pid"], std::process::id());
    let session = ok["session"].as_str().unwrap().to_owned();

    type Expected = Option<(String, u32)>;
    let cases: Vec<(Option<String>, Expected)> = vec![
        (Some(session.clone()), None),
        (None, invalid.clone()),
        (Some(Uuid::new_v4().to_string()), invalid.clone()),
        (Some(Uuid::nil().to_string()), invalid.clone()),
    ];
    for (s, want) in cases {
        let r = raw.call(enumerate(s.clone()));
        assert_eq!(r.id, 7);
        assert_eq!(err_code(&r), want, "session {s:?}");
    }
    // Another connection's handle is not ours.
    let other = Client::connect(&d.socket, "other").unwrap();
    let r = raw.call(enumerate(Some(other.session().to_string())));
    assert_eq!(err_code(&r), invalid);
    // A second hello on an open session is refused; close, then the handle is dead.
    assert_eq!(
        err_code(&raw.call(hello())),
        Some(("ERROR_INVALID_OPERATION".to_owned(), 4317))
    );
    let closed =
        raw.call(json!({"id": 8, "session": session, "call": "close_session", "args": {}}));
    assert!(closed.error.is_none(), "{closed:?}");
    assert_eq!(
        err_code(&raw.call(enumerate(Some(session.clone())))),
        invalid
    );
    let again = raw.call(json!({"id": 9, "session": session, "call": "close_session", "args": {}}));
    assert_eq!(err_code(&again), invalid);
    // The same connection can open a new session.
    let reopened = raw.call(hello());
    assert_ne!(reopened.ok.unwrap()["session"], session.as_str());
}

#[test]
fn a_protocol_version_mismatch_is_refused_and_closed() {
    let d = Daemon::start();
    let mut raw = Raw::connect(&d);
    let r = raw.call(json!({"id": 1, "call": "hello", "args": {"protocol": 999}}));
    assert_eq!(err_code(&r), Some(("RPC_S_NO_INTERFACES".to_owned(), 1817)));
    assert!(raw.closed());
}

#[test]
fn identity_comes_from_the_socket_not_from_the_client() {
    let d = Daemon::start();
    let id = identity_as(&d.socket, &User::in_groups(3002, &[4242, 77]));
    assert_eq!(id.uid, 3002);
    assert_eq!(id.gids[0], 65534, "the primary group first");
    let mut rest = id.gids[1..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, vec![77, 4242]);
    // Claims in the request are ignored: unknown members are not an identity.
    let mut raw = Raw::connect(&d);
    let r = raw.call(
        json!({"id": 1, "uid": 3002, "gids": [4242], "call": "hello",
                            "args": {"protocol": wire::PROTOCOL_VERSION, "uid": 5}}),
    );
    assert_eq!(r.ok.unwrap()["identity"]["uid"], 0);
}

#[test]
fn hostile_clients_do_not_disturb_anyone_else() {
    let d = Daemon::start();
    let mut good = d.client();
    good.call_value(Call::CreateMediaPool {
        name: r"\Steady".into(),
        media_type: None,
        action: CreateDisposition::CreateNew,
        security: None,
    })
    .unwrap();
    let check = |good: &mut Client| {
        let r = good.call_value(Call::CreateMediaPool {
            name: r"\Steady".into(),
            media_type: None,
            action: CreateDisposition::OpenExisting,
            security: None,
        });
        assert!(r.is_ok(), "the well-behaved client failed: {r:?}");
    };

    // Garbage: "GET " read as a length is far over the limit → an error reply, then closed.
    let mut raw = Raw::connect(&d);
    raw.0
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = raw.recv().expect("an error reply");
    assert_eq!(
        err_code(&r),
        Some(("ERROR_INVALID_PARAMETER".to_owned(), 87))
    );
    assert!(r.error.unwrap().message.contains("exceeds the limit"));
    assert!(raw.closed());
    check(&mut good);

    // A well-framed message that is not JSON: an error reply, the connection stays usable.
    let mut raw = Raw::connect(&d);
    wire::write_frame_sync(&mut raw.0, b"\xff\xfe not json").unwrap();
    assert_eq!(
        err_code(&raw.recv().unwrap()),
        Some(("ERROR_INVALID_PARAMETER".to_owned(), 87))
    );
    wire::write_frame_sync(
        &mut raw.0,
        br#"{"id": 3, "call": "no_such_call", "args": {}}"#,
    )
    .unwrap();
    let r = raw.recv().unwrap();
    assert_eq!((r.id, err_code(&r).unwrap().1), (3, 87));
    assert!(raw.call(hello()).ok.is_some());

    // Oversized frame: announced 1 MiB + 1 → refused before any body is read.
    let mut raw = Raw::connect(&d);
    raw.0
        .write_all(&((wire::MAX_FRAME + 1) as u32).to_be_bytes())
        .unwrap();
    assert_eq!(err_code(&raw.recv().unwrap()).unwrap().1, 87);
    assert!(raw.closed());
    // Exactly at the limit is framing-legal (and then not a valid request).
    let mut raw = Raw::connect(&d);
    wire::write_frame_sync(&mut raw.0, &vec![b' '; wire::MAX_FRAME]).unwrap();
    assert_eq!(err_code(&raw.recv().unwrap()).unwrap().1, 87);

    // Half a frame, then silence: others are served meanwhile; the staller is cut off.
    let mut staller = Raw::connect(&d);
    staller.0.write_all(&[0, 0, 0, 100, b'{', b'"']).unwrap();
    let stalled_at = Instant::now();
    for _ in 0..50 {
        check(&mut good);
    }
    let r = staller.recv().expect("a timeout reply");
    assert_eq!(err_code(&r), Some(("ERROR_TIMEOUT".to_owned(), 1460)));
    assert!(staller.closed());
    assert!(stalled_at.elapsed() < Duration::from_secs(15));

    // Hundreds of connects and disconnects, in every state; memory stays bounded.
    let churn = |rounds: usize| {
        for i in 0..rounds {
            let mut s = UnixStream::connect(&d.socket).unwrap();
            match i % 4 {
                0 => {}
                1 => {
                    let _ = wire::write_frame_sync(&mut s, hello().to_string().as_bytes());
                }
                2 => {
                    let _ = s.write_all(&[0, 0, 1]);
                }
                _ => {
                    let _ = s.write_all(&[0, 0, 0, 50, b'{']);
                }
            }
        }
    };
    churn(300);
    std::thread::sleep(Duration::from_millis(300));
    let before = d.rss_kib();
    churn(1200);
    // Many idle connections held open at once.
    let idle: Vec<UnixStream> = (0..300)
        .map(|_| UnixStream::connect(&d.socket).unwrap())
        .collect();
    check(&mut good);
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    check(&mut good);
    let after = d.rss_kib();
    assert!(
        after < before + 16 * 1024,
        "daemon RSS grew from {before} KiB to {after} KiB over 1500 connections"
    );
}

#[test]
fn killed_mid_stream_every_acknowledged_pool_survives() {
    let mut d = Daemon::start();
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..4 {
        let acks = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (acks, stop, socket) = (acks.clone(), stop.clone(), d.socket.clone());
                std::thread::spawn(move || {
                    let Ok(mut c) = Client::connect(&socket, "crash") else {
                        return;
                    };
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let name = format!(r"\Crash{round}w{w}n{i}");
                        let r = c.call_value(Call::CreateMediaPool {
                            name: name.clone(),
                            media_type: None,
                            action: CreateDisposition::CreateNew,
                            security: None,
                        });
                        match r {
                            Ok(_) => acks.lock().unwrap().push(name),
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + 70 * round as u64));
        d.kill();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        let acks = acks.lock().unwrap().clone();
        assert!(
            !acks.is_empty(),
            "round {round}: no pool was created before the kill"
        );
        acknowledged.extend(acks);

        assert_eq!(integrity_check(&d.db), "ok", "round {round}");

        d.restart();
        let mut c = d.client();
        for name in &acknowledged {
            let r = c.call_value(Call::CreateMediaPool {
                name: name.clone(),
                media_type: None,
                action: CreateDisposition::OpenExisting,
                security: None,
            });
            assert!(
                r.is_ok(),
                "round {round}: acknowledged pool {name} is gone: {r:?}"
            );
        }
    }
}

/// `PRAGMA integrity_check` of the database file, read as an outside observer would.
#[expect(
    clippy::disallowed_types,
    reason = "the test inspects the file itself, not through reel's store"
)]
fn integrity_check(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_socket_is_0660_in_its_group_and_a_stale_one_is_replaced() {
    let tmp = crate::util::daemon::open_tempdir();
    let socket = tmp.path().join("reel.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists(), "a stale socket file is left behind");
    let mut d = Daemon::start_at(tmp);
    let meta = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), 65534, "group nogroup as asked");
    d.client();

    // Something that is not a socket is never deleted.
    let file = d.dir.join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let out = std::process::Command::new(REEL)
        .args(["serve", "--db"])
        .arg(d.dir.join("other.db"))
        .arg("--socket")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a socket"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let (status, _) = d.terminate();
    assert!(status.success());
}

#[test]
fn a_second_daemon_on_a_live_socket_refuses_to_start() {
    let d = Daemon::start();
    let mut child = std::process::Command::new(REEL)
        .arg("serve")
        .arg("--sim")
        .arg(crate::util::daemon::default_layout())
        .arg("--db")
        .arg(d.dir.join("second.db"))
        .arg("--socket")
        .arg(&d.socket)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("another reel daemon is already serving"),
        "{err}"
    );
    // The first one still serves.
    d.client();
}

#[test]
fn sigterm_and_sigint_stop_cleanly_and_remove_the_socket() {
    for sig in ["TERM", "INT"] {
        let mut d = Daemon::start();
        let mut idle = d.client();
        let pid = d.pid();
        let mut child = d.child.take().unwrap();
        signal(pid, sig);
        let status = wait_with_timeout(&mut child, Duration::from_secs(20));
        assert_eq!(status.code(), Some(0), "SIG{sig}");
        assert!(!d.socket.exists(), "SIG{sig}: the socket is removed");
        let r = idle.call_value(Call::MediaTypes {});
        assert_eq!(
            r.unwrap_err().code,
            2250,
            "SIG{sig}: open connections are closed"
        );
        // The database is intact and the next daemon starts on it.
        d.restart();
    }
}

#[test]
fn every_pool_function_is_reachable_over_the_wire() {
    let d = Daemon::start();
    let mut c = d.client();
    let made = c
        .call_value(Call::CreateMediaPool {
            name: r"\Wire".into(),
            media_type: Some("LTO-8".into()),
            action: CreateDisposition::OpenAlways,
            security: None,
        })
        .unwrap();
    let id: Uuid = made["id"].as_str().unwrap().parse().unwrap();
    let name = c.call_value(Call::GetMediaPoolName { id }).unwrap();
    assert_eq!(name, json!({"name": "\\Wire"}));
    let info = c.call_value(Call::GetPoolInformation { id }).unwrap();
    assert_eq!(info["media_type"], "LTO-8");
    c.call_value(Call::SetPoolInformation {
        id,
        info: serde_json::from_value(json!({"name": "Wired", "description": "renamed",
            "media_type": info["media_type_id"], "allocation_policy": 1,
            "deallocation_policy": 1, "max_allocates": 7}))
        .unwrap(),
    })
    .unwrap();
    let info = c.call_value(Call::GetPoolInformation { id }).unwrap();
    assert_eq!(
        (
            &info["name"],
            &info["description"],
            &info["allocation_policy"],
            &info["max_allocates"]
        ),
        (&json!("\\Wired"), &json!("renamed"), &json!(1), &json!(7))
    );
    let listed = c
        .call_value(Call::Enumerate {
            container: None,
            object_type: ObjectType::MediaPool,
            root_pool: true,
        })
        .unwrap();
    let ids: Vec<Uuid> = serde_json::from_value(listed["ids"].clone()).unwrap();
    assert!(ids.len() >= 5 && ids[1..].contains(&id), "{listed}");
    let root_info = c
        .call_value(Call::GetPoolInformation { id: ids[0] })
        .unwrap();
    assert_eq!(root_info["name"], "\\");
    let sec = c.call_value(Call::GetObjectSecurity { id }).unwrap();
    c.call_value(Call::SetObjectSecurity {
        id,
        security: serde_json::from_value(sec.clone()).unwrap(),
    })
    .unwrap();
    assert_eq!(c.call_value(Call::GetObjectSecurity { id }).unwrap(), sec);
    let types = c
        .call_value(Call::Enumerate {
            container: None,
            object_type: ObjectType::MediaType,
            root_pool: false,
        })
        .unwrap();
    assert!(!types["ids"].as_array().unwrap().is_empty());
    let libs = c
        .call_value(Call::Enumerate {
            container: None,
            object_type: ObjectType::Library,
            root_pool: false,
        })
        .unwrap();
    assert_eq!(libs["ids"].as_array().unwrap().len(), 1);
    c.call_value(Call::DeleteMediaPool { id }).unwrap();
    let gone = c.call_value(Call::GetPoolInformation { id }).unwrap_err();
    assert!(matches!(gone.code, 4312 | 4302), "{gone}");
}

#[test]
fn an_unprivileged_daemon_is_local_system_for_its_own_user() {
    let tmp = crate::util::daemon::open_tempdir();
    let dir = tmp.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    // The daemon's directory belongs to its user: one others may write is refused.
    std::os::unix::fs::chown(&dir, Some(3100), Some(65534)).unwrap();
    let socket = dir.join("reel.sock");
    let runner = User::new(3100);
    let mut daemon = runner
        .setpriv()
        .arg(REEL)
        .arg("serve")
        .arg("--sim")
        .arg(crate::util::daemon::default_layout())
        .arg("--db")
        .arg(dir.join("pools.db"))
        .arg("--socket")
        .arg(&socket)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let as_runner = |args: &[&str]| {
        let mut cmd = runner.setpriv();
        cmd.arg(REEL).args(args).arg("--socket").arg(&socket);
        crate::util::Run::from(cmd.output().unwrap())
    };
    let mut made = as_runner(&["pool", "create", r"\Mine", "--json"]);
    for _ in 0..100 {
        if !made.stdout.contains("ERROR_NOT_READY") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        made = as_runner(&["pool", "create", r"\Mine", "--json"]);
    }
    assert_eq!(made.code, 0, "{made:?}");
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(
        (meta.uid(), meta.permissions().mode() & 0o777),
        (3100, 0o660)
    );
    // Another unprivileged user keeps the default: USE on the root pool, no creation.
    let other = User::new(3101);
    let mut cmd = other.setpriv();
    // It trusts a daemon run by uid 3100 only when told to.
    cmd.arg(REEL)
        .args(["pool", "create", r"\Theirs", "--json", "--socket"])
        .arg(&socket)
        .env("REEL_DAEMON_UID", "3100");
    let theirs = crate::util::Run::from(cmd.output().unwrap());
    // The socket is 0660 owned by 3100:65534 and 3101 is in group 65534, so it connects.
    assert_eq!(theirs.json()["error"]["code"], 5, "{theirs:?}");
    signal(daemon.id(), "TERM");
    let status = wait_with_timeout(&mut daemon, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
}

/// SIGTERM ends the daemon within its grace time even while a call waits on an operator request
/// that nobody answers (an allocation with no timeout): the waiting client is cut off, and the
/// daemon exits 0 instead of waiting for the request forever.
#[test]
fn sigterm_ends_the_daemon_while_an_allocation_waits_for_new_media() {
    let mut d = Daemon::start();
    let mut c = d.client();
    let made = c
        .call_value(Call::CreateMediaPool {
            name: r"\Waits".into(),
            media_type: Some("LTO-8".into()),
            action: CreateDisposition::OpenAlways,
            security: None,
        })
        .unwrap();
    assert!(made["id"].is_string(), "{made}");
    let socket = d.socket.clone();
    let waiter = std::thread::spawn(move || {
        crate::util::reel(&[
            "media",
            "allocate",
            r"\Waits",
            "--socket",
            socket.to_str().unwrap(),
        ])
    });
    // The allocation is waiting once its NEWMEDIA request is listed.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = c.call_value(Call::OperatorRequests {}).unwrap();
        if listed.to_string().contains("newmedia") {
            break;
        }
        assert!(
            Instant::now() < deadline && !waiter.is_finished(),
            "no NEWMEDIA request: {listed}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = d.pid();
    let mut child = d.child.take().unwrap();
    signal(pid, "TERM");
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    assert!(!d.socket.exists(), "the socket is removed");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, 1, "the waiting client gets an error: {r:?}");
}
