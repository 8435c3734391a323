//! A blocking client of the daemon: connect, `hello`, then calls. The CLI, the tests and the
//! load benchmark use it.

use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::pool::Win32Code;

use super::wire::{self, Call, Reply, Request, Status, Welcome, WireError};

/// One connection = one RSM session.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    session: Uuid,
    next_id: u64,
    welcome: Welcome,
}

impl Client {
    /// Connects to the daemon at `socket` and opens a session (`hello`).
    ///
    /// # Errors
    /// `ERROR_NOT_CONNECTED` when nothing answers at the path, `ERROR_ACCESS_DENIED` when the
    /// socket's mode or group keeps the caller out, `RPC_S_NO_INTERFACES` on a protocol version
    /// mismatch, or the daemon's refusal of the session.
    pub fn connect(socket: &Path, application: &str) -> Result<Client, Status> {
        let stream = UnixStream::connect(socket).map_err(|e| unreachable(socket, &e))?;
        check_server(socket, &stream)?;
        // A daemon that stops answering must not hang a script forever.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
        let mut client = Client {
            stream,
            session: Uuid::nil(),
            next_id: 1,
            welcome: Welcome {
                protocol: 0,
                server: String::new(),
                session: Uuid::nil(),
                identity: wire::WireIdentity {
                    uid: 0,
                    gids: vec![],
                    pid: None,
                },
            },
        };
        let hello = Call::Hello {
            protocol: wire::PROTOCOL_VERSION,
            application: Some(application.to_owned()),
        };
        let welcome: Welcome = client.call(hello)?;
        client.session = welcome.session;
        client.welcome = welcome;
        Ok(client)
    }

    /// What the daemon answered to `hello` (its version, the session, the identity it saw).
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// The session handle.
    pub fn session(&self) -> Uuid {
        self.session
    }

    /// Sends one call and decodes its `ok` member as `T`.
    ///
    /// # Errors
    /// The daemon's RSM status, or `ERROR_NOT_CONNECTED` when the connection broke.
    pub fn call<T: DeserializeOwned>(&mut self, call: Call) -> Result<T, Status> {
        let value = self.call_value(call)?;
        serde_json::from_value(value).map_err(|e| {
            Status::invalid_parameter(format!("the daemon's reply has an unexpected shape: {e}"))
        })
    }

    /// Sends one call with an explicit session handle (tests use it to present a wrong one).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn call_with_session(
        &mut self,
        session: Option<Uuid>,
        call: Call,
    ) -> Result<Value, Status> {
        let id = self.next_id;
        self.next_id += 1;
        let request = Request { id, session, call };
        let body = serde_json::to_vec(&request)
            .map_err(|e| Status::invalid_parameter(format!("cannot encode the request: {e}")))?;
        let sent = wire::write_frame_sync(&mut self.stream, &body);
        // A daemon that refuses a connection (ERROR_BUSY over the connection limit) answers
        // and closes at once; our write may then fail with EPIPE while its reply already waits
        // in our receive buffer. Read it before reporting a broken connection.
        let frame = match wire::read_frame_sync(&mut self.stream) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                sent.map_err(broken)?;
                return Err(Status::not_connected("the daemon closed the connection"));
            }
            Err(e) => return Err(broken(sent.err().unwrap_or(e))),
        };
        let reply: Reply = serde_json::from_slice(&frame).map_err(|e| {
            Status::invalid_parameter(format!("the daemon sent a malformed reply: {e}"))
        })?;
        if reply.id != id && reply.error.is_none() {
            return Err(Status::invalid_parameter(format!(
                "reply {} does not answer request {id}",
                reply.id
            )));
        }
        reply.into_result()
    }

    /// Sends one call on this connection's session and returns the raw `ok` member.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn call_value(&mut self, call: Call) -> Result<Value, Status> {
        let session = match call {
            Call::Hello { .. } => None,
            _ => Some(self.session),
        };
        self.call_with_session(session, call)
    }
}

/// The environment variable naming the user (uid or name) the daemon runs as, when not root.
pub const DAEMON_UID_ENV: &str = "REEL_DAEMON_UID";

/// The uids a client believes: root, the client's own (a daemon the user runs), and the one
/// `$REEL_DAEMON_UID` names.
fn trusted_uids() -> Vec<u32> {
    let mut uids = vec![0, nix::unistd::geteuid().as_raw()];
    if let Ok(v) = std::env::var(DAEMON_UID_ENV) {
        let named = v.parse::<u32>().ok().or_else(|| {
            nix::unistd::User::from_name(&v)
                .ok()
                .flatten()
                .map(|u| u.uid.as_raw())
        });
        uids.extend(named);
    }
    uids
}

/// Refuses a server the kernel says runs as a user the client does not trust: whoever could
/// put a socket at the path (a world-writable directory, a replaced socket) is not the daemon.
fn check_server(socket: &Path, stream: &UnixStream) -> Result<(), Status> {
    let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| {
            Status::not_connected(format!(
                "cannot read the credentials of the server at {}: {e}",
                socket.display()
            ))
        })?;
    if trusted_uids().contains(&cred.uid()) {
        return Ok(());
    }
    Err(Status::not_connected(format!(
        "the process serving {} runs as uid {} (pid {}), which is neither root nor you: \
         refusing to trust it; if that is your reel daemon's user, set {DAEMON_UID_ENV}={}",
        socket.display(),
        cred.uid(),
        cred.pid(),
        cred.uid()
    )))
}

fn unreachable(socket: &Path, e: &io::Error) -> Status {
    let path = socket.display();
    match e.kind() {
        io::ErrorKind::PermissionDenied => Status::new(
            Win32Code::ERROR_ACCESS_DENIED,
            format!(
                "may not connect to the reel daemon at {path}: {e} (the socket is mode 0660; \
                 join its group, usually `tape`)"
            ),
        ),
        _ => Status::not_connected(format!(
            "cannot reach the reel daemon at {path}: {e} (is `reel serve` running? \
             choose the socket with --socket or $REEL_SOCKET)"
        )),
    }
}

fn broken(e: WireError) -> Status {
    Status::not_connected(format!("the connection to the daemon failed: {e}"))
}
