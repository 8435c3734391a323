//! The wire protocol between `reel serve` and its clients (docs/protocol.md is its reference).
//!
//! Every message is one frame: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
//! The client speaks first with `hello` (the protocol version handshake, which opens the
//! connection's RSM session); then each request carries an `id`, the session handle and a
//! `call` with its `args`, and each reply carries the same `id` and either `ok` or `error`.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use crate::pool::Win32Code;
pub use crate::pool::{AceKind, Owner, PoolInfo, PoolUpdate};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest body of one frame (1 MiB). A longer message is sent as several frames.
pub const MAX_FRAME: usize = 1 << 20;

/// Header bit 31: more frames of the same message follow this one.
pub const CONTINUED: u32 = 1 << 31;

/// The largest request the daemon reassembles (one frame's worth: requests are small).
pub const MAX_REQUEST: usize = MAX_FRAME;

/// The largest reply a client reassembles (and the daemon sends): 256 MiB.
pub const MAX_REPLY: usize = 256 << 20;

/// The most bytes of an error message (and so of any input it quotes) a reply or log carries.
pub const MAX_MESSAGE: usize = 1024;

/// Framing and decoding failures.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed.
    #[error("socket I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The peer announced a frame longer than [`MAX_FRAME`], or a message longer than the
    /// reader's limit.
    #[error("frame of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The announced length (of the frame, or of the message so far).
        len: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed in the middle of a frame ({got} of {want} bytes)")]
    Truncated {
        /// Bytes received.
        got: usize,
        /// Bytes announced (4 while the header itself was short).
        want: usize,
    },
    /// The frame is not the JSON this protocol expects.
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
}

/// A frame header: its body length and whether more frames of the message follow.
fn parse_header(header: [u8; 4], total: usize, limit: usize) -> Result<(usize, bool), WireError> {
    let raw = u32::from_be_bytes(header);
    let (len, more) = ((raw & !CONTINUED) as usize, raw & CONTINUED != 0);
    if len > MAX_FRAME {
        // Report what was announced, bit 31 included: "GET " reads as 1195725856.
        return Err(WireError::TooLarge {
            len: raw as usize,
            limit: MAX_FRAME,
        });
    }
    if total + len > limit {
        return Err(WireError::TooLarge {
            len: total + len,
            limit,
        });
    }
    Ok((len, more))
}

/// Reads one message (one frame, or a frame sequence joined by [`CONTINUED`]) of at most
/// `limit` bytes; `Ok(None)` when the peer closed the connection between messages.
///
/// Bodies are read as they arrive, so a peer that announces a large frame and sends little
/// costs only what it sent, and nothing beyond `limit` is ever buffered.
///
/// # Errors
/// [`WireError::TooLarge`], [`WireError::Truncated`], [`WireError::Io`].
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    limit: usize,
) -> Result<Option<Vec<u8>>, WireError> {
    let mut body = Vec::new();
    loop {
        let mut header = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = r.read(&mut header[got..]).await?;
            if n == 0 {
                return if got == 0 && body.is_empty() {
                    Ok(None)
                } else {
                    Err(WireError::Truncated { got, want: 4 })
                };
            }
            got += n;
        }
        let (len, more) = parse_header(header, body.len(), limit)?;
        body.reserve(len.min(64 * 1024));
        let n = (&mut *r).take(len as u64).read_to_end(&mut body).await?;
        if n < len {
            return Err(WireError::Truncated { got: n, want: len });
        }
        if !more {
            return Ok(Some(body));
        }
    }
}

/// Reads one reply-sized message (up to [`MAX_REPLY`]): what clients use.
///
/// # Errors
/// As [`read_message`].
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Vec<u8>>, WireError> {
    read_message(r, MAX_REPLY).await
}

/// Writes one message: one frame, or frames of [`MAX_FRAME`] bytes joined by [`CONTINUED`]
/// when the body is longer.
///
/// # Errors
/// [`WireError::TooLarge`] for a body over [`MAX_REPLY`]; [`WireError::Io`].
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, body: &[u8]) -> Result<(), WireError> {
    for frame in frames(body)? {
        w.write_all(&frame).await?;
    }
    w.flush().await?;
    Ok(())
}

/// Reads one message from a blocking stream, at most `limit` bytes; `Ok(None)` on a clean
/// close between messages.
///
/// # Errors
/// As [`read_message`].
pub fn read_message_sync<R: Read>(r: &mut R, limit: usize) -> Result<Option<Vec<u8>>, WireError> {
    let mut body = Vec::new();
    loop {
        let mut header = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = r.read(&mut header[got..])?;
            if n == 0 {
                return if got == 0 && body.is_empty() {
                    Ok(None)
                } else {
                    Err(WireError::Truncated { got, want: 4 })
                };
            }
            got += n;
        }
        let (len, more) = parse_header(header, body.len(), limit)?;
        body.reserve(len.min(64 * 1024));
        let n = (&mut *r).take(len as u64).read_to_end(&mut body)?;
        if n < len {
            return Err(WireError::Truncated { got: n, want: len });
        }
        if !more {
            return Ok(Some(body));
        }
    }
}

