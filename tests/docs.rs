//! The documentation's commands run: every shell block of README.md and sim/README.md marked
//! ```` ```sh runnable ```` is executed by bash (`set -euo pipefail`), from the repository root,
//! with the binaries under test first on PATH. What the runner changes, and only this:
//! - `cargo build --release` lines are dropped (the binaries are built) and `target/release/`
//!   means the directory of the binaries under test;
//! - `HOME` and every `/tmp/` path point into a fresh temporary directory, so runs in parallel
//!   and on a shared machine do not meet.
//!
//! A block that starts a server in the background (`&`) must stop it itself (`kill %1`); the
//! runner kills the block's whole process group afterwards in any case.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::repo;

/// The bodies of the ```` ```sh runnable ```` blocks of `text`.
fn runnable_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_end() == "```sh runnable" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    blocks
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_reel"))
        .parent()
        .expect("the binaries' directory")
        .to_path_buf()
}

/// Runs one block; returns (exit code, stdout+stderr).
fn run_block(block: &str) -> (i32, String) {
    let tmp = crate::util::tempdir();
    let bins = bin_dir();
    let script: String = block
        .lines()
        .filter(|l| l.trim() != "cargo build --release")
        .map(|l| {
            l.replace("target/release/", &format!("{}/", bins.display()))
                .replace("/tmp/", &format!("{}/", tmp.path().display()))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(repo())
        .env("PATH", path)
        .env("HOME", tmp.path())
        .env_remove("REEL_SOCKET")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash");
    let pgid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever the block left running in the background.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (status.code().unwrap_or(-1), text)
}

fn run_doc(file: &str, at_least: usize) {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let blocks = runnable_blocks(&text);
    assert!(
        blocks.len() >= at_least,
        "{file}: {} runnable blocks, expected at least {at_least}",
        blocks.len()
    );
    for block in blocks {
        let (code, out) = run_block(&block);
        assert_eq!(
            code, 0,
            "{file}: this block failed:\n{block}\n--- output:\n{out}"
        );
    }
}

#[test]
fn readme_blocks_marked_runnable_run() {
    run_doc("README.md", 1);
}

#[test]
fn sim_readme_blocks_marked_runnable_run() {
    run_doc("sim/README.md", 1);
}

#[test]
fn the_runner_finds_only_marked_blocks() {
    let text = "```sh\nnot me\n```\n```sh runnable\necho a\necho b\n```\n```toml\nx = 1\n```\n";
    assert_eq!(runnable_blocks(text), vec!["echo a\necho b\n".to_owned()]);
    let (code, out) = run_block("echo hi; false");
    assert_eq!((code, out.as_str()), (1, "hi\n"));
}
