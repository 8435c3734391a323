//! The controller: the daemon's one owner of its libraries' devices.
//!
//! ```text
//! Changer<T> ── changer worker (owns the picker: moves never interleave, priority order)
//! Drive<T>   ── one worker per drive (unload, readiness waits, TapeAlert, MAM; in parallel)
//!      │
//! library model (typed: elements, cartridges and homes, drives and states, device nodes)
//!      │  built by discovery, updated from each completed command, never rescanned after a move
//! library requests (§8: ids, states, cancel) · notifications (§10) · mount plans (§3, §4)
//! ```
//!
//! - [`model`]: the typed library model.
//! - [`worker`]: a thread owning one driver, running jobs by priority.
//! - [`core`]: the [`Controller`], technician moves, unit-attention re-reads.
//! - [`mount`]: MountNtmsMedia, DismountNtmsMedia, DismountNtmsDrive.
//! - [`request`], [`notify`], [`status`], [`error`].
//!
//! Unit attentions the changer reports re-read only what they make stale
//! ([`core::affected_types`]): 28/01 (import/export element accessed: the operator at the
//! mailslot, a door closed) the import/export elements; other 28/xx (medium may have changed)
//! slots, ports and drives; 29/xx (reset), 2A/xx (parameters changed) and 3F/xx everything. The
//! re-read runs on the changer worker right after the command that met the attention, before
//! the picker's next job.
//!
//! What it is not: the RSM rules (rights, pools, catalogue) — the service decides and asks the
//! controller for physical work; or discovery, which builds the model it starts from.

pub mod core;
pub mod error;
pub mod model;
pub mod mount;
pub mod notify;
pub mod request;
pub mod status;
pub mod worker;

#[cfg(test)]
mod sim_tests;

pub use self::core::{
    affected_types, take_over, CartridgeState, Controller, ControllerConfig, LibraryDevices,
    MoveDone, Observed,
};
pub use error::ControlError;
pub use model::{Cartridge, DeviceNodes, DriveModel, DriveState, LibraryModel};
pub use mount::{Dismounted, DriveInfo, MediumRef, MountOptions, MountedMedium};
pub use notify::{Hub, Notification, NotifyOperation, ObjectKind};
pub use request::{LibraryRequest, Operation, RequestState};
pub use status::ControllerStatus;
