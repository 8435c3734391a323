//! The daemon's hold on its devices: one thread owns the device backend and runs discovery
//! jobs one at a time.
//!
//! A medium changer has one robot, so everything that talks to a changer is serialized here;
//! the thread also keeps SG_IO off tokio's workers. The daemon's only device work today is
//! discovery (start-up and `library --rescan`), which reads every changer of the backend in
//! one pass, so one actor for the whole backend is the per-changer serialization. Drives
//! need no lock of their own yet: the daemon issues drive commands only inside discovery.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::Value;

use crate::media::MediaType;
use crate::pool::media::{Cartridge, LocationKind};
use crate::pool::work::{LabelOutcome, LabelRequest, MediaWork, WorkError};
use crate::pool::Win32Code;

use super::wire::Status;

/// What discovery found, as the daemon needs it.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// The cli.md `discover` document (served by `library`).
    pub document: Value,
    /// Each library's changer serial and the media types its drives can read.
    pub libraries: Vec<DiscoveredLibrary>,
}

/// One library as the pool layer registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredLibrary {
    /// The changer's serial number.
    pub serial: String,
    /// The changer's INQUIRY vendor.
    pub vendor: String,
    /// The changer's INQUIRY product.
    pub product: String,
    /// The changer's INQUIRY revision.
    pub revision: String,
    /// Media types at least one of its drives can read.
    pub media_types: Vec<MediaType>,
    /// Every cartridge in it (slots, I/E ports, drives, transports).
    pub cartridges: Vec<Cartridge>,
}

impl DiscoveredLibrary {
    /// The library as the pool layer registers it, from discovery's model.
    pub fn from_model(l: &crate::discovery::Library) -> DiscoveredLibrary {
        DiscoveredLibrary {
            serial: l.serial().to_owned(),
            vendor: l.changer.vendor.clone(),
            product: l.changer.product.clone(),
            revision: l.changer.revision.clone(),
            media_types: l.detected_media_types(),
            cartridges: cartridges(l),
        }
    }
}

/// Every full element of a discovered library as a [`Cartridge`] (no MAM label: reading one
/// needs the cartridge in a drive).
pub fn cartridges(l: &crate::discovery::Library) -> Vec<Cartridge> {
    let element = |kind: LocationKind, e: &crate::discovery::Element| Cartridge {
        kind,
        address: e.address,
        barcode: e.barcode.clone(),
        media_type: e.media_type,
        source: e.source,
        label: None,
    };
    let mut v = Vec::with_capacity(l.slots.len() + l.drives.len());
    v.extend(
        l.slots
            .iter()
            .filter(|e| e.full)
            .map(|e| element(LocationKind::Slot, e)),
    );
    v.extend(
        l.import_export
            .iter()
            .filter(|e| e.full)
            .map(|e| element(LocationKind::Ie, e)),
    );
    v.extend(
        l.drives
            .iter()
            .filter(|d| d.element.full)
            .map(|d| element(LocationKind::Drive, &d.element)),
    );
    v.extend(
        l.transports
            .iter()
            .filter(|e| e.full)
            .map(|e| element(LocationKind::Transport, e)),
    );
    v
}

/// Runs discovery on the backend; `true` asks for INITIALIZE ELEMENT STATUS first.
/// The error is a message for the operator.
pub type DiscoverFn = Box<dyn FnMut(bool) -> Result<Discovered, String> + Send>;

/// The work the device thread does, on the one device backend it owns.
pub trait DeviceJobs: Send {
    /// Runs discovery; `rescan` asks for INITIALIZE ELEMENT STATUS first.
    ///
    /// # Errors
    /// A message for the operator.
    fn discover(&mut self, rescan: bool) -> Result<Discovered, String>;

    /// Writes reel's label into a cartridge (see [`super::label`]).
    ///
    /// # Errors
    /// A message for the operator.
    fn write_label(&mut self, request: &LabelRequest) -> Result<LabelOutcome, String>;
}

/// A discovery function alone: it can discover, and has no drive work.
struct DiscoverOnly(DiscoverFn);

