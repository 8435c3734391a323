//! Integration tests: the daemon under a hostile local user, big replies, damaged files
//! (issue 17). Each test is named after the class of fault it closes; each failed on the code
//! before the fix.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reel::daemon::wire::{self, Call, CreateDisposition, Reply};
use reel::daemon::Client;
use serde_json::{json, Value};

use crate::util::daemon::{
    default_layout, open_tempdir, signal, wait_with_timeout, Daemon, User, REEL,
};
use crate::util::sim_layout;

/// A raw protocol connection that reads frames one by one.
struct Raw(UnixStream);

impl Raw {
    fn connect(d: &Daemon) -> Raw {
        let s = UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Raw(s)
    }
    fn send_bytes(&mut self, body: &[u8]) {
        wire::write_frame_sync(&mut self.0, body).unwrap();
    }
    fn recv(&mut self) -> Reply {
        let body = wire::read_frame_sync(&mut self.0)
            .unwrap()
            .expect("a reply, not a closed connection");
        serde_json::from_slice(&body).unwrap()
    }
    fn call(&mut self, v: Value) -> Reply {
        self.send_bytes(v.to_string().as_bytes());
        self.recv()
    }
    /// One frame as it is on the wire: the raw header word and the body.
    fn frame(&mut self) -> (u32, Vec<u8>) {
        use std::io::Read;
        let mut h = [0u8; 4];
        self.0.read_exact(&mut h).unwrap();
        let raw = u32::from_be_bytes(h);
        let mut body = vec![0u8; (raw & !wire::CONTINUED) as usize];
        self.0.read_exact(&mut body).unwrap();
        (raw, body)
    }
    fn hello(&mut self) -> String {
        let r = self.call(json!({"id": 1, "call": "hello", "args": {"protocol": 1}}));
        r.ok.expect("welcome")["session"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

// --- finding 3: every call answers; long replies are frame sequences ---

#[test]
fn replies_over_one_frame_arrive_as_a_documented_frame_sequence() {
    let d = Daemon::start_with(open_tempdir(), sim_layout("large"));
    let mut raw = Raw::connect(&d);
    let session = raw.hello();
    let request = json!({"id": 2, "session": session, "call": "library", "args": {}});
    raw.send_bytes(request.to_string().as_bytes());
    // Frame by frame: every frame but the last is full and has bit 31 set.
    let mut joined = Vec::new();
    let mut frames = 0;
    loop {
        let (header, body) = raw.frame();
        frames += 1;
        joined.extend_from_slice(&body);
        if header & wire::CONTINUED == 0 {
            assert!(body.len() <= wire::MAX_FRAME);
            break;
        }
        assert_eq!(body.len(), wire::MAX_FRAME, "frame {frames} is full");
    }
    assert!(frames > 1, "the large library's document spans frames");
    let reply: Reply = serde_json::from_slice(&joined).unwrap();
    assert_eq!(reply.id, 2);
    let doc = reply.ok.expect("the document");
    assert!(doc["libraries"].as_array().is_some_and(|l| !l.is_empty()));
    // The client reassembles the same document.
    let mut c = d.client();
    assert_eq!(c.call_value(Call::Library { rescan: false }).unwrap(), doc);
}

#[test]
fn error_replies_and_log_lines_quote_a_bounded_prefix_of_the_input() {
    // A caller's failed change is an audit line at info (src/daemon/audit.rs), not a warning.
    let d = Daemon::start_logging("info");
    let mut c = d.client();
    // A name whose quoted form is four times its size: the old reply was over the frame limit
    // and the connection closed without one.
    let names = [
        format!("\\{}", "\"".repeat(400_000)),
        format!("\\{}", "N".repeat(1_000_000)),
        format!("\\A{}\u{1}", "é".repeat(400_000)),
    ];
    for name in names {
        let err = c
            .call_value(Call::CreateMediaPool {
                name: name.clone(),
                media_type: None,
                action: CreateDisposition::OpenAlways,
                security: None,
            })
            .unwrap_err();
        assert_eq!(
            (err.name.as_str(), err.code),
            ("ERROR_INVALID_NAME", 123),
            "{}",
            err.message
        );
        assert!(
            err.message.len() <= wire::MAX_MESSAGE,
            "a {}-byte message",
            err.message.len()
        );
        assert!(err.message.contains("left out"), "{}", err.message);
    }
    // The connection is still usable, and no log line grew with the input.
    c.call_value(Call::MediaTypes {}).unwrap();
    let log = d.log();
    assert!(
        log.contains("ERROR_INVALID_NAME"),
        "the failures are logged: {log}"
    );
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 4096, "a {longest}-byte log line");
}

#[test]
fn a_readable_request_id_is_echoed_even_when_the_rest_is_not_a_request() {
    let d = Daemon::start();
    let mut raw = Raw::connect(&d);
    let cases: Vec<(&[u8], u64)> = vec![
        (
            br#"{"id":77,"call":"hello","args":{"protocol":1}} trailing"#,
            77,
        ),
        (b"{\"id\":78,\"call\":\"\xff\xfe\"}", 78),
        (
            br#"{"id":79,"call":"hello","args":{"application":"\ud800"}}"#,
            79,
        ),
        (br#"{"call":"hello","id":80,"args":"#, 80),
        (br#"{"id":81,"call":"no_such_call","args":{}}"#, 81),
        (br#"{"id":"82","call":"hello"}"#, 0),
        (br#"{"id":-1,"call":"hello"}"#, 0),
        (br#"[83]"#, 0),
        (b"not json", 0),
    ];
    for (frame, id) in cases {
        raw.send_bytes(frame);
        let r = raw.recv();
        assert_eq!(
            (r.id, r.error.map(|e| e.code)),
            (id, Some(87)),
            "{}",
            String::from_utf8_lossy(frame)
        );
    }
    // Still one usable connection.
    raw.0.flush().unwrap();
    assert!(!raw.hello().is_empty());
}

// --- findings 1, 6, 7 and 9: the daemon's files beside hostile users ---

/// `reel serve` on these paths, expected to refuse to start: its exit code and stderr.
fn refused_start(socket: &Path, db: &Path, umask_zero: bool) -> (i32, String) {
    let mut cmd = serve_command(socket, db, umask_zero);
    cmd.stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err)
}

fn serve_command(socket: &Path, db: &Path, umask_zero: bool) -> Command {
    let mut cmd = if umask_zero {
        let mut c = Command::new("sh");
        c.args(["-c", "umask 000; exec \"$0\" \"$@\"", REEL]);
        c
    } else {
        Command::new(REEL)
    };
    cmd.arg("serve")
        .arg("--sim")
        .arg(default_layout())
        .arg("--db")
        .arg(db)
        .arg("--socket")
        .arg(socket)
        .arg("--socket-group")
        .arg("nogroup")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_socket_or_database_directory_others_may_write_is_refused() {
    type Setup = fn(&Path);
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "world-writable",
            |d| chmod(d, 0o777),
            "writable by everyone",
        ),
        (
            "sticky world-writable",
            |d| chmod(d, 0o1777),
            "writable by everyone",
        ),
        (
            "group-writable, group tape",
            |d| {
                chmod(d, 0o775);
                std::os::unix::fs::chown(d, None, Some(26)).unwrap();
            },
            "writable by group 26",
        ),
        (
            "owned by uid 3001",
            |d| std::os::unix::fs::chown(d, Some(3001), None).unwrap(),
            "owned by uid 3001",
        ),
    ];
    for (what, setup, why) in cases {
        for target in ["socket", "db"] {
            let tmp = open_tempdir();
            let (good, bad) = (tmp.path().join("good"), tmp.path().join("bad"));
            std::fs::create_dir(&good).unwrap();
            std::fs::create_dir(&bad).unwrap();
            setup(&bad);
            let (socket, db) = match target {
                "socket" => (bad.join("reel.sock"), good.join("pools.db")),
                _ => (good.join("reel.sock"), bad.join("pools.db")),
            };
            let (code, err) = refused_start(&socket, &db, false);
            assert_eq!(code, 1, "{what} {target} dir: {err}");
            let name = if target == "socket" {
                "ERROR_ACCESS_DENIED (5)"
            } else {
                "ERROR_DATABASE_FAILURE (4313)"
            };
            assert!(err.contains(name), "{what} {target}: {err}");
            assert!(err.contains(why), "{what} {target}: {err}");
            assert!(
                err.contains(bad.to_str().unwrap()),
                "names the directory: {err}"
            );
            // A refused start leaves nothing behind, in either directory.
            assert_eq!(entries(&bad), Vec::<String>::new(), "{what} {target}");
            assert_eq!(entries(&good), Vec::<String>::new(), "{what} {target}");
        }
    }
    // An ancestor others may write (not sticky) is as bad as the directory itself.
    let tmp = open_tempdir();
    let open = tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let dir = open.join("reel");
    std::fs::create_dir(&dir).unwrap();
    let (code, err) = refused_start(&dir.join("reel.sock"), &dir.join("pools.db"), false);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{} is writable by everyone", open.display())),
        "{err}"
    );
    assert_eq!(entries(&dir), Vec::<String>::new());
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_daemons_files_are_never_reached_through_a_symlink() {
    for planted in [
        "reel.sock.lock",
        "pools.db",
        "pools.db.lock",
        "pools.db-wal",
        "pools.db-shm",
    ] {
        let tmp = open_tempdir();
        let dir = tmp.path();
        let victim = dir.join("victim");
        std::fs::write(&victim, b"root's secret").unwrap();
        chmod(&victim, 0o600);
        std::os::unix::fs::symlink(&victim, dir.join(planted)).unwrap();
        let (code, err) = refused_start(&dir.join("reel.sock"), &dir.join("pools.db"), false);
        assert_eq!(code, 1, "{planted}: {err}");
        assert!(
            err.contains("is a symbolic link, not a regular file"),
            "{planted}: {err}"
        );
        let meta = std::fs::metadata(&victim).unwrap();
        assert_eq!(
            (meta.mode() & 0o7777, meta.uid(), meta.gid()),
            (0o600, 0, 0),
            "{planted}"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"root's secret");
        // Nothing else was created, and the planted link is left for the operator to see.
        assert_eq!(
            entries(dir),
            vec![planted.to_owned(), "victim".to_owned()],
            "{planted}"
        );
    }
}

#[test]
fn the_client_trusts_only_a_daemon_run_by_root_or_the_configured_user() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("fake");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(3001), Some(65534)).unwrap();
    let socket = dir.join("reel.sock");
    // A "daemon" any local user can run: uid 3001's own reel serve.
    let mut fake = User::new(3001)
        .setpriv()
        .arg(REEL)
        .args(["serve", "--sim"])
        .arg(default_layout())
        .arg("--db")
        .arg(dir.join("pools.db"))
        .arg("--socket")
        .arg(&socket)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run = |env: Option<&str>| {
        let mut cmd = Command::new(REEL);
        cmd.args(["media-types", "--json", "--socket"]).arg(&socket);
        cmd.env_remove("REEL_DAEMON_UID");
        if let Some(v) = env {
            cmd.env("REEL_DAEMON_UID", v);
        }
        crate::util::Run::from(cmd.output().unwrap())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut trusted = run(Some("3001"));
    while trusted.code != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        trusted = run(Some("3001"));
    }
    assert_eq!(trusted.code, 0, "with REEL_DAEMON_UID=3001: {trusted:?}");
    let refused = run(None);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.json()["error"]["name"], "ERROR_NOT_CONNECTED");
    assert!(
        refused.stderr.contains("runs as uid 3001"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        run(Some("3002")).code,
        1,
        "another uid is not the configured one"
    );
    signal(fake.id(), "TERM");
    wait_with_timeout(&mut fake, Duration::from_secs(20));
}

#[test]
fn database_files_are_private_whatever_the_umask() {
    for (admin, mode, gid) in [(None, 0o600, 0), (Some("nogroup"), 0o640, 65534)] {
        let tmp = open_tempdir();
        let (socket, db) = (tmp.path().join("reel.sock"), tmp.path().join("pools.db"));
        let mut cmd = serve_command(&socket, &db, true);
        if let Some(g) = admin {
            cmd.args(["--admin-group", g]);
        }
        let mut child = cmd.stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut c = loop {
            match Client::connect(&socket, "t") {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("{e}"),
            }
        };
        let made = loop {
            let r = c.call_value(Call::CreateMediaPool {
                name: "\\Private".into(),
                media_type: None,
                action: CreateDisposition::OpenAlways,
                security: None,
            });
            match r {
                Err(e) if e.code == 21 => std::thread::sleep(Duration::from_millis(20)),
                r => break r,
            }
        };
        made.unwrap();
        for f in ["pools.db", "pools.db-wal", "pools.db-shm"] {
            let meta = std::fs::metadata(tmp.path().join(f)).unwrap();
            assert_eq!(
                (meta.mode() & 0o7777, meta.gid()),
                (mode, gid),
                "{f} with admin group {admin:?}"
            );
        }
        signal(child.id(), "TERM");
        wait_with_timeout(&mut child, Duration::from_secs(20));
    }
}

#[test]
fn only_a_regular_file_serves_as_the_database() {
    let tmp = open_tempdir();
    let fifo = tmp.path().join("fifo.db");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let dir_db = tmp.path().join("dir.db");
    std::fs::create_dir(&dir_db).unwrap();
    // Left by a daemon before this fix, if one ran here.
    for left in ["/dev/null.lock", "/dev/null-journal", "/dev/null-wal"] {
        let _ = std::fs::remove_file(left);
    }
    let cases: Vec<(PathBuf, &str)> = vec![
        (PathBuf::from("/dev/null"), "a character device"),
        (fifo.clone(), "a FIFO"),
        (dir_db.clone(), "a directory"),
    ];
    for (db, kind) in cases {
        let sockdir = open_tempdir();
        let (code, err) = refused_start(&sockdir.path().join("reel.sock"), &db, false);
        assert_eq!(code, 1, "{}: {err}", db.display());
        assert!(err.contains("ERROR_DATABASE_FAILURE (4313)"), "{err}");
        assert!(
            err.contains(&format!("is {kind}, not a regular file")),
            "{err}"
        );
        assert_eq!(
            entries(sockdir.path()),
            Vec::<String>::new(),
            "nothing left"
        );
    }
    for left in ["/dev/null.lock", "/dev/null-journal", "/dev/null-wal"] {
        assert!(!Path::new(left).exists(), "{left} was created");
    }
    assert_eq!(entries(tmp.path()), vec!["dir.db", "fifo.db"]);
}

#[test]
fn an_existing_empty_database_is_refused_not_recreated() {
    let tmp = open_tempdir();
    let db = tmp.path().join("pools.db");
    std::fs::write(&db, b"").unwrap();
    let (code, err) = refused_start(&tmp.path().join("reel.sock"), &db, false);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("ERROR_DATABASE_FAILURE (4313)"), "{err}");
    assert!(err.contains("exists but is empty"), "{err}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
    assert_eq!(entries(tmp.path()), vec!["pools.db"]);
}

#[test]
fn a_clean_stop_leaves_no_lock_files() {
    let mut d = Daemon::start();
    d.client()
        .call_value(Call::CreateMediaPool {
            name: "\\Kept".into(),
            media_type: None,
            action: CreateDisposition::OpenAlways,
            security: None,
        })
        .unwrap();
    assert!(entries(&d.dir).contains(&"reel.sock.lock".to_owned()));
    assert!(entries(&d.dir).contains(&"pools.db.lock".to_owned()));
    let (status, log) = d.terminate();
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(entries(&d.dir), vec!["daemon.log", "pools.db"]);
    // And the pool is there after a restart.
    d.restart();
    let r = d.client().call_value(Call::CreateMediaPool {
        name: "\\Kept".into(),
        media_type: None,
        action: CreateDisposition::OpenExisting,
        security: None,
    });
    assert!(r.is_ok(), "{r:?}");
}

// --- finding 2: groups are the kernel's snapshot at connect ---

/// Not a test: connects (as whatever uid setpriv gave it), hands the connection to a child
/// process and exits at once, so the connecting process is gone before the daemon looks.
#[test]
#[ignore = "helper: run under setpriv by a_group_deny_holds_when_the_connecting_process_has_exited"]
fn handoff_connect_helper() {
    let Ok(socket) = std::env::var("REEL_HANDOFF_SOCKET") else {
        return;
    };
    let stream = UnixStream::connect(socket).unwrap();
    let fd: std::os::fd::OwnedFd = stream.into();
    // Not waited for on purpose: the child keeps the connection (and our stdout) after we exit.
    #[allow(clippy::zombie_processes)]
    let _child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "harden::handoff_session_helper",
            "--ignored",
            "--nocapture",
        ])
        .env("REEL_HANDOFF_CHILD", "1")
        .stdin(Stdio::from(fd))
        .spawn()
        .unwrap();
}

/// Not a test: the child of [`handoff_connect_helper`]: hello and one call on the inherited
/// connection (stdin), the replies on stdout.
#[test]
#[ignore = "helper: started by handoff_connect_helper"]
fn handoff_session_helper() {
    if std::env::var_os("REEL_HANDOFF_CHILD").is_none() {
        return;
    }
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().unwrap();
    let mut s = UnixStream::from(fd);
    let pool = std::env::var("REEL_HANDOFF_POOL").unwrap();
    let mut call = |v: Value| {
        wire::write_frame_sync(&mut s, v.to_string().as_bytes()).unwrap();
        let body = wire::read_frame_sync(&mut s).unwrap().unwrap();
        String::from_utf8(body).unwrap()
    };
    let hello = call(json!({"id": 1, "call": "hello", "args": {"protocol": 1}}));
    println!("HANDOFF-HELLO:{hello}");
    let session: Value = serde_json::from_str(&hello).unwrap();
    let session = session["ok"]["session"].as_str().unwrap_or("").to_owned();
    let info = call(
        json!({"id": 2, "session": session, "call": "get_pool_information",
                           "args": {"id": pool}}),
    );
    println!("HANDOFF-INFO:{info}");
}

#[test]
fn a_group_deny_holds_when_the_connecting_process_has_exited() {
    let d = Daemon::start();
    let mut root = d.client();
    let made: Value = root
        .call_value(Call::CreateMediaPool {
            name: "\\Guarded".into(),
            media_type: None,
            action: CreateDisposition::CreateNew,
            security: Some(
                serde_json::from_value(json!({"entries": [
                    {"kind": "deny", "who": "gid:26", "rights": ["use", "read-control"]},
                    {"kind": "allow", "who": "everyone", "rights": ["use"]}
                ]}))
                .unwrap(),
            ),
        })
        .unwrap();
    let pool = made["id"].as_str().unwrap().to_owned();
    for (user, denied) in [
        (User::in_groups(3005, &[26]), true),
        (User::new(3006), false),
    ] {
        // The daemon is stopped while the client connects and its connecting process exits,
        // so the daemon can only look at the client after it is gone.
        signal(d.pid(), "STOP");
        let mut helper = user
            .setpriv()
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "harden::handoff_connect_helper",
                "--ignored",
                "--nocapture",
            ])
            .env("REEL_HANDOFF_SOCKET", &d.socket)
            .env("REEL_HANDOFF_POOL", &pool)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let exited = wait_with_timeout(&mut helper, Duration::from_secs(20));
        signal(d.pid(), "CONT");
        assert!(exited.success());
        let mut out = String::new();
        helper
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let line = |marker: &str| -> Value {
            let l = out
                .lines()
                .find_map(|l| l.find(marker).map(|i| l[i + marker.len()..].to_owned()))
                .unwrap_or_else(|| panic!("no {marker} in {out}"));
            serde_json::from_str(&l).unwrap()
        };
        let hello = line("HANDOFF-HELLO:");
        let gids: Vec<u64> = hello["ok"]["identity"]["gids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_u64().unwrap())
            .collect();
        assert_eq!(gids.contains(&26), denied, "uid {}: {hello}", user.uid);
        let info = line("HANDOFF-INFO:");
        if denied {
            assert_eq!(info["error"]["name"], "ERROR_ACCESS_DENIED", "{info}");
        } else {
            assert_eq!(info["ok"]["name"], "\\Guarded", "{info}");
        }
    }
}

