//! The embedded SQLite database behind the pool layer (rsm-media-pools §6).
//!
//! One file holds every object, relation, descriptor and id. It is opened in WAL mode with
//! `foreign_keys=ON` and `synchronous=FULL`, so a change that was acknowledged survives a crash
//! or a power loss. [`Store::write`] runs one closure as one `BEGIN IMMEDIATE` transaction:
//! everything it did is committed, or nothing is. The schema is versioned with
//! `PRAGMA user_version` and brought up to date by ordered migrations ([`schema`]).
//!
//! Errors are classified once, here ([`DbErrorKind`]): no room (SQLITE_FULL, which is also
//! what `max_page_count` gives, or the configured object limit) is `Full`; everything else —
//! cannot open, not a database, corrupt, I/O error, read-only, lock timeout — is `Failure`.
//!
//! What it is not: it holds no RSM rule. It stores rows; the pool layer decides.
//!
//! This module is the only place that may name `rusqlite::Connection` (clippy.toml).
#![allow(clippy::disallowed_types)] // SQLite stays here: this is the one module allowed a Connection.

mod media;
mod schema;

pub use media::{CleanerRow, LogicalRow, MediaSnapshot, MediumRow, SideRow};

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::private_files::{self, LockFile, PathError};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use thiserror::Error;
use uuid::Uuid;

/// Full or failure: the two RSM database errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// No room: disk full, `max_page_count` reached, or the object limit (`ERROR_DATABASE_FULL`).
    Full,
    /// Unreadable, damaged, read-only, locked out, or a failed query (`ERROR_DATABASE_FAILURE`).
    Failure,
}

/// A database error: its kind, what reel was doing, and SQLite's own error.
#[derive(Debug, Error)]
#[error("{context}{}", source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
pub struct DbError {
    kind: DbErrorKind,
    context: String,
    #[source]
    source: Option<rusqlite::Error>,
}

impl DbError {
    /// A `Full` error.
    pub fn full(context: impl Into<String>, source: Option<rusqlite::Error>) -> DbError {
        DbError {
            kind: DbErrorKind::Full,
            context: context.into(),
            source,
        }
    }

    /// A `Failure` error.
    pub fn failure(context: impl Into<String>, source: Option<rusqlite::Error>) -> DbError {
        DbError {
            kind: DbErrorKind::Failure,
            context: context.into(),
            source,
        }
    }

    /// Classifies a SQLite error met while doing `context`.
    fn sqlite(context: impl Into<String>, e: rusqlite::Error) -> DbError {
        let kind = match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => DbErrorKind::Full,
            _ => DbErrorKind::Failure,
        };
        let mut context = context.into();
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => {
                context.push_str(" (no room: free disk space or raise the limit)")
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                context.push_str(" (the database is locked by another process)")
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => context.push_str(
                " (the file is damaged or not a reel database: restore it from a backup)",
            ),
            Some(ErrorCode::ReadOnly) => context.push_str(" (the database is read-only)"),
            Some(ErrorCode::CannotOpen) => {
                context.push_str(" (cannot open the file or its directory)")
            }
            _ => {}
        }
        DbError {
            kind,
            context,
            source: Some(e),
        }
    }

    /// Full or failure.
    pub fn kind(&self) -> DbErrorKind {
        self.kind
    }
}

/// How the database is opened.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// How long a writer waits for a lock held by another connection before failing.
    pub busy_timeout: Duration,
    /// `PRAGMA max_page_count`, if set: the database cannot grow beyond it (gives Full).
    pub max_page_count: Option<u32>,
    /// Most objects (libraries, pools, physical media, sides, logical media) the database may
    /// hold; one more gives Full.
    pub max_objects: Option<u64>,
    /// The group that may read the database files (mode 0640); `None`: mode 0600.
    pub group: Option<u32>,
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            busy_timeout: Duration::from_secs(5),
            max_page_count: None,
            max_objects: None,
            group: None,
        }
    }
}

