//! Shared helpers for the integration tests (temp dirs, simulator, daemon on a temp socket).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `sim/layouts/NAME.toml`.
pub fn sim_layout(name: &str) -> PathBuf {
    repo().join("sim/layouts").join(format!("{name}.toml"))
}

/// `tests/layouts/NAME.toml` (quirk layouts).
pub fn quirk_layout(name: &str) -> PathBuf {
    repo().join("tests/layouts").join(format!("{name}.toml"))
}

/// Every `*.toml` in `dir`, sorted.
pub fn layouts_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

/// What one run of a binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit status code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{self:?}"))
    }

    /// Panics unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\n{self:?}");
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs the `reel` binary with `args`.
pub fn reel<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_reel"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run reel")
        .into()
}

/// Runs `reel discover --sim LAYOUT` followed by `flags` (e.g. `--json`, `--stats`).
pub fn discover_sim(layout: &Path, flags: &[&str]) -> Run {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["discover".as_ref(), "--sim".as_ref(), layout.as_os_str()];
    args.extend(flags.iter().map(std::ffi::OsStr::new));
    reel(&args)
}

/// A temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A simulator served on a Unix socket in this process (what `reel-sim serve` runs), for
/// `--sim-socket` tests. The socket lives in `dir`; the server thread ends with the test
/// process.
pub fn serve_sim(layout: &Path, dir: &Path) -> (PathBuf, reel_sim::SimLibrary) {
    let layout = reel_sim::Layout::from_file(layout).expect("layout");
    let library = reel_sim::SimLibrary::new(layout);
    let path = dir.join("sim.sock");
    let server = reel_sim::server::Server::bind(&path, library.clone()).expect("bind");
    server.spawn();
    (path, library)
}

// --- daemon helpers ---