// --- finding 4: connections are shared fairly, and every refusal is ERROR_BUSY ---

/// Not a test: opens `REEL_HOLD_N` sessions (as whatever uid setpriv gave it), prints what
/// each got, and holds them until its stdin closes.
#[test]
#[ignore = "helper: run under setpriv by one_user_cannot_take_every_connection"]
fn hold_connections_helper() {
    let Ok(socket) = std::env::var("REEL_HOLD_SOCKET") else {
        return;
    };
    let n: usize = std::env::var("REEL_HOLD_N").unwrap().parse().unwrap();
    let mut held = Vec::new();
    let mut got = Vec::new();
    for _ in 0..n {
        match Client::connect(socket.as_ref(), "hold") {
            Ok(c) => {
                held.push(c);
                got.push("ok".to_owned());
            }
            Err(s) => got.push(s.name),
        }
    }
    println!("HOLD-RESULT:{}", got.join(","));
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

/// Starts the hold helper as `user` with `n` connections; returns it (stdin open) and what
/// each connection got.
#[allow(clippy::zombie_processes)] // the caller waits for it; a failed assertion ends the test
fn hold(d: &Daemon, user: &User, n: usize) -> (std::process::Child, Vec<String>) {
    let mut child = user
        .setpriv()
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "harden::hold_connections_helper",
            "--ignored",
            "--nocapture",
        ])
        .env("REEL_HOLD_SOCKET", &d.socket)
        .env("REEL_HOLD_N", n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        use std::io::BufRead;
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the helper ended early"
        );
        if let Some(i) = line.find("HOLD-RESULT:") {
            let got = line[i + 12..]
                .trim()
                .split(',')
                .map(str::to_owned)
                .collect();
            return (child, got);
        }
    }
}

