//! The socket server: binding (stale and live sockets, mode, group), one task per connection,
//! one RSM session per connection, timeouts and limits against hostile clients, and a clean
//! shutdown on SIGTERM/SIGINT.
//!
//! The server knows nothing of pools: it hands each call to a [`Backend`], on tokio's blocking
//! pool unless the backend says the call is answered from memory ([`Backend::is_quick`]), so
//! SQLite writes and SG_IO never stall the runtime.

use std::collections::HashMap;
use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::pool::Win32Code;

use super::peer::{self, PeerIdentity};
use super::wire::{self, Call, Reply, Request, Status, Welcome, WireError, WireIdentity};
use crate::private_files::{self, LockFile, PathError};

/// What the server serves: RSM sessions and calls, all blocking (run on tokio's blocking pool).
pub trait Backend: Send + Sync + 'static {
    /// One open RSM session.
    type Session: Send + Sync + 'static;

    /// `OpenNtmsSession` for a caller the kernel identified.
    ///
    /// # Errors
    /// The RSM status to send back (`ERROR_NOT_READY`, `ERROR_ACCESS_DENIED`, ...).
    fn open_session(&self, who: &PeerIdentity, application: &str) -> Result<Self::Session, Status>;

    /// `CloseNtmsSession`.
    fn close_session(&self, session: Self::Session);

    /// Runs one call (never `Hello` or `CloseSession`, which the server handles).
    ///
    /// # Errors
    /// The RSM status of the failure.
    fn call(&self, session: &Self::Session, call: Call) -> Result<Value, Status>;

    /// True when `call` is answered from memory without blocking (no disk, no device): the
    /// server then runs it on the runtime thread instead of the blocking pool.
    fn is_quick(&self, call: &Call) -> bool {
        let _ = call;
        false
    }
}

/// Socket and connection settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Path of the Unix socket.
    pub socket: PathBuf,
    /// Group that owns the socket (mode 0660). A group that is missing, or that an unprivileged
    /// daemon may not give away: a warning, and the socket keeps the primary group.
    pub socket_group: Option<String>,
    /// How long a started frame may take to arrive completely.
    pub frame_timeout: Duration,
    /// How long a connection may stay silent between requests.
    pub idle_timeout: Duration,
    /// Connections served at once; more are refused with `ERROR_BUSY`. The last
    /// [`RESERVED_FOR_ADMINS`] of them are kept for root and the admin group.
    pub max_connections: usize,
    /// Connections one uid may hold at once (root and the admin group are exempt).
    pub max_connections_per_uid: usize,
    /// Members of this group are exempt from the per-uid cap (the admin group).
    pub exempt_gid: Option<u32>,
    /// How long one reply may take to be written (a client that does not read is cut off).
    pub write_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// Connection slots only root and the admin group may take.
pub const RESERVED_FOR_ADMINS: usize = 16;

/// File descriptors the daemon keeps for itself beside its connections (database, devices,
/// listener, logs, the runtime).
pub const FDS_FOR_ITSELF: usize = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force,
/// so that the connection limit can be fitted under it (a refusal is then always an
/// `ERROR_BUSY` reply, never an `EMFILE` that leaves a client hanging).
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}

