//! iSCSI PDUs (RFC 7143 §11): the 48-byte basic header segment of every PDU type as a typed
//! value, and the framing around it (AHS, header digest, data segment, padding, data digest).
//!
//! Decoding ignores reserved bits and bytes; encoding writes them as zero, so
//! `decode(encode(p)) == p` for every PDU and `encode(decode(b))` is `b` with its reserved
//! fields cleared.

use super::digest::crc32c;
use super::reader::Reader;
use super::PduError;

/// Length of the basic header segment.
pub const BHS_LEN: usize = 48;

/// The largest data segment the 24-bit DataSegmentLength can announce.
pub const MAX_DATA_SEGMENT: u32 = 0x00FF_FFFF;

/// An iSCSI opcode (byte 0 bits 5..0). Unknown values pass through.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// NOP-Out (initiator).
    pub const NOP_OUT: Opcode = Opcode(0x00);
    /// SCSI Command.
    pub const SCSI_COMMAND: Opcode = Opcode(0x01);
    /// SCSI Task Management Function Request.
    pub const TASK_MGMT_REQUEST: Opcode = Opcode(0x02);
    /// Login Request.
    pub const LOGIN_REQUEST: Opcode = Opcode(0x03);
    /// Text Request.
    pub const TEXT_REQUEST: Opcode = Opcode(0x04);
    /// SCSI Data-Out.
    pub const DATA_OUT: Opcode = Opcode(0x05);
    /// Logout Request.
    pub const LOGOUT_REQUEST: Opcode = Opcode(0x06);
    /// SNACK Request.
    pub const SNACK: Opcode = Opcode(0x10);
    /// NOP-In (target).
    pub const NOP_IN: Opcode = Opcode(0x20);
    /// SCSI Response.
    pub const SCSI_RESPONSE: Opcode = Opcode(0x21);
    /// SCSI Task Management Function Response.
    pub const TASK_MGMT_RESPONSE: Opcode = Opcode(0x22);
    /// Login Response.
    pub const LOGIN_RESPONSE: Opcode = Opcode(0x23);
    /// Text Response.
    pub const TEXT_RESPONSE: Opcode = Opcode(0x24);
    /// SCSI Data-In.
    pub const DATA_IN: Opcode = Opcode(0x25);
    /// Logout Response.
    pub const LOGOUT_RESPONSE: Opcode = Opcode(0x26);
    /// Ready To Transfer.
    pub const R2T: Opcode = Opcode(0x31);
    /// Asynchronous Message.
    pub const ASYNC_MESSAGE: Opcode = Opcode(0x32);
    /// Reject.
    pub const REJECT: Opcode = Opcode(0x3F);

    const NAMES: &'static [(Opcode, &'static str)] = &[
        (Opcode::NOP_OUT, "NOP-Out"),
        (Opcode::SCSI_COMMAND, "SCSI Command"),
        (Opcode::TASK_MGMT_REQUEST, "Task Management Request"),
        (Opcode::LOGIN_REQUEST, "Login Request"),
        (Opcode::TEXT_REQUEST, "Text Request"),
        (Opcode::DATA_OUT, "SCSI Data-Out"),
        (Opcode::LOGOUT_REQUEST, "Logout Request"),
        (Opcode::SNACK, "SNACK Request"),
        (Opcode::NOP_IN, "NOP-In"),
        (Opcode::SCSI_RESPONSE, "SCSI Response"),
        (Opcode::TASK_MGMT_RESPONSE, "Task Management Response"),
        (Opcode::LOGIN_RESPONSE, "Login Response"),
        (Opcode::TEXT_RESPONSE, "Text Response"),
        (Opcode::DATA_IN, "SCSI Data-In"),
        (Opcode::LOGOUT_RESPONSE, "Logout Response"),
        (Opcode::R2T, "R2T"),
        (Opcode::ASYNC_MESSAGE, "Asynchronous Message"),
        (Opcode::REJECT, "Reject"),
    ];

    /// The opcode's name, when it is one RFC 7143 defines.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(o, _)| *o == self)
            .map(|(_, n)| *n)
    }
}

impl std::fmt::Debug for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Opcode(0x{:02X})", self.0),
        }
    }
}

/// NOP-Out (§11.18).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct NopOut {
    pub immediate: bool,
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
}

/// SCSI Command (§11.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ScsiCommand {
    pub immediate: bool,
    /// F: no unsolicited Data-Out follows.
    pub final_: bool,
    pub read: bool,
    pub write: bool,
    /// Task attributes (3 bits).
    pub attr: u8,
    pub lun: u64,
    pub itt: u32,
    /// Expected Data Transfer Length.
    pub edtl: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    pub cdb: [u8; 16],
}

/// Task Management Function Request (§11.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TaskMgmtRequest {
    pub immediate: bool,
    /// Function (7 bits): 1 ABORT TASK, 2 ABORT TASK SET, 5 LOGICAL UNIT RESET, 6 TARGET WARM
    /// RESET…
    pub function: u8,
    pub lun: u64,
    pub itt: u32,
    pub ref_task_tag: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    pub ref_cmd_sn: u32,
    pub exp_data_sn: u32,
}