/// A pool as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRow {
    /// Id.
    pub id: Uuid,
    /// Parent; `None` only for the root pool.
    pub parent: Option<Uuid>,
    /// Name as written.
    pub name: String,
    /// Case-folded name (unique among siblings).
    pub name_key: String,
    /// Description.
    pub description: String,
    /// `NtmsPoolType` (0 for the root pool).
    pub pool_type: u32,
    /// Media type id, `None` for a pool of pools.
    pub media_type: Option<Uuid>,
    /// `AllocationPolicy`.
    pub allocation_policy: u32,
    /// `DeallocationPolicy`.
    pub deallocation_policy: u32,
    /// `dwMaxAllocates`.
    pub max_allocates: u32,
    /// `Enabled`.
    pub enabled: bool,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub modified_ms: i64,
    /// Owner uid.
    pub owner_uid: u32,
    /// The security descriptor, serialised by the pool layer.
    pub security: String,
    /// Physical media in the pool (read-only; computed on load).
    pub physical_media: u64,
    /// Logical media in the pool (read-only; computed on load).
    pub logical_media: u64,
}

/// A library as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRow {
    /// Id.
    pub id: Uuid,
    /// Changer serial number (unique).
    pub serial: String,
    /// INQUIRY vendor.
    pub vendor: String,
    /// INQUIRY product.
    pub product: String,
    /// INQUIRY revision.
    pub revision: String,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub modified_ms: i64,
}

/// A media type as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaTypeRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Storage media-type code.
    pub storage_media_type: u32,
    /// Number of sides.
    pub number_of_sides: u32,
    /// Read/write characteristics.
    pub read_write: u32,
    /// Device type.
    pub device_type: u32,
}

/// Everything the pool layer keeps in memory, read in one read transaction.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Media types.
    pub media_types: Vec<MediaTypeRow>,
    /// Libraries.
    pub libraries: Vec<LibraryRow>,
    /// Library ↔ media-type relation.
    pub library_media_types: Vec<(Uuid, Uuid)>,
    /// Pools, the root first, every parent before its children.
    pub pools: Vec<PoolRow>,
    /// The media catalogue.
    pub media: MediaSnapshot,
}

struct Inner {
    conn: Connection,
    objects: u64,
}

/// The database: one writer connection, one transaction per call.
///
/// One process owns a database at a time (the pool layer keeps its catalogue in memory): an
/// exclusive `flock` on `PATH.lock` is held while the store is open, and a second opener fails
/// instead of working from a stale view.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    path: PathBuf,
    max_objects: Option<u64>,
    _owner: LockFile,
}

/// Takes the one-process lock of the database at `path`.
fn take_ownership(path: &Path) -> Result<LockFile, DbError> {
    LockFile::take(&private_files::with_suffix(path, ".lock")).map_err(|e| match e {
        PathError::Locked { .. } => DbError::failure(
            format!(
                "{} is in use by another reel process: stop it, or use another --db",
                path.display()
            ),
            None,
        ),
        e => DbError::failure(format!("cannot lock the database: {e}"), None),
    })
}

/// Checks and prepares the database's files before SQLite opens them: a directory only root
/// and the daemon's user may write, regular files only (never through a symlink), an existing
/// database never silently replaced, and mode 0600 (0640 with `group`) set on the descriptors
/// of the database and of its `-wal` and `-shm` files, whatever the umask. SQLite creates
/// `-wal` and `-shm` later with the database file's mode and owner.
///
/// Returns the canonical path and the lock.
fn prepare_files(path: &Path, config: &DbConfig) -> Result<(PathBuf, LockFile), DbError> {
    let fail = |e: PathError| DbError::failure(e.to_string(), None);
    let path = private_files::in_safe_directory(path, false).map_err(fail)?;
    let sides: Vec<PathBuf> = ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| private_files::with_suffix(&path, s))
        .collect();
    // Judge what is there before creating anything beside it.
    let existing = private_files::existing_regular(&path).map_err(fail)?;
    for side in &sides {
        private_files::existing_regular(side).map_err(fail)?;
    }
    if existing.as_ref().is_some_and(|m| m.len() == 0) {
        return Err(DbError::failure(
            format!(
                "{} exists but is empty (0 bytes), so it is not a reel database; reel does not \
                 replace an existing file: restore it from a backup, or remove it to start a new \
                 database",
                path.display()
            ),
            None,
        ));
    }
    let lock = take_ownership(&path)?;
    let mode = if config.group.is_some() { 0o640 } else { 0o600 };
    private_files::open_private(&path, mode, config.group).map_err(fail)?;
    for side in &sides {
        if side.exists() {
            private_files::open_private(side, mode, config.group).map_err(fail)?;
        }
    }
    Ok((path, lock))
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("objects", &self.objects)
            .finish()
    }
}

fn uuid_of(bytes: Vec<u8>) -> rusqlite::Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(16, rusqlite::types::Type::Blob, Box::new(e))
    })
}

