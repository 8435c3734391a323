//! `reel-sim serve`: the library served on a Unix socket, one initiator per connection.
//!
//! The framing is in [`crate::wire`]. Each connection gets its own thread and its own
//! initiator (unit attentions); malformed input closes only that connection.
//!
//! PREVENT MEDIUM REMOVAL is held by the server's one host port, not by the connection: on a
//! real host the I_T nexus outlives the process that sent PREVENT (`reel lock` exits, the door
//! stays shut), so a connection's PREVENT lasts until an ALLOW from any connection, or until
//! the server stops — exactly as in-process, where the source outlives the command.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reel_hw::{DataDirection, DeviceSource, Transport};

use crate::library::{SimLibrary, SimSource, SimTransport};
use crate::wire::{
    read_frame, write_frame, ControlReply, ControlRequest, Direction, Reply, Request, WireDevice,
};

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A live simulator already answers on the path.
    #[error("{0}: a simulator is already serving this socket; stop it first or choose another --socket path")]
    Busy(String),
    /// The path exists and is not a socket.
    #[error("{0}: exists and is not a socket; refusing to replace it")]
    NotASocket(String),
    /// Binding or listening failed.
    #[error("{path}: cannot listen: {source}")]
    Io {
        /// The socket path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound simulator socket.
#[derive(Debug)]
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    library: SimLibrary,
    /// The host port whose PREVENT MEDIUM REMOVAL every connection shares.
    host: SimSource,
}

