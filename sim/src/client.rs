//! The client side of `reel-sim serve`: a [`DeviceSource`] over the socket (one connection =
//! one initiator), used by `reel --sim-socket PATH`, and the operator's control requests.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reel_hw::{
    Completion, DataDirection, DeviceInfo, DeviceSource, ScsiStatus, Transport, TransportError,
    TransportErrorKind,
};

use crate::wire::{
    read_frame, write_frame, ControlReply, ControlRequest, Direction, Reply, Request,
};

/// A socket request that failed, or a command the simulator could not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{device}: {message}")]
pub struct ClientError {
    /// The class of failure.
    pub kind: TransportErrorKind,
    /// The device path, or the socket path for requests that are not commands.
    pub device: String,
    /// What happened.
    pub message: String,
}

impl TransportError for ClientError {
    fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

/// Time allowed on top of a command's own timeout for the socket round trip.
const SLACK: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Conn {
    socket: PathBuf,
    /// None once the connection broke (a timeout leaves the stream out of step).
    stream: Mutex<Option<UnixStream>>,
}

impl Conn {
    fn err(&self, device: &str, kind: TransportErrorKind, message: String) -> ClientError {
        ClientError {
            kind,
            device: device.to_owned(),
            message,
        }
    }

    fn round_trip(
        &self,
        device: &str,
        req: &Request,
        timeout: Duration,
    ) -> Result<Reply, ClientError> {
        let mut guard = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        let Some(stream) = guard.as_mut() else {
            return Err(self.err(
                device,
                TransportErrorKind::NoDevice,
                format!("connection to simulator {} was lost", self.socket.display()),
            ));
        };
        let _ = stream.set_read_timeout(Some(timeout.saturating_add(SLACK)));
        let result = write_frame(stream, &req.encode())
            .and_then(|()| read_frame(stream))
            .map_err(|e| {
                let kind = match &e {
                    crate::wire::WireError::Io(io)
                        if matches!(
                            io.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        TransportErrorKind::Timeout
                    }
                    _ => TransportErrorKind::NoDevice,
                };
                (kind, e.to_string())
            })
            .and_then(|body| match body {
                Some(b) => {
                    Reply::decode(&b).map_err(|e| (TransportErrorKind::Other, e.to_string()))
                }
                None => Err((
                    TransportErrorKind::NoDevice,
                    "simulator closed the connection".to_owned(),
                )),
            });
        match result {
            Ok(Reply::ProtocolError(m)) => {
                *guard = None;
                Err(self.err(
                    device,
                    TransportErrorKind::Other,
                    format!("simulator refused the request: {m}"),
                ))
            }
            Ok(r) => Ok(r),
            Err((kind, m)) => {
                *guard = None;
                Err(self.err(
                    device,
                    kind,
                    format!("simulator {}: {m}", self.socket.display()),
                ))
            }
        }
    }
}

/// The devices of a simulator served on a Unix socket. One source is one connection and one
/// initiator; its transports share the connection.
#[derive(Debug, Clone)]
pub struct SocketSource {
    conn: Arc<Conn>,
}

impl SocketSource {
    /// Connects to `reel-sim serve --socket PATH`.
    ///
    /// # Errors
    /// [`ClientError`] with kind NoDevice when nothing listens on `path`.
    pub fn connect(path: &Path) -> Result<SocketSource, ClientError> {
        let stream = UnixStream::connect(path).map_err(|e| ClientError {
            kind: TransportErrorKind::NoDevice,
            device: path.display().to_string(),
            message: format!("cannot connect to the simulator socket: {e} (is `reel-sim serve --socket {}` running?)", path.display()),
        })?;
        Ok(SocketSource {
            conn: Arc::new(Conn {
                socket: path.to_path_buf(),
                stream: Mutex::new(Some(stream)),
            }),
        })
    }

    /// Sends an operator request.
    ///
    /// # Errors
    /// [`ClientError`] when the socket fails or answers something else.
    pub fn control(&self, req: ControlRequest) -> Result<ControlReply, ClientError> {
        let socket = self.conn.socket.display().to_string();
        match self
            .conn
            .round_trip(&socket, &Request::Control(req), Duration::from_secs(60))?
        {
            Reply::Control(r) => Ok(r),
            _ => Err(self.conn.err(
                &socket,
                TransportErrorKind::Other,
                "unexpected reply to a control request".into(),
            )),
        }
    }
}

impl DeviceSource for SocketSource {
    type Transport = SocketTransport;
    type Error = ClientError;

    fn devices(&mut self) -> Result<Vec<DeviceInfo>, ClientError> {
        let socket = self.conn.socket.display().to_string();
        match self
            .conn
            .round_trip(&socket, &Request::Devices, Duration::from_secs(30))?
        {
            Reply::Devices(d) => Ok(d.into_iter().map(DeviceInfo::from).collect()),
            _ => Err(self.conn.err(
                &socket,
                TransportErrorKind::Other,
                "unexpected reply to a device list request".into(),
            )),
        }
    }

    fn open(&mut self, path: &str) -> Result<SocketTransport, ClientError> {
        if !self.devices()?.iter().any(|d| d.path == path) {
            return Err(self.conn.err(
                path,
                TransportErrorKind::NoDevice,
                "no such device on the simulator".into(),
            ));
        }
        Ok(SocketTransport {
            conn: Arc::clone(&self.conn),
            path: path.to_owned(),
        })
    }
}

/// One device of a served simulator.
#[derive(Debug)]
pub struct SocketTransport {
    conn: Arc<Conn>,
    path: String,
}

impl Transport for SocketTransport {
    type Error = ClientError;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, ClientError> {
        let (direction, allocation, data_out) = match &data {
            DataDirection::None => (Direction::None, 0, Vec::new()),
            DataDirection::FromDevice(b) => (Direction::FromDevice, b.len(), Vec::new()),
            DataDirection::ToDevice(b) => (Direction::ToDevice, 0, b.to_vec()),
        };
        if allocation > crate::wire::MAX_FRAME - 4096 || cdb.is_empty() || cdb.len() > 16 {
            return Err(self.conn.err(&self.path, TransportErrorKind::Other, format!("command too large for the simulator socket (CDB {} bytes, data {allocation} bytes)", cdb.len())));
        }
        let req = Request::Command {
            path: self.path.clone(),
            cdb: cdb.to_vec(),
            direction,
            allocation: allocation as u32,
            timeout_ms: timeout.as_millis().min(u128::from(u32::MAX)) as u32,
            data_out,
        };
        match self.conn.round_trip(&self.path, &req, timeout)? {
            Reply::Completion {
                status,
                sense,
                residual,
                data: bytes,
            } => {
                if let DataDirection::FromDevice(buf) = data {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                }
                Ok(Completion {
                    status: ScsiStatus(status),
                    sense,
                    residual: residual as usize,
                })
            }
            Reply::TransportError { kind, message } => {
                Err(self.conn.err(&self.path, kind, message))
            }
            _ => Err(self.conn.err(
                &self.path,
                TransportErrorKind::Other,
                "unexpected reply to a command".into(),
            )),
        }
    }

    fn device(&self) -> &str {
        &self.path
    }
}
