//! One iSCSI connection (= one session: MaxConnections is 1): login, then the full feature
//! phase.
//!
//! Three parts, so that a long tape command never stops the connection from answering:
//! - the reader (this task): reads PDUs, orders commands by CmdSN, gathers Data-Out (immediate,
//!   unsolicited, and solicited with R2T), answers NOP-Out, Text, task management and logout;
//! - the executor (one thread per session): runs SCSI commands one at a time in CmdSN order on
//!   the session's I_T nexus and turns each outcome into Data-In / SCSI Response PDUs;
//! - the writer (a task): stamps StatSN, ExpCmdSN and MaxCmdSN on each PDU as it leaves, adds
//!   the digests, and gives up on an initiator that stops reading.
//!
//! Errors policy (ErrorRecoveryLevel 0): a PDU whose framing cannot be trusted (header
//! digest, data digest, a data segment over the negotiated size) gets a Reject when possible
//! and the connection is closed; a Data-Out out of sequence (DataSN, offset, TTT, length) ends
//! its command with CHECK CONDITION, ABORTED COMMAND 4B/xx, and the connection goes on; a PDU
//! that is merely not supported gets a Reject; a non-immediate command outside the CmdSN
//! window is dropped silently.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::login::{Login, Params, Session, SessionKind, Step};
use super::lun::{lun_number, Command, Done, Nexus, GOOD};
use super::pdu::{
    reject, Bhs, DataIn, Digests, Lengths, LoginRequest, LogoutResponse, NopIn, Pdu, R2t, Reject,
    ScsiCommand, ScsiResponse, TaskMgmtResponse, TextResponse, BHS_LEN,
};
use super::target::Shared;
use super::text;
use super::PduError;

/// The largest Expected Data Transfer Length a command may announce.
pub const MAX_EDTL: u32 = 16 << 20;
/// The data segment limit while logging in (RFC 7143 default MaxRecvDataSegmentLength).
const LOGIN_SEGMENT: usize = 8192;
const NO_TAG: u32 = 0xFFFF_FFFF;

/// `a < b` in 32-bit serial arithmetic (RFC 1982).
pub fn sn_lt(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) < 0
}

/// The session's sequence numbers, shared by reader, executor and writer.
#[derive(Debug)]
struct Counters {
    stat_sn: u32,
    exp_cmd_sn: u32,
    in_flight: u32,
    window: u32,
}

impl Counters {
    fn max_cmd_sn(&self) -> u32 {
        self.exp_cmd_sn
            .wrapping_add(self.window.saturating_sub(self.in_flight))
            .wrapping_sub(1)
    }
}

type Shared32 = Arc<Mutex<Counters>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How a PDU uses StatSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sn {
    /// A response: takes the next StatSN.
    Status,
    /// Carries the next StatSN without taking it (R2T, Data-In without status).
    Peek,
    /// Sent as built (login responses).
    Verbatim,
}

#[derive(Debug)]
enum Out {
    Pdu(Pdu, Sn),
    /// Digests start with the first PDU after the final login response.
    Digests(Digests),
    /// Close after what is queued.
    Close,
}

/// A reason to end the connection.
#[derive(Debug)]
enum End {
    Closed,
    Io(std::io::Error),
    Protocol(String),
}

impl From<std::io::Error> for End {
    fn from(e: std::io::Error) -> End {
        End::Io(e)
    }
}

/// Serves one TCP connection until it ends.
pub(crate) async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let local = stream.local_addr().ok();
    let (mut rd, wr) = stream.into_split();
    let counters: Shared32 = Arc::new(Mutex::new(Counters {
        stat_sn: 0,
        exp_cmd_sn: 0,
        in_flight: 0,
        window: shared.login.cmd_window,
    }));
    let (tx, rx) = mpsc::channel::<Out>(256);
    let writer = tokio::spawn(write_loop(
        wr,
        rx,
        Arc::clone(&counters),
        shared.write_timeout,
    ));
    let end = match login(&mut rd, &tx, &shared).await {
        Ok(Some(session)) => {
            lock(&counters).stat_sn = session.stat_sn;
            lock(&counters).exp_cmd_sn = session.exp_cmd_sn;
            let mut conn = Conn::new(session, &shared, tx.clone(), Arc::clone(&counters), local);
            let end = conn.run(&mut rd).await;
            conn.finish();
            end
        }
        Ok(None) => End::Closed,
        Err(e) => e,
    };
    match &end {
        End::Closed => tracing::debug!("iSCSI connection from {peer} closed"),
        End::Io(e) => tracing::debug!("iSCSI connection from {peer}: {e}"),
        End::Protocol(m) => tracing::info!("iSCSI connection from {peer} dropped: {m}"),
    }
    drop(tx);
    let _ = writer.await;
}

