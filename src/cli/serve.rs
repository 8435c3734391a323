//! `reel serve`: the controller daemon in the foreground.
//!
//! Order of start-up: claim the socket (refusing when another daemon serves there), open the
//! database, start serving (calls answer `ERROR_NOT_READY` meanwhile), run discovery on the
//! device thread, register libraries, media types and system pools, mark the service ready.
//! SIGTERM/SIGINT stop it cleanly; a failed start-up exits 1 with the reason.

use std::sync::{Arc, Mutex};

use reel::daemon::rsm::RsmBackend;
use reel::daemon::{
    self, label, Config, DeviceJobs, Devices, Discovered, DiscoveredLibrary, StartError, Status,
};
use reel::discovery::{DiscoverOptions, Reporter};
use reel::pool::media::LocationKind;
use reel::pool::work::{LabelOutcome, LabelRequest};
use reel::pool::{self, Rsm, Win32Code};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info, warn};

use super::args::{DeviceChoice, ServeArgs};
use super::Failure;

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let discover = discoverer(&args.devices)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("reel-rt")
        .build()?;
    runtime.block_on(serve(args, discover))
}

/// The one point where the devices plug into the daemon: the device choice becomes the jobs
/// the device thread runs — discovery at start-up and on every rescan (reading reel's labels
/// of cartridges already in drives), and label writes.
///
/// # Errors
/// A layout that does not load, a simulator socket that does not answer.
fn discoverer(choice: &DeviceChoice) -> Result<Box<dyn DeviceJobs>, Failure> {
    let mut chosen = super::devices::choose(choice)?;
    let only = chosen.only.take();
    Ok(Box::new(Jobs {
        chosen,
        only,
        last: None,
    }))
}

/// The device thread's jobs over the chosen devices.
struct Jobs {
    chosen: super::devices::Chosen,
    only: Option<Vec<String>>,
    last: Option<reel::discovery::Inventory>,
}

impl DeviceJobs for Jobs {
    fn discover(&mut self, rescan: bool) -> Result<Discovered, String> {
        let progress: Reporter = Arc::new(|line: &str| info!("{line}"));
        let opts = DiscoverOptions {
            rescan,
            only: self.only.clone(),
            progress: Some(progress),
        };
        let mut inventory = reel::discovery::discover(&mut self.chosen.source, &opts)
            .map_err(|e| super::devices::failure(&e).message)?;
        for w in &inventory.warnings {
            warn!("discovery: {w}");
        }
        inventory.stats = None;
        let document = serde_json::to_value(&inventory)
            .map_err(|e| format!("cannot encode the inventory: {e}"))?;
        let mut libraries = Vec::with_capacity(inventory.libraries.len());
        for l in &inventory.libraries {
            let mut lib = DiscoveredLibrary::from_model(l);
            let labels = label::read_labels(&mut self.chosen.source, l);
            for c in &mut lib.cartridges {
                if c.kind == LocationKind::Drive {
                    c.label = labels.get(&c.address).cloned();
                }
            }
            libraries.push(lib);
        }
        self.last = Some(inventory);
        Ok(Discovered {
            document,
            libraries,
        })
    }

    fn write_label(&mut self, request: &LabelRequest) -> Result<LabelOutcome, String> {
        let inventory = self
            .last
            .as_ref()
            .ok_or_else(|| "the libraries were not discovered yet".to_owned())?;
        label::write_label(&mut self.chosen.source, inventory, request)
    }
}

/// The root pool's access list for a new database when the daemon runs unprivileged: the
/// default of rsm-media-pools §4.4 (full for uid 0 and the admin group, USE for everyone) plus
/// full access for the daemon's own uid, which is "local system" then (§4.3, §4.4), so the
/// user who runs a simulator daemon can create top-level pools.
fn root_security(euid: u32, admin_gid: Option<u32>) -> pool::SecurityDescriptor {
    use pool::{AccessMask, Ace, Who};
    let mut entries = vec![
        Ace::allow(Who::Uid(0), AccessMask::FULL),
        Ace::allow(Who::Uid(euid), AccessMask::FULL),
    ];
    if let Some(g) = admin_gid {
        entries.push(Ace::allow(Who::Gid(g), AccessMask::FULL));
    }
    entries.push(Ace::allow(Who::Everyone, AccessMask::USE));
    pool::SecurityDescriptor::new(0, entries)
}

fn start_failure(e: StartError) -> Failure {
    match e {
        StartError::AlreadyServing { .. } => Failure::rsm(Win32Code::ERROR_BUSY, e.to_string()),
        StartError::NotASocket { .. } => {
            Failure::rsm(Win32Code::ERROR_ALREADY_EXISTS, e.to_string())
        }
        StartError::Unsafe(_) => Failure::rsm(Win32Code::ERROR_ACCESS_DENIED, e.to_string()),
        StartError::Io { ref source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            Failure::rsm(Win32Code::ERROR_ACCESS_DENIED, e.to_string())
        }
        StartError::Io { .. } => Failure::rsm(Win32Code::ERROR_INVALID_PARAMETER, e.to_string()),
    }
}

