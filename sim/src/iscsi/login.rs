//! The login phase (RFC 7143 §6, §12) as a pure state machine: each Login Request in, one
//! Login Response out, until the session enters the full feature phase or the login fails.
//!
//! Decisions where the RFC leaves a choice (listed in `sim/README.md` too):
//! - Both starts are accepted: a security stage with `AuthMethod` (open-iscsi), or directly
//!   the operational stage without it (libiscsi without credentials) when no CHAP is required.
//! - CHAP: MD5 only (algorithm 5), chosen as the first entry of the initiator's `CHAP_A` list
//!   we support; mutual CHAP (the initiator sending `CHAP_I`/`CHAP_C`) fails the login, since
//!   the target has no secret of its own. `CHAP_R` may be hex (`0x`) or base64 (`0b`).
//! - Operational keys are negotiated in whichever stage they arrive; unknown keys are answered
//!   `NotUnderstood`; a value that does not parse is answered `Reject`.
//! - Our offers: MaxRecvDataSegmentLength 262144, MaxBurstLength 1 MiB, FirstBurstLength
//!   256 KiB, InitialR2T No, ImmediateData Yes, MaxOutstandingR2T 1, ErrorRecoveryLevel 0,
//!   MaxConnections 1, a command window of 32.

use md5::{Digest, Md5};

use super::pdu::{Bhs, LoginRequest, LoginResponse, Pdu};
use super::text;

/// Stage numbers (CSG/NSG).
pub mod stage {
    /// Security negotiation.
    pub const SECURITY: u8 = 0;
    /// Operational negotiation.
    pub const OPERATIONAL: u8 = 1;
    /// Full feature phase.
    pub const FULL_FEATURE: u8 = 3;
}

/// Login status class and detail (§11.13.5), as one number (class << 8 | detail).
pub mod status {
    /// Success.
    pub const SUCCESS: u16 = 0x0000;
    /// Miscellaneous initiator error.
    pub const INITIATOR_ERROR: u16 = 0x0200;
    /// Authentication failure.
    pub const AUTH_FAILURE: u16 = 0x0201;
    /// Target not found.
    pub const NOT_FOUND: u16 = 0x0203;
    /// Unsupported version.
    pub const UNSUPPORTED_VERSION: u16 = 0x0205;
    /// Missing parameter.
    pub const MISSING_PARAMETER: u16 = 0x0207;
    /// Session does not exist (adding a connection to one).
    pub const NO_SESSION: u16 = 0x020A;
    /// Invalid request during login.
    pub const INVALID_DURING_LOGIN: u16 = 0x020B;
}

/// CHAP credentials the initiator must prove.
#[derive(Clone, PartialEq, Eq)]
pub struct Chap {
    /// The expected `CHAP_N`.
    pub user: String,
    /// The shared secret.
    pub secret: String,
}

impl std::fmt::Debug for Chap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chap").field("user", &self.user).finish()
    }
}

/// What the target offers in every login.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    /// Names of the targets a normal session may log in to.
    pub targets: Vec<String>,
    /// Credentials required of every initiator, if any.
    pub chap: Option<Chap>,
    /// Our MaxRecvDataSegmentLength (the largest data segment we accept).
    pub max_recv_data_segment_length: u32,
    /// Our MaxBurstLength offer.
    pub max_burst_length: u32,
    /// Our FirstBurstLength offer.
    pub first_burst_length: u32,
    /// How many commands the initiator may have outstanding (MaxCmdSN − ExpCmdSN + 1).
    pub cmd_window: u32,
    /// Choose CRC32C digests whenever the initiator offers them, rather than its first
    /// choice (libiscsi offers `None,CRC32C`).
    pub prefer_digests: bool,
}

impl Default for LoginConfig {
    fn default() -> LoginConfig {
        LoginConfig {
            targets: Vec::new(),
            chap: None,
            max_recv_data_segment_length: 262_144,
            max_burst_length: 1 << 20,
            first_burst_length: 262_144,
            cmd_window: 32,
            prefer_digests: false,
        }
    }
}