/// Reads one PDU. `Ok(None)` at a clean end of stream.
async fn read_pdu(
    rd: &mut OwnedReadHalf,
    d: Digests,
    max_data: usize,
    tx: &mpsc::Sender<Out>,
) -> Result<Option<Pdu>, End> {
    let mut head = [0u8; BHS_LEN];
    match rd.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let l = Lengths::of(&head);
    if l.data > max_data {
        send_reject(tx, reject::PROTOCOL_ERROR, &head).await;
        return Err(End::Protocol(format!(
            "a data segment of {} bytes, over the negotiated {max_data}",
            l.data
        )));
    }
    let mut frame = vec![0u8; BHS_LEN + l.rest(d)];
    frame[..BHS_LEN].copy_from_slice(&head);
    rd.read_exact(&mut frame[BHS_LEN..]).await?;
    match Pdu::decode(&frame, d) {
        Ok(p) => Ok(Some(p)),
        Err(PduError::UnknownOpcode(op)) => {
            send_reject(tx, reject::NOT_SUPPORTED, &head).await;
            tracing::debug!("rejected unknown opcode 0x{op:02X}");
            // The framing is intact: go on with the next PDU.
            Box::pin(read_pdu(rd, d, max_data, tx)).await
        }
        Err(PduError::DataDigest) => {
            send_reject(tx, reject::DATA_DIGEST, &head).await;
            Err(End::Protocol("data digest error".into()))
        }
        Err(e) => Err(End::Protocol(e.to_string())),
    }
}

async fn send_reject(tx: &mpsc::Sender<Out>, reason: u8, head: &[u8; BHS_LEN]) {
    let p = Pdu::new(
        Bhs::Reject(Reject {
            reason,
            stat_sn: 0,
            exp_cmd_sn: 0,
            max_cmd_sn: 0,
            data_sn: 0,
        }),
        head.to_vec(),
    );
    let _ = tx.send(Out::Pdu(p, Sn::Status)).await;
}

