//! MountNtmsMedia, DismountNtmsMedia and DismountNtmsDrive as plans over the workers
//! (`rsm-media-and-mounts.md` §3, §4): choose a drive → maybe put its deferred cartridge away →
//! MOVE MEDIUM → wait for readiness, each step reflected in the model before the next.
//!
//! Drive choice (§3 [design]): the drive already holding the medium (a deferred dismount: no
//! move); else an empty drive; else one holding a DISMOUNTABLE cartridge; least recently used
//! among equals. A mount waiting for a drive yields to every waiter of higher priority, and to
//! earlier ones of the same priority, that could use the same drive; a waiter whose medium is
//! itself busy blocks no drive (so two sessions cannot deadlock on each other's media).
//!
//! Decisions where the spec is silent:
//! - One library request per call, covering all its media (the call is all-or-nothing).
//! - A failed readiness wait puts the cartridge back home (unload, move) unless the drive went
//!   offline, in which case the cartridge stays where it is and the drive is taken out of use.
//! - A drive reporting 02/04/02 ("initializing command required") after a move gets one LOAD.
//! - A put-away returns the cartridge to its home slot, else to the lowest empty slot that is
//!   no other absent cartridge's home.

use std::sync::Weak;
use std::time::{Duration, Instant};

use reel_hw::sense::Sense;
use reel_hw::{Transport, TransportErrorKind};
use serde::Serialize;
use uuid::Uuid;

use super::core::{
    CartridgeState, Controller, DriveDev, Inner, Mounted, State, Waiter, LATENCY_BUCKETS,
};
use super::error::ControlError;
use super::model::{DeviceNodes, DriveState};
use super::notify::{NotifyOperation, ObjectKind};
use super::request::{CancelFlag, Operation, RequestState, PRIORITY_RANGE};
use crate::discovery::{ElementKind, Location};
use crate::drive::Readiness;
use crate::pool::Win32Code;

/// A medium as a mount names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediumRef {
    /// Its barcode.
    Barcode(String),
    /// Whatever cartridge is at this element.
    At(Location),
}

/// Options of a mount (§3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// `WRITE`: the drive must write the type.
    pub write: bool,
    /// `ERROR_IF_UNAVAILABLE`: fail at once with `ERROR_BUSY` instead of waiting.
    pub error_if_unavailable: bool,
    /// `SPECIFIC_DRIVE`: this drive (serial, id, or `drive:ADDRESS`).
    pub drive: Option<String>,
    /// −15 … 15.
    pub priority: i32,
    /// How long the whole mount may take (`None`: no limit beyond the readiness wait).
    pub timeout: Option<Duration>,
    /// The library (changer serial); `None` searches every library.
    pub library: Option<String>,
}

/// The drive a medium was mounted in, as the application opens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriveInfo {
    /// The drive's id.
    pub id: Uuid,
    /// Its library (changer serial).
    pub library: String,
    /// Its element address.
    pub address: u16,
    /// Its serial.
    pub serial: Option<String>,
    /// `/dev/sgN`.
    pub sg: Option<String>,
    /// `/dev/nstN`.
    pub nst: Option<String>,
}

/// One mounted medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountedMedium {
    /// The medium's key (its barcode).
    pub medium: String,
    /// Its barcode.
    pub barcode: Option<String>,
    /// Where it is mounted.
    pub drive: DriveInfo,
}

/// One dismounted medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dismounted {
    /// The medium's key.
    pub medium: String,
    /// Its barcode.
    pub barcode: Option<String>,
    /// `dismountable` (deferred) or `dismounting` (queued to go home).
    pub state: &'static str,
    /// The request putting it away (immediate dismounts).
    pub request: Option<Uuid>,
}

enum Step {
    /// Already in the chosen drive.
    Reuse,
    /// Move it from `from` into the drive.
    Move { from: Location },
}

fn drive_loc(address: u16) -> Location {
    Location {
        kind: ElementKind::Drive,
        address,
    }
}

fn busy(msg: String) -> ControlError {
    ControlError::refused(Win32Code::ERROR_BUSY, msg)
}

fn sense_error(code: Win32Code, device: &str, sense: Sense, what: &str) -> ControlError {
    ControlError::Device {
        code,
        device: device.to_owned(),
        op: "TEST UNIT READY".to_owned(),
        message: format!("{what} ({device}: {sense})"),
        sense: Some(sense),
    }
}

/// How a readiness wait ended badly.
struct NotReady {
    error: Box<ControlError>,
    offline: bool,
}

