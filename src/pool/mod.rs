//! RSM media pools: `CreateNtmsMediaPool` and friends (shared/spec/rsm-media-pools.md).
//!
//! [`Rsm`] is the service: sessions, libraries and their detected media types, the pool
//! hierarchy with its system pools, security, and the pool functions of §3 and §5, over the
//! SQLite store of [`crate::db`]. It is synchronous, `Send + Sync`, and meant to be shared
//! (`Arc<Rsm>`) by a daemon that calls it from many threads. Every call that changes anything
//! is one database transaction; every error is an [`RsmError`] carrying its Win32 name and code.
//!
//! Reads (open by name, get information, enumerate, names, security) are served from an
//! in-memory catalogue loaded when the service opens and updated after each commit, under the
//! same lock that serialises writers, so a reader sees every acknowledged change and never a
//! half-made one, and never waits for the disk. Because of that, one process owns a database
//! at a time: a second [`Rsm::open`] on the same file fails with `ERROR_DATABASE_FAILURE`.
//!
//! What it is not: it talks to no device, and it moves no media (allocation, moves and media
//! life cycle come with later issues; their tables exist).
//!
//! # Decisions where the spec says [design] or [unverified]
//! - §1.4 default `dwMaxAllocates` is 0 = unlimited. Policies default to 0.
//! - §1.4 system pools: `Free`, `Import` and `Unrecognized` top-level containers exist from
//!   the database's creation (so their names are reserved before any library registers); their
//!   per-type children are created by [`Rsm::register_library`] and named after the media
//!   type (`\Free\LTO-8`). They are never removed, even when no library detects the type any
//!   more (`DeleteNtmsMediaType` is not modelled). System pools get the configured root-pool
//!   descriptor as their access list, owner uid 0.
//! - §1.4/§3 row 13: a pool with a media type is a pool of media, so it cannot have child
//!   pools; "parent holds media" means it has a media type or any medium.
//! - §2 names: a missing leading `\` means rooted; 1..=63 UTF-16 units per component, ≤ 511
//!   for the canonical path `\A\B`; no empty component, no NUL/control character (Unicode `Cc`),
//!   no `.`/`..`; `/` is ordinary. Comparison is case-insensitive by per-character
//!   `char::to_lowercase` (an approximation of simple case folding, see [`name::fold`]); case is
//!   preserved. `\` alone names the root pool in [`Rsm::find_pool`] and is an invalid name for
//!   creation.
//! - §3 row 3: a name absent is `None`; row 4: actions other than 1, 2, 3 are
//!   `ERROR_INVALID_PARAMETER`; row 5: a malformed descriptor is one [`SecurityDescriptor::validate`]
//!   refuses (uid/gid 4294967295, empty or unknown rights, more than 1024 entries).
//! - §3 row 7: the catalogue is read when the service opens, so a database that cannot be read
//!   fails [`Rsm::open`] with `ERROR_DATABASE_FAILURE`; afterwards reads come from memory.
//! - §3 row 8/10: opening needs USE on the pool; the media-type and security arguments are
//!   ignored when a pool is opened, even a type that differs.
//! - §3 row 12: system pool names give `ERROR_ALREADY_EXISTS` for CREATE_NEW.
//! - §3 row 14: a media type must name a catalogue type that some registered library currently
//!   detects. Top-level pools report `parent: None`.
//! - §3 concurrency: OPEN_ALWAYS runs the lookup again under the writer lock, so concurrent
//!   callers get one id, one of them `created: true`.
//! - §4.3: the owner of a new pool is the caller, whether or not a descriptor is supplied
//!   (a descriptor's owner field is ignored on creation); without one, the parent's entries
//!   are copied once at creation (not tracked), then full access for the creator and local
//!   system (uid 0, and [`Config::system_uid`]) is appended when not already present.
//! - §4.4: administrators (uid 0, members of [`Config::admin_gid`]) pass every check. The
//!   owner always holds READ_CONTROL and WRITE_DAC; a deny entry does not take them away.
//!   Only administrators may change the owner with [`Rsm::set_security`].
//! - §5.2: a pool with child pools is not empty (`ERROR_NOT_EMPTY`); an absent (nil) id is
//!   `ERROR_INVALID_PARAMETER`.
//! - §5.3: a null container needs USE on the root pool; a library id as container is
//!   `ERROR_INVALID_PARAMETER`; children are listed in name order.
//! - §5.4: set writes every writable member. The root and system pools keep their name and
//!   media type (changing them is `ERROR_INVALID_MEDIA_POOL`). Changing the media type of a
//!   pool holding media or child pools is `ERROR_NOT_EMPTY`; a rename obeys §2 (one component)
//!   and sibling uniqueness (`ERROR_ALREADY_EXISTS`) and must keep every descendant path within
//!   511 units (`ERROR_INVALID_NAME`); a description longer than 126 UTF-16 units or a policy
//!   other than 0/1 is `ERROR_INVALID_PARAMETER`.
//! - §5.5: getting a pool's name needs USE on it; sizes count UTF-16 units including the
//!   terminator (§8.6).
//! - §5.9: libraries and media types have no descriptor yet: `ERROR_NO_SECURITY_ON_OBJECT`.
//! - §6: no room (SQLITE_FULL, `max_page_count`) and the configured object limit are
//!   `ERROR_DATABASE_FULL`; everything else the database reports is `ERROR_DATABASE_FAILURE`.
//!   Registering libraries is the daemon's own work, so it needs no session and is allowed
//!   before the service is ready.