/// Login Request (§11.12).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LoginRequest {
    /// T: the initiator is ready to go to `nsg`.
    pub transit: bool,
    /// C: the text continues in the next PDU.
    pub cont: bool,
    pub csg: u8,
    pub nsg: u8,
    pub version_max: u8,
    pub version_min: u8,
    pub isid: [u8; 6],
    pub tsih: u16,
    pub itt: u32,
    pub cid: u16,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
}

/// Text Request (§11.10).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TextRequest {
    pub immediate: bool,
    pub final_: bool,
    pub cont: bool,
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
}

/// SCSI Data-Out (§11.7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DataOut {
    pub final_: bool,
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub exp_stat_sn: u32,
    pub data_sn: u32,
    pub offset: u32,
}

/// Logout Request (§11.14).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LogoutRequest {
    pub immediate: bool,
    /// Reason (7 bits): 0 close the session, 1 the connection, 2 for recovery.
    pub reason: u8,
    pub itt: u32,
    pub cid: u16,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
}

/// SNACK Request (§11.16).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Snack {
    /// Type (4 bits).
    pub kind: u8,
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub exp_stat_sn: u32,
    pub beg_run: u32,
    pub run_length: u32,
}

/// NOP-In (§11.19).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct NopIn {
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
}

/// SCSI Response (§11.4). Its data segment holds SenseLength (2 bytes) and the sense data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ScsiResponse {
    pub bidi_overflow: bool,
    pub bidi_underflow: bool,
    pub overflow: bool,
    pub underflow: bool,
    /// 0 command completed at target, 1 target failure.
    pub response: u8,
    pub status: u8,
    pub itt: u32,
    pub snack_tag: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub exp_data_sn: u32,
    pub bidi_residual: u32,
    pub residual: u32,
}

/// Task Management Function Response (§11.6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TaskMgmtResponse {
    /// 0 function complete, 1 task does not exist, 2 LUN does not exist, 5 not supported…
    pub response: u8,
    pub itt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
}

/// Login Response (§11.13).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LoginResponse {
    pub transit: bool,
    pub cont: bool,
    pub csg: u8,
    pub nsg: u8,
    pub version_max: u8,
    pub version_active: u8,
    pub isid: [u8; 6],
    pub tsih: u16,
    pub itt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub status_class: u8,
    pub status_detail: u8,
}

/// Text Response (§11.11).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TextResponse {
    pub final_: bool,
    pub cont: bool,
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
}

/// SCSI Data-In (§11.7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DataIn {
    pub final_: bool,
    pub ack: bool,
    pub overflow: bool,
    pub underflow: bool,
    /// S: the status rides in this PDU (phase collapse).
    pub status: Option<u8>,
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub data_sn: u32,
    pub offset: u32,
    pub residual: u32,
}

/// Logout Response (§11.15).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LogoutResponse {
    pub response: u8,
    pub itt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub time2wait: u16,
    pub time2retain: u16,
}

/// Ready To Transfer (§11.8).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct R2t {
    pub lun: u64,
    pub itt: u32,
    pub ttt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub r2t_sn: u32,
    pub offset: u32,
    pub desired_length: u32,
}

/// Asynchronous Message (§11.9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct AsyncMessage {
    pub lun: u64,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub event: u8,
    pub vcode: u8,
    pub params: [u16; 3],
}

/// Reject (§11.17). Its data segment is the rejected PDU's header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Reject {
    pub reason: u8,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub data_sn: u32,
}

/// Reject reasons (§11.17.1).
pub mod reject {
    /// Data (payload) digest error.
    pub const DATA_DIGEST: u8 = 0x02;
    /// SNACK reject.
    pub const SNACK: u8 = 0x03;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u8 = 0x04;
    /// Command not supported.
    pub const NOT_SUPPORTED: u8 = 0x05;
    /// Invalid PDU field.
    pub const INVALID_FIELD: u8 = 0x09;
}

/// The basic header segment of one PDU, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Bhs {
    NopOut(NopOut),
    ScsiCommand(ScsiCommand),
    TaskMgmtRequest(TaskMgmtRequest),
    LoginRequest(LoginRequest),
    TextRequest(TextRequest),
    DataOut(DataOut),
    LogoutRequest(LogoutRequest),
    Snack(Snack),
    NopIn(NopIn),
    ScsiResponse(ScsiResponse),
    TaskMgmtResponse(TaskMgmtResponse),
    LoginResponse(LoginResponse),
    TextResponse(TextResponse),
    DataIn(DataIn),
    LogoutResponse(LogoutResponse),
    R2t(R2t),
    AsyncMessage(AsyncMessage),
    Reject(Reject),
}

