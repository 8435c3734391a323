//! Shell integration (cli.md "Shell integration") and `--version` on every command.

use std::process::Command;

use crate::util::{reel, tempdir};

/// Every command path of `reel`, read from `reel --help` and its subcommands' help, so a new
/// command is covered without editing this test.
fn command_paths() -> Vec<Vec<String>> {
    fn subcommands(path: &[String]) -> Vec<String> {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = reel(&args);
        run.expect_code(0);
        let mut names = Vec::new();
        let mut in_commands = false;
        for line in run.stdout.lines() {
            if line == "Commands:" {
                in_commands = true;
                continue;
            }
            if in_commands {
                if line.is_empty() {
                    break;
                }
                let name = line.split_whitespace().next().unwrap_or_default();
                if !name.is_empty() && name != "help" {
                    names.push(name.to_owned());
                }
            }
        }
        names
    }
    let mut paths = vec![Vec::new()];
    let mut i = 0;
    while i < paths.len() {
        let path = paths[i].clone();
        for name in subcommands(&path) {
            let mut p = path.clone();
            p.push(name);
            paths.push(p);
        }
        i += 1;
    }
    paths
}

#[test]
fn every_command_answers_version() {
    let version = env!("CARGO_PKG_VERSION");
    let paths = command_paths();
    assert!(paths.len() > 10, "found only {paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--version");
        let run = reel(&args);
        run.expect_code(0);
        let name = std::iter::once("reel")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(run.stdout, format!("{name} {version}\n"), "{path:?}");
    }
}

#[test]
fn completions_are_scripts_for_each_shell() {
    // shell -> a line the script must contain to register completions for `reel`.
    let cases = [
        (
            "bash",
            "complete -F _reel -o nosort -o bashdefault -o default reel",
        ),
        ("zsh", "#compdef reel"),
        ("fish", "complete -c reel -n \"__fish_reel_needs_command\""),
    ];
    for (shell, marker) in cases {
        let run = reel(&["completions", shell]);
        run.expect_code(0);
        assert!(
            run.stdout.contains(marker),
            "{shell}: no `{marker}` in\n{}",
            &run.stdout[..run.stdout.len().min(400)]
        );
        // Every top-level command is offered.
        for cmd in ["discover", "move", "serve", "pool", "completions", "man"] {
            assert!(run.stdout.contains(cmd), "{shell}: {cmd} not completed");
        }
    }
    let bash = reel(&["completions", "bash"]);
    // The bash script loads and registers a completion function for `reel`.
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!("{}\ncomplete -p reel", bash.stdout))
        .output()
        .expect("bash");
    assert!(status.status.success(), "{status:?}");
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "complete -o bashdefault -o default -o nosort -F _reel reel\n"
    );
}

#[test]
fn completions_refuse_an_unknown_shell_with_the_cli_error_line() {
    let run = reel(&["completions", "tcsh"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: ERROR_INVALID_PARAMETER (87): "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("tcsh"), "{}", run.stderr);
}

#[test]
fn man_writes_one_page_per_command() {
    let dir = tempdir();
    let run = reel(&["man", dir.path().to_str().unwrap()]);
    run.expect_code(0);
    let mut expected: Vec<String> = command_paths()
        .iter()
        .map(|p| {
            std::iter::once("reel")
                .chain(p.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("-")
                + ".1"
        })
        .collect();
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, expected);
    // Each page is a roff page titled with its command, e.g. reel-pool-create(1).
    let page = std::fs::read_to_string(dir.path().join("reel-pool-create.1")).unwrap();
    assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq"), "{page}");
    assert!(page.contains(".TH reel-pool-create 1"), "{page}");
    assert!(page.contains("\\-\\-media\\-type"), "{page}");
    // stdout lists the files written, one a line.
    assert_eq!(run.stdout.lines().count(), expected.len());
}

#[test]
fn man_refuses_a_missing_directory() {
    let dir = tempdir();
    let missing = dir.path().join("no/such/dir");
    let run = reel(&["man", missing.to_str().unwrap()]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        format!(
            "error: ERROR_INVALID_PARAMETER (87): {} is not a directory; create it first (mkdir -p {})\n",
            missing.display(),
            missing.display()
        )
    );
}
