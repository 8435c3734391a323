//! The shared library state, the in-process device source and transports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reel_hw::{
    Completion, DataDirection, DeviceInfo, DeviceSource, PeripheralType, ScsiStatus, Transport,
    TransportError, TransportErrorKind,
};

use crate::layout::{ElementKind, Layout, Location};
use crate::media::{Barcode, Medium};
use crate::sense::{codes, SimSense};

/// Marks an empty element in [`State::elems`].
pub(crate) const EMPTY: u32 = u32::MAX;

/// A host-written MAM attribute: format (0 binary, 1 ASCII, 2 text) and value. An empty value
/// records that the host deleted a default attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub format: u8,
    pub value: Vec<u8>,
}

/// One cartridge and what travels with it.
#[derive(Debug, Clone)]
pub(crate) struct Cart {
    pub barcode: Barcode,
    pub medium: Medium,
    /// The element it was last moved from (SVALID + source address).
    pub source: Option<u16>,
    /// Placed in an import/export element by the operator (IMPEXP).
    pub impexp: bool,
    /// Host attributes written with WRITE ATTRIBUTE.
    pub mam: BTreeMap<u16, Attr>,
}

/// One drive's mechanism.
#[derive(Debug, Clone)]
pub(crate) struct DriveState {
    pub offline: bool,
    /// The cartridge in the drive is threaded (loaded).
    pub threaded: bool,
    /// The load in progress completes at this instant.
    pub ready_at: Instant,
    /// Counts loads, for the 06/28/00 unit attention.
    pub load_gen: u32,
    pub loads_since_clean: u32,
    pub needs_cleaning: bool,
    /// Logical block position.
    pub position: u64,
    /// Initiators holding PREVENT MEDIUM REMOVAL on this drive.
    pub prevent: Vec<u32>,
    /// TapeAlert flags (1..=64) raised once and cleared when read.
    pub alerts: u64,
}

/// Per-initiator, per-device unit-attention bookkeeping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DevUa {
    pub power_on: bool,
    pub seen_gen: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct InitiatorState {
    pub id: u32,
    pub changer: DevUa,
    pub drives: Vec<DevUa>,
}

/// The whole mutable state of one simulated library.
#[derive(Debug)]
pub(crate) struct State {
    pub layout: Arc<Layout>,
    pub started: Instant,
    pub carts: Vec<Option<Cart>>,
    pub free_carts: Vec<u32>,
    /// Cartridge index per element, all kinds concatenated in kind-code order.
    pub elems: Vec<u32>,
    pub base: [usize; 4],
    pub drives: Vec<DriveState>,
    pub door_open: bool,
    pub prevent: Vec<u32>,
    pub ie_gen: u32,
    pub initiators: Vec<InitiatorState>,
    pub next_initiator: u32,
    pub fault_seen: Vec<u32>,
    pub state_file: Option<PathBuf>,
    /// Set when the state file could not be written; reported once as 04/44/00.
    pub persist_error: Option<String>,
}

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

impl State {
    fn build(layout: Layout) -> State {
        let c = &layout.changer;
        let counts = ElementKind::ALL.map(|k| usize::from(c.range(k).count));
        let base = [
            0,
            counts[0],
            counts[0] + counts[1],
            counts[0] + counts[1] + counts[2],
        ];
        let total: usize = counts.iter().sum();
        let now = Instant::now();
        let drives = layout
            .drives
            .iter()
            .map(|d| DriveState {
                offline: false,
                threaded: false,
                ready_at: now,
                load_gen: 0,
                loads_since_clean: 0,
                needs_cleaning: d.needs_cleaning,
                position: 0,
                prevent: Vec::new(),
                alerts: 0,
            })
            .collect();
        let mut st = State {
            started: now,
            carts: Vec::with_capacity(layout.cartridges.len()),
            free_carts: Vec::new(),
            elems: vec![EMPTY; total],
            base,
            drives,
            door_open: false,
            prevent: Vec::new(),
            ie_gen: 0,
            initiators: Vec::new(),
            next_initiator: 1,
            fault_seen: vec![0; layout.faults.len()],
            state_file: None,
            persist_error: None,
            layout: Arc::new(layout),
        };
        let layout = Arc::clone(&st.layout);
        for c in &layout.cartridges {
            let i = st.carts.len() as u32;
            st.carts.push(Some(Cart {
                barcode: c.barcode,
                medium: c.barcode.medium(),
                source: None,
                impexp: false,
                mam: BTreeMap::new(),
            }));
            let e = st.index(c.location).unwrap_or(0);
            st.elems[e] = i;
            if c.location.kind == ElementKind::DataTransfer {
                let d = usize::from(c.location.address - layout.changer.data_transfer.first);
                st.drives[d].threaded = true;
            }
        }
        st
    }

