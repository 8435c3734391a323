//! The socket framing of `reel-sim serve` (documented in sim/README.md).
//!
//! Every message is a frame: a 4-byte big-endian body length, then the body. A body is at most
//! [`MAX_FRAME`] bytes. The first body byte is the message kind.
//!
//! Requests (client → server):
//! - `0x01` COMMAND: path (u16 length + UTF-8), CDB (u8 length 1..=16 + bytes), direction
//!   (u8: 0 none, 1 from device, 2 to device), allocation length (u32: bytes the client can
//!   take), timeout (u32 ms), data-out (u32 length + bytes).
//! - `0x02` DEVICES: no payload.
//! - `0x03` CONTROL: a JSON [`ControlRequest`].
//!
//! Replies (server → client), one per request, in order:
//! - `0x81` COMPLETION: status (u8), sense (u8 length + bytes), residual (u32), data-in (u32
//!   length + bytes).
//! - `0x82` TRANSPORT ERROR: kind (u8: 0 other, 1 no device, 2 busy, 3 timeout, 4 permission,
//!   5 aborted), message (u16 length + UTF-8).
//! - `0x83` DEVICES: a JSON array of [`WireDevice`].
//! - `0x84` CONTROL: a JSON [`ControlReply`].
//! - `0x85` PROTOCOL ERROR: message (u16 length + UTF-8); the server then closes the connection.
//!
//! Integers are big-endian. Anything malformed closes only that connection.

use std::io::{Read, Write};

use reel_hw::{DeviceInfo, PeripheralType, TransportErrorKind};
use serde::{Deserialize, Serialize};

use crate::status::LibraryStatus;

/// The largest frame body: a 16 MiB data phase plus headers.
pub const MAX_FRAME: usize = (16 << 20) + 4096;

/// Request kinds.
pub mod kind {
    /// A SCSI command.
    pub const COMMAND: u8 = 0x01;
    /// List devices.
    pub const DEVICES: u8 = 0x02;
    /// An operator (control) request.
    pub const CONTROL: u8 = 0x03;
    /// A command's completion.
    pub const COMPLETION: u8 = 0x81;
    /// A command that was not delivered.
    pub const TRANSPORT_ERROR: u8 = 0x82;
    /// The device list.
    pub const DEVICE_LIST: u8 = 0x83;
    /// A control request's result.
    pub const CONTROL_REPLY: u8 = 0x84;
    /// The request could not be decoded; the connection closes.
    pub const PROTOCOL_ERROR: u8 = 0x85;
}

/// The direction of a command's data phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// No data.
    None = 0,
    /// Data in.
    FromDevice = 1,
    /// Data out.
    ToDevice = 2,
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Run a CDB.
    Command {
        /// Device path (`sim:changer`).
        path: String,
        /// The CDB.
        cdb: Vec<u8>,
        /// Data phase direction.
        direction: Direction,
        /// Bytes of data-in the client accepts.
        allocation: u32,
        /// Timeout in milliseconds (informational).
        timeout_ms: u32,
        /// Data-out bytes.
        data_out: Vec<u8>,
    },
    /// List the devices.
    Devices,
    /// An operator action or status query.
    Control(ControlRequest),
}

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The command completed (GOOD or CHECK CONDITION).
    Completion {
        /// SCSI status.
        status: u8,
        /// Sense bytes.
        sense: Vec<u8>,
        /// Data-in bytes not transferred.
        residual: u32,
        /// Data-in bytes transferred.
        data: Vec<u8>,
    },
    /// The command was not delivered.
    TransportError {
        /// Class.
        kind: TransportErrorKind,
        /// What happened.
        message: String,
    },
    /// The devices.
    Devices(Vec<WireDevice>),
    /// A control request's result.
    Control(ControlReply),
    /// The request was malformed; the server closes the connection.
    ProtocolError(String),
}