/// Runs the login phase. `Ok(None)` when the login failed (its response was sent).
async fn login(
    rd: &mut OwnedReadHalf,
    tx: &mpsc::Sender<Out>,
    shared: &Shared,
) -> Result<Option<Session>, End> {
    let mut random = [0u8; 17];
    super::target::random_bytes(&mut random);
    let mut l = Login::new(shared.login.clone(), shared.next_tsih(), random);
    loop {
        let read = tokio::time::timeout(
            shared.login_timeout,
            read_pdu(rd, Digests::default(), LOGIN_SEGMENT, tx),
        );
        let pdu = match read.await {
            Err(_) => return Err(End::Protocol("login timed out".into())),
            Ok(r) => match r? {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        let req: LoginRequest = match pdu.bhs {
            Bhs::LoginRequest(r) => r,
            other => {
                return Err(End::Protocol(format!(
                    "{:?} before the login completed",
                    other.opcode()
                )))
            }
        };
        match l.step(&req, &pdu.data) {
            Step::Continue(p) => send(tx, Out::Pdu(p, Sn::Verbatim)).await?,
            Step::Fail(p) => {
                send(tx, Out::Pdu(p, Sn::Verbatim)).await?;
                send(tx, Out::Close).await?;
                return Ok(None);
            }
            Step::Done(p, session) => {
                send(tx, Out::Pdu(p, Sn::Verbatim)).await?;
                send(
                    tx,
                    Out::Digests(Digests {
                        header: session.params.header_digest,
                        data: session.params.data_digest,
                    }),
                )
                .await?;
                return Ok(Some(session));
            }
        }
    }
}

async fn send(tx: &mpsc::Sender<Out>, o: Out) -> Result<(), End> {
    tx.send(o).await.map_err(|_| End::Closed)
}

/// Stamps the sequence numbers a target PDU carries.
fn stamp(bhs: &mut Bhs, stat_sn: u32, exp: u32, max: u32) {
    match bhs {
        Bhs::NopIn(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        Bhs::ScsiResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        Bhs::TaskMgmtResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        Bhs::TextResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        Bhs::DataIn(p) => {
            p.stat_sn = if p.status.is_some() { stat_sn } else { 0 };
            (p.exp_cmd_sn, p.max_cmd_sn) = (exp, max);
        }
        Bhs::LogoutResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        Bhs::R2t(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        Bhs::AsyncMessage(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        Bhs::Reject(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn) = (stat_sn, exp, max),
        _ => {}
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Out>,
    counters: Shared32,
    timeout: Duration,
) {
    let mut digests = Digests::default();
    let mut buf = Vec::with_capacity(1 << 20);
    let mut close = false;
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        // Gather what is ready into one write.
        while let Some(o) = next.take() {
            match o {
                Out::Pdu(mut p, sn) => {
                    if sn != Sn::Verbatim {
                        let mut c = lock(&counters);
                        let s = c.stat_sn;
                        if sn == Sn::Status {
                            c.stat_sn = s.wrapping_add(1);
                        }
                        let (exp, max) = (c.exp_cmd_sn, c.max_cmd_sn());
                        drop(c);
                        stamp(&mut p.bhs, s, exp, max);
                    }
                    p.encode_into(digests, &mut buf);
                }
                Out::Digests(d) => {
                    // The login response before it is already in `buf`, without digests.
                    digests = d;
                }
                Out::Close => close = true,
            }
            if buf.len() < (1 << 20) && !close {
                next = rx.try_recv().ok();
            }
        }
        match tokio::time::timeout(timeout, wr.write_all(&buf)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("iSCSI write failed: {e}");
                break;
            }
            Err(_) => {
                tracing::info!(
                    "iSCSI initiator did not read for {} s; closing its connection",
                    timeout.as_secs()
                );
                break;
            }
        }
        buf.clear();
        if close {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

/// A SCSI command being received.
#[derive(Debug)]
struct Task {
    itt: u32,
    lun: u64,
    cdb: Vec<u8>,
    edtl: u32,
    read: bool,
    write: bool,
    counted: bool,
    buf: Vec<u8>,
    /// The unsolicited Data-Out sequence is open: next DataSN.
    unsolicited: Option<u32>,
    r2t: Option<Burst>,
    r2t_sn: u32,
}

/// One solicited burst: the R2T's TTT, its end offset, the next DataSN.
#[derive(Debug)]
struct Burst {
    ttt: u32,
    end: u32,
    data_sn: u32,
}

impl Task {
    fn complete(&self) -> bool {
        !self.write || self.buf.len() as u32 >= self.edtl
    }
}

/// Work for the executor, in order.
enum Job {
    Scsi {
        itt: u32,
        lun: u64,
        cdb: Vec<u8>,
        edtl: u32,
        read: bool,
        counted: bool,
        data_out: Vec<u8>,
    },
    /// Send this once the commands before it are done (task management, logout).
    After(Pdu, bool),
}

/// Commands handed to the executor and not yet answered, with their LUN and abort flag.
type Dispatched = Arc<Mutex<HashMap<u32, (u64, Arc<AtomicBool>)>>>;

struct Conn {
    session: Session,
    params: Params,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Out>,
    counters: Shared32,
    local: Option<std::net::SocketAddr>,
    tasks: HashMap<u32, Task>,
    order: VecDeque<u32>,
    held: BTreeMap<u32, Pdu>,
    next_ttt: u32,
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    executor: Option<std::thread::JoinHandle<()>>,
    dispatched: Dispatched,
    kill: Arc<tokio::sync::Notify>,
}

enum Admit {
    Now,
    Hold,
    Drop,
}

impl Conn {
    fn new(
        session: Session,
        shared: &Arc<Shared>,
        tx: mpsc::Sender<Out>,
        counters: Shared32,
        local: Option<std::net::SocketAddr>,
    ) -> Conn {
        let params = session.params;
        let dispatched: Dispatched = Arc::default();
        let (jobs, executor) = match session.kind {
            SessionKind::Normal(t) => {
                let nexus = shared.targets[t].1.nexus();
                let (jtx, jrx) = std::sync::mpsc::channel();
                let ex = Executor {
                    nexus,
                    params,
                    tx: tx.clone(),
                    counters: Arc::clone(&counters),
                    dispatched: Arc::clone(&dispatched),
                };
                let h = std::thread::Builder::new()
                    .name("reel-sim-iscsi".into())
                    .spawn(move || ex.run(jrx))
                    .ok();
                (Some(jtx), h)
            }
            SessionKind::Discovery => (None, None),
        };
        let kill = shared.register(&session);
        Conn {
            session,
            params,
            shared: Arc::clone(shared),
            tx,
            counters,
            local,
            tasks: HashMap::new(),
            order: VecDeque::new(),
            held: BTreeMap::new(),
            next_ttt: 1,
            jobs,
            executor,
            dispatched,
            kill,
        }
    }

    fn finish(&mut self) {
        self.jobs = None;
        if let Some(h) = self.executor.take() {
            // The executor ends when its queue closes; it never waits on us.
            std::thread::spawn(move || {
                let _ = h.join();
            });
        }
        self.shared.unregister(&self.session, &self.kill);
    }

    async fn run(&mut self, rd: &mut OwnedReadHalf) -> End {
        let d = Digests {
            header: self.params.header_digest,
            data: self.params.data_digest,
        };
        let max = self.params.recv_segment as usize;
        let kill = Arc::clone(&self.kill);
        loop {
            let pdu = tokio::select! {
                // A replaced session stops before it reads anything more.
                biased;
                () = kill.notified() => {
                    return End::Protocol("session reinstated by a new login with the same ISID".into());
                }
                r = read_pdu(rd, d, max, &self.tx) => match r {
                    Ok(Some(p)) => p,
                    Ok(None) => return End::Closed,
                    Err(e) => return e,
                },
            };
            match self.pdu(pdu).await {
                Ok(true) => {}
                Ok(false) => return End::Closed,
                Err(e) => return e,
            }
        }
    }

    fn admit(&mut self, cmd_sn: u32, immediate: bool) -> Admit {
        if immediate {
            return Admit::Now;
        }
        let c = lock(&self.counters);
        if cmd_sn == c.exp_cmd_sn {
            Admit::Now
        } else if sn_lt(c.exp_cmd_sn, cmd_sn) && !sn_lt(c.max_cmd_sn(), cmd_sn) {
            Admit::Hold
        } else {
            Admit::Drop
        }
    }

    /// Handles one PDU. `Ok(false)`: the connection is done (logout).
    async fn pdu(&mut self, pdu: Pdu) -> Result<bool, End> {
        let ordered = match &pdu.bhs {
            Bhs::ScsiCommand(c) => Some((c.cmd_sn, c.immediate)),
            Bhs::NopOut(c) => Some((c.cmd_sn, c.immediate)),
            Bhs::TaskMgmtRequest(c) => Some((c.cmd_sn, c.immediate)),
            Bhs::TextRequest(c) => Some((c.cmd_sn, c.immediate)),
            Bhs::LogoutRequest(c) => Some((c.cmd_sn, c.immediate)),
            _ => None,
        };
        let Some((cmd_sn, immediate)) = ordered else {
            return self.unordered(pdu).await.map(|()| true);
        };
        match self.admit(cmd_sn, immediate) {
            Admit::Drop => {
                tracing::debug!("dropped a command with CmdSN {cmd_sn} outside the window");
                Ok(true)
            }
            Admit::Hold => {
                self.held.insert(cmd_sn, pdu);
                Ok(true)
            }
            Admit::Now => {
                if !immediate {
                    self.advance(matches!(pdu.bhs, Bhs::ScsiCommand(_)));
                }
                if !self.ordered(pdu).await? {
                    return Ok(false);
                }
                loop {
                    let exp = lock(&self.counters).exp_cmd_sn;
                    let Some(p) = self.held.remove(&exp) else {
                        return Ok(true);
                    };
                    self.advance(matches!(p.bhs, Bhs::ScsiCommand(_)));
                    if !self.ordered(p).await? {
                        return Ok(false);
                    }
                }
            }
        }
    }

    fn advance(&self, scsi: bool) {
        let mut c = lock(&self.counters);
        c.exp_cmd_sn = c.exp_cmd_sn.wrapping_add(1);
        if scsi {
            c.in_flight += 1;
        }
    }

    fn uncount(&self) {
        let mut c = lock(&self.counters);
        c.in_flight = c.in_flight.saturating_sub(1);
    }

    async fn reply(&self, p: Pdu) -> Result<(), End> {
        send(&self.tx, Out::Pdu(p, Sn::Status)).await
    }

    async fn ordered(&mut self, pdu: Pdu) -> Result<bool, End> {
        match pdu.bhs {
            Bhs::ScsiCommand(c) => {
                let counted = !c.immediate;
                self.command(c, pdu.ahs, pdu.data, counted).await?;
            }
            Bhs::NopOut(n) if n.itt != NO_TAG => {
                let mut data = pdu.data;
                data.truncate(self.params.send_segment as usize);
                self.reply(Pdu::new(
                    Bhs::NopIn(NopIn {
                        lun: n.lun,
                        itt: n.itt,
                        ttt: NO_TAG,
                        stat_sn: 0,
                        exp_cmd_sn: 0,
                        max_cmd_sn: 0,
                    }),
                    data,
                ))
                .await?;
            }
            Bhs::TextRequest(t) => {
                let data = if t.ttt == NO_TAG && !t.cont {
                    self.text(&pdu.data)
                } else {
                    Vec::new()
                };
                self.reply(Pdu::new(
                    Bhs::TextResponse(TextResponse {
                        final_: true,
                        cont: false,
                        lun: t.lun,
                        itt: t.itt,
                        ttt: NO_TAG,
                        stat_sn: 0,
                        exp_cmd_sn: 0,
                        max_cmd_sn: 0,
                    }),
                    data,
                ))
                .await?;
            }
            Bhs::TaskMgmtRequest(t) => {
                let response = self.task_management(&t);
                let p = Pdu::new(
                    Bhs::TaskMgmtResponse(TaskMgmtResponse {
                        response,
                        itt: t.itt,
                        stat_sn: 0,
                        exp_cmd_sn: 0,
                        max_cmd_sn: 0,
                    }),
                    Vec::new(),
                );
                self.after(p, false).await?;
            }
            Bhs::LogoutRequest(l) => {
                let (response, close) = match l.reason {
                    0 | 1 => (0, true),
                    _ => (2, false),
                };
                let p = Pdu::new(
                    Bhs::LogoutResponse(LogoutResponse {
                        response,
                        itt: l.itt,
                        stat_sn: 0,
                        exp_cmd_sn: 0,
                        max_cmd_sn: 0,
                        time2wait: 0,
                        time2retain: 0,
                    }),
                    Vec::new(),
                );
                self.after(p, close).await?;
                return Ok(!close);
            }
            _ => {}
        }
        Ok(true)
    }

    /// Sends `p` after the commands already handed to the executor.
    async fn after(&self, p: Pdu, close: bool) -> Result<(), End> {
        match &self.jobs {
            Some(j) => j.send(Job::After(p, close)).map_err(|_| End::Closed),
            None => {
                self.reply(p).await?;
                if close {
                    send(&self.tx, Out::Close).await?;
                }
                Ok(())
            }
        }
    }

    fn text(&self, data: &[u8]) -> Vec<u8> {
        let Ok(pairs) = text::parse(data) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in pairs {
            if k != "SendTargets" {
                out.push((k, "NotUnderstood".to_owned()));
                continue;
            }
            let addr = self
                .local
                .map(|a| format!("{a},1"))
                .unwrap_or_else(|| "127.0.0.1:3260,1".to_owned());
            for (name, _) in &self.shared.targets {
                let wanted = match (&self.session.kind, v.as_str()) {
                    (SessionKind::Discovery, "All") => true,
                    (_, "") => {
                        matches!(&self.session.kind, SessionKind::Normal(i) if self.shared.targets[*i].0 == *name)
                    }
                    (_, n) => n == name,
                };
                if wanted {
                    out.push(("TargetName".to_owned(), name.clone()));
                    out.push(("TargetAddress".to_owned(), addr.clone()));
                }
            }
        }
        text::encode(&out)
    }

    fn task_management(&mut self, t: &super::pdu::TaskMgmtRequest) -> u8 {
        const COMPLETE: u8 = 0;
        const NO_TASK: u8 = 1;
        const NO_LUN: u8 = 2;
        const NO_REASSIGN: u8 = 4;
        const NOT_SUPPORTED: u8 = 5;
        let lun_ok = self.session.kind != SessionKind::Discovery
            && lun_number(t.lun).is_some_and(|n| match &self.session.kind {
                SessionKind::Normal(i) => self.shared.targets[*i].1.has_lun(n),
                SessionKind::Discovery => false,
            });
        match t.function {
            1 => {
                if let Some(k) = self.tasks.remove(&t.ref_task_tag) {
                    self.order.retain(|&i| i != t.ref_task_tag);
                    if k.counted {
                        self.uncount();
                    }
                    return COMPLETE;
                }
                if let Some((_, flag)) = lock(&self.dispatched).get(&t.ref_task_tag) {
                    flag.store(true, Ordering::SeqCst);
                    return COMPLETE;
                }
                let c = lock(&self.counters);
                let in_window = !sn_lt(t.ref_cmd_sn, c.exp_cmd_sn)
                    && !sn_lt(c.max_cmd_sn(), t.ref_cmd_sn)
                    && sn_lt(t.ref_cmd_sn, t.cmd_sn);
                if in_window {
                    COMPLETE
                } else {
                    NO_TASK
                }
            }
            2 | 3 | 5 | 6 => {
                let all = t.function == 6;
                if !all && !lun_ok {
                    return NO_LUN;
                }
                let gone: Vec<u32> = self
                    .tasks
                    .values()
                    .filter(|k| all || k.lun == t.lun)
                    .map(|k| k.itt)
                    .collect();
                for itt in gone {
                    if let Some(k) = self.tasks.remove(&itt) {
                        if k.counted {
                            self.uncount();
                        }
                    }
                    self.order.retain(|&i| i != itt);
                }
                for (lun, flag) in lock(&self.dispatched).values() {
                    if all || *lun == t.lun {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                if t.function == 5 || t.function == 6 {
                    self.shared.reset(&self.session, t.function == 6, t.lun);
                }
                COMPLETE
            }
            8 => NO_REASSIGN,
            _ => NOT_SUPPORTED,
        }
    }

    async fn protocol_error(&self, p: &Pdu, why: &str) -> End {
        let head = p.bhs.encode(0, p.data.len() as u32);
        send_reject(&self.tx, reject::PROTOCOL_ERROR, &head).await;
        End::Protocol(why.to_owned())
    }

    async fn command(
        &mut self,
        c: ScsiCommand,
        ahs: Vec<u8>,
        data: Vec<u8>,
        counted: bool,
    ) -> Result<(), End> {
        let whole = Pdu::new(Bhs::ScsiCommand(c.clone()), Vec::new());
        if self.jobs.is_none() {
            if counted {
                self.uncount();
            }
            let head = whole.bhs.encode(0, 0);
            send_reject(&self.tx, reject::PROTOCOL_ERROR, &head).await;
            return Ok(());
        }
        if self.tasks.contains_key(&c.itt) || lock(&self.dispatched).contains_key(&c.itt) {
            return Err(self.protocol_error(&whole, "an ITT already in use").await);
        }
        if c.edtl > MAX_EDTL {
            return Err(self
                .protocol_error(&whole, "an expected data transfer length over 16 MiB")
                .await);
        }
        let immediate_ok = c.write
            && self.params.immediate_data
            && data.len() as u32 <= self.params.first_burst.min(c.edtl);
        if !data.is_empty() && !immediate_ok {
            return Err(self
                .protocol_error(
                    &whole,
                    "immediate data that was not negotiated or is too long",
                )
                .await);
        }
        if c.write && !c.final_ && self.params.initial_r2t {
            return Err(self
                .protocol_error(&whole, "unsolicited data under InitialR2T=Yes")
                .await);
        }
        // The CDB: 16 bytes, plus an extended-CDB AHS (type 1) for longer ones.
        let mut cdb = c.cdb.to_vec();
        if ahs.len() >= 4 && ahs[2] == 1 {
            let n = usize::from(u16::from_be_bytes([ahs[0], ahs[1]])).saturating_sub(1);
            cdb.extend_from_slice(&ahs[4..(4 + n).min(ahs.len())]);
        }
        let mut task = Task {
            itt: c.itt,
            lun: c.lun,
            cdb,
            edtl: c.edtl,
            read: c.read,
            write: c.write,
            counted,
            buf: Vec::new(),
            unsolicited: (c.write && !c.final_).then_some(0),
            r2t: None,
            r2t_sn: 0,
        };
        if c.write {
            task.buf.reserve_exact(c.edtl as usize);
            task.buf.extend_from_slice(&data);
        }
        self.tasks.insert(c.itt, task);
        self.order.push_back(c.itt);
        self.solicit(c.itt).await?;
        self.dispatch()
    }

    /// Sends the next R2T of a write whose unsolicited data is in, if data is missing.
    async fn solicit(&mut self, itt: u32) -> Result<(), End> {
        let max_burst = self.params.max_burst;
        let ttt = self.next_ttt;
        let Some(t) = self.tasks.get_mut(&itt) else {
            return Ok(());
        };
        if !t.write || t.unsolicited.is_some() || t.r2t.is_some() || t.complete() {
            return Ok(());
        }
        let offset = t.buf.len() as u32;
        let len = (t.edtl - offset).min(max_burst);
        t.r2t = Some(Burst {
            ttt,
            end: offset + len,
            data_sn: 0,
        });
        let r2t_sn = t.r2t_sn;
        t.r2t_sn += 1;
        let lun = t.lun;
        self.next_ttt = self.next_ttt.wrapping_add(1).max(1);
        if self.next_ttt == NO_TAG {
            self.next_ttt = 1;
        }
        let p = Pdu::new(
            Bhs::R2t(R2t {
                lun,
                itt,
                ttt,
                stat_sn: 0,
                exp_cmd_sn: 0,
                max_cmd_sn: 0,
                r2t_sn,
                offset,
                desired_length: len,
            }),
            Vec::new(),
        );
        send(&self.tx, Out::Pdu(p, Sn::Peek)).await
    }

    /// Hands complete commands at the head of the queue to the executor, in order.
    fn dispatch(&mut self) -> Result<(), End> {
        while let Some(&itt) = self.order.front() {
            if !self.tasks.get(&itt).is_some_and(Task::complete) {
                break;
            }
            self.order.pop_front();
            let Some(t) = self.tasks.remove(&itt) else {
                continue;
            };
            lock(&self.dispatched).insert(itt, (t.lun, Arc::new(AtomicBool::new(false))));
            let job = Job::Scsi {
                itt,
                lun: t.lun,
                cdb: t.cdb,
                edtl: t.edtl,
                read: t.read,
                counted: t.counted,
                data_out: t.buf,
            };
            if let Some(j) = &self.jobs {
                j.send(job).map_err(|_| End::Closed)?;
            }
        }
        Ok(())
    }

    /// Ends a command whose Data-Out went wrong with CHECK CONDITION; its remaining Data-Out
    /// PDUs will be rejected as belonging to no task.
    async fn fail_task(&mut self, itt: u32, sense: crate::sense::SimSense) -> Result<(), End> {
        let Some(t) = self.tasks.remove(&itt) else {
            return Ok(());
        };
        tracing::debug!("iSCSI task {itt:#x} failed: Data-Out out of sequence");
        self.order.retain(|&i| i != itt);
        if t.counted {
            self.uncount();
        }
        let sense = sense.to_fixed_bytes();
        let mut body = (sense.len() as u16).to_be_bytes().to_vec();
        body.extend_from_slice(&sense);
        let p = Pdu::new(
            Bhs::ScsiResponse(ScsiResponse {
                bidi_overflow: false,
                bidi_underflow: false,
                overflow: false,
                underflow: false,
                response: 0,
                status: super::lun::CHECK_CONDITION,
                itt,
                snack_tag: 0,
                stat_sn: 0,
                exp_cmd_sn: 0,
                max_cmd_sn: 0,
                exp_data_sn: 0,
                bidi_residual: 0,
                residual: 0,
            }),
            body,
        );
        self.reply(p).await?;
        self.dispatch()
    }

    async fn unordered(&mut self, pdu: Pdu) -> Result<(), End> {
        match &pdu.bhs {
            Bhs::DataOut(d) => {
                let d = d.clone();
                self.data_out(&pdu, &d).await
            }
            Bhs::Snack(_) => {
                let head = pdu.bhs.encode(0, pdu.data.len() as u32);
                send_reject(&self.tx, reject::SNACK, &head).await;
                Ok(())
            }
            // Login after the login phase, or a target-only opcode from the initiator.
            _ => Err(self
                .protocol_error(&pdu, "a PDU not allowed in the full feature phase")
                .await),
        }
    }

    async fn data_out(&mut self, pdu: &Pdu, d: &super::pdu::DataOut) -> Result<(), End> {
        let Some(t) = self.tasks.get_mut(&d.itt) else {
            // A task that was aborted or never existed: reject and go on.
            let head = pdu.bhs.encode(0, pdu.data.len() as u32);
            send_reject(&self.tx, reject::INVALID_FIELD, &head).await;
            return Ok(());
        };
        let len = pdu.data.len() as u32;
        let at = t.buf.len() as u32;
        let first_burst = self.params.first_burst;
        // ABORTED COMMAND, DATA PHASE ERROR (4B/00), DATA OFFSET ERROR (4B/05), TOO MUCH
        // WRITE DATA (4B/02), INVALID TARGET PORT TRANSFER TAG (4B/01).
        let error = if d.offset != at {
            Some(0x05)
        } else if at.checked_add(len).map_or(true, |e| e > t.edtl) {
            Some(0x02)
        } else if d.ttt == NO_TAG {
            match t.unsolicited {
                Some(sn) if sn != d.data_sn => Some(0x00),
                Some(_) if at + len > first_burst => Some(0x02),
                Some(sn) => {
                    t.unsolicited = if d.final_ { None } else { Some(sn + 1) };
                    None
                }
                None => Some(0x00),
            }
        } else {
            match &mut t.r2t {
                Some(b) if b.ttt != d.ttt => Some(0x01),
                Some(b) if b.data_sn != d.data_sn => Some(0x00),
                Some(b) if at + len > b.end || (d.final_ && at + len != b.end) => Some(0x02),
                Some(b) => {
                    b.data_sn += 1;
                    if d.final_ {
                        t.r2t = None;
                    }
                    None
                }
                None => Some(0x01),
            }
        };
        if let Some(ascq) = error {
            let itt = d.itt;
            return self
                .fail_task(itt, crate::sense::SimSense::new(0x0B, 0x4B, ascq))
                .await;
        }
        t.buf.extend_from_slice(&pdu.data);
        let itt = d.itt;
        self.solicit(itt).await?;
        self.dispatch()
    }
}

/// Runs one session's commands on its I_T nexus.
struct Executor {
    nexus: Nexus,
    params: Params,
    tx: mpsc::Sender<Out>,
    counters: Shared32,
    dispatched: Dispatched,
}

impl Executor {
    fn run(mut self, jobs: std::sync::mpsc::Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            let ok = match job {
                Job::Scsi {
                    itt,
                    lun,
                    cdb,
                    edtl,
                    read,
                    counted,
                    data_out,
                } => {
                    let aborted = lock(&self.dispatched)
                        .get(&itt)
                        .is_some_and(|(_, f)| f.load(Ordering::SeqCst));
                    let done = if aborted {
                        None
                    } else {
                        Some(self.nexus.execute(&Command {
                            lun,
                            cdb: &cdb,
                            edtl,
                            read,
                            data_out: &data_out,
                        }))
                    };
                    // Answered unless aborted meanwhile; decided under the lock the task
                    // manager uses, so a task is either answered or reported aborted.
                    let aborted = lock(&self.dispatched)
                        .remove(&itt)
                        .map_or(true, |(_, f)| f.load(Ordering::SeqCst));
                    if counted {
                        let mut c = lock(&self.counters);
                        c.in_flight = c.in_flight.saturating_sub(1);
                    }
                    match done {
                        Some(done) if !aborted => self.respond(itt, lun, read, edtl, done),
                        _ => true,
                    }
                }
                Job::After(p, close) => {
                    let ok = self.tx.blocking_send(Out::Pdu(p, Sn::Status)).is_ok();
                    if close {
                        let _ = self.tx.blocking_send(Out::Close);
                    }
                    ok
                }
            };
            if !ok {
                break;
            }
        }
    }

    /// Data-In (status collapsed into the last one when GOOD), or a SCSI Response.
    fn respond(&self, itt: u32, lun: u64, read: bool, edtl: u32, done: Done) -> bool {
        let seg = (self.params.send_segment as usize).max(512);
        let burst = (self.params.max_burst as usize).max(seg);
        let collapse = done.status == GOOD && done.sense.is_empty();
        let (overflow, underflow) = (done.overflow > 0, done.underflow > 0 && done.overflow == 0);
        let residual = if overflow {
            done.overflow
        } else if underflow {
            done.underflow
        } else {
            0
        };
        let data = if read { done.data } else { Vec::new() };
        let _ = edtl;
        let mut data_sn = 0u32;
        let mut offset = 0usize;
        while offset < data.len() {
            let in_burst = offset % burst;
            let n = seg.min(data.len() - offset).min(burst - in_burst);
            let last = offset + n == data.len();
            let end_of_burst = last || (in_burst + n) == burst;
            let status = (last && collapse).then_some(done.status);
            let p = Pdu::new(
                Bhs::DataIn(DataIn {
                    final_: end_of_burst,
                    ack: false,
                    overflow: status.is_some() && overflow,
                    underflow: status.is_some() && underflow,
                    status,
                    lun,
                    itt,
                    ttt: NO_TAG,
                    stat_sn: 0,
                    exp_cmd_sn: 0,
                    max_cmd_sn: 0,
                    data_sn,
                    offset: offset as u32,
                    residual: if status.is_some() { residual } else { 0 },
                }),
                data[offset..offset + n].to_vec(),
            );
            let sn = if status.is_some() {
                Sn::Status
            } else {
                Sn::Peek
            };
            if self.tx.blocking_send(Out::Pdu(p, sn)).is_err() {
                return false;
            }
            data_sn += 1;
            offset += n;
            if last && collapse {
                return true;
            }
        }
        let mut body = Vec::new();
        if !done.sense.is_empty() {
            body.extend_from_slice(&(done.sense.len() as u16).to_be_bytes());
            body.extend_from_slice(&done.sense);
        }
        let p = Pdu::new(
            Bhs::ScsiResponse(ScsiResponse {
                bidi_overflow: false,
                bidi_underflow: false,
                overflow,
                underflow,
                response: 0,
                status: done.status,
                itt,
                snack_tag: 0,
                stat_sn: 0,
                exp_cmd_sn: 0,
                max_cmd_sn: 0,
                exp_data_sn: data_sn,
                bidi_residual: 0,
                residual,
            }),
            body,
        );
        self.tx.blocking_send(Out::Pdu(p, Sn::Status)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic_wraps() {
        let cases: &[(u32, u32, bool)] = &[
            (1, 2, true),
            (2, 1, false),
            (5, 5, false),
            (0xFFFF_FFFF, 0, true),
            (0xFFFF_FFF0, 0x10, true),
            (0x10, 0xFFFF_FFF0, false),
        ];
        for &(a, b, lt) in cases {
            assert_eq!(sn_lt(a, b), lt, "{a:#x} < {b:#x}");
        }
    }

    #[test]
    fn the_window_closes_as_commands_are_in_flight() {
        let mut c = Counters {
            stat_sn: 0,
            exp_cmd_sn: 0xFFFF_FFFE,
            in_flight: 0,
            window: 32,
        };
        assert_eq!(c.max_cmd_sn(), 29);
        c.exp_cmd_sn = c.exp_cmd_sn.wrapping_add(1);
        c.in_flight = 1;
        assert_eq!(c.max_cmd_sn(), 29, "MaxCmdSN never moves back");
        c.in_flight = 32;
        assert_eq!(
            c.max_cmd_sn(),
            c.exp_cmd_sn.wrapping_sub(1),
            "window closed"
        );
    }
}