/// Writes big-endian fields into a header.
struct Writer([u8; BHS_LEN]);

impl Writer {
    fn new(op: Opcode, immediate: bool, flags: u8) -> Writer {
        let mut b = [0u8; BHS_LEN];
        b[0] = op.0 | if immediate { 0x40 } else { 0 };
        b[1] = flags;
        Writer(b)
    }
    fn u8(&mut self, at: usize, v: u8) -> &mut Self {
        self.0[at] = v;
        self
    }
    fn u16(&mut self, at: usize, v: u16) -> &mut Self {
        self.0[at..at + 2].copy_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.0[at..at + 4].copy_from_slice(&v.to_be_bytes());
        self
    }
    fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.0[at..at + 8].copy_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(&mut self, at: usize, v: &[u8]) -> &mut Self {
        self.0[at..at + v.len()].copy_from_slice(v);
        self
    }
}

fn flag(b: u8, mask: u8) -> u8 {
    if b != 0 {
        mask
    } else {
        0
    }
}

fn f(v: bool, mask: u8) -> u8 {
    flag(u8::from(v), mask)
}

impl Bhs {
    /// The PDU's opcode.
    pub fn opcode(&self) -> Opcode {
        match self {
            Bhs::NopOut(_) => Opcode::NOP_OUT,
            Bhs::ScsiCommand(_) => Opcode::SCSI_COMMAND,
            Bhs::TaskMgmtRequest(_) => Opcode::TASK_MGMT_REQUEST,
            Bhs::LoginRequest(_) => Opcode::LOGIN_REQUEST,
            Bhs::TextRequest(_) => Opcode::TEXT_REQUEST,
            Bhs::DataOut(_) => Opcode::DATA_OUT,
            Bhs::LogoutRequest(_) => Opcode::LOGOUT_REQUEST,
            Bhs::Snack(_) => Opcode::SNACK,
            Bhs::NopIn(_) => Opcode::NOP_IN,
            Bhs::ScsiResponse(_) => Opcode::SCSI_RESPONSE,
            Bhs::TaskMgmtResponse(_) => Opcode::TASK_MGMT_RESPONSE,
            Bhs::LoginResponse(_) => Opcode::LOGIN_RESPONSE,
            Bhs::TextResponse(_) => Opcode::TEXT_RESPONSE,
            Bhs::DataIn(_) => Opcode::DATA_IN,
            Bhs::LogoutResponse(_) => Opcode::LOGOUT_RESPONSE,
            Bhs::R2t(_) => Opcode::R2T,
            Bhs::AsyncMessage(_) => Opcode::ASYNC_MESSAGE,
            Bhs::Reject(_) => Opcode::REJECT,
        }
    }

