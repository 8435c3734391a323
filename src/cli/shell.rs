//! Shell integration (cli.md "Shell integration"): `reel completions SHELL` prints a completion
//! script and `reel man DIR` writes one man page per command, both generated from the clap
//! definitions in [`super::args`] so they always describe the flags the binary really takes.
//!
//! Decisions where cli.md is silent: pages are named as git names its own (`reel.1`,
//! `reel-pool-create.1`), hidden commands get no page, and `reel man` refuses a DIR that does
//! not exist rather than creating directories (a packaging script owns the layout).

use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;
use reel::pool::Win32Code;

use super::args::{Cli, CompletionsArgs, ManArgs};
use super::Failure;

/// `reel completions SHELL`.
pub fn completions(args: CompletionsArgs) -> Result<(), Failure> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "reel", &mut out);
    io::stdout().lock().write_all(&out)?;
    Ok(())
}

/// `reel man DIR`.
pub fn man(args: ManArgs, json: bool) -> Result<(), Failure> {
    let written = write_pages(Cli::command(), &args.dir)?;
    if json {
        return super::output::print_json(&serde_json::json!({ "man": {
            "dir": args.dir, "pages": written,
        }}));
    }
    let mut out = io::stdout().lock();
    for page in &written {
        writeln!(out, "{}", args.dir.join(page).display())?;
    }
    Ok(())
}

/// Writes the page of `cmd` and of every visible subcommand into `dir`; returns the file names.
///
/// # Errors
/// A DIR that is not a directory (usage), or a failed write.
pub fn write_pages(cmd: clap::Command, dir: &Path) -> Result<Vec<String>, Failure> {
    if !dir.is_dir() {
        return Err(Failure::usage(format!(
            "{} is not a directory; create it first (mkdir -p {})",
            dir.display(),
            dir.display()
        )));
    }
    let mut cmd = cmd;
    cmd.build();
    let mut written = Vec::new();
    write_tree(&cmd, "", dir, &mut written).map_err(|e| {
        Failure::rsm(
            Win32Code::ERROR_WRITE_FAULT,
            format!("cannot write man pages into {}: {e}", dir.display()),
        )
    })?;
    Ok(written)
}

fn write_tree(
    cmd: &clap::Command,
    prefix: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> io::Result<()> {
    let name = if prefix.is_empty() {
        cmd.get_name().to_owned()
    } else {
        format!("{prefix}-{}", cmd.get_name())
    };
    // The page's title and NAME line carry the full command (`reel-pool-create`).
    let page_cmd = cmd.clone().name(name.clone());
    let mut bytes = Vec::new();
    clap_mangen::Man::new(page_cmd).render(&mut bytes)?;
    let file = format!("{name}.1");
    std::fs::write(dir.join(&file), bytes)?;
    written.push(file);
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        write_tree(sub, &name, dir, written)?;
    }
    Ok(())
}