impl Config {
    /// Defaults for a socket path: group `tape`, 5 s per frame, 10 min idle, 30 s per reply,
    /// 1024 connections, 64 per uid.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Config {
            socket: socket.into(),
            socket_group: Some("tape".into()),
            frame_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
            max_connections: 1024,
            max_connections_per_uid: 64,
            exempt_gid: None,
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another daemon answers on the socket (or holds its lock).
    #[error("another reel daemon is already serving on {}; stop it first or choose another --socket", path.display())]
    AlreadyServing {
        /// The socket path.
        path: PathBuf,
    },
    /// Something that is not a socket sits at the path; reel does not delete it.
    #[error("{} exists and is not a socket; remove it or choose another --socket", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// The socket's directory, or its lock file, is not safe from other users.
    #[error("{0}")]
    Unsafe(#[from] PathError),
    /// A file-system step failed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// A bound socket, ready to serve. Dropping it leaves the socket file in place (the lock file
/// goes); [`serve`] removes the socket on shutdown.
#[derive(Debug)]
pub struct Bound {
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    _lock: LockFile,
}

impl Bound {
    /// The socket path (canonical: its directory was checked and resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the path up without serving (a start-up step after binding failed): the socket
    /// file and the lock file are removed.
    pub fn abandon(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Claims the socket path: checks that its directory is the daemon's alone, takes
/// `<socket>.lock`, refuses when a live daemon answers, replaces a stale socket file, binds
/// with mode 0660 and sets the group without following a symlink.
///
/// # Errors
/// [`StartError::AlreadyServing`], [`StartError::NotASocket`], [`StartError::Unsafe`],
/// [`StartError::Io`].
pub fn bind(config: &Config) -> Result<Bound, StartError> {
    let io_err = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| StartError::Io { what, path, source }
    };
    let path = private_files::in_safe_directory(&config.socket, true)?;
    // What sits at the path is judged before anything is created beside it.
    let stale = match fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_socket() => true,
        Ok(_) => return Err(StartError::NotASocket { path }),
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(io_err("inspect", &path)(e)),
    };
    if stale && std::os::unix::net::UnixStream::connect(&path).is_ok() {
        return Err(StartError::AlreadyServing { path });
    }
    let lock = match LockFile::take(&private_files::with_suffix(&path, ".lock")) {
        Ok(l) => l,
        Err(PathError::Locked { .. }) => return Err(StartError::AlreadyServing { path }),
        Err(e) => return Err(e.into()),
    };
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(StartError::AlreadyServing { path });
            }
            info!(socket = %path.display(), "replacing a stale socket");
            fs::remove_file(&path).map_err(io_err("remove the stale socket", &path))?;
        }
        Ok(_) => return Err(StartError::NotASocket { path }),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("inspect", &path)(e)),
    }
    // Bound with its final mode (0660) from the first instant: no chmod by path afterwards.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o117));
    let bound = std::os::unix::net::UnixListener::bind(&path);
    nix::sys::stat::umask(old);
    let listener = bound.map_err(io_err("bind", &path))?;
    if let Some(group) = &config.socket_group {
        match nix::unistd::Group::from_name(group) {
            Ok(Some(g)) => {
                // lchown: the directory is ours alone, and a symlink would not be followed.
                if let Err(e) = std::os::unix::fs::lchown(&path, None, Some(g.gid.as_raw())) {
                    // An unprivileged daemon may only give its socket a group it belongs to.
                    warn!(
                        group = %group,
                        socket = %path.display(),
                        error = %e,
                        "cannot give the socket its group; it keeps the daemon's primary group"
                    );
                }
            }
            Ok(None) | Err(_) => warn!(
                group = %group,
                socket = %path.display(),
                "socket group does not exist; the socket keeps the daemon's primary group"
            ),
        }
    }
    listener
        .set_nonblocking(true)
        .map_err(io_err("configure", &path))?;
    Ok(Bound {
        listener,
        path,
        _lock: lock,
    })
}

