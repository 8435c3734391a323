//! Usage errors in cli.md's form: one line, `error: ERROR_INVALID_PARAMETER (87): ...`, exit 2,
//! instead of clap's multi-line block. The line keeps what clap says (the bad value, the
//! possible values, a "did you mean" tip) and ends with the `--help` to read.

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::CommandFactory;

use super::args::Cli;

/// The message of cli.md's error line for a clap parse error.
pub fn message(e: &clap::Error, argv: &[OsString]) -> String {
    let path = command_path(argv);
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let cmd = subcommand(&path);
        let names: Vec<&str> = cmd
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name())
            .collect();
        return format!(
            "`{}` needs a command: one of {} (see `{} --help`)",
            path.join(" "),
            names.join(", "),
            path.join(" ")
        );
    }
    let rendered = e.render().to_string();
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("Usage:") || line.starts_with("For more information")
        {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line).to_owned());
    }
    // clap lists missing arguments on their own lines after a colon.
    let mut text = String::new();
    for p in parts {
        if text.is_empty() {
            text = p;
        } else if text.ends_with(':') {
            text = format!("{text} {p}");
        } else {
            text = format!("{text}; {p}");
        }
    }
    format!("{text} (see `{} --help`)", path.join(" "))
}

/// `reel` and the subcommand names argv walks through (`["reel", "pool", "create"]`).
fn command_path(argv: &[OsString]) -> Vec<String> {
    let mut cmd = Cli::command();
    let mut path = vec!["reel".to_owned()];
    for arg in argv.iter().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        if arg.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(arg) {
            Some(sub) => {
                path.push(sub.get_name().to_owned());
                let sub = sub.clone();
                cmd = sub;
            }
            None if cmd.has_subcommands() => break,
            None => break,
        }
    }
    path
}

fn subcommand(path: &[String]) -> clap::Command {
    let mut cmd = Cli::command();
    for name in &path[1..] {
        match cmd.find_subcommand(name) {
            Some(sub) => {
                let sub = sub.clone();
                cmd = sub;
            }
            None => break,
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn line(argv: &[&str]) -> String {
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let e = Cli::try_parse_from(&argv).expect_err("a usage error");
        message(&e, &argv)
    }

    #[test]
    fn usage_errors_read_as_one_line() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["reel", "frob"],
                "unrecognized subcommand 'frob' (see `reel --help`)",
            ),
            (
                &["reel", "pool"],
                "`reel pool` needs a command: one of create, list, show, delete, update, security \
                 (see `reel pool --help`)",
            ),
            (
                &["reel", "pool", "create"],
                "the following required arguments were not provided: <NAME> \
                 (see `reel pool create --help`)",
            ),
            (
                &["reel", "discover", "--sim"],
                "a value is required for '--sim <LAYOUT.toml>' but none was supplied \
                 (see `reel discover --help`)",
            ),
            (
                &["reel", "discover", "--sim", "a", "--sim-socket", "b"],
                "the argument '--sim <LAYOUT.toml>' cannot be used with '--sim-socket <PATH>' \
                 (see `reel discover --help`)",
            ),
            (
                &["reel", "completions", "tcsh"],
                "invalid value 'tcsh' for '<SHELL>'; [possible values: bash, elvish, fish, \
                 powershell, zsh]; tip: a similar value exists: 'zsh' \
                 (see `reel completions --help`)",
            ),
        ];
        for (argv, want) in cases {
            assert_eq!(line(argv), want, "{argv:?}");
        }
    }
}
