//! The controller proper: the workers, the shared state (models, requests, reservations,
//! mounts), technician moves, unit-attention re-reads and the figures `status`/`metrics` show.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reel_hw::{PeripheralType, Transport};
use uuid::Uuid;

use super::error::ControlError;
use super::model::{DriveState, LibraryModel};
use super::notify::{Hub, Notification, NotifyOperation, ObjectKind};
use super::request::{
    now_ms, CancelFlag, LibraryRequest, Operation, RequestState, RequestTable, PRIORITY_RANGE,
};
use super::worker::Worker;
use crate::changer::Changer;
use crate::discovery::{Counted, Counter, ElementKind, Location, Stats};
use crate::drive::Drive;
use crate::pool::Win32Code;
use crate::scsi::exec::Event;
use crate::scsi::mode_sense::ElementRange;
use crate::scsi::read_element_status::ElementType;

/// Settings of a [`Controller`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// Pause between TEST UNIT READY polls while a drive becomes ready (default 100 ms).
    pub ready_poll: Duration,
    /// Longest wait for a drive to become ready after a load (default 10 minutes).
    pub ready_timeout: Duration,
    /// The deferred-dismount delay (§4, default 300 s).
    pub deferred_delay: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            ready_poll: Duration::from_millis(100),
            ready_timeout: Duration::from_secs(600),
            deferred_delay: Duration::from_secs(300),
        }
    }
}

/// One library's devices as the controller takes them over: the model discovery built, the
/// changer's transport, and a transport per drive element (`None`: no device behind it),
/// aligned with `model.drives`.
#[derive(Debug)]
pub struct LibraryDevices<T> {
    /// The library model.
    pub model: LibraryModel,
    /// The changer.
    pub changer: T,
    /// The drives, in `model.drives` order.
    pub drives: Vec<Option<T>>,
}

pub(super) type ChangerDev<T> = Changer<Counted<T>>;
pub(super) type DriveDev<T> = Drive<Counted<T>>;

pub(super) struct DriveUnit<T: Transport> {
    pub worker: Worker<DriveDev<T>>,
    pub counter: Counter,
    pub path: String,
}

pub(super) struct Unit<T: Transport> {
    pub serial: String,
    pub changer: Worker<ChangerDev<T>>,
    pub changer_counter: Counter,
    pub changer_path: String,
    pub drives: Vec<Option<DriveUnit<T>>>,
}

/// An application's mount: the medium (by key) in a drive, for a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mounted {
    /// Library index.
    pub library: usize,
    /// Drive index in the model.
    pub drive: usize,
    /// The medium's key (its barcode).
    pub medium: String,
    /// The session that mounted it.
    pub session: u64,
}

/// A mount waiting for a drive, in priority order.
#[derive(Debug, Clone)]
pub(super) struct Waiter {
    pub id: Uuid,
    pub library: usize,
    pub priority: i32,
    pub seq: u64,
    pub eligible: Vec<usize>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct MountFigures {
    pub mounts: u64,
    pub failed: u64,
    pub dismounts: u64,
    pub latency_sum: Duration,
    /// Counts per upper bound of [`LATENCY_BUCKETS`] (last: +Inf).
    pub buckets: [u64; 9],
}

/// Upper bounds (seconds) of the mount-latency histogram.
pub const LATENCY_BUCKETS: [f64; 8] = [0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0];

#[derive(Debug, Default)]
pub(super) struct State {
    pub models: Vec<LibraryModel>,
    pub requests: RequestTable,
    /// Drives a plan is working on.
    pub reserved: HashSet<(usize, usize)>,
    /// Media a plan is moving (library, key).
    pub moving: HashSet<(usize, String)>,
    pub mounts: Vec<Mounted>,
    pub waiters: Vec<Waiter>,
    pub seq: u64,
    pub tick: u64,
    /// Deferred dismounts: (deadline, library, drive).
    pub deferred: Vec<(Instant, usize, usize)>,
    pub figures: MountFigures,
    pub stopping: bool,
}

/// Where a cartridge stands, for the catalogue (`NtmsMediaState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartridgeState {
    /// In a slot or port, or a dismountable drive.
    Idle,
    /// In a drive, being mounted.
    Mounted,
    /// In a drive and ready for its application.
    Loaded,
}

