//! The schema, as ordered migrations. Migration N brings `user_version` from N-1 to N.
//! Never edit a released migration: append a new one.

/// Ordered migrations; index 0 is version 1.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: libraries, media types, pools, physical media, sides, logical media.
    r#"
CREATE TABLE media_types (
    id                  BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    name                TEXT NOT NULL UNIQUE,
    storage_media_type  INTEGER NOT NULL,
    number_of_sides     INTEGER NOT NULL,
    read_write          INTEGER NOT NULL,
    device_type         INTEGER NOT NULL
) STRICT;

CREATE TABLE libraries (
    id          BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    serial      TEXT NOT NULL UNIQUE,
    vendor      TEXT NOT NULL,
    product     TEXT NOT NULL,
    revision    TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE library_media_types (
    library     BLOB NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
    media_type  BLOB NOT NULL REFERENCES media_types(id),
    PRIMARY KEY (library, media_type)
) STRICT, WITHOUT ROWID;

-- pool_type: NtmsPoolType (0 = the root pool, 1 Free, 2 Unrecognized, 3 Import, 1000 application).
-- parent is NULL only for the root pool; (parent, name_key) is unique, name_key is the
-- case-folded name.
CREATE TABLE pools (
    id                   BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    parent               BLOB REFERENCES pools(id),
    name                 TEXT NOT NULL,
    name_key             TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    pool_type            INTEGER NOT NULL,
    media_type           BLOB REFERENCES media_types(id),
    allocation_policy    INTEGER NOT NULL DEFAULT 0,
    deallocation_policy  INTEGER NOT NULL DEFAULT 0,
    max_allocates        INTEGER NOT NULL DEFAULT 0,
    enabled              INTEGER NOT NULL DEFAULT 1,
    created_ms           INTEGER NOT NULL,
    modified_ms          INTEGER NOT NULL,
    owner_uid            INTEGER NOT NULL,
    security             TEXT NOT NULL,
    UNIQUE (parent, name_key)
) STRICT;
CREATE UNIQUE INDEX pools_one_root ON pools ((parent IS NULL)) WHERE parent IS NULL;

CREATE TABLE physical_media (
    id               BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    library          BLOB REFERENCES libraries(id),
    pool             BLOB NOT NULL REFERENCES pools(id),
    media_type       BLOB NOT NULL REFERENCES media_types(id),
    barcode          TEXT,
    barcode_state    INTEGER NOT NULL DEFAULT 0,
    state            INTEGER NOT NULL DEFAULT 0,
    location_type    INTEGER,
    location_address INTEGER,
    home_slot        INTEGER,
    number_of_sides  INTEGER NOT NULL DEFAULT 1,
    scsi_medium_type INTEGER,
    density_code     INTEGER,
    mounted_side     INTEGER,
    created_ms       INTEGER NOT NULL,
    modified_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX physical_media_pool ON physical_media (pool);

CREATE TABLE logical_media (
    id               BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    pool             BLOB NOT NULL REFERENCES pools(id),
    number_of_sides  INTEGER NOT NULL DEFAULT 1,
    created_ms       INTEGER NOT NULL,
    modified_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX logical_media_pool ON logical_media (pool);

CREATE TABLE sides (
    id              BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    physical_media  BLOB NOT NULL REFERENCES physical_media(id) ON DELETE CASCADE,
    side            INTEGER NOT NULL,
    logical_media   BLOB REFERENCES logical_media(id),
    state           INTEGER NOT NULL DEFAULT 0,
    omid_label_id   BLOB,
    omid_label_type TEXT,
    omid_label_info TEXT,
    mount_count     INTEGER NOT NULL DEFAULT 0,
    allocate_count  INTEGER NOT NULL DEFAULT 0,
    capacity        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (physical_media, side)
) STRICT;
CREATE INDEX sides_logical ON sides (logical_media);
"#,
    // 2: the media catalogue follows the library (rsm-media-and-mounts §1): where a cartridge
    // is, its mounts, its barcode index; the libraries' cleaners. location_type: 0 offline,
    // 1 slot, 2 drive, 3 I/E port, 4 transport.
    r#"
ALTER TABLE physical_media ADD COLUMN mount_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE physical_media ADD COLUMN last_mounted_ms INTEGER;
CREATE INDEX physical_media_barcode ON physical_media (barcode);
CREATE INDEX physical_media_library ON physical_media (library);

CREATE TABLE cleaners (
    id               BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    library          BLOB NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
    barcode          TEXT,
    location_type    INTEGER NOT NULL,
    location_address INTEGER,
    home_slot        INTEGER,
    uses_remaining   INTEGER NOT NULL,
    created_ms       INTEGER NOT NULL,
    modified_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX cleaners_library ON cleaners (library);
"#,
];
