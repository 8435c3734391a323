//! reel-sim as an iSCSI target (RFC 7143, the subset `shared/spec/sim-iscsi.md` lists): the
//! simulated library reaches any initiator — the Linux kernel through open-iscsi or QEMU,
//! libiscsi's tools — as LUN 0 (the changer) and LUN 1…N (the present drives) of
//! `iqn.2026-12.dev.reel:sim.<changer serial>`, with an optional test-only RAM disk target
//! (`….testdisk`) for conformance suites that need a block device.
//!
//! Layers: [`pdu`] (the codec, over one bounds-checked reader), [`text`] (keys), [`login`]
//! (negotiation and CHAP, pure), `conn` (one connection: ordering, R2T, task management,
//! the executor thread and the writer), [`lun`] (what a command does), [`target`] (listener,
//! session registry). The in-crate test initiator [`initiator`] drives it in tests and benches.
//!
//! Decisions where the RFC or the spec leave a choice:
//! - One connection per session (MaxConnections=1), ErrorRecoveryLevel 0: a broken sequence
//!   (digest error, Data-Out out of order, a segment over the negotiated size) closes the
//!   connection after a Reject; an unsupported PDU (unknown opcode, SNACK) gets a Reject only.
//! - Commands of one session run one at a time in CmdSN order (a tape drive is sequential);
//!   NOP-Out, text and task management are answered by the reader while a command runs.
//! - A new login with the same initiator name, ISID and target closes the old session
//!   (session reinstatement); QEMU's one-session-per-LUN logins use distinct ISIDs.
//! - LOGICAL UNIT RESET and TARGET WARM RESET give every I_T nexus 06/29/00 on the reset
//!   units; TARGET COLD RESET and CLEAR ACA answer "not supported".
//! - An initiator that stops reading is dropped after 30 s of a blocked write; a login that
//!   does not finish in 30 s is dropped.
//! - Expected Data Transfer Length is capped at 16 MiB (twice the drives' largest block).

mod conn;
pub mod digest;
pub mod disk;
pub mod initiator;
pub mod login;
pub mod lun;
pub mod pdu;
mod reader;
pub mod target;
pub mod text;

pub use login::Chap;
pub use target::{spawn, target_name, IscsiConfig, IscsiError, IscsiTarget, Running};

/// A PDU or text that cannot be decoded; each variant names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    /// Shorter than its structure.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// Longer than its header announces.
    #[error("trailing bytes after the {0}")]
    TrailingData(&'static str),
    /// An opcode RFC 7143 does not define.
    #[error("unknown opcode 0x{0:02X}")]
    UnknownOpcode(u8),
    /// The header digest does not match.
    #[error("header digest mismatch")]
    HeaderDigest,
    /// The data digest does not match.
    #[error("data digest mismatch")]
    DataDigest,
    /// A text data segment that is not `key=value` pairs.
    #[error("bad text: {0}")]
    BadText(&'static str),
}