mod error;
pub mod media;
pub mod name;
pub mod opreq;
pub mod security;
mod service;
pub mod work;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use error::{RsmError, Win32Code};
pub use media::{
    Allocation, Cartridge, Location, LocationKind, MediaState, MediumInfo, PhysicalMedium,
    RegisterReport, SideState,
};
pub use name::PoolPath;
pub use security::{AccessMask, Ace, AceKind, Identity, Owner, SecurityDescriptor, Who};
pub use service::{Config, Deallocated, MediaFilter, MediaPage, Moved, Rsm};

use crate::media::MediaType;

/// `NTMS_OPEN_EXISTING`: open a pool, never create it.
pub const NTMS_OPEN_EXISTING: u32 = 1;
/// `NTMS_CREATE_NEW`: create a pool; fail if it exists.
pub const NTMS_CREATE_NEW: u32 = 2;
/// `NTMS_OPEN_ALWAYS`: open a pool, creating it if missing.
pub const NTMS_OPEN_ALWAYS: u32 = 3;
/// `NTMS_ENUM_DEFAULT`.
pub const NTMS_ENUM_DEFAULT: u32 = 0;
/// `NTMS_ENUM_ROOTPOOL`: list the root pool first, then the top-level pools.
pub const NTMS_ENUM_ROOTPOOL: u32 = 1;
/// `NTMS_ALLOCATE_FROMSCRATCH` (`AllocationPolicy`).
pub const NTMS_ALLOCATE_FROMSCRATCH: u32 = 1;
/// `NTMS_DEALLOCATE_TOSCRATCH` (`DeallocationPolicy`).
pub const NTMS_DEALLOCATE_TOSCRATCH: u32 = 1;

/// A session handle from [`Rsm::open_session`]. Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(pub u64);

/// What kind of pool. Serialises as cli.md's `type`: `application`, `free`, `import`,
/// `unrecognized` (and `root` for the root pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// The hidden root pool, parent of every top-level pool.
    Root,
    /// A client's pool (`NTMS_POOLTYPE_APPLICATION`).
    Application,
    /// The Free pool (`NTMS_POOLTYPE_SCRATCH`).
    Free,
    /// The Import pool (`NTMS_POOLTYPE_IMPORT`).
    Import,
    /// The Unrecognized pool (`NTMS_POOLTYPE_FOREIGN`).
    Unrecognized,
}

/// The kind as cli.md names it (`application`, `free`, ...).
impl std::fmt::Display for PoolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PoolKind::Root => "root",
            PoolKind::Application => "application",
            PoolKind::Free => "free",
            PoolKind::Import => "import",
            PoolKind::Unrecognized => "unrecognized",
        })
    }
}

