//! The mutable state of one simulated library and the API every command handler goes
//! through: element contents (which cartridge is where, moves, operator inserts), drive
//! mechanisms, the door and PREVENT MEDIUM REMOVAL, per-initiator unit attentions, scripted
//! faults, persistence, and the one way a reply reaches the initiator ([`State::reply`]).
//!
//! The fields are private: the changer and drive handlers (`changer.rs`, `drive.rs`), the
//! state file (`persist.rs`) and the operator panel (`status.rs`) use the methods below, so
//! the element table and the cartridge list cannot drift apart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reel_hw::DataDirection;

use crate::layout::{ElementKind, Layout, Location};
use crate::library::{Device, Outcome, SimTransportError};
use crate::media::{Barcode, Medium};
use crate::sense::{codes, SimSense};

/// Marks an empty element in the element table.
const EMPTY: u32 = u32::MAX;

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
    /// Fixed block length set by MODE SELECT; 0 = variable.
    pub block_len: u32,
}

/// Per-initiator, per-device unit-attention bookkeeping.
#[derive(Debug, Clone, Copy)]
struct DevUa {
    power_on: bool,
    seen_gen: u32,
}

/// One initiator's unit-attention bookkeeping, for the changer and each drive.
#[derive(Debug, Clone)]
struct InitiatorState {
    id: u32,
    /// Who holds this initiator's PREVENT MEDIUM REMOVAL: itself, or a host port.
    port: u32,
    changer: DevUa,
    drives: Vec<DevUa>,
}

/// The whole mutable state of one simulated library.
#[derive(Debug)]
pub(crate) struct State {
    layout: Arc<Layout>,
    started: Instant,
    carts: Vec<Option<Cart>>,
    free_carts: Vec<u32>,
    /// Cartridge index per element, all kinds concatenated in kind-code order.
    elems: Vec<u32>,
    base: [usize; 4],
    drives: Vec<DriveState>,
    door_open: bool,
    prevent: Vec<u32>,
    ie_gen: u32,
    initiators: Vec<InitiatorState>,
    next_initiator: u32,
    fault_seen: Vec<u32>,
    state_file: Option<PathBuf>,
    /// Set when the state file could not be written; reported once as 04/44/00.
    persist_error: Option<String>,
    /// The cartridges' recorded data.
    media: crate::tape::MediaStore,
}

