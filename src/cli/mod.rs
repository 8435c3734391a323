//! The `reel` command line, laid out like ripgrep's: `args` (parsing, no I/O), one module per
//! command (validation, devices or daemon, work), `output` (tables, JSON, the error line), and
//! the exit policy in one match in [`main`].

mod args;
mod client;
mod devices;
mod discover;
mod media;
mod mounts;
mod moves;
mod mtx;
mod output;
mod serve;
mod shell;
mod tech;
mod usage;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::Command;
pub use output::Failure;

/// Parses the command line, runs the command and decides the exit status.
pub fn main() -> ExitCode {
    // cli.md: an empty REEL_SOCKET means unset (the default socket), not an empty path.
    if std::env::var_os("REEL_SOCKET").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("REEL_SOCKET");
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `reel mtx …` speaks mtx's dialect, `-f` and all: it is not parsed as reel's flags. Only
    // `reel mtx --help` and `reel mtx --version` alone are reel's, as for every subcommand
    // (`mtx --version` under the name mtx is mtx's).
    if argv.get(1).is_some_and(|a| a == "mtx") && !mtx::is_reel_flag(&argv[2..]) {
        return mtx::run(&argv[2..]);
    }
    let json_wanted = argv.iter().any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, &argv, json_wanted),
    };
    if let Command::Mtx(a) = &cli.command {
        return mtx::run(&a.args);
    }
    output::init_logging(cli.verbose);
    let json = cli.json;
    let result = run(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // A closed stdout (`reel discover | head`) is not a failure of the command.
            if failure.is_broken_pipe() {
                return ExitCode::SUCCESS;
            }
            output::print_failure(&failure, json);
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    match cli.command {
        Command::Discover(a) => discover::run(a, json),
        Command::Move(a) => moves::run(a, json),
        Command::Serve(a) => serve::run(a),
        Command::Library(a) => client::library(a, json),
        Command::MediaTypes(a) => client::media_types(a, json),
        Command::Pool(p) => client::pool(p, json),
        Command::Media(m) => media::run(m, json),
        Command::Opreq(a) => media::opreq(a, json),
        Command::Lock(a) => tech::lock(a, true, json),
        Command::Unlock(a) => tech::lock(a, false, json),
        Command::Exchange(a) => tech::exchange(a, json),
        Command::Mount(a) => mounts::mount(a, json),
        Command::Dismount(a) => mounts::dismount(a, json),
        Command::Requests(a) => mounts::requests(a, json),
        Command::Watch(a) => mounts::watch(a),
        Command::Status(a) => mounts::status(a, json),
        Command::Metrics(a) => mounts::metrics(a),
        // Handled in `main` before logging is set up: mtx's output is its own.
        Command::Mtx(_) => Ok(()),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a, json),
    }
}

/// `--help` and `--version` print as clap prints them; every other parse error is cli.md's
/// one error line (and JSON document), exit 2.
fn usage_error(e: clap::Error, argv: &[std::ffi::OsString], json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let failure = Failure::usage(usage::message(&e, argv));
            output::print_failure(&failure, json);
            ExitCode::from(failure.exit_code())
        }
    }
}
