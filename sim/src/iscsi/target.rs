//! The listening side: target names, the session registry (TSIH, reinstatement by ISID), and
//! the runtime the connections run on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::disk::TestDisk;
use super::login::{Chap, LoginConfig, Session, SessionKind};
use super::lun::Units;
use crate::SimLibrary;

/// How `reel-sim serve --iscsi` is configured.
#[derive(Debug, Clone)]
pub struct IscsiConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Credentials every initiator must prove (required off loopback).
    pub chap: Option<Chap>,
    /// Size in bytes of the test-only RAM disk target, if any.
    pub test_disk: Option<u64>,
    /// How long a write to an initiator may block before its connection is dropped.
    pub write_timeout: Duration,
    /// How long a login may take.
    pub login_timeout: Duration,
    /// Use CRC32C digests whenever the initiator offers them.
    pub prefer_digests: bool,
}

impl IscsiConfig {
    /// Defaults: loopback port 3260, no CHAP, no test disk, 30 s timeouts.
    pub fn new(addr: SocketAddr) -> IscsiConfig {
        IscsiConfig {
            addr,
            chap: None,
            test_disk: None,
            write_timeout: Duration::from_secs(30),
            login_timeout: Duration::from_secs(30),
            prefer_digests: false,
        }
    }
}

/// Why the target cannot start.
#[derive(Debug, thiserror::Error)]
pub enum IscsiError {
    /// A non-loopback address without credentials.
    #[error("refusing to serve iSCSI on {0} without --iscsi-chap USER:SECRET: only loopback may go without authentication")]
    NeedsChap(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen for iSCSI on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime could not start.
    #[error("cannot start the iSCSI runtime: {0}")]
    Runtime(std::io::Error),
}

/// The target name for a library: `iqn.2026-12.dev.reel:sim.<changer serial>`, lower-cased,
/// with characters an IQN does not allow replaced by `-`.
pub fn target_name(changer_serial: &str) -> String {
    let s: String = changer_serial
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect();
    format!("iqn.2026-12.dev.reel:sim.{s}")
}

/// Fills `buf` with random bytes (CHAP challenges). Falls back to a time-derived value when
/// the system source is unavailable.
pub fn random_bytes(buf: &mut [u8]) {
    use std::io::Read;
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_err()
    {
        let mut x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        for b in buf {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}

type SessionKey = (String, [u8; 6], usize);

/// What every connection of one listener shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub targets: Vec<(String, Units)>,
    pub login: LoginConfig,
    pub write_timeout: Duration,
    pub login_timeout: Duration,
    tsih: AtomicU16,
    sessions: Mutex<HashMap<SessionKey, Arc<Notify>>>,
}

impl Shared {
    pub fn next_tsih(&self) -> u16 {
        loop {
            let t = self.tsih.fetch_add(1, Ordering::Relaxed);
            if t != 0 {
                return t;
            }
        }
    }

    fn key(s: &Session) -> Option<SessionKey> {
        match s.kind {
            SessionKind::Normal(t) => Some((s.initiator.clone(), s.isid, t)),
            SessionKind::Discovery => None,
        }
    }

    /// Registers a new session; an older one with the same initiator, ISID and target is
    /// told to close (session reinstatement, RFC 7143 §6.3.5).
    pub fn register(&self, s: &Session) -> Arc<Notify> {
        let kill = Arc::new(Notify::new());
        if let Some(k) = Self::key(s) {
            let mut m = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(old) = m.insert(k, Arc::clone(&kill)) {
                old.notify_one();
            }
        }
        kill
    }

    pub fn unregister(&self, s: &Session, kill: &Arc<Notify>) {
        if let Some(k) = Self::key(s) {
            let mut m = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            if m.get(&k).is_some_and(|n| Arc::ptr_eq(n, kill)) {
                m.remove(&k);
            }
        }
    }

    /// LOGICAL UNIT RESET or TARGET WARM RESET from `s`: the other nexuses of the library
    /// get 06/29/00 on the reset units.
    pub fn reset(&self, s: &Session, whole_target: bool, lun: u64) {
        if let SessionKind::Normal(t) = s.kind {
            self.targets[t].1.reset(whole_target, lun);
        }
    }
}

/// A listening iSCSI target.
#[derive(Debug)]
pub struct IscsiTarget {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl IscsiTarget {
    /// Binds the listener for `library` (and the test disk, when configured).
    ///
    /// # Errors
    /// [`IscsiError::NeedsChap`] off loopback without CHAP, [`IscsiError::Bind`].
    pub async fn bind(library: SimLibrary, cfg: &IscsiConfig) -> Result<IscsiTarget, IscsiError> {
        if !cfg.addr.ip().is_loopback() && cfg.chap.is_none() {
            return Err(IscsiError::NeedsChap(cfg.addr));
        }
        let name = target_name(&library.layout().changer.serial);
        let mut targets = vec![(name.clone(), Units::library(library))];
        if let Some(bytes) = cfg.test_disk {
            targets.push((
                format!("{name}.testdisk"),
                Units::Disk(Arc::new(TestDisk::new(bytes, "REELSIMTESTDISK"))),
            ));
        }
        let listener = TcpListener::bind(cfg.addr)
            .await
            .map_err(|source| IscsiError::Bind {
                addr: cfg.addr,
                source,
            })?;
        let mut start = [0u8; 2];
        random_bytes(&mut start);
        let login = LoginConfig {
            targets: targets.iter().map(|(n, _)| n.clone()).collect(),
            chap: cfg.chap.clone(),
            prefer_digests: cfg.prefer_digests,
            ..LoginConfig::default()
        };
        Ok(IscsiTarget {
            listener,
            shared: Arc::new(Shared {
                targets,
                login,
                write_timeout: cfg.write_timeout,
                login_timeout: cfg.login_timeout,
                tsih: AtomicU16::new(u16::from_be_bytes(start).max(1)),
                sessions: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The target names it serves: the library, then the test disk when there is one.
    pub fn names(&self) -> Vec<String> {
        self.shared.targets.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Accepts connections until the task is dropped.
    ///
    /// # Errors
    /// Never in practice: accept errors (out of descriptors) are logged and retried.
    pub async fn run(self) -> std::io::Result<()> {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(super::conn::serve(stream, Arc::clone(&self.shared)));
                }
                Err(e) => {
                    tracing::warn!("iSCSI accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// A target running on its own thread and runtime; stopped when dropped.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The target names (the library's first).
    pub names: Vec<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a target for `library` on a background thread.
///
/// # Errors
/// As [`IscsiTarget::bind`], and [`IscsiError::Runtime`].
pub fn spawn(library: SimLibrary, cfg: &IscsiConfig) -> Result<Running, IscsiError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("reel-sim-iscsi-io")
        .enable_all()
        .build()
        .map_err(IscsiError::Runtime)?;
    let target = rt.block_on(IscsiTarget::bind(library, cfg))?;
    let addr = target.local_addr().map_err(IscsiError::Runtime)?;
    let names = target.names();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("reel-sim-iscsi".into())
        .spawn(move || {
            rt.block_on(async move {
                tokio::select! {
                    _ = target.run() => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(IscsiError::Runtime)?;
    Ok(Running {
        addr,
        names,
        stop: Some(stop),
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names() {
        let cases = [
            ("SIMLIB0001", "iqn.2026-12.dev.reel:sim.simlib0001"),
            ("Lab_Lib 1", "iqn.2026-12.dev.reel:sim.lab-lib-1"),
        ];
        for (serial, name) in cases {
            assert_eq!(target_name(serial), name);
        }
    }
}