fn opt_uuid_of(bytes: Option<Vec<u8>>) -> rusqlite::Result<Option<Uuid>> {
    bytes.map(uuid_of).transpose()
}

/// Opens a connection with reel's pragmas. Shared by the store and the bare-insert benchmark.
fn connect(path: &Path, config: &DbConfig) -> Result<Connection, DbError> {
    let ctx = || format!("opening {}", path.display());
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| DbError::sqlite(ctx(), e))?;
    conn.busy_timeout(config.busy_timeout)
        .map_err(|e| DbError::sqlite(ctx(), e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| DbError::sqlite(ctx(), e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DbError::failure(
            format!(
                "{}: journal mode is {mode}, WAL needed (is the file read-only?)",
                ctx()
            ),
            None,
        ));
    }
    conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;")
        .map_err(|e| DbError::sqlite(ctx(), e))?;
    if let Some(n) = config.max_page_count {
        conn.pragma_update(None, "max_page_count", n)
            .map_err(|e| DbError::sqlite(ctx(), e))?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let e = |e| DbError::sqlite("migrating the schema", e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(e)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(e)?;
    let known = schema::MIGRATIONS.len() as i64;
    if version > known {
        return Err(DbError::failure(
            format!("the database has schema version {version}, this reel knows up to {known}: use a newer reel"),
            None,
        ));
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(e)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(e)?;
    }
    tx.commit().map_err(e)
}

fn count_objects(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM libraries) + (SELECT count(*) FROM pools)
              + (SELECT count(*) FROM physical_media) + (SELECT count(*) FROM sides)
              + (SELECT count(*) FROM logical_media)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// `Failure` when the file cannot be opened or created, is not a database or is damaged,
    /// is read-only, stays locked longer than the busy timeout, has a newer schema, or is
    /// open in another store (this process or another).
    pub fn open(path: &Path, config: &DbConfig) -> Result<Store, DbError> {
        let (path, owner) = prepare_files(path, config)?;
        let path = path.as_path();
        let mut conn = connect(path, config)?;
        migrate(&mut conn)?;
        let objects = count_objects(&conn).map_err(|e| DbError::sqlite("counting objects", e))?;
        Ok(Store {
            inner: Mutex::new(Inner { conn, objects }),
            path: path.to_owned(),
            max_objects: config.max_objects,
            _owner: owner,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic inside a transaction leaves SQLite rolled back (the Transaction drops), so the
        // connection is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The schema version of the open database.
    ///
    /// # Errors
    /// `Failure` when the database cannot be read.
    pub fn schema_version(&self) -> Result<u32, DbError> {
        self.lock()
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| DbError::sqlite("reading the schema version", e))
    }

    /// Objects (libraries, pools, physical media, sides, logical media) in the database.
    pub fn objects(&self) -> u64 {
        self.lock().objects
    }

    /// Reads everything the pool layer keeps in memory, in one read transaction.
    ///
    /// # Errors
    /// `Failure` when the database cannot be read.
    pub fn load(&self) -> Result<Snapshot, DbError> {
        let mut inner = self.lock();
        let e = |e| DbError::sqlite("reading the database", e);
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(e)?;
        let mut snap = Snapshot::default();
        {
            let mut st = tx
                .prepare("SELECT id, name, storage_media_type, number_of_sides, read_write, device_type FROM media_types")
                .map_err(e)?;
            let rows = st
                .query_map([], |r| {
                    Ok(MediaTypeRow {
                        id: uuid_of(r.get(0)?)?,
                        name: r.get(1)?,
                        storage_media_type: r.get(2)?,
                        number_of_sides: r.get(3)?,
                        read_write: r.get(4)?,
                        device_type: r.get(5)?,
                    })
                })
                .map_err(e)?;
            snap.media_types = rows.collect::<Result<_, _>>().map_err(e)?;

            let mut st = tx
                .prepare("SELECT id, serial, vendor, product, revision, created_ms, modified_ms FROM libraries ORDER BY created_ms, serial")
                .map_err(e)?;
            let rows = st
                .query_map([], |r| {
                    Ok(LibraryRow {
                        id: uuid_of(r.get(0)?)?,
                        serial: r.get(1)?,
                        vendor: r.get(2)?,
                        product: r.get(3)?,
                        revision: r.get(4)?,
                        created_ms: r.get(5)?,
                        modified_ms: r.get(6)?,
                    })
                })
                .map_err(e)?;
            snap.libraries = rows.collect::<Result<_, _>>().map_err(e)?;

            let mut st = tx
                .prepare("SELECT library, media_type FROM library_media_types")
                .map_err(e)?;
            let rows = st
                .query_map([], |r| Ok((uuid_of(r.get(0)?)?, uuid_of(r.get(1)?)?)))
                .map_err(e)?;
            snap.library_media_types = rows.collect::<Result<_, _>>().map_err(e)?;

            // Parents before children: a recursive walk from the root.
            let mut st = tx
                .prepare(
                    "WITH RECURSIVE tree(id, depth) AS (
                         SELECT id, 0 FROM pools WHERE parent IS NULL
                         UNION ALL SELECT p.id, t.depth + 1 FROM pools p JOIN tree t ON p.parent = t.id)
                     SELECT p.id, p.parent, p.name, p.name_key, p.description, p.pool_type, p.media_type,
                            p.allocation_policy, p.deallocation_policy, p.max_allocates, p.enabled,
                            p.created_ms, p.modified_ms, p.owner_uid, p.security,
                            (SELECT count(*) FROM physical_media m WHERE m.pool = p.id),
                            (SELECT count(*) FROM logical_media l WHERE l.pool = p.id)
                     FROM tree t JOIN pools p ON p.id = t.id ORDER BY t.depth, p.created_ms",
                )
                .map_err(e)?;
            let rows = st
                .query_map([], |r| {
                    Ok(PoolRow {
                        id: uuid_of(r.get(0)?)?,
                        parent: opt_uuid_of(r.get(1)?)?,
                        name: r.get(2)?,
                        name_key: r.get(3)?,
                        description: r.get(4)?,
                        pool_type: r.get(5)?,
                        media_type: opt_uuid_of(r.get(6)?)?,
                        allocation_policy: r.get(7)?,
                        deallocation_policy: r.get(8)?,
                        max_allocates: r.get(9)?,
                        enabled: r.get(10)?,
                        created_ms: r.get(11)?,
                        modified_ms: r.get(12)?,
                        owner_uid: r.get(13)?,
                        security: r.get(14)?,
                        physical_media: r.get::<_, i64>(15)? as u64,
                        logical_media: r.get::<_, i64>(16)? as u64,
                    })
                })
                .map_err(e)?;
            snap.pools = rows.collect::<Result<_, _>>().map_err(e)?;
            snap.media = media::load(&tx).map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(snap)
    }

    /// Runs `f` as one immediate transaction: committed if `f` returns `Ok` and the commit
    /// succeeds, rolled back otherwise. The object count follows the commit.
    ///
    /// # Errors
    /// Whatever `f` returns; `Failure` when the transaction cannot begin (lock timeout) or
    /// commit; `Full` when the commit finds no room.
    pub fn write<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut inner = self.lock();
        let Inner { conn, objects } = &mut *inner;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| DbError::sqlite("beginning a transaction", e))?;
        let mut t = Tx {
            tx,
            objects: *objects,
            max_objects: self.max_objects,
        };
        let out = f(&mut t)?;
        let n = t.objects;
        t.tx.commit()
            .map_err(|e| DbError::sqlite("committing", e))?;
        *objects = n;
        Ok(out)
    }
}

/// One open write transaction (see [`Store::write`]).
#[derive(Debug)]
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    objects: u64,
    max_objects: Option<u64>,
}

