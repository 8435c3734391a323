//! The mtx front straight to the devices: [`Changer`] for every changer command, [`Drive`] for
//! the LOAD UNLOAD before a cartridge leaves a drive, and discovery to pair drive elements with
//! drive devices and to learn the media types a drive reads.

use std::time::Duration;

use reel_hw::{DeviceSource, PeripheralType};

use super::library::{Exchange, Inquiry, Library, LibraryError, Move, ViewError};
use super::view::{NoHomes, View};
use crate::changer::Changer;
use crate::discovery::{self, DiscoverOptions, Inventory, Library as Found};
use crate::drive::Drive;
use crate::media::MediumClass;
use crate::scsi::exec::{Executor, RetryPolicy};
use crate::scsi::{exchange_medium, inquiry, move_medium};

/// mtx's `eject`: START STOP UNIT (0x1B) with LOEJ set and START clear.
const EJECT_CDB: [u8; 6] = [0x1B, 0, 0, 0, 0x02, 0];

/// A library reached through a [`DeviceSource`]: its changer at one path.
#[derive(Debug)]
pub struct DeviceLibrary<S: DeviceSource> {
    source: S,
    changer: Changer<S::Transport>,
    path: String,
    only: Option<Vec<String>>,
    /// For the commands [`Changer`] has no method for (raw INQUIRY, eject, eepos moves).
    exec: Executor,
}

impl<S: DeviceSource> DeviceLibrary<S> {
    /// Opens the changer at `path` in `source`; `only` limits discovery to these nodes (the
    /// changer's drives are still found).
    ///
    /// # Errors
    /// Why the device cannot be opened.
    pub fn open(mut source: S, path: &str, only: Option<Vec<String>>) -> Result<Self, String> {
        let t = source.open(path).map_err(|e| e.to_string())?;
        Ok(DeviceLibrary {
            source,
            changer: Changer::new(t),
            path: path.to_owned(),
            only,
            exec: Executor::new(RetryPolicy::default())
                .for_device_type(PeripheralType::MEDIUM_CHANGER),
        })
    }

    fn no_data(&mut self, cdb: &[u8], timeout: Duration) -> Result<(), LibraryError> {
        Ok(self
            .exec
            .no_data(self.changer.transport_mut(), cdb, timeout)?)
    }

    /// Discovery of this changer's library: drives paired with their devices, media types.
    fn discover(&mut self) -> Result<Found, String> {
        let opts = DiscoverOptions {
            only: self.only.clone(),
            ..DiscoverOptions::default()
        };
        let inv: Inventory =
            discovery::discover(&mut self.source, &opts).map_err(|e| e.to_string())?;
        let path = self.path.clone();
        let mut libs = inv.libraries;
        match libs.iter().position(|l| l.changer.path == path) {
            Some(i) => Ok(libs.swap_remove(i)),
            None if libs.len() == 1 => Ok(libs.remove(0)),
            None => Err(format!("discovery did not find the changer {path}")),
        }
    }
}

impl<S: DeviceSource> Library for DeviceLibrary<S> {
    fn view(&mut self, barcodes: bool) -> Result<View, ViewError> {
        let map = self.changer.element_map().map_err(LibraryError::from)?;
        let status = self
            .changer
            .status(&map, barcodes)
            .map_err(LibraryError::from)?;
        let transport = if map.transport.count > 0 {
            map.transport.first
        } else {
            0
        };
        View::new(&status, transport, &NoHomes).map_err(ViewError::Empty)
    }

    fn inquiry(&mut self) -> Result<Inquiry, LibraryError> {
        let len = inquiry::STANDARD_LEN;
        let cdb = inquiry::standard_cdb(len);
        let mut buf = vec![0u8; usize::from(len)];
        let n = self.exec.read(
            self.changer.transport_mut(),
            &cdb,
            &mut buf,
            inquiry::TIMEOUT,
        )?;
        buf.truncate(n);
        Inquiry::from_bytes(&buf).ok_or_else(|| {
            LibraryError::Other(format!(
                "INQUIRY on {}: {n} bytes of standard data, 36 needed",
                self.path
            ))
        })
    }

    fn check_load(&mut self, from: u16, drive: u16) -> Vec<String> {
        let lib = match self.discover() {
            Ok(l) => l,
            Err(e) => {
                return vec![format!(
                    "cannot tell whether drive element {drive} reads the cartridge at element \
                     {from}: {e}"
                )]
            }
        };
        load_warnings(&lib, from, drive)
    }

