//! A small blocking iSCSI initiator over the same codec: enough to log in (None or CHAP,
//! either start), run SCSI commands with Data-In, immediate data, unsolicited Data-Out and
//! R2T, ping, manage tasks and log out. It exists to test the target and to measure it (the
//! `data` bench); it is also a client for any other target on loopback (tgt in the bench).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::login::{chap_md5, stage};
use super::pdu::{
    Bhs, DataOut, Digests, Lengths, LoginRequest, LogoutRequest, NopOut, Pdu, ScsiCommand,
    TaskMgmtRequest, TextRequest, BHS_LEN,
};
use super::{text, PduError};

/// How to log in.
#[derive(Debug, Clone)]
pub struct Options {
    /// InitiatorName.
    pub initiator: String,
    /// TargetName; None for a discovery session.
    pub target: Option<String>,
    /// CHAP user and secret.
    pub chap: Option<(String, String)>,
    /// Start in the security stage with AuthMethod (open-iscsi) rather than directly in the
    /// operational stage (libiscsi).
    pub security_stage: bool,
    /// Ask for CRC32C header digests.
    pub header_digest: bool,
    /// Ask for CRC32C data digests.
    pub data_digest: bool,
    /// ImmediateData.
    pub immediate_data: bool,
    /// InitialR2T.
    pub initial_r2t: bool,
    /// Our MaxRecvDataSegmentLength.
    pub max_recv_segment: u32,
    /// MaxBurstLength / FirstBurstLength offered.
    pub max_burst: u32,
    /// ISID.
    pub isid: [u8; 6],
    /// The first CmdSN (initiators start anywhere).
    pub cmd_sn: u32,
    /// Socket read timeout.
    pub timeout: Duration,
}

impl Options {
    /// A normal session to `target` without CHAP or digests.
    pub fn new(target: Option<&str>) -> Options {
        Options {
            initiator: "iqn.2026-12.dev.reel:test-initiator".to_owned(),
            target: target.map(str::to_owned),
            chap: None,
            security_stage: false,
            header_digest: false,
            data_digest: false,
            immediate_data: true,
            initial_r2t: false,
            max_recv_segment: 262_144,
            max_burst: 1 << 20,
            isid: [0x80, 0x12, 0x34, 0x56, 0x00, 0x01],
            cmd_sn: 0xFFFF_FFF0,
            timeout: Duration::from_secs(20),
        }
    }
}

/// Something went wrong talking to the target.
#[derive(Debug, thiserror::Error)]
pub enum InitiatorError {
    /// Socket error or timeout.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A PDU that does not decode.
    #[error("{0}")]
    Pdu(#[from] PduError),
    /// The target refused the login with this status class and detail.
    #[error("login refused with status 0x{0:04X}")]
    Login(u16),
    /// Something the protocol does not allow.
    #[error("{0}")]
    Protocol(String),
}

/// What a SCSI command came back with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// SCSI status.
    pub status: u8,
    /// Sense data.
    pub sense: Vec<u8>,
    /// Data-In, placed by offset.
    pub data: Vec<u8>,
    /// O bit.
    pub overflow: bool,
    /// U bit.
    pub underflow: bool,
    /// Residual count.
    pub residual: u32,
    /// The status came collapsed into the last Data-In.
    pub collapsed: bool,
    /// Number of Data-In PDUs.
    pub data_in_pdus: u32,
}

/// Direction and data of one command.
#[derive(Debug)]
pub enum Data<'a> {
    /// No data.
    None,
    /// Read up to this many bytes.
    In(u32),
    /// Write these bytes.
    Out(&'a [u8]),
}

/// One logged-in session on one connection.
#[derive(Debug)]
pub struct Initiator {
    stream: TcpStream,
    digests: Digests,
    /// Negotiated: what we may send per PDU.
    send_segment: u32,
    first_burst: u32,
    immediate_data: bool,
    initial_r2t: bool,
    /// Next CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
    /// Last MaxCmdSN seen.
    pub max_cmd_sn: u32,
    /// Last ExpCmdSN seen.
    pub exp_cmd_sn: u32,
    itt: u32,
    /// The TSIH the target assigned.
    pub tsih: u16,
    /// The final login response's keys.
    pub login_keys: Vec<(String, String)>,
}

fn kv(pairs: &[(&str, String)]) -> Vec<u8> {
    text::encode(
        &pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<Vec<_>>(),
    )
}

fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