    /// The 48 header bytes, with TotalAHSLength (in 4-byte words) and DataSegmentLength.
    pub fn encode(&self, ahs_words: u8, data_len: u32) -> [u8; BHS_LEN] {
        let op = self.opcode();
        let mut w = match self {
            Bhs::NopOut(p) => {
                let mut w = Writer::new(op, p.immediate, 0x80);
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(24, p.cmd_sn)
                    .u32(28, p.exp_stat_sn);
                w
            }
            Bhs::ScsiCommand(p) => {
                let flags = f(p.final_, 0x80) | f(p.read, 0x40) | f(p.write, 0x20) | (p.attr & 7);
                let mut w = Writer::new(op, p.immediate, flags);
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.edtl)
                    .u32(24, p.cmd_sn)
                    .u32(28, p.exp_stat_sn)
                    .bytes(32, &p.cdb);
                w
            }
            Bhs::TaskMgmtRequest(p) => {
                let mut w = Writer::new(op, p.immediate, 0x80 | (p.function & 0x7F));
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ref_task_tag)
                    .u32(24, p.cmd_sn)
                    .u32(28, p.exp_stat_sn)
                    .u32(32, p.ref_cmd_sn)
                    .u32(36, p.exp_data_sn);
                w
            }
            Bhs::LoginRequest(p) => {
                let flags = f(p.transit, 0x80) | f(p.cont, 0x40) | ((p.csg & 3) << 2) | (p.nsg & 3);
                let mut w = Writer::new(op, true, flags);
                w.u8(2, p.version_max)
                    .u8(3, p.version_min)
                    .bytes(8, &p.isid)
                    .u16(14, p.tsih)
                    .u32(16, p.itt)
                    .u16(20, p.cid)
                    .u32(24, p.cmd_sn)
                    .u32(28, p.exp_stat_sn);
                w
            }
            Bhs::TextRequest(p) => {
                let mut w = Writer::new(op, p.immediate, f(p.final_, 0x80) | f(p.cont, 0x40));
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(24, p.cmd_sn)
                    .u32(28, p.exp_stat_sn);
                w
            }
            Bhs::DataOut(p) => {
                let mut w = Writer::new(op, false, f(p.final_, 0x80));
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(28, p.exp_stat_sn)
                    .u32(36, p.data_sn)
                    .u32(40, p.offset);
                w
            }
            Bhs::LogoutRequest(p) => {
                let mut w = Writer::new(op, p.immediate, 0x80 | (p.reason & 0x7F));
                w.u32(16, p.itt)
                    .u16(20, p.cid)
                    .u32(24, p.cmd_sn)
                    .u32(28, p.exp_stat_sn);
                w
            }
            Bhs::Snack(p) => {
                let mut w = Writer::new(op, false, 0x80 | (p.kind & 0x0F));
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(28, p.exp_stat_sn)
                    .u32(40, p.beg_run)
                    .u32(44, p.run_length);
                w
            }
            Bhs::NopIn(p) => {
                let mut w = Writer::new(op, false, 0x80);
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn);
                w
            }
            Bhs::ScsiResponse(p) => {
                let flags = 0x80
                    | f(p.bidi_overflow, 0x10)
                    | f(p.bidi_underflow, 0x08)
                    | f(p.overflow, 0x04)
                    | f(p.underflow, 0x02);
                let mut w = Writer::new(op, false, flags);
                w.u8(2, p.response)
                    .u8(3, p.status)
                    .u32(16, p.itt)
                    .u32(20, p.snack_tag)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn)
                    .u32(36, p.exp_data_sn)
                    .u32(40, p.bidi_residual)
                    .u32(44, p.residual);
                w
            }
            Bhs::TaskMgmtResponse(p) => {
                let mut w = Writer::new(op, false, 0x80);
                w.u8(2, p.response)
                    .u32(16, p.itt)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn);
                w
            }
            Bhs::LoginResponse(p) => {
                let flags = f(p.transit, 0x80) | f(p.cont, 0x40) | ((p.csg & 3) << 2) | (p.nsg & 3);
                let mut w = Writer::new(op, false, flags);
                w.u8(2, p.version_max)
                    .u8(3, p.version_active)
                    .bytes(8, &p.isid)
                    .u16(14, p.tsih)
                    .u32(16, p.itt)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn)
                    .u8(36, p.status_class)
                    .u8(37, p.status_detail);
                w
            }
            Bhs::TextResponse(p) => {
                let mut w = Writer::new(op, false, f(p.final_, 0x80) | f(p.cont, 0x40));
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn);
                w
            }
            Bhs::DataIn(p) => {
                let flags = f(p.final_, 0x80)
                    | f(p.ack, 0x40)
                    | f(p.overflow, 0x04)
                    | f(p.underflow, 0x02)
                    | f(p.status.is_some(), 0x01);
                let mut w = Writer::new(op, false, flags);
                w.u8(3, p.status.unwrap_or(0))
                    .u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn)
                    .u32(36, p.data_sn)
                    .u32(40, p.offset)
                    .u32(44, p.residual);
                w
            }
            Bhs::LogoutResponse(p) => {
                let mut w = Writer::new(op, false, 0x80);
                w.u8(2, p.response)
                    .u32(16, p.itt)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn)
                    .u16(40, p.time2wait)
                    .u16(42, p.time2retain);
                w
            }
            Bhs::R2t(p) => {
                let mut w = Writer::new(op, false, 0x80);
                w.u64(8, p.lun)
                    .u32(16, p.itt)
                    .u32(20, p.ttt)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn)
                    .u32(36, p.r2t_sn)
                    .u32(40, p.offset)
                    .u32(44, p.desired_length);
                w
            }
            Bhs::AsyncMessage(p) => {
                let mut w = Writer::new(op, false, 0x80);
                w.u64(8, p.lun)
                    .u32(16, 0xFFFF_FFFF)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn)
                    .u8(36, p.event)
                    .u8(37, p.vcode)
                    .u16(38, p.params[0])
                    .u16(40, p.params[1])
                    .u16(42, p.params[2]);
                w
            }
            Bhs::Reject(p) => {
                let mut w = Writer::new(op, false, 0x80);
                w.u8(2, p.reason)
                    .u32(16, 0xFFFF_FFFF)
                    .u32(24, p.stat_sn)
                    .u32(28, p.exp_cmd_sn)
                    .u32(32, p.max_cmd_sn)
                    .u32(36, p.data_sn);
                w
            }
        };
        w.u8(4, ahs_words);
        let dl = data_len.min(MAX_DATA_SEGMENT).to_be_bytes();
        w.bytes(5, &dl[1..]);
        w.0
    }

    /// Decodes a header.
    ///
    /// # Errors
    /// [`PduError::UnknownOpcode`] for an opcode RFC 7143 does not define (the connection
    /// answers it with a Reject).
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Bhs, PduError> {
        let r = Reader::new(b, "basic header segment");
        let op = Opcode(b[0] & 0x3F);
        let immediate = b[0] & 0x40 != 0;
        let fl = b[1];
        let bit = |m: u8| fl & m != 0;
        Ok(match op {
            Opcode::NOP_OUT => Bhs::NopOut(NopOut {
                immediate,
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                cmd_sn: r.u32(24)?,
                exp_stat_sn: r.u32(28)?,
            }),
            Opcode::SCSI_COMMAND => Bhs::ScsiCommand(ScsiCommand {
                immediate,
                final_: bit(0x80),
                read: bit(0x40),
                write: bit(0x20),
                attr: fl & 7,
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                edtl: r.u32(20)?,
                cmd_sn: r.u32(24)?,
                exp_stat_sn: r.u32(28)?,
                cdb: r.array(32)?,
            }),
            Opcode::TASK_MGMT_REQUEST => Bhs::TaskMgmtRequest(TaskMgmtRequest {
                immediate,
                function: fl & 0x7F,
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ref_task_tag: r.u32(20)?,
                cmd_sn: r.u32(24)?,
                exp_stat_sn: r.u32(28)?,
                ref_cmd_sn: r.u32(32)?,
                exp_data_sn: r.u32(36)?,
            }),
            Opcode::LOGIN_REQUEST => Bhs::LoginRequest(LoginRequest {
                transit: bit(0x80),
                cont: bit(0x40),
                csg: (fl >> 2) & 3,
                nsg: fl & 3,
                version_max: r.u8(2)?,
                version_min: r.u8(3)?,
                isid: r.array(8)?,
                tsih: r.u16(14)?,
                itt: r.u32(16)?,
                cid: r.u16(20)?,
                cmd_sn: r.u32(24)?,
                exp_stat_sn: r.u32(28)?,
            }),
            Opcode::TEXT_REQUEST => Bhs::TextRequest(TextRequest {
                immediate,
                final_: bit(0x80),
                cont: bit(0x40),
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                cmd_sn: r.u32(24)?,
                exp_stat_sn: r.u32(28)?,
            }),
            Opcode::DATA_OUT => Bhs::DataOut(DataOut {
                final_: bit(0x80),
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                exp_stat_sn: r.u32(28)?,
                data_sn: r.u32(36)?,
                offset: r.u32(40)?,
            }),
            Opcode::LOGOUT_REQUEST => Bhs::LogoutRequest(LogoutRequest {
                immediate,
                reason: fl & 0x7F,
                itt: r.u32(16)?,
                cid: r.u16(20)?,
                cmd_sn: r.u32(24)?,
                exp_stat_sn: r.u32(28)?,
            }),
            Opcode::SNACK => Bhs::Snack(Snack {
                kind: fl & 0x0F,
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                exp_stat_sn: r.u32(28)?,
                beg_run: r.u32(40)?,
                run_length: r.u32(44)?,
            }),
            Opcode::NOP_IN => Bhs::NopIn(NopIn {
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
            }),
            Opcode::SCSI_RESPONSE => Bhs::ScsiResponse(ScsiResponse {
                bidi_overflow: bit(0x10),
                bidi_underflow: bit(0x08),
                overflow: bit(0x04),
                underflow: bit(0x02),
                response: r.u8(2)?,
                status: r.u8(3)?,
                itt: r.u32(16)?,
                snack_tag: r.u32(20)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
                exp_data_sn: r.u32(36)?,
                bidi_residual: r.u32(40)?,
                residual: r.u32(44)?,
            }),
            Opcode::TASK_MGMT_RESPONSE => Bhs::TaskMgmtResponse(TaskMgmtResponse {
                response: r.u8(2)?,
                itt: r.u32(16)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
            }),
            Opcode::LOGIN_RESPONSE => Bhs::LoginResponse(LoginResponse {
                transit: bit(0x80),
                cont: bit(0x40),
                csg: (fl >> 2) & 3,
                nsg: fl & 3,
                version_max: r.u8(2)?,
                version_active: r.u8(3)?,
                isid: r.array(8)?,
                tsih: r.u16(14)?,
                itt: r.u32(16)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
                status_class: r.u8(36)?,
                status_detail: r.u8(37)?,
            }),
            Opcode::TEXT_RESPONSE => Bhs::TextResponse(TextResponse {
                final_: bit(0x80),
                cont: bit(0x40),
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
            }),
            Opcode::DATA_IN => Bhs::DataIn(DataIn {
                final_: bit(0x80),
                ack: bit(0x40),
                overflow: bit(0x04),
                underflow: bit(0x02),
                status: bit(0x01).then_some(r.u8(3)?),
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
                data_sn: r.u32(36)?,
                offset: r.u32(40)?,
                residual: r.u32(44)?,
            }),
            Opcode::LOGOUT_RESPONSE => Bhs::LogoutResponse(LogoutResponse {
                response: r.u8(2)?,
                itt: r.u32(16)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
                time2wait: r.u16(40)?,
                time2retain: r.u16(42)?,
            }),
            Opcode::R2T => Bhs::R2t(R2t {
                lun: r.u64(8)?,
                itt: r.u32(16)?,
                ttt: r.u32(20)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
                r2t_sn: r.u32(36)?,
                offset: r.u32(40)?,
                desired_length: r.u32(44)?,
            }),
            Opcode::ASYNC_MESSAGE => Bhs::AsyncMessage(AsyncMessage {
                lun: r.u64(8)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
                event: r.u8(36)?,
                vcode: r.u8(37)?,
                params: [r.u16(38)?, r.u16(40)?, r.u16(42)?],
            }),
            Opcode::REJECT => Bhs::Reject(Reject {
                reason: r.u8(2)?,
                stat_sn: r.u32(24)?,
                exp_cmd_sn: r.u32(28)?,
                max_cmd_sn: r.u32(32)?,
                data_sn: r.u32(36)?,
            }),
            other => return Err(PduError::UnknownOpcode(other.0)),
        })
    }
}