#[test]
fn one_user_cannot_take_every_connection() {
    let d = Daemon::start_custom(
        open_tempdir(),
        default_layout(),
        &[],
        &["--max-connections-per-user", "4", "--admin-group", "tape"],
    );
    let busy = "ERROR_BUSY".to_owned();
    let (mut hog, got) = hold(&d, &User::new(3010), 6);
    assert_eq!(got, ["ok", "ok", "ok", "ok", busy.as_str(), busy.as_str()]);
    // Others are still served: root, another user, and an admin beyond the cap.
    let _root = d.client();
    let (mut other, got) = hold(&d, &User::new(3011), 1);
    assert_eq!(got, ["ok"]);
    let (mut admin, got) = hold(&d, &User::in_groups(3012, &[26]), 6);
    assert_eq!(got, vec!["ok"; 6], "the admin group is exempt");
    // The hog's slots come back when it closes them.
    for c in [&mut hog, &mut other, &mut admin] {
        drop(c.stdin.take());
        wait_with_timeout(c, Duration::from_secs(20));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (mut again, got) = hold(&d, &User::new(3010), 4);
        drop(again.stdin.take());
        wait_with_timeout(&mut again, Duration::from_secs(20));
        if got == vec!["ok"; 4] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slots were not given back: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_that_does_not_read_is_cut_off_after_the_write_timeout() {
    let d = Daemon::start_custom(
        open_tempdir(),
        default_layout(),
        &[],
        &["--write-timeout", "1"],
    );
    let mut raw = Raw::connect(&d);
    let session = raw.hello();
    let mut writer = raw.0.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    const SENT: usize = 3000;
    let sending = std::thread::spawn(move || {
        for id in 0..SENT {
            let req = json!({"id": id + 10, "session": session, "call": "library", "args": {}});
            if wire::write_frame_sync(&mut writer, req.to_string().as_bytes()).is_err() {
                return id;
            }
        }
        SENT
    });
    // Read nothing for a while: the daemon's writes stall, and it gives up after 1 s.
    std::thread::sleep(Duration::from_secs(4));
    raw.0
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut replies = 0;
    let end = loop {
        match wire::read_frame_sync(&mut raw.0) {
            Ok(Some(_)) => replies += 1,
            Ok(None) => break "closed",
            Err(wire::WireError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                break "still open"
            }
            Err(_) => break "closed",
        }
    };
    assert_eq!(end, "closed", "after {replies} replies");
    assert!(replies < SENT, "{replies} replies");
    sending.join().unwrap();
    assert!(d.log().contains("does not read its replies"), "{}", d.log());
    // Everyone else is still served.
    d.client().call_value(Call::MediaTypes {}).unwrap();
}

#[test]
fn a_low_open_files_limit_still_answers_busy_and_never_hangs() {
    // A soft limit under the hard one is raised at start.
    let d = Daemon::start_custom(
        open_tempdir(),
        default_layout(),
        &["prlimit", "--nofile=100:4096"],
        &[],
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", d.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let nums: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(nums, ["4096", "4096"], "{line}");
    drop(d);
    // A hard limit of 100: the daemon serves fewer connections, and every client over the
    // limit gets ERROR_BUSY instead of hanging in the backlog.
    let d = Daemon::start_custom(
        open_tempdir(),
        default_layout(),
        &["prlimit", "--nofile=100:100"],
        &[],
    );
    let mut conns = Vec::new();
    let (mut ok, mut busy) = (0, 0);
    for _ in 0..150 {
        let mut raw = Raw::connect(&d);
        raw.0
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = wire::write_frame_sync(
            &mut raw.0,
            json!({"id": 1, "call": "hello", "args": {"protocol": 1}})
                .to_string()
                .as_bytes(),
        );
        let body = wire::read_frame_sync(&mut raw.0)
            .expect("an answer, not a hang")
            .expect("an answer, not a silent close");
        let r: Reply = serde_json::from_slice(&body).unwrap();
        match r.error {
            None => ok += 1,
            Some(e) => {
                assert_eq!(e.name, "ERROR_BUSY", "{}", e.message);
                busy += 1;
            }
        }
        conns.push(raw);
    }
    assert!(ok >= 8 && busy > 0, "{ok} served, {busy} busy");
    assert!(d.log().contains("open-files limit is low"), "{}", d.log());
}

// --- finding 11: pool names that look alike are one name, or refused ---

#[test]
fn look_alike_pool_names_are_refused_or_folded_to_one() {
    let d = Daemon::start();
    let mut c = d.client();
    let create = |c: &mut Client, name: &str, action| {
        c.call_value(Call::CreateMediaPool {
            name: name.into(),
            media_type: None,
            action,
            security: None,
        })
    };
    let made = create(&mut c, "\\ΟΣ", CreateDisposition::CreateNew).unwrap();
    // Case folding, final sigma included: one pool, whichever way it is written.
    for same in ["\\ος", "\\οσ", "\\Οσ"] {
        let again = create(&mut c, same, CreateDisposition::OpenExisting).unwrap();
        assert_eq!(again["id"], made["id"], "{same}");
        let dup = create(&mut c, same, CreateDisposition::CreateNew).unwrap_err();
        assert_eq!(dup.name, "ERROR_ALREADY_EXISTS", "{same}");
    }
    // Invisible and bidirectional characters: refused, nothing created.
    let cases = [
        "\\Back\u{200B}up",
        "\\Backup\u{202E}",
        "\\\u{2066}Backup\u{2069}",
        "\\Back\u{00AD}up",
        "\\\u{FEFF}Backup",
        "\\Backup\u{200D}",
    ];
    for name in cases {
        let e = create(&mut c, name, CreateDisposition::OpenAlways).unwrap_err();
        assert_eq!(
            (e.name.as_str(), e.code),
            ("ERROR_INVALID_NAME", 123),
            "{name:?}"
        );
        assert!(
            e.message.contains("invisible or bidirectional"),
            "{}",
            e.message
        );
    }
    let top: Value = c
        .call_value(Call::Enumerate {
            container: None,
            object_type: reel::daemon::wire::ObjectType::MediaPool,
            root_pool: false,
        })
        .unwrap();
    let names: Vec<String> = top["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let id = id.as_str().unwrap().parse().unwrap();
            c.call_value(Call::GetMediaPoolName { id }).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(!names.iter().any(|n| n.contains("ackup")), "{names:?}");
}
