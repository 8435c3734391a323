//! Rows of the media catalogue (migration 2): physical media, their sides, logical media and
//! the libraries' cleaners, and the writes the pool layer makes to them.

use rusqlite::{params, Transaction};
use uuid::Uuid;

use super::{expect_one, opt_uuid_of, uuid_of, DbError, Tx};

macro_rules! medium_params {
    ($m:expr) => {
        params![
            $m.id.as_bytes(),
            $m.library.as_ref().map(|u| u.as_bytes()),
            $m.pool.as_bytes(),
            $m.media_type.as_bytes(),
            $m.barcode,
            $m.barcode_state,
            $m.state,
            $m.location_type,
            $m.location_address,
            $m.home_slot,
            $m.number_of_sides,
            $m.mount_count,
            $m.last_mounted_ms,
            $m.created_ms,
            $m.modified_ms,
        ]
    };
}

macro_rules! side_params {
    ($s:expr) => {
        params![
            $s.id.as_bytes(),
            $s.medium.as_bytes(),
            $s.side,
            $s.logical_media.as_ref().map(|u| u.as_bytes()),
            $s.state,
            $s.omid_label_id,
            $s.omid_label_type,
            $s.mount_count,
            $s.allocate_count,
        ]
    };
}

/// A physical medium (cartridge) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumRow {
    /// Id.
    pub id: Uuid,
    /// The library it is in; `None` when offline.
    pub library: Option<Uuid>,
    /// Its pool.
    pub pool: Uuid,
    /// Its media type id.
    pub media_type: Uuid,
    /// Bar code, when the changer read one.
    pub barcode: Option<String>,
    /// Bar code state: 1 OK, 2 UNREADABLE.
    pub barcode_state: u32,
    /// `NtmsMediaState`.
    pub state: u32,
    /// 0 offline, 1 slot, 2 drive, 3 I/E port, 4 transport.
    pub location_type: u32,
    /// Element address of the location.
    pub location_address: Option<u32>,
    /// Home slot.
    pub home_slot: Option<u32>,
    /// Sides.
    pub number_of_sides: u32,
    /// Mounts of the cartridge.
    pub mount_count: u32,
    /// Last mount, ms since the Unix epoch.
    pub last_mounted_ms: Option<i64>,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub modified_ms: i64,
}

/// A side (`NTMS_PARTITION`) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideRow {
    /// Id.
    pub id: Uuid,
    /// Its physical medium.
    pub medium: Uuid,
    /// Side number (0 for tape).
    pub side: u32,
    /// The logical medium allocated on it.
    pub logical_media: Option<Uuid>,
    /// `NtmsPartitionState`.
    pub state: u32,
    /// OMID label id.
    pub omid_label_id: Option<Vec<u8>>,
    /// OMID label type (`REEL-MAM`, `BARCODE`).
    pub omid_label_type: Option<String>,
    /// Mounts of this side.
    pub mount_count: u32,
    /// Allocations of this side.
    pub allocate_count: u32,
}

/// A logical medium as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalRow {
    /// Id (the LMID).
    pub id: Uuid,
    /// Its pool.
    pub pool: Uuid,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
}

/// A cleaning cartridge as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanerRow {
    /// Id.
    pub id: Uuid,
    /// Its library.
    pub library: Uuid,
    /// Bar code.
    pub barcode: Option<String>,
    /// Location type, as for media.
    pub location_type: u32,
    /// Element address.
    pub location_address: Option<u32>,
    /// Home slot.
    pub home_slot: Option<u32>,
    /// Uses left.
    pub uses_remaining: u32,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
}

/// The media catalogue read at start-up.
#[derive(Debug, Clone, Default)]
pub struct MediaSnapshot {
    /// Physical media.
    pub media: Vec<MediumRow>,
    /// Sides, in (medium, side) order.
    pub sides: Vec<SideRow>,
    /// Logical media.
    pub logical: Vec<LogicalRow>,
    /// Cleaners.
    pub cleaners: Vec<CleanerRow>,
}