    /// The index into `elems` of `loc`, if it is an element of this library.
    pub fn index(&self, loc: Location) -> Option<usize> {
        let r = self.layout.changer.range(loc.kind);
        r.contains(loc.address)
            .then(|| self.base[loc.kind as usize - 1] + usize::from(loc.address - r.first))
    }

    /// The location of the element at `address`.
    pub fn locate(&self, address: u16) -> Option<Location> {
        self.layout
            .changer
            .kind_of(address)
            .map(|kind| Location { kind, address })
    }

    pub fn cart_at(&self, loc: Location) -> Option<u32> {
        self.index(loc)
            .map(|i| self.elems[i])
            .filter(|&c| c != EMPTY)
    }

    pub fn cart(&self, i: u32) -> &Cart {
        // Element entries only ever hold indexes of live cartridges.
        self.carts[i as usize]
            .as_ref()
            .expect("element holds a live cartridge")
    }

    pub fn cart_mut(&mut self, i: u32) -> &mut Cart {
        self.carts[i as usize]
            .as_mut()
            .expect("element holds a live cartridge")
    }

    pub fn drive_cart(&self, d: usize) -> Option<u32> {
        let e = self.elems[self.base[3] + d];
        (e != EMPTY).then_some(e)
    }

    pub fn drive_address(&self, d: usize) -> u16 {
        self.layout.changer.data_transfer.first + d as u16
    }

    fn initiator(&mut self, id: u32) -> Option<&mut InitiatorState> {
        self.initiators.iter_mut().find(|i| i.id == id)
    }

    fn register_initiator(&mut self) -> u32 {
        let id = self.next_initiator;
        self.next_initiator += 1;
        let changer = DevUa {
            power_on: true,
            seen_gen: self.ie_gen,
        };
        let drives = self
            .drives
            .iter()
            .map(|d| DevUa {
                power_on: true,
                seen_gen: d.load_gen,
            })
            .collect();
        self.initiators.push(InitiatorState {
            id,
            changer,
            drives,
        });
        id
    }

    fn unregister_initiator(&mut self, id: u32) {
        self.initiators.retain(|i| i.id != id);
        self.prevent.retain(|&p| p != id);
        for d in &mut self.drives {
            d.prevent.retain(|&p| p != id);
        }
    }

    /// The unit attention pending for `initiator` on `dev`, optionally clearing it.
    fn pending_ua(&mut self, initiator: u32, dev: Device, clear: bool) -> Option<SimSense> {
        let now = Instant::now();
        let (ie_gen, drive) = match dev {
            Device::Changer => (self.ie_gen, None),
            Device::Drive(d) => (0, Some((self.drives[d].load_gen, self.drives[d].ready_at))),
        };
        let ini = self.initiator(initiator)?;
        let ua = match dev {
            Device::Changer => &mut ini.changer,
            Device::Drive(d) => ini.drives.get_mut(d)?,
        };
        let (gen, ready) = match drive {
            None => (ie_gen, true),
            Some((g, at)) => (g, now >= at),
        };
        let sense = if ua.power_on {
            codes::UA_POWER_ON
        } else if ua.seen_gen != gen && ready {
            match dev {
                Device::Changer => codes::UA_IMPORT_EXPORT,
                Device::Drive(_) => codes::UA_MEDIUM_CHANGED,
            }
        } else {
            return None;
        };
        if clear {
            ua.power_on = false;
            if ready {
                ua.seen_gen = gen;
            }
        }
        Some(sense)
    }