impl PoolKind {
    /// The name cli.md's `type` uses (the serialised form).
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Root => "root",
            PoolKind::Application => "application",
            PoolKind::Free => "free",
            PoolKind::Import => "import",
            PoolKind::Unrecognized => "unrecognized",
        }
    }

    /// `NtmsPoolType`: UNKNOWN 0 (root), SCRATCH 1, FOREIGN 2, IMPORT 3, APPLICATION 1000.
    pub fn pool_type(self) -> u32 {
        match self {
            PoolKind::Root => 0,
            PoolKind::Free => 1,
            PoolKind::Unrecognized => 2,
            PoolKind::Import => 3,
            PoolKind::Application => 1000,
        }
    }

    /// The kind of an `NtmsPoolType`.
    pub fn from_pool_type(t: u32) -> Option<PoolKind> {
        Some(match t {
            0 => PoolKind::Root,
            1 => PoolKind::Free,
            2 => PoolKind::Unrecognized,
            3 => PoolKind::Import,
            1000 => PoolKind::Application,
            _ => return None,
        })
    }

    /// Whether the server manages pools of this kind (Free, Import, Unrecognized).
    pub fn is_system(self) -> bool {
        matches!(
            self,
            PoolKind::Free | PoolKind::Import | PoolKind::Unrecognized
        )
    }

    /// The top-level container name of a system kind.
    pub fn container_name(self) -> Option<&'static str> {
        match self {
            PoolKind::Free => Some("Free"),
            PoolKind::Import => Some("Import"),
            PoolKind::Unrecognized => Some("Unrecognized"),
            _ => None,
        }
    }
}

/// Everything about a pool (`NTMS_MEDIAPOOLINFORMATION` and the common object fields), as
/// `reel pool show` prints it. Also the daemon's `get_pool_information` reply: the daemon
/// serialises this type and the client reads it back, one schema with every member required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolInfo {
    /// The pool's id.
    pub id: Uuid,
    /// Full hierarchy name, `\App\Pool` (`\` for the root pool).
    pub name: String,
    /// Application, free, import, unrecognized, root.
    #[serde(rename = "type")]
    pub kind: PoolKind,
    /// `NtmsPoolType` number.
    pub pool_type: u32,
    /// Media type name; `null` for a pool that holds pools.
    pub media_type: Option<MediaType>,
    /// Media type id.
    pub media_type_id: Option<Uuid>,
    /// Parent pool; `null` for top-level pools and the root.
    pub parent: Option<Uuid>,
    /// `AllocationPolicy` (0 or `NTMS_ALLOCATE_FROMSCRATCH`).
    pub allocation_policy: u32,
    /// `DeallocationPolicy` (0 or `NTMS_DEALLOCATE_TOSCRATCH`).
    pub deallocation_policy: u32,
    /// `dwMaxAllocates`; 0 = unlimited.
    pub max_allocates: u32,
    /// Physical media in the pool.
    pub physical_media: u64,
    /// Logical media in the pool.
    pub logical_media: u64,
    /// Child pools.
    pub child_pools: u64,
    /// The owner.
    pub owner: Owner,
    /// Description.
    pub description: String,
    /// `Enabled`.
    pub enabled: bool,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub modified_ms: i64,
}

impl PoolInfo {
    /// The writable members as they are now: change some, then [`Rsm::set_pool_info`].
    pub fn to_update(&self) -> PoolUpdate {
        PoolUpdate {
            name: self.name.rsplit('\\').next().unwrap_or_default().to_owned(),
            description: self.description.clone(),
            media_type: self.media_type.map(Into::into),
            allocation_policy: self.allocation_policy,
            deallocation_policy: self.deallocation_policy,
            max_allocates: self.max_allocates,
        }
    }
}

/// The writable members of a pool (§1.4), written all at once by [`Rsm::set_pool_info`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolUpdate {
    /// The pool's own name (one component; the pool stays under its parent).
    pub name: String,
    /// Description, at most 126 UTF-16 units.
    pub description: String,
    /// Media type; `None` for a pool of pools.
    pub media_type: Option<crate::media::MediaTypeRef>,
    /// 0 or `NTMS_ALLOCATE_FROMSCRATCH`.
    pub allocation_policy: u32,
    /// 0 or `NTMS_DEALLOCATE_TOSCRATCH`.
    pub deallocation_policy: u32,
    /// 0 = unlimited.
    pub max_allocates: u32,
}

/// A library's identity as discovery reports its changer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryIdentity {
    /// Changer serial number: what makes a library the same one across restarts.
    pub serial: String,
    /// INQUIRY vendor.
    pub vendor: String,
    /// INQUIRY product.
    pub product: String,
    /// INQUIRY revision.
    pub revision: String,
}

/// A registered library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryInfo {
    /// Its id.
    pub id: Uuid,
    /// Its identity.
    #[serde(flatten)]
    pub identity: LibraryIdentity,
    /// The media types it currently detects.
    pub media_types: Vec<MediaType>,
}

/// A media type some registered library detects, as `reel media-types` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectedMediaType {
    /// Name.
    pub name: MediaType,
    /// Id.
    pub id: Uuid,
    /// Serials of the libraries that detect it.
    pub libraries: Vec<String>,
}
