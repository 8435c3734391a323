//! `reel serve`: the controller daemon in the foreground.
//!
//! Order of start-up: claim the socket (refusing when another daemon serves there), open the
//! database, start serving (calls answer `ERROR_NOT_READY` meanwhile), run discovery once (the
//! one reconciling inventory after a crash), hand the devices to the controller, register
//! libraries, media types and system pools, mark the service ready and tell systemd
//! (`READY=1` on `$NOTIFY_SOCKET`).
//! SIGTERM/SIGINT stop it cleanly; a failed start-up exits 1 with the reason.

use std::sync::{Arc, Mutex};

use reel::controller::{self, ControllerConfig, DeviceNodes};
use reel::daemon::rsm::RsmBackend;
use reel::daemon::{self, label, Config, DiscoveredLibrary, StartError, StartFn, Startup, Status};
use reel::discovery::{DiscoverOptions, Reporter};
use reel::pool::media::LocationKind;
use reel::pool::{self, Rsm, Win32Code};
use reel_hw::{AnyTransport, DeviceSource};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info, warn};

use super::args::{DeviceChoice, ServeArgs};
use super::devices::Devices;
use super::Failure;

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let start = starter(&args.devices)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("reel-rt")
        .build()?;
    let served = runtime.block_on(serve(args, start));
    // Dropping a runtime waits for every blocking task, and a call waiting on an operator
    // request (an allocation with no timeout) never ends by itself: the server has already
    // given in-flight requests their grace time, so leave what still runs to the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    served
}

/// `/dev/sgN` → its nodes: the sg node itself and, where the `st` driver is bound to the same
/// SCSI device, `/dev/nstN` (from sysfs). Simulated devices have none.
fn node_table(source: &Devices) -> Vec<(String, DeviceNodes)> {
    let Devices::Sysfs(sg) = source else {
        return Vec::new();
    };
    match sg.sg_devices() {
        Ok(list) => list
            .into_iter()
            .map(|d| {
                let path = d.node.to_string_lossy().into_owned();
                let nodes = DeviceNodes {
                    sg: Some(path.clone()),
                    nst: d.kernel_node.map(|k| k.to_string_lossy().into_owned()),
                };
                (path, nodes)
            })
            .collect(),
        Err(e) => {
            warn!(error = %e, "cannot read sysfs for device nodes");
            Vec::new()
        }
    }
}

/// The one point where the devices plug into the daemon: the device choice becomes the
/// start-up function run once on a blocking thread — discovery, then the controller taking
/// the changers and drives over. Behind a simulator socket each drive gets a connection of
/// its own, so drive work runs in parallel as it does on hardware.
///
/// # Errors
/// A layout that does not load, a simulator socket that does not answer.
fn starter(choice: &DeviceChoice) -> Result<StartFn, Failure> {
    let mut chosen = super::devices::choose(choice)?;
    let only = chosen.only.take();
    let sim_socket = choice.sim_socket.clone();
    Ok(Box::new(move || {
        let progress: Reporter = Arc::new(|line: &str| info!("{line}"));
        let opts = DiscoverOptions {
            rescan: false,
            only,
            progress: Some(progress),
        };
        let mut source = chosen.source;
        let mut inventory = reel::discovery::discover(&mut source, &opts)
            .map_err(|e| super::devices::failure(&e).message)?;
        for w in &inventory.warnings {
            warn!("discovery: {w}");
        }
        inventory.stats = None;
        // reel's labels of cartridges already in drives, read before the controller takes
        // the drives over.
        let mut libraries = Vec::with_capacity(inventory.libraries.len());
        for l in &inventory.libraries {
            let mut lib = DiscoveredLibrary::from_model(l);
            let labels = label::read_labels(&mut source, l);
            for c in &mut lib.cartridges {
                if c.kind == LocationKind::Drive {
                    c.label = labels.get(&c.address).cloned();
                }
            }
            libraries.push(lib);
        }
        let table = node_table(&source);
        let nodes = |path: &str| {
            table
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        let changers: Vec<String> = inventory
            .libraries
            .iter()
            .map(|l| l.changer.path.clone())
            .collect();
        let mut open = |path: &str| -> Result<AnyTransport, String> {
            match &sim_socket {
                Some(socket) if !changers.iter().any(|c| c == path) => {
                    let mut own = reel_sim::client::SocketSource::connect(socket)
                        .map_err(|e| e.to_string())?;
                    own.open(path)
                        .map(AnyTransport::new)
                        .map_err(|e| e.to_string())
                }
                _ => source.open(path).map_err(|e| e.to_string()),
            }
        };
        let devices = controller::take_over(&inventory, &nodes, &mut open)?;
        let controller = controller::Controller::start(devices, ControllerConfig::default())
            .map_err(|e| format!("cannot start the controller: {e}"))?;
        Ok(Startup {
            inventory,
            libraries,
            controller,
        })
    }))
}

/// Tells systemd (`Type=notify`) that the service is ready: `READY=1` on the datagram socket
/// named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). Without the
/// variable this does nothing.
fn notify_ready() {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = (|| -> std::io::Result<()> {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let bytes = target.as_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name)?,
            None => SocketAddr::from_pathname(std::path::Path::new(&target))?,
        };
        let sock = UnixDatagram::unbound()?;
        sock.send_to_addr(b"READY=1\nSTATUS=serving\n", &addr)?;
        Ok(())
    })();
    if let Err(e) = sent {
        warn!(error = %e, "cannot notify systemd of readiness");
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

async fn serve(args: ServeArgs, start: StartFn) -> Result<(), Failure> {
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
    let backend = Arc::new(RsmBackend::new(Arc::new(rsm)));

    let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<Status>();
    let init = backend.clone();
    let socket = args.socket.clone();
    tokio::task::spawn_blocking(move || match init.initialize(start) {
        Ok(()) => {
            info!(socket = %socket.display(), "serving");
            notify_ready();
        }
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
    service.stop();
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
