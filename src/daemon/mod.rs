//! `reel serve`: the controller daemon and its wire protocol.
//!
//! - [`wire`]: frames (u32 big-endian length + JSON), requests, replies, the version handshake;
//!   `docs/protocol.md` is its reference.
//! - [`peer`]: the caller's identity from the socket (`SO_PEERCRED` + `/proc` groups).
//! - [`server`]: binding the socket, one task and one RSM session per connection, limits and
//!   timeouts against hostile clients, clean shutdown.
//! - [`audit`]: what each call changes, for the audit lines at info.
//! - [`client`]: the blocking client the CLI, the tests and the benchmark use.
//!
//! - [`devices`]: what start-up produced: discovery's report and the [`crate::controller`]
//!   that owns every changer and drive.
//!
//! What it is not: the pool rules (see [`crate::pool`]) or device access (see
//! [`crate::controller`]); the daemon only carries calls to them.

pub mod audit;
pub mod client;
pub mod devices;
pub mod label;
pub mod peer;
pub mod rsm;
pub mod server;
pub mod wire;

pub use client::Client;
pub use devices::{DeviceController, DiscoveredLibrary, StartFn, Startup};
pub use peer::PeerIdentity;
pub use server::{bind, serve, Backend, Bound, Config, StartError};
pub use wire::{Call, Status};