/// Reads one reply-sized message (up to [`MAX_REPLY`]) from a blocking stream.
///
/// # Errors
/// As [`read_message`].
pub fn read_frame_sync<R: Read>(r: &mut R) -> Result<Option<Vec<u8>>, WireError> {
    read_message_sync(r, MAX_REPLY)
}

/// Writes one message to a blocking stream (split as [`write_frame`] does).
///
/// # Errors
/// As [`write_frame`].
pub fn write_frame_sync<W: Write>(w: &mut W, body: &[u8]) -> Result<(), WireError> {
    for frame in frames(body)? {
        w.write_all(&frame)?;
    }
    w.flush()?;
    Ok(())
}

/// The frames of one message, each with its header.
fn frames(body: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    if body.len() > MAX_REPLY {
        return Err(WireError::TooLarge {
            len: body.len(),
            limit: MAX_REPLY,
        });
    }
    let mut out = Vec::new();
    let mut chunks = body.chunks(MAX_FRAME).peekable();
    if chunks.peek().is_none() {
        out.push(vec![0; 4]);
    }
    while let Some(chunk) = chunks.next() {
        let more = if chunks.peek().is_some() {
            CONTINUED
        } else {
            0
        };
        let mut frame = Vec::with_capacity(chunk.len() + 4);
        frame.extend_from_slice(&(chunk.len() as u32 | more).to_be_bytes());
        frame.extend_from_slice(chunk);
        out.push(frame);
    }
    Ok(out)
}

/// `text` cut to at most [`MAX_MESSAGE`] bytes: the head and the tail kept (the tail usually
/// says what to do), the middle replaced by a note of how much was left out.
pub fn bounded(text: &str) -> String {
    if text.len() <= MAX_MESSAGE {
        return text.to_owned();
    }
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let ceil = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let head = floor(MAX_MESSAGE * 3 / 4 - 64);
    let tail = ceil(text.len() - MAX_MESSAGE / 4);
    format!(
        "{}…[{} bytes left out]…{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

/// The `id` of a request frame, when one can be read — even if the rest of the frame is not a
/// valid request (or not valid JSON past the id); 0 otherwise.
pub fn request_id(frame: &[u8]) -> u64 {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    use std::cell::Cell;
    struct Seek<'a>(&'a Cell<Option<u64>>);
    impl<'de> Visitor<'de> for Seek<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a request object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "id" {
                    self.0.set(Some(map.next_value::<u64>()?));
                    return Ok(());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Seek<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }
    let found = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(frame);
    let _ = Seek(&found).deserialize(&mut de);
    found.get().unwrap_or(0)
}

/// One request: `{"id": 1, "session": "<uuid>", "call": "...", "args": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Chosen by the client, echoed in the reply.
    pub id: u64,
    /// The session handle `hello` returned (absent only in `hello`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Uuid>,
    /// What to do.
    #[serde(flatten)]
    pub call: Call,
}

/// How `create_media_pool` treats an existing or missing pool (`NtmsCreateOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateDisposition {
    /// `NTMS_OPEN_EXISTING` (1).
    OpenExisting,
    /// `NTMS_CREATE_NEW` (2).
    CreateNew,
    /// `NTMS_OPEN_ALWAYS` (3).
    OpenAlways,
}

/// Object types `enumerate` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    /// `NTMS_MEDIA_POOL`.
    MediaPool,
    /// `NTMS_MEDIA_TYPE`.
    MediaType,
    /// `NTMS_LIBRARY`.
    Library,
    /// `NTMS_PHYSICAL_MEDIA`: container null, a pool or a library.
    PhysicalMedia,
    /// `NTMS_PARTITION` (sides): container null, a physical medium, a pool or an LMID.
    Partition,
    /// `NTMS_LOGICAL_MEDIA`: container null, a pool or a side.
    LogicalMedia,
}

/// One access-control entry as the wire and the CLI's JSON write it: the text of a
/// [`crate::pool::Ace`], which the daemon parses (an entry that does not parse is
/// `ERROR_INVALID_PARAMETER`, not an unreadable frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireAce {
    /// `allow` or `deny`.
    pub kind: AceKind,
    /// `uid:N`, `gid:N` or `everyone`.
    pub who: String,
    /// Right names: `use`, `modify`, `control`, `read-control`, `write-dac`.
    pub rights: Vec<String>,
}

