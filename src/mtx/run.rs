//! Runs an mtx command line step by step, as mtx 1.3.12's `parse_args` and `execute_command`
//! do: a device is opened at `-f` (or at the first command that needs one), the element status
//! is read before the first command that needs it and kept up to date by the moves, and the
//! first fatal error ends the run with exit status 1.

use std::io::Write;

use super::args::{Command, Step};
use super::library::{Exchange, Library, LibraryError, Move, ViewError};
use super::sense;
use super::status;
use super::view::{Empty, View};

/// mtx's usage text (stderr, exit 1), byte for byte.
pub const USAGE: &str = "Usage:
\tmtx --version
\tmtx [ -f <loader-dev> ] noattach <more commands>
\tmtx [ -f <loader-dev> ] inquiry | inventory 
\tmtx [ -f <loader-dev> ] [altres] [nobarcode] status
\tmtx [ -f <loader-dev> ] [altres] first [<drive#>]
\tmtx [ -f <loader-dev> ] [altres] last [<drive#>]
\tmtx [ -f <loader-dev> ] [altres] previous [<drive#>]
\tmtx [ -f <loader-dev> ] [altres] next [<drive#>]
\tmtx [ -f <loader-dev> ] [altres] [invert] load <storage-element-number> [<drive#>]
\tmtx [ -f <loader-dev> ] [altres] [invert] unload [<storage-element-number>][<drive#>]
\tmtx [ -f <loader-dev> ] [altres] [eepos eepos-number] transfer <storage-element-number> <storage-element-number>
\tmtx [ -f <loader-dev> ] [altres] [eepos eepos-number][invert][invert2] exchange <storage-element-number> <storage-element-number>
\tmtx [ -f <loader-dev> ] [altres] position <storage-element-number>
\tmtx [ -f <loader-dev> ] eject
";

/// The mtx version this front speaks.
pub const MTX_VERSION: &str = "1.3.12";

/// mtx's names of the peripheral device types (`inquiry`'s `Product Type`).
const DEVICE_TYPES: [&str; 32] = [
    "Disk Drive",
    "Tape Drive",
    "Printer",
    "Processor",
    "Write-once",
    "CD-ROM",
    "Scanner",
    "Optical",
    "Medium Changer",
    "Communications",
    "ASC IT8",
    "ASC IT8",
    "RAID Array",
    "Enclosure Services",
    "RBC Simplified Disk",
    "OCR/W",
    "Bridging Expander",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Unknown",
];

/// Opens the library a device name stands for.
pub trait Opener {
    /// The library behind `dev` (a `/dev/sg*` node, `sim:LAYOUT`, `sim-socket:PATH`, …).
    ///
    /// # Errors
    /// Why it cannot be opened (mtx prints `cannot open SCSI device 'DEV' - REASON`).
    fn open(&mut self, dev: &str) -> Result<Box<dyn Library>, String>;
}

/// Where the run writes, and the name its messages start with.
pub struct Output<'a> {
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
    /// The program's name (`mtx`): messages read `NAME: MESSAGE`.
    pub name: &'a str,
}

impl std::fmt::Debug for Output<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output").field("name", &self.name).finish()
    }
}

impl Output<'_> {
    fn out(&mut self, s: &str) {
        let _ = self.stdout.write_all(s.as_bytes());
        let _ = self.stdout.flush();
    }

    fn err(&mut self, s: &str) {
        // What went to stdout first comes first when both go to one pipe (Amanda).
        let _ = self.stdout.flush();
        let _ = self.stderr.write_all(s.as_bytes());
        let _ = self.stderr.flush();
    }

    fn message(&mut self, m: &str) {
        let line = format!("{}: {m}\n", self.name);
        self.err(&line);
    }

    fn warn(&mut self, warnings: Vec<String>) {
        for w in warnings {
            self.message(&format!("warning: {w}"));
        }
    }
}

/// Why a run stopped early.
#[derive(Debug)]
enum Stop {
    /// A fatal error: what to print (the request-sense block first, when there is one).
    Fatal {
        sense: Option<String>,
        detail: Option<String>,
        message: String,
    },
    /// A line printed as it is (mtx's `mtx:inventory failed`), exit 1.
    Raw(String),
    /// The usage text (exit 1).
    Usage,
}

fn fatal(message: impl Into<String>) -> Stop {
    Stop::Fatal {
        sense: None,
        detail: None,
        message: message.into(),
    }
}

/// A failed command: the request-sense block for a CHECK CONDITION, else the failure itself
/// on a line of its own, then mtx's message.
fn failed(e: &LibraryError, message: String) -> Stop {
    Stop::Fatal {
        sense: e.sense().map(sense::block),
        detail: match e {
            LibraryError::Check { .. } => None,
            LibraryError::Other(d) => Some(d.clone()),
        },
        message,
    }
}

/// The environment the run reads (`$CHANGER`, `$TAPE`).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The state of one run.
struct Run<'a, 'o> {
    opener: &'a mut dyn Opener,
    env: Env<'a>,
    out: &'a mut Output<'o>,
    device: Option<String>,
    library: Option<Box<dyn Library>>,
    view: Option<View>,
    barcodes: bool,
    invert: bool,
    invert2: bool,
    eepos: u8,
}

/// Runs `steps` and returns the exit status (0 or 1).
pub fn run(steps: &[Step], opener: &mut dyn Opener, env: Env<'_>, out: &mut Output<'_>) -> u8 {
    let mut r = Run {
        opener,
        env,
        out,
        device: None,
        library: None,
        view: None,
        barcodes: true,
        invert: false,
        invert2: false,
        eepos: 0,
    };
    for step in steps {
        let result = match step {
            Step::Device(dev) => r.open(dev.clone()),
            Step::Run(cmd, args) => r.command(*cmd, args),
            Step::Usage => Err(Stop::Usage),
        };
        if let Err(stop) = result {
            r.stop(stop);
            return 1;
        }
    }
    0
}

impl Run<'_, '_> {
    fn stop(&mut self, stop: Stop) {
        match stop {
            Stop::Fatal {
                sense,
                detail,
                message,
            } => {
                if let Some(block) = sense {
                    self.out.err(&block);
                }
                if let Some(d) = detail {
                    self.out.message(&d);
                }
                self.out.message(&message);
            }
            Stop::Raw(line) => self.out.err(&line),
            Stop::Usage => self.out.err(USAGE),
        }
    }

    fn open(&mut self, dev: String) -> Result<(), Stop> {
        self.library = None;
        self.view = None;
        let lib = self
            .opener
            .open(&dev)
            .map_err(|reason| fatal(format!("cannot open SCSI device '{dev}' - {reason}")))?;
        self.library = Some(lib);
        self.device = Some(dev);
        Ok(())
    }

    fn library(&mut self) -> Result<&mut dyn Library, Stop> {
        if self.library.is_none() {
            let dev = (self.env)("CHANGER")
                .or_else(|| (self.env)("TAPE"))
                .unwrap_or_else(|| "/dev/changer".to_owned());
            self.open(dev)?;
        }
        match self.library.as_deref_mut() {
            Some(l) => Ok(l),
            None => Err(fatal("No Media Changer Device Specified")),
        }
    }

    fn read_view(&mut self) -> Result<View, Stop> {
        let barcodes = self.barcodes;
        self.library()?.view(barcodes).map_err(|e| match e {
            ViewError::Library(e) => failed(&e, "READ ELEMENT STATUS Command Failed".into()),
            ViewError::Empty(Empty::NoDrives) => fatal("no Data Transfer Element reported"),
            ViewError::Empty(Empty::NoSlots) => fatal("no Storage Elements reported"),
        })
    }

    fn view(&mut self) -> Result<&mut View, Stop> {
        if self.view.is_none() {
            self.view = Some(self.read_view()?);
        }
        self.view.as_mut().ok_or_else(|| fatal("no element status"))
    }

    fn command(&mut self, cmd: Command, args: &[u32]) -> Result<(), Stop> {
        let a = |i: usize| args.get(i).copied();
        if cmd.needs_device() {
            self.library()?;
        }
        if cmd.needs_status() && cmd != Command::Status {
            self.view()?;
        }
        match cmd {
            Command::Status => {
                let view = self.read_view()?;
                let dev = self.device.clone().unwrap_or_default();
                self.out.out(&status::render(&dev, &view, self.barcodes));
                self.view = Some(view);
                Ok(())
            }
            Command::Inquiry => self.inquiry(),
            Command::Load => self.load(a(0), a(1)),
            Command::Unload => self.unload(a(0), a(1)),
            Command::Transfer => self.transfer(a(0), a(1)),
            Command::Exchange => self.exchange(a(0), a(1), a(2)),
            Command::First => self.first(a(0)),
            Command::Last => self.last(a(0)),
            Command::Next => self.next(a(0)),
            Command::Previous => self.previous(a(0)),
            Command::Position => self.position(a(0)),
            Command::Inventory => {
                self.library()?
                    .initialize()
                    .map_err(|_| Stop::Raw("mtx:inventory failed\n".into()))?;
                // What the changer found is read again by the next command that needs it.
                self.view = None;
                Ok(())
            }
            Command::Eject => {
                if let Err(e) = self.library()?.eject() {
                    // As mtx: reported, and the run goes on with exit status 0.
                    let mut text = e.sense().map(sense::block).unwrap_or_default();
                    if e.sense().is_none() {
                        text.push_str(&format!("{}: {e}\n", self.out.name));
                    }
                    text.push_str("Eject (0x1B) failed\nmtx:eject failed\n");
                    self.out.err(&text);
                }
                Ok(())
            }
            Command::NoBarcode => {
                self.barcodes = false;
                Ok(())
            }
            Command::Invert => {
                self.invert = true;
                Ok(())
            }
            Command::Invert2 => {
                self.invert2 = true;
                Ok(())
            }
            Command::Eepos => match a(0) {
                Some(n @ 0..=3) => {
                    self.eepos = n as u8;
                    Ok(())
                }
                _ => Err(fatal("eepos equires argument between 0 and 3.")),
            },
            Command::NoAttach | Command::AltRes => Ok(()),
            Command::Version => {
                self.out.err(&format!(
                    "mtx version {MTX_VERSION} (reel {})\n\n",
                    env!("CARGO_PKG_VERSION")
                ));
                Err(Stop::Usage)
            }
        }
    }

    fn inquiry(&mut self) -> Result<(), Stop> {
        let i = self
            .library()?
            .inquiry()
            .map_err(|e| failed(&e, "INQUIRY Command Failed".into()))?;
        let mut text: Vec<u8> = Vec::with_capacity(160);
        text.extend_from_slice(b"Product Type: ");
        text.extend_from_slice(DEVICE_TYPES[usize::from(i.peripheral_type & 0x1F)].as_bytes());
        text.extend_from_slice(b"\nVendor ID: '");
        text.extend_from_slice(&i.vendor);
        text.extend_from_slice(b"'\nProduct ID: '");
        text.extend_from_slice(&i.product);
        text.extend_from_slice(b"'\nRevision: '");
        text.extend_from_slice(&i.revision);
        text.extend_from_slice(b"'\nAttached Changer API: ");
        text.extend_from_slice(if i.attached_changer {
            b"Yes\n"
        } else {
            b"No\n"
        });
        let _ = self.out.stdout.write_all(&text);
        let _ = self.out.stdout.flush();
        Ok(())
    }

    /// One MOVE MEDIUM, its failures worded as mtx's `Move()` words them.
    fn move_medium(&mut self, from: u16, to: u16) -> Result<(), Stop> {
        let transport = self.view()?.transport;
        let m = Move {
            transport,
            from,
            to,
            invert: self.invert,
            eepos: self.eepos,
        };
        self.library()?
            .move_medium(&m)
            .map_err(|e| move_failure(&e, "MOVE MEDIUM", from, to))?;
        self.view()?.moved(from, to);
        Ok(())
    }

    fn load(&mut self, slot: Option<u32>, drive: Option<u32>) -> Result<(), Stop> {
        let slot = match slot {
            Some(s) if s >= 1 => s,
            _ => return Err(fatal("No source specified")),
        };
        let drive = drive.unwrap_or(0);
        let view = self.view()?;
        let Some(s) = usize::try_from(slot - 1)
            .ok()
            .and_then(|i| view.slots.get(i))
        else {
            return Err(fatal(format!(
                "Invalid <storage-element-number> argument '{slot}' to 'load' command"
            )));
        };
        let Some(d) = usize::try_from(drive).ok().and_then(|i| view.drives.get(i)) else {
            return Err(fatal(format!(
                "illegal <drive-number> argument '{drive}' to 'load' command"
            )));
        };
        if d.full {
            return Err(fatal(format!(
                "Drive {drive} Full (Storage Element {} loaded)",
                d.source.map_or(0, |i| i + 1)
            )));
        }
        let (from, to) = (s.address, d.address);
        let warnings = self.library()?.check_load(from, to);
        self.out.warn(warnings);
        self.out.out(&format!(
            "Loading media from Storage Element {slot} into drive {drive}..."
        ));
        self.move_medium(from, to)?;
        self.out.out("done\n");
        Ok(())
    }

    fn unload(&mut self, slot: Option<u32>, drive: Option<u32>) -> Result<(), Stop> {
        let drive = drive.unwrap_or(0);
        let view = self.view()?;
        let drive_index = usize::try_from(drive)
            .ok()
            .filter(|&i| i < view.drives.len());
        let index = match slot {
            Some(s) => usize::try_from(s)
                .ok()
                .and_then(|s| s.checked_sub(1))
                .filter(|&i| i < view.slots.len())
                .ok_or_else(|| {
                    fatal(format!(
                        "illegal <storage-element-number> argument '{s}' to 'unload' command"
                    ))
                })?,
            None => {
                let source = drive_index.and_then(|i| view.drives[i].source);
                match (drive_index, source) {
                    (Some(_), Some(i)) => i,
                    (None, _) => {
                        return Err(fatal(format!(
                            "illegal <drive-number> argument '{drive}' to 'unload' command"
                        )))
                    }
                    (Some(_), None) => {
                        return Err(fatal(format!("No Source for tape in drive {drive}!")))
                    }
                }
            }
        };
        let Some(di) = drive_index else {
            return Err(fatal(format!(
                "illegal <drive-number> argument '{drive}' to 'unload' command"
            )));
        };
        let d = &view.drives[di];
        if !d.full {
            return Err(fatal(format!("Data Transfer Element {drive} is Empty")));
        }
        let s = &view.slots[index];
        if s.full {
            return Err(fatal(format!(
                "Storage Element {} is Already Full",
                index + 1
            )));
        }
        let (from, to) = (d.address, s.address);
        self.out.out(&format!(
            "Unloading drive {drive} into Storage Element {}...",
            index + 1
        ));
        let warnings = self.library()?.unload_drive(from);
        self.out.warn(warnings);
        self.move_medium(from, to)?;
        self.out.out("done\n");
        Ok(())
    }

    /// The addresses of slots `src` and `dst` (1-based) after mtx's checks of `transfer` and
    /// `exchange`.
    fn two_slots(&mut self, src: Option<u32>, dst: Option<u32>) -> Result<(u16, u16), Stop> {
        let src = src
            .filter(|&s| s >= 1)
            .ok_or_else(|| fatal("No source specified"))?;
        let dst = dst
            .filter(|&s| s >= 1)
            .ok_or_else(|| fatal("No destination specified"))?;
        let view = self.view()?;
        let at = |n: u32| {
            usize::try_from(n - 1)
                .ok()
                .and_then(|i| view.slots.get(i))
                .map(|s| s.address)
        };
        let from = at(src).ok_or_else(|| fatal("Invalid source"))?;
        let to = at(dst).ok_or_else(|| fatal("Invalid destination"))?;
        Ok((from, to))
    }

    fn transfer(&mut self, src: Option<u32>, dst: Option<u32>) -> Result<(), Stop> {
        let (from, to) = self.two_slots(src, dst)?;
        self.move_medium(from, to)
    }

    fn exchange(&mut self, src: Option<u32>, d1: Option<u32>, d2: Option<u32>) -> Result<(), Stop> {
        let (source, first) = self.two_slots(src, d1)?;
        let second = match d2 {
            None => source,
            Some(n) => self.two_slots(src, Some(n))?.1,
        };
        let x = Exchange {
            transport: self.view()?.transport,
            source,
            first,
            second,
            invert_first: self.invert2,
            invert_second: self.invert,
            eepos: self.eepos,
        };
        self.library()?
            .exchange_medium(&x)
            .map_err(|e| move_failure(&e, "EXCHANGE MEDIUM", source, first))?;
        // Two cartridges moved: read the library again when a later command needs it.
        self.view = None;
        Ok(())
    }

    fn drive_number(&mut self, drive: Option<u32>) -> Result<u32, Stop> {
        let count = self.view()?.drives.len();
        Ok(drive
            .filter(|&d| usize::try_from(d).is_ok_and(|d| d < count))
            .unwrap_or(0))
    }

    /// The loaded drive's source slot (1-based), or `None` when the drive is empty.
    fn loaded_from(&mut self, drive: u32) -> Result<Option<Option<u32>>, Stop> {
        let d = &self.view()?.drives[drive as usize];
        Ok(d.full
            .then(|| d.source.and_then(|i| u32::try_from(i + 1).ok())))
    }

    fn first(&mut self, drive: Option<u32>) -> Result<(), Stop> {
        let drive = self.drive_number(drive)?;
        if let Some(source) = self.loaded_from(drive)? {
            if source == Some(1) {
                self.out.out("loading...done.\n");
                return Ok(());
            }
            self.unload(source, Some(drive))?;
        }
        self.load(Some(1), Some(drive))
    }

    fn last(&mut self, drive: Option<u32>) -> Result<(), Stop> {
        let drive = self.drive_number(drive)?;
        let last = u32::try_from(self.view()?.storage_count()).unwrap_or(u32::MAX);
        if let Some(source) = self.loaded_from(drive)? {
            if source.is_some_and(|s| s >= last) {
                self.out.out("loading...done.\n");
                return Ok(());
            }
            self.unload(source, Some(drive))?;
        }
        self.load(Some(last), Some(drive))
    }

    fn next(&mut self, drive: Option<u32>) -> Result<(), Stop> {
        let drive = self.drive_number(drive)?;
        let mut start = 0usize;
        if let Some(source) = self.loaded_from(drive)? {
            // The slot after the one the cartridge goes back to.
            start = source.map_or(0, |s| s as usize);
            self.unload(source, Some(drive))?;
        }
        let view = self.view()?;
        let storage = view.storage_count();
        match (start..storage).find(|&i| view.slots[i].full) {
            Some(i) => self.load(u32::try_from(i + 1).ok(), Some(drive)),
            None => Err(fatal("No More Media")),
        }
    }

    fn previous(&mut self, drive: Option<u32>) -> Result<(), Stop> {
        let drive = self.drive_number(drive)?;
        let mut below = self.view()?.storage_count();
        if let Some(source) = self.loaded_from(drive)? {
            if source == Some(1) {
                return Err(fatal("No More Media"));
            }
            below = source.map_or(0, |s| s as usize - 1);
            self.unload(source, Some(drive))?;
        }
        let view = self.view()?;
        match (0..below).rev().find(|&i| view.slots[i].full) {
            Some(i) => self.load(u32::try_from(i + 1).ok(), Some(drive)),
            None => Err(fatal("No More Media")),
        }
    }

    fn position(&mut self, slot: Option<u32>) -> Result<(), Stop> {
        let invert = self.invert;
        let view = self.view()?;
        let index = slot
            .and_then(|s| usize::try_from(s).ok())
            .and_then(|s| s.checked_sub(1))
            .filter(|&i| i < view.slots.len())
            .unwrap_or(0);
        let (transport, to) = (view.transport, view.slots[index].address);
        self.library()?
            .position(transport, to, invert)
            .map_err(|_| fatal("Could not position transport"))
    }
}

/// A failed MOVE MEDIUM or EXCHANGE MEDIUM in mtx's words (mtx-front.md §4).
fn move_failure(e: &LibraryError, op: &str, from: u16, to: u16) -> Stop {
    match e.code() {
        Some((0x30, 0x03)) => fatal("Cleaning Cartridge Installed and Ejected"),
        Some((0x3A, 0x00)) => fatal("Drive needs offline before move"),
        Some((0x3B, 0x0D)) => fatal(format!("Destination Element Address {to} is Already Full")),
        Some((0x3B, 0x0E)) => fatal(format!("Source Element Address {from} is Empty")),
        _ => failed(
            e,
            format!("{op} from Element Address {from} to {to} Failed"),
        ),
    }
}
