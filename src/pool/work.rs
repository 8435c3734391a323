//! The seam between the RSM service, which decides and records, and whatever does physical
//! work with cartridges (controller-design.md). Today the daemon's device thread implements
//! [`MediaWork`]; the device scheduler takes it over without the service changing.

use std::fmt::Debug;

use uuid::Uuid;

use super::media::LocationKind;
use crate::media::MediaType;

/// What to write into a cartridge's medium auxiliary memory (rsm-media-and-mounts §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequest {
    /// Serial of the library holding the cartridge.
    pub library: String,
    /// Where the cartridge is.
    pub kind: LocationKind,
    /// Its element address.
    pub address: u16,
    /// Where it goes back to (its home slot); `None`: back where it was.
    pub home: Option<u16>,
    /// Its bar code (BARCODE 0x0806).
    pub barcode: Option<String>,
    /// Its media type (to choose a drive that can write it).
    pub media_type: MediaType,
    /// MEDIUM GLOBALLY UNIQUE IDENTIFIER 0x0820: the physical medium id.
    pub medium: Uuid,
    /// MEDIA POOL GLOBALLY UNIQUE IDENTIFIER 0x0821: the pool id.
    pub pool: Uuid,
    /// MEDIA POOL 0x0808: the pool's full name.
    pub pool_name: String,
}

/// How a label write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelOutcome {
    /// reel's label is in MAM: OMID type `REEL-MAM`.
    Written,
    /// The drive refused ATTRIBUTE commands: the bar code is the label, OMID type `BARCODE`.
    Unsupported,
}

/// Why physical work failed: an operator-readable message (device, command, decoded sense).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WorkError(pub String);

/// Physical work the service asks for. Each call is one unit of work that leaves the
/// cartridge where it found it (or in its home slot).
pub trait MediaWork: Send + Sync + Debug {
    /// Writes reel's label into the cartridge: move it into a drive that can write its type,
    /// load, WRITE ATTRIBUTE, unload, move it home.
    ///
    /// # Errors
    /// A [`WorkError`] when the library or drive failed (nothing recorded then).
    fn write_label(&self, request: &LabelRequest) -> Result<LabelOutcome, WorkError>;
}