impl DeviceJobs for DiscoverOnly {
    fn discover(&mut self, rescan: bool) -> Result<Discovered, String> {
        (self.0)(rescan)
    }

    fn write_label(&mut self, _: &LabelRequest) -> Result<LabelOutcome, String> {
        Err("this device backend does no drive work".into())
    }
}

enum Job {
    Discover(bool, mpsc::SyncSender<Result<Discovered, String>>),
    Label(
        Box<LabelRequest>,
        mpsc::SyncSender<Result<LabelOutcome, String>>,
    ),
}

/// The device actor: send it a job, wait for the answer. Clones share the one thread.
#[derive(Debug, Clone)]
pub struct Devices {
    jobs: Arc<Mutex<mpsc::Sender<Job>>>,
}

impl Devices {
    /// Starts the thread that owns `discover` (and does no drive work).
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(discover: DiscoverFn) -> std::io::Result<Devices> {
        Devices::start_jobs(Box::new(DiscoverOnly(discover)))
    }

    /// Starts the thread that owns `jobs`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start_jobs(mut jobs: Box<dyn DeviceJobs>) -> std::io::Result<Devices> {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("reel-devices".into())
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Discover(rescan, reply) => {
                            let _ = reply.send(jobs.discover(rescan));
                        }
                        Job::Label(r, reply) => {
                            let _ = reply.send(jobs.write_label(&r));
                        }
                    }
                }
            })?;
        Ok(Devices {
            jobs: Arc::new(Mutex::new(tx)),
        })
    }

    fn run<T>(
        &self,
        job: impl FnOnce(mpsc::SyncSender<Result<T, String>>) -> Job,
    ) -> Result<Result<T, String>, Status> {
        let (tx, rx) = mpsc::sync_channel(1);
        let sent = self.jobs.lock().map_err(|_| gone())?.send(job(tx)).is_ok();
        if !sent {
            return Err(gone());
        }
        rx.recv().map_err(|_| gone())
    }

    /// Runs discovery on the actor's thread and waits for it (call from blocking code).
    ///
    /// # Errors
    /// `ERROR_DEVICE_NOT_AVAILABLE` (4319) with discovery's message, or when the actor is gone.
    pub fn discover(&self, rescan: bool) -> Result<Discovered, Status> {
        self.run(|tx| Job::Discover(rescan, tx))?
            .map_err(|m| Status::new(Win32Code::ERROR_DEVICE_NOT_AVAILABLE, m))
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Discover(rescan, _) => write!(f, "Discover({rescan})"),
            Job::Label(r, _) => write!(f, "Label({})", r.medium),
        }
    }
}

/// The label seam of the pool layer, served by the device thread (one unit of work each).
impl MediaWork for Devices {
    fn write_label(&self, request: &LabelRequest) -> Result<LabelOutcome, WorkError> {
        match self.run(|tx| Job::Label(Box::new(request.clone()), tx)) {
            Ok(r) => r.map_err(WorkError),
            Err(s) => Err(WorkError(s.message)),
        }
    }
}

fn gone() -> Status {
    Status::new(
        Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
        "the device thread stopped; restart the daemon",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn jobs_run_one_at_a_time_in_order() {
        let busy = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (b, s) = (busy.clone(), seen.clone());
        let devices = Arc::new(
            Devices::start(Box::new(move |rescan| {
                assert_eq!(b.fetch_add(1, Ordering::SeqCst), 0, "two jobs at once");
                std::thread::sleep(std::time::Duration::from_millis(2));
                s.lock().unwrap().push(rescan);
                b.fetch_sub(1, Ordering::SeqCst);
                if rescan {
                    Err("robot jammed".into())
                } else {
                    Ok(Discovered::default())
                }
            }))
            .unwrap(),
        );
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let d = devices.clone();
                std::thread::spawn(move || d.discover(i % 2 == 1))
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(seen.lock().unwrap().len(), 8);
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(_) => assert_eq!(i % 2, 0),
                Err(s) => assert_eq!((s.code, s.message.as_str()), (4319, "robot jammed")),
            }
        }
    }
}