    /// Checks the scripted faults for one command that reached execution.
    fn fault(&mut self, opcode: u8, changer: bool) -> Option<SimSense> {
        let layout = Arc::clone(&self.layout);
        let mut fired = None;
        for (i, f) in layout.faults.iter().enumerate() {
            if !f.command.matches(opcode, changer) {
                continue;
            }
            let seen = self.fault_seen[i];
            self.fault_seen[i] = seen.saturating_add(1);
            if fired.is_none() && seen >= f.after && seen - f.after < f.times {
                fired = Some(SimSense::new(f.sense.0, f.sense.1, f.sense.2));
            }
        }
        fired
    }

    /// Writes the state file, if there is one. Failures are kept and reported as 04/44/00.
    pub fn persist(&mut self) {
        if let Some(path) = self.state_file.clone() {
            if let Err(e) = crate::state::save(self, &path) {
                tracing::error!("cannot write state file {}: {e}", path.display());
                self.persist_error = Some(e.to_string());
            }
        }
    }

    /// A cartridge enters drive `d` (by MOVE MEDIUM): LTO drives thread it automatically.
    pub fn drive_received(&mut self, d: usize, cart: u32) {
        let load_ms = self.layout.timing.load_ms;
        let medium = self.cart(cart).medium;
        let drive = &mut self.drives[d];
        drive.threaded = true;
        drive.ready_at = Instant::now() + Duration::from_millis(load_ms);
        drive.position = 0;
        drive.load_gen = drive.load_gen.wrapping_add(1);
        self.count_load(d, medium);
    }

    /// Bookkeeping of one load: cleaning cartridges clean, data loads count toward cleaning.
    pub fn count_load(&mut self, d: usize, medium: Medium) {
        let every = self.layout.drives[d].clean_after_loads;
        let drive = &mut self.drives[d];
        if medium.kind == crate::media::MediumKind::Cleaning {
            drive.needs_cleaning = false;
            drive.loads_since_clean = 0;
        } else {
            drive.loads_since_clean = drive.loads_since_clean.saturating_add(1);
            if every > 0 && drive.loads_since_clean >= every {
                drive.needs_cleaning = true;
            }
        }
    }

    /// Runs one command from `initiator` to `dev`; `apply` is set on the second pass of a
    /// mechanical operation.
    pub(crate) fn run(
        &mut self,
        initiator: u32,
        dev: Device,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
        apply: bool,
    ) -> Outcome {
        let Some(&opcode) = cdb.first() else {
            return Outcome::Check(codes::INVALID_OPCODE);
        };
        let mut recovered = None;
        if !apply {
            // INQUIRY never reports a unit attention; REQUEST SENSE returns it.
            if opcode != 0x12 && opcode != 0x03 {
                if let Some(ua) = self.pending_ua(initiator, dev, true) {
                    return Outcome::Check(ua);
                }
                if dev == Device::Changer && self.not_ready_on_start() {
                    return Outcome::Check(codes::BECOMING_READY);
                }
            }
            if let Some(msg) = self.persist_error.take() {
                tracing::warn!("reporting state file failure to the host: {msg}");
                return Outcome::Check(codes::INTERNAL_FAILURE);
            }
            if let Some(s) = self.fault(opcode, dev == Device::Changer) {
                // NO SENSE and RECOVERED ERROR mean the command completed: run it, then report.
                if s.key > 1 {
                    return Outcome::Check(s);
                }
                recovered = Some(s);
            }
        }
        let outcome = match dev {
            Device::Changer => self.changer_command(initiator, cdb, data, apply),
            Device::Drive(d) => self.drive_command(initiator, d, cdb, data, apply),
        };
        match (recovered, outcome) {
            (Some(s), Outcome::Good(n)) => Outcome::Recovered(s, n),
            (Some(s), Outcome::Delay(d)) => Outcome::DelayRecovered(d, s),
            (_, o) => o,
        }
    }