/// Closes the database once the last worker is done with it (up to 2 s after the requests'
/// grace), so its lock file goes with it; a worker still stuck then is abandoned, and the lock
/// file removed anyway since the process exits.
async fn release(service: Arc<RsmBackend>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while Arc::strong_count(&service) > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let lock = reel::private_files::with_suffix(service.rsm().database_path(), ".lock");
    drop(service);
    let _ = std::fs::remove_file(lock);
}

fn from_status(s: Status) -> Failure {
    Failure::from(s)
}

async fn serve(args: ServeArgs, discover: Box<dyn DeviceJobs>) -> Result<(), Failure> {
    let mut config = Config::new(&args.socket);
    config.socket_group = Some(args.socket_group.clone());
    let admin_gid = match &args.admin_group {
        None => None,
        Some(name) => match nix::unistd::Group::from_name(name) {
            Ok(Some(g)) => Some(g.gid.as_raw()),
            _ => {
                return Err(Failure::usage(format!(
                    "--admin-group {name}: no such group"
                )))
            }
        },
    };
    config.exempt_gid = admin_gid;
    config.max_connections_per_uid = args.max_connections_per_user.max(1);
    config.write_timeout = std::time::Duration::from_secs(args.write_timeout.max(1));
    // Every refusal must be an ERROR_BUSY reply: the connection limit fits under the
    // open-files limit (raised to its hard limit first).
    let fds = daemon::server::raise_fd_limit();
    let fit = usize::try_from(fds)
        .unwrap_or(usize::MAX)
        .saturating_sub(daemon::server::FDS_FOR_ITSELF)
        .max(8);
    config.max_connections = args.max_connections.clamp(1, fit);
    if config.max_connections < args.max_connections {
        warn!(
            open_files = fds,
            max_connections = config.max_connections,
            "the open-files limit is low: serving fewer connections (raise LimitNOFILE)"
        );
    }
    // Signals first, so a SIGTERM during start-up is honoured.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let bound = daemon::bind(&config).map_err(start_failure)?;

    let euid = nix::unistd::geteuid().as_raw();
    let pool_config = pool::Config {
        admin_gid,
        system_uid: (euid != 0).then_some(euid),
        root_security: (euid != 0).then(|| root_security(euid, admin_gid)),
        db: reel::db::DbConfig {
            max_objects: args.max_objects,
            group: admin_gid,
            ..reel::db::DbConfig::default()
        },
        media_pool_policy: if args.purge_offline_scratch {
            pool::media::NTMS_POOLPOLICY_PURGEOFFLINESCRATCH
        } else {
            0
        } | if args.keep_offline_import {
            pool::media::NTMS_POOLPOLICY_KEEPOFFLINEIMPORT
        } else {
            0
        },
    };
    let db = args.db.clone();
    let opened = tokio::task::spawn_blocking(move || Rsm::open(&db, pool_config)).await;
    let rsm = match opened {
        Ok(Ok(rsm)) => rsm,
        Ok(Err(e)) => {
            bound.abandon();
            return Err(Failure::rsm(
                e.win32(),
                format!("cannot open the database {}: {e}", args.db.display()),
            ));
        }
        Err(e) => {
            bound.abandon();
            return Err(Failure::rsm(
                Win32Code::ERROR_DATABASE_FAILURE,
                e.to_string(),
            ));
        }
    };
    let devices = match Devices::start_jobs(discover) {
        Ok(d) => d,
        Err(e) => {
            bound.abandon();
            return Err(e.into());
        }
    };
    let rsm = Arc::new(rsm);
    rsm.set_media_work(Arc::new(devices.clone()));
    let backend = Arc::new(RsmBackend::new(rsm, devices));

    let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<Status>();
    let init = backend.clone();
    let socket = args.socket.clone();
    tokio::task::spawn_blocking(move || match init.initialize() {
        Ok(()) => info!(socket = %socket.display(), "serving"),
        Err(s) => {
            let _ = fail_tx.send(s);
        }
    });
    let failed: Arc<Mutex<Option<Status>>> = Arc::default();
    let failed_in = failed.clone();
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM"),
            _ = int.recv() => info!("SIGINT"),
            Ok(s) = fail_rx => {
                error!(error = %s, "start-up failed");
                *failed_in.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
            }
        }
    };
    let service = backend.clone();
    daemon::serve(bound, backend, config, shutdown).await?;
    release(service).await;
    let failed = failed.lock().unwrap_or_else(|p| p.into_inner()).take();
    match failed {
        Some(s) => Err(from_status(Status {
            message: format!("start-up failed: {}", s.message),
            ..s
        })),
        None => {
            info!("stopped");
            Ok(())
        }
    }
}
