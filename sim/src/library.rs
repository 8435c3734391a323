//! The shared library (one [`State`] behind a lock, one robot), the in-process device source
//! and transports.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reel_hw::{
    Completion, DataDirection, DeviceInfo, DeviceSource, PeripheralType, ScsiStatus, Transport,
    TransportError, TransportErrorKind,
};

use crate::layout::{Layout, Location};
use crate::media::Barcode;
use crate::sense::SimSense;
use crate::state::State;

/// Which device of the library a command goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    /// The medium changer.
    Changer,
    /// The drive behind data-transfer element number `.0` (0-based, address order).
    Drive(usize),
}

/// The result of handling one command.
pub(crate) enum Outcome {
    /// GOOD, with this many bytes written to the data-in buffer.
    Good(usize),
    /// CHECK CONDITION.
    Check(SimSense),
    /// A mechanical operation: sleep this long without the state lock (holding the robot),
    /// then run the command again with `apply` set.
    Delay(Duration),
    /// The command completed (its data transferred: this many bytes) but a NO SENSE or
    /// RECOVERED ERROR fault answers CHECK CONDITION with this sense.
    Recovered(SimSense, usize),
    /// A mechanical operation under a NO SENSE or RECOVERED ERROR fault: as `Delay`, and the
    /// completed command then answers CHECK CONDITION with this sense.
    DelayRecovered(Duration, SimSense),
}

struct Shared {
    state: Mutex<State>,
    /// The robot (and tape mechanisms): one mechanical operation at a time.
    robot: Mutex<()>,
}

/// A simulated tape library: changer, drives and cartridges, shared by every initiator.
///
/// Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct SimLibrary {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SimLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLibrary")
            .field("layout", &self.layout().file)
            .finish()
    }
}

