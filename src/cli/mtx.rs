//! `reel mtx …`: the mtx-compatible front of `reel::mtx`, and `reel mtx --install-link DIR`.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// `--help`, `-h` or `--version` alone: clap answers them for `reel mtx` as for every command.
pub fn is_reel_flag(args: &[OsString]) -> bool {
    matches!(args, [a] if a == "--help" || a == "-h" || a == "--version")
}

/// Runs the front with mtx's arguments (everything after `mtx`).
pub fn run(args: &[OsString]) -> ExitCode {
    if args.first().is_some_and(|a| a == "--install-link") {
        return install_link(&args[1..]);
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    ExitCode::from(reel::mtx::main("mtx", &args))
}

fn install_link(rest: &[OsString]) -> ExitCode {
    let [dir] = rest else {
        let _ = writeln!(
            std::io::stderr(),
            "error: usage: reel mtx --install-link DIR (creates DIR/mtx)"
        );
        return ExitCode::from(2);
    };
    match reel::mtx::install_link(Path::new(dir)) {
        Ok(link) => {
            let _ = writeln!(
                std::io::stdout(),
                "{} -> reel: backup software that runs mtx now drives reel",
                link.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(1)
        }
    }
}