impl State {
    /// The library as the layout starts it.
    pub fn build(layout: Layout) -> State {
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
                block_len: 0,
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
            media: crate::tape::MediaStore::default(),
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

    /// The cartridges' recorded data.
    pub(crate) fn media_mut(&mut self) -> &mut crate::tape::MediaStore {
        &mut self.media
    }

    /// Keep cartridge data as files under `dir` (instead of in memory).
    pub fn set_media_dir(&mut self, dir: PathBuf) {
        self.media = crate::tape::MediaStore::new(Some(dir));
    }

    /// The layout the library was built from.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The layout, shared.
    pub fn layout_arc(&self) -> Arc<Layout> {
        Arc::clone(&self.layout)
    }

    /// The index in the element table of `loc`, if it is an element of this library.
    fn index(&self, loc: Location) -> Option<usize> {
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

    /// True when `loc` is an element of this library.
    pub fn exists(&self, loc: Location) -> bool {
        self.index(loc).is_some()
    }

    /// The cartridge in `loc`, if any.
    pub fn cart_at(&self, loc: Location) -> Option<u32> {
        self.index(loc)
            .map(|i| self.elems[i])
            .filter(|&c| c != EMPTY)
    }

    /// Cartridge `i` (an id from [`State::cart_at`]).
    pub fn cart(&self, i: u32) -> &Cart {
        // Element entries only ever hold indexes of live cartridges.
        self.carts[i as usize]
            .as_ref()
            .expect("element holds a live cartridge")
    }

    /// Cartridge `i`, to change.
    pub fn cart_mut(&mut self, i: u32) -> &mut Cart {
        self.carts[i as usize]
            .as_mut()
            .expect("element holds a live cartridge")
    }

    /// The cartridge in drive `d` (0-based, address order).
    pub fn drive_cart(&self, d: usize) -> Option<u32> {
        let e = self.elems[self.base[3] + d];
        (e != EMPTY).then_some(e)
    }

    /// The element address of drive `d`.
    pub fn drive_address(&self, d: usize) -> u16 {
        self.layout.changer.data_transfer.first + d as u16
    }

    /// The drive (0-based) at data-transfer element `loc`, if `loc` is one.
    fn drive_at(&self, loc: Location) -> Option<usize> {
        (loc.kind == ElementKind::DataTransfer)
            .then(|| usize::from(loc.address - self.layout.changer.data_transfer.first))
    }

    /// Drive `d`'s mechanism.
    pub fn drive(&self, d: usize) -> &DriveState {
        &self.drives[d]
    }

    /// Drive `d`'s mechanism, to change.
    pub fn drive_mut(&mut self, d: usize) -> &mut DriveState {
        &mut self.drives[d]
    }

    /// How many cartridges are in the library.
    pub fn cartridge_count(&self) -> usize {
        self.elems.iter().filter(|&&e| e != EMPTY).count()
    }

    /// True when a cartridge with barcode `bc` is in the library.
    pub fn has_barcode(&self, bc: Barcode) -> bool {
        self.carts.iter().flatten().any(|c| c.barcode == bc)
    }

    /// Takes the cartridge out of `loc` (the robot picks it): a drive's tape is unthreaded.
    pub fn take(&mut self, loc: Location) -> Option<u32> {
        let i = self.index(loc)?;
        let cart = std::mem::replace(&mut self.elems[i], EMPTY);
        if let Some(d) = self.drive_at(loc) {
            self.drives[d].threaded = false;
        }
        (cart != EMPTY).then_some(cart)
    }

    /// The robot puts cartridge `cart`, taken from `from`, into `loc` (empty): it records its
    /// source, and a drive threads it.
    pub fn place(&mut self, loc: Location, cart: u32, from: Location) {
        let Some(i) = self.index(loc) else { return };
        self.elems[i] = cart;
        let c = self.cart_mut(cart);
        c.source = Some(from.address);
        c.impexp = false;
        if let Some(d) = self.drive_at(loc) {
            self.drive_received(d, cart);
        }
    }

    /// A cartridge enters the library at `loc` (empty) from outside (the operator, or the
    /// state file). Returns its id.
    pub fn add_cart(&mut self, loc: Location, cart: Cart) -> u32 {
        let i = if let Some(i) = self.free_carts.pop() {
            self.carts[i as usize] = Some(cart);
            i
        } else {
            self.carts.push(Some(cart));
            (self.carts.len() - 1) as u32
        };
        if let Some(e) = self.index(loc) {
            self.elems[e] = i;
        }
        i
    }

    /// A cartridge leaves the library from `loc` (the operator takes it out).
    pub fn remove_cart(&mut self, loc: Location) -> Option<Cart> {
        let i = self.take(loc)?;
        self.free_carts.push(i);
        self.carts[i as usize].take()
    }

    /// Empties the library (before the state file fills it again).
    pub fn clear_cartridges(&mut self) {
        self.carts.clear();
        self.free_carts.clear();
        self.elems.fill(EMPTY);
    }

    /// The import/export door is open.
    pub fn door_open(&self) -> bool {
        self.door_open
    }

    /// Opens or closes the import/export door.
    pub fn set_door_open(&mut self, open: bool) {
        self.door_open = open;
    }

    /// Some initiator holds PREVENT MEDIUM REMOVAL on the changer.
    pub fn removal_prevented(&self) -> bool {
        !self.prevent.is_empty()
    }

    /// The initiator that holds `initiator`'s PREVENT MEDIUM REMOVAL (itself or its port).
    pub fn prevent_holder(&self, initiator: u32) -> u32 {
        self.initiators
            .iter()
            .find(|i| i.id == initiator)
            .map_or(initiator, |i| i.port)
    }

    /// PREVENT (`prevent`) or ALLOW MEDIUM REMOVAL on the changer for `initiator`.
    pub fn set_prevent(&mut self, initiator: u32, prevent: bool) {
        let initiator = self.prevent_holder(initiator);
        if !prevent {
            self.prevent.retain(|&p| p != initiator);
        } else if !self.prevent.contains(&initiator) {
            self.prevent.push(initiator);
        }
    }

    /// The operator changed the import/export elements: every initiator gets 06/28/01.
    pub fn import_export_changed(&mut self) {
        self.ie_gen = self.ie_gen.wrapping_add(1);
    }

    /// Drive `d` came back on the bus: every initiator sees its power-on reset.
    pub fn drive_powered_on(&mut self, d: usize) {
        for ini in &mut self.initiators {
            if let Some(u) = ini.drives.get_mut(d) {
                u.power_on = true;
            }
        }
    }

    /// A reset of `dev` (every device when None): every initiator's next command to it gets
    /// 06/29/00 (LOGICAL UNIT RESET, TARGET WARM RESET from iSCSI).
    pub fn reset_occurred(&mut self, dev: Option<Device>) {
        for ini in &mut self.initiators {
            match dev {
                None => {
                    ini.changer.power_on = true;
                    for u in &mut ini.drives {
                        u.power_on = true;
                    }
                }
                Some(Device::Changer) => ini.changer.power_on = true,
                Some(Device::Drive(d)) => {
                    if let Some(u) = ini.drives.get_mut(d) {
                        u.power_on = true;
                    }
                }
            }
        }
    }

    /// From now on, write every change to `path`.
    pub fn set_state_file(&mut self, path: PathBuf) {
        self.state_file = Some(path);
    }

    fn initiator(&mut self, id: u32) -> Option<&mut InitiatorState> {
        self.initiators.iter_mut().find(|i| i.id == id)
    }

    /// A new initiator, with a power-on unit attention pending on every device.
    pub fn register_initiator(&mut self) -> u32 {
        self.register_initiator_on_port(self.next_initiator)
    }

    /// Registers an initiator whose PREVENT MEDIUM REMOVAL is held by initiator `port`.
    pub fn register_initiator_on_port(&mut self, port: u32) -> u32 {
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
            port,
            changer,
            drives,
        });
        id
    }

    /// Forgets an initiator and releases its PREVENT MEDIUM REMOVAL everywhere.
    pub fn unregister_initiator(&mut self, id: u32) {
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
            if let Err(e) = crate::persist::save(self, &path) {
                tracing::error!("cannot write state file {}: {e}", path.display());
                self.persist_error = Some(e.to_string());
            }
        }
    }

    /// A cartridge enters drive `d` (by MOVE MEDIUM): LTO drives thread it automatically.
    fn drive_received(&mut self, d: usize, cart: u32) {
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

    /// The changer is still becoming ready (the `not_ready_on_start_ms` quirk).
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
fn put(data: &mut DataDirection<'_>, reply: &[u8], alloc: usize, max: u32) -> usize {
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