/// The operational parameters a login settled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// CRC32C header digests.
    pub header_digest: bool,
    /// CRC32C data digests.
    pub data_digest: bool,
    /// The initiator's MaxRecvDataSegmentLength: the largest segment we may send.
    pub send_segment: u32,
    /// Ours: the largest segment we accept.
    pub recv_segment: u32,
    /// MaxBurstLength.
    pub max_burst: u32,
    /// FirstBurstLength.
    pub first_burst: u32,
    /// InitialR2T.
    pub initial_r2t: bool,
    /// ImmediateData.
    pub immediate_data: bool,
}

impl Params {
    /// RFC 7143 defaults, before any negotiation.
    pub fn defaults(cfg: &LoginConfig) -> Params {
        Params {
            header_digest: false,
            data_digest: false,
            send_segment: 8192,
            recv_segment: cfg.max_recv_data_segment_length,
            max_burst: 262_144,
            first_burst: 65_536,
            initial_r2t: true,
            immediate_data: true,
        }
    }
}

/// What kind of session the login opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// SendTargets only.
    Discovery,
    /// Commands to the target at this index of [`LoginConfig::targets`].
    Normal(usize),
}

/// A completed login.
#[derive(Debug, Clone)]
pub struct Session {
    /// Discovery or normal.
    pub kind: SessionKind,
    /// InitiatorName.
    pub initiator: String,
    /// ISID.
    pub isid: [u8; 6],
    /// The TSIH we assigned.
    pub tsih: u16,
    /// Negotiated parameters.
    pub params: Params,
    /// The first CmdSN we expect.
    pub exp_cmd_sn: u32,
    /// The StatSN of the next response.
    pub stat_sn: u32,
}

/// The answer to one Login Request.
#[derive(Debug)]
pub enum Step {
    /// Send this response and wait for the next request.
    Continue(Pdu),
    /// Send this response; the connection is in the full feature phase.
    Done(Pdu, Session),
    /// Send this (failure) response and close the connection.
    Fail(Pdu),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Auth {
    /// Nothing chosen yet.
    Pending,
    /// CHAP chosen; waiting for CHAP_A.
    ChapAlgorithm,
    /// Challenge sent; waiting for CHAP_N/CHAP_R.
    ChapResponse { id: u8, challenge: [u8; 16] },
    /// The initiator is who it says (or no authentication is required).
    Done,
}

/// One connection's login.
#[derive(Debug)]
pub struct Login {
    cfg: LoginConfig,
    tsih: u16,
    random: [u8; 17],
    auth: Auth,
    params: Params,
    initiator: Option<String>,
    kind: Option<SessionKind>,
    isid: [u8; 6],
    stat_sn: Option<u32>,
    pending_text: Vec<u8>,
    /// Declarations made once: our MaxRecvDataSegmentLength, TargetPortalGroupTag.
    declared_mrdsl: bool,
    declared_tpgt: bool,
    first: bool,
}

fn yes_no(v: bool) -> String {
    if v { "Yes" } else { "No" }.to_owned()
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "Yes" => Some(true),
        "No" => Some(false),
        _ => None,
    }
}

fn parse_num(v: &str) -> Option<u32> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else {
        v.parse().ok()
    }
}