impl Tx<'_> {
    fn add_object(&mut self, what: &str) -> Result<(), DbError> {
        if let Some(max) = self.max_objects {
            if self.objects >= max {
                return Err(DbError::full(
                    format!("adding {what}: the database holds {} objects, the configured limit is {max}", self.objects),
                    None,
                ));
            }
        }
        self.objects += 1;
        Ok(())
    }

    /// Inserts a pool.
    ///
    /// # Errors
    /// `Full` at the object limit or when the file cannot grow; `Failure` otherwise.
    pub fn insert_pool(&mut self, p: &PoolRow) -> Result<(), DbError> {
        self.add_object("a pool")?;
        self.tx
            .prepare_cached(
                "INSERT INTO pools (id, parent, name, name_key, description, pool_type, media_type,
                    allocation_policy, deallocation_policy, max_allocates, enabled, created_ms, modified_ms,
                    owner_uid, security)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    p.id.as_bytes(),
                    p.parent.as_ref().map(|u| u.as_bytes()),
                    p.name,
                    p.name_key,
                    p.description,
                    p.pool_type,
                    p.media_type.as_ref().map(|u| u.as_bytes()),
                    p.allocation_policy,
                    p.deallocation_policy,
                    p.max_allocates,
                    p.enabled,
                    p.created_ms,
                    p.modified_ms,
                    p.owner_uid,
                    p.security,
                ])
            })
            .map(drop)
            .map_err(|e| DbError::sqlite(format!("inserting pool {}", p.name), e))
    }

    /// Writes every writable member of a pool (name, description, media type, policies, max
    /// allocates, enabled, modified time).
    ///
    /// # Errors
    /// `Failure` when the pool is missing or the write fails; `Full` when there is no room.
    pub fn update_pool(&mut self, p: &PoolRow) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE pools SET name = ?2, name_key = ?3, description = ?4, media_type = ?5,
                    allocation_policy = ?6, deallocation_policy = ?7, max_allocates = ?8, enabled = ?9,
                    modified_ms = ?10
                 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    p.id.as_bytes(),
                    p.name,
                    p.name_key,
                    p.description,
                    p.media_type.as_ref().map(|u| u.as_bytes()),
                    p.allocation_policy,
                    p.deallocation_policy,
                    p.max_allocates,
                    p.enabled,
                    p.modified_ms,
                ])
            })
            .map_err(|e| DbError::sqlite(format!("updating pool {}", p.name), e))?;
        expect_one(n, "updating pool", p.id)
    }

    /// Replaces a pool's owner and security descriptor.
    ///
    /// # Errors
    /// `Failure` when the pool is missing or the write fails; `Full` when there is no room.
    pub fn set_pool_security(
        &mut self,
        id: Uuid,
        owner_uid: u32,
        security: &str,
        modified_ms: i64,
    ) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE pools SET owner_uid = ?2, security = ?3, modified_ms = ?4 WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(params![id.as_bytes(), owner_uid, security, modified_ms]))
            .map_err(|e| DbError::sqlite("updating a pool's security", e))?;
        expect_one(n, "updating a pool's security", id)
    }

    /// Deletes a pool (which must have no children and no media).
    ///
    /// # Errors
    /// `Failure` when the pool is missing, still referenced, or the write fails.
    pub fn delete_pool(&mut self, id: Uuid) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM pools WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id.as_bytes()]))
            .map_err(|e| DbError::sqlite("deleting a pool", e))?;
        expect_one(n, "deleting pool", id)?;
        self.objects = self.objects.saturating_sub(1);
        Ok(())
    }

    /// Inserts a media type, or refreshes its fields.
    ///
    /// # Errors
    /// `Full` when there is no room; `Failure` otherwise.
    pub fn upsert_media_type(&mut self, m: &MediaTypeRow) -> Result<(), DbError> {
        self.tx
            .prepare_cached(
                "INSERT INTO media_types (id, name, storage_media_type, number_of_sides, read_write, device_type)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                    storage_media_type = excluded.storage_media_type, number_of_sides = excluded.number_of_sides,
                    read_write = excluded.read_write, device_type = excluded.device_type",
            )
            .and_then(|mut st| {
                st.execute(params![
                    m.id.as_bytes(),
                    m.name,
                    m.storage_media_type,
                    m.number_of_sides,
                    m.read_write,
                    m.device_type
                ])
            })
            .map(drop)
            .map_err(|e| DbError::sqlite(format!("storing media type {}", m.name), e))
    }

    /// Looks a library up by serial.
    ///
    /// # Errors
    /// `Failure` when the read fails.
    pub fn library_by_serial(&mut self, serial: &str) -> Result<Option<Uuid>, DbError> {
        let e = |e| DbError::sqlite("reading a library", e);
        let id: Option<Vec<u8>> = self
            .tx
            .prepare_cached("SELECT id FROM libraries WHERE serial = ?1")
            .and_then(|mut st| st.query_row(params![serial], |r| r.get(0)).optional())
            .map_err(e)?;
        opt_uuid_of(id).map_err(e)
    }

    /// Inserts a library, or refreshes its identity (same id).
    ///
    /// # Errors
    /// `Full` at the object limit or when there is no room; `Failure` otherwise.
    pub fn upsert_library(&mut self, l: &LibraryRow, is_new: bool) -> Result<(), DbError> {
        if is_new {
            self.add_object("a library")?;
        }
        self.tx
            .prepare_cached(
                "INSERT INTO libraries (id, serial, vendor, product, revision, created_ms, modified_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, product = excluded.product,
                    revision = excluded.revision, modified_ms = excluded.modified_ms",
            )
            .and_then(|mut st| {
                st.execute(params![
                    l.id.as_bytes(),
                    l.serial,
                    l.vendor,
                    l.product,
                    l.revision,
                    l.created_ms,
                    l.modified_ms
                ])
            })
            .map(drop)
            .map_err(|e| DbError::sqlite(format!("storing library {}", l.serial), e))
    }

    /// Replaces the media types related to a library.
    ///
    /// # Errors
    /// `Full` when there is no room; `Failure` otherwise (e.g. an unstored media type).
    pub fn set_library_media_types(
        &mut self,
        library: Uuid,
        types: &[Uuid],
    ) -> Result<(), DbError> {
        let e = |e| DbError::sqlite("storing a library's media types", e);
        self.tx
            .prepare_cached("DELETE FROM library_media_types WHERE library = ?1")
            .and_then(|mut st| st.execute(params![library.as_bytes()]))
            .map_err(e)?;
        let mut st = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO library_media_types (library, media_type) VALUES (?1, ?2)",
            )
            .map_err(e)?;
        for t in types {
            st.execute(params![library.as_bytes(), t.as_bytes()])
                .map_err(e)?;
        }
        Ok(())
    }
}