impl From<crate::pool::Ace> for WireAce {
    fn from(ace: crate::pool::Ace) -> Self {
        WireAce {
            kind: ace.kind,
            who: ace.who.to_string(),
            rights: ace.mask.names().into_iter().map(str::to_owned).collect(),
        }
    }
}

/// A security descriptor: owner and ordered entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSecurity {
    /// The owner (`{"uid": N}`); ignored when setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Entries in evaluation order.
    pub entries: Vec<WireAce>,
}

/// Every call the daemon answers. Serialized as `"call": "<name>", "args": {...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", content = "args", rename_all = "snake_case")]
pub enum Call {
    /// Version handshake; opens the connection's session (`OpenNtmsSession`).
    Hello {
        /// The protocol version the client speaks.
        protocol: u32,
        /// Application name (defaults to "RSM").
        #[serde(default)]
        application: Option<String>,
    },
    /// `CloseNtmsSession`: later calls on this handle fail with `ERROR_INVALID_HANDLE`.
    CloseSession {},
    /// `CreateNtmsMediaPool`.
    CreateMediaPool {
        /// Full pool path.
        name: String,
        /// Media type id or name; null makes a pool that holds pools.
        #[serde(default)]
        media_type: Option<String>,
        /// Open or create.
        action: CreateDisposition,
        /// Security descriptor for a new pool; null applies the default.
        #[serde(default)]
        security: Option<WireSecurity>,
    },
    /// `DeleteNtmsMediaPool`.
    DeleteMediaPool {
        /// Pool id.
        id: Uuid,
    },
    /// `EnumerateNtmsObject`.
    Enumerate {
        /// Container id; null = top level.
        #[serde(default)]
        container: Option<Uuid>,
        /// What to list.
        #[serde(rename = "type")]
        object_type: ObjectType,
        /// `NTMS_ENUM_ROOTPOOL`: the root pool first, then the top-level pools.
        #[serde(default)]
        root_pool: bool,
    },
    /// `GetNtmsObjectInformation` for a pool.
    GetPoolInformation {
        /// Pool id.
        id: Uuid,
    },
    /// `SetNtmsObjectInformation` for a pool.
    SetPoolInformation {
        /// Pool id.
        id: Uuid,
        /// The writable members.
        info: PoolUpdate,
    },
    /// `GetNtmsMediaPoolName`.
    GetMediaPoolName {
        /// Pool id.
        id: Uuid,
    },
    /// `GetNtmsObjectSecurity`.
    GetObjectSecurity {
        /// Object id.
        id: Uuid,
    },
    /// `SetNtmsObjectSecurity` (the DACL).
    SetObjectSecurity {
        /// Object id.
        id: Uuid,
        /// The new entries.
        security: WireSecurity,
    },
    /// The media types the daemon's libraries detected (cli.md `media-types` document).
    MediaTypes {},
    /// The daemon's inventory (cli.md `discover` document); `rescan` reads the devices first.
    Library {
        /// Re-run discovery first.
        #[serde(default)]
        rescan: bool,
    },
    /// A technician's element move on the picker (unload first when out of a drive).
    MoveElement {
        /// The library (changer serial); may be left out when the daemon has one.
        #[serde(default)]
        library: Option<String>,
        /// Source element, `TYPE:ADDRESS`.
        from: String,
        /// Destination element.
        to: String,
        /// −15 … 15 (default 0).
        #[serde(default)]
        priority: i32,
    },
    /// A technician's EXCHANGE MEDIUM: `source`'s cartridge to `first`, `first`'s to `second`.
    ExchangeElement {
        /// The library (changer serial); may be left out when the daemon has one.
        #[serde(default)]
        library: Option<String>,
        /// Source element, `TYPE:ADDRESS`.
        source: String,
        /// Where the source's cartridge goes.
        first: String,
        /// Where the first destination's cartridge goes (default: `source`).
        #[serde(default)]
        second: Option<String>,
        /// −15 … 15 (default 0).
        #[serde(default)]
        priority: i32,
    },
    /// A technician's POSITION TO ELEMENT: the picker moves in front of `to`.
    PositionElement {
        /// The library (changer serial); may be left out when the daemon has one.
        #[serde(default)]
        library: Option<String>,
        /// The element, `TYPE:ADDRESS`.
        to: String,
        /// −15 … 15 (default 0).
        #[serde(default)]
        priority: i32,
    },
    /// The daemon's state: readiness, drives, queues, SCSI command counts.
    Status {},
    /// The same figures and more in the Prometheus text format.
    Metrics {},
    /// Library requests (`all`: finished ones too).
    Requests {
        /// Include finished requests.
        #[serde(default)]
        all: bool,
    },
    /// Cancels a queued or waiting library request.
    CancelRequest {
        /// Request id.
        id: Uuid,
    },
    /// Opens a notification channel for these object types (empty: all).
    OpenNotification {
        /// cli.md type names.
        #[serde(default)]
        types: Vec<crate::controller::ObjectKind>,
    },
    /// Waits for events on a channel; `ERROR_NO_DATA` once it overflowed.
    WaitNotification {
        /// The channel.
        channel: Uuid,
        /// Longest wait in milliseconds (at most 60,000).
        #[serde(default)]
        timeout_ms: u64,
    },
    /// Closes a notification channel.
    CloseNotification {
        /// The channel.
        channel: Uuid,
    },
    /// `MountNtmsMedia`.
    Mount {
        /// Media: LMIDs, medium ids or barcodes.
        media: Vec<String>,
        /// `READ`.
        #[serde(default)]
        read: bool,
        /// `WRITE`.
        #[serde(default)]
        write: bool,
        /// `SPECIFIC_DRIVE`: a drive serial, id or `drive:ADDRESS`.
        #[serde(default)]
        drive: Option<String>,
        /// −15 … 15.
        #[serde(default)]
        priority: i32,
        /// Milliseconds; none = no limit.
        #[serde(default)]
        timeout_ms: Option<u64>,
        /// `ERROR_IF_UNAVAILABLE`.
        #[serde(default)]
        error_if_unavailable: bool,
        /// `ERROR_IF_OFFLINE`.
        #[serde(default)]
        error_if_offline: bool,
        /// `NOWAIT`: reply once queued with the request.
        #[serde(default)]
        nowait: bool,
    },
    /// `DismountNtmsMedia`.
    Dismount {
        /// Media mounted by this session.
        media: Vec<String>,
        /// `DEFERRED` (else `IMMEDIATE`).
        #[serde(default)]
        deferred: bool,
    },
    /// `DismountNtmsDrive`.
    DismountDrive {
        /// A drive serial, id or `drive:ADDRESS`.
        drive: String,
    },
    /// One page of physical media with their information (`EnumerateNtmsObject` +
    /// `GetNtmsObjectInformation`); the client asks for pages until it has `total`.
    ListMedia {
        /// Only this pool's media.
        #[serde(default)]
        pool: Option<Uuid>,
        /// Only media in the library with this changer serial.
        #[serde(default)]
        library: Option<String>,
        /// Only offline media.
        #[serde(default)]
        offline: bool,
        /// The last medium of the previous page; null for the first page.
        #[serde(default)]
        after: Option<Uuid>,
        /// Media in the page (at most [`MAX_MEDIA_PAGE`]).
        limit: usize,
    },
    /// `GetNtmsObjectInformation` for a physical medium, side or LMID, or the medium with a
    /// bar code.
    GetMedium {
        /// Medium, side or logical medium id.
        #[serde(default)]
        id: Option<Uuid>,
        /// Or the bar code.
        #[serde(default)]
        barcode: Option<String>,
    },
    /// `AllocateNtmsMedia`.
    AllocateMedia {
        /// The application pool.
        pool: Uuid,
        /// The side (or medium) to take.
        #[serde(default)]
        side: Option<Uuid>,
        /// The LMID for NEXT.
        #[serde(default)]
        next: Option<Uuid>,
        /// NEW 1, NEXT 2, ERROR_IF_UNAVAILABLE 4.
        #[serde(default)]
        options: u32,
        /// Milliseconds to wait for an operator; null waits forever, 0 not at all.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// `DeallocateNtmsMedia`.
    DeallocateMedia {
        /// The logical medium.
        lmid: Uuid,
        /// Must be 0.
        #[serde(default)]
        options: u32,
    },
    /// `SetNtmsMediaComplete`.
    SetMediaComplete {
        /// The logical medium.
        lmid: Uuid,
    },
    /// `DecommissionNtmsMedia`.
    DecommissionMedia {
        /// The medium or side.
        id: Uuid,
    },
    /// `MoveToNtmsMediaPool`.
    MoveToMediaPool {
        /// The physical medium.
        medium: Uuid,
        /// The destination pool.
        pool: Uuid,
    },
    /// `DeleteNtmsMedia`.
    DeleteMedia {
        /// The physical medium.
        id: Uuid,
    },
    /// The open operator requests.
    OperatorRequests {},
    /// Satisfies or refuses an operator request.
    AnswerOperatorRequest {
        /// The request.
        id: Uuid,
        /// True satisfies, false refuses.
        satisfy: bool,
    },
    /// `SubmitNtmsOperatorRequest` with MESSAGE.
    SubmitOperatorRequest {
        /// What the operator should read.
        message: String,
    },
}

/// The most media one `list_media` page holds (about 350 bytes each: a page stays under one
/// 1 MiB frame).
pub const MAX_MEDIA_PAGE: usize = 2000;

/// The `list_media` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaList {
    /// The page.
    pub media: Vec<crate::pool::MediumInfo>,
    /// Media matching in all pages.
    pub total: usize,
}