    fn unload_drive(&mut self, drive: u16) -> Vec<String> {
        let lib = match self.discover() {
            Ok(l) => l,
            Err(e) => {
                return vec![format!(
                    "drive element {drive}: cannot find its drive device ({e}); moving without \
                     unloading it first"
                )]
            }
        };
        let device = lib
            .drives
            .iter()
            .find(|d| d.element.address == drive)
            .and_then(|d| d.device.as_ref())
            .map(|d| d.path.clone());
        let Some(path) = device else {
            return vec![format!(
                "drive element {drive}: its drive device is not known; moving without unloading \
                 it first"
            )];
        };
        let t = match self.source.open(&path) {
            Ok(t) => t,
            Err(e) => {
                return vec![format!(
                    "cannot open drive {path} to unload it ({e}); moving anyway"
                )]
            }
        };
        match Drive::new(t).unload(false) {
            Ok(()) => Vec::new(),
            // NOT READY, medium not present: nothing threaded; the changer can take it.
            Err(e) if e.sense().is_some_and(|s| s.key.0 == 0x2 && s.asc == 0x3A) => Vec::new(),
            Err(e) => vec![format!("{e}; moving anyway")],
        }
    }

    fn move_medium(&mut self, m: &Move) -> Result<(), LibraryError> {
        if m.eepos == 0 {
            return Ok(self
                .changer
                .move_medium(m.transport, m.from, m.to, m.invert)?);
        }
        let mut cdb = move_medium::cdb(m.transport, m.from, m.to, m.invert);
        cdb[11] |= m.eepos << 6;
        self.no_data(&cdb, move_medium::TIMEOUT)
    }

    fn exchange_medium(&mut self, x: &Exchange) -> Result<(), LibraryError> {
        let mut cdb = exchange_medium::cdb(
            x.transport,
            x.source,
            x.first,
            x.second,
            x.invert_first,
            x.invert_second,
        );
        cdb[11] |= x.eepos << 6;
        self.no_data(&cdb, exchange_medium::TIMEOUT)
    }

    fn position(&mut self, transport: u16, to: u16, invert: bool) -> Result<(), LibraryError> {
        Ok(self.changer.position_to_element(transport, to, invert)?)
    }

    fn initialize(&mut self) -> Result<(), LibraryError> {
        Ok(self.changer.initialize_element_status()?)
    }

    fn eject(&mut self) -> Result<(), LibraryError> {
        self.no_data(&EJECT_CDB, move_medium::TIMEOUT)
    }
}

/// The warning for loading the cartridge at element `from` into drive element `drive`, when
/// discovery knows the cartridge's media type and the drive does not read it. Cleaning
/// cartridges and cartridges of unknown type get none.
pub fn load_warnings(lib: &Found, from: u16, drive: u16) -> Vec<String> {
    let cartridge = lib
        .slots
        .iter()
        .chain(&lib.import_export)
        .find(|e| e.address == from);
    let Some(d) = lib.drives.iter().find(|d| d.element.address == drive) else {
        return Vec::new();
    };
    let Some((media, c)) = cartridge.and_then(|c| c.media_type.map(|m| (m, c))) else {
        return Vec::new();
    };
    if media.class() == MediumClass::Cleaning || d.reads.is_empty() || d.reads.contains(&media) {
        return Vec::new();
    }
    let who = match &d.device {
        Some(dev) => format!(
            "drive element {drive} ({} {}, {})",
            dev.vendor, dev.product, dev.path
        ),
        None => format!("drive element {drive}"),
    };
    let reads: Vec<&str> = d.reads.iter().map(|t| t.name()).collect();
    vec![format!(
        "{who} cannot read {} cartridge {} from element {from} (it reads {}); loading it anyway",
        media.name(),
        c.barcode.as_deref().unwrap_or("(no barcode)"),
        reads.join(", ")
    )]
}

/// The device path of the one medium changer `source` lists.
///
/// # Errors
/// When the source cannot be listed or holds no changer.
pub fn changer_path<S: DeviceSource>(source: &mut S) -> Result<String, String> {
    let devices = source.devices().map_err(|e| e.to_string())?;
    devices
        .into_iter()
        .find(|d| d.peripheral_type == PeripheralType::MEDIUM_CHANGER)
        .map(|d| d.path)
        .ok_or_else(|| "no medium changer there".to_owned())
}