impl<T: Transport + Send + 'static> Controller<T> {
    /// The library index and key of `m`.
    fn resolve(
        &self,
        st: &State,
        m: &MediumRef,
        library: Option<usize>,
    ) -> Result<(usize, String), ControlError> {
        for (i, model) in st.models.iter().enumerate() {
            if library.is_some_and(|l| l != i) {
                continue;
            }
            match m {
                MediumRef::Barcode(b) => {
                    if model.find_barcode(b).is_some() {
                        return Ok((i, b.clone()));
                    }
                }
                MediumRef::At(loc) => {
                    if let Some(c) = model.cartridge_at(*loc) {
                        let key = c.barcode.clone().ok_or_else(|| {
                            ControlError::refused(
                                Win32Code::ERROR_INVALID_MEDIA,
                                format!("the cartridge at {loc} has no readable barcode"),
                            )
                        })?;
                        return Ok((i, key));
                    }
                }
            }
        }
        let what = match m {
            MediumRef::Barcode(b) => format!("no cartridge labelled {b} is in the library"),
            MediumRef::At(l) => format!("{l} holds no cartridge"),
        };
        Err(ControlError::refused(Win32Code::ERROR_INVALID_MEDIA, what))
    }

    fn find_drive(&self, st: &State, lib: usize, r: &str) -> Option<usize> {
        let want_addr = r.strip_prefix("drive:").and_then(|a| a.parse::<u16>().ok());
        let want_id = Uuid::parse_str(r).ok();
        st.models[lib].drives.iter().position(|d| {
            d.serial.as_deref() == Some(r) || want_id == Some(d.id) || want_addr == Some(d.address)
        })
    }

    /// The drive description of `(lib, d)`.
    fn drive_info(&self, st: &State, lib: usize, d: usize) -> DriveInfo {
        let drive = &st.models[lib].drives[d];
        let DeviceNodes { sg, nst } = drive.nodes.clone();
        DriveInfo {
            id: drive.id,
            library: st.models[lib].serial.clone(),
            address: drive.address,
            serial: drive.serial.clone(),
            sg,
            nst,
        }
    }

    /// MountNtmsMedia: mounts every medium of `media` (all or none) and returns once each
    /// drive is ready.
    ///
    /// # Errors
    /// The codes of §3: `ERROR_INVALID_MEDIA` (unknown or duplicate), `ERROR_BUSY`,
    /// `ERROR_TIMEOUT`, `ERROR_DRIVE_MEDIA_MISMATCH`, `ERROR_INVALID_DRIVE`,
    /// `ERROR_NO_SUPPORTING_DRIVES`, `ERROR_CANCELLED`, `ERROR_INVALID_LIBRARY`, device failures
    /// (`ERROR_UNABLE_TO_LOAD_MEDIUM`, `ERROR_DEVICE_NOT_AVAILABLE`) with their sense.
    pub fn mount(
        &self,
        media: &[MediumRef],
        opts: &MountOptions,
        session: u64,
    ) -> Result<Vec<MountedMedium>, ControlError> {
        let (id, flag, lib, keys) = self.queue_mount(media, opts)?;
        let r = self.run_mount(id, &flag, lib, &keys, opts, session);
        self.finish_request(id, r.as_ref().map(|_| ()));
        r
    }

    /// MountNtmsMedia with `NOWAIT`: queues the mount and returns its request id; its end is
    /// announced by an `EVENT_COMPLETE` notification and kept in the request.
    ///
    /// # Errors
    /// What is known before any device work: unknown or duplicate media, a bad library.
    pub fn mount_nowait(
        &self,
        media: &[MediumRef],
        opts: &MountOptions,
        session: u64,
    ) -> Result<Uuid, ControlError> {
        let (id, flag, lib, keys) = self.queue_mount(media, opts)?;
        let me = self.clone();
        let opts = opts.clone();
        let spawned = std::thread::Builder::new()
            .name("reel-mount".into())
            .spawn(move || {
                let r = me.run_mount(id, &flag, lib, &keys, &opts, session);
                me.finish_request(id, r.as_ref().map(|_| ()));
                me.inner
                    .notify(NotifyOperation::Complete, ObjectKind::Request, id);
            });
        if let Err(e) = spawned {
            let err = ControlError::refused(
                Win32Code::ERROR_NOT_ENOUGH_MEMORY,
                format!("cannot start the mount: {e}"),
            );
            self.finish_request(id, Err(&err));
            return Err(err);
        }
        Ok(id)
    }

    fn queue_mount(
        &self,
        media: &[MediumRef],
        opts: &MountOptions,
    ) -> Result<(Uuid, CancelFlag, usize, Vec<String>), ControlError> {
        if media.is_empty() {
            return Err(ControlError::refused(
                Win32Code::ERROR_INVALID_PARAMETER,
                "name at least one medium to mount",
            ));
        }
        if !PRIORITY_RANGE.contains(&opts.priority) {
            return Err(ControlError::refused(
                Win32Code::ERROR_INVALID_PARAMETER,
                format!("priority {} is outside -15..15", opts.priority),
            ));
        }
        let library = opts
            .library
            .as_deref()
            .map(|s| self.library_index(Some(s)))
            .transpose()?;
        let mut st = self.inner.lock();
        let mut keys: Vec<String> = Vec::new();
        let mut lib = None;
        for m in media {
            let (l, key) = self.resolve(&st, m, library)?;
            if keys.contains(&key) {
                return Err(ControlError::refused(
                    Win32Code::ERROR_INVALID_MEDIA,
                    format!("{key} is named twice in one mount"),
                ));
            }
            if lib.is_some_and(|x| x != l) {
                return Err(ControlError::refused(
                    Win32Code::ERROR_INVALID_MEDIA,
                    "the media of one mount must be in one library",
                ));
            }
            lib = Some(l);
            keys.push(key);
        }
        let lib = lib.unwrap_or(0);
        if let Some(r) = &opts.drive {
            if self.find_drive(&st, lib, r).is_none() {
                let elsewhere = (0..st.models.len()).any(|l| self.find_drive(&st, l, r).is_some());
                let code = if elsewhere {
                    Win32Code::ERROR_DRIVE_MEDIA_MISMATCH
                } else {
                    Win32Code::ERROR_INVALID_DRIVE
                };
                return Err(ControlError::refused(
                    code,
                    format!(
                        "drive {r} is not a drive of library {}",
                        st.models[lib].serial
                    ),
                ));
            }
        }
        let (id, flag) = self.new_request(
            &mut st,
            Operation::Mount,
            opts.priority,
            lib,
            opts.drive.clone(),
            Some(keys.join(",")),
        );
        Ok((id, flag, lib, keys))
    }

    fn run_mount(
        &self,
        id: Uuid,
        flag: &CancelFlag,
        lib: usize,
        keys: &[String],
        opts: &MountOptions,
        session: u64,
    ) -> Result<Vec<MountedMedium>, ControlError> {
        let started = Instant::now();
        let deadline = opts.timeout.map(|t| started + t);
        let mut done: Vec<(MountedMedium, usize)> = Vec::new();
        for key in keys {
            match self.mount_one(id, flag, lib, key, opts, session, deadline) {
                Ok(m) => done.push(m),
                Err(e) => {
                    for (m, d) in done {
                        self.release_for_dismount(lib, d, &m.medium);
                    }
                    self.inner.lock().figures.failed += 1;
                    return Err(e);
                }
            }
        }
        let spent = started.elapsed();
        let mut st = self.inner.lock();
        st.figures.mounts += 1;
        st.figures.latency_sum += spent;
        let s = spent.as_secs_f64();
        let b = LATENCY_BUCKETS
            .iter()
            .position(|&u| s <= u)
            .unwrap_or(LATENCY_BUCKETS.len());
        st.figures.buckets[b] += 1;
        Ok(done.into_iter().map(|(m, _)| m).collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn mount_one(
        &self,
        id: Uuid,
        flag: &CancelFlag,
        lib: usize,
        key: &str,
        opts: &MountOptions,
        session: u64,
        deadline: Option<Instant>,
    ) -> Result<(MountedMedium, usize), ControlError> {
        let (d, step, source_drive) = self.acquire(id, flag, lib, key, opts, deadline)?;
        self.set_state(id, RequestState::InProcess);
        {
            let mut st = self.inner.lock();
            let serial = st.models[lib].drives[d].serial.clone();
            st.requests.update(id, |r| r.drive = serial);
        }
        let r = self.execute(lib, d, step, source_drive, opts, deadline, flag);
        let mut st = self.inner.lock();
        st.moving.remove(&(lib, key.to_owned()));
        st.reserved.remove(&(lib, d));
        if let Some(s) = source_drive {
            st.reserved.remove(&(lib, s));
        }
        let out = match r {
            Ok(()) => {
                st.tick += 1;
                let tick = st.tick;
                let drive = &mut st.models[lib].drives[d];
                drive.state = DriveState::Loaded;
                drive.last_used = tick;
                st.deferred.retain(|&(_, l, x)| (l, x) != (lib, d));
                st.mounts.push(Mounted {
                    library: lib,
                    drive: d,
                    medium: key.to_owned(),
                    session,
                });
                let barcode = st.models[lib].drives[d]
                    .cartridge
                    .as_ref()
                    .and_then(|c| c.barcode.clone());
                Ok((
                    MountedMedium {
                        medium: key.to_owned(),
                        barcode,
                        drive: self.drive_info(&st, lib, d),
                    },
                    d,
                ))
            }
            Err(e) => Err(e),
        };
        let drive_id = st.models[lib].drives[d].id;
        let address = st.models[lib].drives[d].address;
        drop(st);
        if out.is_ok() {
            self.observe(lib, drive_loc(address), CartridgeState::Loaded);
        }
        self.inner.changed.notify_all();
        self.inner
            .notify(NotifyOperation::Update, ObjectKind::Drive, drive_id);
        out
    }

    /// Waits until a drive and the medium are free, then reserves them.
    fn acquire(
        &self,
        id: Uuid,
        flag: &CancelFlag,
        lib: usize,
        key: &str,
        opts: &MountOptions,
        deadline: Option<Instant>,
    ) -> Result<(usize, Step, Option<usize>), ControlError> {
        let mut st = self.inner.lock();
        let mut my_seq: Option<u64> = None;
        let leave = |st: &mut State| st.waiters.retain(|w| w.id != id);
        loop {
            if st.stopping || flag.is_set() {
                leave(&mut st);
                return Err(ControlError::cancelled("the mount"));
            }
            let Some(loc) = st.models[lib].find_barcode(key) else {
                leave(&mut st);
                return Err(ControlError::refused(
                    Win32Code::ERROR_INVALID_MEDIA,
                    format!("{key} is no longer in library {}", st.models[lib].serial),
                ));
            };
            let model = &st.models[lib];
            let media_type = model.cartridge_at(loc).and_then(|c| c.media_type);
            let specific = opts
                .drive
                .as_deref()
                .and_then(|r| self.find_drive(&st, lib, r));
            let handles: Vec<usize> = (0..model.drives.len())
                .filter(|&i| model.drives[i].handles(media_type, opts.write))
                .filter(|&i| specific.map_or(true, |s| s == i))
                .collect();
            if handles.is_empty() {
                leave(&mut st);
                let (code, what) = match specific {
                    Some(_) => (
                        Win32Code::ERROR_DRIVE_MEDIA_MISMATCH,
                        "the chosen drive cannot",
                    ),
                    None => (
                        Win32Code::ERROR_NO_SUPPORTING_DRIVES,
                        "no drive of the library can",
                    ),
                };
                let verb = if opts.write { "write" } else { "read" };
                let t = media_type.map_or("this medium", |t| t.name());
                return Err(ControlError::refused(
                    code,
                    format!("{what} {verb} {t} ({key})"),
                ));
            }
            let eligible: Vec<usize> = handles
                .iter()
                .copied()
                .filter(|&i| model.drives[i].online && model.drives[i].path.is_some())
                .collect();
            if eligible.is_empty() {
                leave(&mut st);
                return Err(ControlError::refused(
                    Win32Code::ERROR_RESOURCE_DISABLED,
                    format!("every drive that could take {key} is offline"),
                ));
            }
            let medium_busy = st.moving.contains(&(lib, key.to_owned()))
                || st
                    .mounts
                    .iter()
                    .any(|m| m.library == lib && m.medium == key);
            let free = |i: usize| {
                !st.reserved.contains(&(lib, i))
                    && !st.mounts.iter().any(|m| m.library == lib && m.drive == i)
            };
            let seq = my_seq.unwrap_or(u64::MAX);
            let yields = |i: usize| {
                st.waiters.iter().any(|w| {
                    w.id != id
                        && w.library == lib
                        && w.eligible.contains(&i)
                        && (w.priority > opts.priority
                            || (w.priority == opts.priority && w.seq < seq))
                })
            };
            let mut chosen = None;
            if !medium_busy {
                let here = (loc.kind == ElementKind::Drive)
                    .then(|| model.drive_index(loc.address))
                    .flatten();
                match here {
                    Some(h) if eligible.contains(&h) && free(h) => {
                        chosen = Some((h, Step::Reuse, None));
                    }
                    Some(h) if !free(h) => {}
                    _ => {
                        let mut c: Vec<usize> = eligible
                            .iter()
                            .copied()
                            .filter(|&i| free(i) && !yields(i))
                            .collect();
                        c.sort_by_key(|&i| {
                            let d = &model.drives[i];
                            (d.cartridge.is_some(), d.last_used, d.address)
                        });
                        if let Some(&d) = c.first() {
                            chosen = Some((d, Step::Move { from: loc }, here));
                        }
                    }
                }
            }
            if let Some((d, step, src)) = chosen {
                leave(&mut st);
                st.reserved.insert((lib, d));
                if let Some(s) = src {
                    st.reserved.insert((lib, s));
                }
                st.moving.insert((lib, key.to_owned()));
                return Ok((d, step, src));
            }
            if opts.error_if_unavailable {
                leave(&mut st);
                let what = if medium_busy {
                    format!("{key} is in use")
                } else {
                    "every drive that could take it is in use".to_owned()
                };
                return Err(busy(what));
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                leave(&mut st);
                return Err(busy(format!(
                    "{key} or every drive that could take it stayed busy until the timeout"
                )));
            }
            // Wait in line; a waiter whose medium is busy blocks no drive.
            let blocks = if medium_busy { Vec::new() } else { eligible };
            if my_seq.is_none() {
                st.seq += 1;
                my_seq = Some(st.seq);
                let w = Waiter {
                    id,
                    library: lib,
                    priority: opts.priority,
                    seq: st.seq,
                    eligible: blocks,
                };
                st.waiters.push(w);
                st.requests.update(id, |r| r.state = RequestState::Waiting);
                self.inner
                    .notify(NotifyOperation::Update, ObjectKind::Request, id);
            } else if let Some(w) = st.waiters.iter_mut().find(|w| w.id == id) {
                w.eligible = blocks;
            }
            let wait = deadline.map_or(Duration::from_secs(1), |d| {
                d.saturating_duration_since(now).min(Duration::from_secs(1))
            });
            st = self
                .inner
                .changed
                .wait_timeout(st, wait)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        lib: usize,
        d: usize,
        step: Step,
        source_drive: Option<usize>,
        opts: &MountOptions,
        deadline: Option<Instant>,
        flag: &CancelFlag,
    ) -> Result<(), ControlError> {
        let address = self.inner.lock().models[lib].drives[d].address;
        if let Step::Move { from } = step {
            let occupied = self.inner.lock().models[lib].drives[d].cartridge.is_some();
            if occupied {
                self.put_away_now(lib, d, opts.priority)?;
            }
            if let Some(s) = source_drive {
                self.unload(lib, s)?;
            }
            self.changer_move(
                lib,
                from,
                drive_loc(address),
                opts.priority,
                Some(flag.clone()),
            )?;
        }
        let ready_by = Instant::now() + self.inner.config.ready_timeout;
        let ready_by = deadline.map_or(ready_by, |x| x.min(ready_by));
        match self.wait_ready(lib, d, ready_by) {
            Ok(()) => Ok(()),
            Err(NotReady { error, offline }) => {
                if offline {
                    let mut st = self.inner.lock();
                    st.models[lib].drives[d].online = false;
                    tracing::warn!(
                        drive = address,
                        "drive offline: taken out of use until a restart"
                    );
                } else if let Err(e) = self.put_away_now(lib, d, opts.priority) {
                    tracing::warn!(error = %e, drive = address, "could not put the cartridge back after a failed mount");
                }
                Err(*error)
            }
        }
    }

    /// Polls TEST UNIT READY on drive `d` until it is ready or `by` passes.
    fn wait_ready(&self, lib: usize, d: usize, by: Instant) -> Result<(), NotReady> {
        let poll = self.inner.config.ready_poll;
        let r = self.on_drive(lib, d, move |drive: &mut DriveDev<T>| {
            let dev = drive.device().to_owned();
            let mut loaded = false;
            let mut cleaning = false;
            loop {
                let state = match drive.readiness() {
                    Ok(s) => s,
                    Err(e) => {
                        let offline = e.transport_kind() == Some(TransportErrorKind::NoDevice);
                        return (
                            Err(NotReady {
                                error: Box::new(ControlError::device(&e, "waiting for the drive")),
                                offline,
                            }),
                            cleaning,
                        );
                    }
                };
                let fail = |code, sense, what: &str, offline| {
                    Err(NotReady {
                        error: Box::new(sense_error(code, &dev, sense, what)),
                        offline,
                    })
                };
                match state {
                    Readiness::Ready => return (Ok(()), cleaning),
                    Readiness::NeedsCleaning(_) => {
                        cleaning = true;
                        return (Ok(()), cleaning);
                    }
                    Readiness::IncompatibleMedium(s) => {
                        let r = fail(
                            Win32Code::ERROR_UNABLE_TO_LOAD_MEDIUM,
                            s,
                            "the drive rejected the medium",
                            false,
                        );
                        return (r, cleaning);
                    }
                    Readiness::CleaningCartridge => {
                        let err = ControlError::refused(
                            Win32Code::ERROR_UNABLE_TO_LOAD_MEDIUM,
                            format!("{dev}: a cleaning cartridge was loaded, not a data medium"),
                        );
                        return (
                            Err(NotReady {
                                error: Box::new(err),
                                offline: false,
                            }),
                            cleaning,
                        );
                    }
                    Readiness::Offline(s) => {
                        let r = fail(
                            Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
                            s,
                            "the drive is offline",
                            true,
                        );
                        return (r, cleaning);
                    }
                    Readiness::Other(s) if s.asc == 0x04 && s.ascq == 0x02 && !loaded => {
                        loaded = true;
                        if let Err(e) = drive.load(false) {
                            let error = ControlError::device(&e, "loading the tape")
                                .with_code(Win32Code::ERROR_UNABLE_TO_LOAD_MEDIUM);
                            return (
                                Err(NotReady {
                                    error: Box::new(error),
                                    offline: false,
                                }),
                                cleaning,
                            );
                        }
                        continue;
                    }
                    Readiness::Other(s) => {
                        let r = fail(
                            Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
                            s,
                            "the drive did not become ready",
                            false,
                        );
                        return (r, cleaning);
                    }
                    Readiness::BecomingReady | Readiness::NoMedium => {}
                }
                if Instant::now() + poll > by {
                    let err = ControlError::refused(
                        Win32Code::ERROR_TIMEOUT,
                        format!("{dev} did not become ready in time; the mount was cancelled"),
                    );
                    return (
                        Err(NotReady {
                            error: Box::new(err),
                            offline: false,
                        }),
                        cleaning,
                    );
                }
                std::thread::sleep(poll);
            }
        });
        let (r, cleaning) = r.map_err(|error| NotReady {
            error: Box::new(error),
            offline: false,
        })?;
        if cleaning {
            self.inner.lock().models[lib].drives[d].needs_cleaning = true;
        }
        r
    }

    /// Puts the cartridge in drive `d` away and waits (the drive is reserved by the caller).
    fn put_away_now(&self, lib: usize, d: usize, priority: i32) -> Result<(), ControlError> {
        let me = self.clone();
        self.on_drive(lib, d, move |drive| {
            me.put_away_with(drive, lib, d, priority)
        })?
    }

    /// On drive `d`'s worker: reads TapeAlert, unloads, then has the picker take the cartridge
    /// to its home (or the lowest free slot).
    fn put_away_with(
        &self,
        drive: &mut DriveDev<T>,
        lib: usize,
        d: usize,
        priority: i32,
    ) -> Result<(), ControlError> {
        if let Ok(alerts) = drive.tape_alerts() {
            if alerts.needs_cleaning() {
                self.inner.lock().models[lib].drives[d].needs_cleaning = true;
            }
        }
        match drive.unload(false) {
            Ok(()) => {}
            Err(e) if e.is_no_medium() => {}
            Err(e) => return Err(ControlError::device(&e, "unloading the tape")),
        }
        let from = {
            let mut st = self.inner.lock();
            let drv = &mut st.models[lib].drives[d];
            if drv.cartridge.is_none() {
                return Ok(());
            }
            drv.state = DriveState::Unloaded;
            drive_loc(drv.address)
        };
        let me = self.clone();
        let transport = self.inner.lock().models[lib].transport;
        self.on_changer(lib, priority, None, move |c| {
            let to = {
                let st = me.inner.lock();
                let model = &st.models[lib];
                let home = model.cartridge_at(from).and_then(|c| c.home);
                let absent: Vec<u16> = model
                    .drives
                    .iter()
                    .filter_map(|d| d.cartridge.as_ref()?.home)
                    .collect();
                match home.filter(|h| {
                    model
                        .cartridge_at(Location {
                            kind: ElementKind::Slot,
                            address: *h,
                        })
                        .is_none()
                }) {
                    Some(h) => Some(h),
                    None => model.lowest_empty_slot(&absent),
                }
            };
            let Some(to) = to else {
                return Err(ControlError::refused(
                    Win32Code::ERROR_LIBRARY_FULL,
                    "no empty storage slot to put the cartridge in",
                ));
            };
            let to = Location {
                kind: ElementKind::Slot,
                address: to,
            };
            c.move_medium(transport, from.address, to.address, false)
                .map_err(|e| ControlError::device(&e, &format!("moving {from} to {to}")))?;
            let applied = me.inner.lock().models[lib].apply_move(from, to);
            if let Err(e) = applied {
                tracing::warn!(error = %e, "the model disagreed with a completed move; re-reading");
                me.reread(lib, c, &[ElementKind::Slot, ElementKind::Drive]);
            }
            me.observe(lib, to, CartridgeState::Idle);
            Ok(())
        })?
    }

    /// A mount given up (an all-or-nothing call that failed later): back to its home.
    fn release_for_dismount(&self, lib: usize, d: usize, key: &str) {
        let id = {
            let mut st = self.inner.lock();
            st.mounts.retain(|m| !(m.library == lib && m.drive == d));
            self.begin_put_away(&mut st, lib, d, key, 0)
        };
        self.submit_put_away(lib, d, key.to_owned(), 0, id);
    }

    /// The bookkeeping of a put-away, under the caller's lock (so no mount can take the drive
    /// or the medium in between): drive and medium reserved, a dismount request queued.
    fn begin_put_away(
        &self,
        st: &mut State,
        lib: usize,
        d: usize,
        key: &str,
        priority: i32,
    ) -> Uuid {
        st.reserved.insert((lib, d));
        st.moving.insert((lib, key.to_owned()));
        st.deferred.retain(|&(_, l, x)| (l, x) != (lib, d));
        st.models[lib].drives[d].state = DriveState::Mounted;
        let serial = st.models[lib].drives[d].serial.clone();
        let (id, _) = self.new_request(
            st,
            Operation::Dismount,
            priority,
            lib,
            serial,
            Some(key.to_owned()),
        );
        id
    }

    /// Queues the put-away `begin_put_away` prepared on the drive's worker.
    fn submit_put_away(&self, lib: usize, d: usize, key: String, priority: i32, id: Uuid) {
        self.set_state(id, RequestState::InProcess);
        let me = self.clone();
        let held = key.clone();
        let job = move |drive: &mut DriveDev<T>| {
            let r = me.put_away_with(drive, lib, d, priority);
            if let Err(e) = &r {
                tracing::warn!(error = %e, "dismount failed");
            }
            let drive_id = {
                let mut st = me.inner.lock();
                st.reserved.remove(&(lib, d));
                st.moving.remove(&(lib, key));
                st.figures.dismounts += u64::from(r.is_ok());
                let drv = &mut st.models[lib].drives[d];
                if r.is_err() && drv.cartridge.is_some() {
                    drv.state = DriveState::Dismountable;
                }
                drv.id
            };
            me.inner.changed.notify_all();
            me.finish_request(id, r.as_ref().map(|_| ()));
            me.inner
                .notify(NotifyOperation::Update, ObjectKind::Drive, drive_id);
        };
        match self.inner.units[lib].drives.get(d).and_then(Option::as_ref) {
            Some(u) => {
                drop(u.worker.submit(priority, None, job));
            }
            None => {
                let err = ControlError::refused(
                    Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
                    "no drive device answers behind this drive element",
                );
                {
                    let mut st = self.inner.lock();
                    st.reserved.remove(&(lib, d));
                    st.moving.remove(&(lib, held));
                }
                self.inner.changed.notify_all();
                self.finish_request(id, Err(&err));
            }
        }
    }

    /// DismountNtmsMedia for media this session mounted: `deferred` leaves each in its drive
    /// (DISMOUNTABLE, put away after the library's delay); otherwise each is queued to go home
    /// and the call returns at once.
    ///
    /// # Errors
    /// `ERROR_INVALID_MEDIA` for an unknown medium; `ERROR_INVALID_STATE` when it is not
    /// mounted by this session.
    pub fn dismount(
        &self,
        media: &[MediumRef],
        deferred: bool,
        session: u64,
    ) -> Result<Vec<Dismounted>, ControlError> {
        let mut found = Vec::new();
        let mut st = self.inner.lock();
        {
            for m in media {
                let (lib, key) = self.resolve(&st, m, None)?;
                let Some(mount) = st
                    .mounts
                    .iter()
                    .find(|x| x.library == lib && x.medium == key)
                else {
                    return Err(ControlError::refused(
                        Win32Code::ERROR_INVALID_STATE,
                        format!("{key} is not mounted"),
                    ));
                };
                if mount.session != session {
                    return Err(ControlError::refused(
                        Win32Code::ERROR_INVALID_STATE,
                        format!("{key} was mounted by another session"),
                    ));
                }
                found.push((lib, mount.drive, key));
            }
        }
        let mut out = Vec::new();
        let mut jobs = Vec::new();
        for (lib, d, key) in found {
            let barcode = Some(key.clone());
            st.mounts.retain(|m| !(m.library == lib && m.drive == d));
            if deferred {
                self.dismountable_locked(&mut st, lib, d);
                out.push(Dismounted {
                    medium: key,
                    barcode,
                    state: "dismountable",
                    request: None,
                });
            } else {
                let id = self.begin_put_away(&mut st, lib, d, &key, 0);
                jobs.push((lib, d, key.clone(), id));
                out.push(Dismounted {
                    medium: key,
                    barcode,
                    state: "dismounting",
                    request: Some(id),
                });
            }
        }
        drop(st);
        for (lib, d, key, id) in jobs {
            self.submit_put_away(lib, d, key, 0, id);
        }
        self.inner.changed.notify_all();
        Ok(out)
    }

    /// DismountNtmsDrive: whatever drive `drive` holds goes home, whoever mounted it.
    ///
    /// # Errors
    /// `ERROR_INVALID_DRIVE` for an unknown drive; `ERROR_INVALID_STATE` for an empty one;
    /// `ERROR_BUSY` while a mount or dismount works on it.
    pub fn dismount_drive(&self, drive: &str) -> Result<Dismounted, ControlError> {
        let (lib, d, key, id) = {
            let mut st = self.inner.lock();
            let Some((lib, d)) =
                (0..st.models.len()).find_map(|l| self.find_drive(&st, l, drive).map(|d| (l, d)))
            else {
                return Err(ControlError::refused(
                    Win32Code::ERROR_INVALID_DRIVE,
                    format!("no drive {drive}"),
                ));
            };
            if st.reserved.contains(&(lib, d)) {
                return Err(busy(format!("drive {drive} is being worked on; try again")));
            }
            let Some(c) = st.models[lib].drives[d].cartridge.clone() else {
                return Err(ControlError::refused(
                    Win32Code::ERROR_INVALID_STATE,
                    format!("drive {drive} holds no medium"),
                ));
            };
            st.mounts.retain(|m| !(m.library == lib && m.drive == d));
            let key = c
                .barcode
                .unwrap_or_else(|| format!("drive:{}", st.models[lib].drives[d].address));
            let id = self.begin_put_away(&mut st, lib, d, &key, 0);
            (lib, d, key, id)
        };
        self.submit_put_away(lib, d, key.clone(), 0, id);
        Ok(Dismounted {
            barcode: Some(key.clone()),
            medium: key,
            state: "dismounting",
            request: Some(id),
        })
    }

    /// The drive keeps its cartridge, DISMOUNTABLE, until a mount needs it or the delay ends.
    fn dismountable_locked(&self, st: &mut State, lib: usize, d: usize) {
        st.models[lib].drives[d].state = DriveState::Dismountable;
        let at = Instant::now() + self.inner.config.deferred_delay;
        st.deferred.retain(|&(_, l, x)| (l, x) != (lib, d));
        st.deferred.push((at, lib, d));
        let id = st.models[lib].drives[d].id;
        self.inner
            .notify(NotifyOperation::Update, ObjectKind::Drive, id);
    }

    /// A session ended: its media stay in their drives, DISMOUNTABLE (§3 [design]).
    pub fn end_session(&self, session: u64) {
        let mut st = self.inner.lock();
        let mine: Vec<(usize, usize)> = st
            .mounts
            .iter()
            .filter(|m| m.session == session)
            .map(|m| (m.library, m.drive))
            .collect();
        st.mounts.retain(|m| m.session != session);
        for (lib, d) in mine {
            self.dismountable_locked(&mut st, lib, d);
        }
        drop(st);
        self.inner.changed.notify_all();
    }

    /// Writes `attrs` into the cartridge memory of `medium`: mounts it for writing, WRITE
    /// ATTRIBUTE on its drive's worker, then puts it home and waits for that (the OMID label
    /// of rsm-media-and-mounts §9, on the scheduler like every other physical work). `Ok(false)`
    /// when the drive refuses ATTRIBUTE commands (ILLEGAL REQUEST): no OMID then.
    ///
    /// # Errors
    /// As [`Controller::mount`]; a WRITE ATTRIBUTE failure other than ILLEGAL REQUEST with its
    /// sense.
    pub fn write_mam(
        &self,
        medium: MediumRef,
        library: Option<String>,
        attrs: Vec<crate::scsi::read_attribute::Attribute>,
    ) -> Result<bool, ControlError> {
        const SESSION: u64 = u64::MAX - 1;
        let opts = MountOptions {
            write: true,
            library,
            priority: 7,
            ..MountOptions::default()
        };
        let mounted = self.mount(std::slice::from_ref(&medium), &opts, SESSION)?;
        let m = &mounted[0];
        let (lib, d) = {
            let st = self.inner.lock();
            let lib = st
                .models
                .iter()
                .position(|x| x.serial == m.drive.library)
                .unwrap_or(0);
            let d = st.models[lib].drive_index(m.drive.address).unwrap_or(0);
            (lib, d)
        };
        let wrote = self.on_drive(lib, d, move |drive| match drive.write_mam(&attrs) {
            Ok(()) => Ok(true),
            Err(e) if e.is_sense_key(reel_hw::sense::SenseKey::ILLEGAL_REQUEST) => Ok(false),
            Err(e) => Err(ControlError::device(&e, "writing the cartridge memory")),
        });
        let down = self.dismount(&[MediumRef::Barcode(m.medium.clone())], false, SESSION);
        if let Ok(list) = &down {
            for id in list.iter().filter_map(|x| x.request) {
                self.wait_request(id, Duration::from_secs(3600));
            }
        }
        let wrote = wrote??;
        down?;
        Ok(wrote)
    }

    /// Media currently mounted: (library serial, drive address, medium key, session).
    pub fn mounted(&self) -> Vec<(String, u16, String, u64)> {
        let st = self.inner.lock();
        st.mounts
            .iter()
            .map(|m| {
                (
                    st.models[m.library].serial.clone(),
                    st.models[m.library].drives[m.drive].address,
                    m.medium.clone(),
                    m.session,
                )
            })
            .collect()
    }

    /// Waits until no plan is working on any drive (tests and benchmarks: dismounts queued
    /// in the background are done).
    pub fn settle(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut st = self.inner.lock();
        while !st.reserved.is_empty() {
            let now = Instant::now();
            if now >= until {
                return false;
            }
            st = self
                .inner
                .changed
                .wait_timeout(st, until - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// The deferred-dismount timer: puts away DISMOUNTABLE cartridges whose delay has passed.
pub(super) fn deferred_reaper<T: Transport + Send + 'static>(weak: Weak<Inner<T>>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let c = Controller { inner };
        let due: Vec<(usize, usize, String, Uuid)> = {
            let mut st = c.inner.lock();
            if st.stopping {
                return;
            }
            let now = Instant::now();
            let mut due = Vec::new();
            let mut keep = Vec::new();
            for (at, lib, d) in std::mem::take(&mut st.deferred) {
                let drive = &st.models[lib].drives[d];
                let idle = drive.state == DriveState::Dismountable
                    && !st.reserved.contains(&(lib, d))
                    && !st.mounts.iter().any(|m| m.library == lib && m.drive == d);
                if !idle {
                    continue;
                }
                if at <= now {
                    let key = drive
                        .cartridge
                        .as_ref()
                        .and_then(|c| c.barcode.clone())
                        .unwrap_or_else(|| format!("drive:{}", drive.address));
                    due.push((lib, d, key));
                } else {
                    keep.push((at, lib, d));
                }
            }
            st.deferred = keep;
            let due: Vec<(usize, usize, String, Uuid)> = due
                .into_iter()
                .map(|(lib, d, key)| {
                    let id = c.begin_put_away(&mut st, lib, d, &key, -15);
                    (lib, d, key, id)
                })
                .collect();
            if due.is_empty() {
                let next = st
                    .deferred
                    .iter()
                    .map(|(at, _, _)| at.saturating_duration_since(now))
                    .min()
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(1));
                let _ = c
                    .inner
                    .changed
                    .wait_timeout(st, next.max(Duration::from_millis(1)))
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            due
        };
        for (lib, d, key, id) in due {
            c.submit_put_away(lib, d, key, -15, id);
        }
    }
}