/// The `deallocate_media` reply (cli.md `deallocated`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeallocatedReply {
    /// The logical medium that is gone.
    pub lmid: Uuid,
    /// `available` or `decommissioned`.
    pub state: crate::pool::SideState,
}

/// The `move_to_media_pool` reply (cli.md `moved`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedReply {
    /// The medium.
    pub medium: Uuid,
    /// Its bar code.
    pub barcode: Option<String>,
    /// Source pool name.
    pub from: String,
    /// Destination pool name.
    pub to: String,
}

/// The `operator_requests` reply (cli.md `operator_requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRequests {
    /// The open requests.
    pub operator_requests: Vec<crate::pool::opreq::OperatorRequest>,
}

impl Call {
    /// The call's wire name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Hello { .. } => "hello",
            Call::CloseSession {} => "close_session",
            Call::CreateMediaPool { .. } => "create_media_pool",
            Call::DeleteMediaPool { .. } => "delete_media_pool",
            Call::Enumerate { .. } => "enumerate",
            Call::GetPoolInformation { .. } => "get_pool_information",
            Call::SetPoolInformation { .. } => "set_pool_information",
            Call::GetMediaPoolName { .. } => "get_media_pool_name",
            Call::GetObjectSecurity { .. } => "get_object_security",
            Call::SetObjectSecurity { .. } => "set_object_security",
            Call::MediaTypes {} => "media_types",
            Call::Library { .. } => "library",
            Call::MoveElement { .. } => "move_element",
            Call::ExchangeElement { .. } => "exchange_element",
            Call::PositionElement { .. } => "position_element",
            Call::Status {} => "status",
            Call::Metrics {} => "metrics",
            Call::Requests { .. } => "requests",
            Call::CancelRequest { .. } => "cancel_request",
            Call::OpenNotification { .. } => "open_notification",
            Call::WaitNotification { .. } => "wait_notification",
            Call::CloseNotification { .. } => "close_notification",
            Call::Mount { .. } => "mount",
            Call::Dismount { .. } => "dismount",
            Call::DismountDrive { .. } => "dismount_drive",
            Call::ListMedia { .. } => "list_media",
            Call::GetMedium { .. } => "get_medium",
            Call::AllocateMedia { .. } => "allocate_media",
            Call::DeallocateMedia { .. } => "deallocate_media",
            Call::SetMediaComplete { .. } => "set_media_complete",
            Call::DecommissionMedia { .. } => "decommission_media",
            Call::MoveToMediaPool { .. } => "move_to_media_pool",
            Call::DeleteMedia { .. } => "delete_media",
            Call::OperatorRequests {} => "operator_requests",
            Call::AnswerOperatorRequest { .. } => "answer_operator_request",
            Call::SubmitOperatorRequest { .. } => "submit_operator_request",
        }
    }
}