/// Which digests a connection negotiated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digests {
    /// CRC32C after the header (BHS + AHS).
    pub header: bool,
    /// CRC32C after the (padded) data segment, when there is one.
    pub data: bool,
}

/// The lengths a header announces: AHS bytes and data-segment bytes (before padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lengths {
    /// TotalAHSLength × 4.
    pub ahs: usize,
    /// DataSegmentLength.
    pub data: usize,
}

impl Lengths {
    /// Reads byte 4 and bytes 5..7 of a header.
    pub fn of(bhs: &[u8; BHS_LEN]) -> Lengths {
        Lengths {
            ahs: usize::from(bhs[4]) * 4,
            data: (usize::from(bhs[5]) << 16) | (usize::from(bhs[6]) << 8) | usize::from(bhs[7]),
        }
    }

    /// Bytes that follow the BHS on the wire: AHS, header digest, padded data, data digest.
    pub fn rest(&self, d: Digests) -> usize {
        let mut n = self.ahs + padded(self.data);
        if d.header {
            n += 4;
        }
        if d.data && self.data > 0 {
            n += 4;
        }
        n
    }
}

/// `n` rounded up to a multiple of 4.
pub fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// One PDU: header, additional header segments and data segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// The basic header segment.
    pub bhs: Bhs,
    /// Additional header segments (a multiple of 4 bytes).
    pub ahs: Vec<u8>,
    /// The data segment, without padding.
    pub data: Vec<u8>,
}

