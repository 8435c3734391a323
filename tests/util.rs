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