/// A device as the socket lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireDevice {
    /// `sim:changer`, `sim:drive:500`.
    pub path: String,
    /// Peripheral device type (1 tape, 8 changer).
    pub peripheral_type: u8,
    /// INQUIRY vendor.
    pub vendor: String,
    /// INQUIRY product.
    pub product: String,
    /// INQUIRY revision.
    pub revision: String,
    /// Unit serial.
    pub serial: Option<String>,
}

impl From<&DeviceInfo> for WireDevice {
    fn from(d: &DeviceInfo) -> Self {
        WireDevice {
            path: d.path.clone(),
            peripheral_type: d.peripheral_type.0,
            vendor: d.vendor.clone(),
            product: d.product.clone(),
            revision: d.revision.clone(),
            serial: d.serial.clone(),
        }
    }
}

impl From<WireDevice> for DeviceInfo {
    fn from(d: WireDevice) -> Self {
        DeviceInfo {
            path: d.path,
            peripheral_type: PeripheralType(d.peripheral_type),
            vendor: d.vendor,
            product: d.product,
            revision: d.revision,
            serial: d.serial,
        }
    }
}

/// An operator request (`reel-sim ctl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlRequest {
    /// Put a cartridge into an import/export element.
    Insert {
        /// Its barcode.
        barcode: String,
        /// The element; the first empty one when absent.
        ie: Option<u16>,
    },
    /// Take the cartridge out of an import/export element.
    Remove {
        /// The element.
        ie: u16,
    },
    /// Open or close the import/export door.
    Door {
        /// True to open.
        open: bool,
    },
    /// Take a drive offline or bring it back.
    Drive {
        /// The drive's element address.
        address: u16,
        /// True to bring it online.
        online: bool,
    },
    /// Report the contents.
    Status,
}

/// The result of a control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlReply {
    /// True when the action was done.
    pub ok: bool,
    /// What happened, for the operator.
    pub message: String,
    /// The library's contents (for `status`).
    pub status: Option<LibraryStatus>,
}

/// A frame that cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed or closed.
    #[error("socket I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The frame is larger than [`MAX_FRAME`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    /// The body is not a valid message.
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// Writes one frame.
///
/// # Errors
/// [`WireError::Io`] when the socket fails; [`WireError::TooLarge`] for an oversized body.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> Result<(), WireError> {
    if body.len() > MAX_FRAME {
        return Err(WireError::TooLarge(body.len()));
    }
    if body.len() <= 4096 {
        let mut out = Vec::with_capacity(4 + body.len());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        w.write_all(&out)?;
    } else {
        w.write_all(&(body.len() as u32).to_be_bytes())?;
        w.write_all(body)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads one frame; `Ok(None)` on a clean end of stream before a frame starts.
///
/// # Errors
/// [`WireError::Io`] on a socket failure or a frame cut short; [`WireError::TooLarge`] when
/// the length prefix exceeds [`MAX_FRAME`].
pub fn read_frame(r: &mut impl Read) -> Result<Option<Vec<u8>>, WireError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        got += n;
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

/// A bounds-checked cursor over a frame body.
struct Cursor<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.b.len() < n {
            return Err(WireError::Malformed(self.what));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string16(&mut self) -> Result<String, WireError> {
        let n = usize::from(self.u16()?);
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| WireError::Malformed(self.what))
    }
    fn bytes32(&mut self) -> Result<Vec<u8>, WireError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn end(&self) -> Result<(), WireError> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(WireError::Malformed(self.what))
        }
    }
}

fn put_str16(v: &mut Vec<u8>, s: &str) {
    let b = &s.as_bytes()[..s.len().min(0xFFFF)];
    v.extend_from_slice(&(b.len() as u16).to_be_bytes());
    v.extend_from_slice(b);
}

fn kind_code(k: TransportErrorKind) -> u8 {
    match k {
        TransportErrorKind::NoDevice => 1,
        TransportErrorKind::Busy => 2,
        TransportErrorKind::Timeout => 3,
        TransportErrorKind::Permission => 4,
        TransportErrorKind::Aborted => 5,
        _ => 0,
    }
}

