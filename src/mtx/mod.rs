//! The mtx-compatible front (`shared/spec/mtx-front.md`): `reel mtx …`, and the same binary run
//! under the name `mtx`, speak mtx 1.3.12's dialect byte for byte, so Bacula's and Bareos'
//! `mtx-changer`, Amanda's `chg-robot` and site scripts drive reel unchanged.
//!
//! ```text
//! argv ─ args::parse ─ Steps ─ run::run ─┬─ Library (trait) ─ device::DeviceLibrary (Changer, Drive, discovery)
//!                                        │                  └ daemon::DaemonLibrary (reel serve owns the changer)
//!                                        └─ view::View (mtx's numbering) ─ status::render / sense::block
//! ```
//!
//! What it is not: a second discovery or a second move logic. The element status comes from
//! [`crate::changer::Changer::status`], moves from the drivers or from the daemon.
//!
//! Decisions where the spec and mtx are silent or where mtx is wrong [design]:
//! - DEV `sim:LAYOUT` opens the layout in this process, its cartridge positions kept in
//!   `$REEL_SIM_STATE` when set (else every run starts from the layout); `sim-socket:PATH` is a
//!   simulator served by `reel-sim serve --socket PATH`. Anything else is a device node.
//! - `status` reads the library every time it is given; the other commands read it once per
//!   device (as mtx) and keep it up to date after each move, the drive's source slot included
//!   (mtx forgets it until the next run).
//! - A drive's source slot: mtx's two passes (see [`view`]), with the daemon's record of a
//!   cartridge's home first when the daemon carries the command; mtx's pass-2 guess never hands
//!   one empty slot to two drives.
//! - `unload 0` is an illegal slot number (mtx reads memory before its arrays). `previous` on an
//!   empty drive searches down from the last storage slot (mtx starts at the first import/export
//!   slot); `first`, `last`, `next` and `previous` on a drive whose source is unknown stop with
//!   `No Source for tape in drive D!` (mtx unloads into an invented slot 0).
//! - Moves out of a drive send LOAD UNLOAD to the drive first when its device is known; a
//!   failure of that is a warning, and MOVE MEDIUM then decides (3A/00 gives mtx's `Drive needs
//!   offline before move`). A load into a drive that does not read the cartridge's media type
//!   moves anyway (mtx does) after a warning on stderr (`mtx: warning: …`).
//! - Fatal messages are `NAME: MESSAGE` with NAME `mtx` (argv[0]'s file name); mtx's own
//!   fixed lines (`mtx:inventory failed`, `Eject (0x1B) failed`, `mtx:eject failed`, the
//!   request-sense block's `mtx: Request Sense: …`) are printed as mtx prints them. A failure
//!   without sense (the transport, the daemon) gets its own `NAME: …` line before mtx's
//!   message.
//! - `--version` prints `mtx version 1.3.12 (reel X.Y.Z)` and the usage on stderr, exit 1, as
//!   mtx does; only `reel mtx --version` (or `--help`) alone is answered by reel's command line,
//!   as for every reel subcommand. `altres` and `noattach` are accepted and change nothing (reel reads each element
//!   type on its own and never uses the attached-changer commands). `erase` (a tape-drive
//!   command mtx carries) is not part of the dialect: usage.

pub mod args;
pub mod daemon;
pub mod device;
pub mod library;
pub mod run;
pub mod sense;
pub mod status;
pub mod view;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::Path;

use reel_hw::linux::SgSource;
use reel_hw::DeviceSource;
use reel_sim::client::SocketSource;
use reel_sim::{Layout, SimLibrary};

use device::{changer_path, DeviceLibrary};
use library::Library;
use run::{Opener, Output};

/// The DEV prefix of an in-process simulator: `sim:LAYOUT.toml`.
pub const SIM_PREFIX: &str = "sim:";
/// The DEV prefix of a served simulator: `sim-socket:PATH`.
pub const SIM_SOCKET_PREFIX: &str = "sim-socket:";
/// Where `sim:` keeps cartridge positions between runs.
pub const SIM_STATE_ENV: &str = "REEL_SIM_STATE";