/// An RSM status as replies carry it: the Win32 name and number and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{name} ({code}): {message}")]
pub struct Status {
    /// `ERROR_ACCESS_DENIED`, ...
    pub name: String,
    /// The Win32 number.
    pub code: u32,
    /// What happened.
    pub message: String,
    /// The device's decoded sense, for failures a device reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sense: Option<WireSense>,
}

/// Sense data as cli.md prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSense {
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Its qualifier.
    pub ascq: u8,
    /// What it means.
    pub text: String,
}

impl From<&reel_hw::sense::Sense> for WireSense {
    fn from(s: &reel_hw::sense::Sense) -> Self {
        WireSense {
            key: s.key.0,
            asc: s.asc,
            ascq: s.ascq,
            text: s
                .text()
                .map(|t| t.replace("NN", &format!("{:02X}", s.ascq)))
                .unwrap_or_else(|| format!("ASC/ASCQ {:02X}/{:02X}", s.asc, s.ascq)),
        }
    }
}

impl Status {
    /// A status with a code of the one table ([`Win32Code`]); the message is cut to
    /// [`MAX_MESSAGE`] bytes ([`bounded`]), so no input it quotes can make a reply or a log line
    /// large.
    pub fn new(code: Win32Code, message: impl Into<String>) -> Self {
        let message = message.into();
        Status {
            name: code.label().to_owned(),
            code: code.0,
            message: if message.len() > MAX_MESSAGE {
                bounded(&message)
            } else {
                message
            },
            sense: None,
        }
    }

    /// The code, as the table knows it (an unknown number passes through).
    pub fn win32(&self) -> Win32Code {
        Win32Code(self.code)
    }