fn code_kind(c: u8) -> TransportErrorKind {
    match c {
        1 => TransportErrorKind::NoDevice,
        2 => TransportErrorKind::Busy,
        3 => TransportErrorKind::Timeout,
        4 => TransportErrorKind::Permission,
        5 => TransportErrorKind::Aborted,
        _ => TransportErrorKind::Other,
    }
}

impl Request {
    /// The frame body.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        match self {
            Request::Command {
                path,
                cdb,
                direction,
                allocation,
                timeout_ms,
                data_out,
            } => {
                v.push(kind::COMMAND);
                put_str16(&mut v, path);
                v.push(cdb.len() as u8);
                v.extend_from_slice(cdb);
                v.push(*direction as u8);
                v.extend_from_slice(&allocation.to_be_bytes());
                v.extend_from_slice(&timeout_ms.to_be_bytes());
                v.extend_from_slice(&(data_out.len() as u32).to_be_bytes());
                v.extend_from_slice(data_out);
            }
            Request::Devices => v.push(kind::DEVICES),
            Request::Control(c) => {
                v.push(kind::CONTROL);
                v.extend(serde_json::to_vec(c).unwrap_or_default());
            }
        }
        v
    }

    /// Decodes a frame body.
    ///
    /// # Errors
    /// [`WireError::Malformed`] naming the part that is wrong.
    pub fn decode(body: &[u8]) -> Result<Request, WireError> {
        let mut c = Cursor {
            b: body,
            what: "request",
        };
        match c.u8()? {
            kind::COMMAND => {
                c.what = "command request";
                let path = c.string16()?;
                let n = usize::from(c.u8()?);
                if n == 0 || n > 16 {
                    return Err(WireError::Malformed("CDB length (1..=16)"));
                }
                let cdb = c.take(n)?.to_vec();
                let direction = match c.u8()? {
                    0 => Direction::None,
                    1 => Direction::FromDevice,
                    2 => Direction::ToDevice,
                    _ => return Err(WireError::Malformed("data direction")),
                };
                let allocation = c.u32()?;
                if allocation as usize > MAX_FRAME - 4096 {
                    return Err(WireError::Malformed("allocation length (at most 16 MiB)"));
                }
                let timeout_ms = c.u32()?;
                let data_out = c.bytes32()?;
                c.end()?;
                Ok(Request::Command {
                    path,
                    cdb,
                    direction,
                    allocation,
                    timeout_ms,
                    data_out,
                })
            }
            kind::DEVICES => {
                c.end()?;
                Ok(Request::Devices)
            }
            kind::CONTROL => serde_json::from_slice(c.b)
                .map(Request::Control)
                .map_err(|_| WireError::Malformed("control request JSON")),
            _ => Err(WireError::Malformed("request kind")),
        }
    }
}