fn expect_one(n: usize, what: &str, id: Uuid) -> Result<(), DbError> {
    if n == 1 {
        Ok(())
    } else {
        Err(DbError::failure(
            format!("{what} {id}: {n} rows changed, 1 expected (database out of step)"),
            None,
        ))
    }
}

/// Support for the `pools` benchmark: the limit reel's writes are measured against.
#[doc(hidden)]
pub mod bench {
    use super::*;

    /// A bare table in its own database, opened with the store's pragmas.
    #[derive(Debug)]
    pub struct Bare {
        conn: Connection,
        next: usize,
    }

    impl Bare {
        /// Creates the database at `path` with one table `bare (id BLOB PRIMARY KEY, name TEXT)`.
        ///
        /// # Errors
        /// Any database error.
        pub fn create(path: &Path) -> Result<Bare, DbError> {
            let conn = connect(path, &DbConfig::default())?;
            conn.execute_batch(
                "CREATE TABLE bare (id BLOB PRIMARY KEY NOT NULL, name TEXT NOT NULL) STRICT",
            )
            .map_err(|e| DbError::sqlite("bare insert benchmark", e))?;
            Ok(Bare { conn, next: 0 })
        }

        /// Inserts `n` rows, one transaction each; returns the time taken.
        ///
        /// # Errors
        /// Any database error.
        pub fn insert(&mut self, n: usize) -> Result<Duration, DbError> {
            let e = |e| DbError::sqlite("bare insert benchmark", e);
            let start = std::time::Instant::now();
            for _ in 0..n {
                self.next += 1;
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(e)?;
                tx.prepare_cached("INSERT INTO bare (id, name) VALUES (?1, ?2)")
                    .and_then(|mut st| {
                        st.execute(params![
                            Uuid::new_v4().as_bytes(),
                            format!("pool {}", self.next)
                        ])
                    })
                    .map_err(e)?;
                tx.commit().map_err(e)?;
            }
            Ok(start.elapsed())
        }
    }