#[allow(dead_code)]
pub mod daemon {
    //! A `reel serve` on the simulated library, in a temp dir that uid 65534 can reach, and
    //! ways to run clients as root or as other users.

    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Output, Stdio};
    use std::time::{Duration, Instant};

    use reel::daemon::wire::Call;
    use reel::daemon::Client;
    use serde_json::Value;

    /// The `reel` binary under test.
    pub const REEL: &str = env!("CARGO_BIN_EXE_reel");

    /// The layout every daemon test serves.
    pub fn default_layout() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/layouts/default.toml")
    }

    /// One call's result as seen by a peer: the `ok` member, or the RSM name and code.
    pub type Outcome = Result<Value, (String, u32)>;

    /// A daemon child process and its files.
    #[derive(Debug)]
    pub struct Daemon {
        pub child: Option<Child>,
        pub dir: PathBuf,
        pub socket: PathBuf,
        pub db: PathBuf,
        /// The simulated library it serves.
        pub layout: PathBuf,
        /// Its `RUST_LOG` (`warn` unless a test reads the info lines).
        pub rust_log: String,
        /// More `reel serve` arguments, used from the next (re)start.
        pub extra_args: Vec<String>,
        /// A command the daemon runs under (`prlimit …`), empty for none.
        pub prefix: Vec<String>,
        _tmp: Option<tempfile::TempDir>,
    }

    /// A temp dir every test user can enter (mode 0755).
    pub fn open_tempdir() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("temp dir");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        tmp
    }

    impl Daemon {
        /// Starts a daemon in a fresh temp dir and waits until it serves.
        pub fn start() -> Daemon {
            Daemon::start_at(open_tempdir())
        }

        /// Starts a daemon with its files in `tmp` (socket `reel.sock`, database `pools.db`).
        pub fn start_at(tmp: tempfile::TempDir) -> Daemon {
            Daemon::start_with(tmp, default_layout())
        }

        /// Starts a daemon with its files in `tmp`, serving the simulated library `layout`.
        pub fn start_with(tmp: tempfile::TempDir, layout: PathBuf) -> Daemon {
            Daemon::start_custom(tmp, layout, &[], &[])
        }

        /// Starts a daemon under `prefix` (a program and its args, e.g. `prlimit …`) with more
        /// `reel serve` options.
        pub fn start_custom(
            tmp: tempfile::TempDir,
            layout: PathBuf,
            prefix: &[&str],
            extra: &[&str],
        ) -> Daemon {
            let dir = tmp.path().to_path_buf();
            let mut d = Daemon {
                child: None,
                socket: dir.join("reel.sock"),
                db: dir.join("pools.db"),
                prefix: prefix.iter().map(|s| s.to_string()).collect(),

                layout,
                extra_args: extra.iter().map(|s| s.to_string()).collect(),
                dir,
                rust_log: "warn".into(),
                _tmp: Some(tmp),
            };
            d.restart();
            d
        }

        /// The command line that starts this daemon (socket group `nogroup`, so the test
        /// users, all in group 65534, can connect).
        pub fn command(&self) -> Command {
            let mut cmd = match self.prefix.split_first() {
                Some((program, args)) => {
                    let mut c = Command::new(program);
                    c.args(args).arg(REEL);
                    c
                }
                None => Command::new(REEL),
            };
            cmd.arg("serve")
                .arg("--sim")
                .arg(&self.layout)
                .arg("--db")
                .arg(&self.db)
                .arg("--socket")
                .arg(&self.socket)
                .arg("--socket-group")
                .arg("nogroup")
                .args(&self.extra_args)
                .env("RUST_LOG", &self.rust_log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(self.log_file());
            cmd
        }

        /// The daemon's stderr goes to `daemon.log` in its directory (appended across restarts;
        /// a pipe nobody reads would block the daemon once full).
        fn log_file(&self) -> Stdio {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join("daemon.log"))
                .map(Stdio::from)
                .expect("daemon log file")
        }

        /// What the daemon wrote on stderr so far.
        pub fn log(&self) -> String {
            fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
        }

        /// Starts a daemon in a fresh temp dir logging at `filter` (e.g. `info`).
        pub fn start_logging(filter: &str) -> Daemon {
            let tmp = open_tempdir();
            let dir = tmp.path().to_path_buf();
            let mut d = Daemon {
                child: None,
                socket: dir.join("reel.sock"),
                db: dir.join("pools.db"),
                layout: default_layout(),
                extra_args: Vec::new(),
                prefix: Vec::new(),
                dir,
                rust_log: filter.into(),
                _tmp: Some(tmp),
            };
            d.restart();
            d
        }

        /// Starts (again) on the same files and waits until it serves.
        pub fn restart(&mut self) {
            assert!(self.child.is_none(), "the daemon is still running");
            let child = self.command().spawn().expect("spawn reel serve");
            self.child = Some(child);
            self.wait_ready();
        }

        /// Waits until a client gets a session and a call that needs readiness succeeds.
        pub fn wait_ready(&mut self) {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                    self.child = None;
                    panic!(
                        "the daemon exited during start-up ({status}): {}",
                        self.log()
                    );
                }
                if let Ok(mut c) = Client::connect(&self.socket, "test") {
                    let ready = c.call_value(Call::Enumerate {
                        container: None,
                        object_type: reel::daemon::wire::ObjectType::MediaPool,
                        root_pool: true,
                    });
                    match ready {
                        Ok(_) => return,
                        Err(s) if s.code == 21 => {}
                        Err(s) => panic!("the daemon answered {s}"),
                    }
                }
                assert!(Instant::now() < deadline, "the daemon did not become ready");
                std::thread::sleep(Duration::from_millis(20));
            }
        }

        /// The daemon's pid.
        pub fn pid(&self) -> u32 {
            self.child.as_ref().expect("running").id()
        }

        /// SIGKILL, and reap.
        pub fn kill(&mut self) {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }

        /// Sends SIGTERM and waits for the exit; returns the status and the log.
        pub fn terminate(&mut self) -> (std::process::ExitStatus, String) {
            let mut c = self.child.take().expect("running");
            signal(c.id(), "TERM");
            let out = wait_with_timeout(&mut c, Duration::from_secs(20));
            (out, self.log())
        }

        /// Resident memory of the daemon in KiB (VmRSS).
        pub fn rss_kib(&self) -> u64 {
            let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .expect("VmRSS line")
        }

        /// A protocol client as this (root) process.
        pub fn client(&self) -> Client {
            Client::connect(&self.socket, "test").expect("connect")
        }

        /// Runs `reel ARGS --socket S` as root.
        pub fn reel(&self, args: &[&str]) -> Run {
            self.reel_as(None, args)
        }

        /// Runs `reel ARGS --socket S`, as `user` when given.
        pub fn reel_as(&self, user: Option<&User>, args: &[&str]) -> Run {
            let mut cmd = match user {
                Some(u) => {
                    let mut c = u.setpriv();
                    c.arg(REEL);
                    c
                }
                None => Command::new(REEL),
            };
            cmd.args(args).arg("--socket").arg(&self.socket);
            Run::of(cmd.output().expect("run reel"))
        }
    }

    impl Drop for Daemon {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// Sends SIGTERM, SIGINT or SIGKILL (`sig` = "TERM", "INT", "KILL") to `pid`.
    pub fn signal(pid: u32, sig: &str) {
        use nix::sys::signal::Signal;
        let sig = match sig {
            "TERM" => Signal::SIGTERM,
            "INT" => Signal::SIGINT,
            "KILL" => Signal::SIGKILL,
            "STOP" => Signal::SIGSTOP,
            "CONT" => Signal::SIGCONT,
            other => panic!("signal {other} is not used by these tests"),
        };
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("kill");
    }

    /// Waits for a child at most `limit`, killing it after that.
    pub fn wait_with_timeout(c: &mut Child, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("process {} did not exit within {limit:?}", c.id());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Another Unix identity for a client: uid, primary gid 65534, supplementary groups.
    #[derive(Debug, Clone)]
    pub struct User {
        pub uid: u32,
        pub groups: Vec<u32>,
    }

    impl User {
        /// A user with no supplementary groups.
        pub fn new(uid: u32) -> User {
            User {
                uid,
                groups: vec![],
            }
        }

        /// A user who is also in these groups.
        pub fn in_groups(uid: u32, groups: &[u32]) -> User {
            User {
                uid,
                groups: groups.to_vec(),
            }
        }

        /// `setpriv` with this identity (util-linux), ready for the program and its args.
        pub fn setpriv(&self) -> Command {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={}", self.uid)).arg("--regid=65534");
            if self.groups.is_empty() {
                c.arg("--clear-groups");
            } else {
                let g: Vec<String> = self.groups.iter().map(u32::to_string).collect();
                c.arg(format!("--groups={}", g.join(",")));
            }
            c
        }
    }

    /// A finished CLI run.
    #[derive(Debug)]
    pub struct Run {
        pub code: i32,
        pub stdout: String,
        pub stderr: String,
    }

    impl Run {
        fn of(o: Output) -> Run {
            Run {
                code: o.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            }
        }

        /// The stdout JSON document.
        pub fn json(&self) -> Value {
            serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
                panic!(
                    "stdout is not JSON ({e}): {}\nstderr: {}",
                    self.stdout, self.stderr
                )
            })
        }

        /// Panics unless the exit code is `code`.
        pub fn expect_code(&self, code: i32) -> &Self {
            assert_eq!(self.code, code, "exit code\n{self:?}");
            self
        }

        /// Asserts success and returns the JSON document.
        pub fn ok(&self) -> Value {
            assert_eq!(
                self.code, 0,
                "stdout: {}\nstderr: {}",
                self.stdout, self.stderr
            );
            self.json()
        }

        /// Asserts an RSM failure with this name, exit status 1, the error line and document.
        pub fn failed(&self, name: &str, code: u32) {
            assert_eq!(
                self.code, 1,
                "stdout: {}\nstderr: {}",
                self.stdout, self.stderr
            );
            let doc = self.json();
            assert_eq!(doc["error"]["name"], name, "{doc}");
            assert_eq!(doc["error"]["code"], code, "{doc}");
            let line = format!("error: {name} ({code}): ");
            assert!(self.stderr.starts_with(&line), "stderr: {}", self.stderr);
        }
    }

    /// Runs `calls` on one connection as `user`, by re-running this test binary's
    /// `daemon::peer_helper` under setpriv; returns each call's result.
    pub fn calls_as(socket: &Path, user: &User, calls: &[Call]) -> Vec<Outcome> {
        peer_run(socket, user, calls).1
    }

    /// The identity the daemon reports to a client running as `user`.
    pub fn identity_as(socket: &Path, user: &User) -> reel::daemon::wire::WireIdentity {
        peer_run(socket, user, &[]).0.expect("the helper connected")
    }

    fn peer_run(
        socket: &Path,
        user: &User,
        calls: &[Call],
    ) -> (Option<reel::daemon::wire::WireIdentity>, Vec<Outcome>) {
        let exe = std::env::current_exe().unwrap();
        let out = user
            .setpriv()
            .arg(exe)
            .args([
                "--exact",
                "daemon::peer_helper",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("REEL_PEER_SOCKET", socket)
            .env("REEL_PEER_CALLS", serde_json::to_string(calls).unwrap())
            .output()
            .expect("run the peer helper");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // libtest may print "test NAME ... " on the same line before the helper's output.
        let line = |marker: &str| {
            stdout
                .lines()
                .find_map(|l| l.find(marker).map(|i| l[i + marker.len()..].to_owned()))
        };
        let identity = line("PEER-IDENTITY:").map(|l| serde_json::from_str(&l).unwrap());
        let results = line("PEER-RESULT:").unwrap_or_else(|| {
            panic!(
                "the peer helper printed no result: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let results: Vec<Value> = serde_json::from_str(&results).unwrap();
        let results = results
            .into_iter()
            .map(|r| match r.get("error") {
                Some(e) => Err((
                    e["name"].as_str().unwrap().to_owned(),
                    e["code"].as_u64().unwrap() as u32,
                )),
                None => Ok(r["ok"].clone()),
            })
            .collect();
        (identity, results)
    }
}