pub(super) fn load(tx: &Transaction<'_>) -> rusqlite::Result<MediaSnapshot> {
    let mut snap = MediaSnapshot::default();
    let mut st = tx.prepare(
        "SELECT id, library, pool, media_type, barcode, barcode_state, state, location_type,
                location_address, home_slot, number_of_sides, mount_count, last_mounted_ms,
                created_ms, modified_ms FROM physical_media",
    )?;
    let rows = st.query_map([], |r| {
        Ok(MediumRow {
            id: uuid_of(r.get(0)?)?,
            library: opt_uuid_of(r.get(1)?)?,
            pool: uuid_of(r.get(2)?)?,
            media_type: uuid_of(r.get(3)?)?,
            barcode: r.get(4)?,
            barcode_state: r.get(5)?,
            state: r.get(6)?,
            location_type: r.get::<_, Option<u32>>(7)?.unwrap_or(0),
            location_address: r.get(8)?,
            home_slot: r.get(9)?,
            number_of_sides: r.get(10)?,
            mount_count: r.get(11)?,
            last_mounted_ms: r.get(12)?,
            created_ms: r.get(13)?,
            modified_ms: r.get(14)?,
        })
    })?;
    snap.media = rows.collect::<Result<_, _>>()?;
    let mut st = tx.prepare(
        "SELECT id, physical_media, side, logical_media, state, omid_label_id, omid_label_type,
                mount_count, allocate_count FROM sides ORDER BY physical_media, side",
    )?;
    let rows = st.query_map([], |r| {
        Ok(SideRow {
            id: uuid_of(r.get(0)?)?,
            medium: uuid_of(r.get(1)?)?,
            side: r.get(2)?,
            logical_media: opt_uuid_of(r.get(3)?)?,
            state: r.get(4)?,
            omid_label_id: r.get(5)?,
            omid_label_type: r.get(6)?,
            mount_count: r.get(7)?,
            allocate_count: r.get(8)?,
        })
    })?;
    snap.sides = rows.collect::<Result<_, _>>()?;
    let mut st = tx.prepare("SELECT id, pool, created_ms FROM logical_media")?;
    let rows = st.query_map([], |r| {
        Ok(LogicalRow {
            id: uuid_of(r.get(0)?)?,
            pool: uuid_of(r.get(1)?)?,
            created_ms: r.get(2)?,
        })
    })?;
    snap.logical = rows.collect::<Result<_, _>>()?;
    let mut st = tx.prepare(
        "SELECT id, library, barcode, location_type, location_address, home_slot, uses_remaining,
                created_ms FROM cleaners",
    )?;
    let rows = st.query_map([], |r| {
        Ok(CleanerRow {
            id: uuid_of(r.get(0)?)?,
            library: uuid_of(r.get(1)?)?,
            barcode: r.get(2)?,
            location_type: r.get(3)?,
            location_address: r.get(4)?,
            home_slot: r.get(5)?,
            uses_remaining: r.get(6)?,
            created_ms: r.get(7)?,
        })
    })?;
    snap.cleaners = rows.collect::<Result<_, _>>()?;
    Ok(snap)
}

fn sql(what: &str) -> impl Fn(rusqlite::Error) -> DbError + '_ {
    move |e| DbError::sqlite(what.to_owned(), e)
}

