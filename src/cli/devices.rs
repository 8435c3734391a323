//! Turning the device choice of cli.md ("Choosing devices") into a [`DeviceSource`]: sysfs and
//! SG_IO by default, `--device` nodes, the in-process simulator (`--sim LAYOUT [--sim-state]`)
//! or a served one (`--sim-socket`). `reel discover`, `reel move` and `reel serve` share it.

use std::error::Error as StdError;
use std::fmt;

use reel::discovery::moves::{MoveError, MoveRequest, Moved};
use reel::discovery::{DiscoverOptions, DiscoveryError, Inventory};
use reel_hw::linux::{SgSource, Sysfs};
use reel_hw::{AnyTransport, DeviceInfo, DeviceSource};
use reel_sim::client::SocketSource;
use reel_sim::{Layout, SimLibrary, SimSource};

use super::args::DeviceChoice;
use super::output::SenseInfo;
use super::Failure;

/// An error of whichever backend was chosen.
#[derive(Debug)]
pub struct DevicesError(Box<dyn StdError + Send + Sync>);

impl DevicesError {
    fn new(e: impl StdError + Send + Sync + 'static) -> Self {
        DevicesError(Box::new(e))
    }
}

impl fmt::Display for DevicesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for DevicesError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// The chosen backend, as one [`DeviceSource`] whose transports are [`AnyTransport`]s.
#[derive(Debug)]
pub enum Devices {
    /// `/sys/class/scsi_generic` and `/dev/sg*` (also for `--device`).
    Sysfs(SgSource),
    /// `--sim LAYOUT [--sim-state FILE]`: the simulator in this process.
    Sim(SimSource),
    /// `--sim-socket PATH`: a simulator served by `reel-sim serve`.
    Socket(SocketSource),
}

impl DeviceSource for Devices {
    type Transport = AnyTransport;
    type Error = DevicesError;

    fn devices(&mut self) -> Result<Vec<DeviceInfo>, DevicesError> {
        match self {
            Devices::Sysfs(s) => s.devices().map_err(DevicesError::new),
            Devices::Sim(s) => s.devices().map_err(DevicesError::new),
            Devices::Socket(s) => s.devices().map_err(DevicesError::new),
        }
    }

    fn open(&mut self, path: &str) -> Result<AnyTransport, DevicesError> {
        match self {
            Devices::Sysfs(s) => s
                .open(path)
                .map(AnyTransport::new)
                .map_err(DevicesError::new),
            Devices::Sim(s) => s
                .open(path)
                .map(AnyTransport::new)
                .map_err(DevicesError::new),
            Devices::Socket(s) => s
                .open(path)
                .map(AnyTransport::new)
                .map_err(DevicesError::new),
        }
    }
}

/// The chosen devices: the source, and with `--device` the nodes to report.
#[derive(Debug)]
pub struct Chosen {
    /// Where devices come from.
    pub source: Devices,
    /// `--device` nodes (canonical paths); `None` = everything the source lists.
    pub only: Option<Vec<String>>,
}

/// Opens the device choice.
///
/// # Errors
/// A layout that does not load or a simulator socket that does not answer (usage errors for a
/// bad layout file).
pub fn choose(choice: &DeviceChoice) -> Result<Chosen, Failure> {
    if let Some(layout) = &choice.sim {
        let layout = Layout::from_file(layout).map_err(|e| Failure::usage(e.to_string()))?;
        let library = SimLibrary::open(layout, choice.sim_state.as_deref())
            .map_err(|e| Failure::device(e.to_string(), None))?;
        return Ok(Chosen {
            source: Devices::Sim(library.source()),
            only: None,
        });
    }
    if let Some(socket) = &choice.sim_socket {
        let source = SocketSource::connect(socket).map_err(|e| {
            Failure::device(format!("simulator socket {}: {e}", socket.display()), None)
        })?;
        return Ok(Chosen {
            source: Devices::Socket(source),
            only: None,
        });
    }
    let sysfs = || {
        Devices::Sysfs(SgSource::with_sysfs(Sysfs::new(
            choice.sysfs_root.clone(),
            "/dev",
        )))
    };
    if choice.devices.is_empty() {
        return Ok(Chosen {
            source: sysfs(),
            only: None,
        });
    }
    let only = choice
        .devices
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Ok(Chosen {
        source: sysfs(),
        only: Some(only),
    })
}

/// Writes one JSON document on stdout, keeping the members in declaration order.
///
/// # Errors
/// A failed write (a closed pipe is reported as such).
pub fn print_doc<T: serde::Serialize>(doc: &T) -> Result<(), Failure> {
    super::output::write_json(doc)
}

/// Sense as cli.md prints it.
pub(super) fn sense_info(s: &reel_hw::sense::Sense) -> SenseInfo {
    SenseInfo {
        key: s.key.0,
        asc: s.asc,
        ascq: s.ascq,
        text: reel_hw::asc_label(s.asc, s.ascq).into_owned(),
    }
}

/// The cli.md failure for a discovery error.
pub fn failure(e: &DiscoveryError) -> Failure {
    match e {
        DiscoveryError::NotLibraryDevice { .. } => Failure::usage(e.to_string()),
        _ => Failure::device(e.to_string(), e.sense().map(sense_info)),
    }
}

/// Discovers the chosen devices; the inventory's `stats` is always filled.
///
/// # Errors
/// As [`choose`] and [`reel::discovery::discover`], mapped to cli.md failures.
pub fn discover(choice: &DeviceChoice, mut opts: DiscoverOptions) -> Result<Inventory, Failure> {
    let mut chosen = choose(choice)?;
    if opts.only.is_none() {
        opts.only = chosen.only.take();
    }
    reel::discovery::discover(&mut chosen.source, &opts).map_err(|e| failure(&e))
}

/// Moves one cartridge on the chosen devices.
///
/// # Errors
/// Usage errors (exit 2) for elements or changers that do not exist; device errors with their
/// decoded sense.
pub fn move_cartridge(choice: &DeviceChoice, req: &MoveRequest) -> Result<Moved, Failure> {
    let mut chosen = choose(choice)?;
    let req = MoveRequest {
        only: req.only.clone().or(chosen.only.take()),
        ..req.clone()
    };
    reel::discovery::move_cartridge(&mut chosen.source, &req).map_err(|e| match e {
        MoveError::Usage(m) => Failure::usage(m),
        MoveError::NoChanger => Failure::device(e.to_string(), None),
        MoveError::Discovery(d) => failure(&d),
    })
}