impl Server {
    /// Binds `path`. A stale socket (nothing listening) is replaced; a live one is refused.
    ///
    /// # Errors
    /// [`ServeError::Busy`] when a server answers on `path`, [`ServeError::NotASocket`] when
    /// `path` is another kind of file, [`ServeError::Io`] when binding fails.
    pub fn bind(path: &Path, library: SimLibrary) -> Result<Server, ServeError> {
        let shown = path.display().to_string();
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(ServeError::NotASocket(shown));
            }
            match UnixStream::connect(path) {
                Ok(_) => return Err(ServeError::Busy(shown)),
                Err(e)
                    if e.kind() == ErrorKind::ConnectionRefused
                        || e.kind() == ErrorKind::NotFound =>
                {
                    tracing::info!("replacing stale socket {shown}");
                    std::fs::remove_file(path).map_err(|source| ServeError::Io {
                        path: shown.clone(),
                        source,
                    })?;
                }
                Err(source) => {
                    return Err(ServeError::Io {
                        path: shown,
                        source,
                    })
                }
            }
        }
        let listener = UnixListener::bind(path).map_err(|source| ServeError::Io {
            path: shown,
            source,
        })?;
        let host = library.source();
        Ok(Server {
            listener,
            path: path.to_path_buf(),
            library,
            host,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts connections forever, one thread each.
    ///
    /// # Errors
    /// When accepting fails for a reason other than an interrupted call.
    pub fn run(&self) -> std::io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let lib = self.library.clone();
                    let host = self.host.clone();
                    std::thread::Builder::new()
                        .name("reel-sim-conn".into())
                        .spawn(move || serve_connection_on(&lib, &host, stream))?;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Runs the server on a background thread (for tests and benchmarks). The socket file
    /// stays until [`remove_socket`] is called.
    pub fn spawn(self) -> std::thread::JoinHandle<std::io::Result<()>> {
        std::thread::spawn(move || self.run())
    }
}

/// Removes a socket file, ignoring a file that is already gone.
///
/// # Errors
/// When the file exists and cannot be removed.
pub fn remove_socket(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Serves one connection until it closes or sends something malformed; its PREVENT MEDIUM
/// REMOVAL is its own and ends with it (a connection without a host port).
pub fn serve_connection(library: &SimLibrary, stream: UnixStream) {
    let source = library.source();
    serve_with(library, source, stream);
}

/// Serves one connection whose PREVENT MEDIUM REMOVAL is held by `host`'s port.
pub fn serve_connection_on(library: &SimLibrary, host: &SimSource, stream: UnixStream) {
    let source = library.source_on_port(host);
    serve_with(library, source, stream);
}

fn serve_with(library: &SimLibrary, mut source: SimSource, mut stream: UnixStream) {
    let mut open: HashMap<String, SimTransport> = HashMap::new();
    let mut data_in: Vec<u8> = Vec::new();
    loop {
        let body = match read_frame(&mut stream) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("closing connection: {e}");
                let _ = write_frame(&mut stream, &Reply::ProtocolError(e.to_string()).encode());
                return;
            }
        };
        let reply = match Request::decode(&body) {
            Ok(Request::Devices) => {
                Reply::Devices(library.devices().iter().map(WireDevice::from).collect())
            }
            Ok(Request::Control(c)) => Reply::Control(control(library, c)),
            Ok(Request::Command {
                path,
                cdb,
                direction,
                allocation,
                timeout_ms,
                data_out,
            }) => {
                if !open.contains_key(&path) {
                    match source.open(&path) {
                        Ok(t) => {
                            open.insert(path.clone(), t);
                        }
                        Err(e) => {
                            let r = Reply::TransportError {
                                kind: e.kind,
                                message: e.to_string(),
                            };
                            if write_frame(&mut stream, &r.encode()).is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                }
                let t = open.get_mut(&path).expect("opened above");
                // The data-in buffer is reused between commands: only transferred bytes are sent.
                let len = if direction == Direction::FromDevice {
                    allocation as usize
                } else {
                    0
                };
                if data_in.len() < len {
                    data_in.resize(len, 0);
                }
                let data = match direction {
                    Direction::None => DataDirection::None,
                    Direction::ToDevice => DataDirection::ToDevice(&data_out),
                    Direction::FromDevice => DataDirection::FromDevice(&mut data_in[..len]),
                };
                match t.execute(&cdb, data, Duration::from_millis(u64::from(timeout_ms))) {
                    Ok(c) => Reply::Completion {
                        data: data_in[..c.transferred(len)].to_vec(),
                        status: c.status.0,
                        sense: c.sense,
                        residual: c.residual as u32,
                    },
                    Err(e) => {
                        open.remove(&path);
                        Reply::TransportError {
                            kind: e.kind,
                            message: e.to_string(),
                        }
                    }
                }
            }
            Err(e) => {
                let _ = write_frame(&mut stream, &Reply::ProtocolError(e.to_string()).encode());
                return;
            }
        };
        if write_frame(&mut stream, &reply.encode()).is_err() {
            return;
        }
    }
}

/// Carries out one operator request.
pub fn control(library: &SimLibrary, req: ControlRequest) -> ControlReply {
    let done = |r: Result<String, crate::SimError>| match r {
        Ok(message) => ControlReply {
            ok: true,
            message,
            status: None,
        },
        Err(e) => ControlReply {
            ok: false,
            message: e.to_string(),
            status: None,
        },
    };
    match req {
        ControlRequest::Insert { barcode, ie } => done(
            library
                .insert(&barcode, ie)
                .map(|loc| format!("inserted {barcode} into {loc}")),
        ),
        ControlRequest::Remove { ie } => done(
            library
                .remove(ie)
                .map(|b| format!("removed {b} from ie:{ie}")),
        ),
        ControlRequest::Door { open } => done(
            library
                .set_door(open)
                .map(|()| format!("door {}", if open { "open" } else { "closed" })),
        ),
        ControlRequest::Drive { address, online } => {
            done(library.set_drive_online(address, online).map(|()| {
                format!(
                    "drive:{address} {}",
                    if online { "online" } else { "offline" }
                )
            }))
        }
        ControlRequest::Status => {
            let status = library.status();
            ControlReply {
                ok: true,
                message: status.to_text(),
                status: Some(status),
            }
        }
    }
}