impl Reply {
    /// The frame body.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        match self {
            Reply::Completion {
                status,
                sense,
                residual,
                data,
            } => {
                v.reserve(16 + sense.len() + data.len());
                v.push(kind::COMPLETION);
                v.push(*status);
                let s = &sense[..sense.len().min(255)];
                v.push(s.len() as u8);
                v.extend_from_slice(s);
                v.extend_from_slice(&residual.to_be_bytes());
                v.extend_from_slice(&(data.len() as u32).to_be_bytes());
                v.extend_from_slice(data);
            }
            Reply::TransportError { kind: k, message } => {
                v.push(kind::TRANSPORT_ERROR);
                v.push(kind_code(*k));
                put_str16(&mut v, message);
            }
            Reply::Devices(d) => {
                v.push(kind::DEVICE_LIST);
                v.extend(serde_json::to_vec(d).unwrap_or_default());
            }
            Reply::Control(r) => {
                v.push(kind::CONTROL_REPLY);
                v.extend(serde_json::to_vec(r).unwrap_or_default());
            }
            Reply::ProtocolError(m) => {
                v.push(kind::PROTOCOL_ERROR);
                put_str16(&mut v, m);
            }
        }
        v
    }

    /// Decodes a frame body.
    ///
    /// # Errors
    /// [`WireError::Malformed`] naming the part that is wrong.
    pub fn decode(body: &[u8]) -> Result<Reply, WireError> {
        let mut c = Cursor {
            b: body,
            what: "reply",
        };
        let r = match c.u8()? {
            kind::COMPLETION => {
                c.what = "completion";
                let status = c.u8()?;
                let n = usize::from(c.u8()?);
                let sense = c.take(n)?.to_vec();
                let residual = c.u32()?;
                let data = c.bytes32()?;
                Reply::Completion {
                    status,
                    sense,
                    residual,
                    data,
                }
            }
            kind::TRANSPORT_ERROR => {
                c.what = "transport error";
                let k = code_kind(c.u8()?);
                Reply::TransportError {
                    kind: k,
                    message: c.string16()?,
                }
            }
            kind::DEVICE_LIST => {
                return serde_json::from_slice(c.b)
                    .map(Reply::Devices)
                    .map_err(|_| WireError::Malformed("device list JSON"))
            }
            kind::CONTROL_REPLY => {
                return serde_json::from_slice(c.b)
                    .map(Reply::Control)
                    .map_err(|_| WireError::Malformed("control reply JSON"))
            }
            kind::PROTOCOL_ERROR => {
                c.what = "protocol error";
                Reply::ProtocolError(c.string16()?)
            }
            _ => return Err(WireError::Malformed("reply kind")),
        };
        c.end()?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_round_trip() {
        let reqs = vec![
            Request::Command {
                path: "sim:changer".into(),
                cdb: vec![0x12, 0, 0, 0, 36, 0],
                direction: Direction::FromDevice,
                allocation: 36,
                timeout_ms: 30_000,
                data_out: vec![],
            },
            Request::Command {
                path: "sim:drive:500".into(),
                cdb: vec![0x8D; 16],
                direction: Direction::ToDevice,
                allocation: 0,
                timeout_ms: 1,
                data_out: vec![1, 2, 3],
            },
            Request::Devices,
            Request::Control(ControlRequest::Insert {
                barcode: "X00001L8".into(),
                ie: Some(10),
            }),
            Request::Control(ControlRequest::Status),
        ];
        for r in reqs {
            assert_eq!(Request::decode(&r.encode()).unwrap(), r);
        }
        let replies = vec![
            Reply::Completion {
                status: 2,
                sense: vec![0x70, 0, 5],
                residual: 7,
                data: vec![9; 10],
            },
            Reply::TransportError {
                kind: TransportErrorKind::NoDevice,
                message: "gone".into(),
            },
            Reply::Devices(vec![]),
            Reply::ProtocolError("bad".into()),
        ];
        for r in replies {
            assert_eq!(Reply::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn malformed_requests_are_errors_not_panics() {
        let good = Request::Command {
            path: "sim:changer".into(),
            cdb: vec![0, 0, 0, 0, 0, 0],
            direction: Direction::None,
            allocation: 0,
            timeout_ms: 0,
            data_out: vec![],
        }
        .encode();
        // Every truncation, and trailing garbage, is rejected.
        for n in 0..good.len() {
            assert!(Request::decode(&good[..n]).is_err(), "truncated at {n}");
        }
        let mut long = good.clone();
        long.push(0);
        assert!(Request::decode(&long).is_err());
        for body in [&[0x07u8][..], &[0x01, 0, 0, 0], &[0x03, b'{']] {
            assert!(Request::decode(body).is_err());
        }
        // A length prefix over the limit.
        let mut r: &[u8] = &[0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(read_frame(&mut r), Err(WireError::TooLarge(_))));
    }
}