    /// `ERROR_INVALID_HANDLE` (6).
    pub fn invalid_handle(message: impl Into<String>) -> Self {
        Status::new(Win32Code::ERROR_INVALID_HANDLE, message)
    }

    /// `ERROR_INVALID_PARAMETER` (87).
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Status::new(Win32Code::ERROR_INVALID_PARAMETER, message)
    }

    /// `ERROR_NOT_CONNECTED` (2250): the service cannot be reached.
    pub fn not_connected(message: impl Into<String>) -> Self {
        Status::new(Win32Code::ERROR_NOT_CONNECTED, message)
    }

    /// `RPC_S_NO_INTERFACES` (1817): the two sides speak different protocol versions.
    pub fn no_interfaces(message: impl Into<String>) -> Self {
        Status::new(Win32Code::RPC_S_NO_INTERFACES, message)
    }

    /// `ERROR_BUSY` (170).
    pub fn busy(message: impl Into<String>) -> Self {
        Status::new(Win32Code::ERROR_BUSY, message)
    }

    /// `ERROR_NOT_READY` (21).
    pub fn not_ready(message: impl Into<String>) -> Self {
        Status::new(Win32Code::ERROR_NOT_READY, message)
    }
}

/// One reply: `{"id": 1, "ok": {...}}` or `{"id": 1, "error": {"name", "code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The request's id (0 when the request could not be read).
    pub id: u64,
    /// The result on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Value>,
    /// The RSM status on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Status>,
}

impl Reply {
    /// A reply from a result.
    pub fn from_result(id: u64, r: Result<Value, Status>) -> Self {
        match r {
            Ok(v) => Reply {
                id,
                ok: Some(v),
                error: None,
            },
            Err(s) => Reply {
                id,
                ok: None,
                error: Some(s),
            },
        }
    }

    /// The reply as a result (a reply with neither member is a malformed one).
    pub fn into_result(self) -> Result<Value, Status> {
        match (self.ok, self.error) {
            (_, Some(e)) => Err(e),
            (Some(v), None) => Ok(v),
            (None, None) => Err(Status::invalid_parameter(
                "the daemon sent a reply with neither `ok` nor `error`",
            )),
        }
    }
}

/// The `hello` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version both sides now speak.
    pub protocol: u32,
    /// The server's name and version (`reel 0.1.0`).
    pub server: String,
    /// The session handle to put in every later request.
    pub session: Uuid,
    /// Who the daemon says you are (from the socket's peer credentials).
    pub identity: WireIdentity,
}

/// The `create_media_pool` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The pool's id.
    pub id: Uuid,
    /// Its full path as stored (case preserved from its creation).
    pub name: String,
    /// Its media type's name, or null for a pool of pools.
    pub media_type: Option<String>,
    /// False when an existing pool was opened.
    pub created: bool,
}

/// One entry of the `media_types` reply (cli.md `media-types` document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaTypeEntry {
    /// `LTO-8`, ...
    pub name: String,
    /// UUID v5 of the name.
    pub id: Uuid,
    /// Serials of the changers whose libraries detected it.
    pub libraries: Vec<String>,
}

/// The `media_types` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaTypes {
    /// Every detected type, by name.
    pub media_types: Vec<MediaTypeEntry>,
}

/// The `enumerate` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enumerated {
    /// Object ids in the server's order.
    pub ids: Vec<Uuid>,
}

/// The `get_media_pool_name` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolName {
    /// The full hierarchy.
    pub name: String,
}