    /// Inserts `n` rows into a fresh table of a fresh database at `path`, one transaction each,
    /// with the store's pragmas; returns the time taken.
    ///
    /// # Errors
    /// Any database error.
    pub fn bare_insert_per_transaction(path: &Path, n: usize) -> Result<Duration, DbError> {
        Bare::create(path)?.insert(n)
    }
}

/// Helpers for tests that provoke database errors from outside the store.
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// Another connection holding the write lock of the database at `path` until dropped.
    #[derive(Debug)]
    pub struct WriteLock {
        conn: Connection,
    }

    impl WriteLock {
        /// Takes the write lock (`BEGIN IMMEDIATE`).
        ///
        /// # Errors
        /// Any database error.
        pub fn hold(path: &Path) -> Result<WriteLock, DbError> {
            let conn = Connection::open(path).map_err(|e| DbError::sqlite("test lock", e))?;
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| DbError::sqlite("test lock", e))?;
            Ok(WriteLock { conn })
        }
    }

    impl Drop for WriteLock {
        fn drop(&mut self) {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// Counts rows of `table` through a fresh connection (what a restart would see).
    ///
    /// # Errors
    /// Any database error.
    pub fn count_rows(path: &Path, table: &str) -> Result<u64, DbError> {
        let conn = Connection::open(path).map_err(|e| DbError::sqlite("test count", e))?;
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(|e| DbError::sqlite("test count", e))
    }
}

#[cfg(test)]
mod tests;