/// Serves until `shutdown` resolves: stops accepting, lets every request in flight finish
/// (up to the grace time), closes the sessions and removes the socket.
///
/// # Errors
/// When the listener cannot be registered with the runtime.
pub async fn serve<B: Backend>(
    bound: Bound,
    backend: Arc<B>,
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let Bound {
        listener,
        path,
        _lock,
    } = bound;
    let listener = UnixListener::from_std(listener)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let per_uid: PerUid = Arc::default();
    let config = Arc::new(config);
    let mut tasks = JoinSet::new();
    // One descriptor kept in reserve: at EMFILE it is given up for the moment it takes to
    // accept the client and tell it ERROR_BUSY, instead of leaving it in the backlog.
    let mut reserve = fs::File::open("/dev/null").ok();
    tokio::pin!(shutdown);
    // `serving` is logged once start-up has ended (`ready`); until then calls answer
    // ERROR_NOT_READY.
    info!(socket = %path.display(), "listening; not ready until start-up ends");
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    match admit(&config, &slots, &per_uid, &stream) {
                        Ok((who, permit)) => {
                            let (b, c, rx) = (backend.clone(), config.clone(), stop_rx.clone());
                            tasks.spawn(async move {
                                connection(b, c, stream, who, rx).await;
                                drop(permit);
                            });
                        }
                        Err(status) => {
                            tasks.spawn(refuse(stream, status, config.write_timeout));
                        }
                    }
                }
                Err(e) if matches!(e.raw_os_error(), Some(nix::libc::EMFILE | nix::libc::ENFILE)) => {
                    warn!(error = %e, "out of file descriptors; refusing a client");
                    drop(reserve.take());
                    let next = tokio::time::timeout(Duration::from_millis(100), listener.accept());
                    if let Ok(Ok((stream, _))) = next.await {
                        let status = Status::busy("the daemon is out of file descriptors; try again");
                        refuse(stream, status, Duration::from_secs(1)).await;
                    }
                    reserve = fs::File::open("/dev/null").ok();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
        while tasks.try_join_next().is_some() {}
    }
    info!("shutting down: no new connections, finishing requests in flight");
    drop(listener);
    let _ = fs::remove_file(&path);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("requests still running after the grace time; abandoning them");
        tasks.abort_all();
    }
    Ok(())
}

/// Connections held per uid.
type PerUid = Arc<Mutex<HashMap<u32, usize>>>;

/// A connection slot, and the connection counted against its uid until dropped.
struct Admitted {
    _slot: OwnedSemaphorePermit,
    uid: Option<(u32, PerUid)>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some((uid, counts)) = self.uid.take() {
            let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get_mut(&uid) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&uid);
                }
            }
        }
    }
}

/// Whether a new connection is served: the caller's identity, the global limit (its last
/// slots kept for root and the admin group) and the per-uid cap (root and the admin group
/// exempt). A refusal is the status to send.
fn admit(
    config: &Config,
    slots: &Arc<Semaphore>,
    per_uid: &PerUid,
    stream: &UnixStream,
) -> Result<(PeerIdentity, Admitted), Status> {
    let who = peer::identify(stream).map_err(|e| {
        // Fewer groups than the caller has could mean more rights: refuse, and say why.
        warn!(error = %e, "cannot read the peer's credentials and groups; refusing");
        Status::new(
            Win32Code::ERROR_ACCESS_DENIED,
            format!("the daemon cannot learn your identity and groups from the kernel ({e}); the connection is refused"),
        )
    })?;
    let exempt = who.uid == 0 || config.exempt_gid.is_some_and(|g| who.gids.contains(&g));
    let in_use = config.max_connections - slots.available_permits();
    if !exempt
        && in_use + RESERVED_FOR_ADMINS.min(config.max_connections / 2) >= config.max_connections
    {
        warn!(uid = who.uid, "connection limit reached; refusing a client");
        return Err(Status::busy(
            "the daemon serves as many connections as it may; try again",
        ));
    }
    let Ok(slot) = slots.clone().try_acquire_owned() else {
        warn!(uid = who.uid, "connection limit reached; refusing a client");
        return Err(Status::busy(
            "the daemon serves as many connections as it may; try again",
        ));
    };
    if exempt {
        return Ok((
            who,
            Admitted {
                _slot: slot,
                uid: None,
            },
        ));
    }
    let mut counts = per_uid.lock().unwrap_or_else(|p| p.into_inner());
    let n = counts.entry(who.uid).or_default();
    if *n >= config.max_connections_per_uid {
        warn!(
            uid = who.uid,
            connections = *n,
            "per-user connection cap reached; refusing"
        );
        return Err(Status::busy(format!(
            "uid {} already holds {} connections, the most one user may; close some and retry",
            who.uid, n
        )));
    }
    *n += 1;
    drop(counts);
    let uid = Some((who.uid, per_uid.clone()));
    Ok((who, Admitted { _slot: slot, uid }))
}

/// Sends one refusal (never waiting on the client longer than `limit`) and closes.
async fn refuse(stream: UnixStream, status: Status, limit: Duration) {
    let (_, mut w) = stream.into_split();
    let _ = tokio::time::timeout(limit, send(&mut w, &Reply::from_result(0, Err(status)))).await;
}