impl Initiator {
    /// Connects and logs in.
    ///
    /// # Errors
    /// [`InitiatorError::Login`] when the target refuses, I/O and protocol errors.
    pub fn login(addr: SocketAddr, o: &Options) -> Result<Initiator, InitiatorError> {
        let stream = TcpStream::connect_timeout(&addr, o.timeout)?;
        stream.set_read_timeout(Some(o.timeout))?;
        stream.set_nodelay(true)?;
        let mut me = Initiator {
            stream,
            digests: Digests::default(),
            send_segment: 8192,
            first_burst: 65536,
            immediate_data: true,
            initial_r2t: true,
            cmd_sn: o.cmd_sn,
            exp_stat_sn: 0,
            max_cmd_sn: o.cmd_sn,
            exp_cmd_sn: o.cmd_sn,
            itt: 0x1000_0000,
            tsih: 0,
            login_keys: Vec::new(),
        };
        let mut declare = vec![("InitiatorName", o.initiator.clone())];
        match &o.target {
            Some(t) => {
                declare.push(("TargetName", t.clone()));
                declare.push(("SessionType", "Normal".to_owned()));
            }
            None => declare.push(("SessionType", "Discovery".to_owned())),
        }
        let operational = vec![
            (
                "HeaderDigest",
                if o.header_digest {
                    "CRC32C,None"
                } else {
                    "None"
                }
                .to_owned(),
            ),
            (
                "DataDigest",
                if o.data_digest { "CRC32C,None" } else { "None" }.to_owned(),
            ),
            ("MaxRecvDataSegmentLength", o.max_recv_segment.to_string()),
            (
                "InitialR2T",
                if o.initial_r2t { "Yes" } else { "No" }.to_owned(),
            ),
            (
                "ImmediateData",
                if o.immediate_data { "Yes" } else { "No" }.to_owned(),
            ),
            ("MaxBurstLength", o.max_burst.to_string()),
            ("FirstBurstLength", o.max_burst.min(262_144).to_string()),
            ("MaxOutstandingR2T", "1".to_owned()),
            ("ErrorRecoveryLevel", "0".to_owned()),
            ("MaxConnections", "1".to_owned()),
        ];
        let mut keys: Vec<(String, String)> = Vec::new();
        if o.security_stage || o.chap.is_some() {
            let method = if o.chap.is_some() {
                "CHAP,None"
            } else {
                "None"
            };
            let mut first = declare.clone();
            first.push(("AuthMethod", method.to_owned()));
            let (r, _) = me.login_step(o, stage::SECURITY, 1, o.chap.is_none(), &kv(&first))?;
            if let Some((user, secret)) = &o.chap {
                if get(&r, "AuthMethod") != Some("CHAP") {
                    return Err(InitiatorError::Protocol("target did not pick CHAP".into()));
                }
                let (r, _) = me.login_step(
                    o,
                    stage::SECURITY,
                    1,
                    false,
                    &kv(&[("CHAP_A", "7,5".to_owned())]),
                )?;
                let id: u8 = get(&r, "CHAP_I")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| InitiatorError::Protocol("no CHAP_I".into()))?;
                let c = get(&r, "CHAP_C")
                    .and_then(|v| v.strip_prefix("0x"))
                    .ok_or_else(|| InitiatorError::Protocol("no CHAP_C".into()))?;
                let challenge: Vec<u8> = (0..c.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&c[2 * i..2 * i + 2], 16).ok())
                    .collect();
                let resp = chap_md5(id, secret.as_bytes(), &challenge);
                let hexr: String = resp.iter().map(|b| format!("{b:02x}")).collect();
                me.login_step(
                    o,
                    stage::SECURITY,
                    1,
                    true,
                    &kv(&[("CHAP_N", user.clone()), ("CHAP_R", format!("0x{hexr}"))]),
                )?;
            }
            let (r, _) = me.login_step(o, stage::OPERATIONAL, 3, true, &kv(&operational))?;
            keys = r;
        } else {
            let mut all = declare;
            all.extend(operational);
            let (r, _) = me.login_step(o, stage::OPERATIONAL, 3, true, &kv(&all))?;
            keys.extend(r);
        }
        me.digests = Digests {
            header: get(&keys, "HeaderDigest") == Some("CRC32C"),
            data: get(&keys, "DataDigest") == Some("CRC32C"),
        };
        if let Some(n) = get(&keys, "MaxRecvDataSegmentLength").and_then(|v| v.parse().ok()) {
            me.send_segment = n;
        }
        if let Some(n) = get(&keys, "FirstBurstLength").and_then(|v| v.parse().ok()) {
            me.first_burst = n;
        }
        me.immediate_data = get(&keys, "ImmediateData") == Some("Yes");
        me.initial_r2t = get(&keys, "InitialR2T") != Some("No");
        me.login_keys = keys;
        Ok(me)
    }

    fn login_step(
        &mut self,
        o: &Options,
        csg: u8,
        nsg: u8,
        transit: bool,
        data: &[u8],
    ) -> Result<(Vec<(String, String)>, bool), InitiatorError> {
        let req = LoginRequest {
            transit,
            cont: false,
            csg,
            nsg,
            version_max: 0,
            version_min: 0,
            isid: o.isid,
            tsih: 0,
            itt: self.next_itt(),
            cid: 0,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
        };
        self.send(&Pdu::new(Bhs::LoginRequest(req), data.to_vec()))?;
        let p = self.recv()?;
        let Bhs::LoginResponse(r) = &p.bhs else {
            return Err(InitiatorError::Protocol(format!(
                "{:?} during login",
                p.bhs.opcode()
            )));
        };
        let status = u16::from(r.status_class) << 8 | u16::from(r.status_detail);
        if status != 0 {
            return Err(InitiatorError::Login(status));
        }
        self.exp_stat_sn = r.stat_sn.wrapping_add(1);
        self.exp_cmd_sn = r.exp_cmd_sn;
        self.max_cmd_sn = r.max_cmd_sn;
        if r.transit && r.nsg == stage::FULL_FEATURE {
            self.tsih = r.tsih;
        }
        Ok((text::parse(&p.data)?, r.transit))
    }

    fn next_itt(&mut self) -> u32 {
        self.itt = self.itt.wrapping_add(1);
        self.itt
    }

    /// Sends one PDU.
    ///
    /// # Errors
    /// I/O errors.
    pub fn send(&mut self, p: &Pdu) -> Result<(), InitiatorError> {
        self.stream.write_all(&p.encode(self.digests))?;
        Ok(())
    }

    /// Sends raw bytes (for malformed input tests).
    ///
    /// # Errors
    /// I/O errors.
    pub fn send_raw(&mut self, b: &[u8]) -> Result<(), InitiatorError> {
        self.stream.write_all(b)?;
        Ok(())
    }

    /// Receives one PDU.
    ///
    /// # Errors
    /// I/O errors (including a timeout or the target closing), undecodable PDUs.
    pub fn recv(&mut self) -> Result<Pdu, InitiatorError> {
        let mut head = [0u8; BHS_LEN];
        self.stream.read_exact(&mut head)?;
        let l = Lengths::of(&head);
        let mut frame = vec![0u8; BHS_LEN + l.rest(self.digests)];
        frame[..BHS_LEN].copy_from_slice(&head);
        self.stream.read_exact(&mut frame[BHS_LEN..])?;
        let p = Pdu::decode(&frame, self.digests)?;
        let sns = match &p.bhs {
            Bhs::ScsiResponse(r) => Some((Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn)),
            Bhs::NopIn(r) => Some((Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn)),
            Bhs::TaskMgmtResponse(r) => Some((Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn)),
            Bhs::TextResponse(r) => Some((Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn)),
            Bhs::LogoutResponse(r) => Some((Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn)),
            Bhs::Reject(r) => Some((Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn)),
            Bhs::DataIn(r) => Some((r.status.map(|_| r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn)),
            Bhs::R2t(r) => Some((None, r.exp_cmd_sn, r.max_cmd_sn)),
            _ => None,
        };
        if let Some((stat, exp, max)) = sns {
            if let Some(s) = stat {
                self.exp_stat_sn = s.wrapping_add(1);
            }
            self.exp_cmd_sn = exp;
            self.max_cmd_sn = max;
        }
        Ok(p)
    }

    /// Builds a SCSI Command PDU (taking a CmdSN unless `immediate`).
    pub fn command_pdu(&mut self, lun: u64, cdb: &[u8], data: &Data<'_>, immediate: bool) -> Pdu {
        let mut c = [0u8; 16];
        c[..cdb.len().min(16)].copy_from_slice(&cdb[..cdb.len().min(16)]);
        let (read, write, edtl, imm) = match data {
            Data::None => (false, false, 0, &[][..]),
            Data::In(n) => (true, false, *n, &[][..]),
            Data::Out(b) => {
                let n = if self.immediate_data {
                    b.len()
                        .min(self.first_burst as usize)
                        .min(self.send_segment as usize)
                } else {
                    0
                };
                (false, true, b.len() as u32, &b[..n])
            }
        };
        let unsolicited_left =
            write && !self.initial_r2t && (imm.len() as u32) < edtl.min(self.first_burst);
        let cmd_sn = self.cmd_sn;
        if !immediate {
            self.cmd_sn = self.cmd_sn.wrapping_add(1);
        }
        Pdu::new(
            Bhs::ScsiCommand(ScsiCommand {
                immediate,
                final_: !unsolicited_left,
                read,
                write,
                attr: 1,
                lun,
                itt: self.next_itt(),
                edtl,
                cmd_sn,
                exp_stat_sn: self.exp_stat_sn,
                cdb: c,
            }),
            imm.to_vec(),
        )
    }

    /// Runs one SCSI command to completion.
    ///
    /// # Errors
    /// I/O and protocol errors (a Reject among them).
    pub fn command(
        &mut self,
        lun: u64,
        cdb: &[u8],
        data: Data<'_>,
    ) -> Result<Response, InitiatorError> {
        let p = self.command_pdu(lun, cdb, &data, false);
        let Bhs::ScsiCommand(c) = &p.bhs else {
            unreachable!("command_pdu builds a SCSI Command")
        };
        let (itt, final_, sent) = (c.itt, c.final_, p.data.len());
        self.send(&p)?;
        self.finish(itt, lun, final_, sent, data)
    }

    /// Sends the rest of a command's data and collects its response.
    fn finish(
        &mut self,
        itt: u32,
        lun: u64,
        final_: bool,
        mut sent: usize,
        data: Data<'_>,
    ) -> Result<Response, InitiatorError> {
        let out: &[u8] = match data {
            Data::Out(b) => b,
            _ => &[],
        };
        if !final_ {
            let end = out.len().min(self.first_burst as usize);
            sent = self.data_out(itt, lun, 0xFFFF_FFFF, out, sent, end)?;
        }
        let _ = sent;
        let mut r = Response::default();
        loop {
            let p = self.recv()?;
            match p.bhs {
                Bhs::R2t(t) if t.itt == itt => {
                    let end = (t.offset + t.desired_length) as usize;
                    self.data_out(itt, lun, t.ttt, out, t.offset as usize, end.min(out.len()))?;
                }
                Bhs::DataIn(d) if d.itt == itt => {
                    let at = d.offset as usize;
                    if r.data.len() < at + p.data.len() {
                        r.data.resize(at + p.data.len(), 0);
                    }
                    r.data[at..at + p.data.len()].copy_from_slice(&p.data);
                    r.data_in_pdus += 1;
                    if let Some(s) = d.status {
                        r.status = s;
                        r.overflow = d.overflow;
                        r.underflow = d.underflow;
                        r.residual = d.residual;
                        r.collapsed = true;
                        return Ok(r);
                    }
                }
                Bhs::ScsiResponse(s) if s.itt == itt => {
                    r.status = s.status;
                    r.overflow = s.overflow;
                    r.underflow = s.underflow;
                    r.residual = s.residual;
                    if p.data.len() >= 2 {
                        let n = usize::from(u16::from_be_bytes([p.data[0], p.data[1]]));
                        r.sense = p.data[2..(2 + n).min(p.data.len())].to_vec();
                    }
                    return Ok(r);
                }
                Bhs::NopIn(n) if n.ttt != 0xFFFF_FFFF => self.answer_ping(&n)?,
                Bhs::Reject(j) => {
                    return Err(InitiatorError::Protocol(format!(
                        "rejected, reason 0x{:02X}",
                        j.reason
                    )))
                }
                other => {
                    return Err(InitiatorError::Protocol(format!(
                        "unexpected {:?}",
                        other.opcode()
                    )))
                }
            }
        }
    }

    fn answer_ping(&mut self, n: &super::pdu::NopIn) -> Result<(), InitiatorError> {
        let p = Pdu::new(
            Bhs::NopOut(NopOut {
                immediate: true,
                lun: n.lun,
                itt: 0xFFFF_FFFF,
                ttt: n.ttt,
                cmd_sn: self.cmd_sn,
                exp_stat_sn: self.exp_stat_sn,
            }),
            Vec::new(),
        );
        self.send(&p)
    }

    /// Sends `out[from..to]` as Data-Out PDUs of one sequence. Returns `to`.
    fn data_out(
        &mut self,
        itt: u32,
        lun: u64,
        ttt: u32,
        out: &[u8],
        from: usize,
        to: usize,
    ) -> Result<usize, InitiatorError> {
        let seg = self.send_segment as usize;
        let mut at = from;
        let mut sn = 0;
        let mut wire = Vec::with_capacity(to - from + 64 * ((to - from) / seg + 1));
        while at < to {
            let n = seg.min(to - at);
            let p = Pdu::new(
                Bhs::DataOut(DataOut {
                    final_: at + n == to,
                    lun,
                    itt,
                    ttt,
                    exp_stat_sn: self.exp_stat_sn,
                    data_sn: sn,
                    offset: at as u32,
                }),
                out[at..at + n].to_vec(),
            );
            p.encode_into(self.digests, &mut wire);
            sn += 1;
            at += n;
        }
        self.stream.write_all(&wire)?;
        Ok(to)
    }

    /// NOP-Out with `data`; returns the echoed data.
    ///
    /// # Errors
    /// I/O and protocol errors.
    pub fn ping(&mut self, data: &[u8]) -> Result<Vec<u8>, InitiatorError> {
        let itt = self.next_itt();
        let p = Pdu::new(
            Bhs::NopOut(NopOut {
                immediate: true,
                lun: 0,
                itt,
                ttt: 0xFFFF_FFFF,
                cmd_sn: self.cmd_sn,
                exp_stat_sn: self.exp_stat_sn,
            }),
            data.to_vec(),
        );
        self.send(&p)?;
        loop {
            let r = self.recv()?;
            if let Bhs::NopIn(n) = &r.bhs {
                if n.itt == itt && n.ttt == 0xFFFF_FFFF {
                    return Ok(r.data);
                }
            }
        }
    }

    /// A task management function; returns its response code.
    ///
    /// # Errors
    /// I/O and protocol errors.
    pub fn task_management(
        &mut self,
        function: u8,
        lun: u64,
        ref_itt: u32,
        ref_cmd_sn: u32,
    ) -> Result<u8, InitiatorError> {
        let itt = self.next_itt();
        let p = Pdu::new(
            Bhs::TaskMgmtRequest(TaskMgmtRequest {
                immediate: true,
                function,
                lun,
                itt,
                ref_task_tag: ref_itt,
                cmd_sn: self.cmd_sn,
                exp_stat_sn: self.exp_stat_sn,
                ref_cmd_sn,
                exp_data_sn: 0,
            }),
            Vec::new(),
        );
        self.send(&p)?;
        loop {
            let r = self.recv()?;
            if let Bhs::TaskMgmtResponse(t) = &r.bhs {
                if t.itt == itt {
                    return Ok(t.response);
                }
            }
        }
    }

    /// Text request `SendTargets=<what>`; returns the pairs.
    ///
    /// # Errors
    /// I/O and protocol errors.
    pub fn send_targets(&mut self, what: &str) -> Result<Vec<(String, String)>, InitiatorError> {
        let itt = self.next_itt();
        let cmd_sn = self.cmd_sn;
        self.cmd_sn = self.cmd_sn.wrapping_add(1);
        let p = Pdu::new(
            Bhs::TextRequest(TextRequest {
                immediate: false,
                final_: true,
                cont: false,
                lun: 0,
                itt,
                ttt: 0xFFFF_FFFF,
                cmd_sn,
                exp_stat_sn: self.exp_stat_sn,
            }),
            kv(&[("SendTargets", what.to_owned())]),
        );
        self.send(&p)?;
        let r = self.recv()?;
        match r.bhs {
            Bhs::TextResponse(t) if t.itt == itt => Ok(text::parse(&r.data)?),
            other => Err(InitiatorError::Protocol(format!(
                "unexpected {:?}",
                other.opcode()
            ))),
        }
    }

    /// Logs out (closing the session) and waits for the response.
    ///
    /// # Errors
    /// I/O and protocol errors.
    pub fn logout(mut self) -> Result<u8, InitiatorError> {
        let itt = self.next_itt();
        let p = Pdu::new(
            Bhs::LogoutRequest(LogoutRequest {
                immediate: true,
                reason: 0,
                itt,
                cid: 0,
                cmd_sn: self.cmd_sn,
                exp_stat_sn: self.exp_stat_sn,
            }),
            Vec::new(),
        );
        self.send(&p)?;
        loop {
            let r = self.recv()?;
            if let Bhs::LogoutResponse(l) = r.bhs {
                return Ok(l.response);
            }
        }
    }

    /// The socket, for tests that need to misbehave.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Negotiated digests.
    pub fn digests(&self) -> Digests {
        self.digests
    }
}
