//! The mtx command line, read as mtx 1.3.12 reads it: left to right, one command after another,
//! each taking the number arguments that follow it. Parsing only: nothing here opens a device.
//!
//! - `-f DEV` names the device for the commands after it (it may appear again).
//! - A number argument is recognised only when it starts with a digit (`atoi` of it, so `3x`
//!   is 3); anything else ends the command's arguments and is read as the next command.
//! - A word that is no command, or `-f` without a device, is a usage error at that point: the
//!   commands before it have already run (mtx executes while it parses).

use std::fmt;

/// One command of the mtx dialect (mtx-front.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `inquiry`.
    Inquiry,
    /// `status`.
    Status,
    /// `invert`: turn the cartridge over on the next moves.
    Invert,
    /// `invert2`: EXCHANGE MEDIUM's second inversion.
    Invert2,
    /// `noattach`: accepted, no effect (reel never uses the "attached changer" commands).
    NoAttach,
    /// `eepos N`.
    Eepos,
    /// `load SLOT [DRIVE]`.
    Load,
    /// `unload [SLOT] [DRIVE]`.
    Unload,
    /// `transfer SRC DST`.
    Transfer,
    /// `exchange SRC DST1 [DST2]`.
    Exchange,
    /// `first [DRIVE]`.
    First,
    /// `last [DRIVE]`.
    Last,
    /// `next [DRIVE]`.
    Next,
    /// `previous [DRIVE]`.
    Previous,
    /// `position SLOT`.
    Position,
    /// `inventory`.
    Inventory,
    /// `eject`.
    Eject,
    /// `nobarcode`.
    NoBarcode,
    /// `altres`: accepted, no effect (reel reads each element type on its own anyway).
    AltRes,
    /// `--version`.
    Version,
}

/// Every command: its name, how many number arguments it takes, whether it needs the device
/// and whether it needs the element status (mtx's `command_table`).
const TABLE: &[(&str, Command, usize, bool, bool)] = &[
    ("inquiry", Command::Inquiry, 0, true, false),
    ("status", Command::Status, 0, true, true),
    ("invert", Command::Invert, 0, false, false),
    ("noattach", Command::NoAttach, 0, false, false),
    ("eepos", Command::Eepos, 1, false, false),
    ("load", Command::Load, 2, true, true),
    ("unload", Command::Unload, 2, true, true),
    ("transfer", Command::Transfer, 2, true, true),
    ("first", Command::First, 1, true, true),
    ("last", Command::Last, 1, true, true),
    ("previous", Command::Previous, 1, true, true),
    ("next", Command::Next, 1, true, true),
    ("--version", Command::Version, 0, false, false),
    ("inventory", Command::Inventory, 0, true, false),
    ("eject", Command::Eject, 0, true, false),
    ("nobarcode", Command::NoBarcode, 0, false, false),
    ("position", Command::Position, 1, true, true),
    ("invert2", Command::Invert2, 0, false, false),
    ("exchange", Command::Exchange, 3, true, true),
    ("altres", Command::AltRes, 0, false, false),
];

impl Command {
    fn entry(self) -> &'static (&'static str, Command, usize, bool, bool) {
        TABLE.iter().find(|e| e.1 == self).unwrap_or(&TABLE[0])
    }

    /// The command's word.
    pub fn name(self) -> &'static str {
        self.entry().0
    }

    /// How many number arguments it takes at most.
    pub fn max_args(self) -> usize {
        self.entry().2
    }

    /// It talks to the changer.
    pub fn needs_device(self) -> bool {
        self.entry().3
    }

    /// It needs the element status read first.
    pub fn needs_status(self) -> bool {
        self.entry().4
    }

    /// The command named `word`, exactly (mtx compares with `strcmp`).
    pub fn from_word(word: &str) -> Option<Command> {
        TABLE.iter().find(|e| e.0 == word).map(|e| e.1)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of an mtx command line, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `-f DEV`: use DEV from here on.
    Device(String),
    /// A command with the number arguments that followed it (at most [`Command::max_args`]).
    Run(Command, Vec<u32>),
    /// Not a command (or `-f` with nothing after it): mtx prints its usage and exits 1 here.
    Usage,
}