struct Open<S> {
    handle: Uuid,
    session: Arc<S>,
}

async fn connection<B: Backend>(
    backend: Arc<B>,
    config: Arc<Config>,
    stream: UnixStream,
    who: PeerIdentity,
    mut stop: watch::Receiver<bool>,
) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::with_capacity(8 * 1024, r);
    let mut open: Option<Open<B::Session>> = None;
    loop {
        // Wait for the first byte of the next frame (idle time), then for the whole frame.
        let readable = tokio::select! {
            _ = stop.changed() => break,
            r = tokio::time::timeout(config.idle_timeout, r.fill_buf()) => r,
        };
        match readable {
            Err(_) => {
                debug!(uid = who.uid, "idle connection closed");
                break;
            }
            Ok(Err(_)) => break,
            Ok(Ok([])) => break,
            Ok(Ok(_)) => {}
        }
        let frame = match tokio::time::timeout(
            config.frame_timeout,
            wire::read_message(&mut r, wire::MAX_REQUEST),
        )
        .await
        {
            Err(_) => {
                warn!(
                    uid = who.uid,
                    pid = who.pid.unwrap_or(0),
                    "frame not completed in time; closing"
                );
                let status = Status::new(
                    Win32Code::ERROR_TIMEOUT,
                    format!("a frame must arrive within {:?}", config.frame_timeout),
                );
                let _ = send(&mut w, &Reply::from_result(0, Err(status))).await;
                break;
            }
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                warn!(uid = who.uid, pid = who.pid.unwrap_or(0), error = %e, "bad frame; closing");
                if let WireError::TooLarge { .. } = e {
                    let reply =
                        Reply::from_result(0, Err(Status::invalid_parameter(e.to_string())));
                    let _ = send(&mut w, &reply).await;
                }
                break;
            }
        };
        let (reply, close) = handle(&backend, &who, &mut open, &frame).await;
        match tokio::time::timeout(config.write_timeout, send(&mut w, &reply)).await {
            Ok(Ok(())) if !close => {}
            Ok(_) => break,
            Err(_) => {
                warn!(
                    uid = who.uid,
                    pid = who.pid.unwrap_or(0),
                    "the client does not read its replies; closing"
                );
                break;
            }
        }
    }
    if let Some(o) = open.take() {
        close_session(&backend, o).await;
    }
}

async fn close_session<B: Backend>(backend: &Arc<B>, open: Open<B::Session>) {
    let backend = backend.clone();
    // Sessions are shared only with finished calls, so this is the last reference.
    if let Ok(session) = Arc::try_unwrap(open.session) {
        let _ = tokio::task::spawn_blocking(move || backend.close_session(session)).await;
    }
}