    pub fn not_ready_on_start(&self) -> bool {
        let ms = self.layout.quirks.not_ready_on_start_ms;
        ms > 0 && self.started.elapsed() < Duration::from_millis(ms)
    }

    /// REQUEST SENSE: the pending unit attention (cleared), else the current not-ready state.
    pub(crate) fn request_sense(&mut self, initiator: u32, dev: Device) -> SimSense {
        if let Some(ua) = self.pending_ua(initiator, dev, true) {
            return ua;
        }
        match dev {
            Device::Changer if self.not_ready_on_start() => codes::BECOMING_READY,
            Device::Changer => codes::NO_SENSE,
            Device::Drive(d) => self.drive_readiness(d).err().unwrap_or(codes::NO_SENSE),
        }
    }
}

/// Copies `reply` into the data-in buffer, at most `alloc` bytes (and never more than the
/// `max_allocation_length` quirk). Returns the bytes written.
pub(crate) fn put(data: &mut DataDirection<'_>, reply: &[u8], alloc: usize, max: u32) -> usize {
    match data {
        DataDirection::FromDevice(buf) => {
            let n = reply.len().min(alloc).min(buf.len()).min(max as usize);
            buf[..n].copy_from_slice(&reply[..n]);
            n
        }
        _ => 0,
    }
}

impl State {
    /// [`put`] under the layout's `max_allocation_length` quirk: every reply goes through here.
    pub(crate) fn reply(&self, data: &mut DataDirection<'_>, reply: &[u8], alloc: usize) -> usize {
        put(data, reply, alloc, self.layout.quirks.max_allocation_length)
    }
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
        let mut st = State::build(layout);
        if let Some(path) = state_file {
            if path.exists() {
                crate::state::load(&mut st, path)?;
            }
            st.state_file = Some(path.to_path_buf());
            crate::state::save(&st, path).map_err(|source| SimError::StateIo {
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
        Arc::clone(&lock(&self.shared.state).layout)
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
        let c = &st.layout.changer;
        let mut v = vec![DeviceInfo {
            path: "sim:changer".to_owned(),
            peripheral_type: PeripheralType::MEDIUM_CHANGER,
            vendor: c.vendor.clone(),
            product: c.product.clone(),
            revision: c.revision.clone(),
            serial: Some(c.serial.clone()),
        }];
        for (i, d) in st.layout.drives.iter().enumerate() {
            if d.present && !st.drives[i].offline {
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
        let r = st.layout.changer.data_transfer;
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

impl State {
    /// Offline drives and empty bays have no device behind them.
    pub fn device_available(&self, dev: Device) -> Result<(), SimTransportError> {
        if let Device::Drive(d) = dev {
            let path = format!("sim:drive:{}", self.drive_address(d));
            let Some(cfg) = self.layout.drives.get(d) else {
                return Err(SimTransportError::no_device(path, "no such drive"));
            };
            if !cfg.present {
                return Err(SimTransportError::no_device(path, "empty drive bay"));
            }
            if self.drives[d].offline {
                return Err(SimTransportError::no_device(path, "drive is offline"));
            }
        }
        Ok(())
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
        self.with_state(|st| {
            for i in &mut st.initiators {
                match dev {
                    None => {
                        i.changer.power_on = true;
                        for d in &mut i.drives {
                            d.power_on = true;
                        }
                    }
                    Some(Device::Changer) => i.changer.power_on = true,
                    Some(Device::Drive(d)) => {
                        if let Some(x) = i.drives.get_mut(d) {
                            x.power_on = true;
                        }
                    }
                }
            }
        });
    }
}