/// `atoi` of a word that starts with a digit: its leading digits, saturating; `None` for a word
/// that does not start with a digit (mtx's `get_arg`).
pub fn number(word: &str) -> Option<u32> {
    let digits: &str = &word[..word
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(word.len())];
    if digits.is_empty() {
        return None;
    }
    Some(digits.bytes().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    }))
}

/// Reads an mtx command line (without the program name) into its steps. Parsing stops at the
/// first [`Step::Usage`]: mtx exits there.
pub fn parse<S: AsRef<str>>(args: &[S]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let word = args[i].as_ref();
        if word == "-f" {
            match args.get(i + 1) {
                Some(dev) => steps.push(Step::Device(dev.as_ref().to_owned())),
                None => {
                    steps.push(Step::Usage);
                    return steps;
                }
            }
            i += 2;
            continue;
        }
        let Some(cmd) = Command::from_word(word) else {
            steps.push(Step::Usage);
            return steps;
        };
        i += 1;
        let mut numbers = Vec::new();
        while numbers.len() < cmd.max_args() {
            match args.get(i).and_then(|w| number(w.as_ref())) {
                Some(n) => {
                    numbers.push(n);
                    i += 1;
                }
                None => break,
            }
        }
        steps.push(Step::Run(cmd, numbers));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use Command::*;

    fn run(c: Command, n: &[u32]) -> Step {
        Step::Run(c, n.to_vec())
    }

    #[test]
    fn command_lines_read_as_mtx_reads_them() {
        let cases: &[(&[&str], &[Step])] = &[
            (&["status"], &[run(Status, &[])]),
            (
                &["-f", "/dev/sg3", "status"],
                &[Step::Device("/dev/sg3".into()), run(Status, &[])],
            ),
            // Several commands, run in order.
            (
                &["-f", "/dev/sg3", "unload", "3", "0", "load", "4", "0"],
                &[
                    Step::Device("/dev/sg3".into()),
                    run(Unload, &[3, 0]),
                    run(Load, &[4, 0]),
                ],
            ),
            // Numbers only when they start with a digit; `3x` is 3 (atoi).
            (&["load", "3x", "-1"], &[run(Load, &[3]), Step::Usage]),
            (&["unload", "status"], &[run(Unload, &[]), run(Status, &[])]),
            (&["load", "1", "2", "3"], &[run(Load, &[1, 2]), Step::Usage]),
            (&["exchange", "1", "2", "3"], &[run(Exchange, &[1, 2, 3])]),
            (
                &["next", "1", "status"],
                &[run(Next, &[1]), run(Status, &[])],
            ),
            (
                &["nobarcode", "status"],
                &[run(NoBarcode, &[]), run(Status, &[])],
            ),
            (
                &["eepos", "2", "transfer", "1", "2"],
                &[run(Eepos, &[2]), run(Transfer, &[1, 2])],
            ),
            // Usage stops the line where it happens.
            (
                &["status", "bogus", "status"],
                &[run(Status, &[]), Step::Usage],
            ),
            (&["-f"], &[Step::Usage]),
            (&["STATUS"], &[Step::Usage]),
            (&["--version"], &[run(Version, &[])]),
            (&[], &[]),
        ];
        for (argv, want) in cases {
            assert_eq!(parse(argv), *want, "{argv:?}");
        }
    }

    #[test]
    fn numbers_are_atoi_of_a_leading_digit() {
        let cases = [
            ("0", Some(0)),
            ("12", Some(12)),
            ("7abc", Some(7)),
            ("", None),
            ("-1", None),
            ("+1", None),
            (" 1", None),
            ("99999999999999", Some(u32::MAX)),
        ];
        for (w, want) in cases {
            assert_eq!(number(w), want, "{w:?}");
        }
    }

    #[test]
    fn the_table_covers_every_command_once() {
        for e in TABLE {
            assert_eq!(Command::from_word(e.0), Some(e.1));
            assert_eq!(e.1.name(), e.0);
        }
        assert_eq!(Load.max_args(), 2);
        assert!(Status.needs_status() && !Inquiry.needs_status() && Inquiry.needs_device());
    }
}