/// One request → one reply; `true` also closes the connection.
async fn handle<B: Backend>(
    backend: &Arc<B>,
    who: &PeerIdentity,
    open: &mut Option<Open<B::Session>>,
    frame: &[u8],
) -> (Reply, bool) {
    let started = Instant::now();
    let request: Request = match serde_json::from_slice(frame) {
        Ok(r) => r,
        Err(e) => {
            let id = wire::request_id(frame);
            let status = Status::invalid_parameter(format!("malformed request: {e}"));
            warn!(uid = who.uid, pid = who.pid.unwrap_or(0), id, error = %status.message, "malformed request");
            return (Reply::from_result(id, Err(status)), false);
        }
    };
    let id = request.id;
    let name = request.call.name();
    let change = super::audit::change(&request.call);
    let (result, close) = match request.call {
        Call::Hello {
            protocol,
            application,
        } => {
            if protocol != wire::PROTOCOL_VERSION {
                let status = Status::no_interfaces(format!(
                    "this daemon speaks protocol {}, the client {protocol}",
                    wire::PROTOCOL_VERSION
                ));
                (Err(status), true)
            } else if open.is_some() {
                let status = Status::new(
                    Win32Code::ERROR_INVALID_OPERATION,
                    "this connection already has an open session; close it first",
                );
                (Err(status), false)
            } else {
                let app = application.unwrap_or_else(|| "RSM".to_owned());
                let (b, w) = (backend.clone(), who.clone());
                let opened = blocking(move || b.open_session(&w, &app)).await;
                match opened {
                    Ok(session) => {
                        let handle = Uuid::new_v4();
                        *open = Some(Open {
                            handle,
                            session: Arc::new(session),
                        });
                        let welcome = Welcome {
                            protocol: wire::PROTOCOL_VERSION,
                            server: format!("reel {}", env!("CARGO_PKG_VERSION")),
                            session: handle,
                            identity: WireIdentity {
                                uid: who.uid,
                                gids: who.gids.clone(),
                                pid: who.pid,
                            },
                        };
                        (Ok(serde_json::to_value(welcome).unwrap_or(Value::Null)), false)
                    }
                    Err(s) => (Err(s), false),
                }
            }
        }
        call => match (open.as_ref(), request.session) {
            (None, _) => (Err(Status::invalid_handle("no open session on this connection: send `hello` first, or the session was closed")), false),
            (Some(o), s) if s != Some(o.handle) => (
                Err(Status::invalid_handle(match s {
                    None => "the request carries no session handle".to_owned(),
                    Some(h) => format!("session {h} is not open on this connection"),
                })),
                false,
            ),
            (Some(_), _) if matches!(call, Call::CloseSession {}) => {
                if let Some(o) = open.take() {
                    close_session(backend, o).await;
                }
                (Ok(serde_json::json!({})), false)
            }
            (Some(o), _) if backend.is_quick(&call) => (backend.call(&o.session, call), false),
            (Some(o), _) => {
                let (b, s) = (backend.clone(), o.session.clone());
                (blocking(move || b.call(&s, call)).await, false)
            }
        },
    };
    let micros = started.elapsed().as_micros() as u64;
    let pid = who.pid.unwrap_or(0);
    if let Some(what) = change {
        let user = super::audit::user_name(who.uid);
        let outcome = super::audit::result(&result);
        // Names in `what` come from the caller: bounded like every message (the outcome's
        // message already is), so the line stays a few KiB at most.
        let what = wire::bounded(&what);
        info!(target: "reel::audit", uid = who.uid, pid, call = name, micros, "{user} {what}: {outcome}");
    }
    match &result {
        Ok(_) => debug!(uid = who.uid, pid, call = name, micros, "ok"),
        Err(s) if super::audit::server_fault(s) => {
            warn!(uid = who.uid, pid, call = name, micros, error = %s.name, code = s.code, text = %s.message, "failed")
        }
        Err(s) => {
            debug!(uid = who.uid, pid, call = name, micros, error = %s.name, code = s.code, text = %s.message, "refused")
        }
    }
    (Reply::from_result(id, result), close)
}

/// The request dispatcher without a socket, for the fuzz target `daemon_dispatch`: each
/// message goes through [`handle`] on one connection's state, as `who`; the replies come back
/// encoded as the connection would send them.
#[doc(hidden)]
pub async fn dispatch_for_fuzzing<B: Backend>(
    backend: &Arc<B>,
    who: &PeerIdentity,
    messages: &[Vec<u8>],
) -> Vec<Vec<u8>> {
    let mut open: Option<Open<B::Session>> = None;
    let mut out = Vec::new();
    for m in messages {
        let (reply, close) = handle(backend, who, &mut open, m).await;
        out.push(serde_json::to_vec(&reply).unwrap_or_default());
        if close {
            break;
        }
    }
    if let Some(o) = open.take() {
        close_session(backend, o).await;
    }
    out
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(Status::new(
            Win32Code::ERROR_NOT_ENOUGH_MEMORY,
            format!("the request's worker failed: {e}"),
        )),
    }
}