/// A cartridge the controller moved, or whose state changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The library's changer serial.
    pub library: String,
    /// Its barcode.
    pub barcode: Option<String>,
    /// Where it is now.
    pub at: Location,
    /// Its home slot.
    pub home: Option<u16>,
    /// Its state.
    pub state: CartridgeState,
}

type Observer = Arc<dyn Fn(&Observed) + Send + Sync>;

pub(super) struct Inner<T: Transport> {
    pub observer: std::sync::RwLock<Option<Observer>>,
    pub units: Vec<Unit<T>>,
    pub state: Mutex<State>,
    pub changed: Condvar,
    pub hub: Hub,
    pub config: ControllerConfig,
    pub started: Instant,
}

impl<T: Transport> Inner<T> {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn notify(&self, operation: NotifyOperation, kind: ObjectKind, id: Uuid) {
        self.hub.publish(Notification {
            operation,
            kind,
            id,
        });
    }
}

/// The device scheduler: owns every changer and drive of the daemon's libraries.
pub struct Controller<T: Transport + Send + 'static> {
    pub(super) inner: Arc<Inner<T>>,
}

impl<T: Transport + Send + 'static> Clone for Controller<T> {
    fn clone(&self) -> Self {
        Controller {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Transport + Send + 'static> std::fmt::Debug for Controller<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("libraries", &self.inner.units.len())
            .finish()
    }
}

/// The result of a technician move.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MoveDone {
    /// The library's changer serial.
    pub library: String,
    /// The source element (`slot:1000`).
    pub from: String,
    /// The destination element.
    pub to: String,
    /// The cartridge's barcode, when known.
    pub barcode: Option<String>,
    /// The request that carried it out.
    pub request: Uuid,
}

fn smc_type(kind: ElementKind) -> ElementType {
    match kind {
        ElementKind::Transport => ElementType::TRANSPORT,
        ElementKind::Slot => ElementType::STORAGE,
        ElementKind::ImportExport => ElementType::IMPORT_EXPORT,
        ElementKind::Drive => ElementType::DATA_TRANSFER,
    }
}

/// The element types a unit attention from the changer makes stale (module doc of
/// [`crate::controller`]): 28/01 the import/export elements; other 28/xx every element that
/// holds media; 29/xx, 2A/xx and 3F/xx everything.
pub fn affected_types(events: &[Event]) -> Vec<ElementKind> {
    use ElementKind::*;
    let mut out: Vec<ElementKind> = Vec::new();
    for e in events {
        let kinds: &[ElementKind] = match e {
            Event::InventoryMayHaveChanged(s) if s.asc == 0x28 && s.ascq == 0x01 => &[ImportExport],
            Event::InventoryMayHaveChanged(s) if s.asc == 0x28 => &[Slot, ImportExport, Drive],
            Event::InventoryMayHaveChanged(_) | Event::ModeParametersChanged(_) => {
                &[Transport, Slot, ImportExport, Drive]
            }
            Event::UnitAttention(s) if s.asc == 0x3F => &[Transport, Slot, ImportExport, Drive],
            _ => &[],
        };
        for k in kinds {
            if !out.contains(k) {
                out.push(*k);
            }
        }
    }
    out.sort();
    out
}