/// Errors of building or running a simulated library outside SCSI (state file, operator).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The state file could not be read or written.
    #[error("state file {file}: {source}")]
    StateIo {
        /// The state file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The state file is not one this simulator wrote, or was written for another layout.
    #[error("state file {file}: {reason}")]
    StateMismatch {
        /// The state file.
        file: String,
        /// What does not match; remove the file to start from the layout.
        reason: String,
    },
    /// An operator action that the library refuses.
    #[error("{0}")]
    Operator(String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-updated in a way that matters
    // more than stopping the simulator would; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimLibrary {
    /// Builds a library from `layout`, starting as the layout describes it.
    pub fn new(layout: Layout) -> SimLibrary {
        SimLibrary {
            shared: Arc::new(Shared {
                state: Mutex::new(State::build(layout)),
                robot: Mutex::new(()),
            }),
        }
    }

    /// Builds a library from `layout`; with `state_file`, resumes from it when it exists and
    /// writes every change to it.
    ///
    /// # Errors
    /// [`SimError::StateIo`] when the file cannot be read or first written;
    /// [`SimError::StateMismatch`] when it does not belong to this layout.
    pub fn open(layout: Layout, state_file: Option<&Path>) -> Result<SimLibrary, SimError> {
        SimLibrary::open_with_media(layout, state_file, None)
    }

    /// As [`SimLibrary::open`], with each cartridge's data kept in `<media_dir>/<barcode>.tape`
    /// (created when missing), so it survives restarts. Without a media directory the data
    /// lives in memory.
    ///
    /// # Errors
    /// As [`SimLibrary::open`]; [`SimError::StateIo`] when the directory cannot be created.
    pub fn open_with_media(
        layout: Layout,
        state_file: Option<&Path>,
        media_dir: Option<&Path>,
    ) -> Result<SimLibrary, SimError> {
        let mut st = State::build(layout);
        if let Some(dir) = media_dir {
            std::fs::create_dir_all(dir).map_err(|source| SimError::StateIo {
                file: dir.display().to_string(),
                source,
            })?;
            st.set_media_dir(dir.to_path_buf());
        }
        if let Some(path) = state_file {
            if path.exists() {
                crate::persist::load(&mut st, path)?;
            }
            st.set_state_file(path.to_path_buf());
            crate::persist::save(&st, path).map_err(|source| SimError::StateIo {
                file: path.display().to_string(),
                source,
            })?;
        }
        Ok(SimLibrary {
            shared: Arc::new(Shared {
                state: Mutex::new(st),
                robot: Mutex::new(()),
            }),
        })
    }

    /// The layout the library was built from.
    pub fn layout(&self) -> Arc<Layout> {
        lock(&self.shared.state).layout_arc()
    }

    /// A new initiator: a device source whose transports share one unit-attention state.
    pub fn source(&self) -> SimSource {
        let id = lock(&self.shared.state).register_initiator();
        SimSource {
            initiator: Arc::new(Initiator {
                library: self.clone(),
                id,
            }),
        }
    }

    /// A new initiator whose PREVENT MEDIUM REMOVAL is held by `port`'s initiator: it lasts
    /// while `port` lives, whatever becomes of this source (the socket server's host port).
    pub fn source_on_port(&self, port: &SimSource) -> SimSource {
        let id = lock(&self.shared.state).register_initiator_on_port(port.initiator.id);
        SimSource {
            initiator: Arc::new(Initiator {
                library: self.clone(),
                id,
            }),
        }
    }

    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.shared.state))
    }

    /// Runs one command (the in-process and socket transports both end here).
    pub(crate) fn execute(
        &self,
        initiator: u32,
        dev: Device,
        cdb: &[u8],
        mut data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, SimTransportError> {
        let requested = data.len();
        let outcome = {
            let mut st = lock(&self.shared.state);
            st.device_available(dev)?;
            st.run(initiator, dev, cdb, &mut data, false)
        };
        let (outcome, recovered) = match outcome {
            Outcome::DelayRecovered(d, s) => (Outcome::Delay(d), Some(s)),
            o => (o, None),
        };
        let outcome = match outcome {
            Outcome::Delay(d) => {
                let _robot = lock(&self.shared.robot);
                if !timeout.is_zero() && d > timeout {
                    // The host gives up first: the operation is aborted and nothing moves.
                    std::thread::sleep(timeout);
                    return Err(SimTransportError {
                        kind: TransportErrorKind::Timeout,
                        device: String::new(),
                        message: format!(
                            "command 0x{:02X} timed out after {} ms (the mechanism needs {} ms); aborted",
                            cdb[0],
                            timeout.as_millis(),
                            d.as_millis()
                        ),
                    });
                }
                std::thread::sleep(d);
                let mut st = lock(&self.shared.state);
                st.device_available(dev)?;
                match (st.run(initiator, dev, cdb, &mut data, true), recovered) {
                    (Outcome::Delay(_) | Outcome::DelayRecovered(..), None) => Outcome::Good(0),
                    (Outcome::Delay(_) | Outcome::DelayRecovered(..), Some(s)) => {
                        Outcome::Recovered(s, 0)
                    }
                    (Outcome::Good(n), Some(s)) => Outcome::Recovered(s, n),
                    (o, _) => o,
                }
            }
            o => o,
        };
        Ok(match outcome {
            Outcome::Good(n) => Completion {
                status: ScsiStatus::GOOD,
                sense: Vec::new(),
                residual: requested.saturating_sub(n),
            },
            Outcome::Check(s) => Completion {
                status: ScsiStatus::CHECK_CONDITION,
                sense: s.to_fixed_bytes(),
                residual: requested,
            },
            Outcome::Recovered(s, n) => Completion {
                status: ScsiStatus::CHECK_CONDITION,
                sense: s.to_fixed_bytes(),
                residual: requested.saturating_sub(n),
            },
            Outcome::Delay(_) | Outcome::DelayRecovered(..) => Completion::good(),
        })
    }

    /// The devices an initiator sees: the changer, then each present, online drive.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        let st = lock(&self.shared.state);
        let c = &st.layout().changer;
        let mut v = vec![DeviceInfo {
            path: "sim:changer".to_owned(),
            peripheral_type: PeripheralType::MEDIUM_CHANGER,
            vendor: c.vendor.clone(),
            product: c.product.clone(),
            revision: c.revision.clone(),
            serial: Some(c.serial.clone()),
        }];
        for (i, d) in st.layout().drives.iter().enumerate() {
            if d.present && !st.drive(i).offline {
                v.push(DeviceInfo {
                    path: format!("sim:drive:{}", st.drive_address(i)),
                    peripheral_type: PeripheralType::SEQUENTIAL,
                    vendor: d.vendor.clone(),
                    product: d.product.clone(),
                    revision: d.revision.clone(),
                    serial: Some(d.serial.clone()),
                });
            }
        }
        v
    }

    /// Resolves a device path (`sim:changer`, `sim:drive:500`).
    ///
    /// # Errors
    /// [`SimTransportError`] with kind NoDevice when there is no such device.
    pub fn device(&self, path: &str) -> Result<Device, SimTransportError> {
        let st = lock(&self.shared.state);
        let no = |why: &str| SimTransportError {
            kind: TransportErrorKind::NoDevice,
            device: path.to_owned(),
            message: why.to_owned(),
        };
        if path == "sim:changer" {
            return Ok(Device::Changer);
        }
        let addr = path
            .strip_prefix("sim:drive:")
            .and_then(|a| a.parse::<u16>().ok())
            .ok_or_else(|| no("not a simulator device path (sim:changer or sim:drive:ADDRESS)"))?;
        let r = st.layout().changer.data_transfer;
        if !r.contains(addr) {
            return Err(no("no data transfer element at that address"));
        }
        let dev = Device::Drive(usize::from(addr - r.first));
        st.device_available(dev)?;
        Ok(dev)
    }

    /// The operator inserts a cartridge into an import/export element (the first empty one
    /// when `ie` is None). Every initiator gets 06/28/01.
    ///
    /// # Errors
    /// [`SimError::Operator`] for a bad barcode, a duplicate, no free import/export element,
    /// or a host that prevents medium removal.
    pub fn insert(&self, barcode: &str, ie: Option<u16>) -> Result<Location, SimError> {
        let mut st = lock(&self.shared.state);
        st.operator_insert(barcode, ie)
    }

    /// The operator takes the cartridge out of import/export element `ie`.
    ///
    /// # Errors
    /// [`SimError::Operator`] for an address that is not an import/export element, an empty
    /// one, or a host that prevents medium removal.
    pub fn remove(&self, ie: u16) -> Result<Barcode, SimError> {
        let mut st = lock(&self.shared.state);
        st.operator_remove(ie)
    }

    /// The operator opens or closes the import/export door.
    ///
    /// # Errors
    /// [`SimError::Operator`] when the library has no import/export elements, or opening
    /// while a host prevents medium removal.
    pub fn set_door(&self, open: bool) -> Result<(), SimError> {
        let mut st = lock(&self.shared.state);
        st.operator_door(open)
    }

    /// Takes the drive at data-transfer address `address` offline or back online.
    ///
    /// # Errors
    /// [`SimError::Operator`] for an address that is not a drive, or an empty bay.
    pub fn set_drive_online(&self, address: u16, online: bool) -> Result<(), SimError> {
        let mut st = lock(&self.shared.state);
        st.operator_drive(address, online)
    }

    /// The library's current contents.
    pub fn status(&self) -> crate::status::LibraryStatus {
        let st = lock(&self.shared.state);
        crate::status::LibraryStatus::of(&st)
    }
}