/// Decodes a CHAP binary value: `0x` hex or `0b` base64.
fn decode_binary(v: &str) -> Option<Vec<u8>> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        if h.len() % 2 != 0 {
            return None;
        }
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
            .collect()
    } else if let Some(b) = v.strip_prefix("0b").or_else(|| v.strip_prefix("0B")) {
        base64(b)
    } else {
        None
    }
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// MD5(id ‖ secret ‖ challenge), the CHAP response (RFC 1994).
pub fn chap_md5(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

impl Login {
    /// A login that will assign `tsih` on success; `random` seeds the CHAP identifier and
    /// challenge.
    pub fn new(cfg: LoginConfig, tsih: u16, random: [u8; 17]) -> Login {
        let params = Params::defaults(&cfg);
        let auth = if cfg.chap.is_some() {
            Auth::Pending
        } else {
            Auth::Done
        };
        Login {
            cfg,
            tsih,
            random,
            auth,
            params,
            initiator: None,
            kind: None,
            isid: [0; 6],
            stat_sn: None,
            pending_text: Vec::new(),
            declared_mrdsl: false,
            declared_tpgt: false,
            first: true,
        }
    }

    fn response(
        &mut self,
        req: &LoginRequest,
        transit: bool,
        nsg: u8,
        status: u16,
        pairs: &[(String, String)],
        tsih: u16,
    ) -> Pdu {
        let stat_sn = *self.stat_sn.get_or_insert(req.exp_stat_sn);
        self.stat_sn = Some(stat_sn.wrapping_add(1));
        let csg = req.csg;
        Pdu::new(
            Bhs::LoginResponse(LoginResponse {
                transit,
                cont: false,
                csg,
                nsg: if transit { nsg } else { 0 },
                version_max: 0,
                version_active: 0,
                isid: req.isid,
                tsih,
                itt: req.itt,
                stat_sn,
                exp_cmd_sn: req.cmd_sn,
                max_cmd_sn: req.cmd_sn.wrapping_add(self.cfg.cmd_window.max(1) - 1),
                status_class: (status >> 8) as u8,
                status_detail: status as u8,
            }),
            if status == status::SUCCESS {
                text::encode(pairs)
            } else {
                Vec::new()
            },
        )
    }

    fn fail(&mut self, req: &LoginRequest, status: u16) -> Step {
        tracing::info!("iSCSI login failed with status 0x{status:04X}");
        Step::Fail(self.response(req, false, 0, status, &[], 0))
    }

    /// Answers one Login Request with its data segment.
    pub fn step(&mut self, req: &LoginRequest, data: &[u8]) -> Step {
        if req.version_min > 0 {
            return self.fail(req, status::UNSUPPORTED_VERSION);
        }
        if req.tsih != 0 {
            return self.fail(req, status::NO_SESSION);
        }
        if self.first {
            self.isid = req.isid;
        } else if self.isid != req.isid {
            return self.fail(req, status::INVALID_DURING_LOGIN);
        }
        self.pending_text.extend_from_slice(data);
        if self.pending_text.len() > 65_536 {
            return self.fail(req, status::INITIATOR_ERROR);
        }
        if req.cont {
            return Step::Continue(self.response(req, false, 0, status::SUCCESS, &[], 0));
        }
        let Ok(pairs) = text::parse(&std::mem::take(&mut self.pending_text)) else {
            return self.fail(req, status::INITIATOR_ERROR);
        };
        let first = std::mem::replace(&mut self.first, false);
        let mut out: Vec<(String, String)> = Vec::new();
        let mut chap_name = None;
        let mut chap_response = None;
        for (k, v) in &pairs {
            match k.as_str() {
                "InitiatorName" => self.initiator = Some(v.clone()),
                "SessionType" => match v.as_str() {
                    "Discovery" => self.kind = Some(SessionKind::Discovery),
                    "Normal" => {}
                    _ => return self.fail(req, status::INITIATOR_ERROR),
                },
                "TargetName" => match self.cfg.targets.iter().position(|t| t == v) {
                    Some(i) => {
                        if self.kind != Some(SessionKind::Discovery) {
                            self.kind = Some(SessionKind::Normal(i));
                        }
                    }
                    None => return self.fail(req, status::NOT_FOUND),
                },
                "InitiatorAlias" => {}
                "AuthMethod" => match self.choose_auth(req, v) {
                    Ok(m) => out.push((k.clone(), m)),
                    Err(s) => return self.fail(req, s),
                },
                "CHAP_A" => {
                    if self.auth != Auth::ChapAlgorithm {
                        return self.fail(req, status::INITIATOR_ERROR);
                    }
                    if !v.split(',').any(|a| a.trim() == "5") {
                        return self.fail(req, status::AUTH_FAILURE);
                    }
                    let id = self.random[0];
                    let mut challenge = [0u8; 16];
                    challenge.copy_from_slice(&self.random[1..]);
                    out.push(("CHAP_A".to_owned(), "5".to_owned()));
                    out.push(("CHAP_I".to_owned(), id.to_string()));
                    out.push(("CHAP_C".to_owned(), format!("0x{}", hex(&challenge))));
                    self.auth = Auth::ChapResponse { id, challenge };
                }
                "CHAP_N" => chap_name = Some(v.clone()),
                "CHAP_R" => chap_response = Some(v.clone()),
                // Mutual CHAP: we have no secret to prove ourselves with.
                "CHAP_I" | "CHAP_C" => return self.fail(req, status::AUTH_FAILURE),
                _ => {
                    if let Some(answer) = self.negotiate(k, v) {
                        out.push((k.clone(), answer));
                    }
                }
            }
        }
        if first {
            let Some(name) = &self.initiator else {
                return self.fail(req, status::MISSING_PARAMETER);
            };
            if name.is_empty() {
                return self.fail(req, status::MISSING_PARAMETER);
            }
            if self.kind.is_none() {
                return self.fail(req, status::MISSING_PARAMETER);
            }
        }
        if chap_name.is_some() || chap_response.is_some() {
            if let Err(s) = self.check_chap(chap_name, chap_response) {
                return self.fail(req, s);
            }
        }
        match req.csg {
            stage::SECURITY => {
                if self.auth == Auth::Pending && !pairs.iter().any(|(k, _)| k == "AuthMethod") {
                    return self.fail(req, status::MISSING_PARAMETER);
                }
            }
            stage::OPERATIONAL => {
                if self.auth != Auth::Done {
                    return self.fail(req, status::AUTH_FAILURE);
                }
            }
            _ => return self.fail(req, status::INVALID_DURING_LOGIN),
        }
        if matches!(self.kind, Some(SessionKind::Normal(_))) && !self.declared_tpgt {
            self.declared_tpgt = true;
            out.push(("TargetPortalGroupTag".to_owned(), "1".to_owned()));
        }
        let transit = req.transit && self.auth == Auth::Done;
        if transit && req.nsg <= req.csg {
            return self.fail(req, status::INVALID_DURING_LOGIN);
        }
        let to_ffp = transit && req.nsg == stage::FULL_FEATURE;
        if (req.csg == stage::OPERATIONAL || to_ffp) && !self.declared_mrdsl {
            self.declared_mrdsl = true;
            out.push((
                "MaxRecvDataSegmentLength".to_owned(),
                self.params.recv_segment.to_string(),
            ));
        }
        if to_ffp {
            let tsih = self.tsih;
            let pdu = self.response(req, true, req.nsg, status::SUCCESS, &out, tsih);
            let session = Session {
                kind: self.kind.clone().unwrap_or(SessionKind::Discovery),
                initiator: self.initiator.clone().unwrap_or_default(),
                isid: self.isid,
                tsih,
                params: self.params,
                exp_cmd_sn: req.cmd_sn,
                stat_sn: self.stat_sn.unwrap_or(0),
            };
            return Step::Done(pdu, session);
        }
        Step::Continue(self.response(req, transit, req.nsg, status::SUCCESS, &out, 0))
    }

    /// The AuthMethod we pick, or the login status to fail with.
    fn choose_auth(&mut self, req: &LoginRequest, offered: &str) -> Result<String, u16> {
        if req.csg != stage::SECURITY {
            return Err(status::INITIATOR_ERROR);
        }
        let list: Vec<&str> = offered.split(',').map(str::trim).collect();
        if self.cfg.chap.is_some() {
            if list.contains(&"CHAP") {
                self.auth = Auth::ChapAlgorithm;
                return Ok("CHAP".to_owned());
            }
            return Err(status::AUTH_FAILURE);
        }
        if list.contains(&"None") {
            return Ok("None".to_owned());
        }
        Err(status::AUTH_FAILURE)
    }

    /// Verifies CHAP_N and CHAP_R, or names the login status to fail with.
    fn check_chap(&mut self, name: Option<String>, response: Option<String>) -> Result<(), u16> {
        let (Auth::ChapResponse { id, challenge }, Some(chap)) = (&self.auth, &self.cfg.chap)
        else {
            return Err(status::INITIATOR_ERROR);
        };
        let expect = chap_md5(*id, chap.secret.as_bytes(), challenge);
        let got = response.as_deref().and_then(decode_binary);
        if name.as_deref() != Some(chap.user.as_str()) || got.as_deref() != Some(&expect[..]) {
            return Err(status::AUTH_FAILURE);
        }
        self.auth = Auth::Done;
        Ok(())
    }

    /// Our answer to one operational key, or None for declarations that need none.
    fn negotiate(&mut self, key: &str, v: &str) -> Option<String> {
        let p = &mut self.params;
        let num = |v: &str, lo: u32, hi: u32| parse_num(v).filter(|n| (lo..=hi).contains(n));
        let reject = || Some("Reject".to_owned());
        if key == "MaxRecvDataSegmentLength" {
            // Declarative: no answer unless the value is unusable.
            return match num(v, 512, 16_777_215) {
                Some(n) => {
                    p.send_segment = n;
                    None
                }
                None => reject(),
            };
        }
        match key {
            "HeaderDigest" | "DataDigest" => {
                let mut offered = v.split(',').map(str::trim);
                let pick = if self.cfg.prefer_digests && offered.clone().any(|d| d == "CRC32C") {
                    Some("CRC32C")
                } else {
                    offered.find(|d| *d == "CRC32C" || *d == "None")
                };
                let Some(pick) = pick else {
                    return reject();
                };
                let on = pick == "CRC32C";
                if key == "HeaderDigest" {
                    p.header_digest = on;
                } else {
                    p.data_digest = on;
                }
                Some(pick.to_owned())
            }
            "MaxBurstLength" => {
                let n = num(v, 512, 16_777_215)?.min(self.cfg.max_burst_length);
                p.max_burst = n;
                p.first_burst = p.first_burst.min(n);
                Some(n.to_string())
            }
            "FirstBurstLength" => {
                let n = num(v, 512, 16_777_215)?
                    .min(self.cfg.first_burst_length)
                    .min(p.max_burst.max(512));
                p.first_burst = n;
                Some(n.to_string())
            }
            "InitialR2T" => {
                let b = parse_bool(v)?;
                // OR: we do not insist on R2T for the first burst.
                p.initial_r2t = b;
                Some(yes_no(b))
            }
            "ImmediateData" => {
                let b = parse_bool(v)?;
                p.immediate_data = b;
                Some(yes_no(b))
            }
            "MaxOutstandingR2T" | "MaxConnections" => num(v, 1, 65_535).map(|_| "1".to_owned()),
            "ErrorRecoveryLevel" => num(v, 0, 2).map(|_| "0".to_owned()),
            "DataPDUInOrder" | "DataSequenceInOrder" => parse_bool(v).map(|_| yes_no(true)),
            "DefaultTime2Wait" => num(v, 0, 3600).map(|n| n.max(2).to_string()),
            "DefaultTime2Retain" => num(v, 0, 3600).map(|_| "0".to_owned()),
            "IFMarker" | "OFMarker" => parse_bool(v).map(|_| yes_no(false)),
            _ => Some("NotUnderstood".to_owned()),
        }
        .or_else(reject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "iqn.2026-12.dev.reel:sim.simlib0001";

    fn cfg(chap: bool) -> LoginConfig {
        LoginConfig {
            targets: vec![TARGET.to_owned()],
            chap: chap.then(|| Chap {
                user: "alice".to_owned(),
                secret: "s3cret-s3cret".to_owned(),
            }),
            ..LoginConfig::default()
        }
    }

    fn req(csg: u8, nsg: u8, transit: bool) -> LoginRequest {
        LoginRequest {
            transit,
            cont: false,
            csg,
            nsg,
            version_max: 0,
            version_min: 0,
            isid: [0x80, 0, 0, 0, 0, 1],
            tsih: 0,
            itt: 0x1234,
            cid: 0,
            cmd_sn: 0xFFFF_FFF0,
            exp_stat_sn: 77,
        }
    }

    fn kv(s: &str) -> Vec<u8> {
        s.split(' ')
            .flat_map(|p| [p.as_bytes(), b"\0"].concat())
            .collect()
    }

    fn pairs(p: &Pdu) -> Vec<(String, String)> {
        text::parse(&p.data).unwrap()
    }

    fn head(p: &Pdu) -> &LoginResponse {
        match &p.bhs {
            Bhs::LoginResponse(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
        p.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn libiscsi_start_directly_in_the_operational_stage() {
        let mut l = Login::new(cfg(false), 7, [0; 17]);
        let data = kv(&format!("InitiatorName=iqn.test:i TargetName={TARGET} SessionType=Normal HeaderDigest=CRC32C,None DataDigest=None MaxRecvDataSegmentLength=65536 InitialR2T=Yes ImmediateData=Yes MaxBurstLength=262144 FirstBurstLength=262144 MaxOutstandingR2T=1 MaxConnections=1 DataPDUInOrder=Yes DataSequenceInOrder=Yes ErrorRecoveryLevel=0 DefaultTime2Wait=2 DefaultTime2Retain=0 X-odd=1"));
        let Step::Done(p, s) = l.step(&req(1, 3, true), &data) else {
            panic!("not done")
        };
        let h = head(&p);
        assert!(h.transit);
        assert_eq!((h.csg, h.nsg, h.tsih, h.itt), (1, 3, 7, 0x1234));
        assert_eq!((h.status_class, h.status_detail), (0, 0));
        assert_eq!(h.isid, [0x80, 0, 0, 0, 0, 1]);
        // ExpCmdSN is the initiator's CmdSN; the window wraps (serial arithmetic).
        assert_eq!(h.exp_cmd_sn, 0xFFFF_FFF0);
        assert_eq!(h.max_cmd_sn, 0xFFFF_FFF0u32.wrapping_add(31));
        assert_eq!(h.stat_sn, 77);
        assert_eq!(s.stat_sn, 78);
        let a = pairs(&p);
        assert_eq!(get(&a, "HeaderDigest"), Some("CRC32C"));
        assert_eq!(get(&a, "DataDigest"), Some("None"));
        assert_eq!(get(&a, "MaxBurstLength"), Some("262144"));
        assert_eq!(get(&a, "FirstBurstLength"), Some("262144"));
        assert_eq!(get(&a, "InitialR2T"), Some("Yes"));
        assert_eq!(get(&a, "ImmediateData"), Some("Yes"));
        assert_eq!(get(&a, "ErrorRecoveryLevel"), Some("0"));
        assert_eq!(get(&a, "X-odd"), Some("NotUnderstood"));
        assert_eq!(get(&a, "TargetPortalGroupTag"), Some("1"));
        assert_eq!(get(&a, "MaxRecvDataSegmentLength"), Some("262144"));
        assert_eq!(s.kind, SessionKind::Normal(0));
        assert!(s.params.header_digest && !s.params.data_digest);
        assert_eq!(s.params.send_segment, 65536);
    }

    #[test]
    fn open_iscsi_start_with_auth_method_none() {
        let mut l = Login::new(cfg(false), 1, [0; 17]);
        let data = kv(&format!(
            "InitiatorName=iqn.test:i TargetName={TARGET} SessionType=Normal AuthMethod=None"
        ));
        let Step::Continue(p) = l.step(&req(0, 1, true), &data) else {
            panic!()
        };
        assert!(head(&p).transit);
        assert_eq!((head(&p).csg, head(&p).nsg), (0, 1));
        assert_eq!(get(&pairs(&p), "AuthMethod"), Some("None"));
        let Step::Done(p, _) = l.step(&req(1, 3, true), &kv("HeaderDigest=None")) else {
            panic!()
        };
        assert_eq!(head(&p).stat_sn, 78);
    }

    fn chap_login(secret: &str, algorithms: &str) -> Step {
        let mut random = [0u8; 17];
        random[0] = 42;
        for (i, b) in random[1..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut l = Login::new(cfg(true), 3, random);
        let first = kv(&format!(
            "InitiatorName=iqn.test:i TargetName={TARGET} SessionType=Normal AuthMethod=CHAP,None"
        ));
        let Step::Continue(p) = l.step(&req(0, 1, true), &first) else {
            panic!()
        };
        assert!(!head(&p).transit, "not before CHAP is done");
        assert_eq!(get(&pairs(&p), "AuthMethod"), Some("CHAP"));
        let p = match l.step(&req(0, 1, false), &kv(&format!("CHAP_A={algorithms}"))) {
            Step::Continue(p) => p,
            other => return other,
        };
        let a = pairs(&p);
        assert_eq!(get(&a, "CHAP_A"), Some("5"));
        assert_eq!(get(&a, "CHAP_I"), Some("42"));
        assert_eq!(
            get(&a, "CHAP_C"),
            Some("0x000102030405060708090a0b0c0d0e0f")
        );
        let challenge: Vec<u8> = (0..16).collect();
        let r = chap_md5(42, secret.as_bytes(), &challenge);
        l.step(
            &req(0, 1, true),
            &kv(&format!("CHAP_N=alice CHAP_R=0x{}", hex(&r))),
        )
    }

    fn failed_with(s: &Step) -> Option<u16> {
        match s {
            Step::Fail(p) => {
                let h = head(p);
                Some(u16::from(h.status_class) << 8 | u16::from(h.status_detail))
            }
            Step::Continue(p) if head(p).status_class != 0 => {
                Some(u16::from(head(p).status_class) << 8 | u16::from(head(p).status_detail))
            }
            _ => None,
        }
    }

    #[test]
    fn chap_md5_picks_the_first_supported_algorithm() {
        // libiscsi lists several algorithms and answers with MD5: we must pick 5.
        for list in ["5", "7,6,5", "6,5,7"] {
            match chap_login("s3cret-s3cret", list) {
                Step::Continue(p) => assert!(head(&p).transit, "{list}"),
                other => panic!("{list}: {other:?}"),
            }
        }
        assert_eq!(
            failed_with(&chap_login("wrong", "5")),
            Some(status::AUTH_FAILURE)
        );
        assert_eq!(
            failed_with(&chap_login("s3cret-s3cret", "7,6")),
            Some(status::AUTH_FAILURE)
        );
    }

    #[test]
    fn login_failures_table() {
        let t = format!("TargetName={TARGET}");
        let cases: &[(bool, u8, u8, &str, u16)] = &[
            // (chap, csg, nsg, keys, status)
            (false, 1, 3, "TARGET", status::MISSING_PARAMETER),
            (
                false,
                1,
                3,
                "InitiatorName=i TargetName=iqn.nope",
                status::NOT_FOUND,
            ),
            (false, 1, 3, "InitiatorName=i", status::MISSING_PARAMETER),
            (true, 1, 3, "InitiatorName=i TARGET", status::AUTH_FAILURE),
            (
                true,
                0,
                1,
                "InitiatorName=i TARGET AuthMethod=None",
                status::AUTH_FAILURE,
            ),
            (
                false,
                0,
                1,
                "InitiatorName=i TARGET AuthMethod=CHAP",
                status::AUTH_FAILURE,
            ),
            (
                false,
                2,
                3,
                "InitiatorName=i TARGET",
                status::INVALID_DURING_LOGIN,
            ),
            (
                false,
                1,
                1,
                "InitiatorName=i TARGET",
                status::INVALID_DURING_LOGIN,
            ),
            (
                false,
                1,
                3,
                "InitiatorName=i TARGET CHAP_A=5",
                status::INITIATOR_ERROR,
            ),
            (
                false,
                1,
                3,
                "InitiatorName=i TARGET SessionType=Odd",
                status::INITIATOR_ERROR,
            ),
        ];
        for (chap, csg, nsg, keys, want) in cases {
            let mut l = Login::new(cfg(*chap), 1, [0; 17]);
            let keys = keys.replace("TARGET", &t);
            let s = l.step(&req(*csg, *nsg, true), &kv(&keys));
            assert_eq!(failed_with(&s), Some(*want), "{keys}");
            if let Step::Fail(p) = &s {
                assert!(p.data.is_empty());
            }
        }
        let mut l = Login::new(cfg(false), 1, [0; 17]);
        let mut r = req(1, 3, true);
        r.tsih = 5;
        assert_eq!(
            failed_with(&l.step(&r, &kv("InitiatorName=i"))),
            Some(status::NO_SESSION)
        );
        let mut r = req(1, 3, true);
        r.version_min = 1;
        assert_eq!(
            failed_with(&l.step(&r, &kv("InitiatorName=i"))),
            Some(status::UNSUPPORTED_VERSION)
        );
    }

    #[test]
    fn discovery_session_needs_no_target_name() {
        let mut l = Login::new(cfg(false), 9, [0; 17]);
        let Step::Done(_, s) = l.step(
            &req(1, 3, true),
            &kv("InitiatorName=i SessionType=Discovery"),
        ) else {
            panic!()
        };
        assert_eq!(s.kind, SessionKind::Discovery);
    }

    #[test]
    fn chap_values_in_hex_and_base64() {
        assert_eq!(decode_binary("0x0aFF"), Some(vec![0x0A, 0xFF]));
        assert_eq!(decode_binary("0bAAEC"), Some(vec![0, 1, 2]));
        assert_eq!(decode_binary("0x0"), None);
        assert_eq!(decode_binary("12"), None);
        // RFC 1994 worked example shape: MD5 over id, secret, challenge.
        assert_eq!(
            hex(&chap_md5(1, b"secret", b"challenge")),
            hex(&{
                let mut h = Md5::new();
                h.update(b"\x01secretchallenge");
                let d: [u8; 16] = h.finalize().into();
                d
            })
        );
    }
}