/// A caller's identity as the daemon saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireIdentity {
    /// User id.
    pub uid: u32,
    /// Primary and supplementary group ids.
    pub gids: Vec<u32>,
    /// Process id at connect time.
    pub pid: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_have_the_documented_shape() {
        let session = Uuid::from_u128(0x1234);
        let cases: Vec<(Request, Value)> = vec![
            (
                Request {
                    id: 0,
                    session: None,
                    call: Call::Hello {
                        protocol: 1,
                        application: Some("reel-cli".into()),
                    },
                },
                json!({"id": 0, "call": "hello", "args": {"protocol": 1, "application": "reel-cli"}}),
            ),
            (
                Request {
                    id: 2,
                    session: Some(session),
                    call: Call::CreateMediaPool {
                        name: r"\App".into(),
                        media_type: None,
                        action: CreateDisposition::OpenAlways,
                        security: None,
                    },
                },
                json!({"id": 2, "session": session.to_string(), "call": "create_media_pool",
                       "args": {"name": "\\App", "media_type": null, "action": "open_always",
                                "security": null}}),
            ),
            (
                Request {
                    id: 3,
                    session: Some(session),
                    call: Call::Enumerate {
                        container: None,
                        object_type: ObjectType::MediaPool,
                        root_pool: true,
                    },
                },
                json!({"id": 3, "session": session.to_string(), "call": "enumerate",
                       "args": {"container": null, "type": "media_pool", "root_pool": true}}),
            ),
            (
                Request {
                    id: 4,
                    session: Some(session),
                    call: Call::CloseSession {},
                },
                json!({"id": 4, "session": session.to_string(), "call": "close_session", "args": {}}),
            ),
        ];
        for (req, want) in cases {
            assert_eq!(serde_json::to_value(&req).unwrap(), want, "{req:?}");
            let back: Request = serde_json::from_value(want).unwrap();
            assert_eq!(back, req);
        }
    }

    #[test]
    fn every_call_round_trips_and_names_itself() {
        let id = Uuid::from_u128(7);
        let sec = WireSecurity {
            owner: Some(Owner { uid: 5 }),
            entries: vec![WireAce {
                kind: AceKind::Deny,
                who: "gid:3".into(),
                rights: vec!["use".into()],
            }],
        };
        let calls = vec![
            (
                Call::Hello {
                    protocol: 1,
                    application: None,
                },
                "hello",
            ),
            (Call::CloseSession {}, "close_session"),
            (
                Call::CreateMediaPool {
                    name: r"\A".into(),
                    media_type: Some("LTO-8".into()),
                    action: CreateDisposition::CreateNew,
                    security: Some(sec.clone()),
                },
                "create_media_pool",
            ),
            (Call::DeleteMediaPool { id }, "delete_media_pool"),
            (
                Call::Enumerate {
                    container: Some(id),
                    object_type: ObjectType::Library,
                    root_pool: false,
                },
                "enumerate",
            ),
            (Call::GetPoolInformation { id }, "get_pool_information"),
            (
                Call::SetPoolInformation {
                    id,
                    info: PoolUpdate {
                        name: "B".into(),
                        description: "d".into(),
                        media_type: Some(crate::media::MediaTypeRef::Id(id)),
                        allocation_policy: 1,
                        deallocation_policy: 1,
                        max_allocates: 3,
                    },
                },
                "set_pool_information",
            ),
            (Call::GetMediaPoolName { id }, "get_media_pool_name"),
            (Call::GetObjectSecurity { id }, "get_object_security"),
            (
                Call::SetObjectSecurity { id, security: sec },
                "set_object_security",
            ),
            (Call::MediaTypes {}, "media_types"),
            (Call::Library { rescan: true }, "library"),
            (
                Call::ListMedia {
                    pool: Some(id),
                    library: Some("L".into()),
                    offline: true,
                    after: Some(id),
                    limit: 10,
                },
                "list_media",
            ),
            (
                Call::GetMedium {
                    id: None,
                    barcode: Some("ABC001L8".into()),
                },
                "get_medium",
            ),
            (
                Call::AllocateMedia {
                    pool: id,
                    side: Some(id),
                    next: None,
                    options: 4,
                    timeout_ms: Some(0),
                },
                "allocate_media",
            ),
            (
                Call::DeallocateMedia {
                    lmid: id,
                    options: 0,
                },
                "deallocate_media",
            ),
            (Call::SetMediaComplete { lmid: id }, "set_media_complete"),
            (Call::DecommissionMedia { id }, "decommission_media"),
            (
                Call::MoveToMediaPool {
                    medium: id,
                    pool: id,
                },
                "move_to_media_pool",
            ),
            (Call::DeleteMedia { id }, "delete_media"),
            (Call::OperatorRequests {}, "operator_requests"),
            (
                Call::AnswerOperatorRequest { id, satisfy: false },
                "answer_operator_request",
            ),
            (
                Call::SubmitOperatorRequest {
                    message: "m".into(),
                },
                "submit_operator_request",
            ),
        ];
        for (call, name) in calls {
            let req = Request {
                id: 9,
                session: Some(id),
                call,
            };
            let v = serde_json::to_value(&req).unwrap();
            assert_eq!(v["call"], name);
            assert_eq!(req.call.name(), name);
            let back: Request = serde_json::from_value(v).unwrap();
            assert_eq!(back, req);
        }
    }

    #[test]
    fn replies_carry_ok_or_the_rsm_status() {
        let ok = Reply::from_result(5, Ok(json!({"deleted": true})));
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"id": 5, "ok": {"deleted": true}})
        );
        let err = Reply::from_result(6, Err(Status::invalid_handle("no such session")));
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"id": 6, "error": {"name": "ERROR_INVALID_HANDLE", "code": 6,
                                      "message": "no such session"}})
        );
        assert_eq!(
            err.into_result().unwrap_err().code,
            6,
            "the error member wins"
        );
    }

    #[test]
    fn frames_round_trip_and_limits_hold() {
        let mut buf = Vec::new();
        write_frame_sync(&mut buf, br#"{"a":1}"#).unwrap();
        assert_eq!(&buf[..4], &[0, 0, 0, 7]);
        let mut r = &buf[..];
        assert_eq!(
            read_frame_sync(&mut r).unwrap().as_deref(),
            Some(&br#"{"a":1}"#[..])
        );
        assert!(read_frame_sync(&mut r).unwrap().is_none(), "clean close");

        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0, 0], "truncated header"),
            (vec![0, 0, 0, 9, b'{'], "truncated body"),
            (((MAX_FRAME + 1) as u32).to_be_bytes().to_vec(), "too large"),
            (vec![0xFF, 0xFF, 0xFF, 0xFF], "too large"),
        ];
        for (bytes, what) in cases {
            let err = read_frame_sync(&mut &bytes[..]).unwrap_err();
            let ok = match what {
                "too large" => matches!(err, WireError::TooLarge { .. }),
                _ => matches!(err, WireError::Truncated { .. }),
            };
            assert!(ok, "{what}: got {err:?}");
        }
        // A body over one frame goes out as a sequence: full frames with bit 31, then the rest.
        let big: Vec<u8> = (0..MAX_FRAME * 2 + 3).map(|i| (i % 251) as u8).collect();
        let mut buf = Vec::new();
        write_frame_sync(&mut buf, &big).unwrap();
        let header = |at: usize| u32::from_be_bytes(buf[at..at + 4].try_into().unwrap());
        assert_eq!(header(0), CONTINUED | MAX_FRAME as u32);
        assert_eq!(header(MAX_FRAME + 4), CONTINUED | MAX_FRAME as u32);
        assert_eq!(header(2 * MAX_FRAME + 8), 3);
        assert_eq!(buf.len(), big.len() + 12);
        assert_eq!(read_frame_sync(&mut &buf[..]).unwrap(), Some(big.clone()));
        // A reader's limit counts the whole message, not each frame.
        assert!(matches!(
            read_message_sync(&mut &buf[..], MAX_REQUEST),
            Err(WireError::TooLarge { len, limit: MAX_REQUEST }) if len == 2 * MAX_FRAME
        ));
        // A sequence cut between frames is truncated, not a clean close.
        assert!(matches!(
            read_frame_sync(&mut &buf[..MAX_FRAME + 4]),
            Err(WireError::Truncated { got: 0, want: 4 })
        ));
        let empty = {
            let mut b = Vec::new();
            write_frame_sync(&mut b, b"").unwrap();
            b
        };
        assert_eq!(empty, [0, 0, 0, 0]);
    }

    #[test]
    fn messages_are_bounded_and_keep_head_and_tail() {
        let short = "pool \\A not found";
        assert_eq!(bounded(short), short);
        let long = format!(
            "name {} is too long; use a shorter one",
            "é".repeat(100_000)
        );
        let b = bounded(&long);
        assert!(b.len() <= MAX_MESSAGE, "{}", b.len());
        assert!(b.starts_with("name éé"));
        assert!(b.ends_with("is too long; use a shorter one"));
        assert!(b.contains("bytes left out"));
        assert!(
            Status::new(Win32Code::DEVICE_ERROR, long.clone())
                .message
                .len()
                <= MAX_MESSAGE
        );
    }

    #[test]
    fn request_ids_are_read_as_far_as_the_frame_is_valid() {
        let cases: Vec<(&[u8], u64)> = vec![
            (br#"{"id":7}"#, 7),
            (br#"{"call":"x","args":{"a":[1,{"b":2}]},"id":8}"#, 8),
            (br#"{"id":9,"call":"#, 9),
            (b"{\"id\":10,\"call\":\"\xff\"}", 10),
            (br#"{"id":18446744073709551615}"#, u64::MAX),
            (br#"{"id":18446744073709551616}"#, 0),
            (br#"{"id":1.5}"#, 0),
            (br#"{"call":"\ud800","id":11}"#, 11),
            (br#"{"ID":12}"#, 0),
            (b"", 0),
            (b"[1]", 0),
        ];
        for (frame, id) in cases {
            assert_eq!(request_id(frame), id, "{}", String::from_utf8_lossy(frame));
        }
    }

    #[tokio::test]
    async fn async_framing_matches_the_blocking_one() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"[1,2]").await.unwrap();
        let mut sync_buf = Vec::new();
        write_frame_sync(&mut sync_buf, b"[1,2]").unwrap();
        assert_eq!(buf, sync_buf);
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).await.unwrap().as_deref(),
            Some(&b"[1,2]"[..])
        );
        assert!(read_frame(&mut r).await.unwrap().is_none());
        let mut short = &[0u8, 0, 0, 3, b'1'][..];
        assert!(matches!(
            read_frame(&mut short).await,
            Err(WireError::Truncated { got: 1, want: 3 })
        ));
    }
}