/// One initiator (an I_T nexus): registered on creation, forgotten when the last source or
/// transport holding it is dropped (its PREVENT MEDIUM REMOVAL is released then).
#[derive(Debug)]
struct Initiator {
    library: SimLibrary,
    id: u32,
}

impl Drop for Initiator {
    fn drop(&mut self) {
        let id = self.id;
        self.library.with_state(|st| st.unregister_initiator(id));
    }
}

/// The simulator as a [`DeviceSource`]: one source is one initiator.
///
/// Device paths: `sim:changer` and `sim:drive:<element address>` (decimal).
#[derive(Debug, Clone)]
pub struct SimSource {
    initiator: Arc<Initiator>,
}

impl SimSource {
    /// The library this source reaches.
    pub fn library(&self) -> &SimLibrary {
        &self.initiator.library
    }
}

impl DeviceSource for SimSource {
    type Transport = SimTransport;
    type Error = SimTransportError;

    fn devices(&mut self) -> Result<Vec<DeviceInfo>, Self::Error> {
        Ok(self.initiator.library.devices())
    }

    fn open(&mut self, path: &str) -> Result<SimTransport, SimTransportError> {
        let dev = self.initiator.library.device(path)?;
        Ok(SimTransport {
            initiator: Arc::clone(&self.initiator),
            dev,
            path: path.to_owned(),
        })
    }
}

/// One simulated device opened by one initiator.
#[derive(Debug)]
pub struct SimTransport {
    initiator: Arc<Initiator>,
    dev: Device,
    path: String,
}

impl SimTransport {
    /// Which device this is.
    pub fn target(&self) -> Device {
        self.dev
    }
}

impl Transport for SimTransport {
    type Error = SimTransportError;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, SimTransportError> {
        self.initiator
            .library
            .execute(self.initiator.id, self.dev, cdb, data, timeout)
            .map_err(|mut e| {
                e.device.clone_from(&self.path);
                e
            })
    }

    fn device(&self) -> &str {
        &self.path
    }
}

/// A command the simulator could not deliver: the device is offline or absent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{device}: {message}")]
pub struct SimTransportError {
    /// The class of failure.
    pub kind: TransportErrorKind,
    /// The device path.
    pub device: String,
    /// What happened.
    pub message: String,
}

impl SimTransportError {
    pub(crate) fn no_device(device: String, message: &str) -> SimTransportError {
        SimTransportError {
            kind: TransportErrorKind::NoDevice,
            device,
            message: message.to_owned(),
        }
    }
}

impl TransportError for SimTransportError {
    fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

impl SimLibrary {
    /// A reset of `dev` (every device when None), as a LOGICAL UNIT RESET or TARGET WARM
    /// RESET from iSCSI: each initiator's next command to it gets 06/29/00.
    pub(crate) fn reset_unit_attention(&self, dev: Option<Device>) {
        self.with_state(|st| st.reset_occurred(dev));
    }
}