impl Pdu {
    /// A PDU without AHS.
    pub fn new(bhs: Bhs, data: Vec<u8>) -> Pdu {
        Pdu {
            bhs,
            ahs: Vec::new(),
            data,
        }
    }

    /// The PDU as it goes on the wire.
    pub fn encode(&self, d: Digests) -> Vec<u8> {
        let mut out = Vec::with_capacity(BHS_LEN + self.ahs.len() + self.data.len() + 12);
        self.encode_into(d, &mut out);
        out
    }

    /// Appends the wire form to `out`.
    pub fn encode_into(&self, d: Digests, out: &mut Vec<u8>) {
        let ahs_len = padded(self.ahs.len()).min(255 * 4);
        let start = out.len();
        out.extend_from_slice(&self.bhs.encode((ahs_len / 4) as u8, self.data.len() as u32));
        out.extend_from_slice(&self.ahs[..self.ahs.len().min(ahs_len)]);
        out.resize(start + BHS_LEN + ahs_len, 0);
        if d.header {
            let c = crc32c(&out[start..]);
            out.extend_from_slice(&c.to_le_bytes());
        }
        if !self.data.is_empty() {
            let ds = out.len();
            out.extend_from_slice(&self.data);
            out.resize(ds + padded(self.data.len()), 0);
            if d.data {
                let c = crc32c(&out[ds..]);
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
    }

    /// Decodes one whole PDU from `frame` (exactly BHS + [`Lengths::rest`] bytes), checking
    /// the digests.
    ///
    /// # Errors
    /// [`PduError::Truncated`] or [`PduError::TrailingData`] when `frame` does not have the
    /// length its header announces, [`PduError::HeaderDigest`] / [`PduError::DataDigest`] on
    /// a CRC mismatch, [`PduError::UnknownOpcode`].
    pub fn decode(frame: &[u8], d: Digests) -> Result<Pdu, PduError> {
        let r = Reader::new(frame, "PDU");
        let head: [u8; BHS_LEN] = r.array(0)?;
        let l = Lengths::of(&head);
        let total = BHS_LEN + l.rest(d);
        if frame.len() < total {
            return Err(PduError::Truncated("PDU"));
        }
        if frame.len() > total {
            return Err(PduError::TrailingData("PDU"));
        }
        let mut at = BHS_LEN + l.ahs;
        if d.header {
            let got = u32::from_le_bytes(r.array(at)?);
            if got != crc32c(&frame[..at]) {
                return Err(PduError::HeaderDigest);
            }
            at += 4;
        }
        let bhs = Bhs::decode(&head)?;
        let ahs = r.bytes(BHS_LEN, l.ahs)?.to_vec();
        let data = r.bytes(at, l.data)?.to_vec();
        if d.data && l.data > 0 {
            let pl = padded(l.data);
            let got = u32::from_le_bytes(r.array(at + pl)?);
            if got != crc32c(r.bytes(at, pl)?) {
                return Err(PduError::DataDigest);
            }
        }
        Ok(Pdu { bhs, ahs, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One of every PDU type, every field distinct and non-zero.
    pub(crate) fn every_pdu() -> Vec<Bhs> {
        vec![
            Bhs::NopOut(NopOut {
                immediate: true,
                lun: 0x0001_0000_0000_0000,
                itt: 0x1111_1111,
                ttt: 0xFFFF_FFFF,
                cmd_sn: 3,
                exp_stat_sn: 4,
            }),
            Bhs::ScsiCommand(ScsiCommand {
                immediate: false,
                final_: true,
                read: true,
                write: false,
                attr: 1,
                lun: 0x0002_0000_0000_0000,
                itt: 0xDEAD_BEEF,
                edtl: 262_144,
                cmd_sn: 0xFFFF_FFFF,
                exp_stat_sn: 9,
                cdb: [
                    0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                ],
            }),
            Bhs::TaskMgmtRequest(TaskMgmtRequest {
                immediate: true,
                function: 1,
                lun: 5,
                itt: 6,
                ref_task_tag: 7,
                cmd_sn: 8,
                exp_stat_sn: 9,
                ref_cmd_sn: 10,
                exp_data_sn: 11,
            }),
            Bhs::LoginRequest(LoginRequest {
                transit: true,
                cont: false,
                csg: 1,
                nsg: 3,
                version_max: 0,
                version_min: 0,
                isid: [0x80, 1, 2, 3, 4, 5],
                tsih: 0,
                itt: 0x2000_0000,
                cid: 1,
                cmd_sn: 0x7654_3210,
                exp_stat_sn: 0,
            }),
            Bhs::TextRequest(TextRequest {
                immediate: true,
                final_: true,
                cont: false,
                lun: 0,
                itt: 12,
                ttt: 0xFFFF_FFFF,
                cmd_sn: 13,
                exp_stat_sn: 14,
            }),
            Bhs::DataOut(DataOut {
                final_: true,
                lun: 0x0001_0000_0000_0000,
                itt: 15,
                ttt: 16,
                exp_stat_sn: 17,
                data_sn: 18,
                offset: 8192,
            }),
            Bhs::LogoutRequest(LogoutRequest {
                immediate: true,
                reason: 0,
                itt: 19,
                cid: 0,
                cmd_sn: 20,
                exp_stat_sn: 21,
            }),
            Bhs::Snack(Snack {
                kind: 1,
                lun: 22,
                itt: 23,
                ttt: 24,
                exp_stat_sn: 25,
                beg_run: 26,
                run_length: 27,
            }),
            Bhs::NopIn(NopIn {
                lun: 0,
                itt: 28,
                ttt: 0xFFFF_FFFF,
                stat_sn: 29,
                exp_cmd_sn: 30,
                max_cmd_sn: 31,
            }),
            Bhs::ScsiResponse(ScsiResponse {
                bidi_overflow: false,
                bidi_underflow: true,
                overflow: false,
                underflow: true,
                response: 0,
                status: 2,
                itt: 32,
                snack_tag: 33,
                stat_sn: 34,
                exp_cmd_sn: 35,
                max_cmd_sn: 36,
                exp_data_sn: 37,
                bidi_residual: 38,
                residual: 39,
            }),
            Bhs::TaskMgmtResponse(TaskMgmtResponse {
                response: 1,
                itt: 40,
                stat_sn: 41,
                exp_cmd_sn: 42,
                max_cmd_sn: 43,
            }),
            Bhs::LoginResponse(LoginResponse {
                transit: true,
                cont: false,
                csg: 1,
                nsg: 3,
                version_max: 0,
                version_active: 0,
                isid: [0x80, 1, 2, 3, 4, 5],
                tsih: 7,
                itt: 44,
                stat_sn: 45,
                exp_cmd_sn: 46,
                max_cmd_sn: 47,
                status_class: 2,
                status_detail: 1,
            }),
            Bhs::TextResponse(TextResponse {
                final_: true,
                cont: false,
                lun: 0,
                itt: 48,
                ttt: 0xFFFF_FFFF,
                stat_sn: 49,
                exp_cmd_sn: 50,
                max_cmd_sn: 51,
            }),
            Bhs::DataIn(DataIn {
                final_: true,
                ack: false,
                overflow: false,
                underflow: true,
                status: Some(0),
                lun: 0x0001_0000_0000_0000,
                itt: 52,
                ttt: 0xFFFF_FFFF,
                stat_sn: 53,
                exp_cmd_sn: 54,
                max_cmd_sn: 55,
                data_sn: 56,
                offset: 57,
                residual: 58,
            }),
            Bhs::LogoutResponse(LogoutResponse {
                response: 0,
                itt: 59,
                stat_sn: 60,
                exp_cmd_sn: 61,
                max_cmd_sn: 62,
                time2wait: 2,
                time2retain: 0,
            }),
            Bhs::R2t(R2t {
                lun: 0x0001_0000_0000_0000,
                itt: 63,
                ttt: 64,
                stat_sn: 65,
                exp_cmd_sn: 66,
                max_cmd_sn: 67,
                r2t_sn: 68,
                offset: 65536,
                desired_length: 262_144,
            }),
            Bhs::AsyncMessage(AsyncMessage {
                lun: 0,
                stat_sn: 69,
                exp_cmd_sn: 70,
                max_cmd_sn: 71,
                event: 1,
                vcode: 0,
                params: [0, 2, 20],
            }),
            Bhs::Reject(Reject {
                reason: reject::PROTOCOL_ERROR,
                stat_sn: 72,
                exp_cmd_sn: 73,
                max_cmd_sn: 74,
                data_sn: 0,
            }),
        ]
    }

    #[test]
    fn every_pdu_type_round_trips_with_every_digest_choice() {
        let all = every_pdu();
        assert_eq!(all.len(), Opcode::NAMES.len());
        for bhs in all {
            for d in [
                Digests::default(),
                Digests {
                    header: true,
                    data: true,
                },
            ] {
                for data in [vec![], vec![1u8, 2, 3, 4, 5]] {
                    let p = Pdu {
                        bhs: bhs.clone(),
                        ahs: vec![],
                        data,
                    };
                    let wire = p.encode(d);
                    assert_eq!(wire.len() % 4, 0);
                    assert_eq!(Pdu::decode(&wire, d).as_ref(), Ok(&p), "{:?}", bhs.opcode());
                }
            }
        }
    }

    #[test]
    fn scsi_command_header_bytes() {
        // A READ(6) of 256 KiB on LUN 1, as libiscsi sends it.
        let p = Pdu::new(every_pdu()[1].clone(), vec![]);
        let w = p.encode(Digests::default());
        let mut expect = vec![
            0x01, 0xC1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF, 0, 4, 0,
            0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 9,
        ];
        expect.extend_from_slice(&[
            0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ]);
        assert_eq!(w, expect);
    }

    #[test]
    fn framing_errors_are_named() {
        let d = Digests {
            header: true,
            data: true,
        };
        let p = Pdu::new(every_pdu()[0].clone(), b"ping".to_vec());
        let mut w = p.encode(d);
        assert_eq!(
            Pdu::decode(&w[..w.len() - 1], d),
            Err(PduError::Truncated("PDU"))
        );
        let mut longer = w.clone();
        longer.push(0);
        assert_eq!(Pdu::decode(&longer, d), Err(PduError::TrailingData("PDU")));
        w[20] ^= 1;
        assert_eq!(Pdu::decode(&w, d), Err(PduError::HeaderDigest));
        let mut w = p.encode(d);
        w[BHS_LEN + 4] ^= 1;
        assert_eq!(Pdu::decode(&w, d), Err(PduError::DataDigest));
        let mut w = p.encode(Digests::default());
        w[0] = 0x1F;
        assert_eq!(
            Pdu::decode(&w, Digests::default()),
            Err(PduError::UnknownOpcode(0x1F))
        );
        assert_eq!(Pdu::decode(&[], d), Err(PduError::Truncated("PDU")));
    }

    #[test]
    fn opcode_names_round_trip() {
        for (op, name) in Opcode::NAMES {
            assert_eq!(format!("{op:?}"), *name);
        }
        assert_eq!(format!("{:?}", Opcode(0x1E)), "Opcode(0x1E)");
    }

    fn opcodes() -> impl Strategy<Value = u8> {
        prop::sample::select(Opcode::NAMES.iter().map(|(o, _)| o.0).collect::<Vec<_>>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any header that decodes re-encodes to one that decodes to the same value: every
        /// field of every PDU type survives the trip.
        #[test]
        fn any_header_round_trips(op in opcodes(), imm in any::<bool>(), rest in prop::array::uniform32(any::<u8>()), tail in prop::array::uniform16(any::<u8>())) {
            let mut b = [0u8; BHS_LEN];
            b[0] = op | if imm { 0x40 } else { 0 };
            b[1..33].copy_from_slice(&rest[..32]);
            b[32..48].copy_from_slice(&tail);
            let bhs = Bhs::decode(&b).unwrap();
            let again = bhs.encode(b[4], Lengths::of(&b).data as u32);
            prop_assert_eq!(Bhs::decode(&again).unwrap(), bhs);
            prop_assert_eq!(Lengths::of(&again), Lengths::of(&b));
        }

        /// No byte string makes the decoder panic, with or without digests.
        #[test]
        fn no_input_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), h in any::<bool>(), d in any::<bool>()) {
            let _ = Pdu::decode(&bytes, Digests { header: h, data: d });
        }
    }
}
