//! What people read: every message issue 15 found rough, as the user now sees it, and two
//! guards against Rust internals in user text (a scan of what the commands print, and a review
//! list of Debug formatting in the sources).

use std::process::Command;

use crate::util::daemon::{Daemon, REEL};
use crate::util::reel;

/// Rust's Debug shapes that must never reach a person: `Some("x")`, `Name("LTO-10")`,
/// `Lto7`-style variant names in brackets, struct braces.
fn assert_no_internals(text: &str) {
    for bad in [
        "Some(", "None)", "Name(", "Id(", "(\"", "\")", "Ok(", "Err(", " { ", "[Lto",
    ] {
        assert!(!text.contains(bad), "`{bad}` in user text: {text}");
    }
}

/// One command against a daemon: arguments, exit code, and the exact stderr line.
struct Case {
    args: &'static [&'static str],
    code: i32,
    stderr: String,
}

#[test]
fn pool_messages_say_what_happened_and_what_to_do() {
    let d = Daemon::start();
    let tape = nix::unistd::Group::from_name("tape")
        .unwrap()
        .expect("group tape")
        .gid
        .as_raw();
    let cases = vec![
        Case {
            args: &["pool", "create", r"\Backup"],
            code: 0,
            stderr: String::new(),
        },
        Case {
            args: &["pool", "create", r"\Backup"],
            code: 1,
            stderr: r"error: ERROR_ALREADY_EXISTS (183): already exists: pool \Backup exists; to open the existing pool instead, add --action open-always".into(),
        },
        Case {
            args: &["pool", "create", r"\Backup", "--action", "open-always"],
            code: 0,
            stderr: String::new(),
        },
        Case {
            args: &["pool", "create", r"\Backup\Weekly", "--media-type", "LTO-10"],
            code: 1,
            stderr: "error: ERROR_INVALID_MEDIA (4300): invalid media: LTO-10 is not a media type; `reel media-types` lists the types this library uses".into(),
        },
        Case {
            args: &["pool", "create", r"\Backup\Weekly", "--media-type", "LTO-8"],
            code: 0,
            stderr: String::new(),
        },
        // `reel pool show \Backup\Weekly` unquoted: the shell hands over BackupWeekly.
        Case {
            args: &["pool", "show", "BackupWeekly"],
            code: 1,
            stderr: r"error: ERROR_OBJECT_NOT_FOUND (4312): object not found: no pool \BackupWeekly (`BackupWeekly` has no backslash: the shell removes unquoted ones, so write the path in single quotes, e.g. '\Backup\Weekly')".into(),
        },
        Case {
            args: &["pool", "delete", r"\Backup"],
            code: 1,
            stderr: r"error: ERROR_NOT_EMPTY (4307): not empty: \Backup holds 1 child pool; empty it first".into(),
        },
        Case {
            args: &["pool", "create", r"\Tape", "--allow", "gid:tape:use"],
            code: 2,
            stderr: "error: ERROR_INVALID_PARAMETER (87): bad ACE `gid:tape:use`: `tape` is a name, not a number: write group:tape:use (write uid:N:RIGHTS, gid:N:RIGHTS, user:NAME:RIGHTS, group:NAME:RIGHTS or everyone:RIGHTS; RIGHTS is a comma list of use, modify, control, read-control, write-dac, or all)".into(),
        },
        Case {
            args: &["pool", "create", r"\Tape", "--allow", "user:no-such-user-reel:use"],
            code: 2,
            stderr: "error: ERROR_INVALID_PARAMETER (87): bad ACE `user:no-such-user-reel:use`: this system has no user named `no-such-user-reel` (check with `getent passwd`)".into(),
        },
        Case {
            args: &["pool", "create", r"\Tape", "--allow", "group:tape:use", "--allow", "user:root:all"],
            code: 0,
            stderr: String::new(),
        },
        Case {
            args: &["pool", "update", r"\Backup\Weekly"],
            code: 2,
            stderr: "error: ERROR_INVALID_PARAMETER (87): nothing to change: give --description, --media-type, --max-allocates, --allocation-policy, --deallocation-policy or --rename".into(),
        },
    ];
    for c in &cases {
        let run = d.reel(c.args);
        assert_eq!(run.code, c.code, "{:?}\n{run:?}", c.args);
        let want = if c.stderr.is_empty() {
            String::new()
        } else {
            format!("{}\n", c.stderr)
        };
        assert_eq!(run.stderr, want, "{:?}", c.args);
        assert_no_internals(&run.stderr);
        assert_no_internals(&run.stdout);
    }

    // The access list names the accounts it holds, as this system knows them.
    let sec = d.reel(&["pool", "security", r"\Tape"]);
    sec.expect_code(0);
    assert!(
        sec.stdout.starts_with("owner: uid 0 (root)\n"),
        "{}",
        sec.stdout
    );
    let gid = format!("gid:{tape} (tape)");
    assert_eq!(
        sec.stdout.lines().skip(1).collect::<Vec<_>>(),
        vec![
            format!("KIND   {:<14} RIGHTS", "WHO"),
            format!("allow  {gid:<14} use"),
            format!(
                "allow  {:<14} use,modify,control,read-control,write-dac",
                "uid:0 (root)"
            ),
        ]
    );
    // ... and the daemon got numbers.
    let doc = d.reel(&["--json", "pool", "security", r"\Tape"]).json();
    let whos: Vec<&str> = doc["security"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["who"].as_str().unwrap())
        .collect();
    assert_eq!(whos, vec![format!("gid:{tape}").as_str(), "uid:0"]);

    // `pool show` names the parent by its path, the owner by account.
    let show = d.reel(&["pool", "show", r"\Backup\Weekly"]);
    show.expect_code(0);
    assert!(
        show.stdout.contains("parent:         \\Backup\n"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("owner:          uid 0 (root)\n"),
        "{}",
        show.stdout
    );
    let top = d.reel(&["pool", "show", r"\Backup"]);
    assert!(
        top.stdout.contains("parent:         \\ (the root pool)\n"),
        "{}",
        top.stdout
    );
}

#[test]
fn an_empty_reel_socket_means_unset() {
    let dir = crate::util::tempdir();
    // Empty: the default socket is tried (and is absent here), not an empty path refused.
    let run: crate::util::Run = Command::new(REEL)
        .args(["pool", "list"])
        .env("REEL_SOCKET", "")
        .output()
        .unwrap()
        .into();
    assert_ne!(run.code, 2, "{run:?}");
    assert!(!run.stderr.contains("a value is required"), "{run:?}");
    if !std::path::Path::new("/run/reel/reel.sock").exists() {
        assert!(run.stderr.contains("/run/reel/reel.sock"), "{run:?}");
    }
    // Set: that socket.
    let sock = dir.path().join("none.sock");
    let run: crate::util::Run = Command::new(REEL)
        .args(["pool", "list"])
        .env("REEL_SOCKET", &sock)
        .output()
        .unwrap()
        .into();
    assert!(run.stderr.contains(&*sock.to_string_lossy()), "{run:?}");
}

#[test]
fn help_texts_speak_of_their_own_command() {
    let delete = reel(&["pool", "delete", "--help"]);
    delete.expect_code(0);
    assert!(
        delete.stdout.contains("Full path of the pool to delete"),
        "{}",
        delete.stdout
    );
    assert!(!delete.stdout.contains("show"), "{}", delete.stdout);
    let serve = reel(&["serve", "--help"]);
    serve.expect_code(0);
    assert!(!serve.stdout.contains("--json"), "{}", serve.stdout);
    let create = reel(&["pool", "create", "--help"]);
    assert!(
        create.stdout.contains("quoted for the shell"),
        "{}",
        create.stdout
    );
    assert!(
        create.stdout.contains("group:NAME:RIGHTS"),
        "{}",
        create.stdout
    );
}

#[test]
fn usage_errors_are_the_cli_error_line_and_json_document() {
    // argv -> the one stderr line cli.md fixes (exit 2).
    let cases: [(&[&str], &str); 3] = [
        (&["frob"], "error: ERROR_INVALID_PARAMETER (87): unrecognized subcommand 'frob' (see `reel --help`)\n"),
        (&["pool", "create"], "error: ERROR_INVALID_PARAMETER (87): the following required arguments were not provided: <NAME> (see `reel pool create --help`)\n"),
        (&["move", "slot:1000"], "error: ERROR_INVALID_PARAMETER (87): the following required arguments were not provided: <TO> (see `reel move --help`)\n"),
    ];
    for (argv, line) in cases {
        let run = reel(argv);
        run.expect_code(2);
        assert_eq!(run.stderr, line, "{argv:?}");
        assert_eq!(run.stdout, "");
        let mut with_json = argv.to_vec();
        with_json.push("--json");
        let run = reel(&with_json);
        run.expect_code(2);
        let doc = run.json();
        assert_eq!(doc["error"]["name"], "ERROR_INVALID_PARAMETER");
        assert_eq!(doc["error"]["code"], 87);
    }
}

#[test]
fn the_daemon_logs_every_change_at_info_with_who_what_and_result() {
    let mut d = Daemon::start_logging("info");
    d.reel(&["pool", "create", r"\Audit", "--media-type", "LTO-8"])
        .expect_code(0);
    d.reel(&["pool", "create", r"\Audit", "--media-type", "LTO-8"])
        .expect_code(1);
    d.reel(&["pool", "show", r"\Audit"]).expect_code(0);
    d.reel(&["pool", "show", r"\Nothing"]).expect_code(1);
    d.reel(&["pool", "update", r"\Audit", "--max-allocates", "3"])
        .expect_code(0);
    d.reel(&["pool", "delete", r"\Audit"]).expect_code(0);
    let (status, log) = d.terminate();
    assert!(status.success(), "{log}");
    let audit: Vec<&str> = log.lines().filter(|l| l.contains("reel::audit")).collect();
    let wanted = [
        r"root create pool \Audit for LTO-8 media: ok",
        r"root create pool \Audit for LTO-8 media: ERROR_ALREADY_EXISTS (183): already exists: pool \Audit exists",
        "update pool ",
        "(name Audit, max allocates 3, allocation policy 0, deallocation policy 0): ok",
        "root delete pool ",
    ];
    for w in wanted {
        assert!(
            audit.iter().any(|l| l.contains(w) && l.contains(" INFO ")),
            "no audit line with `{w}` in\n{log}"
        );
    }
    assert_eq!(audit.len(), 4, "{log}");
    // Reads are not audit lines and a caller's mistake is no warning.
    assert!(!log.contains("WARN"), "{log}");
    // Media types by name; `ready` before `serving`.
    assert!(log.contains("media_types=LTO-7, LTO-8, LTO-M8"), "{log}");
    let ready = log.find(" ready").expect("ready logged");
    let serving = log.find(" serving").expect("serving logged");
    assert!(ready < serving, "{log}");
    assert_no_internals(&log);
}

/// Debug formatting (`{x:?}`) in non-test sources, each reviewed: a user's own string quoted
/// with its control characters escaped, or a type whose Debug is written for people. Anything
/// new fails here: print it with Display, or add it with its reason.
#[test]
fn debug_formatting_in_messages_is_reviewed() {
    const REVIEWED: &[(&str, &str, &str)] = &[
        (
            "src/discovery/error.rs",
            "{product:?}",
            "the drive's product string, quoted",
        ),
        (
            "src/discovery/matching.rs",
            "{:?}",
            "the received serial, quoted",
        ),
        ("src/daemon/server.rs", "{:?}", "a Duration, printed as 10s"),
        (
            "src/scsi/exec.rs",
            "{waited:?}",
            "a Duration, printed as 1.5s",
        ),
        (
            "src/scsi/read_attribute.rs",
            "{id:?}",
            "AttributeId's Debug is its name or hex",
        ),
        (
            "src/pool/security.rs",
            "{word:?}",
            "the user's right, quoted",
        ),
        (
            "src/pool/security.rs",
            "{s:?}",
            "the user's ACE text, quoted",
        ),
        (
            "src/pool/name.rs",
            "{component:?}",
            "the user's name component, quoted",
        ),
        (
            "src/pool/name.rs",
            "{c:?}",
            "the offending character, quoted and escaped",
        ),
        (
            "sim/src/persist.rs",
            "{:?}",
            "the barcode read from the state file, quoted",
        ),
        (
            "sim/src/persist.rs",
            "{id:?}",
            "the attribute id text from the state file, quoted",
        ),
        (
            "sim/src/changer.rs",
            "{barcode:?}",
            "the operator's barcode, quoted",
        ),
        (
            "sim/src/layout.rs",
            "{s:?}",
            "the location text from the layout, quoted",
        ),
        (
            "sim/src/layout.rs",
            "{ty:?}",
            "the element type text from the layout, quoted",
        ),
        (
            "sim/src/layout.rs",
            "{addr:?}",
            "the address text from the layout, quoted",
        ),
        (
            "sim/src/layout/parse.rs",
            "{s:?}",
            "the layout's string, quoted",
        ),
        (
            "sim/src/layout/parse.rs",
            "{:?}",
            "the layout's string, quoted",
        ),
        (
            "sim/src/layout/parse.rs",
            "{serial:?}",
            "the layout's serial, quoted",
        ),
        (
            "sim/src/layout/parse.rs",
            "{other:?}",
            "the layout's string, quoted",
        ),
        (
            "sim/src/layout/parse.rs",
            "{n:?}",
            "the layout's command name, quoted",
        ),
        (
            "sim/src/bin/reel-sim.rs",
            "{text:?}",
            "the operator's argument, quoted",
        ),
        (
            "src/fuzzing.rs",
            "{0:?}",
            "fuzz harness only, never shown to users",
        ),
        (
            "src/media/mod.rs",
            "{0:?}",
            "the user's media type name, quoted",
        ),
        (
            "sim/src/media.rs",
            "{0:?}",
            "the offending barcode character, quoted and escaped",
        ),
        (
            "sim/src/iscsi/conn.rs",
            "{:?}",
            "iSCSI Opcode's Debug is its RFC 7143 name or hex",
        ),
        (
            "sim/src/iscsi/initiator.rs",
            "{:?}",
            "iSCSI Opcode's Debug is its RFC 7143 name or hex",
        ),
    ];
    let root = crate::util::repo();
    let mut found = Vec::new();
    for dir in ["src", "sim/src", "hw/src"] {
        scan(&root, &root.join(dir), &mut found);
    }
    let unreviewed: Vec<&(String, usize, String)> = found
        .iter()
        .filter(|(file, _, ph)| !REVIEWED.iter().any(|(f, p, _)| f == file && p == ph))
        .collect();
    assert!(
        unreviewed.is_empty(),
        "Debug formatting in user-facing text (use Display, or review it here): {unreviewed:#?}"
    );
}

/// `(file, line, placeholder)` for each `{…:?}` outside tests, Debug impls and assertions.
fn scan(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, usize, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scan(root, &path, out);
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Test files, and the scripted test transport whose messages are for test authors.
        if !name.ends_with(".rs") || name.ends_with("tests.rs") || name == "script.rs" {
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut in_debug_impl = false;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("#[cfg(test)]") {
                break;
            }
            if t.starts_with("impl") && t.contains("fmt::Debug for") {
                in_debug_impl = true;
            } else if line.starts_with('}') {
                in_debug_impl = false;
            }
            let skip = ["assert", "panic!", "expect(", "debug!", "trace!", "//"];
            if in_debug_impl || skip.iter().any(|s| t.contains(s)) {
                continue;
            }
            let mut rest = line;
            while let Some(start) = rest.find('{') {
                let after = &rest[start..];
                let Some(end) = after.find('}') else { break };
                let ph = &after[..=end];
                let inner = &ph[1..ph.len() - 1];
                let is_debug = (inner.ends_with(":?") || inner.ends_with(":#?"))
                    && inner
                        .trim_end_matches(":#?")
                        .trim_end_matches(":?")
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                if is_debug {
                    out.push((rel.clone(), i + 1, ph.to_owned()));
                }
                rest = &after[1..];
            }
        }
    }
}