/// Opens DEV: through the daemon when `reel serve` owns its changer, else straight to the
/// devices.
#[derive(Debug, Default)]
pub struct DeviceOpener {
    /// `$REEL_SIM_STATE`.
    pub sim_state: Option<std::path::PathBuf>,
    /// The daemon's socket (`$REEL_SOCKET`, else [`daemon::DEFAULT_SOCKET`]); `None`: never
    /// ask a daemon.
    pub socket: Option<std::path::PathBuf>,
}

impl DeviceOpener {
    fn through_daemon(&self, id: &daemon::Identity) -> Option<Box<dyn Library>> {
        let socket = self.socket.as_deref()?;
        daemon::find(socket, id).map(|d| Box::new(d) as Box<dyn Library>)
    }
}

impl Opener for DeviceOpener {
    fn open(&mut self, dev: &str) -> Result<Box<dyn Library>, String> {
        if let Some(layout) = dev.strip_prefix(SIM_PREFIX) {
            let layout = Layout::from_file(Path::new(layout)).map_err(|e| e.to_string())?;
            let id = daemon::Identity {
                path: None,
                serial: Some(layout.changer.serial.clone()),
            };
            if let Some(d) = self.through_daemon(&id) {
                return Ok(d);
            }
            let sim =
                SimLibrary::open(layout, self.sim_state.as_deref()).map_err(|e| e.to_string())?;
            let mut source = sim.source();
            let path = changer_path(&mut source)?;
            return Ok(Box::new(DeviceLibrary::open(source, &path, None)?));
        }
        if let Some(socket) = dev.strip_prefix(SIM_SOCKET_PREFIX) {
            let mut source = SocketSource::connect(Path::new(socket)).map_err(|e| e.to_string())?;
            let changer = source
                .devices()
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|d| d.peripheral_type == reel_hw::PeripheralType::MEDIUM_CHANGER)
                .ok_or("no medium changer there")?;
            let id = daemon::Identity {
                path: None,
                serial: changer.serial.clone(),
            };
            if let Some(d) = self.through_daemon(&id) {
                return Ok(d);
            }
            return Ok(Box::new(DeviceLibrary::open(source, &changer.path, None)?));
        }
        // A node (maybe a link such as /dev/changer): discovery knows it by its real path.
        let real = std::fs::canonicalize(dev)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| dev.to_owned());
        if let Some(d) = self.through_daemon(&daemon::node_identity(&real)) {
            return Ok(d);
        }
        Ok(Box::new(DeviceLibrary::open(
            SgSource::new(),
            &real,
            Some(vec![real.clone()]),
        )?))
    }
}

/// Runs the mtx front with `args` (without the program name), messages prefixed with `name`;
/// returns the exit status.
pub fn main(name: &str, args: &[String]) -> u8 {
    let steps = args::parse(args);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut opener = DeviceOpener {
        sim_state: env(SIM_STATE_ENV).map(Into::into),
        socket: Some(
            env("REEL_SOCKET")
                .unwrap_or_else(|| daemon::DEFAULT_SOCKET.to_owned())
                .into(),
        ),
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut so = stdout.lock();
    let mut se = stderr.lock();
    let mut out = Output {
        stdout: &mut so,
        stderr: &mut se,
        name,
    };
    let code = run::run(&steps, &mut opener, &env, &mut out);
    let _ = so.flush();
    code
}

/// `reel mtx --install-link DIR`: creates `DIR/mtx`, a symbolic link to the running binary.
///
/// # Errors
/// When the binary's path is unknown or the link cannot be made (an existing `DIR/mtx` that is
/// not already this link is left alone and reported).
pub fn install_link(dir: &Path) -> Result<std::path::PathBuf, String> {
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot find the reel binary: {e}"))?;
    let link = dir.join("mtx");
    if let Ok(existing) = std::fs::read_link(&link) {
        if existing == exe {
            return Ok(link);
        }
    }
    if link.symlink_metadata().is_ok() {
        return Err(format!(
            "{} exists already; remove it first if it should run reel's mtx front",
            link.display()
        ));
    }
    std::os::unix::fs::symlink(&exe, &link)
        .map_err(|e| format!("cannot create {}: {e}", link.display()))?;
    Ok(link)
}