/// Sends one reply, as a frame sequence when it is long. A reply that cannot be encoded or is
/// over [`wire::MAX_REPLY`] is answered with an error instead: every request gets an answer.
async fn send(w: &mut OwnedWriteHalf, reply: &Reply) -> Result<(), WireError> {
    let body = match serde_json::to_vec(reply) {
        Ok(body) if body.len() <= wire::MAX_REPLY => body,
        encoded => {
            let why = match encoded {
                Ok(body) => format!(
                    "the reply is {} bytes, over the protocol's limit of {} bytes; ask for less",
                    body.len(),
                    wire::MAX_REPLY
                ),
                Err(e) => format!("cannot encode the reply: {e}"),
            };
            warn!(id = reply.id, error = %why, "reply replaced by an error");
            let status = Status::new(Win32Code::ERROR_NOT_ENOUGH_MEMORY, why);
            serde_json::to_vec(&Reply::from_result(reply.id, Err(status)))?
        }
    };
    wire::write_frame(w, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::client::Client;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A backend that answers every call with its name and counts open sessions.
    #[derive(Default)]
    struct Echo {
        open: AtomicUsize,
    }

    impl Backend for Echo {
        type Session = u32;
        fn open_session(&self, who: &PeerIdentity, app: &str) -> Result<u32, Status> {
            if app == "refuse-me" {
                return Err(Status::not_ready("starting"));
            }
            self.open.fetch_add(1, Ordering::SeqCst);
            Ok(who.uid)
        }
        fn close_session(&self, _: u32) {
            self.open.fetch_sub(1, Ordering::SeqCst);
        }
        fn call(&self, uid: &u32, call: Call) -> Result<Value, Status> {
            if let Call::Library { rescan: true } = call {
                std::thread::sleep(Duration::from_millis(300));
            }
            Ok(serde_json::json!({"call": call.name(), "uid": uid}))
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn serves_sessions_and_shuts_down_cleanly() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::new(tmp.path().join("s.sock"));
        config.socket_group = Some("no-such-group-for-reel".into());
        let bound = bind(&config).unwrap();
        let path = bound.path().to_path_buf();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        // Bound: a second claim on the same path is refused.
        assert!(matches!(
            bind(&config),
            Err(StartError::AlreadyServing { .. })
        ));

        let backend = Arc::new(Echo::default());
        let rt = runtime();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(serve(bound, backend.clone(), config.clone(), async {
            let _ = stop_rx.await;
        }));

        let mut c = Client::connect(&path, "t").unwrap();
        assert_eq!(c.welcome().identity.uid, nix::unistd::geteuid().as_raw());
        let v: Value = c.call(Call::MediaTypes {}).unwrap();
        assert_eq!(v["call"], "media_types");
        assert_eq!(backend.open.load(Ordering::SeqCst), 1);
        let refused = Client::connect(&path, "refuse-me").unwrap_err();
        assert_eq!(refused.code, 21);

        // A request in flight when the stop comes is still answered.
        let slow = std::thread::spawn(move || c.call_value(Call::Library { rescan: true }));
        std::thread::sleep(Duration::from_millis(100));
        stop_tx.send(()).unwrap();
        let answered = slow.join().unwrap();
        assert_eq!(answered.unwrap()["call"], "library");
        rt.block_on(server).unwrap().unwrap();
        assert!(!path.exists(), "the socket is removed");
        assert_eq!(backend.open.load(Ordering::SeqCst), 0, "sessions closed");
        // And the path can be claimed again.
        drop(bind(&config).unwrap());
    }

    #[test]
    fn over_the_connection_limit_clients_get_busy() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::new(tmp.path().join("s.sock"));
        config.max_connections = 2;
        let bound = bind(&config).unwrap();
        let path = bound.path().to_path_buf();
        let rt = runtime();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(serve(bound, Arc::new(Echo::default()), config, async {
            let _ = stop_rx.await;
        }));
        let a = Client::connect(&path, "a").unwrap();
        let b = Client::connect(&path, "b").unwrap();
        let third = Client::connect(&path, "c").unwrap_err();
        assert_eq!((third.name.as_str(), third.code), ("ERROR_BUSY", 170));
        drop((a, b));
        // The server notices the closed connections asynchronously: poll, with a generous
        // bound, instead of guessing how long a loaded machine takes.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let d = loop {
            match Client::connect(&path, "d") {
                Ok(d) => break Ok(d),
                Err(e) if std::time::Instant::now() < deadline && e.code == 170 => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => break Err(e),
            }
        };
        assert!(d.is_ok(), "slots are given back: {:?}", d.err());
        stop_tx.send(()).unwrap();
        rt.block_on(server).unwrap().unwrap();
    }
}
