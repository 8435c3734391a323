//! The `reel` command line: parse, run, map the outcome to an exit status in one place. Run
//! under the name `mtx` (a link to this binary), it is reel's mtx-compatible front.
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    if std::path::Path::new(&argv0).file_name() == Some(std::ffi::OsStr::new("mtx")) {
        let rest: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
        return ExitCode::from(reel::mtx::main("mtx", &rest));
    }
    cli::main()
}