impl Tx<'_> {
    /// Inserts a physical medium (its sides go in with [`Tx::insert_side`]).
    ///
    /// # Errors
    /// `Full` at the object limit or when the file cannot grow; `Failure` otherwise.
    pub fn insert_medium(&mut self, m: &MediumRow) -> Result<(), DbError> {
        self.add_object("a physical medium")?;
        self.tx
            .prepare_cached(
                "INSERT INTO physical_media (id, library, pool, media_type, barcode, barcode_state,
                    state, location_type, location_address, home_slot, number_of_sides, mount_count,
                    last_mounted_ms, created_ms, modified_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .and_then(|mut st| st.execute(medium_params!(m)))
            .map(drop)
            .map_err(sql("inserting a physical medium"))
    }

    /// Writes every member of a physical medium.
    ///
    /// # Errors
    /// `Failure` when the medium is missing or the write fails; `Full` when there is no room.
    pub fn update_medium(&mut self, m: &MediumRow) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE physical_media SET library = ?2, pool = ?3, media_type = ?4, barcode = ?5,
                    barcode_state = ?6, state = ?7, location_type = ?8, location_address = ?9,
                    home_slot = ?10, number_of_sides = ?11, mount_count = ?12,
                    last_mounted_ms = ?13, created_ms = ?14, modified_ms = ?15
                 WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(medium_params!(m)))
            .map_err(sql("updating a physical medium"))?;
        expect_one(n, "updating physical medium", m.id)
    }

    /// Deletes a physical medium and its sides (which must hold no logical medium).
    ///
    /// # Errors
    /// `Failure` when the medium is missing or the write fails.
    pub fn delete_medium(&mut self, id: Uuid, sides: u32) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM physical_media WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id.as_bytes()]))
            .map_err(sql("deleting a physical medium"))?;
        expect_one(n, "deleting physical medium", id)?;
        self.objects = self.objects.saturating_sub(1 + u64::from(sides));
        Ok(())
    }

    /// Inserts a side.
    ///
    /// # Errors
    /// `Full` at the object limit or when there is no room; `Failure` otherwise.
    pub fn insert_side(&mut self, s: &SideRow) -> Result<(), DbError> {
        self.add_object("a side")?;
        self.tx
            .prepare_cached(
                "INSERT INTO sides (id, physical_media, side, logical_media, state, omid_label_id,
                    omid_label_type, mount_count, allocate_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| st.execute(side_params!(s)))
            .map(drop)
            .map_err(sql("inserting a side"))
    }

    /// Writes every member of a side.
    ///
    /// # Errors
    /// `Failure` when the side is missing or the write fails; `Full` when there is no room.
    pub fn update_side(&mut self, s: &SideRow) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE sides SET physical_media = ?2, side = ?3, logical_media = ?4, state = ?5,
                    omid_label_id = ?6, omid_label_type = ?7, mount_count = ?8, allocate_count = ?9
                 WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(side_params!(s)))
            .map_err(sql("updating a side"))?;
        expect_one(n, "updating side", s.id)
    }

    /// Inserts a logical medium.
    ///
    /// # Errors
    /// `Full` at the object limit or when there is no room; `Failure` otherwise.
    pub fn insert_logical(&mut self, l: &LogicalRow) -> Result<(), DbError> {
        self.add_object("a logical medium")?;
        self.tx
            .prepare_cached(
                "INSERT INTO logical_media (id, pool, number_of_sides, created_ms, modified_ms)
                 VALUES (?1, ?2, 1, ?3, ?3)",
            )
            .and_then(|mut st| {
                st.execute(params![l.id.as_bytes(), l.pool.as_bytes(), l.created_ms])
            })
            .map(drop)
            .map_err(sql("inserting a logical medium"))
    }

    /// Moves a logical medium to another pool.
    ///
    /// # Errors
    /// `Failure` when it is missing or the write fails.
    pub fn set_logical_pool(&mut self, id: Uuid, pool: Uuid, now: i64) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached("UPDATE logical_media SET pool = ?2, modified_ms = ?3 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id.as_bytes(), pool.as_bytes(), now]))
            .map_err(sql("moving a logical medium"))?;
        expect_one(n, "moving logical medium", id)
    }

    /// Deletes a logical medium (no side may still refer to it).
    ///
    /// # Errors
    /// `Failure` when it is missing, still referenced, or the write fails.
    pub fn delete_logical(&mut self, id: Uuid) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM logical_media WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id.as_bytes()]))
            .map_err(sql("deleting a logical medium"))?;
        expect_one(n, "deleting logical medium", id)?;
        self.objects = self.objects.saturating_sub(1);
        Ok(())
    }

    /// Inserts or replaces a cleaner.
    ///
    /// # Errors
    /// `Full` when there is no room; `Failure` otherwise.
    pub fn upsert_cleaner(&mut self, c: &CleanerRow, now: i64) -> Result<(), DbError> {
        self.tx
            .prepare_cached(
                "INSERT INTO cleaners (id, library, barcode, location_type, location_address,
                    home_slot, uses_remaining, created_ms, modified_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET library = excluded.library,
                    barcode = excluded.barcode, location_type = excluded.location_type,
                    location_address = excluded.location_address, home_slot = excluded.home_slot,
                    uses_remaining = excluded.uses_remaining, modified_ms = excluded.modified_ms",
            )
            .and_then(|mut st| {
                st.execute(params![
                    c.id.as_bytes(),
                    c.library.as_bytes(),
                    c.barcode,
                    c.location_type,
                    c.location_address,
                    c.home_slot,
                    c.uses_remaining,
                    c.created_ms,
                    now
                ])
            })
            .map(drop)
            .map_err(sql("storing a cleaner"))
    }

    /// Deletes a cleaner.
    ///
    /// # Errors
    /// `Failure` when it is missing or the write fails.
    pub fn delete_cleaner(&mut self, id: Uuid) -> Result<(), DbError> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM cleaners WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id.as_bytes()]))
            .map_err(sql("deleting a cleaner"))?;
        expect_one(n, "deleting cleaner", id)
    }
}