impl<T: Transport + Send + 'static> Controller<T> {
    /// Takes over the devices of each library and starts one worker per changer and per drive.
    ///
    /// # Errors
    /// When a worker thread cannot be started.
    pub fn start(
        libraries: Vec<LibraryDevices<T>>,
        config: ControllerConfig,
    ) -> std::io::Result<Controller<T>> {
        let mut units = Vec::new();
        let mut models = Vec::new();
        for lib in libraries {
            let changer_counter = Counter::new();
            let changer_path = lib.changer.device().to_owned();
            let changer = Changer::new(Counted::new(
                lib.changer,
                PeripheralType::MEDIUM_CHANGER,
                changer_counter.clone(),
            ));
            let worker = Worker::start(&format!("changer {}", lib.model.serial), changer)?;
            let mut drives = Vec::new();
            for (i, t) in lib.drives.into_iter().enumerate() {
                drives.push(match t {
                    None => None,
                    Some(t) => {
                        let counter = Counter::new();
                        let path = t.device().to_owned();
                        let drive = Drive::new(Counted::new(
                            t,
                            PeripheralType::SEQUENTIAL,
                            counter.clone(),
                        ));
                        let name = format!("drive {}", lib.model.drives[i].address);
                        Some(DriveUnit {
                            worker: Worker::start(&name, drive)?,
                            counter,
                            path,
                        })
                    }
                });
            }
            units.push(Unit {
                serial: lib.model.serial.clone(),
                changer: worker,
                changer_counter,
                changer_path,
                drives,
            });
            models.push(lib.model);
        }
        let inner = Arc::new(Inner {
            observer: std::sync::RwLock::new(None),
            units,
            state: Mutex::new(State {
                models,
                ..State::default()
            }),
            changed: Condvar::new(),
            hub: Hub::default(),
            config,
            started: Instant::now(),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("reel-deferred".into())
            .spawn(move || super::mount::deferred_reaper(weak))?;
        Ok(Controller { inner })
    }

    /// The notification hub.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// When the controller started.
    pub fn started(&self) -> Instant {
        self.inner.started
    }

    /// A copy of every library model, as the controller knows it now.
    pub fn models(&self) -> Vec<LibraryModel> {
        self.inner.lock().models.clone()
    }

    /// Library requests: live ones, and with `all` the finished ones kept.
    pub fn requests(&self, all: bool) -> Vec<LibraryRequest> {
        self.inner.lock().requests.list(all)
    }

    /// One request by id.
    pub fn request(&self, id: Uuid) -> Option<LibraryRequest> {
        self.inner.lock().requests.get(id).cloned()
    }

    /// Cancels a queued or waiting request.
    ///
    /// # Errors
    /// `ERROR_OBJECT_NOT_FOUND` for an unknown id; `ERROR_INVALID_STATE` for a request already
    /// in process or over.
    pub fn cancel(&self, id: Uuid) -> Result<(), ControlError> {
        let r = self.inner.lock().requests.cancel(id);
        self.inner.changed.notify_all();
        match r {
            Ok(true) => Ok(()),
            Ok(false) => Err(ControlError::refused(
                Win32Code::ERROR_OBJECT_NOT_FOUND,
                format!("no library request {id}"),
            )),
            Err(s) => Err(ControlError::refused(
                Win32Code::ERROR_INVALID_STATE,
                format!(
                    "request {id} is {} and can no longer be cancelled",
                    serde_json::to_value(s)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            )),
        }
    }

    /// Stops every worker: queued work is dropped, never half-done.
    pub fn stop(&self) {
        let mut st = self.inner.lock();
        st.stopping = true;
        st.requests.cancel_all();
        drop(st);
        self.inner.changed.notify_all();
        for u in &self.inner.units {
            u.changer.stop();
            for d in u.drives.iter().flatten() {
                d.worker.stop();
            }
        }
    }

    /// Commands sent per device: (device path, counts).
    pub fn device_stats(&self) -> Vec<(String, Stats)> {
        let mut out = Vec::new();
        for u in &self.inner.units {
            out.push((u.changer_path.clone(), u.changer_counter.snapshot()));
            for d in u.drives.iter().flatten() {
                out.push((d.path.clone(), d.counter.snapshot()));
            }
        }
        out
    }

    /// Jobs queued on each library's changer worker and requests not yet finished.
    pub fn queued(&self, library: usize) -> usize {
        let st = self.inner.lock();
        self.inner
            .units
            .get(library)
            .map_or(0, |u| st.requests.queued(&u.serial))
    }

    /// The index of the library `serial`; `None` picks the only one.
    ///
    /// # Errors
    /// `ERROR_INVALID_LIBRARY` when no library matches, or several do and none was named.
    pub fn library_index(&self, serial: Option<&str>) -> Result<usize, ControlError> {
        let units = &self.inner.units;
        match serial {
            Some(s) => units.iter().position(|u| u.serial == s).ok_or_else(|| {
                ControlError::refused(
                    Win32Code::ERROR_INVALID_LIBRARY,
                    format!("no library with changer serial {s}"),
                )
            }),
            None if units.len() == 1 => Ok(0),
            None if units.is_empty() => Err(ControlError::refused(
                Win32Code::ERROR_INVALID_LIBRARY,
                "the daemon controls no library",
            )),
            None => Err(ControlError::refused(
                Win32Code::ERROR_INVALID_LIBRARY,
                "several libraries: name one by its changer serial",
            )),
        }
    }

    pub(super) fn new_request(
        &self,
        st: &mut State,
        op: Operation,
        priority: i32,
        library: usize,
        drive: Option<String>,
        medium: Option<String>,
    ) -> (Uuid, CancelFlag) {
        let id = Uuid::new_v4();
        let flag = st.requests.add(LibraryRequest {
            id,
            operation: op,
            state: RequestState::Queued,
            priority,
            queued_ms: now_ms(),
            completed_ms: None,
            drive,
            medium,
            library: self.inner.units.get(library).map(|u| u.serial.clone()),
            error: None,
        });
        self.inner
            .notify(NotifyOperation::Insert, ObjectKind::Request, id);
        (id, flag)
    }

    pub(super) fn finish_request(&self, id: Uuid, result: Result<(), &ControlError>) {
        let (state, code) = match result {
            Ok(()) => (RequestState::Passed, None),
            Err(e) if e.code() == Win32Code::ERROR_CANCELLED => {
                (RequestState::Cancelled, Some(e.code()))
            }
            Err(e) => (RequestState::Failed, Some(e.code())),
        };
        self.inner.lock().requests.finish(id, state, code);
        self.inner.changed.notify_all();
        self.inner
            .notify(NotifyOperation::Update, ObjectKind::Request, id);
    }

    /// Waits until request `id` is over (or `limit` passes) and returns it.
    pub fn wait_request(&self, id: Uuid, limit: Duration) -> Option<LibraryRequest> {
        let until = Instant::now() + limit;
        let mut st = self.inner.lock();
        loop {
            let r = st.requests.get(id).cloned();
            match r {
                Some(r) if r.state.is_final() => return Some(r),
                None => return None,
                Some(r) if Instant::now() >= until => return Some(r),
                Some(_) => {}
            }
            let left = until.saturating_duration_since(Instant::now());
            st = self
                .inner
                .changed
                .wait_timeout(st, left.min(Duration::from_secs(1)))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Sets the function told of every cartridge the controller moved or whose state it
    /// changed, before the request it belongs to is reported done (the catalogue records it).
    pub fn set_observer(&self, f: Arc<dyn Fn(&Observed) + Send + Sync>) {
        *self
            .inner
            .observer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(f);
    }

    /// Tells the observer where the cartridge at `to` is now and in what state.
    pub(super) fn observe(&self, lib: usize, to: Location, state: CartridgeState) {
        let f = self
            .inner
            .observer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(f) = f else { return };
        let (barcode, home) = {
            let st = self.inner.lock();
            let c = st.models[lib].cartridge_at(to);
            (c.and_then(|c| c.barcode.clone()), c.and_then(|c| c.home))
        };
        f(&Observed {
            library: self.inner.units[lib].serial.clone(),
            barcode,
            at: to,
            home,
            state,
        });
    }

    pub(super) fn set_state(&self, id: Uuid, state: RequestState) {
        self.inner.lock().requests.update(id, |r| r.state = state);
        self.inner
            .notify(NotifyOperation::Update, ObjectKind::Request, id);
    }

    /// Runs `f` on library `lib`'s changer worker at `priority`, then handles the unit
    /// attentions it met: the affected element types are re-read there and then, before the
    /// picker takes its next job.
    ///
    /// # Errors
    /// `ERROR_CANCELLED` when the request was cancelled while queued; `ERROR_DEVICE_NOT_AVAILABLE`
    /// when the worker stopped.
    pub(super) fn on_changer<R: Send + 'static>(
        &self,
        lib: usize,
        priority: i32,
        cancel: Option<CancelFlag>,
        f: impl FnOnce(&mut ChangerDev<T>) -> R + Send + 'static,
    ) -> Result<R, ControlError> {
        let unit = &self.inner.units[lib];
        let me = self.clone();
        let was_cancel = cancel.clone();
        unit.changer
            .call(priority, cancel, move |c| {
                let r = f(c);
                me.after_changer_command(lib, c);
                r
            })
            .map_err(|_| {
                if was_cancel.as_ref().is_some_and(CancelFlag::is_set) {
                    ControlError::cancelled("the request")
                } else {
                    ControlError::worker_gone(&unit.changer_path)
                }
            })
    }

    /// Runs `f` on drive `drive` of library `lib`.
    ///
    /// # Errors
    /// `ERROR_DEVICE_NOT_AVAILABLE` when the drive has no device or its worker stopped.
    pub(super) fn on_drive<R: Send + 'static>(
        &self,
        lib: usize,
        drive: usize,
        f: impl FnOnce(&mut DriveDev<T>) -> R + Send + 'static,
    ) -> Result<R, ControlError> {
        let Some(unit) = self.inner.units[lib]
            .drives
            .get(drive)
            .and_then(Option::as_ref)
        else {
            return Err(ControlError::refused(
                Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
                "no drive device answers behind this drive element",
            ));
        };
        unit.worker
            .call(0, None, f)
            .map_err(|_| ControlError::worker_gone(&unit.path))
    }

    /// Re-reads the element types made stale by the changer's unit attentions since the last
    /// check (runs on the changer worker).
    fn after_changer_command(&self, lib: usize, c: &mut ChangerDev<T>) {
        let events = c.take_events();
        if events.is_empty() {
            return;
        }
        let kinds = affected_types(&events);
        if !kinds.is_empty() {
            self.reread(lib, c, &kinds);
        }
    }

    /// Reads `kinds` again and puts what the changer reports into the model.
    pub(super) fn reread(&self, lib: usize, c: &mut ChangerDev<T>, kinds: &[ElementKind]) {
        let map = {
            let st = self.inner.lock();
            st.models[lib].element_map()
        };
        let voltag = c.quirks().barcode_reader != Some(false);
        for &kind in kinds {
            let r = match kind {
                ElementKind::Transport => map.transport,
                ElementKind::Slot => map.storage,
                ElementKind::ImportExport => map.import_export,
                ElementKind::Drive => map.data_transfer,
            };
            if r.count == 0 {
                continue;
            }
            let opts = crate::changer::ReadOptions {
                voltag,
                dvcid: false,
            };
            match c.read_elements(smc_type(kind), ElementRange::new(r.first, r.count), &opts) {
                Ok(d) => {
                    let mut st = self.inner.lock();
                    st.models[lib].apply_status(kind, &d);
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind = kind.name(), "re-reading element status after a unit attention failed")
                }
            }
        }
        // Events raised by the re-read itself are already accounted for.
        let _ = c.take_events();
        let id = self.library_id(lib);
        self.inner
            .notify(NotifyOperation::Update, ObjectKind::Library, id);
    }

    /// Reads every element type of library `lib` again (`reel library --rescan`), after
    /// INITIALIZE ELEMENT STATUS when `initialize`.
    ///
    /// # Errors
    /// A device failure of INITIALIZE ELEMENT STATUS.
    pub fn rescan(&self, lib: usize, initialize: bool) -> Result<(), ControlError> {
        let me = self.clone();
        let (id, flag) = {
            let mut st = self.inner.lock();
            self.new_request(&mut st, Operation::Inventory, 0, lib, None, None)
        };
        self.set_state(id, RequestState::InProcess);
        let r = self
            .on_changer(lib, 0, Some(flag), move |c| {
                if initialize {
                    c.initialize_element_status()
                        .map_err(|e| ControlError::device(&e, "INITIALIZE ELEMENT STATUS"))?;
                }
                let _ = c.take_events();
                me.reread(
                    lib,
                    c,
                    &[
                        ElementKind::Transport,
                        ElementKind::Slot,
                        ElementKind::ImportExport,
                        ElementKind::Drive,
                    ],
                );
                Ok(())
            })
            .and_then(|r| r);
        self.finish_request(id, r.as_ref().map(|_| ()));
        r
    }

    /// The stable id of library `lib` (UUID v5 of its serial).
    pub fn library_id(&self, lib: usize) -> Uuid {
        let serial = self.inner.units.get(lib).map_or("", |u| u.serial.as_str());
        Uuid::new_v5(
            &crate::media::NAMESPACE,
            format!("library/{serial}").as_bytes(),
        )
    }

    /// A technician's move (`reel move` through the daemon, the mtx front): unloads first when
    /// the source is a drive holding a tape, then MOVE MEDIUM on the picker, then the model.
    /// Elements are checked against the library, not against the model's contents: the device
    /// decides (source empty 3B/0E, destination full 3B/0D) and its sense comes back decoded.
    ///
    /// # Errors
    /// `ERROR_INVALID_LIBRARY`; `ERROR_INVALID_PARAMETER` for an element the library lacks;
    /// `ERROR_BUSY` when an application has the drive mounted or a mount is working on it;
    /// device failures with their sense.
    pub fn move_element(
        &self,
        library: Option<&str>,
        from: Location,
        to: Location,
        priority: i32,
    ) -> Result<MoveDone, ControlError> {
        let lib = self.library_index(library)?;
        let priority = priority.clamp(*PRIORITY_RANGE.start(), *PRIORITY_RANGE.end());
        let (id, flag, barcode, drives) = {
            let mut st = self.inner.lock();
            let model = &st.models[lib];
            for l in [from, to] {
                if !model.has(l) {
                    return Err(ControlError::refused(
                        Win32Code::ERROR_INVALID_PARAMETER,
                        format!("{l} is not an element of library {}", model.serial),
                    ));
                }
            }
            let drives: Vec<usize> = [from, to]
                .iter()
                .filter(|l| l.kind == ElementKind::Drive)
                .filter_map(|l| model.drive_index(l.address))
                .collect();
            for &d in &drives {
                let mounted = st.mounts.iter().any(|m| m.library == lib && m.drive == d);
                if mounted || st.reserved.contains(&(lib, d)) {
                    return Err(ControlError::refused(
                        Win32Code::ERROR_BUSY,
                        format!(
                            "drive:{} is in use by a mount; dismount it first",
                            model.drives[d].address
                        ),
                    ));
                }
            }
            let barcode = model.cartridge_at(from).and_then(|c| c.barcode.clone());
            for &d in &drives {
                st.reserved.insert((lib, d));
            }
            let (id, flag) = self.new_request(
                &mut st,
                Operation::Move,
                priority,
                lib,
                Some(to.to_string()),
                barcode.clone(),
            );
            (id, flag, barcode, drives)
        };
        let r = self.do_move(lib, id, flag, from, to, priority);
        {
            let mut st = self.inner.lock();
            for d in &drives {
                st.reserved.remove(&(lib, *d));
            }
        }
        self.inner.changed.notify_all();
        self.finish_request(id, r.as_ref().map(|_| ()));
        r?;
        Ok(MoveDone {
            library: self.inner.units[lib].serial.clone(),
            from: from.to_string(),
            to: to.to_string(),
            barcode,
            request: id,
        })
    }

    /// A technician's EXCHANGE MEDIUM (the mtx front's `exchange` through the daemon):
    /// unloads a drive among `source` and `first` that holds a loaded tape, then EXCHANGE
    /// MEDIUM on the picker, then the model as for two moves. Rights, drive checks and
    /// errors as [`Controller::move_element`].
    ///
    /// # Errors
    /// As [`Controller::move_element`].
    pub fn exchange_element(
        &self,
        library: Option<&str>,
        source: Location,
        first: Location,
        second: Location,
        priority: i32,
    ) -> Result<MoveDone, ControlError> {
        let lib = self.library_index(library)?;
        let priority = priority.clamp(*PRIORITY_RANGE.start(), *PRIORITY_RANGE.end());
        let (id, flag, barcode, drives) =
            self.reserve_elements(lib, &[source, first, second], priority, first)?;
        let r = (|| {
            if flag.is_set() {
                return Err(ControlError::cancelled("the exchange"));
            }
            self.set_state(id, RequestState::InProcess);
            for l in [source, first] {
                self.unload_if_loaded(lib, l)?;
            }
            let transport = self.inner.lock().models[lib].transport;
            let me = self.clone();
            self.on_changer(lib, priority, Some(flag), move |c| {
                c.exchange_medium(
                    transport,
                    source.address,
                    first.address,
                    second.address,
                    false,
                    false,
                )
                .map_err(|e| {
                    ControlError::device(&e, &format!("exchanging {source} and {first}"))
                })?;
                let applied = me.inner.lock().models[lib].apply_exchange(source, first, second);
                if let Err(e) = applied {
                    tracing::warn!(error = %e, "the model disagreed with a completed exchange; re-reading");
                    let mut kinds = vec![source.kind, first.kind, second.kind];
                    kinds.sort();
                    kinds.dedup();
                    me.reread(lib, c, &kinds);
                }
                for l in [first, second] {
                    let state = if l.kind == ElementKind::Drive {
                        CartridgeState::Mounted
                    } else {
                        CartridgeState::Idle
                    };
                    me.observe(lib, l, state);
                }
                Ok(())
            })?
            .inspect(|()| {
                let lid = self.library_id(lib);
                self.inner
                    .notify(NotifyOperation::Update, ObjectKind::Library, lid);
            })
        })();
        self.release_drives(lib, &drives);
        self.finish_request(id, r.as_ref().map(|_| ()));
        r?;
        Ok(MoveDone {
            library: self.inner.units[lib].serial.clone(),
            from: source.to_string(),
            to: first.to_string(),
            barcode,
            request: id,
        })
    }

    /// A technician's POSITION TO ELEMENT: the picker moves in front of `to`; nothing in the
    /// model changes. Answers the library's serial.
    ///
    /// # Errors
    /// `ERROR_INVALID_LIBRARY`; `ERROR_INVALID_PARAMETER` for an element the library lacks;
    /// device failures with their sense.
    pub fn position_element(
        &self,
        library: Option<&str>,
        to: Location,
        priority: i32,
    ) -> Result<String, ControlError> {
        let lib = self.library_index(library)?;
        let priority = priority.clamp(*PRIORITY_RANGE.start(), *PRIORITY_RANGE.end());
        let (id, flag, _, drives) = self.reserve_elements(lib, &[to], priority, to)?;
        self.release_drives(lib, &drives);
        let transport = self.inner.lock().models[lib].transport;
        self.set_state(id, RequestState::InProcess);
        let r = self
            .on_changer(lib, priority, Some(flag), move |c| {
                c.position_to_element(transport, to.address, false)
                    .map_err(|e| ControlError::device(&e, &format!("positioning at {to}")))
            })
            .and_then(|r| r);
        self.finish_request(id, r.as_ref().map(|_| ()));
        r?;
        Ok(self.inner.units[lib].serial.clone())
    }

    /// Checks `elements` against library `lib`, refuses a drive in use by a mount, reserves
    /// the drives among them and opens a move request towards `to`.
    fn reserve_elements(
        &self,
        lib: usize,
        elements: &[Location],
        priority: i32,
        to: Location,
    ) -> Result<(Uuid, CancelFlag, Option<String>, Vec<usize>), ControlError> {
        let mut st = self.inner.lock();
        let model = &st.models[lib];
        for &l in elements {
            if !model.has(l) {
                return Err(ControlError::refused(
                    Win32Code::ERROR_INVALID_PARAMETER,
                    format!("{l} is not an element of library {}", model.serial),
                ));
            }
        }
        let mut drives: Vec<usize> = elements
            .iter()
            .filter(|l| l.kind == ElementKind::Drive)
            .filter_map(|l| model.drive_index(l.address))
            .collect();
        drives.sort_unstable();
        drives.dedup();
        for &d in &drives {
            let mounted = st.mounts.iter().any(|m| m.library == lib && m.drive == d);
            if mounted || st.reserved.contains(&(lib, d)) {
                return Err(ControlError::refused(
                    Win32Code::ERROR_BUSY,
                    format!(
                        "drive:{} is in use by a mount; dismount it first",
                        model.drives[d].address
                    ),
                ));
            }
        }
        let barcode = elements
            .first()
            .and_then(|&l| model.cartridge_at(l))
            .and_then(|c| c.barcode.clone());
        for &d in &drives {
            st.reserved.insert((lib, d));
        }
        let (id, flag) = self.new_request(
            &mut st,
            Operation::Move,
            priority,
            lib,
            Some(to.to_string()),
            barcode.clone(),
        );
        Ok((id, flag, barcode, drives))
    }

    fn release_drives(&self, lib: usize, drives: &[usize]) {
        {
            let mut st = self.inner.lock();
            for d in drives {
                st.reserved.remove(&(lib, *d));
            }
        }
        self.inner.changed.notify_all();
    }

    /// Unloads the drive at `l` when it holds a loaded tape.
    fn unload_if_loaded(&self, lib: usize, l: Location) -> Result<(), ControlError> {
        if l.kind != ElementKind::Drive {
            return Ok(());
        }
        let found = {
            let st = self.inner.lock();
            let m = &st.models[lib];
            m.drive_index(l.address).map(|d| {
                (
                    d,
                    m.drives[d].cartridge.is_some() && m.drives[d].path.is_some(),
                )
            })
        };
        match found {
            Some((d, true)) => self.unload(lib, d),
            _ => Ok(()),
        }
    }

    fn do_move(
        &self,
        lib: usize,
        id: Uuid,
        flag: CancelFlag,
        from: Location,
        to: Location,
        priority: i32,
    ) -> Result<(), ControlError> {
        if flag.is_set() {
            return Err(ControlError::cancelled("the move"));
        }
        self.set_state(id, RequestState::InProcess);
        if from.kind == ElementKind::Drive {
            let (d, loaded) = {
                let st = self.inner.lock();
                let m = &st.models[lib];
                let d = m.drive_index(from.address).unwrap_or(0);
                (
                    d,
                    m.drives[d].cartridge.is_some() && m.drives[d].path.is_some(),
                )
            };
            if loaded {
                self.unload(lib, d)?;
            }
        }
        self.changer_move(lib, from, to, priority, Some(flag))
    }

    /// UNLOAD on drive `d` (a drive without a tape is not an error); the drive becomes
    /// `Unloaded`.
    pub(super) fn unload(&self, lib: usize, d: usize) -> Result<(), ControlError> {
        let r = self.on_drive(lib, d, |drive| match drive.unload(false) {
            Ok(()) => Ok(()),
            Err(e) if e.is_no_medium() => Ok(()),
            Err(e) => Err(ControlError::device(&e, "unloading the tape")),
        })?;
        if r.is_ok() {
            let mut st = self.inner.lock();
            let drive = &mut st.models[lib].drives[d];
            if drive.cartridge.is_some() {
                drive.state = DriveState::Unloaded;
            }
        }
        r
    }

    /// MOVE MEDIUM on the picker, then the model. A model that disagrees with a move the
    /// changer carried out is corrected by re-reading both element types.
    pub(super) fn changer_move(
        &self,
        lib: usize,
        from: Location,
        to: Location,
        priority: i32,
        cancel: Option<CancelFlag>,
    ) -> Result<(), ControlError> {
        let transport = self.inner.lock().models[lib].transport;
        let me = self.clone();
        self.on_changer(lib, priority, cancel, move |c| {
            c.move_medium(transport, from.address, to.address, false)
                .map_err(|e| ControlError::device(&e, &format!("moving {from} to {to}")))?;
            let applied = me.inner.lock().models[lib].apply_move(from, to);
            if let Err(e) = applied {
                tracing::warn!(error = %e, "the model disagreed with a completed move; re-reading");
                let mut kinds = vec![from.kind, to.kind];
                kinds.sort();
                kinds.dedup();
                me.reread(lib, c, &kinds);
            }
            let state = if to.kind == ElementKind::Drive {
                CartridgeState::Mounted
            } else {
                CartridgeState::Idle
            };
            me.observe(lib, to, state);
            Ok(())
        })?
        .inspect(|()| {
            let lid = self.library_id(lib);
            self.inner
                .notify(NotifyOperation::Update, ObjectKind::Library, lid);
        })
    }
}

/// The devices of every library of `inventory`, opened with `open` (device path → transport):
/// what [`Controller::start`] takes. A drive that fails to open is left out (its element
/// stays, with no device) and logged.
///
/// # Errors
/// When a changer cannot be opened.
pub fn take_over<T, E: std::fmt::Display>(
    inventory: &crate::discovery::Inventory,
    nodes: &dyn Fn(&str) -> super::model::DeviceNodes,
    open: &mut dyn FnMut(&str) -> Result<T, E>,
) -> Result<Vec<LibraryDevices<T>>, E> {
    let mut out = Vec::new();
    for lib in &inventory.libraries {
        let model = LibraryModel::from_discovered(lib, nodes);
        let changer = open(&model.changer_path)?;
        let drives = model
            .drives
            .iter()
            .map(|d| {
                let path = d.path.as_deref()?;
                match open(path) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        tracing::warn!(drive = path, error = %e, "cannot open the drive; it is left out");
                        None
                    }
                }
            })
            .collect();
        out.push(LibraryDevices {
            model,
            changer,
            drives,
        });
    }
    Ok(out)
}
